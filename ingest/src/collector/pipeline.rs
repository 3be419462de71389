//! Everything after the socket: decode, batch, write, whatever the datagrams'
//! source.
//!
//! ```text
//! intake ─▶ [datagrams, bounded] ─▶ decode + batch ─▶ [batches, bounded] ─▶ store writer
//! ```
//!
//! A [`Pipeline`] owns one decode task, which holds the [`FlowDecoder`] (and
//! so every exporter's templates) and cuts batches by size or age, and one
//! writer task ([`writer`](super::writer)), which inserts them in order and
//! spools what the store does not take. Datagrams come in through [`Pipeline::intake`], a bounded
//! queue: the UDP receive tasks of [`Collector`](super::Collector) use
//! `try_send` and drop (and count) when it is full, so a socket never waits;
//! `flowsage replay` uses `send` and waits, so a capture loses nothing. The
//! statistics ([`CollectorStats`]) are the pipeline's, so a replay reports
//! exactly what live collection would have counted.
//!
//! The pipeline neither knows where datagrams come from nor reads a clock:
//! each [`Datagram`] carries its exporter and receive time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::CollectorConfig;
use super::spool::Spool;
use super::stats::{CollectorStats, ExporterStats};
use super::writer::FlowSink;
use crate::decode::{DecodeReport, FlowDecoder};
use crate::flow::FlowRecord;

/// One export datagram, from a socket or a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The datagram's IP source address (IPv4-mapped addresses as IPv4).
    pub exporter: IpAddr,
    /// When it was received (or captured), Unix milliseconds.
    pub received_ms: i64,
    pub payload: Vec<u8>,
}

/// A running decode → batch → write pipeline.
pub struct Pipeline {
    pub stats: Arc<CollectorStats>,
    intake: mpsc::Sender<Datagram>,
    tasks: JoinHandle<()>,
}

impl Pipeline {
    /// Starts the decode and writer tasks with the queue sizes and batching
    /// of `config` (its `listen` and receive buffer are the collector's).
    /// Batches go to `sink` (the store), through `spool` while it does not
    /// take them; batches already in `spool` are written first.
    pub fn start<S: FlowSink>(config: &CollectorConfig, sink: S, spool: Spool) -> Self {
        let stats = Arc::new(CollectorStats::default());
        let (intake, queue) = mpsc::channel(config.queue_datagrams.max(1));
        let (batches, batch_queue) = mpsc::channel(config.queue_batches.max(1));
        let writer = tokio::spawn(super::writer::run(batch_queue, sink, spool, stats.clone()));
        let decoder = tokio::spawn(decode(queue, batches, config.clone(), stats.clone()));
        let tasks = tokio::spawn(async move {
            let _ = decoder.await;
            let _ = writer.await;
        });
        Self { stats, intake, tasks }
    }

    /// A sender into the datagram queue. [`Pipeline::finish`] waits until
    /// every sender handed out is dropped.
    pub fn intake(&self) -> mpsc::Sender<Datagram> {
        self.intake.clone()
    }

    /// Once every [`intake`](Pipeline::intake) is dropped, decodes, batches
    /// and writes what is queued, and returns when the writer is done.
    pub async fn finish(self) {
        drop(self.intake);
        let _ = self.tasks.await;
    }
}

async fn decode(
    mut queue: mpsc::Receiver<Datagram>,
    batches: mpsc::Sender<Vec<FlowRecord>>,
    config: CollectorConfig,
    stats: Arc<CollectorStats>,
) {
    let mut decoder = FlowDecoder::new();
    let mut known: HashMap<IpAddr, Arc<ExporterStats>> = HashMap::new();
    let mut pending: Vec<FlowRecord> = Vec::with_capacity(config.batch_rows);
    let mut tick = tokio::time::interval(Duration::from_millis(config.batch_interval_ms.max(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            received = queue.recv() => {
                let Some(datagram) = received else { break };
                let counters = known
                    .entry(datagram.exporter)
                    .or_insert_with(|| stats.exporter(datagram.exporter));
                let Some(report) = decode_guarded(&mut decoder, &datagram, &mut pending) else {
                    fault(counters, &datagram);
                    continue;
                };
                account(counters, &datagram, &report, decoder.templates_known(datagram.exporter));
                if pending.len() >= config.batch_rows {
                    send(&batches, &mut pending, config.batch_rows).await;
                }
            }
            _ = tick.tick() => {
                if !pending.is_empty() {
                    send(&batches, &mut pending, config.batch_rows).await;
                }
            }
        }
    }
    if !pending.is_empty() {
        send(&batches, &mut pending, config.batch_rows).await;
    }
}

/// Decodes one datagram; `None`, with nothing appended to `pending`, when
/// the decoder panicked.
///
/// The decoder is meant never to panic, and fuzzing checks it, but a panic
/// it does have would otherwise end this task and with it collection from
/// every exporter. Unwinding out of `decode` may leave that exporter's
/// templates half updated, which costs at most its next data sets; the
/// other exporters' state is untouched.
fn decode_guarded(
    decoder: &mut FlowDecoder,
    datagram: &Datagram,
    pending: &mut Vec<FlowRecord>,
) -> Option<DecodeReport> {
    let before = pending.len();
    let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
        decoder.decode(datagram.exporter, datagram.received_ms, &datagram.payload, pending)
    }));
    if decoded.is_err() {
        pending.truncate(before);
    }
    decoded.ok()
}

/// Counts a datagram the decoder panicked on; logs the first per exporter,
/// since it is a decoder bug to report, not a fault of the exporter.
fn fault(counters: &ExporterStats, datagram: &Datagram) {
    counters.datagrams.fetch_add(1, Relaxed);
    counters.bytes.fetch_add(datagram.payload.len() as u64, Relaxed);
    counters.last_seen_ms.store(datagram.received_ms, Relaxed);
    if counters.decoder_faults.fetch_add(1, Relaxed) == 0 {
        tracing::error!(
            exporter = %datagram.exporter,
            bytes = datagram.payload.len(),
            "the decoder failed on a datagram and it was dropped; later ones are counted as \
             decoder_fault; please report this with a capture of the exporter's traffic"
        );
    }
}

fn account(counters: &ExporterStats, datagram: &Datagram, report: &DecodeReport, templates: usize) {
    counters.datagrams.fetch_add(1, Relaxed);
    counters.bytes.fetch_add(datagram.payload.len() as u64, Relaxed);
    counters.records.fetch_add(report.records as u64, Relaxed);
    counters.option_records.fetch_add(report.option_records as u64, Relaxed);
    counters.templates_known.store(templates as u64, Relaxed);
    counters.last_seen_ms.store(datagram.received_ms, Relaxed);
    if let Some(protocol) = report.protocol {
        counters.saw_protocol(protocol);
    }
    for error in &report.errors {
        counters.count_error(error.kind);
        tracing::trace!(exporter = %datagram.exporter, error = %error, "part of a datagram could not be decoded");
    }
}

async fn send(
    batches: &mpsc::Sender<Vec<FlowRecord>>,
    pending: &mut Vec<FlowRecord>,
    capacity: usize,
) {
    let batch = std::mem::replace(pending, Vec::with_capacity(capacity));
    if batches.send(batch).await.is_err() {
        tracing::error!("the store writer has stopped; flows are being lost");
    }
}
