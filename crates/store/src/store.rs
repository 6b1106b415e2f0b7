//! The store: the commit path that gives every batch the next `seq`,
//! applies it to the maps and then publishes it, and the read views that
//! see whole batches only.
//!
//! Readers call [`Store::read`] and never take a lock: the view is one
//! `ArcSwap` load of the layout and the published `seq`. Writers are
//! serialized by the commit mutex; a batch is validated whole, handed to
//! the [`CommitLog`], inserted as versions at its `seq`, then published.
//! Memtables that pass their size are frozen on the commit path (a pointer
//! swap); building and merging runs happens on the background thread in
//! `maintenance`, which publishes its results under the same mutex.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use arc_swap::ArcSwap;

use crate::batch::{describe, validate, Batch, WriteOp};
use crate::catalog::{Catalog, IndexDef, IndexSpec, TableDef, TableSpec};
use crate::error::{Result, StoreError};
use crate::key::{IndexId, RawDataKey, TableId, MAX_KEY_BYTES};
use crate::lsm::{PinHandle, PinLost, PinRegistry, Seq, LATEST};
use crate::maintenance::{Maintenance, StoreOptions, StoreStats};
use crate::row::RowRef;
use crate::table::{MapId, TableStore};
use crate::value::Value;
use crate::view::Layout;
pub use crate::view::{ReadView, StoreState};

/// One committed change, in the form the WAL records and replay applies.
#[derive(Clone, Debug, PartialEq)]
pub enum Mutation {
    CreateTable(TableDef),
    DropTable { table: TableId },
    CreateIndex { table: TableId, index: IndexDef },
    DropIndex { table: TableId, index: IndexId },
    Write(Vec<WriteOp>),
}

/// Where committed mutations go before they are applied: the WAL.
pub trait CommitLog: Send + Sync + fmt::Debug {
    /// Records `mutation` as number `seq`. Called under the commit lock, in
    /// commit order, before the mutation is applied; an error aborts the
    /// commit with nothing applied.
    fn append(&self, seq: u64, mutation: &Mutation) -> Result<()>;
    /// Returns once record `seq` is as durable as the sync mode promises.
    /// Called after the commit lock is released, so that concurrent
    /// committers can share one sync (group commit).
    fn wait_durable(&self, seq: u64) -> Result<()>;
}

/// What a commit did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit's sequence number.
    pub seq: u64,
    /// Rows inserted or replaced.
    pub puts: usize,
    /// Rows that existed and were deleted.
    pub deletes: usize,
}

#[derive(Debug, Default)]
pub(crate) struct CommitState {
    seq: u64,
    log: Option<Arc<dyn CommitLog>>,
    poisoned: bool,
}

/// The parts of the store the background thread shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: ArcSwap<StoreState>,
    commit: Mutex<CommitState>,
    pub(crate) pins: Arc<PinRegistry>,
    pub(crate) maintenance: Maintenance,
}

/// The in-memory store with its commit pipeline.
#[derive(Debug)]
pub struct Store {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.shared.maintenance.stop();
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(worker) = worker {
            // A worker that panicked has nothing left to clean up.
            let _ = worker.join();
        }
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, CommitState> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way later commits depend on: versions of an unpublished
        // batch are invisible. Keep serving.
        self.commit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn read(&self) -> ReadView {
        self.state.load_full()
    }

    /// Publishes `layout` at `seq`. Callers hold the commit lock.
    pub(crate) fn publish(&self, layout: Arc<Layout>, seq: Seq) {
        self.state.store(Arc::new(StoreState {
            layout,
            seq,
            overlay: None,
            remote: None,
        }));
    }

    /// Replaces one map of one shard of one table with what `f` makes of
    /// it, if the table still exists; publishes at the current `seq`.
    /// Returns whether anything was replaced.
    pub(crate) fn replace_map(
        &self,
        table: TableId,
        shard: usize,
        map: MapId,
        f: impl FnOnce(&crate::table::RowMap) -> Option<crate::table::RowMap>,
    ) -> bool {
        let _guard = self.lock();
        let state = self.read();
        let Some(t) = state.layout.tables.get(&table) else {
            return false;
        };
        let Some(old) = t.shard(shard).and_then(|s| s.map(map)) else {
            return false;
        };
        let Some(new) = f(old) else {
            return false;
        };
        let shard_store = t.shard(shard).map(|s| s.with_map(map, new));
        let Some(shard_store) = shard_store else {
            return false;
        };
        let mut tables = state.layout.tables.clone();
        tables.insert(table, Arc::new(t.with_shard(shard, shard_store)));
        self.publish(
            Arc::new(Layout {
                catalog: state.layout.catalog.clone(),
                tables,
            }),
            state.seq,
        );
        true
    }
}

impl Store {
    /// An empty store with no log (in memory), with default options: a
    /// background thread builds and merges runs.
    pub fn new() -> Store {
        Store::with_options(StoreOptions::default())
    }

    /// An empty store with `options`.
    pub fn with_options(options: StoreOptions) -> Store {
        let background = options.background;
        let shared = Arc::new(Shared {
            state: ArcSwap::from_pointee(StoreState::default()),
            commit: Mutex::new(CommitState::default()),
            pins: Arc::new(PinRegistry::new(options.retention)),
            maintenance: Maintenance::new(options),
        });
        let worker = background.then(|| Maintenance::spawn(&shared)).flatten();
        Store {
            shared,
            worker: Mutex::new(worker),
        }
    }

    /// The current read view. Never blocks.
    pub fn read(&self) -> ReadView {
        self.shared.read()
    }

    /// The sequence number of the last commit.
    pub fn last_seq(&self) -> u64 {
        self.shared.lock().seq
    }

    /// Pins the current view: its versions are kept until the handle is
    /// dropped or the retention limit expires it.
    pub fn pin(&self) -> PinHandle {
        self.shared.pins.pin(|| self.shared.state.load().seq)
    }

    /// The view of a pin, if it still holds: the current maps read at the
    /// pin's `seq`. The pin is checked after the maps are loaded, so no
    /// merge that could drop a version it needs is in what is returned.
    pub fn read_pinned(&self, pin: &PinHandle) -> std::result::Result<ReadView, PinLost> {
        self.read_at_pin(pin.id())
    }

    /// Pins the current view for a snapshot traversal (no handle: the
    /// retention limit ends it) and returns its `seq`.
    pub fn pin_detached(&self) -> Seq {
        self.shared
            .pins
            .pin_detached(|| self.shared.state.load().seq)
    }

    /// The view at `seq` if a pin still holds it (a snapshot cursor's), the
    /// maps loaded before the pin is checked, as in `read_pinned`.
    pub fn read_at_seq(&self, seq: Seq) -> std::result::Result<ReadView, PinLost> {
        let state = self.read();
        self.shared.pins.check_seq(seq)?;
        Ok(Arc::new(state.at(seq)))
    }

    /// As `read_pinned`, for a pin known by id.
    pub fn read_at_pin(&self, pin: u64) -> std::result::Result<ReadView, PinLost> {
        let state = self.read();
        let seq = self.shared.pins.check(pin)?;
        Ok(Arc::new(state.at(seq)))
    }

    /// The registry of pinned views.
    pub fn pins(&self) -> &Arc<PinRegistry> {
        &self.shared.pins
    }

    /// Counters: versions, memtables, runs and bytes live, and the work the
    /// background thread did.
    pub fn stats(&self) -> StoreStats {
        self.shared
            .maintenance
            .stats(&self.read(), &self.shared.pins)
    }

    /// Freezes every non-empty memtable now (tests, checkpoints).
    pub fn freeze_all(&self) {
        let _guard = self.shared.lock();
        let state = self.read();
        if let Some(layout) = crate::maintenance::frozen_layout(&state.layout, |_, _, _| true) {
            self.shared.publish(layout, state.seq);
        }
        self.shared.maintenance.notify();
    }

    /// Builds runs from every frozen memtable and merges runs as the policy
    /// says, on this thread. The background thread calls the same step.
    pub fn maintain(&self) {
        crate::maintenance::run_once(&self.shared);
    }

    /// Freezes everything, flushes it and merges every map's runs into one,
    /// dropping every version no pin needs.
    pub fn compact(&self) {
        self.freeze_all();
        crate::maintenance::run_once(&self.shared);
        crate::maintenance::merge_all(&self.shared);
    }

    /// Attaches the log that every later commit is written to, and sets the
    /// sequence number the next commit follows (after recovery).
    pub fn attach_log(&self, log: Arc<dyn CommitLog>, last_seq: u64) {
        let mut guard = self.shared.lock();
        guard.log = Some(log);
        guard.seq = last_seq;
    }

    /// Runs `f` with writers held off: the view it sees is consistent and
    /// `seq` is the last commit it contains (for snapshots).
    pub fn with_writers_paused<R>(&self, f: impl FnOnce(u64, &StoreState) -> R) -> R {
        let guard = self.shared.lock();
        let state = self.read();
        f(guard.seq, &state)
    }

    // --- durable layer hooks (issue 12) ---

    /// Freezes every non-empty memtable with writers held off and runs `f`
    /// on the result: every version at or below the `seq` it is given is
    /// in the view's frozen memtables and runs, and every later commit
    /// goes to memtables the view does not list as frozen (a consistent
    /// cut, for the manifest).
    pub(crate) fn with_cut<R>(&self, f: impl FnOnce(u64, &ReadView) -> R) -> R {
        let guard = self.shared.lock();
        let state = self.read();
        if let Some(layout) = crate::maintenance::frozen_layout(&state.layout, |_, _, _| true) {
            self.shared.publish(layout, state.seq);
            self.shared.maintenance.notify();
        }
        let state = self.read();
        f(guard.seq, &state)
    }

    /// Tells `observer` which run each flushed memtable became.
    pub(crate) fn observe_flushes(
        &self,
        observer: std::sync::Weak<dyn crate::maintenance::FlushObserver>,
    ) {
        self.shared.maintenance.set_observer(observer);
    }

    /// Replaces the whole state with `catalog` and `tables` (maps built
    /// from runs read back from files, no per-row inserts) at `seq`.
    pub(crate) fn restore_runs(
        &self,
        catalog: Catalog,
        tables: HashMap<TableId, Arc<TableStore>>,
        seq: u64,
    ) {
        let mut guard = self.shared.lock();
        self.shared
            .publish(Arc::new(Layout { catalog, tables }), seq);
        guard.seq = seq;
    }

    // --- end of durable layer hooks ---

    /// Validates, logs, applies and publishes one mutation under the commit
    /// lock, then waits for durability outside it.
    fn commit_mutation(
        &self,
        prepare: impl FnOnce(&StoreState) -> Result<Mutation>,
    ) -> Result<(u64, Mutation)> {
        self.shared.maintenance.wait_for_room();
        let (seq, mutation, log) = {
            let mut guard = self.shared.lock();
            if guard.poisoned {
                return Err(StoreError::Poisoned);
            }
            let state = self.read();
            let latest = state.at(LATEST);
            let mutation = prepare(&latest)?;
            let seq = guard.seq + 1;
            if let Some(log) = &guard.log {
                log.append(seq, &mutation)?;
            }
            guard.seq = seq;
            if let Err(e) = self.apply_and_publish(&state, &mutation, seq) {
                guard.poisoned = true;
                return Err(e);
            }
            (seq, mutation, guard.log.clone())
        };
        if let Some(log) = log {
            if let Err(e) = log.wait_durable(seq) {
                self.shared.lock().poisoned = true;
                return Err(e);
            }
        }
        Ok((seq, mutation))
    }

    /// Replaces the whole state with `catalog` and the tables holding
    /// `rows` (bulk loaded as runs, no per-row inserts), and sets the last
    /// sequence number: restoring a snapshot into a fresh store. Keeps the
    /// catalog's id counter, so ids are never reused.
    pub(crate) fn restore(
        &self,
        catalog: Catalog,
        mut rows: HashMap<TableId, Vec<RowRef>>,
        seq: u64,
    ) -> std::result::Result<(), crate::codec::CodecError> {
        let mut guard = self.shared.lock();
        let mut tables = HashMap::new();
        for def in catalog.tables() {
            let table_rows = rows.remove(&def.id).unwrap_or_default();
            let table = TableStore::bulk_loaded(def.clone(), table_rows, seq)?;
            tables.insert(def.id, Arc::new(table));
        }
        self.shared
            .publish(Arc::new(Layout { catalog, tables }), seq);
        guard.seq = seq;
        Ok(())
    }

    /// Applies a mutation read back from the log during recovery.
    pub fn replay(&self, seq: u64, mutation: &Mutation) -> Result<()> {
        let mut guard = self.shared.lock();
        let state = self.read();
        let seq = seq.max(guard.seq + 1);
        self.apply_and_publish(&state, mutation, seq)?;
        guard.seq = seq;
        Ok(())
    }

    /// Inserts a mutation's versions at `seq`, then publishes `seq` with
    /// the new layout (DDL) and any memtables that passed their size
    /// frozen. Callers hold the commit lock.
    fn apply_and_publish(&self, state: &StoreState, mutation: &Mutation, seq: Seq) -> Result<()> {
        let layout = apply(&state.layout, mutation, seq)?;
        let touched: Vec<TableId> = match mutation {
            Mutation::Write(ops) => {
                let mut ids: Vec<TableId> = ops
                    .iter()
                    .map(|op| match op {
                        WriteOp::Put { table, .. } | WriteOp::Delete { table, .. } => *table,
                    })
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
            _ => Vec::new(),
        };
        let limit = self.shared.maintenance.memtable_bytes();
        let current = layout.clone().unwrap_or_else(|| state.layout.clone());
        let frozen = crate::maintenance::frozen_layout(&current, |table, _, map| {
            touched.contains(&table) && map.active().bytes() >= limit
        });
        let froze = frozen.is_some();
        self.shared.publish(frozen.unwrap_or(current), seq);
        if froze {
            self.shared.maintenance.notify();
        }
        Ok(())
    }

    /// Commits a batch: all of it or, on any error, none of it.
    pub fn commit(&self, batch: &Batch) -> Result<CommitInfo> {
        self.commit_checked(batch, None)
    }

    /// Commits a batch read at snapshot `since` (a transaction's): refused
    /// whole with `StoreError::Conflict` if any commit after `since` wrote
    /// a key this batch writes (first committer wins).
    pub fn commit_since(&self, batch: &Batch, since: Seq) -> Result<CommitInfo> {
        self.commit_checked(batch, Some(since))
    }

    fn commit_checked(&self, batch: &Batch, since: Option<Seq>) -> Result<CommitInfo> {
        let mut deletes = 0;
        let (seq, mutation) = self.commit_mutation(|state| {
            let ops = validate(state, batch)?;
            if let Some(since) = since {
                check_conflicts(state, &ops, since)?;
            }
            deletes = ops
                .iter()
                .filter(|op| match op {
                    WriteOp::Delete { table, key } => state
                        .table_by_id(*table)
                        .and_then(|t| t.get(&RawDataKey::encode(*table, key)))
                        .is_some(),
                    WriteOp::Put { .. } => false,
                })
                .count();
            Ok(Mutation::Write(ops))
        })?;
        let puts = match &mutation {
            Mutation::Write(ops) => ops
                .iter()
                .filter(|op| matches!(op, WriteOp::Put { .. }))
                .count(),
            _ => 0,
        };
        Ok(CommitInfo { seq, puts, deletes })
    }

    /// Creates a table.
    pub fn create_table(&self, spec: &TableSpec) -> Result<Arc<TableDef>> {
        let (_, mutation) = self.commit_mutation(|state| {
            Ok(Mutation::CreateTable(state.catalog().resolve_table(spec)?))
        })?;
        let Mutation::CreateTable(def) = mutation else {
            unreachable!("create_table commits a CreateTable mutation")
        };
        self.read()
            .catalog()
            .table_by_id(def.id)
            .cloned()
            .ok_or(StoreError::UnknownTable { table: def.name })
    }

    /// Drops a table and all its rows and indexes.
    pub fn drop_table(&self, name: &str) -> Result<()> {
        self.commit_mutation(|state| {
            let def = state
                .catalog()
                .table(name)
                .ok_or_else(|| StoreError::UnknownTable {
                    table: name.to_owned(),
                })?;
            Ok(Mutation::DropTable { table: def.id })
        })
        .map(|_| ())
    }

    /// Creates a secondary index and builds it over the rows present. A
    /// unique index over rows that already break it is refused.
    pub fn create_index(&self, spec: &IndexSpec) -> Result<IndexDef> {
        let (_, mutation) = self.commit_mutation(|state| {
            let (def, index) = state.catalog().resolve_index(spec)?;
            let table = state
                .table_by_id(def.id)
                .ok_or_else(|| StoreError::UnknownTable {
                    table: def.name.clone(),
                })?;
            check_existing_rows(&table, &index)?;
            Ok(Mutation::CreateIndex {
                table: def.id,
                index,
            })
        })?;
        match mutation {
            Mutation::CreateIndex { index, .. } => Ok(index),
            _ => unreachable!("create_index commits a CreateIndex mutation"),
        }
    }

    /// Drops a secondary index.
    pub fn drop_index(&self, table: &str, index: &str) -> Result<()> {
        self.commit_mutation(|state| {
            let def = state
                .catalog()
                .table(table)
                .ok_or_else(|| StoreError::UnknownTable {
                    table: table.to_owned(),
                })?;
            let index_def = def
                .index_by_name(index)
                .ok_or_else(|| StoreError::UnknownIndex {
                    table: def.name.clone(),
                    index: index.to_owned(),
                })?;
            Ok(Mutation::DropIndex {
                table: def.id,
                index: index_def.id,
            })
        })
        .map(|_| ())
    }
}

/// First committer wins: refuses `ops` if a key they write has a version
/// newer than `since` (the writing transaction's snapshot).
fn check_conflicts(state: &StoreState, ops: &[WriteOp], since: Seq) -> Result<()> {
    for op in ops {
        let id = match op {
            WriteOp::Put { table, .. } | WriteOp::Delete { table, .. } => *table,
        };
        let Some(table) = state.table_by_id(id) else {
            continue;
        };
        let key = match op {
            WriteOp::Put { row, .. } => table.data_key_of(row),
            WriteOp::Delete { key, .. } => RawDataKey::encode(id, key),
        };
        let Ok(shard) = table.shard_for_key(&key) else {
            continue;
        };
        let newest = table
            .shard(shard)
            .and_then(|s| s.data().newest_seq(key.as_bytes()));
        if newest.is_some_and(|s| s > since) {
            let def = table.def();
            let values = match op {
                WriteOp::Put { row, .. } => table.primary_key_of(row),
                WriteOp::Delete { key, .. } => key.clone(),
            };
            return Err(StoreError::Conflict {
                table: def.name.clone(),
                key: describe(def, &def.primary_key, &values),
            });
        }
    }
    Ok(())
}

/// Checks that every row already in `table` fits `index` before it is
/// built: each entry within the key limit, and for a unique index no two
/// rows sharing a non-NULL prefix. Refuses with the first offending row.
fn check_existing_rows(table: &crate::view::TableView, index: &IndexDef) -> Result<()> {
    let def = table.def();
    let mut seen: BTreeSet<Vec<Value>> = BTreeSet::new();
    let mut failure: Option<StoreError> = None;
    for shard in 0..table.shards().len() {
        let Some(data) = table.data_map(shard) else {
            continue;
        };
        let mut cursor = data.cursor(
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            crate::map::Direction::Asc,
        );
        while let Some((_, row)) = cursor.next_entry() {
            let len = table.index_key_of(index, &row).len();
            if len > MAX_KEY_BYTES {
                failure = Some(StoreError::IndexKeyTooLong {
                    table: def.name.clone(),
                    index: index.name.clone(),
                    key: describe(def, &def.primary_key, &table.primary_key_of(&row)),
                    len,
                    max: MAX_KEY_BYTES,
                });
                break;
            }
            if !index.unique {
                continue;
            }
            let components: Vec<Value> = index
                .columns
                .iter()
                .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
                .collect();
            if components.iter().any(Value::is_null) {
                continue;
            }
            if let Some(dup) = seen.replace(components) {
                failure = Some(StoreError::UniqueViolation {
                    table: def.name.clone(),
                    index: index.name.clone(),
                    key: describe(def, &index.columns, &dup),
                });
                break;
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
    }
    Ok(())
}

/// The layout after `mutation`'s versions are inserted at `seq`: `None`
/// when only versions changed (a write), a new layout for DDL.
fn apply(layout: &Arc<Layout>, mutation: &Mutation, seq: Seq) -> Result<Option<Arc<Layout>>> {
    let with = |catalog: Catalog, tables: HashMap<TableId, Arc<TableStore>>| {
        Ok(Some(Arc::new(Layout { catalog, tables })))
    };
    match mutation {
        Mutation::Write(ops) => {
            for op in ops {
                match op {
                    WriteOp::Put { table, row } => {
                        let Some(t) = layout.tables.get(table) else {
                            continue;
                        };
                        t.apply_put(t.data_key_of(row), row.clone(), seq)?;
                    }
                    WriteOp::Delete { table, key } => {
                        let Some(t) = layout.tables.get(table) else {
                            continue;
                        };
                        t.apply_delete(&RawDataKey::encode(*table, key), seq)?;
                    }
                }
            }
            Ok(None)
        }
        Mutation::CreateTable(def) => {
            let mut catalog = layout.catalog.clone();
            catalog.add_table(def.clone());
            let def = catalog
                .table_by_id(def.id)
                .cloned()
                .unwrap_or_else(|| Arc::new(def.clone()));
            let mut tables = layout.tables.clone();
            tables.insert(def.id, Arc::new(TableStore::new(def)));
            with(catalog, tables)
        }
        Mutation::DropTable { table } => {
            let mut catalog = layout.catalog.clone();
            catalog.remove_table(*table);
            let mut tables = layout.tables.clone();
            tables.remove(table);
            with(catalog, tables)
        }
        Mutation::CreateIndex { table, index } => {
            let mut catalog = layout.catalog.clone();
            let (Some(def), Some(old)) = (
                catalog.add_index(*table, index.clone()),
                layout.tables.get(table),
            ) else {
                return Ok(None);
            };
            let mut tables = layout.tables.clone();
            tables.insert(*table, Arc::new(old.with_index(def, index, seq)));
            with(catalog, tables)
        }
        Mutation::DropIndex { table, index } => {
            let mut catalog = layout.catalog.clone();
            let (Some(def), Some(old)) = (
                catalog.remove_index(*table, *index),
                layout.tables.get(table),
            ) else {
                return Ok(None);
            };
            let mut tables = layout.tables.clone();
            tables.insert(*table, Arc::new(old.without_index(def, *index)));
            with(catalog, tables)
        }
    }
}
