//! `EagerMerge`: the ordered eager shard merge, for small results. At its
//! first step it drains every shard stream (from where the seeks put them,
//! so only rows past the anchor), then sorts what it drained and yields it
//! in order. Memory is the rest of the result, bounded by
//! `max_sort_buffer_keys` (`ExecError::EagerMergeTooLarge` past it). The
//! drain cannot be cut short without changing the result, so cancellation
//! or the deadline during it fail the page with `ExecError::Interrupted`.

use std::sync::Arc;

use bytes::Bytes;
use keyset_store::Direction;

use super::budget::PageBudget;
use super::shard::ShardTracker;
use super::{reaches, BoxStream, KeyItem, OrderedKeyStream, Step};
use crate::error::ExecError;

/// Drains every shard, then yields the rows sorted.
pub struct EagerMerge {
    inputs: Vec<BoxStream>,
    direction: Direction,
    limit: usize,
    interrupt: PageBudget,
    tracker: Arc<ShardTracker>,
    /// The drained rows, sorted, with the input each came from.
    sorted: std::vec::IntoIter<(KeyItem, usize)>,
    drained: bool,
}

impl std::fmt::Debug for EagerMerge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EagerMerge")
            .field("shards", &self.tracker.len())
            .field("drained", &self.drained)
            .field("left", &self.sorted.len())
            .finish()
    }
}

impl EagerMerge {
    /// Merges `inputs` in `direction`, holding at most `limit` rows.
    pub fn new(
        inputs: Vec<BoxStream>,
        direction: Direction,
        limit: usize,
        interrupt: PageBudget,
        tracker: Arc<ShardTracker>,
    ) -> EagerMerge {
        EagerMerge {
            inputs,
            direction,
            limit,
            interrupt,
            tracker,
            sorted: Vec::new().into_iter(),
            drained: false,
        }
    }

    fn drain(&mut self) -> Result<(), ExecError> {
        self.drained = true;
        let mut rows: Vec<(KeyItem, usize)> = Vec::new();
        for stream in &mut self.inputs {
            stream.prefetch();
        }
        for (input, stream) in self.inputs.iter_mut().enumerate() {
            while let Some(step) = stream.next_key()? {
                if let Some(reason) = self.interrupt.interrupted() {
                    return Err(ExecError::Interrupted {
                        reason,
                        phase: "draining the shards of an eager merge",
                    });
                }
                // A `Passed` position holds no row; every row is yielded
                // from the sorted buffer, so it carries nothing to keep.
                let Step::Key(item) = step else {
                    continue;
                };
                if rows.len() == self.limit {
                    return Err(ExecError::EagerMergeTooLarge {
                        limit: self.limit,
                        shards: self.tracker.len(),
                    });
                }
                rows.push((item, input));
                self.tracker.grow(1);
            }
        }
        // The shard streams are done; what they held goes with them.
        self.inputs.clear();
        let direction = self.direction;
        rows.sort_unstable_by(|a, b| direction.order(&a.0.key, &b.0.key));
        self.sorted = rows.into_iter();
        Ok(())
    }
}

impl OrderedKeyStream for EagerMerge {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        if !self.drained {
            self.drain()?;
        }
        let Some((item, input)) = self.sorted.next() else {
            return Ok(None);
        };
        self.tracker.shrink(1);
        self.tracker.delivered(input);
        Ok(Some(Step::Key(item)))
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        if !self.drained {
            for input in &mut self.inputs {
                input.seek(target, inclusive)?;
            }
            return Ok(());
        }
        let behind = self
            .sorted
            .as_slice()
            .partition_point(|(item, _)| !reaches(self.direction, &item.key, target, inclusive));
        if behind > 0 {
            self.sorted.nth(behind - 1);
            self.tracker.shrink(behind);
        }
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.sorted.len() + self.inputs.iter().map(|s| s.buffered()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use keyset_plan::Budget;

    use super::*;
    use crate::context::CancelToken;
    use crate::stop::StopReason;
    use crate::stream::testing::{drain, ListStream};

    fn lists(direction: Direction) -> Vec<BoxStream> {
        vec![
            Box::new(ListStream::new(direction, &[5, 1, 9])),
            Box::new(ListStream::new(direction, &[])),
            Box::new(ListStream::new(direction, &[2, 8])),
        ]
    }

    fn eager(limit: usize, cancel: Option<CancelToken>) -> EagerMerge {
        EagerMerge::new(
            lists(Direction::Desc),
            Direction::Desc,
            limit,
            PageBudget::new(Budget::default(), cancel),
            ShardTracker::new(vec![0, 1, 2], None),
        )
    }

    #[test]
    fn drains_then_yields_in_order() {
        assert_eq!(drain(&mut eager(5, None)), vec![9, 8, 5, 2, 1]);
    }

    #[test]
    fn more_rows_than_the_limit_is_a_typed_error() {
        let err = eager(4, None).next_key().unwrap_err();
        assert!(
            matches!(
                err,
                ExecError::EagerMergeTooLarge {
                    limit: 4,
                    shards: 3
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("merge = 'ordered'"), "{err}");
    }

    #[test]
    fn cancellation_during_the_drain_interrupts_the_page() {
        let cancel = CancelToken::new();
        cancel.cancel();
        let err = eager(5, Some(cancel)).next_key().unwrap_err();
        assert!(
            matches!(
                err,
                ExecError::Interrupted {
                    reason: StopReason::Cancelled,
                    ..
                }
            ),
            "{err}"
        );
    }
}
