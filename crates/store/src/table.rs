//! The stored form of one table: its shards, each with one data map and one
//! map per secondary index, and the index maintenance that keeps them in
//! step on every put and delete.
//!
//! A row's shard is a stable hash (FNV-1a) of its encoded partition column,
//! which is always a primary-key column, so a key alone names its shard.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::catalog::{IndexDef, TableDef};
use crate::codec::{encode_component, skip_component, CodecError};
use crate::key::{IndexId, RawDataKey, RawIndexKey, DATA_HEADER_LEN};
use crate::lsm::{MapCounts, Run, RunBuilder, Seq, VersionedMap, LATEST};
use crate::row::{Row, RowRef};
use crate::value::Value;

/// The sources of one map (a data map or an index map), immutable as a set.
pub type RowMap = VersionedMap;

/// One shard of a table: its data map and one map per secondary index.
/// Immutable as a set of sources; the store publishes a new one when a
/// memtable is frozen or a run replaces sources.
#[derive(Clone)]
pub struct ShardStore {
    data: Arc<RowMap>,
    indexes: BTreeMap<IndexId, Arc<RowMap>>,
}

impl fmt::Debug for ShardStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardStore")
            .field("data", &self.data.counts())
            .field("indexes", &self.indexes.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Which map of a shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MapId {
    Data,
    Index(IndexId),
}

impl ShardStore {
    fn new(indexes: impl Iterator<Item = IndexId>) -> ShardStore {
        ShardStore {
            data: Arc::new(RowMap::new()),
            indexes: indexes.map(|id| (id, Arc::new(RowMap::new()))).collect(),
        }
    }

    /// The data map: `RawDataKey` -> row.
    pub fn data(&self) -> &Arc<RowMap> {
        &self.data
    }

    /// The map of one secondary index: `RawIndexKey` -> row.
    pub fn index(&self, id: IndexId) -> Option<&Arc<RowMap>> {
        self.indexes.get(&id)
    }

    /// Every map of the shard with its id.
    pub fn maps(&self) -> impl Iterator<Item = (MapId, &Arc<RowMap>)> {
        std::iter::once((MapId::Data, &self.data))
            .chain(self.indexes.iter().map(|(id, m)| (MapId::Index(*id), m)))
    }

    pub fn map(&self, id: MapId) -> Option<&Arc<RowMap>> {
        match id {
            MapId::Data => Some(&self.data),
            MapId::Index(i) => self.indexes.get(&i),
        }
    }

    /// This shard with map `id` replaced.
    pub(crate) fn with_map(&self, id: MapId, map: RowMap) -> ShardStore {
        let mut shard = self.clone();
        match id {
            MapId::Data => shard.data = Arc::new(map),
            MapId::Index(i) => {
                shard.indexes.insert(i, Arc::new(map));
            }
        }
        shard
    }

    /// Counts over every map of the shard.
    pub fn counts(&self) -> MapCounts {
        let mut c = MapCounts::default();
        for (_, m) in self.maps() {
            c += m.counts();
        }
        c
    }
}

/// The stored form of one table.
#[derive(Clone)]
pub struct TableStore {
    def: Arc<TableDef>,
    shards: Vec<ShardStore>,
}

impl fmt::Debug for TableStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableStore")
            .field("table", &self.def.name)
            .field("shards", &self.shards)
            .finish()
    }
}

/// A run of sorted, distinct keys, all at `seq`.
fn run_of(entries: impl Iterator<Item = (Bytes, RowRef)>, len: usize, seq: Seq) -> Run {
    let mut run = RunBuilder::with_capacity(len, len * 24);
    for (k, row) in entries {
        run.push(&k, seq, Some(row));
    }
    run.finish()
}

/// FNV-1a over bytes: stable across runs and platforms.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The shard of table `def` that holds rows whose partition column equals
/// `value` (already normalized to the column's type). The planner routes
/// queries with it without needing a `TableStore`.
pub fn shard_for_partition_value(def: &TableDef, value: &Value) -> usize {
    let mut buf = Vec::with_capacity(16);
    encode_component(value, &mut buf);
    shard_of_encoded(def, &buf)
}

/// The shard of an encoded partition component: the one place the hash
/// meets the shard count.
fn shard_of_encoded(def: &TableDef, encoded_component: &[u8]) -> usize {
    (fnv1a(encoded_component) % u64::from(def.shards.max(1))) as usize
}

impl TableStore {
    /// An empty table.
    pub fn new(def: Arc<TableDef>) -> TableStore {
        let shards = (0..def.shards)
            .map(|_| ShardStore::new(def.indexes.iter().map(|i| i.id)))
            .collect();
        TableStore { def, shards }
    }

    pub fn def(&self) -> &Arc<TableDef> {
        &self.def
    }

    pub fn shards(&self) -> &[ShardStore] {
        &self.shards
    }

    pub fn shard(&self, shard: usize) -> Option<&ShardStore> {
        self.shards.get(shard)
    }

    /// Counts over every map of every shard.
    pub fn counts(&self) -> MapCounts {
        let mut c = MapCounts::default();
        for s in &self.shards {
            c += s.counts();
        }
        c
    }

    /// This table with shard `shard` replaced.
    pub(crate) fn with_shard(&self, shard: usize, store: ShardStore) -> TableStore {
        let mut shards = self.shards.clone();
        if let Some(slot) = shards.get_mut(shard) {
            *slot = store;
        }
        TableStore {
            def: self.def.clone(),
            shards,
        }
    }

    /// The shard that holds rows whose partition column equals `value`.
    pub fn shard_for_partition_value(&self, value: &Value) -> usize {
        shard_for_partition_value(&self.def, value)
    }

    /// The shard of a data key, read from the key's bytes.
    pub fn shard_for_key(&self, key: &RawDataKey) -> Result<usize, CodecError> {
        if self.def.shards == 1 {
            return Ok(0);
        }
        let position = self
            .def
            .primary_key_position(self.def.partition_column)
            .unwrap_or(0);
        let bytes = key.as_bytes();
        let mut pos = DATA_HEADER_LEN;
        for _ in 0..position {
            pos = skip_component(bytes, pos)?;
        }
        let end = skip_component(bytes, pos)?;
        Ok(shard_of_encoded(&self.def, &bytes[pos..end]))
    }

    /// The primary-key values of a row.
    pub fn primary_key_of(&self, row: &Row) -> Vec<Value> {
        self.def
            .primary_key
            .iter()
            .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
            .collect()
    }

    /// The data key of a row.
    pub fn data_key_of(&self, row: &Row) -> RawDataKey {
        RawDataKey::encode(self.def.id, &self.primary_key_of(row))
    }

    /// The entry key of `row` in `index`.
    pub fn index_key_of(&self, index: &IndexDef, row: &Row) -> RawIndexKey {
        let components: Vec<Value> = index
            .columns
            .iter()
            .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
            .collect();
        RawIndexKey::encode(
            self.def.id,
            index.id,
            &components,
            &self.primary_key_of(row),
        )
    }

    /// The row stored under a data key at `seq`, if any.
    pub fn get(&self, key: &RawDataKey, seq: Seq) -> Option<RowRef> {
        let shard = self.shard_for_key(key).ok()?;
        self.shards.get(shard)?.data.get(key.as_bytes(), seq)
    }

    /// Writes a row (insert or replace) as batch `seq`, keeping every index
    /// in step. Returns the row it replaced. Commit path only: the row
    /// replaced is the newest version, whatever has been published.
    pub(crate) fn apply_put(
        &self,
        key: RawDataKey,
        row: RowRef,
        seq: Seq,
    ) -> Result<Option<RowRef>, CodecError> {
        let shard = &self.shards[self.shard_for_key(&key)?];
        let old = shard.data.get(key.as_bytes(), LATEST);
        shard.data.insert(key.into_bytes(), seq, Some(row.clone()));
        for index in &self.def.indexes {
            let Some(map) = shard.indexes.get(&index.id) else {
                continue;
            };
            let new_key = self.index_key_of(index, &row);
            if let Some(old_row) = &old {
                let old_key = self.index_key_of(index, old_row);
                if old_key != new_key {
                    map.insert(old_key.into_bytes(), seq, None);
                }
            }
            map.insert(new_key.into_bytes(), seq, Some(row.clone()));
        }
        Ok(old)
    }

    /// Deletes the row under a data key and its index entries as batch
    /// `seq`. Returns it.
    pub(crate) fn apply_delete(
        &self,
        key: &RawDataKey,
        seq: Seq,
    ) -> Result<Option<RowRef>, CodecError> {
        let shard = &self.shards[self.shard_for_key(key)?];
        let Some(old) = shard.data.get(key.as_bytes(), LATEST) else {
            return Ok(None);
        };
        shard.data.insert(key.clone().into_bytes(), seq, None);
        for index in &self.def.indexes {
            if let Some(map) = shard.indexes.get(&index.id) {
                map.insert(self.index_key_of(index, &old).into_bytes(), seq, None);
            }
        }
        Ok(Some(old))
    }

    /// A table that shares this one's maps and has `index` as well, built
    /// over the rows visible at `seq` as one run whose versions are `seq`.
    /// The caller checks uniqueness and key sizes first.
    pub(crate) fn with_index(&self, def: Arc<TableDef>, index: &IndexDef, seq: Seq) -> TableStore {
        let shards = self
            .shards
            .iter()
            .map(|shard| {
                let mut entries: Vec<(Bytes, RowRef)> = Vec::new();
                shard.data.for_each(seq, |_, row| {
                    entries.push((self.index_key_of(index, row).into_bytes(), row.clone()));
                });
                entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                let key_bytes = entries.iter().map(|(k, _)| k.len()).sum();
                let mut run = RunBuilder::with_capacity(entries.len(), key_bytes);
                for (k, row) in entries {
                    run.push(&k, seq, Some(row));
                }
                let mut indexes = shard.indexes.clone();
                indexes.insert(index.id, Arc::new(RowMap::from_run(run.finish())));
                ShardStore {
                    data: shard.data.clone(),
                    indexes,
                }
            })
            .collect();
        TableStore { def, shards }
    }

    /// A table whose maps hold exactly `rows` (each with its data key), as
    /// runs at `seq`: a bulk load with no per-row skiplist insert.
    pub(crate) fn bulk_loaded(
        def: Arc<TableDef>,
        rows: Vec<RowRef>,
        seq: Seq,
    ) -> Result<TableStore, CodecError> {
        let empty = TableStore::new(def.clone());
        let mut per_shard: Vec<Vec<(Bytes, RowRef)>> = vec![Vec::new(); empty.shards.len()];
        for row in rows {
            let key = empty.data_key_of(&row);
            let shard = empty.shard_for_key(&key)?;
            per_shard[shard].push((key.into_bytes(), row));
        }
        let shards = per_shard
            .into_iter()
            .map(|mut rows| {
                rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                let data = run_of(
                    rows.iter().map(|(k, r)| (k.clone(), r.clone())),
                    rows.len(),
                    seq,
                );
                let indexes = def
                    .indexes
                    .iter()
                    .map(|index| {
                        let mut entries: Vec<(Bytes, RowRef)> = rows
                            .iter()
                            .map(|(_, r)| (empty.index_key_of(index, r).into_bytes(), r.clone()))
                            .collect();
                        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                        let n = entries.len();
                        (
                            index.id,
                            Arc::new(RowMap::from_run(run_of(entries.into_iter(), n, seq))),
                        )
                    })
                    .collect();
                ShardStore {
                    data: Arc::new(RowMap::from_run(data)),
                    indexes,
                }
            })
            .collect();
        Ok(TableStore { def, shards })
    }

    /// A table whose maps are given: `maps(shard, map)` for every shard of
    /// `def` and every index it declares (files read back on open).
    pub(crate) fn from_maps(
        def: Arc<TableDef>,
        mut maps: impl FnMut(usize, MapId) -> RowMap,
    ) -> TableStore {
        let shards = (0..def.shards as usize)
            .map(|s| ShardStore {
                data: Arc::new(maps(s, MapId::Data)),
                indexes: def
                    .indexes
                    .iter()
                    .map(|i| (i.id, Arc::new(maps(s, MapId::Index(i.id)))))
                    .collect(),
            })
            .collect();
        TableStore { def, shards }
    }

    /// A table that shares this one's maps without `index`.
    pub(crate) fn without_index(&self, def: Arc<TableDef>, index: IndexId) -> TableStore {
        let shards = self
            .shards
            .iter()
            .map(|shard| {
                let mut indexes = shard.indexes.clone();
                indexes.remove(&index);
                ShardStore {
                    data: shard.data.clone(),
                    indexes,
                }
            })
            .collect();
        TableStore { def, shards }
    }
}
