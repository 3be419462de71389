//! `flowsage replay FILE...`: the UDP datagrams of packet captures, fed
//! through the collector's pipeline into the configured store.
//!
//! Each capture is read by `flowsage_ingest::capture`; every UDP datagram in
//! it goes, keyed by its IP source address as a socket's would be, into the
//! same [`Pipeline`] that `flowsage serve` runs behind its sockets (decoder,
//! batcher, store writer, per-exporter statistics). The one difference is at
//! the intake: a replay waits for room in the queue where a socket would drop,
//! since a file has no kernel buffer to overflow.
//!
//! The store and the data directory follow `serve`'s rules: the embedded
//! engine admits one process, so a replay refuses to start while another
//! process (a running `serve`, a stdio MCP session) holds the data directory.
//! A ClickHouse server takes inserts from any number of processes, so with
//! that backend the directory is not locked.
//!
//! [`ReplayReport`] is what it prints: frames and datagrams per file, what was
//! skipped and why, records and decode errors per exporter, rows written.
//! It does not reassemble IP fragments nor pace datagrams to their capture
//! times: decoding does not depend on arrival pace.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use flowsage_ingest::capture::{CaptureError, CaptureReader, Tally};
use flowsage_ingest::collector::spool::Spool;
use flowsage_ingest::collector::stats::{ExporterSnapshot, WriterSnapshot};
use flowsage_ingest::collector::{Datagram, Pipeline};
use flowsage_ingest::store::{Backend, Store};
use tokio::sync::mpsc;

use crate::config::Config;
use crate::runtime::{holder, lock_data_dir, read_note};

/// Milliseconds in a day, for the TTL check.
const DAY_MS: i64 = 86_400_000;

/// `flowsage replay`'s arguments, each with its help and its test below.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ReplayArgs {
    /// Capture files (pcap or pcapng), replayed in the order given
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Stamp each datagram with the current time instead of its capture time
    ///
    /// By default a datagram counts as received when it was captured: the
    /// rows are the ones `flowsage serve` would have written then, and a
    /// capture replayed twice gives the same rows. Flow start and end times
    /// come from the export headers either way; this changes only
    /// time_received, by which the flows TTL (store.flows_ttl_days) counts.
    /// Datagrams older than the TTL are held back, since the TTL would delete
    /// their rows as soon as they were written: use this to replay them.
    /// Frames without a capture time (pcapng simple packet blocks) get the
    /// current time in any case.
    #[arg(long)]
    pub now: bool,
}

/// What one capture file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub path: PathBuf,
    pub tally: Tally,
    /// Why reading stopped before the end of the file, if it did: a capture
    /// cut inside its last record (counted as a truncated frame), or damage.
    pub stopped: Option<String>,
    /// Whether `stopped` is damage rather than a capture cut short.
    pub damaged: bool,
    /// UDP datagrams not sent because their capture time is older than the
    /// flows TTL.
    pub older_than_ttl: u64,
}

/// What a replay did, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    pub files: Vec<FileReport>,
    pub exporters: Vec<ExporterSnapshot>,
    pub writer: WriterSnapshot,
    /// `store.flows_ttl_days` (0: kept forever), for the held-back note.
    pub ttl_days: u32,
}

impl ReplayReport {
    /// Whether something did not make it into the store: a damaged file,
    /// datagrams held back by the TTL, or rows the store refused.
    pub fn incomplete(&self) -> bool {
        self.files.iter().any(|file| file.damaged || file.older_than_ttl > 0)
            || self.writer.rows_dropped > 0
    }
}

/// Replays `args.files` into the store of `config`.
pub async fn run(config: Config, args: ReplayArgs) -> anyhow::Result<ReplayReport> {
    let mut captures = Vec::new();
    for path in &args.files {
        let file = File::open(path).with_context(|| format!("in opening {}", path.display()))?;
        let reader = CaptureReader::new(BufReader::new(file))
            .with_context(|| format!("in {}", path.display()))?;
        captures.push((path.clone(), reader));
    }

    let _lock = if config.store.backend == Backend::Embedded {
        let data = &config.store.data_dir;
        let Some(lock) = lock_data_dir(data, "flowsage replay")? else {
            let serving = read_note(data).map(|note| format!(", serving {},", note.mcp_url));
            let holder = holder(data).unwrap_or_else(|| "another process".to_string());
            bail!(
                "{holder}{} holds the data directory {}: the embedded engine admits one \
                 process, so a replay cannot write there now. Stop it, replay, then start it \
                 again; or replay into another data directory (store.data_dir of another config)",
                serving.unwrap_or_default(),
                data.display()
            );
        };
        Some(lock)
    } else {
        None
    };

    let store = Store::open(&config.store).await.context("in opening the store")?;
    // A replay reports what the store refused instead of leaving it for a
    // later `serve` to write: its spool is disabled (a bound of 0 bytes).
    let spool_dir = config.store.data_dir.join("replay-spool");
    let spool = Spool::open(&spool_dir, 0).context("in opening the replay's spool")?;
    let pipeline = Pipeline::start(&config.flow, store.clone(), spool);
    let intake = pipeline.intake();
    let clock = Clock { now: args.now, ttl_days: config.store.flows_ttl_days };
    let feeding = tokio::task::spawn_blocking(move || feed(captures, &intake, clock));
    let files = feeding.await.context("in the capture reading task")??;
    let stats = pipeline.stats.clone();
    pipeline.finish().await;
    store.quiesce().await.context("in stopping the store's background merges")?;

    Ok(ReplayReport {
        files,
        exporters: stats.exporters(),
        writer: stats.writer(),
        ttl_days: config.store.flows_ttl_days,
    })
}

/// Which time a datagram gets, and which datagrams are too old to write.
#[derive(Debug, Clone, Copy)]
struct Clock {
    /// `--now`: every datagram gets the current time.
    now: bool,
    ttl_days: u32,
}

impl Clock {
    /// The receive time of a frame captured at `captured_ms`, or `None` when
    /// the TTL would delete its rows at once: the engine runs the TTL merge
    /// on such a part right after the insert, so writing them would only
    /// look like success.
    fn received_ms(&self, captured_ms: Option<i64>) -> Option<i64> {
        let now = now_ms();
        let received = captured_ms.filter(|_| !self.now).unwrap_or(now);
        let ttl_ms = i64::from(self.ttl_days) * DAY_MS;
        (self.ttl_days == 0 || received >= now - ttl_ms).then_some(received)
    }
}

/// The current time, Unix milliseconds.
fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Reads every capture into the pipeline, waiting for room in its queue;
/// each file's report.
fn feed(
    captures: Vec<(PathBuf, CaptureReader<BufReader<File>>)>,
    intake: &mpsc::Sender<Datagram>,
    clock: Clock,
) -> anyhow::Result<Vec<FileReport>> {
    let mut reports = Vec::new();
    for (path, mut reader) in captures {
        let mut report = FileReport {
            path,
            tally: Tally::default(),
            stopped: None,
            damaged: false,
            older_than_ttl: 0,
        };
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(err) => {
                    if let CaptureError::Truncated { .. } = err {
                        report.tally.count_cut_record();
                    } else {
                        report.damaged = true;
                    }
                    tracing::warn!(file = %report.path.display(), error = %err, "capture read stopped");
                    report.stopped = Some(err.to_string());
                    break;
                }
            };
            let outcome = frame.udp();
            report.tally.count(&outcome);
            let udp = match outcome {
                Ok(udp) => udp,
                Err(skip) => {
                    tracing::trace!(frame = frame.number, reason = %skip, "frame skipped");
                    continue;
                }
            };

            let Some(received_ms) = clock.received_ms(frame.time_ms) else {
                report.older_than_ttl += 1;
                continue;
            };
            let datagram = Datagram {
                exporter: udp.source.ip().to_canonical(),
                received_ms,
                payload: udp.payload.to_vec(),
            };
            if intake.blocking_send(datagram).is_err() {
                bail!("the decode task stopped while {} was replayed", report.path.display());
            }
        }
        reports.push(report);
    }
    Ok(reports)
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for file in &self.files {
            let t = &file.tally;
            write!(f, "{}: {} frames, {} UDP datagrams", file.path.display(), t.frames, t.udp)?;
            let skipped = [
                (t.not_udp, "not UDP"),
                (t.fragments, "IP fragments"),
                (t.truncated, "truncated"),
                (t.malformed, "malformed"),
                (t.unsupported_link, "of an unsupported link type"),
            ];
            let skipped: Vec<String> = skipped
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, what)| format!("{n} {what}"))
                .collect();
            if !skipped.is_empty() {
                write!(f, "; skipped {}", skipped.join(", "))?;
            }
            writeln!(f)?;
            if let Some(stopped) = &file.stopped {
                let what = if file.damaged { "damaged" } else { "cut short" };
                writeln!(f, "  reading stopped, the file is {what}: {stopped}")?;
            }
            if file.older_than_ttl > 0 {
                writeln!(
                    f,
                    "  {} datagrams held back: captured longer ago than store.flows_ttl_days \
                     ({} days), so the TTL would delete their rows as soon as written; replay \
                     with --now, or into a store with flows_ttl_days = 0",
                    file.older_than_ttl, self.ttl_days
                )?;
            }
        }

        for exporter in &self.exporters {
            write!(
                f,
                "exporter {}: {} datagrams, {} flow records, {} options records",
                exporter.address, exporter.datagrams, exporter.records, exporter.option_records
            )?;
            let errors = &exporter.decode_errors;
            let total: u64 = errors.values().sum();
            write!(f, ", {total} decode errors")?;
            if total > 0 {
                let kinds: Vec<String> = errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
                write!(f, " ({})", kinds.join(", "))?;
            }
            writeln!(f)?;
        }
        let w = &self.writer;
        writeln!(f, "rows written: {}, dropped: {}", w.rows_written, w.rows_dropped)
    }
}

#[cfg(test)]
mod tests {
    use clap::{Args, FromArgMatches};

    use super::*;

    fn parse(args: &[&str]) -> Result<ReplayArgs, clap::Error> {
        let command = ReplayArgs::augment_args(clap::Command::new("replay"));
        let matches =
            command.try_get_matches_from(std::iter::once("replay").chain(args.iter().copied()))?;
        ReplayArgs::from_arg_matches(&matches)
    }

    #[test]
    fn files_are_kept_in_order_and_capture_time_is_the_default() {
        // given
        let args = ["b.pcapng", "a.pcap"];

        // when
        let parsed = parse(&args).unwrap();

        // then
        assert_eq!(parsed.files, [PathBuf::from("b.pcapng"), PathBuf::from("a.pcap")]);
        assert!(!parsed.now);
    }

    #[test]
    fn now_flag_switches_to_the_current_time() {
        // given
        let args = ["--now", "a.pcap"];

        // when
        let parsed = parse(&args).unwrap();

        // then
        assert!(parsed.now);
    }

    #[test]
    fn at_least_one_file_is_required() {
        // given
        let args: [&str; 0] = [];

        // when
        let parsed = parse(&args);

        // then
        let err = parsed.unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn capture_times_are_kept_unless_now_and_held_back_past_the_ttl() {
        // given
        let yesterday = now_ms() - DAY_MS;
        let last_year = now_ms() - 365 * DAY_MS;
        let capture = Clock { now: false, ttl_days: 30 };
        let now = Clock { now: true, ttl_days: 30 };
        let forever = Clock { now: false, ttl_days: 0 };

        // when
        let times = [
            capture.received_ms(Some(yesterday)),
            capture.received_ms(Some(last_year)),
            forever.received_ms(Some(last_year)),
        ];
        let (stamped, untimed) = (now.received_ms(Some(last_year)), capture.received_ms(None));

        // then
        assert_eq!(times, [Some(yesterday), None, Some(last_year)]);
        assert!(stamped.is_some_and(|ms| ms > yesterday));
        assert!(untimed.is_some_and(|ms| ms > yesterday));
    }

    fn report(tally: Tally, older_than_ttl: u64) -> ReplayReport {
        ReplayReport {
            files: vec![FileReport {
                path: "cut.pcap".into(),
                tally,
                stopped: Some("the file ends early".into()),
                damaged: false,
                older_than_ttl,
            }],
            exporters: Vec::new(),
            writer: WriterSnapshot {
                batches_written: 0,
                rows_written: 0,
                rows_dropped: 0,
                rows_dropped_by_reason: Default::default(),
                write_errors: 0,
                spool_batches: 0,
                spool_bytes: 0,
            },
            ttl_days: 30,
        }
    }

    #[test]
    fn a_cut_file_is_reported_but_complete_and_held_back_datagrams_are_not() {
        // given
        let mut tally = Tally::default();
        tally.count_cut_record();
        let cut = report(tally, 0);
        let held_back = report(tally, 3);

        // when
        let (cut_shown, held_back_shown) = (cut.to_string(), held_back.to_string());

        // then
        assert!(cut_shown.contains("cut.pcap: 1 frames, 0 UDP datagrams; skipped 1 truncated"));
        assert!(cut_shown.contains("the file is cut short"), "{cut_shown}");
        assert!(!cut.incomplete());
        assert!(held_back_shown.contains("3 datagrams held back"), "{held_back_shown}");
        assert!(held_back_shown.contains("store.flows_ttl_days (30 days)"), "{held_back_shown}");
        assert!(held_back.incomplete());
    }
}
