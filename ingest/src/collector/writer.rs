//! The store writer: inserts batches in the order they were cut, spools the
//! ones the store does not take, and replays the spool in order once it takes
//! them again.
//!
//! Order: while the [`Spool`] holds anything, every new batch goes to its
//! tail, and only the oldest spooled batch is offered to the store. So batches
//! reach the store in the order they were cut, and the batches an earlier run
//! spooled reach it before any of this run's. Only when the spool is empty is
//! a new batch inserted directly.
//!
//! Waiting: a store that fails with a retryable error (unreachable, busy)
//! sends the batch to the spool, and the oldest spooled batch is retried after
//! a delay that doubles from [`REPLAY_DELAY_MIN`] to [`REPLAY_DELAY_MAX`].
//! New batches keep being spooled meanwhile, so the decoder, and with it the
//! receive path, never waits for a store that is down; only a slow store that
//! does answer holds the writer for as long as one insert takes.
//!
//! Giving up, each counted in [`WriterStats`](super::stats::WriterStats) by
//! [`DropReason`] with an error log: a batch the store refuses with an error
//! that retrying cannot fix (`store_refused`, also when it was spooled); a
//! batch the spool has no room for (`spool_full`: the newest is the one lost)
//! or cannot write (`spool_write`); a spool file that cannot be read back
//! (`spool_corrupt`, moved aside by the spool); rows that cannot become an
//! Arrow batch (`arrow`).
//!
//! The writer stops when the decoder does; what is spooled then stays on disk
//! for the next start. It does not retry a refused batch in another form, and
//! it writes a batch more than once only when flowsage stops between an insert
//! and the removal of the batch's spool file.

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use tokio::sync::mpsc;

use super::spool::{Head, Spool, SpoolError};
use super::stats::{CollectorStats, DropReason};
use crate::flow::FlowRecord;
use crate::store::batch::flow_batch;
use crate::store::{Store, StoreError};

/// First wait before the oldest spooled batch is offered to the store again.
pub const REPLAY_DELAY_MIN: Duration = Duration::from_millis(200);
/// Longest wait between two offers while the store stays down.
pub const REPLAY_DELAY_MAX: Duration = Duration::from_secs(30);

/// Where the writer inserts: the [`Store`], or a stand-in in tests.
pub trait FlowSink: Send + Sync + 'static {
    /// Appends `batch` (built by [`flow_batch`]) to the flows.
    fn insert(&self, batch: RecordBatch) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl FlowSink for Store {
    fn insert(&self, batch: RecordBatch) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.insert_flows(batch)
    }
}

/// Runs the writer until `queue` closes.
pub(super) async fn run<S: FlowSink>(
    mut queue: mpsc::Receiver<Vec<FlowRecord>>,
    sink: S,
    spool: Spool,
    stats: Arc<CollectorStats>,
) {
    let mut writer = Writer {
        sink,
        spool: Arc::new(Mutex::new(spool)),
        stats,
        delay: REPLAY_DELAY_MIN,
        replay_at: tokio::time::Instant::now(),
        head: None,
    };
    writer.publish_depth();

    loop {
        let replaying = !writer.spool_is_empty();
        tokio::select! {
            received = queue.recv() => {
                let Some(records) = received else { break };
                writer.take(records).await;
            }
            () = tokio::time::sleep_until(writer.replay_at), if replaying => {
                writer.replay_oldest().await;
            }
        }
    }
    writer.stopped();
}

struct Writer<S> {
    sink: S,
    /// Used from blocking tasks, one at a time: only this task locks it.
    spool: Arc<Mutex<Spool>>,
    stats: Arc<CollectorStats>,
    /// Wait after the next failed offer of the oldest spooled batch.
    delay: Duration,
    /// When the oldest spooled batch is offered next.
    replay_at: tokio::time::Instant,
    /// The oldest spooled batch, kept once read while the store is down.
    head: Option<RecordBatch>,
}

impl<S: FlowSink> Writer<S> {
    /// A new batch from the decoder: inserted when nothing is spooled, else
    /// (or when the store does not take it) spooled.
    async fn take(&mut self, records: Vec<FlowRecord>) {
        let rows = records.len() as u64;
        let batch = match flow_batch(&records) {
            Ok(batch) => batch,
            Err(err) => {
                tracing::error!(error = %err, rows, "could not build an Arrow batch; rows dropped");
                self.stats.writer.drop_rows(DropReason::Arrow, rows);
                return;
            }
        };

        if self.spool_is_empty() {
            match self.insert(batch.clone()).await {
                Ok(()) => return,
                Err(err) if err.retryable() => {
                    tracing::warn!(
                        error = %err,
                        rows,
                        "the store did not take a batch; spooling batches until it does"
                    );
                    self.delay = REPLAY_DELAY_MIN;
                    self.replay_at = tokio::time::Instant::now() + self.delay;
                }
                Err(err) => {
                    tracing::error!(error = %err, rows, "the store refused a batch; rows dropped");
                    self.stats.writer.drop_rows(DropReason::StoreRefused, rows);
                    return;
                }
            }
        }
        self.spool(batch).await;
    }

    async fn spool(&mut self, batch: RecordBatch) {
        let rows = batch.num_rows() as u64;
        let appended = self.with_spool(move |spool| spool.append(&batch)).await;
        match appended {
            Ok(()) => {
                self.stats.writer.batches_spooled.fetch_add(1, Relaxed);
                self.stats.writer.rows_spooled.fetch_add(rows, Relaxed);
            }
            Err(err @ SpoolError::Full { .. }) => {
                tracing::error!(error = %err, rows, "the spool is full; the newest batch was dropped");
                self.stats.writer.drop_rows(DropReason::SpoolFull, rows);
            }
            Err(err) => {
                tracing::error!(error = %err, rows, "could not spool a batch; rows dropped");
                self.stats.writer.drop_rows(DropReason::SpoolWrite, rows);
            }
        }
        self.publish_depth();
    }

    /// Offers the oldest spooled batch to the store; removes it once taken.
    async fn replay_oldest(&mut self) {
        let batch = match self.head.take() {
            Some(batch) => batch,
            None => match self.with_spool(Spool::head).await {
                Head::Empty => return,
                Head::Batch(batch) => batch,
                Head::Corrupt { path, rows, reason, moved_to } => {
                    tracing::error!(
                        path = %path.display(),
                        moved_to = ?moved_to,
                        rows,
                        reason,
                        "a spooled batch cannot be read back; it was moved aside and its rows dropped"
                    );
                    self.stats.writer.drop_rows(DropReason::SpoolCorrupt, rows);
                    self.stats.writer.spool_corrupt_files.fetch_add(1, Relaxed);
                    self.publish_depth();
                    return;
                }
            },
        };
        let rows = batch.num_rows() as u64;

        match self.insert(batch.clone()).await {
            Ok(()) => {
                self.remove_oldest().await;
                self.delay = REPLAY_DELAY_MIN;
                if self.spool_is_empty() {
                    tracing::info!("every spooled batch was written; inserting directly again");
                }
            }
            Err(err) if err.retryable() => {
                self.head = Some(batch);
                self.replay_at = tokio::time::Instant::now() + self.delay;
                tracing::warn!(
                    error = %err,
                    retry_in_ms = self.delay.as_millis() as u64,
                    spooled_batches = self.stats.writer.spool_batches.load(Relaxed),
                    "the store still does not take batches; they stay spooled"
                );
                self.delay = (self.delay * 2).min(REPLAY_DELAY_MAX);
            }
            Err(err) => {
                tracing::error!(
                    error = %err,
                    rows,
                    "the store refused a spooled batch; rows dropped"
                );
                self.stats.writer.drop_rows(DropReason::StoreRefused, rows);
                self.remove_oldest().await;
            }
        }
    }

    async fn remove_oldest(&mut self) {
        if let Err(err) = self.with_spool(Spool::remove_head).await {
            tracing::error!(
                error = %err,
                "a written batch stays in the spool directory; the next start writes it again"
            );
        }
        self.publish_depth();
    }

    /// One insert, timed and counted.
    async fn insert(&self, batch: RecordBatch) -> Result<(), StoreError> {
        let rows = batch.num_rows() as u64;
        let started = Instant::now();
        let inserted = self.sink.insert(batch).await;
        let writer = &self.stats.writer;
        match &inserted {
            Ok(()) => {
                writer.insert_seconds.observe(started.elapsed().as_secs_f64());
                writer.batches_written.fetch_add(1, Relaxed);
                writer.rows_written.fetch_add(rows, Relaxed);
            }
            Err(_) => {
                writer.write_errors.fetch_add(1, Relaxed);
            }
        }
        inserted
    }

    /// Runs `job` on the spool in a blocking task: spool work is file I/O.
    async fn with_spool<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Spool) -> T + Send + 'static,
    ) -> T {
        let spool = self.spool.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut spool = spool.lock().unwrap_or_else(PoisonError::into_inner);
            job(&mut spool)
        })
        .await;
        done.unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))
    }

    fn spool_is_empty(&self) -> bool {
        self.spool.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }

    fn publish_depth(&self) {
        let spool = self.spool.lock().unwrap_or_else(PoisonError::into_inner);
        self.stats.writer.spool_batches.store(spool.batches() as u64, Relaxed);
        self.stats.writer.spool_bytes.store(spool.bytes(), Relaxed);
    }

    fn stopped(&self) {
        let spool = self.spool.lock().unwrap_or_else(PoisonError::into_inner);
        if !spool.is_empty() {
            tracing::info!(
                dir = %spool.dir().display(),
                batches = spool.batches(),
                bytes = spool.bytes(),
                "the writer stopped with batches spooled; the next start writes them first"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::atomic::AtomicBool;

    use arrow_array::UInt64Array;

    use super::*;
    use crate::flow::FlowProtocol;

    /// A store stand-in: takes batches while up, fails with a retryable
    /// error while down, refuses every batch with a query error when set to.
    #[derive(Clone, Default)]
    struct StandIn {
        down: Arc<AtomicBool>,
        refuse: Arc<AtomicBool>,
        /// The `bytes` of every row taken, batch by batch.
        taken: Arc<Mutex<Vec<Vec<u64>>>>,
    }

    impl FlowSink for StandIn {
        fn insert(
            &self,
            batch: RecordBatch,
        ) -> impl Future<Output = Result<(), StoreError>> + Send {
            let result = if self.refuse.load(Relaxed) {
                Err(StoreError::Query { sql: "INSERT".into(), message: "no".into() })
            } else if self.down.load(Relaxed) {
                Err(StoreError::Io {
                    context: "the stand-in".into(),
                    err: std::io::ErrorKind::ConnectionRefused.into(),
                })
            } else {
                let column = batch.column_by_name("bytes").unwrap();
                let bytes = column.as_any().downcast_ref::<UInt64Array>().unwrap();
                self.taken.lock().unwrap().push(bytes.values().to_vec());
                Ok(())
            };
            std::future::ready(result)
        }
    }

    impl StandIn {
        fn taken(&self) -> Vec<Vec<u64>> {
            self.taken.lock().unwrap().clone()
        }
    }

    /// Records whose `bytes` are `values`, one batch.
    fn records(values: &[u64]) -> Vec<FlowRecord> {
        values
            .iter()
            .map(|&n| {
                let exporter = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
                let mut record = FlowRecord::new(exporter, FlowProtocol::Ipfix, 1, 1_000);
                record.bytes = n;
                record
            })
            .collect()
    }

    /// A writer on `sink` with a spool in `dir`; its queue and stats.
    fn start(
        sink: StandIn,
        dir: &std::path::Path,
        max_bytes: u64,
    ) -> (mpsc::Sender<Vec<FlowRecord>>, Arc<CollectorStats>, tokio::task::JoinHandle<()>) {
        let (queue, batches) = mpsc::channel(8);
        let stats = Arc::new(CollectorStats::default());
        let spool = Spool::open(dir, max_bytes).unwrap();
        let task = tokio::spawn(run(batches, sink, spool, stats.clone()));
        (queue, stats, task)
    }

    /// Waits until `done` holds, failing the test after a deadline.
    async fn until(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn batches_cut_while_the_store_is_down_reach_it_in_order_once_it_is_up() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let sink = StandIn::default();
        sink.down.store(true, Relaxed);
        let (queue, stats, task) = start(sink.clone(), dir.path(), u64::MAX);

        // when
        for batch in [[1, 2], [3, 4], [5, 6]] {
            queue.send(records(&batch)).await.unwrap();
        }
        until("three batches are spooled", || stats.writer().spool_batches == 3).await;
        sink.down.store(false, Relaxed);
        queue.send(records(&[7])).await.unwrap();
        until("every row is written", || stats.writer().rows_written == 7).await;
        drop(queue);
        task.await.unwrap();

        // then: the batch cut after the store came back went in last
        assert_eq!(sink.taken(), [vec![1, 2], vec![3, 4], vec![5, 6], vec![7]]);
        let writer = stats.writer();
        assert_eq!(writer.batches_written, 4);
        assert_eq!((writer.rows_dropped, writer.spool_batches, writer.spool_bytes), (0, 0, 0));
        assert!(dir.path().read_dir().unwrap().all(|f| f.unwrap().file_name() == "spool.lock"));
        let metrics = super::super::metrics::render(&super::super::metrics::registry(stats));
        assert!(metrics.contains("\nflowsage_store_insert_seconds_count 4\n"), "{metrics}");
    }

    #[tokio::test]
    async fn a_restart_writes_the_earlier_runs_batches_before_its_own() {
        // given: a first run spooled two batches while the store was down
        let dir = tempfile::tempdir().unwrap();
        let down = StandIn::default();
        down.down.store(true, Relaxed);
        let (queue, stats, task) = start(down, dir.path(), u64::MAX);
        queue.send(records(&[1])).await.unwrap();
        queue.send(records(&[2])).await.unwrap();
        until("two batches are spooled", || stats.writer().spool_batches == 2).await;
        drop(queue);
        task.await.unwrap();

        // when: a second run with the store up takes a batch of its own at once
        let up = StandIn::default();
        let (queue, stats, task) = start(up.clone(), dir.path(), u64::MAX);
        queue.send(records(&[3])).await.unwrap();
        until("every batch is written", || stats.writer().rows_written == 3).await;
        drop(queue);
        task.await.unwrap();

        // then
        assert_eq!(up.taken(), [vec![1], vec![2], vec![3]]);
        assert_eq!(stats.writer().spool_batches, 0);
    }

    #[tokio::test]
    async fn a_refused_batch_is_dropped_and_counted_not_spooled() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let sink = StandIn::default();
        sink.refuse.store(true, Relaxed);
        let (queue, stats, task) = start(sink.clone(), dir.path(), u64::MAX);

        // when
        queue.send(records(&[1, 2, 3])).await.unwrap();
        drop(queue);
        task.await.unwrap();

        // then
        let writer = stats.writer();
        assert_eq!(writer.rows_dropped_by_reason["store_refused"], 3);
        assert_eq!((writer.rows_dropped, writer.spool_batches, writer.write_errors), (3, 0, 1));
        assert!(sink.taken().is_empty());
    }

    #[tokio::test]
    async fn a_spooled_batch_the_store_then_refuses_is_dropped_and_the_next_one_written() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let sink = StandIn::default();
        sink.down.store(true, Relaxed);
        let (queue, stats, task) = start(sink.clone(), dir.path(), u64::MAX);
        queue.send(records(&[1, 2])).await.unwrap();
        until("a batch is spooled", || stats.writer().spool_batches == 1).await;

        // when
        sink.refuse.store(true, Relaxed);
        until("the spool is empty", || stats.writer().spool_batches == 0).await;
        sink.refuse.store(false, Relaxed);
        sink.down.store(false, Relaxed);
        queue.send(records(&[3])).await.unwrap();
        drop(queue);
        task.await.unwrap();

        // then
        assert_eq!(sink.taken(), [vec![3]]);
        assert_eq!(stats.writer().rows_dropped_by_reason["store_refused"], 2);
    }

    #[tokio::test]
    async fn when_the_spool_is_full_the_newest_batch_is_dropped() {
        // given: room for exactly one single-row batch
        let dir = tempfile::tempdir().unwrap();
        let one = {
            let probe = tempfile::tempdir().unwrap();
            let mut spool = Spool::open(probe.path(), u64::MAX).unwrap();
            spool.append(&flow_batch(&records(&[1])).unwrap()).unwrap();
            spool.bytes()
        };
        let sink = StandIn::default();
        sink.down.store(true, Relaxed);
        let (queue, stats, task) = start(sink.clone(), dir.path(), one);

        // when
        queue.send(records(&[1])).await.unwrap();
        queue.send(records(&[2])).await.unwrap();
        until("one batch is dropped", || stats.writer().rows_dropped == 1).await;
        sink.down.store(false, Relaxed);
        until("the spool is empty", || stats.writer().spool_batches == 0).await;
        drop(queue);
        task.await.unwrap();

        // then
        assert_eq!(sink.taken(), [vec![1]]);
        assert_eq!(stats.writer().rows_dropped_by_reason["spool_full"], 1);
    }

    #[tokio::test]
    async fn a_corrupt_spool_file_is_counted_with_its_rows_and_the_rest_replayed() {
        // given: an earlier run left two batches, the first cut short
        let dir = tempfile::tempdir().unwrap();
        {
            let mut spool = Spool::open(dir.path(), u64::MAX).unwrap();
            spool.append(&flow_batch(&records(&[1, 2, 3])).unwrap()).unwrap();
            spool.append(&flow_batch(&records(&[4])).unwrap()).unwrap();
        }
        let first = dir.path().join("00000000000000000000-3.arrow");
        std::fs::write(&first, b"ARROW1 and then nothing").unwrap();
        let sink = StandIn::default();

        // when
        let (queue, stats, task) = start(sink.clone(), dir.path(), u64::MAX);
        until("the readable batch is written", || stats.writer().rows_written == 1).await;
        drop(queue);
        task.await.unwrap();

        // then
        assert_eq!(sink.taken(), [vec![4]]);
        assert_eq!(stats.writer().rows_dropped_by_reason["spool_corrupt"], 3);
        assert_eq!(stats.writer.spool_corrupt_files.load(Relaxed), 1);
        assert!(dir.path().join("00000000000000000000-3.arrow.bad").exists());
    }
}
