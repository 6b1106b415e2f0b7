//! Builds the stream tree of a plan's access path for one page: a leaf per
//! shard merged by `ShardMerge`, composites over children in primary-key
//! order (sorting the children that are not), and a `MonotonicGuard` over
//! every composite child and the root. It decides shapes only; where a page
//! starts (the anchor seek) is the materializer's call.

use std::ops::Bound;
use std::sync::Arc;

use keyset_plan::{AccessPath, CursorKind, Plan};
use keyset_store::{Direction, IndexDef, TableStore, Value};

use super::budget::Meter;
use super::by_keys::ByKeysStream;
use super::guard::MonotonicGuard;
use super::index_range::{index_range_leaf, IndexKeys};
use super::intersection::Intersection;
use super::map_range::Chunking;
use super::primary_range::{full_scan_leaf, primary_range_leaf};
use super::shard_merge::merge_shards;
use super::sorted_buffer::SortedBuffer;
use super::union::Union;
use super::{BoxStream, EmptyStream};
use crate::error::ExecError;

/// The key space a plan's root stream yields (and its anchors live in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpace {
    /// Whole `RawIndexKey`s of the plan's one index range, in index order.
    Index,
    /// Encoded primary keys (a `RawDataKey` without its 4-byte table id).
    PrimaryKey,
}

impl KeySpace {
    /// The key space of `plan`'s root stream.
    pub fn of(plan: &Plan) -> Result<KeySpace, ExecError> {
        let index_path = matches!(plan.access, AccessPath::IndexRange { .. });
        match plan.cursor_kind {
            CursorKind::IndexRange | CursorKind::ShardFrontier if index_path => Ok(KeySpace::Index),
            CursorKind::IndexRange => Err(ExecError::internal(format!(
                "the plan anchors on an index range, but its access path is {:?}",
                plan.access
            ))),
            CursorKind::Sorted
                if index_path && !plan.access.yields_primary_key_order(&plan.table) =>
            {
                Ok(KeySpace::Index)
            }
            _ => Ok(KeySpace::PrimaryKey),
        }
    }
}

/// Everything needed to build the streams of one page.
#[derive(Debug)]
pub struct StreamBuilder<'a> {
    pub table: &'a Arc<TableStore>,
    pub plan: &'a Plan,
    /// The shards the plan reads, resolved against the table.
    pub shards: Vec<usize>,
    pub direction: Direction,
    pub chunking: Chunking,
    pub max_sort_buffer_keys: usize,
    pub meter: Arc<Meter>,
}

impl StreamBuilder<'_> {
    /// The guarded root stream of the plan in `space`.
    pub fn root(&self, space: KeySpace) -> Result<BoxStream, ExecError> {
        let stream = match (space, &self.plan.access) {
            (
                KeySpace::Index,
                AccessPath::IndexRange {
                    index,
                    prefix,
                    lower,
                    upper,
                },
            ) => self.index_range(*index, prefix, lower, upper, IndexKeys::Raw)?,
            (KeySpace::Index, other) => {
                return Err(ExecError::internal(format!(
                    "an index-ordered root over a {other:?} path"
                )))
            }
            (KeySpace::PrimaryKey, path) => self.primary_order(path)?,
        };
        Ok(Box::new(MonotonicGuard::new(stream, "plan root")))
    }

    /// `path` as a stream of encoded primary keys.
    fn primary_order(&self, path: &AccessPath) -> Result<BoxStream, ExecError> {
        let table = self.table.def();
        Ok(match path {
            AccessPath::Empty => Box::new(EmptyStream::new(self.direction)),
            AccessPath::ByKeys(keys) => Box::new(ByKeysStream::new(
                self.table.clone(),
                keys,
                &self.shards,
                self.direction,
                self.meter.clone(),
            )),
            AccessPath::FullScan => self.per_shard(|shard| {
                Ok(Box::new(full_scan_leaf(
                    shard,
                    table.id,
                    self.direction,
                    self.chunking,
                    self.meter.clone(),
                )))
            })?,
            AccessPath::PrimaryRange {
                prefix,
                lower,
                upper,
            } => self.per_shard(|shard| {
                Ok(Box::new(primary_range_leaf(
                    shard,
                    table.id,
                    prefix,
                    lower.as_ref(),
                    upper.as_ref(),
                    self.direction,
                    self.chunking,
                    self.meter.clone(),
                )))
            })?,
            AccessPath::IndexRange {
                index,
                prefix,
                lower,
                upper,
            } => {
                if path.yields_primary_key_order(table) {
                    self.index_range(*index, prefix, lower, upper, IndexKeys::PrimaryKey)?
                } else {
                    self.sorted_index_range(*index, prefix, lower, upper)?
                }
            }
            AccessPath::Union(children) => {
                Box::new(Union::new(self.children(children)?, self.direction))
            }
            AccessPath::Intersection(children) => {
                Box::new(Intersection::new(self.children(children)?, self.direction))
            }
        })
    }

    fn children(&self, children: &[AccessPath]) -> Result<Vec<BoxStream>, ExecError> {
        children
            .iter()
            .map(|child| {
                let stream = self.primary_order(child)?;
                Ok(Box::new(MonotonicGuard::new(stream, "composite child")) as BoxStream)
            })
            .collect()
    }

    fn index(&self, id: keyset_store::IndexId) -> Result<&IndexDef, ExecError> {
        let table = self.table.def();
        table
            .index_by_id(id)
            .ok_or_else(|| ExecError::SchemaChanged {
                table: table.name.clone(),
                planned: self.plan.table.generation,
                current: table.generation,
            })
    }

    fn index_range(
        &self,
        id: keyset_store::IndexId,
        prefix: &[Value],
        lower: &Bound<Value>,
        upper: &Bound<Value>,
        keys: IndexKeys,
    ) -> Result<BoxStream, ExecError> {
        let index = self.index(id)?;
        self.per_shard(|shard| {
            Ok(Box::new(index_range_leaf(
                shard,
                self.table.def(),
                index,
                (prefix, lower.as_ref(), upper.as_ref()),
                keys,
                self.direction,
                self.chunking,
                self.meter.clone(),
            )?))
        })
    }

    /// An index range that is not in primary-key order, collected from
    /// every shard and sorted by primary key.
    fn sorted_index_range(
        &self,
        id: keyset_store::IndexId,
        prefix: &[Value],
        lower: &Bound<Value>,
        upper: &Bound<Value>,
    ) -> Result<BoxStream, ExecError> {
        let index = self.index(id)?;
        let chunking = Chunking::new(self.chunking.max_len, self.chunking.max_len).unbudgeted();
        let sources = self
            .shards
            .iter()
            .map(|&s| {
                let shard = self.shard(s)?;
                let leaf = index_range_leaf(
                    shard,
                    self.table.def(),
                    index,
                    (prefix, lower.as_ref(), upper.as_ref()),
                    IndexKeys::Raw,
                    Direction::Asc,
                    chunking,
                    self.meter.clone(),
                )?;
                Ok(Box::new(leaf) as BoxStream)
            })
            .collect::<Result<Vec<_>, ExecError>>()?;
        Ok(Box::new(SortedBuffer::new(
            sources,
            &index.name,
            self.direction,
            self.max_sort_buffer_keys,
            self.meter.clone(),
        )))
    }

    fn shard(&self, shard: usize) -> Result<&keyset_store::ShardStore, ExecError> {
        self.table.shard(shard).ok_or_else(|| {
            ExecError::internal(format!(
                "shard {shard} of table `{}` does not exist",
                self.table.def().name
            ))
        })
    }

    /// One leaf per shard the plan reads, merged in order.
    fn per_shard(
        &self,
        leaf: impl Fn(&keyset_store::ShardStore) -> Result<BoxStream, ExecError>,
    ) -> Result<BoxStream, ExecError> {
        let leaves = self
            .shards
            .iter()
            .map(|&s| leaf(self.shard(s)?))
            .collect::<Result<Vec<_>, ExecError>>()?;
        if leaves.is_empty() {
            return Ok(Box::new(EmptyStream::new(self.direction)));
        }
        Ok(merge_shards(leaves, self.direction, self.plan.merge))
    }
}
