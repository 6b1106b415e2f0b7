//! The stored form of one table: its shards, each with one data map and one
//! map per secondary index, and the index maintenance that keeps them in
//! step on every put and delete.
//!
//! A row's shard is a stable hash (FNV-1a) of its encoded partition column,
//! which is always a primary-key column, so a key alone names its shard.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::catalog::{IndexDef, TableDef};
use crate::codec::{encode_component, skip_component, CodecError};
use crate::key::{IndexId, RawDataKey, RawIndexKey, DATA_HEADER_LEN};
use crate::map::OrderedMap;
use crate::row::{Row, RowRef};
use crate::value::Value;

/// A map from raw keys to shared rows: a data map or an index map.
pub type RowMap = OrderedMap<RowRef>;

/// One shard of a table.
#[derive(Clone)]
pub struct ShardStore {
    data: Arc<RowMap>,
    indexes: BTreeMap<IndexId, Arc<RowMap>>,
}

impl fmt::Debug for ShardStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardStore")
            .field("rows", &self.data.len())
            .field("indexes", &self.indexes.keys().collect::<Vec<_>>())
            .finish()
    }
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

    /// Rows in all shards.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.data.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    /// The row stored under a data key, if any.
    pub fn get(&self, key: &RawDataKey) -> Option<RowRef> {
        let shard = self.shard_for_key(key).ok()?;
        self.shards.get(shard)?.data.get(key.as_bytes())
    }

    /// Stores a row (insert or replace), keeping every index in step.
    /// Returns the row it replaced.
    pub(crate) fn apply_put(
        &self,
        key: RawDataKey,
        row: RowRef,
    ) -> Result<Option<RowRef>, CodecError> {
        let shard = &self.shards[self.shard_for_key(&key)?];
        let old = shard.data.get(key.as_bytes());
        shard.data.insert(key.into_bytes(), row.clone());
        for index in &self.def.indexes {
            let Some(map) = shard.indexes.get(&index.id) else {
                continue;
            };
            let new_key = self.index_key_of(index, &row);
            if let Some(old_row) = &old {
                let old_key = self.index_key_of(index, old_row);
                if old_key != new_key {
                    map.remove(old_key.as_bytes());
                }
            }
            map.insert(new_key.into_bytes(), row.clone());
        }
        Ok(old)
    }

    /// Deletes the row under a data key and its index entries. Returns it.
    pub(crate) fn apply_delete(&self, key: &RawDataKey) -> Result<Option<RowRef>, CodecError> {
        let shard = &self.shards[self.shard_for_key(key)?];
        let Some(old) = shard.data.remove(key.as_bytes()) else {
            return Ok(None);
        };
        for index in &self.def.indexes {
            if let Some(map) = shard.indexes.get(&index.id) {
                map.remove(self.index_key_of(index, &old).as_bytes());
            }
        }
        Ok(Some(old))
    }

    /// A table that shares this one's maps and has `index` as well, built
    /// over the rows already present. The caller checks uniqueness first.
    pub(crate) fn with_index(&self, def: Arc<TableDef>, index: &IndexDef) -> TableStore {
        let shards = self
            .shards
            .iter()
            .map(|shard| {
                let map = Arc::new(RowMap::new());
                for (_, row) in shard.data.iter() {
                    map.insert(self.index_key_of(index, &row).into_bytes(), row);
                }
                let mut indexes = shard.indexes.clone();
                indexes.insert(index.id, map);
                ShardStore {
                    data: shard.data.clone(),
                    indexes,
                }
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
