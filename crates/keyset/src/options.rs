//! How a database is opened: durability settings for a data directory,
//! cursor keys, and executor tuning.

use std::fmt;
use std::time::Duration;

pub use keyset_executor::ExecOptions;
pub use keyset_store::durable::SyncMode;
pub use keyset_store::{Retention, StoreOptions};

/// Options for [`crate::Db::open_with`] (and, for the executor settings,
/// [`crate::Db::memory_with`]).
#[derive(Clone, Default)]
pub struct Options {
    /// When commits are forced to disk (default `SyncMode::Always`).
    pub sync: SyncMode,
    /// WAL bytes after which a checkpoint is written automatically
    /// (`None`: the store's default of 64 MiB; `Some(0)`: never).
    pub checkpoint_wal_bytes: Option<u64>,
    /// Open a damaged directory by cutting the log at the damage (reported
    /// in [`crate::Db::recovery_report`]) instead of failing.
    pub repair: bool,
    /// The cursor MAC key; by default the one kept in the data directory.
    pub mac_key: Option<[u8; 32]>,
    /// Older MAC keys whose cursors are still accepted (key rotation).
    pub accepted_mac_keys: Vec<[u8; 32]>,
    /// Executor tuning (chunk length, sort-buffer bound).
    pub exec: ExecOptions,
    /// The store's tuning: memtable size, back-pressure, and how long and
    /// how many snapshots are kept (`Db::snapshot`).
    pub store: StoreOptions,
    /// How long to wait for a data directory another opener holds before
    /// [`crate::Error::Locked`] (default zero: refuse at once, as SQLite).
    pub busy_timeout: Duration,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("sync", &self.sync)
            .field("checkpoint_wal_bytes", &self.checkpoint_wal_bytes)
            .field("repair", &self.repair)
            .field("mac_key", &self.mac_key.map(|_| "<redacted>"))
            .field("accepted_mac_keys", &self.accepted_mac_keys.len())
            .field("exec", &self.exec)
            .field("store", &self.store)
            .field("busy_timeout", &self.busy_timeout)
            .finish()
    }
}
