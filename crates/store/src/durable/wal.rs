//! The WAL writer: record framing, appends under the commit lock, group
//! commit (one fsync shared by every committer waiting when it starts),
//! and the cut to a new file at a checkpoint.
//!
//! It never decodes records or decides when to checkpoint; a failed write
//! or fsync makes it refuse all later work until the directory is reopened.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::files::{self, wal_path};
#[cfg(test)]
use super::layer::RealFiles;
use super::layer::{FileLayer, OpenMode};
use crate::error::{Result, StoreError};

/// The first bytes of every WAL file.
pub(crate) const WAL_MAGIC: [u8; 8] = *b"KSWAL\0\0\x01";
/// `[len u32][crc32c u32][seq u64]`, little-endian.
pub(crate) const RECORD_HEADER_LEN: usize = 16;
/// Largest record payload; a bigger mutation is refused before it is written.
pub(crate) const MAX_RECORD_BYTES: usize = 1 << 30;
const WRITE_BUFFER_BYTES: usize = 1 << 16;

/// The CRC-32C of a record: over its length field, its sequence number
/// field and its payload, in that order (everything but the CRC itself).
pub(crate) fn record_crc(len: u32, seq: u64, payload: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&len.to_le_bytes());
    let crc = crc32c::crc32c_append(crc, &seq.to_le_bytes());
    crc32c::crc32c_append(crc, payload)
}

/// The WAL file being appended to.
#[derive(Debug)]
struct WalFile {
    writer: BufWriter<File>,
    /// A second handle on the same file, fsynced without the state lock.
    sync: Arc<File>,
    path: PathBuf,
    start: u64,
    len: u64,
}

impl WalFile {
    fn new(file: File, path: PathBuf, start: u64, len: u64) -> io::Result<WalFile> {
        let sync = Arc::new(file.try_clone()?);
        Ok(WalFile {
            writer: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            sync,
            path,
            start,
            len,
        })
    }
}

/// A write or fsync that failed; every later call reports it.
#[derive(Debug)]
struct Failure {
    path: PathBuf,
    kind: io::ErrorKind,
    message: String,
}

#[derive(Debug)]
struct WalState {
    /// `None` once closed.
    file: Option<WalFile>,
    /// Last sequence number appended (possibly still in the buffer).
    appended: u64,
    /// Last sequence number handed to the operating system.
    written: u64,
    /// Last sequence number fsynced.
    durable: u64,
    /// An fsync is running outside the lock.
    syncing: bool,
    failure: Option<Failure>,
}

/// Appends records and makes them durable.
#[derive(Debug)]
pub(crate) struct WalWriter {
    layer: Arc<dyn FileLayer>,
    dir: PathBuf,
    state: Mutex<WalState>,
    synced: Condvar,
    fsyncs: AtomicU64,
}

fn closed_error(dir: &Path) -> StoreError {
    StoreError::io(
        dir,
        io::Error::other("the data directory was closed; reopen it to write"),
    )
}

impl WalState {
    fn check(&self, dir: &Path) -> Result<&WalFile> {
        if let Some(f) = &self.failure {
            return Err(StoreError::io(
                &f.path,
                io::Error::new(
                    f.kind,
                    format!(
                        "an earlier write to the log failed ({}); reopen the directory to recover",
                        f.message
                    ),
                ),
            ));
        }
        self.file.as_ref().ok_or_else(|| closed_error(dir))
    }

    fn fail(&mut self, path: &Path, error: io::Error) -> StoreError {
        self.failure = Some(Failure {
            path: path.to_path_buf(),
            kind: error.kind(),
            message: error.to_string(),
        });
        StoreError::io(path, error)
    }

    /// Hands every buffered record to the operating system.
    fn flush(&mut self, dir: &Path) -> Result<()> {
        self.check(dir)?;
        let Some(file) = self.file.as_mut() else {
            return Err(closed_error(dir));
        };
        if let Err(e) = file.writer.flush() {
            let path = file.path.clone();
            return Err(self.fail(&path, e));
        }
        self.written = self.appended;
        Ok(())
    }
}

/// Creates `wal-<start>.log` with its header, durable with its directory entry.
pub(crate) fn create_wal_file(
    layer: &dyn FileLayer,
    dir: &Path,
    start: u64,
) -> Result<(File, PathBuf)> {
    let path = wal_path(dir, start);
    let mut file = layer
        .open(&path, OpenMode::CreateNew, false)
        .map_err(|e| StoreError::io(&path, e))?;
    file.write_all(&WAL_MAGIC)
        .and_then(|()| layer.sync(&file, &path))
        .map_err(|e| StoreError::io(&path, e))?;
    files::sync_dir(layer, dir)?;
    Ok((file, path))
}

impl WalWriter {
    /// Continues the WAL file `path` (records `start + 1 ..`), whose intact
    /// part is `len` bytes long and ends with record `last_seq`. A file too
    /// short to hold its header gets a fresh one.
    pub(crate) fn resume(
        layer: Arc<dyn FileLayer>,
        dir: &Path,
        path: PathBuf,
        start: u64,
        len: u64,
        last_seq: u64,
    ) -> Result<WalWriter> {
        let mut len = len;
        if len < WAL_MAGIC.len() as u64 {
            layer
                .truncate(&path, 0)
                .map_err(|e| StoreError::io(&path, e))?;
        }
        let mut file = layer
            .open(&path, OpenMode::Append, false)
            .map_err(|e| StoreError::io(&path, e))?;
        if len < WAL_MAGIC.len() as u64 {
            file.write_all(&WAL_MAGIC)
                .and_then(|()| layer.sync(&file, &path))
                .map_err(|e| StoreError::io(&path, e))?;
            len = WAL_MAGIC.len() as u64;
        }
        let wal =
            WalFile::new(file, path.clone(), start, len).map_err(|e| StoreError::io(&path, e))?;
        Ok(WalWriter::with_file(layer, dir, wal, last_seq))
    }

    /// Starts a new, empty WAL file after commit `start`.
    pub(crate) fn create(layer: Arc<dyn FileLayer>, dir: &Path, start: u64) -> Result<WalWriter> {
        let (file, path) = create_wal_file(&*layer, dir, start)?;
        let wal = WalFile::new(file, path.clone(), start, WAL_MAGIC.len() as u64)
            .map_err(|e| StoreError::io(&path, e))?;
        Ok(WalWriter::with_file(layer, dir, wal, start))
    }

    fn with_file(layer: Arc<dyn FileLayer>, dir: &Path, file: WalFile, last_seq: u64) -> WalWriter {
        WalWriter {
            layer,
            dir: dir.to_path_buf(),
            state: Mutex::new(WalState {
                file: Some(file),
                appended: last_seq,
                written: last_seq,
                durable: last_seq,
                syncing: false,
                failure: None,
            }),
            synced: Condvar::new(),
            fsyncs: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fsyncs of WAL files so far (commits, periodic syncs, cuts, close).
    pub(crate) fn fsync_count(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// Bytes in the current WAL file, buffered ones included.
    pub(crate) fn len(&self) -> u64 {
        self.lock().file.as_ref().map_or(0, |f| f.len)
    }

    /// Appends record `seq`, whose payload `encode` writes, to the buffer
    /// (which may pass it on to the file). Called under the store's commit
    /// lock; the payload is encoded before the WAL's own lock is taken.
    pub(crate) fn append_with(&self, seq: u64, encode: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let mut record = vec![0u8; RECORD_HEADER_LEN];
        encode(&mut record);
        let payload_len = record.len() - RECORD_HEADER_LEN;
        let len = u32::try_from(payload_len)
            .ok()
            .filter(|&l| l as usize <= MAX_RECORD_BYTES)
            .ok_or_else(|| {
                StoreError::io(
                    &self.dir,
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "a commit encodes to {payload_len} bytes, over the log's record limit of {MAX_RECORD_BYTES}; split the batch"
                        ),
                    ),
                )
            })?;
        let crc = record_crc(len, seq, &record[RECORD_HEADER_LEN..]);
        record[0..4].copy_from_slice(&len.to_le_bytes());
        record[4..8].copy_from_slice(&crc.to_le_bytes());
        record[8..16].copy_from_slice(&seq.to_le_bytes());

        let mut state = self.lock();
        state.check(&self.dir)?;
        let Some(file) = state.file.as_mut() else {
            return Err(closed_error(&self.dir));
        };
        if let Err(e) = file.writer.write_all(&record) {
            let path = file.path.clone();
            return Err(state.fail(&path, e));
        }
        file.len += record.len() as u64;
        state.appended = seq;
        Ok(())
    }

    /// Returns once record `seq` has been handed to the operating system.
    pub(crate) fn flush_to(&self, seq: u64) -> Result<()> {
        let mut state = self.lock();
        if state.written >= seq {
            return Ok(());
        }
        state.flush(&self.dir)
    }

    /// Returns once record `seq` is fsynced. The first waiter to find no
    /// fsync running flushes the buffer and fsyncs for every record
    /// appended so far; the others wait and re-check (group commit).
    pub(crate) fn sync_to(&self, seq: u64) -> Result<()> {
        let mut state = self.lock();
        loop {
            if state.durable >= seq {
                return Ok(());
            }
            state.check(&self.dir)?;
            if state.syncing {
                state = self.synced.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.flush(&self.dir)?;
            let covered = state.written;
            let Some(file) = state.file.as_ref() else {
                return Err(closed_error(&self.dir));
            };
            let (handle, path) = (file.sync.clone(), file.path.clone());
            state.syncing = true;
            drop(state);
            let result = self.layer.sync(&handle, &path);
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            state = self.lock();
            state.syncing = false;
            self.synced.notify_all();
            match result {
                Ok(()) => state.durable = state.durable.max(covered),
                Err(e) => return Err(state.fail(&path, e)),
            }
        }
    }

    /// Fsyncs everything appended so far (the periodic syncer's tick).
    pub(crate) fn sync_all_appended(&self) -> Result<()> {
        let target = self.lock().appended;
        self.sync_to(target)
    }

    /// Flushes and fsyncs the current file under the lock.
    fn sync_locked(&self, state: &mut WalState) -> Result<()> {
        state.flush(&self.dir)?;
        let Some(file) = state.file.as_ref() else {
            return Err(closed_error(&self.dir));
        };
        let (handle, path) = (file.sync.clone(), file.path.clone());
        let result = self.layer.sync(&handle, &path);
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = result {
            return Err(state.fail(&path, e));
        }
        state.durable = state.appended;
        self.synced.notify_all();
        Ok(())
    }

    /// Cuts the log at commit `start`: fsyncs the current file and starts
    /// `wal-<start>.log`. Called with writers paused, so `start` is the last
    /// appended record. Nothing to do if the current file starts there.
    pub(crate) fn rotate(&self, start: u64) -> Result<()> {
        let mut state = self.lock();
        if state.check(&self.dir)?.start == start {
            return Ok(());
        }
        debug_assert_eq!(state.appended, start, "the log is cut with writers paused");
        self.sync_locked(&mut state)?;
        // A half-made new file next to a log that keeps growing would break
        // the chain, so a failure here stops all writing until reopen.
        let path = wal_path(&self.dir, start);
        let wal = create_wal_file(&*self.layer, &self.dir, start).and_then(|(file, path)| {
            WalFile::new(file, path.clone(), start, WAL_MAGIC.len() as u64)
                .map_err(|e| StoreError::io(&path, e))
        });
        match wal {
            Ok(wal) => {
                state.file = Some(wal);
                Ok(())
            }
            Err(e) => {
                state.failure = Some(Failure {
                    path,
                    kind: io::ErrorKind::Other,
                    message: e.to_string(),
                });
                Err(e)
            }
        }
    }

    /// Flushes and fsyncs, then refuses every later append.
    pub(crate) fn close(&self) -> Result<()> {
        let mut state = self.lock();
        if state.file.is_none() {
            return Ok(());
        }
        let result = self.sync_locked(&mut state);
        state.file = None;
        self.synced.notify_all();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_fsync_covers_every_record_appended_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let wal = WalWriter::create(Arc::new(RealFiles), dir.path(), 0).unwrap();
        for seq in 1..=10 {
            wal.append_with(seq, |out| out.extend_from_slice(b"payload"))
                .unwrap();
        }
        wal.sync_to(10).unwrap();
        assert_eq!(wal.fsync_count(), 1);
        for seq in 1..=10 {
            wal.sync_to(seq).unwrap();
        }
        assert_eq!(wal.fsync_count(), 1, "covered records need no fsync");
        wal.append_with(11, |out| out.extend_from_slice(b"more"))
            .unwrap();
        wal.sync_to(11).unwrap();
        assert_eq!(wal.fsync_count(), 2);
    }

    #[test]
    fn a_closed_log_refuses_appends() {
        let dir = tempfile::tempdir().unwrap();
        let wal = WalWriter::create(Arc::new(RealFiles), dir.path(), 0).unwrap();
        wal.append_with(1, |out| out.push(b'x')).unwrap();
        wal.close().unwrap();
        wal.sync_to(1).unwrap();
        assert!(wal.append_with(2, |out| out.push(b'y')).is_err());
        let bytes = std::fs::read(wal_path(dir.path(), 0)).unwrap();
        assert_eq!(bytes.len(), WAL_MAGIC.len() + RECORD_HEADER_LEN + 1);
    }
}
