//! The store: the published read view (catalog plus table maps), the one
//! serialized commit path for batches and schema changes, and the hook the
//! write-ahead log plugs into.
//!
//! Readers call [`Store::read`] and never take a lock: the view is an
//! `ArcSwap` load, and the maps under it are lock-free skiplists. Writers
//! are serialized by the commit mutex; a batch is validated whole, handed
//! to the [`CommitLog`], then applied. Readers may observe a batch while it
//! is being applied; the executor re-checks every row it returns.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use crate::batch::{describe, validate, Batch, WriteOp};
use crate::catalog::{Catalog, IndexDef, IndexSpec, TableDef, TableSpec};
use crate::error::{Result, StoreError};
use crate::key::{IndexId, RawDataKey, TableId};
use crate::table::TableStore;
use crate::value::Value;

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

/// The store at one moment: catalog and table maps. Cheap to hold.
#[derive(Debug, Default)]
pub struct StoreState {
    catalog: Catalog,
    tables: HashMap<TableId, Arc<TableStore>>,
}

/// A consistent snapshot of the catalog and handles to the live maps.
pub type ReadView = Arc<StoreState>;

impl StoreState {
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn table(&self, name: &str) -> Option<&Arc<TableStore>> {
        let def = self.catalog.table(name)?;
        self.tables.get(&def.id)
    }

    pub fn table_by_id(&self, id: TableId) -> Option<&Arc<TableStore>> {
        self.tables.get(&id)
    }

    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableStore>> {
        self.catalog.tables().filter_map(|d| self.tables.get(&d.id))
    }
}

#[derive(Debug, Default)]
struct CommitState {
    seq: u64,
    log: Option<Arc<dyn CommitLog>>,
    poisoned: bool,
}

/// The in-memory store with its commit pipeline.
#[derive(Debug)]
pub struct Store {
    state: ArcSwap<StoreState>,
    commit: Mutex<CommitState>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    /// An empty store with no log (in memory).
    pub fn new() -> Store {
        Store {
            state: ArcSwap::from_pointee(StoreState {
                catalog: Catalog::new(),
                tables: HashMap::new(),
            }),
            commit: Mutex::new(CommitState::default()),
        }
    }

    /// The current read view. Never blocks.
    pub fn read(&self) -> ReadView {
        self.state.load_full()
    }

    /// The sequence number of the last commit.
    pub fn last_seq(&self) -> u64 {
        self.lock().seq
    }

    /// Attaches the log that every later commit is written to, and sets the
    /// sequence number the next commit follows (after recovery).
    pub fn attach_log(&self, log: Arc<dyn CommitLog>, last_seq: u64) {
        let mut guard = self.lock();
        guard.log = Some(log);
        guard.seq = last_seq;
    }

    /// Runs `f` with writers held off: the view it sees is consistent and
    /// `seq` is the last commit it contains (for snapshots).
    pub fn with_writers_paused<R>(&self, f: impl FnOnce(u64, &StoreState) -> R) -> R {
        let guard = self.lock();
        let state = self.read();
        f(guard.seq, &state)
    }

    fn lock(&self) -> MutexGuard<'_, CommitState> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way later commits depend on; keep serving.
        self.commit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Validates, logs and applies one mutation under the commit lock, then
    /// waits for durability outside it.
    fn commit_mutation(
        &self,
        prepare: impl FnOnce(&StoreState) -> Result<Mutation>,
    ) -> Result<(u64, Mutation)> {
        let (seq, mutation, log) = {
            let mut guard = self.lock();
            if guard.poisoned {
                return Err(StoreError::Poisoned);
            }
            let state = self.read();
            let mutation = prepare(&state)?;
            let seq = guard.seq + 1;
            if let Some(log) = &guard.log {
                log.append(seq, &mutation)?;
            }
            guard.seq = seq;
            if let Err(e) = self.apply(&state, &mutation) {
                guard.poisoned = true;
                return Err(e);
            }
            (seq, mutation, guard.log.clone())
        };
        if let Some(log) = log {
            if let Err(e) = log.wait_durable(seq) {
                self.lock().poisoned = true;
                return Err(e);
            }
        }
        Ok((seq, mutation))
    }

    /// Replaces the whole state with `catalog` and empty tables (with maps
    /// for every index each table declares) and sets the last sequence
    /// number: the first step of restoring a snapshot into a fresh store.
    /// Keeps the catalog's id counter, so ids are never reused.
    pub(crate) fn restore_catalog(&self, catalog: Catalog, seq: u64) {
        let mut guard = self.lock();
        let tables = catalog
            .tables()
            .map(|def| (def.id, Arc::new(TableStore::new(def.clone()))))
            .collect();
        self.state.store(Arc::new(StoreState { catalog, tables }));
        guard.seq = seq;
    }

    /// Applies a mutation read back from the log during recovery.
    pub fn replay(&self, seq: u64, mutation: &Mutation) -> Result<()> {
        let mut guard = self.lock();
        let state = self.read();
        self.apply(&state, mutation)?;
        guard.seq = guard.seq.max(seq);
        Ok(())
    }

    fn apply(&self, state: &StoreState, mutation: &Mutation) -> Result<()> {
        match mutation {
            Mutation::Write(ops) => {
                for op in ops {
                    match op {
                        WriteOp::Put { table, row } => {
                            let Some(t) = state.tables.get(table) else {
                                continue;
                            };
                            t.apply_put(t.data_key_of(row), row.clone())?;
                        }
                        WriteOp::Delete { table, key } => {
                            let Some(t) = state.tables.get(table) else {
                                continue;
                            };
                            t.apply_delete(&RawDataKey::encode(*table, key))?;
                        }
                    }
                }
            }
            Mutation::CreateTable(def) => {
                let mut catalog = state.catalog.clone();
                catalog.add_table(def.clone());
                let def = catalog
                    .table_by_id(def.id)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(def.clone()));
                let mut tables = state.tables.clone();
                tables.insert(def.id, Arc::new(TableStore::new(def)));
                self.state.store(Arc::new(StoreState { catalog, tables }));
            }
            Mutation::DropTable { table } => {
                let mut catalog = state.catalog.clone();
                catalog.remove_table(*table);
                let mut tables = state.tables.clone();
                tables.remove(table);
                self.state.store(Arc::new(StoreState { catalog, tables }));
            }
            Mutation::CreateIndex { table, index } => {
                let mut catalog = state.catalog.clone();
                let (Some(def), Some(old)) = (
                    catalog.add_index(*table, index.clone()),
                    state.tables.get(table),
                ) else {
                    return Ok(());
                };
                let mut tables = state.tables.clone();
                tables.insert(*table, Arc::new(old.with_index(def, index)));
                self.state.store(Arc::new(StoreState { catalog, tables }));
            }
            Mutation::DropIndex { table, index } => {
                let mut catalog = state.catalog.clone();
                let (Some(def), Some(old)) = (
                    catalog.remove_index(*table, *index),
                    state.tables.get(table),
                ) else {
                    return Ok(());
                };
                let mut tables = state.tables.clone();
                tables.insert(*table, Arc::new(old.without_index(def, *index)));
                self.state.store(Arc::new(StoreState { catalog, tables }));
            }
        }
        Ok(())
    }

    /// Commits a batch: all of it or, on any error, none of it.
    pub fn commit(&self, batch: &Batch) -> Result<CommitInfo> {
        let mut deletes = 0;
        let (seq, mutation) = self.commit_mutation(|state| {
            let ops = validate(state, batch)?;
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
            Ok(Mutation::CreateTable(state.catalog.resolve_table(spec)?))
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
                .catalog
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
            let (def, index) = state.catalog.resolve_index(spec)?;
            if index.unique {
                let table = state
                    .tables
                    .get(&def.id)
                    .ok_or_else(|| StoreError::UnknownTable {
                        table: def.name.clone(),
                    })?;
                check_existing_unique(table, &index)?;
            }
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
                .catalog
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

fn check_existing_unique(table: &TableStore, index: &IndexDef) -> Result<()> {
    let mut seen: BTreeSet<Vec<Value>> = BTreeSet::new();
    for shard in table.shards() {
        for (_, row) in shard.data().iter() {
            let components: Vec<Value> = index
                .columns
                .iter()
                .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
                .collect();
            if components.iter().any(Value::is_null) {
                continue;
            }
            if let Some(dup) = seen.replace(components) {
                return Err(StoreError::UniqueViolation {
                    table: table.def().name.clone(),
                    index: index.name.clone(),
                    key: describe(table.def(), &index.columns, &dup),
                });
            }
        }
    }
    Ok(())
}
