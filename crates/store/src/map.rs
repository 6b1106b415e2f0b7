//! `OrderedMap`: the store's one ordered map type, keyed by raw bytes.
//!
//! It wraps `crossbeam_skiplist::SkipMap` so that readers never block and
//! never take a lock, and so that the layout under it can change without
//! touching the executor. Keys compare as bytes (memcmp), never decoded.

use std::fmt;
use std::iter::Rev;
use std::ops::Bound;

use bytes::Bytes;
use crossbeam_skiplist::map::Range;
use crossbeam_skiplist::SkipMap;

/// The direction of a traversal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Ascending key order.
    Asc,
    /// Descending key order.
    Desc,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::Asc => Direction::Desc,
            Direction::Desc => Direction::Asc,
        }
    }

    /// Whether `a` comes strictly before `b` in this direction.
    pub fn precedes<T: Ord + ?Sized>(self, a: &T, b: &T) -> bool {
        match self {
            Direction::Asc => a < b,
            Direction::Desc => a > b,
        }
    }

    /// The ordering of `a` and `b` as this direction sees it.
    pub fn order<T: Ord + ?Sized>(self, a: &T, b: &T) -> std::cmp::Ordering {
        match self {
            Direction::Asc => a.cmp(b),
            Direction::Desc => b.cmp(a),
        }
    }
}

/// An ordered map from raw key bytes to `V`.
pub struct OrderedMap<V> {
    inner: SkipMap<Bytes, V>,
}

impl<V> fmt::Debug for OrderedMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderedMap")
            .field("len", &self.inner.len())
            .finish()
    }
}

impl<V: Clone + Send + Sync + 'static> Default for OrderedMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

type BytesRange<'a, V> = Range<'a, [u8], (Bound<&'a [u8]>, Bound<&'a [u8]>), Bytes, V>;

/// Entries of a key range, in one direction.
pub enum MapRange<'a, V: Send + 'static> {
    Asc(BytesRange<'a, V>),
    Desc(Rev<BytesRange<'a, V>>),
    Empty,
}

impl<V: Send + 'static> fmt::Debug for MapRange<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MapRange")
    }
}

impl<V: Clone + Send + 'static> Iterator for MapRange<'_, V> {
    type Item = (Bytes, V);

    fn next(&mut self) -> Option<(Bytes, V)> {
        let entry = match self {
            MapRange::Asc(r) => r.next(),
            MapRange::Desc(r) => r.next(),
            MapRange::Empty => None,
        }?;
        Some((entry.key().clone(), entry.value().clone()))
    }
}

impl<V: Clone + Send + Sync + 'static> OrderedMap<V> {
    pub fn new() -> OrderedMap<V> {
        OrderedMap {
            inner: SkipMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    pub fn get(&self, key: &[u8]) -> Option<V> {
        self.inner.get(key).map(|e| e.value().clone())
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.inner.contains_key(key)
    }

    /// Inserts or replaces.
    pub fn insert(&self, key: Bytes, value: V) {
        self.inner.insert(key, value);
    }

    /// Removes; returns the value that was there.
    pub fn remove(&self, key: &[u8]) -> Option<V> {
        self.inner.remove(key).map(|e| e.value().clone())
    }

    /// The entries between `lower` and `upper` in `direction`.
    pub fn range<'a>(
        &'a self,
        lower: Bound<&'a [u8]>,
        upper: Bound<&'a [u8]>,
        direction: Direction,
    ) -> MapRange<'a, V> {
        if is_empty_range(lower, upper) {
            return MapRange::Empty;
        }
        let range = self.inner.range((lower, upper));
        match direction {
            Direction::Asc => MapRange::Asc(range),
            Direction::Desc => MapRange::Desc(range.rev()),
        }
    }

    /// The first entry of the range in `direction`: a seek.
    pub fn first(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Option<(Bytes, V)> {
        self.range(lower, upper, direction).next()
    }

    /// Appends at most `max` entries of the range to `out`; returns how many.
    pub fn read_chunk(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
        max: usize,
        out: &mut impl Extend<(Bytes, V)>,
    ) -> usize {
        let mut n = 0;
        out.extend(
            self.range(lower, upper, direction)
                .take(max)
                .inspect(|_| n += 1),
        );
        n
    }

    /// Every entry, ascending (for snapshots and index builds).
    pub fn iter(&self) -> MapRange<'_, V> {
        self.range(Bound::Unbounded, Bound::Unbounded, Direction::Asc)
    }
}

/// Whether the bounds describe a range that holds no key at all.
fn is_empty_range(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_run_both_ways_and_inverted_bounds_are_empty() {
        let map = OrderedMap::new();
        for k in [1u8, 3, 5, 7] {
            map.insert(Bytes::from(vec![k]), k);
        }
        let keys = |lo, hi, dir| -> Vec<u8> { map.range(lo, hi, dir).map(|(_, v)| v).collect() };
        assert_eq!(
            keys(
                Bound::Excluded(&[1u8][..]),
                Bound::Included(&[7u8][..]),
                Direction::Desc
            ),
            vec![7, 5, 3]
        );
        assert_eq!(
            keys(
                Bound::Included(&[5u8][..]),
                Bound::Excluded(&[2u8][..]),
                Direction::Asc
            ),
            Vec::<u8>::new()
        );
        let mut out = Vec::new();
        assert_eq!(
            map.read_chunk(
                Bound::Unbounded,
                Bound::Unbounded,
                Direction::Asc,
                2,
                &mut out
            ),
            2
        );
        assert_eq!(out.len(), 2);
    }
}
