//! Ordered key streams: the leaves that read one map range each, and the
//! operators (shard merge, union, intersection, sort buffer, guard) that
//! combine them. Streams yield keys with their row's `Arc` in strict order
//! and never decide what a page is: the filter, offset, limit, budgets and
//! cursors belong to the page materializer (`crate::page`).

pub mod budget;
pub mod build;
pub mod by_keys;
mod channel;
pub mod eager;
pub mod guard;
pub mod index_range;
pub mod intersection;
mod kway;
pub mod map_range;
pub mod primary_range;
pub mod shard;
pub mod shard_merge;
pub mod sorted_buffer;
pub mod union;
pub mod unordered;

use std::cmp::Ordering;

use bytes::Bytes;
use keyset_store::{Direction, RowRef};

use crate::error::ExecError;

/// One key of a stream and the row it leads to.
///
/// The key is in the stream's key space: a `RawIndexKey` for an index range
/// read in index order, or the encoded primary key (a `RawDataKey` without
/// its table id) for everything in primary-key order.
#[derive(Clone, Debug)]
pub struct KeyItem {
    pub key: Bytes,
    pub row: RowRef,
}

/// What one call of [`OrderedKeyStream::next_key`] produced.
#[derive(Clone, Debug)]
pub enum Step {
    /// The next key of the stream.
    Key(KeyItem),
    /// The stream worked past this position without finding a key to yield
    /// (an intersection whose children did not align): every key of the
    /// stream up to and including it has been yielded already. It lets a
    /// budget stop a page in the middle of such work and still resume with
    /// `Excluded(position)` without losing a key.
    Passed(Bytes),
}

impl Step {
    /// The stream position this step reached.
    pub fn position(&self) -> &Bytes {
        match self {
            Step::Key(item) => &item.key,
            Step::Passed(position) => position,
        }
    }
}

/// A stream of keys in strict order.
///
/// Contract: the positions of successive steps (keys and `Passed`
/// positions) advance strictly in [`direction`](Self::direction). After
/// `seek(target, inclusive)`, every later step is at or past `target`
/// (inclusive) or strictly past it; a seek to a target the stream has
/// already passed changes nothing. Streams are `Send + 'static`: they hold
/// `Arc`s of the maps they read, never borrows.
pub trait OrderedKeyStream: Send {
    /// The order keys come out in.
    fn direction(&self) -> Direction;

    /// The next step, or `None` when the stream is exhausted.
    fn next_key(&mut self) -> Result<Option<Step>, ExecError>;

    /// Positions the stream so that its next key is the first one at or past
    /// `target` (`inclusive`) or strictly past it.
    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError>;

    /// Keys (with their rows) the stream holds read but not yet yielded:
    /// chunks, heads, sort buffers. Only merge observers ask (see
    /// `crate::observer`); a stream that holds nothing keeps the default.
    fn buffered(&self) -> usize {
        0
    }

    /// Starts reading the stream's next chunk in the background if it has
    /// nothing buffered and reads from a remote source, so that a merge can
    /// have every shard's round trip in flight at once before it pulls the
    /// first of them. Operators pass it to their children; local leaves
    /// (and the default) do nothing.
    fn prefetch(&mut self) {}
}

/// A boxed stream, as operators hold their children.
pub type BoxStream = Box<dyn OrderedKeyStream>;

/// Whether `key` is at or past `target` (`inclusive`), or strictly past it,
/// in `direction`.
pub fn reaches(direction: Direction, key: &[u8], target: &[u8], inclusive: bool) -> bool {
    match direction.order(key, target) {
        Ordering::Greater => true,
        Ordering::Equal => inclusive,
        Ordering::Less => false,
    }
}

/// Where a child of a composite stream (a k-way merge, an intersection)
/// stands: at a key it yielded, or, from a [`Step::Passed`], somewhere
/// strictly after `bytes`.
#[derive(Debug)]
pub(crate) struct Position {
    pub bytes: Bytes,
    pub past: bool,
}

impl Position {
    /// The position a step leaves its stream at, and the step's row when it
    /// is a key.
    pub(crate) fn of(step: Step) -> (Position, Option<RowRef>) {
        match step {
            Step::Key(item) => (
                Position {
                    bytes: item.key,
                    past: false,
                },
                Some(item.row),
            ),
            Step::Passed(bytes) => (Position { bytes, past: true }, None),
        }
    }

    /// The order of two positions in `direction`: a `past` position comes
    /// after the key with the same bytes.
    pub(crate) fn order(&self, direction: Direction, other: &Position) -> Ordering {
        direction
            .order(&self.bytes[..], &other.bytes[..])
            .then(self.past.cmp(&other.past))
    }

    /// Whether a child standing here needs no seek to honour
    /// `seek(target, inclusive)`.
    pub(crate) fn satisfies(&self, direction: Direction, target: &[u8], inclusive: bool) -> bool {
        // A `past` child's next key is strictly after `bytes`, so even an
        // equal `bytes` lies beyond an inclusive target.
        reaches(direction, &self.bytes, target, inclusive || self.past)
    }
}

/// A stream with no keys (an access path no row can match).
#[derive(Debug)]
pub struct EmptyStream {
    direction: Direction,
}

impl EmptyStream {
    pub fn new(direction: Direction) -> EmptyStream {
        EmptyStream { direction }
    }
}

impl OrderedKeyStream for EmptyStream {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        Ok(None)
    }

    fn seek(&mut self, _target: &Bytes, _inclusive: bool) -> Result<(), ExecError> {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A stream over a fixed list of keys, for the operators' unit tests.
    use std::collections::VecDeque;
    use std::sync::Arc;

    use bytes::Bytes;
    use keyset_store::{Direction, Row, Value};

    use super::{reaches, KeyItem, OrderedKeyStream, Step};
    use crate::error::ExecError;

    /// Yields `keys` (sorted into `direction`) with a dummy row each, and
    /// counts the keys it handed out or skipped (its "examined" keys).
    pub struct ListStream {
        direction: Direction,
        keys: VecDeque<Bytes>,
        pub examined: Arc<std::sync::atomic::AtomicU64>,
    }

    impl ListStream {
        pub fn new(direction: Direction, keys: &[u32]) -> ListStream {
            let mut sorted: Vec<u32> = keys.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            if direction == Direction::Desc {
                sorted.reverse();
            }
            ListStream {
                direction,
                keys: sorted.iter().map(|k| key(*k)).collect(),
                examined: Arc::default(),
            }
        }
    }

    pub fn key(k: u32) -> Bytes {
        Bytes::copy_from_slice(&k.to_be_bytes())
    }

    pub fn decode(key: &[u8]) -> u32 {
        let mut buf = [0u8; 4];
        buf.copy_from_slice(&key[..4]);
        u32::from_be_bytes(buf)
    }

    impl OrderedKeyStream for ListStream {
        fn direction(&self) -> Direction {
            self.direction
        }

        fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
            let Some(key) = self.keys.pop_front() else {
                return Ok(None);
            };
            self.examined
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let row = Arc::new(Row::new(vec![Value::Int(i64::from(decode(&key)))]));
            Ok(Some(Step::Key(KeyItem { key, row })))
        }

        fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
            while let Some(front) = self.keys.front() {
                if reaches(self.direction, front, target, inclusive) {
                    break;
                }
                self.keys.pop_front();
            }
            Ok(())
        }

        fn buffered(&self) -> usize {
            self.keys.len()
        }
    }

    /// Drains a stream into its keys, ignoring `Passed` steps.
    pub fn drain(stream: &mut dyn OrderedKeyStream) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(step) = stream.next_key().unwrap() {
            if let Step::Key(item) = step {
                out.push(decode(&item.key));
            }
        }
        out
    }
}
