//! The k-way merge core shared by `Union` and `ShardMerge`: a heap of child
//! positions in the merge direction. Each step yields the first position;
//! a key is yielded once and every child whose head equals it advances.
//! A child's `Passed` position is kept as "somewhere after these bytes" and
//! passed on when it is the first position of all.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use bytes::Bytes;
use keyset_store::{Direction, RowRef};

use super::{BoxStream, KeyItem, Position, Step};
use crate::error::ExecError;

/// One child's head in the heap.
struct Head {
    at: Position,
    child: usize,
    direction: Direction,
}

impl Head {
    fn order(&self, other: &Head) -> Ordering {
        self.at
            .order(self.direction, &other.at)
            .then(self.child.cmp(&other.child))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.order(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    /// Reversed: `BinaryHeap` is a max-heap, the merge wants the first
    /// position on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other.order(self)
    }
}

/// A k-way merge of children in one direction.
pub(crate) struct KWayMerge {
    children: Vec<BoxStream>,
    /// The row of each child whose head in the heap is a key.
    rows: Vec<Option<RowRef>>,
    heap: BinaryHeap<Head>,
    /// Children to pull before the next decision.
    pending: Vec<usize>,
    direction: Direction,
    /// The child of the last step yielded.
    last: Option<usize>,
}

impl KWayMerge {
    pub(crate) fn new(children: Vec<BoxStream>, direction: Direction) -> KWayMerge {
        let n = children.len();
        KWayMerge {
            rows: vec![None; n],
            heap: BinaryHeap::with_capacity(n),
            pending: (0..n).collect(),
            children,
            direction,
            last: None,
        }
    }

    pub(crate) fn direction(&self) -> Direction {
        self.direction
    }

    pub(crate) fn len(&self) -> usize {
        self.children.len()
    }

    /// The child whose head the last `next_key` yielded.
    pub(crate) fn last_child(&self) -> Option<usize> {
        self.last
    }

    /// Heads in the heap and what the children hold.
    pub(crate) fn buffered(&self) -> usize {
        self.heap.len() + self.children.iter().map(|c| c.buffered()).sum::<usize>()
    }

    /// Asks every child to start reading its next chunk (see
    /// `OrderedKeyStream::prefetch`).
    pub(crate) fn prefetch(&mut self) {
        for child in &mut self.children {
            child.prefetch();
        }
    }

    fn pull_pending(&mut self) -> Result<(), ExecError> {
        if self.pending.len() > 1 {
            // Several children are pulled before the next decision: let the
            // remote ones have their round trips in flight together.
            for &child in &self.pending {
                if let Some(stream) = self.children.get_mut(child) {
                    stream.prefetch();
                }
            }
        }
        while let Some(child) = self.pending.pop() {
            let Some(stream) = self.children.get_mut(child) else {
                continue;
            };
            if let Some(step) = stream.next_key()? {
                let (at, row) = Position::of(step);
                self.rows[child] = row;
                self.heap.push(Head {
                    at,
                    child,
                    direction: self.direction,
                });
            }
        }
        Ok(())
    }

    pub(crate) fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        self.pull_pending()?;
        let Some(top) = self.heap.pop() else {
            return Ok(None);
        };
        // Every other head at the same bytes advances with this one: for a
        // key that is the union's dedupe step; for a `Passed` position
        // (the heap puts a key before a `Passed` of the same bytes, so all
        // of them are `Passed`) it keeps positions strictly increasing.
        while let Some(same) = self.heap.peek() {
            if same.at.bytes != top.at.bytes {
                break;
            }
            if let Some(same) = self.heap.pop() {
                self.rows[same.child] = None;
                self.pending.push(same.child);
            }
        }
        self.pending.push(top.child);
        self.last = Some(top.child);
        if top.at.past {
            return Ok(Some(Step::Passed(top.at.bytes)));
        }
        let row = self.rows[top.child].take().ok_or_else(|| {
            ExecError::internal("a merge head without its row (k-way merge bookkeeping)")
        })?;
        Ok(Some(Step::Key(KeyItem {
            key: top.at.bytes,
            row,
        })))
    }

    pub(crate) fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        let heads = std::mem::take(&mut self.heap).into_vec();
        for head in heads {
            if head.at.satisfies(self.direction, target, inclusive) {
                self.heap.push(head);
            } else {
                self.rows[head.child] = None;
                self.pending.push(head.child);
            }
        }
        for &child in &self.pending {
            if let Some(stream) = self.children.get_mut(child) {
                stream.seek(target, inclusive)?;
            }
        }
        Ok(())
    }
}
