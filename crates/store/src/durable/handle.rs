//! [`DurableStore`]: an open data directory. Opening takes the lock, loads
//! or creates the key and id, recovers, and attaches the WAL to the store;
//! closing (or dropping) flushes, fsyncs, stops the syncer and releases the
//! lock. It owns the directory's lifetime, not the formats inside it.

use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::engine::Engine;
use super::files::{self, Identity, ID_FILE};
use super::recovery::recover;
use super::wal::{create_wal_file, WalWriter, WAL_MAGIC};
use super::{CheckpointInfo, Options, RecoveryReport, SyncMode};
use crate::error::{Result, StoreError};
use crate::store::{CommitLog, Store};

/// A store kept in a data directory: every commit goes through its WAL.
pub struct DurableStore {
    dir: PathBuf,
    store: Arc<Store>,
    engine: Arc<Engine>,
    syncer: Option<JoinHandle<()>>,
    checkpointer: Option<JoinHandle<()>>,
    /// Held (locked) while open; `None` once closed.
    lock: Option<File>,
    identity: Identity,
}

impl fmt::Debug for DurableStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableStore")
            .field("dir", &self.dir)
            .field("engine", &self.engine)
            .field("open", &self.lock.is_some())
            .finish_non_exhaustive()
    }
}

/// Whether `dir` (listed as `listing`) holds a database whose creation
/// never finished: no database id (written last), no manifest or
/// snapshot, and no log file holding a record. Such a directory has never
/// acknowledged a commit, so it is created afresh.
fn creation_unfinished(dir: &Path, listing: &files::Listing) -> Result<bool> {
    if dir.join(ID_FILE).exists() || !listing.manifests.is_empty() || !listing.snapshots.is_empty()
    {
        return Ok(false);
    }
    for (_, path) in &listing.wals {
        let len = fs::metadata(path)
            .map_err(|e| StoreError::io(path, e))?
            .len();
        if len > WAL_MAGIC.len() as u64 {
            return Ok(false);
        }
    }
    Ok(true)
}

impl DurableStore {
    /// Opens (creating it if missing) the data directory `dir` and recovers
    /// its state. A directory open elsewhere gives `StoreError::Locked`;
    /// damage before the WAL's tail gives `StoreError::Corrupted` unless
    /// `options.repair` is set. The report says what recovery did.
    pub fn open(dir: &Path, options: Options) -> Result<(DurableStore, RecoveryReport)> {
        fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        let lock = files::acquire_lock(dir, options.busy_timeout)?;
        let mut listing = files::list(dir)?;
        let layer = options.files.0.clone();
        let created = creation_unfinished(dir, &listing)?;
        if created {
            // A new database's log is made before its identity files, and
            // the database id is written last: a directory without it whose
            // files hold no commit is a creation a crash cut short (no
            // commit was ever acknowledged), not a database that lost its
            // log. Log files left by such a creation hold no record.
            for (_, path) in &listing.wals {
                layer.remove(path).map_err(|e| StoreError::io(path, e))?;
            }
            create_wal_file(&*layer, dir, 0)?;
            listing = files::list(dir)?;
        }
        let (mut identity, recreated) = files::load_or_create_identity(
            &*layer,
            dir,
            created,
            options.repair,
            options.mac_key.is_none(),
        )?;
        if let Some(key) = options.mac_key {
            identity.mac_key = key;
        }
        let recovered = recover(&*layer, dir, &listing, options.repair, &options.store)?;
        let mut report = recovered.report;
        report.created = created;
        report.recreated = recreated;
        let wal = match recovered.active {
            Some((path, start, len)) => {
                WalWriter::resume(layer.clone(), dir, path, start, len, recovered.last_seq)?
            }
            None => WalWriter::create(layer.clone(), dir, recovered.last_seq)?,
        };
        let store = recovered.store;
        let engine = Arc::new(Engine::new(
            dir,
            options.sync,
            options.checkpoint_wal_bytes,
            wal,
            &store,
            Arc::new(recovered.files),
            layer,
        ));
        store.attach_log(engine.clone() as Arc<dyn CommitLog>, recovered.last_seq);
        let observer: Arc<dyn crate::maintenance::FlushObserver> = engine.files.clone();
        store.observe_flushes(Arc::downgrade(&observer));
        let checkpointer = {
            let engine = engine.clone();
            thread::Builder::new()
                .name("keyset-checkpoint".into())
                .spawn(move || engine.run_checkpointer())
                .map_err(|e| StoreError::io(dir, e))?
        };
        let syncer = match options.sync {
            SyncMode::Periodic(interval) => {
                let engine = engine.clone();
                let handle = thread::Builder::new()
                    .name("keyset-wal-sync".into())
                    .spawn(move || engine.run_syncer(interval))
                    .map_err(|e| StoreError::io(dir, e))?;
                Some(handle)
            }
            SyncMode::Always | SyncMode::Never => None,
        };
        let durable = DurableStore {
            dir: dir.to_path_buf(),
            store,
            engine,
            syncer,
            checkpointer: Some(checkpointer),
            lock: Some(lock),
            identity,
        };
        Ok((durable, report))
    }

    /// The store; commits through it are logged as the sync mode says.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Flushes now: cuts the store at its last commit, writes a run file
    /// for every source that has none and a manifest naming them, starts a
    /// new WAL file, and removes what the previous generation no longer
    /// needs once the manifest is durable.
    pub fn checkpoint(&self) -> Result<CheckpointInfo> {
        self.engine.checkpoint()
    }

    /// Why the last checkpoint (manual or automatic) failed, if it did.
    pub fn last_checkpoint_error(&self) -> Option<String> {
        self.engine.last_checkpoint_error()
    }

    /// The random id made with the directory (cursors carry it).
    pub fn database_id(&self) -> [u8; 8] {
        self.identity.database_id
    }

    /// The cursor MAC key: `Options::mac_key` if given, else the directory's.
    pub fn mac_key(&self) -> [u8; 32] {
        self.identity.mac_key
    }

    /// How many times a WAL file has been fsynced since open.
    pub fn wal_fsyncs(&self) -> u64 {
        self.engine.wal.fsync_count()
    }

    /// Bytes in the current WAL file.
    pub fn wal_bytes(&self) -> u64 {
        self.engine.wal.len()
    }

    /// Flushes and fsyncs the WAL (in every sync mode), stops the syncer and
    /// releases the lock. Later commits through a kept `Arc<Store>` fail.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        let Some(lock) = self.lock.take() else {
            return Ok(());
        };
        self.engine.stop_syncer();
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
        if let Some(checkpointer) = self.checkpointer.take() {
            let _ = checkpointer.join();
        }
        let result = self.engine.close();
        drop(lock);
        result
    }
}

impl Drop for DurableStore {
    /// Best effort: what `close` does, with errors ignored.
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
