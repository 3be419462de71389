//! UDP flow collection: listeners, the decode task and the store writer.
//!
//! ```text
//! socket ─recv─▶ [datagrams, bounded] ─▶ decode + batch ─▶ [batches, bounded] ─▶ store
//! ```
//!
//! One receive task per listening socket copies each datagram into the
//! [`pipeline`]'s datagram queue with `try_send`: when the queue is full the
//! datagram is dropped and counted against its exporter, so the receive path
//! never waits on anything downstream. Decoding, batching and writing are the
//! pipeline's, the same for live collection and `flowsage replay`: one decode
//! task owns the decoder (and so every exporter's templates) and cuts batches
//! by size or age; the [`writer`] inserts them in order and, while the store
//! does not take them, keeps them in the [`spool`] on disk and replays them
//! later.
//!
//! Everything is counted in [`stats`] (per listener, per exporter, and the
//! writer's rows written and dropped by reason); [`metrics`] shows the same
//! numbers to Prometheus.

pub mod metrics;
pub mod pipeline;
pub mod spool;
pub mod stats;
pub mod writer;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use serde::{Deserialize, Serialize};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use pipeline::{Datagram, Pipeline};
use spool::Spool;
use stats::{CollectorStats, ExporterStats, ListenerStats};
use writer::FlowSink;

/// Default listening addresses: the customary NetFlow (2055), IPFIX (4739)
/// and sFlow (6343) ports. Each accepts every protocol.
pub const DEFAULT_LISTEN: [&str; 3] = ["0.0.0.0:2055", "0.0.0.0:4739", "0.0.0.0:6343"];
/// Default socket receive buffer requested from the kernel: 8 MiB.
pub const DEFAULT_RECEIVE_BUFFER_BYTES: usize = 8 << 20;
/// Default bound of the datagram queue.
pub const DEFAULT_QUEUE_DATAGRAMS: usize = 65_536;
/// Default rows per batch.
pub const DEFAULT_BATCH_ROWS: usize = 50_000;
/// Default longest wait of a row for its batch, in milliseconds.
pub const DEFAULT_BATCH_INTERVAL_MS: u64 = 1_000;
/// Default bound of the batch queue.
pub const DEFAULT_QUEUE_BATCHES: usize = 8;
/// The spool's directory under the store's data directory, when
/// `flow.spool_dir` is empty.
pub const DEFAULT_SPOOL_SUBDIR: &str = "spool";
/// Default bound of the spool: 1 GiB.
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 1 << 30;
/// Largest datagram accepted (the UDP maximum).
const MAX_DATAGRAM: usize = 65_535;

/// The `[flow]` section: where to listen and how to batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// UDP addresses to listen on; each accepts NetFlow v5, v9, IPFIX and sFlow v5.
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
    /// Directory where batches wait while the store does not take them;
    /// empty means `spool` in the store's data directory.
    pub spool_dir: PathBuf,
    /// Bytes the spool may hold; when a batch would exceed it, that newest
    /// batch is dropped and counted. 0 disables the spool.
    pub spool_max_bytes: u64,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.iter().map(|a| a.parse().expect("valid default")).collect(),
            receive_buffer_bytes: DEFAULT_RECEIVE_BUFFER_BYTES,
            queue_datagrams: DEFAULT_QUEUE_DATAGRAMS,
            batch_rows: DEFAULT_BATCH_ROWS,
            batch_interval_ms: DEFAULT_BATCH_INTERVAL_MS,
            queue_batches: DEFAULT_QUEUE_BATCHES,
            spool_dir: PathBuf::new(),
            spool_max_bytes: DEFAULT_SPOOL_MAX_BYTES,
        }
    }
}

impl CollectorConfig {
    /// The spool directory: `spool_dir`, or `spool` under `data_dir`.
    pub fn spool_dir(&self, data_dir: &Path) -> PathBuf {
        if self.spool_dir.as_os_str().is_empty() {
            data_dir.join(DEFAULT_SPOOL_SUBDIR)
        } else {
            self.spool_dir.clone()
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
    /// Binds every listener and starts the tasks; batches go to `sink`
    /// (the [`Store`](crate::store::Store)), through `spool` while it does
    /// not take them. Batches already in `spool` are written first.
    pub async fn start<S: FlowSink>(
        config: &CollectorConfig,
        sink: S,
        spool: Spool,
    ) -> Result<Self, CollectorError> {
        let pipeline = Pipeline::start(config, sink, spool);
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
            let local = socket.local_addr().unwrap_or(*address);
            local_addrs.push(local);
            tracing::info!(address = %local, "listening for flows (NetFlow v5, v9, IPFIX, sFlow v5)");
            let listener = stats.listener(local);
            receivers.push(tokio::spawn(receive(
                socket,
                pipeline.intake(),
                stats.clone(),
                listener,
            )));
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

async fn receive(
    socket: UdpSocket,
    queue: mpsc::Sender<Datagram>,
    stats: Arc<CollectorStats>,
    listener: Arc<ListenerStats>,
) {
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
        listener.datagrams.fetch_add(1, Relaxed);
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
