//! `Union`: the keys of any child, each once, in order. A k-way heap merge:
//! each step yields the first head (smallest ascending, largest descending)
//! and advances every child whose head equals it. Children must share one
//! key space (primary-key order); the union never looks at rows.

use bytes::Bytes;
use keyset_store::Direction;

use super::kway::KWayMerge;
use super::{BoxStream, OrderedKeyStream, Step};
use crate::error::ExecError;

/// The union of children in the same key space and direction.
pub struct Union {
    merge: KWayMerge,
}

impl std::fmt::Debug for Union {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Union")
            .field("children", &self.merge.len())
            .finish()
    }
}

impl Union {
    pub fn new(children: Vec<BoxStream>, direction: Direction) -> Union {
        Union {
            merge: KWayMerge::new(children, direction),
        }
    }
}

impl OrderedKeyStream for Union {
    fn direction(&self) -> Direction {
        self.merge.direction()
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        self.merge.next_key()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::testing::{drain, key, ListStream};

    fn union(direction: Direction, sets: &[&[u32]]) -> Union {
        let children = sets
            .iter()
            .map(|keys| Box::new(ListStream::new(direction, keys)) as BoxStream)
            .collect();
        Union::new(children, direction)
    }

    #[test]
    fn yields_each_key_once_in_order_both_ways() {
        let sets: &[&[u32]] = &[&[1, 4, 7], &[2, 4, 9], &[], &[7, 8]];
        assert_eq!(
            drain(&mut union(Direction::Asc, sets)),
            vec![1, 2, 4, 7, 8, 9]
        );
        assert_eq!(
            drain(&mut union(Direction::Desc, sets)),
            vec![9, 8, 7, 4, 2, 1]
        );
        assert!(drain(&mut union(Direction::Asc, &[])).is_empty());
    }

    #[test]
    fn seek_is_pushed_into_every_child() {
        let mut u = union(Direction::Asc, &[&[1, 4, 7], &[2, 4, 9]]);
        u.seek(&key(4), false).unwrap();
        assert_eq!(drain(&mut u), vec![7, 9]);
        let mut u = union(Direction::Desc, &[&[1, 4, 7], &[2, 4, 9]]);
        u.seek(&key(4), true).unwrap();
        assert_eq!(drain(&mut u), vec![4, 2, 1]);
    }
}
