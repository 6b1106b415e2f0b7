//! Read views: what one page reads. A view is the catalog, every table's
//! maps and the published `seq`, loaded together with one atomic load, so
//! a batch is visible to a reader entirely or not at all. `TableView` and
//! `MapView` carry the view's `seq` down to the maps: nothing reads a map
//! without one.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::{Bound, Deref};
use std::sync::Arc;

use crate::catalog::Catalog;
use crate::key::{IndexId, RawDataKey, TableId};
use bytes::Bytes;

use crate::codec::CodecError;
use crate::lsm::{Entry, MapCursor, Memtable, Seq, VersionKey, OVERLAY_SEQ};
use crate::map::Direction;
use crate::remote::{ChunkSource, MapAt, RemoteMap, SourceError};
use crate::row::RowRef;
use crate::table::{MapId, RowMap, TableStore};

/// The schema and the maps at one moment; replaced by DDL, freezes,
/// flushes and merges, shared by every view published in between.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    pub(crate) catalog: Catalog,
    pub(crate) tables: HashMap<TableId, Arc<TableStore>>,
}

/// The store at one moment: the layout and the published `seq` (and, for
/// a transaction's reads, its own uncommitted writes on top).
#[derive(Debug, Default)]
pub struct StoreState {
    pub(crate) layout: Arc<Layout>,
    pub(crate) seq: Seq,
    pub(crate) overlay: Option<Arc<Overlay>>,
    /// Set for a view of shards held elsewhere: every map is read through
    /// it, and the layout's maps stay empty.
    pub(crate) remote: Option<Arc<dyn ChunkSource>>,
}

/// A transaction's own writes, not yet committed: one memtable per map it
/// wrote, every version at `OVERLAY_SEQ`, so that its reads see them above
/// its snapshot, merged into the same streams in key order.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    maps: HashMap<(TableId, usize, MapId), Arc<Memtable>>,
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    fn map(&self, table: TableId, shard: usize, map: MapId) -> Option<&Arc<Memtable>> {
        self.maps.get(&(table, shard, map))
    }

    fn insert(&mut self, table: TableId, shard: usize, map: MapId, key: Bytes, entry: Entry) {
        self.maps
            .entry((table, shard, map))
            .or_insert_with(|| Arc::new(Memtable::new()))
            .insert(key, OVERLAY_SEQ, entry);
    }

    /// Records a put of `row` as `view` (the transaction's own view, this
    /// overlay included) sees the table: the data entry, and every index
    /// entry the change adds or removes. Returns the row replaced.
    pub fn put(&mut self, view: &TableView, row: RowRef) -> Result<Option<RowRef>, CodecError> {
        let key = view.data_key_of(&row);
        let shard = view.shard_for_key(&key)?;
        let id = view.def().id;
        let old = view.get(&key);
        for index in &view.def().indexes {
            let new_key = view.index_key_of(index, &row);
            if let Some(old_row) = &old {
                let old_key = view.index_key_of(index, old_row);
                if old_key != new_key {
                    self.insert(
                        id,
                        shard,
                        MapId::Index(index.id),
                        old_key.into_bytes(),
                        None,
                    );
                }
            }
            self.insert(
                id,
                shard,
                MapId::Index(index.id),
                new_key.into_bytes(),
                Some(row.clone()),
            );
        }
        self.insert(id, shard, MapId::Data, key.into_bytes(), Some(row));
        Ok(old)
    }

    /// Records a delete of the row under `key`, as `view` sees the table.
    /// Returns the row deleted.
    pub fn delete(
        &mut self,
        view: &TableView,
        key: &RawDataKey,
    ) -> Result<Option<RowRef>, CodecError> {
        let shard = view.shard_for_key(key)?;
        let id = view.def().id;
        let Some(old) = view.get(key) else {
            return Ok(None);
        };
        for index in &view.def().indexes {
            let old_key = view.index_key_of(index, &old);
            self.insert(
                id,
                shard,
                MapId::Index(index.id),
                old_key.into_bytes(),
                None,
            );
        }
        self.insert(id, shard, MapId::Data, key.clone().into_bytes(), None);
        Ok(Some(old))
    }
}

/// A consistent view: one atomic load of the published state.
pub type ReadView = Arc<StoreState>;

impl StoreState {
    /// A view of tables whose shards `source` holds: the schema is
    /// `catalog`, every map read goes through `source`.
    pub fn remote(catalog: Catalog, source: Arc<dyn ChunkSource>) -> StoreState {
        let tables = catalog
            .tables()
            .map(|def| (def.id, Arc::new(TableStore::new(def.clone()))))
            .collect();
        StoreState {
            layout: Arc::new(Layout { catalog, tables }),
            seq: 0,
            overlay: None,
            remote: Some(source),
        }
    }

    /// The source this view reads its shards through, if they are held
    /// elsewhere.
    pub fn remote_source(&self) -> Option<&Arc<dyn ChunkSource>> {
        self.remote.as_ref()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.layout.catalog
    }

    /// The `seq` this view reads at: every batch up to it, none after.
    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// The same maps read at another `seq` (a pinned snapshot's).
    pub fn at(&self, seq: Seq) -> StoreState {
        StoreState {
            layout: self.layout.clone(),
            seq,
            overlay: self.overlay.clone(),
            remote: self.remote.clone(),
        }
    }

    /// This view with a transaction's own writes on top.
    pub fn with_overlay(&self, overlay: Arc<Overlay>) -> StoreState {
        StoreState {
            layout: self.layout.clone(),
            seq: self.seq,
            overlay: Some(overlay),
            remote: self.remote.clone(),
        }
    }

    pub fn table(&self, name: &str) -> Option<TableView> {
        let def = self.catalog().table(name)?;
        self.table_by_id(def.id)
    }

    pub fn table_by_id(&self, id: TableId) -> Option<TableView> {
        self.layout.tables.get(&id).map(|t| TableView {
            table: t.clone(),
            seq: self.seq,
            overlay: self.overlay.clone(),
            remote: self.remote.clone(),
        })
    }

    /// Every table, in catalog order.
    pub fn tables(&self) -> impl Iterator<Item = TableView> + '_ {
        self.catalog()
            .tables()
            .filter_map(|d| self.table_by_id(d.id))
    }
}

/// One table read at one `seq`. Derefs to the table for its schema and key
/// helpers; every read goes through the `seq`.
#[derive(Clone)]
pub struct TableView {
    table: Arc<TableStore>,
    seq: Seq,
    overlay: Option<Arc<Overlay>>,
    remote: Option<Arc<dyn ChunkSource>>,
}

impl fmt::Debug for TableView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableView")
            .field("table", &self.table.def().name)
            .field("seq", &self.seq)
            .finish()
    }
}

impl Deref for TableView {
    type Target = TableStore;
    fn deref(&self) -> &TableStore {
        &self.table
    }
}

impl TableView {
    /// `table` read at `seq`.
    pub fn new(table: Arc<TableStore>, seq: Seq) -> TableView {
        TableView {
            table,
            seq,
            overlay: None,
            remote: None,
        }
    }

    /// The source this table's shards are read through, if they are held
    /// elsewhere (its maps in this process are then empty).
    pub fn remote(&self) -> Option<&Arc<dyn ChunkSource>> {
        self.remote.as_ref()
    }

    /// The row under a data key, read through the remote source if the
    /// table has one (which may fail), from the maps otherwise.
    pub fn try_get(&self, key: &RawDataKey) -> Result<Option<RowRef>, SourceError> {
        match &self.remote {
            None => Ok(self.get(key)),
            Some(source) => {
                let Ok(shard) = self.table.shard_for_key(key) else {
                    return Ok(None);
                };
                source.get(self.table.def().id, shard, key.as_bytes())
            }
        }
    }

    /// The overlay memtable of one map, if the transaction wrote it.
    fn overlay(&self, shard: usize, map: MapId) -> Option<Arc<Memtable>> {
        self.overlay
            .as_ref()?
            .map(self.table.def().id, shard, map)
            .cloned()
    }

    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// The row under a data key in this view's local maps. A remote view
    /// (a cluster's) holds no rows locally: read it through
    /// [`TableView::remote`] instead.
    pub fn get(&self, key: &RawDataKey) -> Option<RowRef> {
        debug_assert!(
            self.remote.is_none(),
            "TableView::get on a remote view reads empty local maps"
        );
        let shard = self.table.shard_for_key(key).ok()?;
        self.data_map(shard)?.get(key.as_bytes())
    }

    /// Rows in all shards in this view (a full count, the transaction's
    /// own writes included).
    pub fn len(&self) -> usize {
        (0..self.table.shards().len())
            .filter_map(|s| self.data_map(s))
            .map(|m| m.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every shard of the table, read in this view.
    pub fn shard_views(&self) -> Vec<ShardView> {
        (0..self.table.shards().len())
            .filter_map(|s| self.shard_view(s))
            .collect()
    }

    /// One shard of the table, read in this view.
    pub fn shard_view(&self, shard: usize) -> Option<ShardView> {
        let store = self.table.shard(shard)?;
        Some(ShardView {
            data: self.data_map(shard)?,
            indexes: store
                .maps()
                .filter_map(|(id, _)| match id {
                    MapId::Index(i) => Some((i, self.map_view(shard, id)?)),
                    MapId::Data => None,
                })
                .collect(),
        })
    }

    /// The data map of one shard.
    pub fn data_map(&self, shard: usize) -> Option<MapView> {
        self.map_view(shard, MapId::Data)
    }

    /// The map of one index in one shard.
    pub fn index_map(&self, shard: usize, index: IndexId) -> Option<MapView> {
        self.map_view(shard, MapId::Index(index))
    }

    /// One map of one shard, with the transaction's writes to it if any.
    fn map_view(&self, shard: usize, id: MapId) -> Option<MapView> {
        Some(MapView {
            map: self.table.shard(shard)?.map(id)?.clone(),
            seq: self.seq,
            overlay: self.overlay(shard, id),
            remote: self.remote.as_ref().map(|source| RemoteMap {
                source: source.clone(),
                at: MapAt {
                    table: self.table.def().id,
                    shard,
                    map: id,
                },
            }),
        })
    }
}

/// One shard read at one `seq`: its data map and index maps.
#[derive(Clone, Debug)]
pub struct ShardView {
    data: MapView,
    indexes: BTreeMap<IndexId, MapView>,
}

impl ShardView {
    /// The data map: `RawDataKey` -> row.
    pub fn data(&self) -> &MapView {
        &self.data
    }

    /// The map of one secondary index: `RawIndexKey` -> row.
    pub fn index(&self, id: IndexId) -> Option<&MapView> {
        self.indexes.get(&id)
    }
}

/// One map read at one `seq`.
#[derive(Clone)]
pub struct MapView {
    map: Arc<RowMap>,
    seq: Seq,
    /// A transaction's own writes to this map.
    overlay: Option<Arc<Memtable>>,
    /// Where the map is held when it is not in this process.
    remote: Option<RemoteMap>,
}

impl fmt::Debug for MapView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapView")
            .field("map", &self.map.counts())
            .field("seq", &self.seq)
            .finish()
    }
}

impl MapView {
    pub fn new(map: Arc<RowMap>, seq: Seq) -> MapView {
        MapView {
            map,
            seq,
            overlay: None,
            remote: None,
        }
    }

    /// Where this map is held, when not in this process: its keys are
    /// then read in chunks through the source, never from `map`.
    pub fn remote(&self) -> Option<&RemoteMap> {
        self.remote.as_ref()
    }

    pub fn seq(&self) -> Seq {
        self.seq
    }

    pub fn map(&self) -> &Arc<RowMap> {
        &self.map
    }

    /// A merging cursor over the keys between the bounds.
    pub fn cursor(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> MapCursor {
        self.map
            .cursor_with(self.overlay.as_ref(), self.seq, lower, upper, direction)
    }

    pub fn get(&self, key: &[u8]) -> Option<RowRef> {
        if let Some(entry) = self
            .overlay
            .as_ref()
            .and_then(|m| m.get(&VersionKey::new(Bytes::copy_from_slice(key), OVERLAY_SEQ)))
        {
            return entry;
        }
        self.map.get(key, self.seq)
    }

    /// Every visible key and row, ascending.
    pub fn iter(&self) -> MapCursor {
        self.cursor(Bound::Unbounded, Bound::Unbounded, Direction::Asc)
    }

    /// Visible keys (a full count).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// The local store reads chunks from its maps at the view's `seq`, the
/// same contract a remote source honours (the executor's leaves keep one
/// cursor open over a local map instead, which is faster than one seek
/// per chunk; this implementation is for comparing the two).
impl ChunkSource for StoreState {
    fn chunk(
        &self,
        at: MapAt,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(Bytes, RowRef)>, SourceError> {
        let table = self
            .table_by_id(at.table)
            .ok_or_else(|| SourceError::Other(format!("no table with id {}", at.table)))?;
        let map = table.map_view(at.shard, at.map).ok_or_else(|| {
            SourceError::Other(format!(
                "table `{}` has no map {:?} in shard {}",
                table.def().name,
                at.map,
                at.shard
            ))
        })?;
        Ok(map.cursor(lower, upper, direction).take(limit).collect())
    }

    fn get(&self, table: TableId, shard: usize, key: &[u8]) -> Result<Option<RowRef>, SourceError> {
        Ok(self
            .table_by_id(table)
            .and_then(|t| t.data_map(shard))
            .and_then(|m| m.get(key)))
    }
}
