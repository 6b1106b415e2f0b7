//! Durability: a data directory that holds a lock, the write-ahead log,
//! run files and the manifest that lists them, the cursor MAC key and the
//! database id, and the recovery that rebuilds a [`Store`](crate::Store)
//! from them on open.
//!
//! This module owns bytes on disk and when they reach it; it never decides
//! what a mutation means (the store applies it) and never reads queries.
//! The formats and promises are written down in `docs/durability.md`.

mod checkpoint;
mod engine;
mod files;
mod generation;
mod handle;
pub mod layer;
mod manifest;
mod mutation;
mod recovery;
mod run_file;
mod snapshot;
mod wal;
mod wal_reader;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use files::lock_holder;
pub use handle::DurableStore;

/// Default WAL size that triggers an automatic checkpoint: 64 MiB.
pub const DEFAULT_CHECKPOINT_WAL_BYTES: u64 = 64 << 20;

/// When the log is forced to stable storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// A commit returns only after its record is fsynced. Concurrent
    /// committers share one fsync (group commit).
    #[default]
    Always,
    /// A commit returns once its record is handed to the operating system;
    /// a background thread fsyncs every interval (at least 1 ms).
    Periodic(Duration),
    /// A commit returns once its record is handed to the operating system;
    /// the log is fsynced only by checkpoints and `close`.
    Never,
}

/// How a data directory is opened.
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    pub sync: SyncMode,
    /// WAL bytes after which a commit triggers a checkpoint; 0 disables
    /// automatic checkpoints.
    pub checkpoint_wal_bytes: u64,
    /// Open a damaged directory by dropping what follows the damage (and
    /// report it) instead of failing with `StoreError::Corrupted`.
    pub repair: bool,
    /// Use this cursor MAC key instead of the one in the directory.
    pub mac_key: Option<[u8; 32]>,
    /// The in-memory layout's tuning (memtable size, back-pressure,
    /// snapshot retention).
    pub store: crate::maintenance::StoreOptions,
    /// How long to wait for a lock another opener holds before
    /// `StoreError::Locked` (default zero: refuse at once).
    pub busy_timeout: Duration,
    /// What durable writes go through (tests stand in for the disk).
    pub files: Files,
}

/// The file layer a directory is written through (`RealFiles` unless a
/// test gives its own). Options compare it by identity.
#[derive(Clone)]
pub struct Files(pub std::sync::Arc<dyn layer::FileLayer>);

impl Default for Files {
    fn default() -> Self {
        Files(std::sync::Arc::new(layer::RealFiles))
    }
}

impl PartialEq for Files {
    fn eq(&self, other: &Files) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Files {}

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sync: SyncMode::Always,
            checkpoint_wal_bytes: DEFAULT_CHECKPOINT_WAL_BYTES,
            repair: false,
            mac_key: None,
            store: crate::maintenance::StoreOptions::default(),
            busy_timeout: Duration::ZERO,
            files: Files::default(),
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("sync", &self.sync)
            .field("checkpoint_wal_bytes", &self.checkpoint_wal_bytes)
            .field("repair", &self.repair)
            .field("mac_key", &self.mac_key.map(|_| "<redacted>"))
            .field("store", &self.store)
            .field("busy_timeout", &self.busy_timeout)
            .field("files", &self.files)
            .finish()
    }
}

/// What recovery found and did when a directory was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The directory had no database in it; the key and id were created.
    pub created: bool,
    /// The sequence number of the generation recovery started from (a
    /// manifest, or a snapshot written by an older version), if any.
    pub snapshot_seq: Option<u64>,
    /// The manifest recovery started from, if any.
    pub manifest: Option<PathBuf>,
    /// Run files loaded (in bulk, no per-row inserts).
    pub runs_loaded: usize,
    /// Versions those run files held.
    pub versions_loaded: u64,
    /// WAL records applied on top of the snapshot.
    pub records_replayed: u64,
    /// WAL files read.
    pub wal_files: usize,
    /// The sequence number of the last recovered commit.
    pub last_seq: u64,
    /// An incomplete last record that was cut off (never acknowledged
    /// under `SyncMode::Always`).
    pub torn_tail: Option<TornTail>,
    /// Damage before the tail that `Options::repair` cut off.
    pub repaired: Option<Repair>,
    /// Generations (manifests, or snapshots of older versions) that could
    /// not be used and were set aside (renamed to `*.corrupt`) because
    /// `Options::repair` allowed an older start point: the file named is
    /// the manifest or snapshot, the reason names the damaged file and
    /// offset.
    pub skipped_snapshots: Vec<SkippedSnapshot>,
    /// Files left behind by an interrupted checkpoint and removed.
    pub stale_files_removed: Vec<PathBuf>,
    /// Key or id files that were missing and made anew because
    /// `Options::repair` allowed it (outstanding cursors no longer verify).
    pub recreated: Vec<PathBuf>,
}

/// A torn last record, cut off on open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub file: PathBuf,
    /// Where the WAL file now ends.
    pub offset: u64,
    pub bytes_dropped: u64,
}

/// Damage before the tail, cut off because `Options::repair` was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    pub file: PathBuf,
    /// Where the first damaged record starts; the file now ends there.
    pub offset: u64,
    pub reason: String,
    /// Bytes cut from `file` plus the sizes of `files_dropped`.
    pub bytes_dropped: u64,
    /// Intact records found in what was dropped (they could not be applied
    /// after the gap the damage leaves).
    pub records_dropped: u64,
    /// Later WAL files removed because they followed the damage.
    pub files_dropped: Vec<PathBuf>,
}

impl RecoveryReport {
    /// Whether recovery dropped or set aside anything: a torn tail, a
    /// repair, or a skipped generation. The CLI prints the report then.
    pub fn lost_anything(&self) -> bool {
        self.torn_tail.is_some()
            || self.repaired.is_some()
            || !self.skipped_snapshots.is_empty()
            || !self.recreated.is_empty()
    }
}

/// A generation recovery could not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedSnapshot {
    pub file: PathBuf,
    pub seq: u64,
    pub reason: String,
}

/// What a checkpoint wrote and removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// The WAL position the new manifest covers: its last commit.
    pub seq: u64,
    pub manifest: PathBuf,
    /// Bytes of run files written (sources that had no file yet).
    pub bytes: u64,
    /// Run files written.
    pub runs_written: u64,
    /// Run files the manifest names (written now or reused).
    pub run_files: usize,
    /// Files removed after the manifest was durable: run files of neither
    /// it nor the previous manifest, older manifests, and WAL files before
    /// the previous manifest's position.
    pub removed: Vec<PathBuf>,
}
