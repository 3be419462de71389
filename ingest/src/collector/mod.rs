//! UDP flow collection: listeners in front of the shared [`Pipeline`].
//!
//! ```text
//! socket ─recv─▶ [datagrams, bounded] ─▶ decode + batch ─▶ [batches, bounded] ─▶ store
//!                └──────── Collector ─┘  └───────────────── Pipeline ──────────────────┘
//! ```
//!
//! One receive task per listening socket copies each datagram into the
//! pipeline's datagram queue with `try_send`: when the queue is full the
//! datagram is dropped and counted against its exporter, so the receive path
//! never waits on anything downstream. Decoding, batching and writing are the
//! [`pipeline`]'s, the same for live collection and `flowsage replay`.
//!
//! Not done here yet: spooling batches to disk while the store is down
//! (today they are retried, then dropped and counted in `rows_dropped`).

pub mod pipeline;
pub mod stats;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::store::Store;
pub use pipeline::{Datagram, Pipeline};
use stats::{CollectorStats, ExporterStats};

/// Default listening addresses: the customary NetFlow and IPFIX ports.
pub const DEFAULT_LISTEN: [&str; 2] = ["0.0.0.0:2055", "0.0.0.0:4739"];
/// Largest datagram accepted (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;

/// The `[flow]` section: where to listen and how to batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// UDP addresses to listen on; each accepts NetFlow v9 and IPFIX.
    pub listen: Vec<SocketAddr>,
    /// Socket receive buffer requested from the kernel, in bytes.
    pub receive_buffer_bytes: usize,
    /// Datagrams waiting for the decoder before new ones are dropped.
    pub queue_datagrams: usize,
    /// Rows per insert batch.
    pub batch_rows: usize,
    /// Longest a row waits before its batch is sent, in milliseconds.
    pub batch_interval_ms: u64,
    /// Batches waiting for the store before the decoder waits.
    pub queue_batches: usize,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.iter().map(|a| a.parse().expect("valid default")).collect(),
            receive_buffer_bytes: 8 << 20,
            queue_datagrams: 65_536,
            batch_rows: 50_000,
            batch_interval_ms: 1_000,
            queue_batches: 8,
        }
    }
}

/// Why the collector could not start.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    #[error("in flow.listen: cannot bind UDP {address}: {err}")]
    Bind {
        address: SocketAddr,
        #[source]
        err: std::io::Error,
    },
}

/// A running collector.
pub struct Collector {
    pub stats: Arc<CollectorStats>,
    /// Addresses actually bound (port 0 in config becomes a real port).
    pub local_addrs: Vec<SocketAddr>,
    receivers: Vec<JoinHandle<()>>,
    pipeline: Pipeline,
}

impl Collector {
    /// Binds every listener and starts the tasks.
    pub async fn start(config: &CollectorConfig, store: Store) -> Result<Self, CollectorError> {
        let pipeline = Pipeline::start(config, store);
        let stats = pipeline.stats.clone();

        let mut receivers = Vec::new();
        let mut local_addrs = Vec::new();
        for address in &config.listen {
            let socket = match bind(*address, config.receive_buffer_bytes) {
                Ok(socket) => socket,
                Err(err) => {
                    receivers.iter().for_each(JoinHandle::abort);
                    return Err(CollectorError::Bind { address: *address, err });
                }
            };
            local_addrs.push(socket.local_addr().unwrap_or(*address));
            tracing::info!(address = %local_addrs.last().unwrap(), "listening for NetFlow v9 and IPFIX");
            receivers.push(tokio::spawn(receive(socket, pipeline.intake(), stats.clone())));
        }
        Ok(Self { stats, local_addrs, receivers, pipeline })
    }

    /// Stops listening, then decodes, batches and writes what was received.
    pub async fn shutdown(self) {
        for receiver in &self.receivers {
            receiver.abort();
        }
        for receiver in self.receivers {
            let _ = receiver.await;
        }
        self.pipeline.finish().await;
    }
}

fn bind(address: SocketAddr, buffer: usize) -> std::io::Result<UdpSocket> {
    let socket = std::net::UdpSocket::bind(address)?;
    socket.set_nonblocking(true)?;
    let socket = UdpSocket::from_std(socket)?;
    set_receive_buffer(&socket, buffer);
    Ok(socket)
}

/// Asks the kernel for a larger receive buffer; the kernel may grant less
/// (net.core.rmem_max), which is logged, not fatal.
fn set_receive_buffer(socket: &UdpSocket, bytes: usize) {
    let sock = socket2::SockRef::from(socket);
    if let Err(err) = sock.set_recv_buffer_size(bytes) {
        tracing::warn!(error = %err, bytes, "could not set the UDP receive buffer");
    }
}

async fn receive(socket: UdpSocket, queue: mpsc::Sender<Datagram>, stats: Arc<CollectorStats>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut known: HashMap<IpAddr, Arc<ExporterStats>> = HashMap::new();
    loop {
        let (len, from) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(err) => {
                tracing::warn!(error = %err, "UDP receive failed");
                continue;
            }
        };
        let exporter = from.ip().to_canonical();
        let datagram = Datagram {
            exporter,
            received_ms: chrono::Utc::now().timestamp_millis(),
            payload: buf[..len].to_vec(),
        };
        if let Err(mpsc::error::TrySendError::Full(dropped)) = queue.try_send(datagram) {
            let counters = known.entry(exporter).or_insert_with(|| stats.exporter(exporter));
            counters.queue_drops.fetch_add(1, Relaxed);
            drop(dropped);
        }
    }
}
