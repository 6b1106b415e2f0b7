//! `Intersection`: the keys every child holds, in order, by leapfrog. Each
//! round takes the furthest head as the target and seeks every lagging
//! child to it; when all heads are equal the key is yielded. The cost
//! follows the smallest child, not the largest. A round that yields nothing
//! reports its progress as `Step::Passed`, so budgets can stop between
//! rounds. Children share one key space (primary-key order).

use std::cmp::Ordering;

use bytes::Bytes;
use keyset_store::{Direction, RowRef};

use super::{BoxStream, KeyItem, OrderedKeyStream, Position, Step};
use crate::error::ExecError;

/// A child's head: where it stands, and its row when that is a key.
struct Head {
    at: Position,
    row: Option<RowRef>,
}

/// The intersection of children in the same key space and direction.
pub struct Intersection {
    children: Vec<BoxStream>,
    heads: Vec<Option<Head>>,
    direction: Direction,
    done: bool,
}

impl std::fmt::Debug for Intersection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intersection")
            .field("children", &self.children.len())
            .field("done", &self.done)
            .finish()
    }
}

impl Intersection {
    pub fn new(children: Vec<BoxStream>, direction: Direction) -> Intersection {
        let n = children.len();
        Intersection {
            done: n == 0,
            heads: (0..n).map(|_| None).collect(),
            children,
            direction,
        }
    }

    fn compare(&self, a: &Head, b: &Head) -> Ordering {
        a.at.order(self.direction, &b.at)
    }

    fn compare_indexes(&self, a: usize, b: usize) -> Ordering {
        match (&self.heads[a], &self.heads[b]) {
            (Some(a), Some(b)) => self.compare(a, b),
            _ => Ordering::Less,
        }
    }

    /// Pulls a head for every child that has none; false when a child is
    /// exhausted (and so is the intersection).
    fn fill_heads(&mut self) -> Result<bool, ExecError> {
        for (child, head) in self.children.iter_mut().zip(self.heads.iter_mut()) {
            if head.is_some() {
                continue;
            }
            let Some(step) = child.next_key()? else {
                return Ok(false);
            };
            let (at, row) = Position::of(step);
            *head = Some(Head { at, row });
        }
        Ok(true)
    }

    /// The furthest and the first head (their indexes).
    fn extremes(&self) -> Result<(usize, usize), ExecError> {
        let mut furthest: Option<usize> = None;
        let mut first: Option<usize> = None;
        for (i, head) in self.heads.iter().enumerate() {
            let head = head
                .as_ref()
                .ok_or_else(|| ExecError::internal("an intersection child without a head"))?;
            let further = furthest
                .and_then(|f| self.heads[f].as_ref())
                .is_none_or(|f| self.compare(head, f) == Ordering::Greater);
            if further {
                furthest = Some(i);
            }
            let earlier = first
                .and_then(|f| self.heads[f].as_ref())
                .is_none_or(|f| self.compare(head, f) == Ordering::Less);
            if earlier {
                first = Some(i);
            }
        }
        furthest
            .zip(first)
            .ok_or_else(|| ExecError::internal("an intersection with no children"))
    }
}

impl OrderedKeyStream for Intersection {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        if self.done {
            return Ok(None);
        }
        if !self.fill_heads()? {
            self.done = true;
            return Ok(None);
        }
        let (furthest, first) = self.extremes()?;
        if self.compare_indexes(furthest, first) == Ordering::Equal {
            // All heads are the same key (a `Passed` head is never equal to
            // a key, and equal `Passed` heads hold no row).
            let aligned = self.heads[furthest].as_ref().is_some_and(|h| !h.at.past);
            if aligned {
                let row = self
                    .heads
                    .iter_mut()
                    .find_map(|h| h.as_mut().and_then(|h| h.row.take()));
                let key = self.heads[furthest]
                    .take()
                    .map(|h| h.at.bytes)
                    .ok_or_else(|| ExecError::internal("intersection head vanished"))?;
                // Every child moves on; the heads' slots are reused.
                self.heads.iter_mut().for_each(|h| *h = None);
                let row = row.ok_or_else(|| ExecError::internal("aligned heads without a row"))?;
                return Ok(Some(Step::Key(KeyItem { key, row })));
            }
        }
        let target = match &self.heads[furthest] {
            Some(h) => Position {
                bytes: h.at.bytes.clone(),
                past: h.at.past,
            },
            None => return Err(ExecError::internal("intersection head vanished")),
        };
        let passed = match &self.heads[first] {
            Some(h) => h.at.bytes.clone(),
            None => return Err(ExecError::internal("intersection head vanished")),
        };
        for i in 0..self.children.len() {
            let Some(head) = &self.heads[i] else {
                continue;
            };
            match head.at.order(self.direction, &target) {
                Ordering::Less => {
                    self.heads[i] = None;
                    self.children[i].seek(&target.bytes, !target.past)?;
                }
                // A child known only to be past the target is pulled again,
                // so that the next round's positions are all beyond it.
                Ordering::Equal if target.past => self.heads[i] = None,
                _ => {}
            }
        }
        Ok(Some(Step::Passed(passed)))
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        for (child, head) in self.children.iter_mut().zip(self.heads.iter_mut()) {
            let keep = head
                .as_ref()
                .is_some_and(|h| h.at.satisfies(self.direction, target, inclusive));
            if !keep {
                *head = None;
                child.seek(target, inclusive)?;
            }
        }
        Ok(())
    }

    fn buffered(&self) -> usize {
        let heads = self.heads.iter().filter(|h| h.is_some()).count();
        heads + self.children.iter().map(|c| c.buffered()).sum::<usize>()
    }

    fn prefetch(&mut self) {
        for child in &mut self.children {
            child.prefetch();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering as AtomicOrdering;

    use super::*;
    use crate::stream::testing::{drain, key, ListStream};
    use crate::stream::union::Union;

    fn boxed(direction: Direction, keys: &[u32]) -> BoxStream {
        Box::new(ListStream::new(direction, keys))
    }

    #[test]
    fn yields_the_common_keys_in_order_both_ways() {
        for direction in [Direction::Asc, Direction::Desc] {
            let mut i = Intersection::new(
                vec![
                    boxed(direction, &[1, 3, 5, 7, 9, 11]),
                    boxed(direction, &[2, 3, 4, 7, 8, 11, 12]),
                    boxed(direction, &[0, 3, 7, 10, 11]),
                ],
                direction,
            );
            let mut expected = vec![3, 7, 11];
            if direction == Direction::Desc {
                expected.reverse();
            }
            assert_eq!(drain(&mut i), expected);
        }
    }

    #[test]
    fn one_empty_child_empties_the_intersection() {
        let mut i = Intersection::new(
            vec![boxed(Direction::Asc, &[1, 2]), boxed(Direction::Asc, &[])],
            Direction::Asc,
        );
        assert!(drain(&mut i).is_empty());
    }

    #[test]
    fn cost_follows_the_smallest_child() {
        let small: Vec<u32> = (0..100).map(|k| k * 500).collect();
        let large: Vec<u32> = (0..50_000).collect();
        let large_stream = ListStream::new(Direction::Asc, &large);
        let counter = large_stream.examined.clone();
        let mut i = Intersection::new(
            vec![boxed(Direction::Asc, &small), Box::new(large_stream)],
            Direction::Asc,
        );
        assert_eq!(drain(&mut i), small);
        // The list stream counts only the keys it hands out (its seeks skip
        // for free), so this bounds the leapfrog's pulls, not the seek cost.
        assert!(counter.load(AtomicOrdering::Relaxed) <= 200);
    }

    #[test]
    fn passed_positions_of_a_union_child_are_respected() {
        // Intersection(Union(Intersection(a, b), c), d): the inner
        // intersection reports `Passed` steps through the union.
        for direction in [Direction::Asc, Direction::Desc] {
            let inner = Intersection::new(
                vec![
                    boxed(direction, &[1, 2, 3, 4, 5, 6, 20, 21]),
                    boxed(direction, &[2, 4, 6, 8, 21]),
                ],
                direction,
            );
            let union = Union::new(
                vec![Box::new(inner), boxed(direction, &[5, 9, 30])],
                direction,
            );
            let mut outer = Intersection::new(
                vec![Box::new(union), boxed(direction, &[2, 5, 8, 9, 21, 30, 31])],
                direction,
            );
            let mut expected = vec![2, 5, 9, 21, 30];
            if direction == Direction::Desc {
                expected.reverse();
            }
            assert_eq!(drain(&mut outer), expected);
        }
    }

    #[test]
    fn seek_moves_every_child() {
        let mut i = Intersection::new(
            vec![
                boxed(Direction::Asc, &[1, 3, 5, 7]),
                boxed(Direction::Asc, &[3, 5, 7]),
            ],
            Direction::Asc,
        );
        i.seek(&key(3), false).unwrap();
        assert_eq!(drain(&mut i), vec![5, 7]);
    }
}
