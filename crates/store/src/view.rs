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
use crate::lsm::{MapCursor, Seq};
use crate::map::Direction;
use crate::row::RowRef;
use crate::table::{MapId, RowMap, TableStore};

/// The schema and the maps at one moment; replaced by DDL, freezes,
/// flushes and merges, shared by every view published in between.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    pub(crate) catalog: Catalog,
    pub(crate) tables: HashMap<TableId, Arc<TableStore>>,
}

/// The store at one moment: the layout and the published `seq`.
#[derive(Debug, Default)]
pub struct StoreState {
    pub(crate) layout: Arc<Layout>,
    pub(crate) seq: Seq,
}

/// A consistent view: one atomic load of the published state.
pub type ReadView = Arc<StoreState>;

impl StoreState {
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
        TableView { table, seq }
    }

    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// The row under a data key in this view.
    pub fn get(&self, key: &RawDataKey) -> Option<RowRef> {
        self.table.get(key, self.seq)
    }

    /// Rows in all shards in this view (a full count).
    pub fn len(&self) -> usize {
        self.table.count_rows(self.seq)
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
            data: MapView::new(store.data().clone(), self.seq),
            indexes: store
                .maps()
                .filter_map(|(id, m)| match id {
                    MapId::Index(i) => Some((i, MapView::new(m.clone(), self.seq))),
                    MapId::Data => None,
                })
                .collect(),
        })
    }

    /// The data map of one shard.
    pub fn data_map(&self, shard: usize) -> Option<MapView> {
        let map = self.table.shard(shard)?.data().clone();
        Some(MapView { map, seq: self.seq })
    }

    /// The map of one index in one shard.
    pub fn index_map(&self, shard: usize, index: IndexId) -> Option<MapView> {
        let map = self.table.shard(shard)?.index(index)?.clone();
        Some(MapView { map, seq: self.seq })
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
        MapView { map, seq }
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
        self.map.cursor(self.seq, lower, upper, direction)
    }

    pub fn get(&self, key: &[u8]) -> Option<RowRef> {
        self.map.get(key, self.seq)
    }

    /// Every visible key and row, ascending.
    pub fn iter(&self) -> MapCursor {
        self.cursor(Bound::Unbounded, Bound::Unbounded, Direction::Asc)
    }

    /// Visible keys (a full count).
    pub fn len(&self) -> usize {
        self.map.count_visible(self.seq)
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}
