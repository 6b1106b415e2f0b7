//! `ShardMerge`: the ordered streaming shard merge, and the choice of merge
//! for a stream over several shards. A k-way heap over the per-shard
//! streams of the plan (ties broken by shard index; a key lives in one
//! shard only, so ties do not occur for data or index keys), with one
//! anchor for the whole merge: a seek moves every shard strictly past it.
//! It holds one head per shard plus each shard's chunk: memory
//! O(shards x chunk_len), whatever the table's size.
//!
//! The eager merge lives in `eager.rs`; the unordered merge, which is not
//! an ordered stream, in `unordered.rs` (the frontier page drives it).

use std::sync::Arc;

use bytes::Bytes;
use keyset_plan::MergeMode;
use keyset_store::Direction;

use super::budget::PageBudget;
use super::eager::EagerMerge;
use super::kway::KWayMerge;
use super::shard::ShardTracker;
use super::{BoxStream, OrderedKeyStream, Step};
use crate::error::ExecError;

/// Merges the per-shard streams of a plan into one ordered stream.
pub struct ShardMerge {
    merge: KWayMerge,
    tracker: Arc<ShardTracker>,
}

impl std::fmt::Debug for ShardMerge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardMerge")
            .field("shards", &self.merge.len())
            .finish()
    }
}

impl ShardMerge {
    /// Merges `shards` (input `i` is the tracker's input `i`) in `direction`.
    pub fn new(
        shards: Vec<BoxStream>,
        direction: Direction,
        tracker: Arc<ShardTracker>,
    ) -> ShardMerge {
        ShardMerge {
            merge: KWayMerge::new(shards, direction),
            tracker,
        }
    }
}

impl OrderedKeyStream for ShardMerge {
    fn direction(&self) -> Direction {
        self.merge.direction()
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        let step = self.merge.next_key()?;
        if let (Some(Step::Key(_)), Some(input)) = (&step, self.merge.last_child()) {
            self.tracker.delivered(input);
        }
        Ok(step)
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        self.merge.seek(target, inclusive)
    }

    fn buffered(&self) -> usize {
        self.merge.buffered()
    }

    fn prefetch(&mut self) {
        self.merge.prefetch();
    }
}

/// What an ordered merge of several shards needs besides its inputs.
#[derive(Debug)]
pub struct MergeSetup {
    pub direction: Direction,
    /// The mode the plan asked for. The unordered mode yields no ordered
    /// stream, so a plan that asked for it without a frontier cursor (a
    /// top-k pass) is merged in order.
    pub mode: MergeMode,
    pub tracker: Arc<ShardTracker>,
    /// Most rows an eager merge may drain.
    pub eager_limit: usize,
    /// Cancellation and deadline, which an eager drain checks.
    pub interrupt: PageBudget,
}

/// One ordered stream over the per-shard streams `shards`. One shard needs
/// no merge, whatever the mode: it streams (an observer still sees it).
pub fn merge_shards(shards: Vec<BoxStream>, setup: MergeSetup) -> BoxStream {
    match setup.mode {
        MergeMode::OrderedEager if shards.len() > 1 => Box::new(EagerMerge::new(
            shards,
            setup.direction,
            setup.eager_limit,
            setup.interrupt,
            setup.tracker,
        )),
        _ => Box::new(ShardMerge::new(shards, setup.direction, setup.tracker)),
    }
}

#[cfg(test)]
mod tests {
    use keyset_plan::Budget;

    use super::*;
    use crate::observer::CountingObserver;
    use crate::stream::shard::ShardStream;
    use crate::stream::testing::{drain, key, ListStream};

    fn setup(mode: MergeMode, direction: Direction, tracker: Arc<ShardTracker>) -> MergeSetup {
        MergeSetup {
            direction,
            mode,
            tracker,
            eager_limit: 100,
            interrupt: PageBudget::new(Budget::default(), None),
        }
    }

    #[test]
    fn merges_shards_in_order_and_seeks_all_of_them() {
        for mode in [MergeMode::OrderedStreaming, MergeMode::OrderedEager] {
            for direction in [Direction::Asc, Direction::Desc] {
                let observer = Arc::new(CountingObserver::new());
                let tracker = ShardTracker::new(vec![0, 1, 2], Some(observer.clone()));
                let lists: [&[u32]; 3] = [&[0, 3, 6, 9], &[1, 4, 7], &[2, 5, 8]];
                let shards: Vec<BoxStream> = lists
                    .iter()
                    .enumerate()
                    .map(|(i, keys)| {
                        let list = Box::new(ListStream::new(direction, keys));
                        Box::new(ShardStream::new(list, i, tracker.clone())) as BoxStream
                    })
                    .collect();
                let mut merge = merge_shards(shards, setup(mode, direction, tracker));
                merge.seek(&key(4), false).unwrap();
                let mut expected: Vec<u32> = match direction {
                    Direction::Asc => (5..10).collect(),
                    Direction::Desc => (0..4).collect(),
                };
                if direction == Direction::Desc {
                    expected.reverse();
                }
                assert_eq!(drain(merge.as_mut()), expected, "{mode:?} {direction:?}");
                assert_eq!(observer.total_delivered(), expected.len() as u64);
                assert_eq!(observer.shards_opened(), vec![0, 1, 2]);
            }
        }
    }
}
