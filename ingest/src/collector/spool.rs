//! The spool: flow batches the store did not take, kept on disk in arrival
//! order until it takes them.
//!
//! Each batch is one Arrow IPC file (the file format: its footer tells a whole
//! file from a cut one), named by a sequence number that only grows, padded so
//! names sort as numbers, and by the batch's row count:
//! `00000000000000000042-50000.arrow`. A batch is written to `<name>.tmp`,
//! flushed to disk, then renamed, so a name ending in `.arrow` always holds a
//! whole batch. [`Spool::head`] reads the oldest batch; the caller removes it
//! with [`Spool::remove_head`] only once the store has taken it. A file that
//! cannot be read back is renamed to `<name>.bad`, leaves the spool and is
//! reported with its row count (from its name), never retried.
//!
//! The spool is bounded by the bytes of its files: a batch that would take it
//! past `max_bytes` is refused with [`SpoolError::Full`], and the caller drops
//! it: the newest batch is the one lost. A spool reopened with a lower bound
//! keeps every batch it finds and refuses new ones until replays bring it
//! under the bound. An open spool holds a lock on
//! `spool.lock` in its directory, so two processes never share one.
//!
//! Not done here: deciding when to spool or replay (the writer task does,
//! [`writer`](super::writer)), and exactly-once delivery: a crash between an
//! insert and the removal of its file replays that batch again at the next
//! start.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::ArrowError;

use crate::store::batch::flow_schema;

/// Extension of a spooled batch.
const EXTENSION: &str = ".arrow";
/// Suffix of a batch being written.
const TMP_SUFFIX: &str = ".tmp";
/// Suffix of a file moved aside because it could not be read back.
const BAD_SUFFIX: &str = ".bad";
/// The lock file held while a process has the spool open.
const LOCK_FILE: &str = "spool.lock";

/// Why the spool could not open or take a batch.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("in the spool {}: another process holds {LOCK_FILE}", dir.display())]
    Locked { dir: PathBuf },
    #[error(
        "in the spool {}: a batch of {bytes} bytes would take it past flow.spool_max_bytes \
         ({max} bytes, {used} in use)",
        dir.display()
    )]
    Full { dir: PathBuf, bytes: u64, used: u64, max: u64 },
    #[error("in the spool file {}: {err}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        err: io::Error,
    },
    #[error("in encoding a batch of {rows} rows for the spool: {err}")]
    Encode {
        rows: usize,
        #[source]
        err: ArrowError,
    },
}

/// The oldest spooled batch, as [`Spool::head`] found it.
#[derive(Debug)]
pub enum Head {
    Empty,
    Batch(RecordBatch),
    /// The oldest file could not be read back. It has left the spool and was
    /// renamed to `moved_to` (`None` if even that failed).
    Corrupt {
        path: PathBuf,
        rows: u64,
        reason: String,
        moved_to: Option<PathBuf>,
    },
}

/// One spooled batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SpoolFile {
    seq: u64,
    rows: u64,
    bytes: u64,
}

impl SpoolFile {
    fn name(&self) -> String {
        format!("{:020}-{}{EXTENSION}", self.seq, self.rows)
    }

    /// Sequence number and rows of a name written by [`name`](Self::name).
    fn parse(name: &str) -> Option<(u64, u64)> {
        let (seq, rows) = name.strip_suffix(EXTENSION)?.split_once('-')?;
        Some((seq.parse().ok()?, rows.parse().ok()?))
    }
}

/// Batches on disk, oldest first, bounded by bytes.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    files: VecDeque<SpoolFile>,
    bytes: u64,
    next_seq: u64,
    _lock: File,
}

impl Spool {
    /// Opens (creating it if needed) the spool in `dir`, with the batches an
    /// earlier run left there queued first. Files left half-written by a run
    /// that stopped while writing are removed, with an error log: their rows
    /// were never spooled whole.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, SpoolError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |err| SpoolError::Io { path, err }
        };
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(SpoolError::Locked { dir: dir.to_path_buf() });
            }
            Err(fs::TryLockError::Error(err)) => return Err(io_err(&lock_path)(err)),
        }

        let mut files = Vec::new();
        let mut next_seq = 0;
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            let base = name
                .strip_suffix(TMP_SUFFIX)
                .or_else(|| name.strip_suffix(BAD_SUFFIX))
                .unwrap_or(&name);
            let Some((seq, rows)) = SpoolFile::parse(base) else { continue };
            // Names of unfinished and bad files are never reused either.
            next_seq = next_seq.max(seq + 1);
            if name.ends_with(TMP_SUFFIX) {
                let removed = fs::remove_file(entry.path());
                tracing::error!(
                    path = %entry.path().display(),
                    rows,
                    removed = removed.is_ok(),
                    "an earlier run stopped while spooling a batch; its rows were lost"
                );
            } else if name.ends_with(EXTENSION) {
                let bytes = entry.metadata().map_err(io_err(&entry.path()))?.len();
                files.push(SpoolFile { seq, rows, bytes });
            }
        }
        files.sort_by_key(|f| f.seq);

        let spool = Self {
            dir: dir.to_path_buf(),
            max_bytes,
            bytes: files.iter().map(|f| f.bytes).sum(),
            files: files.into(),
            next_seq,
            _lock: lock,
        };
        if !spool.is_empty() {
            tracing::info!(
                dir = %spool.dir.display(),
                batches = spool.batches(),
                bytes = spool.bytes(),
                "batches spooled by an earlier run are replayed before new ones"
            );
        }
        Ok(spool)
    }

    /// Appends `batch` as the newest file; refused when it would take the
    /// spool past its bound or cannot be written, and then nothing is left
    /// on disk.
    pub fn append(&mut self, batch: &RecordBatch) -> Result<(), SpoolError> {
        let encoded = encode(batch)?;
        let size = encoded.len() as u64;
        if self.bytes + size > self.max_bytes {
            return Err(SpoolError::Full {
                dir: self.dir.clone(),
                bytes: size,
                used: self.bytes,
                max: self.max_bytes,
            });
        }

        let file = SpoolFile { seq: self.next_seq, rows: batch.num_rows() as u64, bytes: size };
        let path = self.path(&file);
        let tmp = self.dir.join(format!("{}{TMP_SUFFIX}", file.name()));
        if let Err(err) = write_synced(&tmp, &encoded) {
            let _ = fs::remove_file(&tmp);
            return Err(SpoolError::Io { path: tmp, err });
        }
        if let Err(err) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(SpoolError::Io { path, err });
        }
        // The rename is durable once the directory is; a failure here leaves
        // a whole file that a crash might lose, which is not worth dropping
        // the batch over.
        if let Err(err) = File::open(&self.dir).and_then(|dir| dir.sync_all()) {
            tracing::warn!(error = %err, dir = %self.dir.display(), "could not sync the spool");
        }

        self.next_seq += 1;
        self.bytes += size;
        self.files.push_back(file);
        Ok(())
    }

    /// The oldest batch, read from its file. A file that cannot be read is
    /// moved aside and leaves the spool; the next call reads the one after.
    pub fn head(&mut self) -> Head {
        let Some(file) = self.files.front().copied() else { return Head::Empty };
        let path = self.path(&file);
        match read_batch(&path, file.rows) {
            Ok(batch) => Head::Batch(batch),
            Err(reason) => {
                self.files.pop_front();
                self.bytes -= file.bytes;
                let bad = self.dir.join(format!("{}{BAD_SUFFIX}", file.name()));
                let moved_to = fs::rename(&path, &bad).ok().map(|()| bad);
                Head::Corrupt { path, rows: file.rows, reason, moved_to }
            }
        }
    }

    /// Removes the oldest batch, once the store has taken it. It leaves the
    /// spool even when its file cannot be removed (the error says so), and
    /// then would be replayed again at the next start.
    pub fn remove_head(&mut self) -> Result<(), SpoolError> {
        let Some(file) = self.files.pop_front() else { return Ok(()) };
        self.bytes -= file.bytes;
        let path = self.path(&file);
        fs::remove_file(&path).map_err(|err| SpoolError::Io { path, err })
    }

    /// Batches in the spool.
    pub fn batches(&self) -> usize {
        self.files.len()
    }

    /// Bytes of the spooled files.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, file: &SpoolFile) -> PathBuf {
        self.dir.join(file.name())
    }
}

fn encode(batch: &RecordBatch) -> Result<Vec<u8>, SpoolError> {
    let rows = batch.num_rows();
    let encode_err = |err| SpoolError::Encode { rows, err };
    let mut writer = FileWriter::try_new(
        Vec::with_capacity(batch.get_array_memory_size() + 4096),
        &batch.schema(),
    )
    .map_err(encode_err)?;
    writer.write(batch).map_err(encode_err)?;
    writer.finish().map_err(encode_err)?;
    writer.into_inner().map_err(encode_err)
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The one batch of a spool file, checked against the flow schema and the
/// row count in its name; the reason it is unusable otherwise.
fn read_batch(path: &Path, rows: u64) -> Result<RecordBatch, String> {
    let bytes = fs::read(path).map_err(|err| format!("cannot read it: {err}"))?;
    let reader = FileReader::try_new(Cursor::new(bytes), None)
        .map_err(|err| format!("not a whole Arrow IPC file: {err}"))?;
    if reader.schema().fields() != flow_schema().fields() {
        return Err("its columns are not those of this version's flow batches".to_string());
    }
    let mut batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| format!("a batch cannot be decoded: {err}"))?;
    if batches.len() != 1 {
        return Err(format!("{} batches where one was written", batches.len()));
    }
    let batch = batches.remove(0);
    if batch.num_rows() as u64 != rows {
        return Err(format!("{} rows where its name says {rows}", batch.num_rows()));
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use arrow_array::UInt64Array;

    use super::*;
    use crate::flow::{FlowProtocol, FlowRecord};
    use crate::store::batch::flow_batch;

    /// A batch of `rows` flows whose `bytes` count up from `first`.
    fn batch(first: u64, rows: u64) -> RecordBatch {
        let records: Vec<FlowRecord> = (first..first + rows)
            .map(|n| {
                let exporter = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
                let mut record = FlowRecord::new(exporter, FlowProtocol::Ipfix, 1, 1_000);
                record.bytes = n;
                record
            })
            .collect();
        flow_batch(&records).unwrap()
    }

    fn byte_values(batch: &RecordBatch) -> Vec<u64> {
        let column = batch.column_by_name("bytes").unwrap();
        column.as_any().downcast_ref::<UInt64Array>().unwrap().values().to_vec()
    }

    /// Reads and removes every batch, oldest first.
    fn drain(spool: &mut Spool) -> Vec<Vec<u64>> {
        let mut out = Vec::new();
        loop {
            match spool.head() {
                Head::Empty => return out,
                Head::Batch(batch) => out.push(byte_values(&batch)),
                Head::Corrupt { path, reason, .. } => panic!("{}: {reason}", path.display()),
            }
            spool.remove_head().unwrap();
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n != LOCK_FILE)
            .collect();
        names.sort();
        names
    }

    #[test]
    fn batches_come_back_oldest_first_and_leave_no_file() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), u64::MAX).unwrap();

        // when
        for first in [10, 20, 30] {
            spool.append(&batch(first, 2)).unwrap();
        }
        let depth = (spool.batches(), spool.bytes() > 0);
        let replayed = drain(&mut spool);

        // then
        assert_eq!(depth, (3, true));
        assert_eq!(replayed, [vec![10, 11], vec![20, 21], vec![30, 31]]);
        assert_eq!((spool.batches(), spool.bytes()), (0, 0));
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }

    #[test]
    fn files_are_named_by_sequence_and_rows() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), u64::MAX).unwrap();

        // when
        spool.append(&batch(0, 3)).unwrap();
        spool.append(&batch(0, 1)).unwrap();

        // then
        assert_eq!(
            names(dir.path()),
            ["00000000000000000000-3.arrow", "00000000000000000001-1.arrow"]
        );
    }

    #[test]
    fn a_reopened_spool_replays_the_earlier_batches_before_new_ones() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let mut first_run = Spool::open(dir.path(), u64::MAX).unwrap();
        first_run.append(&batch(1, 1)).unwrap();
        first_run.append(&batch(2, 1)).unwrap();
        drop(first_run);

        // when
        let mut second_run = Spool::open(dir.path(), u64::MAX).unwrap();
        second_run.append(&batch(3, 1)).unwrap();

        // then
        assert_eq!(second_run.batches(), 3);
        assert_eq!(drain(&mut second_run), [vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn a_second_open_of_the_same_directory_is_refused() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let _held = Spool::open(dir.path(), u64::MAX).unwrap();

        // when
        let second = Spool::open(dir.path(), u64::MAX);

        // then
        assert!(matches!(second, Err(SpoolError::Locked { .. })), "{second:?}");
    }

    #[test]
    fn a_batch_past_the_bound_is_refused_and_the_older_ones_stay() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let one = encode(&batch(0, 1)).unwrap().len() as u64;
        let mut spool = Spool::open(dir.path(), 2 * one).unwrap();
        spool.append(&batch(1, 1)).unwrap();
        spool.append(&batch(2, 1)).unwrap();

        // when
        let refused = spool.append(&batch(3, 1));

        // then
        assert!(matches!(refused, Err(SpoolError::Full { used, .. }) if used == 2 * one));
        assert_eq!(spool.bytes(), 2 * one);
        assert_eq!(names(dir.path()).len(), 2);
        assert_eq!(drain(&mut spool), [vec![1], vec![2]]);
    }

    #[test]
    fn a_zero_bound_spools_nothing() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 0).unwrap();

        // when
        let refused = spool.append(&batch(1, 1));

        // then
        assert!(matches!(refused, Err(SpoolError::Full { .. })), "{refused:?}");
        assert!(spool.is_empty());
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_with_its_rows_and_the_next_one_is_read() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), u64::MAX).unwrap();
        spool.append(&batch(1, 4)).unwrap();
        spool.append(&batch(2, 1)).unwrap();
        let first = dir.path().join("00000000000000000000-4.arrow");
        let whole = fs::read(&first).unwrap();
        fs::write(&first, &whole[..whole.len() / 2]).unwrap();

        // when
        let head = spool.head();

        // then
        match head {
            Head::Corrupt { path, rows, reason, moved_to } => {
                assert_eq!(path, first);
                assert_eq!(rows, 4);
                assert!(reason.contains("not a whole Arrow IPC file"), "{reason}");
                assert_eq!(moved_to, Some(dir.path().join("00000000000000000000-4.arrow.bad")));
            }
            other => panic!("expected a corrupt head, got {other:?}"),
        }
        assert_eq!(spool.batches(), 1);
        assert_eq!(drain(&mut spool), [vec![2]]);
        assert_eq!(names(dir.path()), ["00000000000000000000-4.arrow.bad"]);
    }

    #[test]
    fn a_file_with_other_columns_is_corrupt_for_this_version() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let schema = arrow_schema::Schema::new(vec![arrow_schema::Field::new(
            "bytes",
            arrow_schema::DataType::UInt64,
            false,
        )]);
        let other = RecordBatch::try_new(
            std::sync::Arc::new(schema),
            vec![std::sync::Arc::new(UInt64Array::from(vec![1u64]))],
        )
        .unwrap();
        fs::write(dir.path().join("00000000000000000007-1.arrow"), encode(&other).unwrap())
            .unwrap();
        let mut spool = Spool::open(dir.path(), u64::MAX).unwrap();

        // when
        let head = spool.head();

        // then
        assert!(
            matches!(head, Head::Corrupt { rows: 1, ref reason, .. } if reason.contains("columns")),
            "{head:?}"
        );
        assert!(spool.is_empty());
    }

    #[test]
    fn an_unfinished_file_is_removed_and_its_name_is_not_reused() {
        // given
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("00000000000000000004-9.arrow.tmp"), b"half a batch").unwrap();
        fs::write(dir.path().join("00000000000000000002-1.arrow.bad"), b"kept").unwrap();

        // when
        let mut spool = Spool::open(dir.path(), u64::MAX).unwrap();
        spool.append(&batch(1, 1)).unwrap();

        // then
        assert_eq!(
            names(dir.path()),
            ["00000000000000000002-1.arrow.bad", "00000000000000000005-1.arrow"]
        );
    }
}
