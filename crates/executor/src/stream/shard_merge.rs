//! `ShardMerge`: one ordered stream over the same leaf in several shards.
//! An ordered k-way heap over per-shard chunked streams, ties broken by
//! shard index (a key lives in one shard only, so ties do not occur for
//! data or index keys), with one anchor for the whole merge: a seek moves
//! every shard strictly past it. Memory is O(shards x chunk).
//!
//! Every `MergeMode` runs as ordered streaming for now: the query's order
//! and single-anchor cursors hold for all of them. Unordered streaming,
//! ordered eager, observers and cancellation inside the merge belong here
//! when they come (see `docs/pagination.md`).

use bytes::Bytes;
use keyset_plan::MergeMode;
use keyset_store::Direction;

use super::kway::KWayMerge;
use super::{BoxStream, OrderedKeyStream, Step};
use crate::error::ExecError;

/// Merges per-shard streams of one leaf into one ordered stream.
pub struct ShardMerge {
    merge: KWayMerge,
    mode: MergeMode,
}

impl std::fmt::Debug for ShardMerge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardMerge")
            .field("shards", &self.merge.len())
            .field("mode", &self.mode)
            .finish()
    }
}

impl ShardMerge {
    /// The merge the plan asked for (`mode`), run as ordered streaming.
    pub fn new(shards: Vec<BoxStream>, direction: Direction, mode: MergeMode) -> ShardMerge {
        ShardMerge {
            merge: KWayMerge::new(shards, direction),
            mode,
        }
    }

    /// The merge mode the plan asked for.
    pub fn mode(&self) -> MergeMode {
        self.mode
    }
}

/// One stream over `shards`: the single shard itself, or their merge.
pub fn merge_shards(
    mut shards: Vec<BoxStream>,
    direction: Direction,
    mode: MergeMode,
) -> BoxStream {
    if shards.len() == 1 {
        if let Some(only) = shards.pop() {
            return only;
        }
    }
    Box::new(ShardMerge::new(shards, direction, mode))
}

impl OrderedKeyStream for ShardMerge {
    fn direction(&self) -> Direction {
        self.merge.direction()
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        self.merge.next_key()
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        self.merge.seek(target, inclusive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::testing::{drain, key, ListStream};

    #[test]
    fn merges_shards_in_order_and_seeks_all_of_them() {
        for direction in [Direction::Asc, Direction::Desc] {
            let shards: Vec<BoxStream> = vec![
                Box::new(ListStream::new(direction, &[0, 3, 6, 9])),
                Box::new(ListStream::new(direction, &[1, 4, 7])),
                Box::new(ListStream::new(direction, &[2, 5, 8])),
            ];
            let mut merge = merge_shards(shards, direction, MergeMode::OrderedStreaming);
            merge.seek(&key(4), false).unwrap();
            let mut expected: Vec<u32> = match direction {
                Direction::Asc => (5..10).collect(),
                Direction::Desc => (0..4).collect(),
            };
            if direction == Direction::Desc {
                expected.reverse();
            }
            assert_eq!(drain(merge.as_mut()), expected);
        }
    }
}
