//! The data directory's lock and the note a running server leaves in it.
//!
//! The embedded engine admits one process per data directory. flowsage takes
//! an advisory lock on `flowsage.lock` there before opening the engine, so a
//! second process gets a clear answer instead of an engine error; a running
//! `flowsage serve` also writes `serve.json` (its MCP URL and a token of its
//! own, readable by the owner only) so `flowsage mcp` can forward to it.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

const LOCK_FILE: &str = "flowsage.lock";
const SERVE_FILE: &str = "serve.json";

/// What a running server tells local clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServeNote {
    pub pid: u32,
    pub mcp_url: String,
    pub token: String,
}

/// The held lock of a data directory; released when dropped.
pub struct DataLock {
    _file: File,
    dir: PathBuf,
}

/// Tries to lock `dir` for `role` (what this process is, in words an
/// operator recognises); `Ok(None)` when another process holds it, which
/// [`holder`] then describes.
pub fn lock_data_dir(dir: &Path, role: &str) -> anyhow::Result<Option<DataLock>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("in creating the data directory {}", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("in opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {
            use std::io::Write;
            file.set_len(0)?;
            write!(file, "{role} (pid {})", std::process::id())?;
            Ok(Some(DataLock { _file: file, dir: dir.to_path_buf() }))
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(err)) => {
            Err(err).with_context(|| format!("in locking {}", path.display()))
        }
    }
}

impl DataLock {
    /// Leaves the note for local clients, readable by the owner only.
    pub fn write_note(&self, note: &ServeNote) -> anyhow::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(SERVE_FILE);
        let tmp = self.dir.join(format!("{SERVE_FILE}.tmp"));
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("in writing {}", tmp.display()))?;
        serde_json::to_writer_pretty(&mut file, note)?;
        std::fs::rename(&tmp, &path).with_context(|| format!("in writing {}", path.display()))?;
        Ok(())
    }

    pub fn remove_note(&self) {
        let _ = std::fs::remove_file(self.dir.join(SERVE_FILE));
    }
}

/// Who holds `dir`, as the holder wrote it, e.g. "flowsage serve (pid 7)".
pub fn holder(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// The note of the server holding `dir`, if it left one.
pub fn read_note(dir: &Path) -> Option<ServeNote> {
    let mut text = String::new();
    File::open(dir.join(SERVE_FILE)).ok()?.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// A random token for the server's own local clients.
pub fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 24];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("in reading /dev/urandom for a token")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        // given
        let dir = tempfile::tempdir().unwrap();
        let first = lock_data_dir(dir.path(), "flowsage serve").unwrap();

        // when
        let second = lock_data_dir(dir.path(), "flowsage mcp").unwrap();

        // then
        assert!(first.is_some());
        assert!(second.is_none());
        let expected = format!("flowsage serve (pid {})", std::process::id());
        assert_eq!(holder(dir.path()), Some(expected));
        drop(first);
        assert!(lock_data_dir(dir.path(), "flowsage mcp").unwrap().is_some());
    }

    #[test]
    fn the_note_round_trips_and_is_private() {
        // given
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let lock = lock_data_dir(dir.path(), "flowsage serve").unwrap().unwrap();
        let note = ServeNote {
            pid: 7,
            mcp_url: "http://127.0.0.1:1/mcp".into(),
            token: random_token().unwrap(),
        };

        // when
        lock.write_note(&note).unwrap();

        // then
        assert_eq!(read_note(dir.path()), Some(note));
        let mode = std::fs::metadata(dir.path().join(SERVE_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
