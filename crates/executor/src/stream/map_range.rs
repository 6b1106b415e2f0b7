//! The chunked reader under every range leaf: one key range of one map (a
//! shard's data map or one of its index maps) at the page's read view,
//! read through one merging cursor in chunks that start small and grow. A
//! seek moves the cursor forward from where it is (runs gallop). It yields
//! keys and row `Arc`s as stored; it never decodes a row, never looks at the
//! filter and never reads more than one chunk ahead of its consumer.
//!
//! A map held elsewhere (`MapView::remote`, a Redis Cluster shard) is read
//! the same way, one chunk per call of the remote source (one round trip),
//! each chunk starting strictly after the last key of the one before. The
//! choice between the two readers is made once per stream, never per key.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use keyset_store::{Direction, MapCursor, MapView, RemoteMap, RowRef, SourceError};

use super::budget::Meter;
use super::{reaches, KeyItem, OrderedKeyStream, Step};
use crate::error::ExecError;

/// The chunk read right after a seek jumped over unread keys: a leapfrog
/// seek usually needs one key there, and the chunk doubles if it needs more.
const SEEK_CHUNK_LEN: usize = 2;
/// The most chunk slots reserved up front (a huge `chunk_len` option grows
/// the buffer only as keys actually arrive).
const INITIAL_CAPACITY_CAP: usize = 1024;

/// How a leaf sizes its chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunking {
    /// The first chunk (for a page: about `offset + limit + 1`).
    pub first_len: usize,
    /// The largest chunk; chunks double up to it.
    pub max_len: usize,
    /// Whether chunks are capped by the scan budget left (`Meter::grant`).
    /// Off for leaves that must be read whole anyway (a sort buffer's).
    pub budgeted: bool,
}

impl Chunking {
    pub fn new(first_len: usize, max_len: usize) -> Chunking {
        let max_len = max_len.max(1);
        Chunking {
            first_len: first_len.clamp(1, max_len),
            max_len,
            budgeted: true,
        }
    }

    pub fn unbudgeted(self) -> Chunking {
        Chunking {
            budgeted: false,
            ..self
        }
    }
}

/// A chunk read by a remote source.
type Chunk = Result<Vec<(Bytes, RowRef)>, SourceError>;

/// Where a range's keys come from.
enum Reader {
    /// A map in this process: one cursor, opened at the first read from
    /// `near` to `far`, moved forward by seeks.
    Local {
        map: MapView,
        cursor: Option<MapCursor>,
    },
    /// A map held by a remote source: every chunk is read from `near`,
    /// which moves past each chunk read. `pending` is a chunk being read
    /// in the background (`prefetch`) and the number of keys it asked for.
    Remote {
        map: RemoteMap,
        pending: Option<(JoinHandle<Chunk>, usize)>,
    },
}

/// A key range of one map, read in chunks.
pub struct MapRangeStream {
    reader: Reader,
    direction: Direction,
    /// Where reading starts: the lower bound ascending, the upper bound
    /// descending. Seeks before the first read tighten it.
    near: Bound<Bytes>,
    /// The fixed end of the range.
    far: Bound<Bytes>,
    /// The bytes every key of the range starts with that are cut from the
    /// keys yielded (empty: keys are yielded whole).
    base: Bytes,
    chunk: VecDeque<(Bytes, RowRef)>,
    chunk_len: usize,
    chunking: Chunking,
    read_any: bool,
    /// The last read returned fewer keys than asked: the range is done.
    drained: bool,
    meter: Arc<Meter>,
}

impl std::fmt::Debug for MapRangeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapRangeStream")
            .field("direction", &self.direction)
            .field("buffered", &self.chunk.len())
            .field("chunk_len", &self.chunk_len)
            .field("drained", &self.drained)
            .finish()
    }
}

impl MapRangeStream {
    /// Reads `map` between `lower` and `upper` in `direction`. Every key in
    /// that range must start with `base`; the keys yielded are the rest of
    /// each key after `base` (a zero-copy slice).
    pub fn new(
        map: MapView,
        direction: Direction,
        (lower, upper): (Bound<Bytes>, Bound<Bytes>),
        base: Bytes,
        chunking: Chunking,
        meter: Arc<Meter>,
    ) -> MapRangeStream {
        let (near, far) = match direction {
            Direction::Asc => (lower, upper),
            Direction::Desc => (upper, lower),
        };
        let reader = match map.remote() {
            Some(remote) => Reader::Remote {
                map: remote.clone(),
                pending: None,
            },
            None => Reader::Local { map, cursor: None },
        };
        MapRangeStream {
            reader,
            direction,
            near,
            far,
            base,
            chunk: VecDeque::with_capacity(chunking.first_len.min(INITIAL_CAPACITY_CAP)),
            chunk_len: chunking.first_len,
            chunking,
            read_any: false,
            drained: false,
            meter,
        }
    }

    /// Keys the next chunk may read.
    fn want(&self) -> usize {
        if self.chunking.budgeted {
            self.meter.grant(self.chunk_len)
        } else {
            self.chunk_len
        }
    }

    /// The range still to read as (lower, upper), owned.
    fn bounds(&self) -> (Bound<Bytes>, Bound<Bytes>) {
        match self.direction {
            Direction::Asc => (self.near.clone(), self.far.clone()),
            Direction::Desc => (self.far.clone(), self.near.clone()),
        }
    }

    fn refill(&mut self) -> Result<(), ExecError> {
        match &mut self.reader {
            Reader::Local { map, cursor } => {
                let want = if self.chunking.budgeted {
                    self.meter.grant(self.chunk_len)
                } else {
                    self.chunk_len
                };
                let cursor = cursor.get_or_insert_with(|| {
                    let (lower, upper) = match self.direction {
                        Direction::Asc => (&self.near, &self.far),
                        Direction::Desc => (&self.far, &self.near),
                    };
                    map.cursor(as_slice_bound(lower), as_slice_bound(upper), self.direction)
                });
                let before = self.chunk.len();
                self.chunk.extend(cursor.by_ref().take(want));
                let read = self.chunk.len() - before;
                self.read(read, want);
                Ok(())
            }
            Reader::Remote { pending, .. } => {
                let (chunk, want) = match pending.take() {
                    Some((handle, want)) => (join(handle)?, want),
                    None => {
                        let want = self.want();
                        (self.read_remote(want)?, want)
                    }
                };
                self.take_remote(chunk, want);
                Ok(())
            }
        }
    }

    /// Books a read of `read` keys where `want` were asked for.
    fn read(&mut self, read: usize, want: usize) {
        self.meter.count(read);
        self.read_any = true;
        if read < want {
            self.drained = true;
        }
        self.chunk_len = self.chunk_len.saturating_mul(2).min(self.chunking.max_len);
    }

    /// Reads one chunk of `want` keys from the remote source, now.
    fn read_remote(&self, want: usize) -> Chunk {
        let Reader::Remote { map, .. } = &self.reader else {
            return Ok(Vec::new());
        };
        let (lower, upper) = self.bounds();
        map.chunk(
            as_slice_bound(&lower),
            as_slice_bound(&upper),
            self.direction,
            want,
        )
    }

    /// Appends a chunk read remotely and moves `near` strictly past it.
    fn take_remote(&mut self, chunk: Vec<(Bytes, RowRef)>, want: usize) {
        let read = chunk.len();
        if let Some((last, _)) = chunk.last() {
            self.near = Bound::Excluded(last.clone());
        }
        self.chunk.extend(chunk);
        self.read(read, want);
    }

    /// Waits for a chunk being read in the background, if any.
    fn settle(&mut self) -> Result<(), ExecError> {
        if let Reader::Remote { pending, .. } = &mut self.reader {
            if let Some((handle, want)) = pending.take() {
                let chunk = join(handle)?;
                self.take_remote(chunk, want);
            }
        }
        Ok(())
    }

    /// The part of a stored key this stream yields.
    fn yielded(&self, raw: Bytes) -> Result<Bytes, ExecError> {
        let offset = self.base.len();
        if offset == 0 {
            return Ok(raw);
        }
        debug_assert!(raw.starts_with(&self.base), "a key outside its range base");
        if raw.len() < offset {
            return Err(ExecError::internal(format!(
                "a key of {} bytes in a range whose keys start with {offset} fixed bytes",
                raw.len()
            )));
        }
        Ok(raw.slice(offset..))
    }
}

impl OrderedKeyStream for MapRangeStream {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        if self.chunk.is_empty() {
            if self.drained {
                return Ok(None);
            }
            self.refill()?;
        }
        let Some((raw, row)) = self.chunk.pop_front() else {
            return Ok(None);
        };
        let key = self.yielded(raw)?;
        Ok(Some(Step::Key(KeyItem { key, row })))
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        self.settle()?;
        let offset = self.base.len();
        while let Some((raw, _)) = self.chunk.front() {
            let key = raw.get(offset..).unwrap_or_default();
            if reaches(self.direction, key, target, inclusive) {
                return Ok(());
            }
            self.chunk.pop_front();
        }
        if self.drained {
            return Ok(());
        }
        let raw_target = if offset == 0 {
            target.clone()
        } else {
            let mut raw = Vec::with_capacity(offset + target.len());
            raw.extend_from_slice(&self.base);
            raw.extend_from_slice(target);
            Bytes::from(raw)
        };
        let bound = if inclusive {
            Bound::Included(raw_target)
        } else {
            Bound::Excluded(raw_target)
        };
        match &mut self.reader {
            // The cursor never moves back, so a seek never widens the range.
            Reader::Local {
                cursor: Some(cursor),
                ..
            } => {
                if let Bound::Included(raw) | Bound::Excluded(raw) = &bound {
                    cursor.seek(raw, inclusive);
                }
                self.chunk_len = SEEK_CHUNK_LEN.min(self.chunking.max_len);
            }
            Reader::Local { cursor: None, .. } => {
                tighten(&mut self.near, bound, self.direction);
            }
            // Every remote chunk starts at `near`: a seek past it moves it.
            Reader::Remote { .. } => {
                if tighten(&mut self.near, bound, self.direction) && self.read_any {
                    self.chunk_len = SEEK_CHUNK_LEN.min(self.chunking.max_len);
                }
            }
        }
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.chunk.len()
    }

    fn prefetch(&mut self) {
        let idle = self.chunk.is_empty() && !self.drained;
        let Reader::Remote { map, pending } = &self.reader else {
            return;
        };
        if !idle || pending.is_some() {
            return;
        }
        let want = self.want();
        let (lower, upper) = self.bounds();
        let (map, direction) = (map.clone(), self.direction);
        let spawned = std::thread::Builder::new()
            .name("keyset-chunk".into())
            .spawn(move || {
                map.chunk(
                    as_slice_bound(&lower),
                    as_slice_bound(&upper),
                    direction,
                    want,
                )
            });
        // Without a thread the chunk is read when it is needed instead.
        if let (Ok(handle), Reader::Remote { pending, .. }) = (spawned, &mut self.reader) {
            *pending = Some((handle, want));
        }
    }
}

/// The chunk a background read produced.
fn join(handle: JoinHandle<Chunk>) -> Result<Vec<(Bytes, RowRef)>, ExecError> {
    match handle.join() {
        Ok(chunk) => Ok(chunk?),
        Err(_) => Err(ExecError::internal(
            "the thread reading a remote chunk panicked",
        )),
    }
}

fn as_slice_bound(bound: &Bound<Bytes>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(b) => Bound::Included(&b[..]),
        Bound::Excluded(b) => Bound::Excluded(&b[..]),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Replaces the near bound `near` by `candidate` when `candidate` lies
/// further along `direction`; returns whether it did. A seek never widens a
/// range, so a continuation can never escape its original bounds.
fn tighten(near: &mut Bound<Bytes>, candidate: Bound<Bytes>, direction: Direction) -> bool {
    let further = match (&*near, &candidate) {
        (_, Bound::Unbounded) => false,
        (Bound::Unbounded, _) => true,
        (
            Bound::Included(current) | Bound::Excluded(current),
            Bound::Included(new) | Bound::Excluded(new),
        ) => match direction.order(&current[..], &new[..]) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => {
                matches!(candidate, Bound::Excluded(_)) && matches!(near, Bound::Included(_))
            }
        },
    };
    if further {
        *near = candidate;
    }
    further
}

#[cfg(test)]
mod tests {
    use keyset_store::{Row, Value};

    use super::*;
    use crate::stream::testing::{decode, key};

    fn map(keys: impl IntoIterator<Item = u32>) -> MapView {
        let map = keyset_store::RowMap::new();
        for k in keys {
            map.insert(
                key(k),
                1,
                Some(Arc::new(Row::new(vec![Value::Int(i64::from(k))]))),
            );
        }
        MapView::new(Arc::new(map), 1)
    }

    fn drain(stream: &mut MapRangeStream) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(Step::Key(item)) = stream.next_key().unwrap() {
            out.push(decode(&item.key));
        }
        out
    }

    fn stream(
        direction: Direction,
        lower: Bound<u32>,
        upper: Bound<u32>,
        meter: Arc<Meter>,
    ) -> MapRangeStream {
        let bound = |b: Bound<u32>| b.map(key);
        MapRangeStream::new(
            map(0..100),
            direction,
            (bound(lower), bound(upper)),
            Bytes::new(),
            Chunking::new(3, 16),
            meter,
        )
    }

    #[test]
    fn reads_the_range_both_ways_in_growing_chunks() {
        let meter = Arc::new(Meter::new(None));
        let mut asc = stream(
            Direction::Asc,
            Bound::Included(10),
            Bound::Excluded(50),
            meter.clone(),
        );
        assert_eq!(drain(&mut asc), (10..50).collect::<Vec<_>>());
        // 3 + 6 + 12 + 16 + 16 = 53 >= 40: the last chunk came back short.
        assert_eq!(meter.examined(), 40);
        let mut desc = stream(
            Direction::Desc,
            Bound::Excluded(10),
            Bound::Included(50),
            Arc::new(Meter::new(None)),
        );
        assert_eq!(drain(&mut desc), (11..=50).rev().collect::<Vec<_>>());
    }

    #[test]
    fn seek_skips_inside_the_chunk_and_jumps_past_it_without_reading_between() {
        let meter = Arc::new(Meter::new(None));
        let mut s = stream(
            Direction::Asc,
            Bound::Unbounded,
            Bound::Unbounded,
            meter.clone(),
        );
        let Some(Step::Key(first)) = s.next_key().unwrap() else {
            panic!("a key")
        };
        assert_eq!(decode(&first.key), 0);
        s.seek(&key(2), false).unwrap();
        let Some(Step::Key(k)) = s.next_key().unwrap() else {
            panic!("a key")
        };
        assert_eq!(decode(&k.key), 3);
        s.seek(&key(80), true).unwrap();
        let Some(Step::Key(k)) = s.next_key().unwrap() else {
            panic!("a key")
        };
        assert_eq!(decode(&k.key), 80);
        // 3 keys of the first chunk, then a small chunk at 80.
        assert!(meter.examined() <= 3 + 6 + SEEK_CHUNK_LEN as u64);
        // A seek backwards changes nothing.
        s.seek(&key(10), true).unwrap();
        let Some(Step::Key(k)) = s.next_key().unwrap() else {
            panic!("a key")
        };
        assert_eq!(decode(&k.key), 81);
    }

    #[test]
    fn a_seek_never_widens_the_range() {
        let mut s = stream(
            Direction::Desc,
            Bound::Included(20),
            Bound::Included(30),
            Arc::new(Meter::new(None)),
        );
        s.seek(&key(90), true).unwrap();
        assert_eq!(drain(&mut s), (20..=30).rev().collect::<Vec<_>>());
        let mut s = stream(
            Direction::Asc,
            Bound::Included(20),
            Bound::Included(30),
            Arc::new(Meter::new(None)),
        );
        s.seek(&key(30), false).unwrap();
        assert!(drain(&mut s).is_empty());
    }

    #[test]
    fn budgeted_chunks_stop_at_the_budget() {
        let meter = Arc::new(Meter::new(Some(2)));
        let mut s = stream(
            Direction::Asc,
            Bound::Unbounded,
            Bound::Unbounded,
            meter.clone(),
        );
        s.next_key().unwrap();
        assert_eq!(meter.examined(), 2);
    }
}
