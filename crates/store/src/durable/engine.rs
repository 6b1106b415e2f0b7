//! The engine behind an open directory: the store's [`CommitLog`] (append,
//! then wait as the sync mode says), checkpoints (manual, and by WAL size
//! on the background checkpointer thread, never on a commit's thread), and
//! the periodic syncer's loop.
//!
//! What a checkpoint writes and removes is `checkpoint.rs`. The engine
//! holds the store weakly: the store holds the engine.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, TryLockError, Weak};
use std::time::Duration;

use super::checkpoint::{self, FileRegistry};
use super::layer::FileLayer;
use super::mutation::encode_mutation;
use super::wal::WalWriter;
use super::{CheckpointInfo, SyncMode};
use crate::error::{Result, StoreError};
use crate::store::{CommitLog, Mutation, Store};

/// Shortest interval the periodic syncer sleeps.
const MIN_SYNC_INTERVAL: Duration = Duration::from_millis(1);

#[derive(Debug, Default)]
struct CheckpointState {
    /// After a failed automatic checkpoint, the WAL size to retry at.
    retry_at_bytes: u64,
    last_error: Option<String>,
}

pub(crate) struct Engine {
    dir: PathBuf,
    sync: SyncMode,
    checkpoint_wal_bytes: u64,
    pub(crate) wal: WalWriter,
    store: Weak<Store>,
    checkpoint: Mutex<CheckpointState>,
    pub(crate) files: Arc<FileRegistry>,
    layer: Arc<dyn FileLayer>,
    stopped: Mutex<bool>,
    stop_signal: Condvar,
    /// Set when the WAL passes the threshold; the checkpointer clears it.
    wanted: Mutex<bool>,
    wanted_signal: Condvar,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("dir", &self.dir)
            .field("sync", &self.sync)
            .field("wal", &self.wal)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Engine {
    pub(crate) fn new(
        dir: &Path,
        sync: SyncMode,
        checkpoint_wal_bytes: u64,
        wal: WalWriter,
        store: &Arc<Store>,
        files: Arc<FileRegistry>,
        layer: Arc<dyn FileLayer>,
    ) -> Engine {
        Engine {
            dir: dir.to_path_buf(),
            sync,
            checkpoint_wal_bytes,
            wal,
            store: Arc::downgrade(store),
            checkpoint: Mutex::new(CheckpointState::default()),
            files,
            layer,
            stopped: Mutex::new(false),
            stop_signal: Condvar::new(),
            wanted: Mutex::new(false),
            wanted_signal: Condvar::new(),
        }
    }

    /// Writes a snapshot of the current state and cuts the log there.
    pub(crate) fn checkpoint(&self) -> Result<CheckpointInfo> {
        let mut state = lock(&self.checkpoint);
        let result = self.checkpoint_locked();
        state.last_error = result.as_ref().err().map(ToString::to_string);
        result
    }

    /// The error of the last checkpoint, if it failed.
    pub(crate) fn last_checkpoint_error(&self) -> Option<String> {
        lock(&self.checkpoint).last_error.clone()
    }

    fn checkpoint_locked(&self) -> Result<CheckpointInfo> {
        let store = self.store.upgrade().ok_or_else(|| {
            StoreError::io(
                &self.dir,
                std::io::Error::other("the store was dropped; nothing to checkpoint"),
            )
        })?;
        checkpoint::checkpoint(&*self.layer, &self.dir, &store, &self.files, |seq| {
            self.wal.rotate(seq)
        })
    }

    /// Asks the checkpointer for a checkpoint if the WAL has passed the
    /// threshold. Called after a commit's wait; never waits itself.
    fn request_checkpoint(&self) {
        if self.checkpoint_wal_bytes == 0 || self.wal.len() < self.checkpoint_wal_bytes {
            return;
        }
        *lock(&self.wanted) = true;
        self.wanted_signal.notify_all();
    }

    /// The checkpointer: runs a requested checkpoint until stopped.
    pub(crate) fn run_checkpointer(&self) {
        loop {
            {
                let mut wanted = lock(&self.wanted);
                while !*wanted {
                    if *lock(&self.stopped) {
                        return;
                    }
                    wanted = self
                        .wanted_signal
                        .wait_timeout(wanted, Duration::from_millis(100))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                *wanted = false;
            }
            if *lock(&self.stopped) {
                return;
            }
            self.maybe_checkpoint();
        }
    }

    /// Runs a checkpoint if the WAL has passed the threshold and none is
    /// running. A failure does not fail any commit (they are durable
    /// already); it is kept for `last_checkpoint_error` and retried one
    /// threshold later.
    fn maybe_checkpoint(&self) {
        if self.checkpoint_wal_bytes == 0 {
            return;
        }
        let len = self.wal.len();
        if len < self.checkpoint_wal_bytes {
            return;
        }
        let mut state = match self.checkpoint.try_lock() {
            Ok(state) => state,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if len < state.retry_at_bytes || self.wal.len() < self.checkpoint_wal_bytes {
            return;
        }
        match self.checkpoint_locked() {
            Ok(_) => *state = CheckpointState::default(),
            Err(e) => {
                state.last_error = Some(e.to_string());
                state.retry_at_bytes = len.saturating_add(self.checkpoint_wal_bytes);
            }
        }
    }

    /// The periodic syncer: fsyncs every `interval` until stopped. A failed
    /// fsync is kept by the WAL and fails the next commit.
    pub(crate) fn run_syncer(&self, interval: Duration) {
        let interval = interval.max(MIN_SYNC_INTERVAL);
        let mut stopped = lock(&self.stopped);
        while !*stopped {
            stopped = self
                .stop_signal
                .wait_timeout(stopped, interval)
                .unwrap_or_else(|e| e.into_inner())
                .0;
            if *stopped {
                break;
            }
            drop(stopped);
            let _ = self.wal.sync_all_appended();
            stopped = lock(&self.stopped);
        }
    }

    /// Makes `run_syncer` and `run_checkpointer` return.
    pub(crate) fn stop_syncer(&self) {
        *lock(&self.stopped) = true;
        self.stop_signal.notify_all();
        let _wanted = lock(&self.wanted);
        self.wanted_signal.notify_all();
    }

    /// Waits for a running checkpoint to finish, then flushes, fsyncs and
    /// closes the log: nothing writes to the directory after this returns,
    /// so its lock can be released.
    pub(crate) fn close(&self) -> Result<()> {
        let _checkpoint = lock(&self.checkpoint);
        self.wal.close()
    }
}

impl CommitLog for Engine {
    fn append(&self, seq: u64, mutation: &Mutation) -> Result<()> {
        self.wal
            .append_with(seq, |out| encode_mutation(mutation, out))
    }

    fn wait_durable(&self, seq: u64) -> Result<()> {
        match self.sync {
            SyncMode::Always => self.wal.sync_to(seq)?,
            SyncMode::Periodic(_) | SyncMode::Never => self.wal.flush_to(seq)?,
        }
        self.request_checkpoint();
        Ok(())
    }
}
