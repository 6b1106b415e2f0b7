//! Builds the stream tree of a plan's access path for one page: the plan's
//! tree over each shard it reads (composites over children in primary-key
//! order, sorting the children that are not), merged across shards in the
//! plan's merge mode, with a `MonotonicGuard` over every composite child
//! and the root. It decides shapes only; where a page starts (the anchor
//! seek) is the materializer's call.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use keyset_plan::{AccessPath, Budget, CursorKind, MergeMode, Plan};
use keyset_store::key::{range_bounds, within};
use keyset_store::{Direction, IndexDef, RawDataKey, RawIndexKey, ShardView, TableView, Value};

use super::budget::{Meter, PageBudget};
use super::by_keys::ByKeysStream;
use super::guard::MonotonicGuard;
use super::index_range::{index_head, index_range_leaf, IndexKeys};
use super::intersection::Intersection;
use super::map_range::Chunking;
use super::primary_range::{full_scan_leaf, primary_range_leaf};
use super::shard::{ShardStream, ShardTracker};
use super::shard_merge::{merge_shards, MergeSetup};
use super::sorted_buffer::{BufferProgress, CollectionLog, Cuts, SortQuota, SortedBuffer};
use super::union::Union;
use super::{BoxStream, EmptyStream};
use crate::context::ExecContext;
use crate::cursor::CursorError;
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
    table: &'a TableView,
    plan: &'a Plan,
    ctx: &'a ExecContext,
    /// The shards the page reads (table shard numbers), in order.
    shards: Vec<usize>,
    direction: Direction,
    /// How the whole page would read: what it needs first, the largest
    /// chunk. Each shard's leaves start from a share of it (`split`).
    chunking: Chunking,
    meter: Arc<Meter>,
    merge: MergeMode,
    tracker: Arc<ShardTracker>,
    /// One quota per sort-buffered composite child, made while the first
    /// shard's tree is built and shared by that child in every shard (the
    /// trees of all shards have the same shape).
    quotas: RefCell<Vec<Arc<SortQuota>>>,
    next_quota: Cell<usize>,
    /// Where the page's sort buffers record their progress and start from
    /// (a streaming page's); without it, their collections are only
    /// interrupted (see `crate::stream::sorted_buffer`).
    collection: Option<Collection>,
    /// The number of the next sort buffer made in the shard being built.
    next_buffer: Cell<u32>,
}

/// Where a page's sort buffers keep keys from: strictly after a
/// primary-key position.
#[derive(Debug)]
pub enum CollectionAnchors {
    /// One position for every shard (an ordered page's anchor).
    Page(Option<Bytes>),
    /// A position per table shard number (a frontier page's; a shard not
    /// listed has not started).
    Shards(BTreeMap<usize, Bytes>),
}

impl CollectionAnchors {
    fn of(&self, shard: usize) -> Option<Bytes> {
        match self {
            CollectionAnchors::Page(anchor) => anchor.clone(),
            CollectionAnchors::Shards(anchors) => anchors.get(&shard).cloned(),
        }
    }
}

/// The sort buffers' side of a page.
#[derive(Debug)]
struct Collection {
    log: Arc<CollectionLog>,
    anchors: CollectionAnchors,
    /// An earlier page's progress by buffer ordinal, taken as buffers are
    /// made.
    resume: RefCell<BTreeMap<u64, BufferProgress>>,
}

impl<'a> StreamBuilder<'a> {
    /// A builder for the shards `plan` reads, traversed in `direction`;
    /// `chunking` is what the whole page would read first.
    pub fn new(
        table: &'a TableView,
        plan: &'a Plan,
        ctx: &'a ExecContext,
        direction: Direction,
        chunking: Chunking,
        meter: Arc<Meter>,
    ) -> StreamBuilder<'a> {
        let shards = plan.shards.resolve(table.shards().len());
        StreamBuilder {
            table,
            plan,
            ctx,
            tracker: ShardTracker::new(shards.clone(), ctx.observer.clone()),
            chunking,
            shards,
            direction,
            meter,
            merge: plan.merge,
            quotas: RefCell::new(Vec::new()),
            next_quota: Cell::new(0),
            collection: None,
            next_buffer: Cell::new(0),
        }
    }

    /// The same builder letting budgets cut its sort buffers' collections:
    /// they record progress in `log`, keep keys strictly after their
    /// shard's anchor and start from `resume` (by ordinal).
    pub fn cut_collections(
        mut self,
        log: Arc<CollectionLog>,
        anchors: CollectionAnchors,
        resume: BTreeMap<u64, BufferProgress>,
    ) -> StreamBuilder<'a> {
        self.collection = Some(Collection {
            log,
            anchors,
            resume: RefCell::new(resume),
        });
        self
    }

    /// Refuses a cursor whose progress names sort buffers the plan does not
    /// have (call after building).
    pub fn check_resumed(&self) -> Result<(), ExecError> {
        let Some(collection) = &self.collection else {
            return Ok(());
        };
        match collection.resume.borrow().keys().next() {
            None => Ok(()),
            Some(ordinal) => Err(ExecError::InvalidCursor(CursorError::AnchorMalformed {
                reason: format!(
                    "it carries the progress of sort buffer {} of shard {}, which the query does \
                     not have",
                    ordinal & u64::from(u32::MAX),
                    ordinal >> 32
                ),
            })),
        }
    }

    /// The same builder reading only `shards` (a frontier page leaves out
    /// the shards it finished).
    pub fn only(mut self, shards: Vec<usize>) -> StreamBuilder<'a> {
        self.tracker = ShardTracker::new(shards.clone(), self.ctx.observer.clone());
        self.shards = shards;
        self
    }

    /// The same builder merging in `merge` instead of the plan's mode.
    pub fn merged(mut self, merge: MergeMode) -> StreamBuilder<'a> {
        self.merge = merge;
        self
    }

    /// The tracker the shard streams report to (input `i` reads
    /// `shards()[i]`).
    pub fn tracker(&self) -> &Arc<ShardTracker> {
        &self.tracker
    }

    /// The guarded root stream of the plan in `space`: the one shard's
    /// tree, or the trees of every shard merged in order.
    pub fn root(&self, space: KeySpace) -> Result<BoxStream, ExecError> {
        let mut inputs = self.inputs(space, false)?;
        let stream = match inputs.len() {
            0 => Box::new(EmptyStream::new(self.direction)),
            1 if !self.tracker.observed() => inputs
                .pop()
                .ok_or_else(|| ExecError::internal("a shard stream vanished"))?,
            _ => {
                let inputs = inputs
                    .into_iter()
                    .enumerate()
                    .map(|(i, tree)| {
                        Box::new(ShardStream::new(tree, i, self.tracker.clone())) as BoxStream
                    })
                    .collect();
                merge_shards(inputs, self.setup())
            }
        };
        Ok(Box::new(MonotonicGuard::new(stream, "plan root")))
    }

    /// One guarded stream per shard, each reporting to the tracker: the
    /// inputs of an unordered merge.
    pub fn shard_streams(&self, space: KeySpace) -> Result<Vec<BoxStream>, ExecError> {
        Ok(self
            .inputs(space, true)?
            .into_iter()
            .enumerate()
            .map(|(i, tree)| Box::new(ShardStream::new(tree, i, self.tracker.clone())) as BoxStream)
            .collect())
    }

    /// The chunking of one shard's leaves.
    fn leaf_chunking(&self) -> Chunking {
        split(self.chunking, self.shards.len())
    }

    fn setup(&self) -> MergeSetup {
        let deadline = Budget {
            deadline: self.plan.budget.deadline,
            ..Budget::default()
        };
        MergeSetup {
            direction: self.direction,
            mode: self.merge,
            tracker: self.tracker.clone(),
            eager_limit: self.ctx.options.max_sort_buffer_keys,
            interrupt: PageBudget::new(deadline, self.ctx.cancel.clone()),
        }
    }

    /// The plan's tree over each shard, in shard order.
    fn inputs(&self, space: KeySpace, guarded: bool) -> Result<Vec<BoxStream>, ExecError> {
        self.shards
            .iter()
            .map(|&s| {
                self.next_quota.set(0);
                self.next_buffer.set(0);
                let shard = self.shard(s)?;
                let tree = self.tree(space, &shard, s)?;
                Ok(if guarded {
                    Box::new(MonotonicGuard::new(tree, "shard stream")) as BoxStream
                } else {
                    tree
                })
            })
            .collect()
    }

    /// The plan's tree over one shard, in `space`.
    fn tree(&self, space: KeySpace, shard: &ShardView, s: usize) -> Result<BoxStream, ExecError> {
        match (space, &self.plan.access) {
            (
                KeySpace::Index,
                AccessPath::IndexRange {
                    index,
                    prefix,
                    lower,
                    upper,
                },
            ) => self.index_range(shard, *index, (prefix, lower, upper), IndexKeys::Raw),
            (KeySpace::Index, other) => Err(ExecError::internal(format!(
                "an index-ordered root over a {other:?} path"
            ))),
            (KeySpace::PrimaryKey, path) => self.primary_order(path, shard, s),
        }
    }

    /// `path` over one shard as a stream of encoded primary keys.
    fn primary_order(
        &self,
        path: &AccessPath,
        shard: &ShardView,
        s: usize,
    ) -> Result<BoxStream, ExecError> {
        let table = self.table.def();
        Ok(match path {
            AccessPath::Empty => Box::new(EmptyStream::new(self.direction)),
            AccessPath::ByKeys(keys) => Box::new(ByKeysStream::new(
                self.table.clone(),
                keys,
                &[s],
                self.direction,
                self.meter.clone(),
            )),
            AccessPath::FullScan => Box::new(full_scan_leaf(
                shard,
                table.id,
                self.direction,
                self.leaf_chunking(),
                self.meter.clone(),
            )),
            AccessPath::PrimaryRange {
                prefix,
                lower,
                upper,
            } => Box::new(primary_range_leaf(
                shard,
                table.id,
                prefix,
                lower.as_ref(),
                upper.as_ref(),
                self.direction,
                self.leaf_chunking(),
                self.meter.clone(),
            )),
            AccessPath::IndexRange {
                index,
                prefix,
                lower,
                upper,
            } => {
                let range = (prefix.as_slice(), lower, upper);
                if path.yields_primary_key_order(table) {
                    self.index_range(shard, *index, range, IndexKeys::PrimaryKey)?
                } else {
                    self.sorted_index_range(shard, s, *index, range)?
                }
            }
            AccessPath::Union(children) => Box::new(Union::new(
                self.children(children, shard, s)?,
                self.direction,
            )),
            AccessPath::Intersection(children) => Box::new(Intersection::new(
                self.children(children, shard, s)?,
                self.direction,
            )),
        })
    }

    fn children(
        &self,
        children: &[AccessPath],
        shard: &ShardView,
        s: usize,
    ) -> Result<Vec<BoxStream>, ExecError> {
        children
            .iter()
            .map(|child| {
                let stream = self.primary_order(child, shard, s)?;
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
        shard: &ShardView,
        id: keyset_store::IndexId,
        (prefix, lower, upper): Range<'_>,
        keys: IndexKeys,
    ) -> Result<BoxStream, ExecError> {
        let index = self.index(id)?;
        Ok(Box::new(index_range_leaf(
            shard,
            self.table.def(),
            index,
            (prefix, lower.as_ref(), upper.as_ref()),
            keys,
            self.direction,
            self.leaf_chunking(),
            self.meter.clone(),
        )?))
    }

    /// An index range of one shard that is not in primary-key order,
    /// collected and sorted by primary key.
    fn sorted_index_range(
        &self,
        shard: &ShardView,
        s: usize,
        id: keyset_store::IndexId,
        (prefix, lower, upper): Range<'_>,
    ) -> Result<BoxStream, ExecError> {
        let index = self.index(id)?;
        let table = self.table.def();
        let chunking = Chunking::new(self.chunking.max_len, self.chunking.max_len);
        // A collection budgets may cut reads no further than they allow;
        // one that must finish reads in the largest chunks.
        let chunking = match self.collection {
            Some(_) => chunking,
            None => chunking.unbudgeted(),
        };
        let leaf = {
            let (shard, table, index) = (shard.clone(), table.clone(), index.clone());
            let (prefix, lower, upper) = (prefix.to_vec(), lower.clone(), upper.clone());
            let meter = self.meter.clone();
            move || -> Result<BoxStream, ExecError> {
                Ok(Box::new(index_range_leaf(
                    &shard,
                    &table,
                    &index,
                    (&prefix, lower.as_ref(), upper.as_ref()),
                    IndexKeys::Raw,
                    Direction::Asc,
                    chunking,
                    meter.clone(),
                )?))
            }
        };
        let buffer = SortedBuffer::new(
            vec![leaf()?],
            &index.name,
            self.direction,
            self.quota(),
            self.meter.clone(),
        );
        let Some(collection) = &self.collection else {
            return Ok(Box::new(buffer));
        };
        // Numbered within the shard (table shard number in the high half),
        // so that a buffer keeps its number whichever shards a page reads.
        let local = self.next_buffer.get();
        self.next_buffer.set(local + 1);
        let ordinal = (s as u64) << 32 | u64::from(local);
        let resume = collection.resume.borrow_mut().remove(&ordinal);
        if let Some(scan) = resume.as_ref().and_then(|r| r.scan.as_ref()) {
            let head = index_head(table, index);
            let header =
                RawIndexKey::decode_header(scan).map_err(|e| CursorError::AnchorMalformed {
                    reason: format!("a sort buffer's scan position does not decode: {e}"),
                })?;
            let (low, high) = range_bounds(&head, prefix, lower.as_ref(), upper.as_ref());
            if header.index != index.id || !within(scan, &low, &high) {
                return Err(ExecError::InvalidCursor(CursorError::AnchorOutOfBounds));
            }
        }
        let budget = Budget {
            max_bytes: None,
            ..self.plan.budget
        };
        let cuts = Cuts {
            ordinal,
            log: collection.log.clone(),
            budget: PageBudget::new(budget, self.ctx.cancel.clone()),
            anchor: collection.anchors.of(s),
            data: shard.data().clone(),
            table_prefix: Bytes::copy_from_slice(&RawDataKey::table_prefix(table.id)),
            reopen: Box::new(leaf),
            resume,
        };
        Ok(Box::new(buffer.with_cuts(cuts)?))
    }

    /// The quota of the next sort-buffered child of the tree being built.
    fn quota(&self) -> Arc<SortQuota> {
        let at = self.next_quota.get();
        self.next_quota.set(at + 1);
        let mut quotas = self.quotas.borrow_mut();
        if let Some(quota) = quotas.get(at) {
            return quota.clone();
        }
        let quota = SortQuota::new(self.ctx.options.max_sort_buffer_keys);
        quotas.push(quota.clone());
        quota
    }

    fn shard(&self, shard: usize) -> Result<ShardView, ExecError> {
        self.table.shard_view(shard).ok_or_else(|| {
            ExecError::internal(format!(
                "shard {shard} of table `{}` does not exist",
                self.table.def().name
            ))
        })
    }
}

/// The bounds of an index range as the plan holds them.
type Range<'p> = (&'p [Value], &'p Bound<Value>, &'p Bound<Value>);

/// The chunking of each of `shards` shards when the page would read
/// `chunking.first_len` keys first: that need split evenly (a merge takes
/// rows from every shard), each shard growing from there as it is read.
fn split(chunking: Chunking, shards: usize) -> Chunking {
    if shards <= 1 {
        return chunking;
    }
    Chunking {
        first_len: chunking.first_len.div_ceil(shards).max(1),
        ..chunking
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_chunk_is_split_between_the_shards() {
        let page = Chunking::new(101, 256);
        assert_eq!(split(page, 1).first_len, 101);
        assert_eq!(split(page, 4).first_len, 26);
        assert_eq!(split(page, 8).max_len, 256);
        assert_eq!(split(Chunking::new(2, 256), 8).first_len, 1);
    }
}
