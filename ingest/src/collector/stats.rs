//! Per-exporter and store-writer statistics, shared between the collector's
//! tasks and whoever reports them (the `exporters` tool).
//!
//! Counters are atomics so the receive path only ever does relaxed adds; the
//! registry lock is taken once per new exporter per task, which caches the
//! `Arc` it gets.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

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

/// Counters of the store writer.
#[derive(Default, Debug)]
pub struct WriterStats {
    pub batches_written: AtomicU64,
    pub rows_written: AtomicU64,
    /// Rows given up after the store refused them repeatedly.
    pub rows_dropped: AtomicU64,
    pub write_errors: AtomicU64,
}

/// All collector statistics.
#[derive(Default)]
pub struct CollectorStats {
    exporters: RwLock<HashMap<IpAddr, Arc<ExporterStats>>>,
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

/// The writer's statistics at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriterSnapshot {
    pub batches_written: u64,
    pub rows_written: u64,
    pub rows_dropped: u64,
    pub write_errors: u64,
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
        WriterSnapshot {
            batches_written: self.writer.batches_written.load(Relaxed),
            rows_written: self.writer.rows_written.load(Relaxed),
            rows_dropped: self.writer.rows_dropped.load(Relaxed),
            write_errors: self.writer.write_errors.load(Relaxed),
        }
    }
}
