//! Per-listener, per-exporter and store-writer statistics, shared between
//! the collector's tasks and whoever reports them (the `exporters` tool, and
//! `/metrics` through [`metrics`](super::metrics)).
//!
//! Counters are atomics so the receive path only ever does relaxed adds; the
//! registry lock is taken once per new exporter per task, which caches the
//! `Arc` it gets. Each listener's counters are created when it binds.
//! Reports read the atomics as they are: exact, not sampled.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use serde::Serialize;

use crate::decode::DecodeErrorKind;
use crate::flow::FlowProtocol;

/// The decode error key under which decoder panics are reported.
pub const DECODER_FAULT: &str = "decoder_fault";

/// Counters of one exporter (by datagram source address).
#[derive(Default)]
pub struct ExporterStats {
    pub datagrams: AtomicU64,
    pub bytes: AtomicU64,
    pub records: AtomicU64,
    pub option_records: AtomicU64,
    pub templates_known: AtomicU64,
    /// Datagrams dropped because the decode queue was full.
    pub queue_drops: AtomicU64,
    /// Datagrams dropped because the decoder panicked on them (a decoder
    /// bug); reported among the decode errors as `decoder_fault`.
    pub decoder_faults: AtomicU64,
    pub last_seen_ms: AtomicI64,
    errors: Mutex<BTreeMap<DecodeErrorKind, u64>>,
    protocols: Mutex<BTreeSet<FlowProtocol>>,
}

impl ExporterStats {
    pub fn count_error(&self, kind: DecodeErrorKind) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(kind).or_default() += 1;
        }
    }

    pub fn saw_protocol(&self, protocol: FlowProtocol) {
        if let Ok(mut protocols) = self.protocols.lock() {
            protocols.insert(protocol);
        }
    }
}

/// Counters of one listening socket.
#[derive(Debug)]
pub struct ListenerStats {
    /// The bound address.
    pub address: SocketAddr,
    /// Datagrams received, whether the decode queue took them or not.
    pub datagrams: AtomicU64,
}

/// Why the writer gave rows up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// The store refused the batch with an error that retrying cannot fix
    /// (the schema refused it).
    StoreRefused,
    /// The store did not take the batch and the spool was full (or is
    /// disabled with `flow.spool_max_bytes = 0`).
    SpoolFull,
    /// The store did not take the batch and the spool could not be written
    /// (disk full, permissions).
    SpoolWrite,
    /// A spooled batch could not be read back; its file was moved aside.
    SpoolCorrupt,
    /// The rows could not be built into an Arrow batch.
    Arrow,
}

impl DropReason {
    pub const ALL: [DropReason; 5] =
        [Self::StoreRefused, Self::SpoolFull, Self::SpoolWrite, Self::SpoolCorrupt, Self::Arrow];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StoreRefused => "store_refused",
            Self::SpoolFull => "spool_full",
            Self::SpoolWrite => "spool_write",
            Self::SpoolCorrupt => "spool_corrupt",
            Self::Arrow => "arrow",
        }
    }
}

/// Upper bound of the smallest insert latency bucket, in seconds.
const INSERT_SECONDS_FIRST_BUCKET: f64 = 0.001;
/// Insert latency buckets double from the first: 1 ms to about 33 s.
const INSERT_SECONDS_BUCKETS: u16 = 16;

/// Counters of the store writer and gauges of its spool.
#[derive(Debug)]
pub struct WriterStats {
    pub batches_written: AtomicU64,
    pub rows_written: AtomicU64,
    /// Inserts the store failed or refused, retried or not.
    pub write_errors: AtomicU64,
    /// Batches and rows put in the spool because the store did not take them.
    pub batches_spooled: AtomicU64,
    pub rows_spooled: AtomicU64,
    /// Batches and bytes in the spool now.
    pub spool_batches: AtomicU64,
    pub spool_bytes: AtomicU64,
    /// Spool files that could not be read back and were moved aside.
    pub spool_corrupt_files: AtomicU64,
    /// Seconds the store took to accept a batch (successful inserts only).
    pub insert_seconds: Histogram,
    rows_dropped: [AtomicU64; DropReason::ALL.len()],
}

impl Default for WriterStats {
    fn default() -> Self {
        Self {
            batches_written: AtomicU64::new(0),
            rows_written: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            batches_spooled: AtomicU64::new(0),
            rows_spooled: AtomicU64::new(0),
            spool_batches: AtomicU64::new(0),
            spool_bytes: AtomicU64::new(0),
            spool_corrupt_files: AtomicU64::new(0),
            insert_seconds: Histogram::new(exponential_buckets(
                INSERT_SECONDS_FIRST_BUCKET,
                2.0,
                INSERT_SECONDS_BUCKETS,
            )),
            rows_dropped: Default::default(),
        }
    }
}

impl WriterStats {
    /// Counts `rows` given up for `reason`.
    pub fn drop_rows(&self, reason: DropReason, rows: u64) {
        self.rows_dropped[reason as usize].fetch_add(rows, Relaxed);
    }

    /// Rows given up for `reason` so far.
    pub fn rows_dropped(&self, reason: DropReason) -> u64 {
        self.rows_dropped[reason as usize].load(Relaxed)
    }
}

/// All collector statistics.
#[derive(Default)]
pub struct CollectorStats {
    exporters: RwLock<HashMap<IpAddr, Arc<ExporterStats>>>,
    listeners: RwLock<Vec<Arc<ListenerStats>>>,
    pub writer: WriterStats,
}

/// One exporter's statistics at a moment, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExporterSnapshot {
    pub address: IpAddr,
    pub protocols: Vec<FlowProtocol>,
    pub datagrams: u64,
    pub bytes: u64,
    pub records: u64,
    pub option_records: u64,
    pub templates_known: u64,
    pub decode_errors: BTreeMap<String, u64>,
    pub queue_drops: u64,
    /// Unix milliseconds of the last datagram.
    pub last_seen_ms: i64,
}

/// One listener's statistics at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerSnapshot {
    pub address: SocketAddr,
    pub datagrams: u64,
}

/// The writer's statistics at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriterSnapshot {
    pub batches_written: u64,
    pub rows_written: u64,
    /// Rows given up, all reasons together.
    pub rows_dropped: u64,
    /// Rows given up by reason (`store_refused`, `spool_full`, ...), every
    /// reason present.
    pub rows_dropped_by_reason: BTreeMap<&'static str, u64>,
    pub write_errors: u64,
    /// Batches and bytes waiting in the spool for the store.
    pub spool_batches: u64,
    pub spool_bytes: u64,
}

/// An exporter's decode errors by kind, decoder faults included.
fn decode_errors(s: &ExporterStats) -> BTreeMap<String, u64> {
    let mut errors: BTreeMap<String, u64> = s
        .errors
        .lock()
        .map(|e| e.iter().map(|(k, v)| (k.as_str().to_string(), *v)).collect())
        .unwrap_or_default();
    let faults = s.decoder_faults.load(Relaxed);
    if faults > 0 {
        errors.insert(DECODER_FAULT.to_string(), faults);
    }
    errors
}

impl CollectorStats {
    /// The counters of `exporter`, created on first use.
    pub fn exporter(&self, exporter: IpAddr) -> Arc<ExporterStats> {
        if let Some(stats) = self.exporters.read().ok().and_then(|map| map.get(&exporter).cloned())
        {
            return stats;
        }
        let mut map = self.exporters.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry(exporter).or_default().clone()
    }

    /// The counters of the listener bound to `address`, created on first use.
    pub fn listener(&self, address: SocketAddr) -> Arc<ListenerStats> {
        let mut listeners = self.listeners.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(stats) = listeners.iter().find(|l| l.address == address) {
            return stats.clone();
        }
        let stats = Arc::new(ListenerStats { address, datagrams: AtomicU64::new(0) });
        listeners.push(stats.clone());
        stats
    }

    /// Every listener, in the order they were bound.
    pub fn listeners(&self) -> Vec<ListenerSnapshot> {
        let listeners = self.listeners.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        listeners
            .iter()
            .map(|l| ListenerSnapshot { address: l.address, datagrams: l.datagrams.load(Relaxed) })
            .collect()
    }

    /// Every exporter seen, ordered by address.
    pub fn exporters(&self) -> Vec<ExporterSnapshot> {
        let map = self.exporters.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out: Vec<ExporterSnapshot> = map
            .iter()
            .map(|(address, s)| ExporterSnapshot {
                address: *address,
                protocols: s
                    .protocols
                    .lock()
                    .map(|p| p.iter().copied().collect())
                    .unwrap_or_default(),
                datagrams: s.datagrams.load(Relaxed),
                bytes: s.bytes.load(Relaxed),
                records: s.records.load(Relaxed),
                option_records: s.option_records.load(Relaxed),
                templates_known: s.templates_known.load(Relaxed),
                decode_errors: decode_errors(s),
                queue_drops: s.queue_drops.load(Relaxed),
                last_seen_ms: s.last_seen_ms.load(Relaxed),
            })
            .collect();
        out.sort_by_key(|e| e.address);
        out
    }

    pub fn writer(&self) -> WriterSnapshot {
        let by_reason: BTreeMap<&'static str, u64> = DropReason::ALL
            .iter()
            .map(|reason| (reason.as_str(), self.writer.rows_dropped(*reason)))
            .collect();
        WriterSnapshot {
            batches_written: self.writer.batches_written.load(Relaxed),
            rows_written: self.writer.rows_written.load(Relaxed),
            rows_dropped: by_reason.values().sum(),
            rows_dropped_by_reason: by_reason,
            write_errors: self.writer.write_errors.load(Relaxed),
            spool_batches: self.writer.spool_batches.load(Relaxed),
            spool_bytes: self.writer.spool_bytes.load(Relaxed),
        }
    }
}
