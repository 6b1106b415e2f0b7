//! The memtable: the mutable head of one map, a lock-free skiplist of
//! versions. The commit path inserts; readers never block and never see a
//! version their view's `seq` excludes. A memtable is frozen (no more
//! inserts) once it passes its size, and read until its run is published.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use crossbeam_skiplist::SkipMap;

use super::version::{charged_bytes, Entry, Seq, VersionKey};
use crate::map::Direction;

/// Versions a memtable cursor copies out of the skiplist per refill at
/// first; refills double up to `MAX_REFILL`.
const FIRST_REFILL: usize = 16;
const MAX_REFILL: usize = 512;

static NEXT_MEMTABLE_ID: AtomicU64 = AtomicU64::new(1);

/// The mutable head of one map.
pub struct Memtable {
    id: u64,
    versions: SkipMap<VersionKey, Entry>,
    bytes: AtomicUsize,
}

impl fmt::Debug for Memtable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memtable")
            .field("id", &self.id)
            .field("versions", &self.versions.len())
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl Default for Memtable {
    fn default() -> Self {
        Memtable::new()
    }
}

impl Memtable {
    pub fn new() -> Memtable {
        Memtable {
            id: NEXT_MEMTABLE_ID.fetch_add(1, Ordering::Relaxed),
            versions: SkipMap::new(),
            bytes: AtomicUsize::new(0),
        }
    }

    /// A process-unique id: how a flush names the memtable it replaces.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Versions held.
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// The bytes charged so far (what the freeze threshold compares).
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Adds a version. Writing the same key twice at one `seq` (two ops of
    /// one batch) keeps the later entry.
    pub fn insert(&self, key: Bytes, seq: Seq, entry: Entry) {
        self.bytes
            .fetch_add(charged_bytes(key.len()), Ordering::Relaxed);
        self.versions.insert(VersionKey::new(key, seq), entry);
    }

    /// The newest version of `probe.key` at or below `probe.seq`, if any:
    /// `Some(entry)` (a row or a tombstone) or `None` when this memtable
    /// has none. Versions sort newest first, so it is the first version
    /// at or after the probe, if that is still of the same key. (The probe
    /// is borrowed: a point get makes one and clones no key.)
    pub fn get(&self, probe: &VersionKey) -> Option<Entry> {
        let found = self
            .versions
            .range((Bound::Included(probe), Bound::Unbounded))
            .next()?;
        (found.key().key == probe.key).then(|| found.value().clone())
    }

    /// The `seq` of the newest version of `key` here, if any.
    pub fn newest_seq(&self, key: &Bytes) -> Option<Seq> {
        let from = VersionKey::first_of(key.clone());
        let to = VersionKey::last_of(key.clone());
        let found = self
            .versions
            .range((Bound::Included(from), Bound::Included(to)))
            .next()?;
        Some(found.key().seq)
    }

    /// Every version in order (for building a run).
    pub fn for_each(&self, mut f: impl FnMut(&VersionKey, &Entry)) {
        for e in self.versions.iter() {
            f(e.key(), e.value());
        }
    }
}

/// A position in one memtable's versions, in one direction, that copies
/// versions out in small chunks (the skiplist's own iterator borrows the
/// map and steps backward by searching from the head).
pub(crate) struct MemCursor {
    table: Arc<Memtable>,
    direction: Direction,
    /// Where the next refill starts (exclusive once anything was read).
    near: Bound<VersionKey>,
    /// The fixed far end.
    far: Bound<VersionKey>,
    buffer: VecDeque<(VersionKey, Entry)>,
    refill_len: usize,
    drained: bool,
}

impl fmt::Debug for MemCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemCursor")
            .field("memtable", &self.table.id)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

/// The version-space bounds of a raw-key range.
pub(crate) fn version_bounds(
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
) -> (Bound<VersionKey>, Bound<VersionKey>) {
    let owned = |k: &[u8]| Bytes::copy_from_slice(k);
    let lower = match lower {
        Bound::Included(k) => Bound::Included(VersionKey::first_of(owned(k))),
        Bound::Excluded(k) => Bound::Excluded(VersionKey::last_of(owned(k))),
        Bound::Unbounded => Bound::Unbounded,
    };
    let upper = match upper {
        Bound::Included(k) => Bound::Included(VersionKey::last_of(owned(k))),
        Bound::Excluded(k) => Bound::Excluded(VersionKey::first_of(owned(k))),
        Bound::Unbounded => Bound::Unbounded,
    };
    (lower, upper)
}

fn is_empty_range(lower: &Bound<VersionKey>, upper: &Bound<VersionKey>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
        _ => false,
    }
}

impl MemCursor {
    pub(crate) fn new(
        table: Arc<Memtable>,
        (lower, upper): (Bound<VersionKey>, Bound<VersionKey>),
        direction: Direction,
    ) -> MemCursor {
        let drained = is_empty_range(&lower, &upper);
        let (near, far) = match direction {
            Direction::Asc => (lower, upper),
            Direction::Desc => (upper, lower),
        };
        let mut cursor = MemCursor {
            table,
            direction,
            near,
            far,
            buffer: VecDeque::new(),
            refill_len: FIRST_REFILL,
            drained,
        };
        cursor.refill();
        cursor
    }

    fn refill(&mut self) {
        if self.drained {
            return;
        }
        let (lower, upper) = match self.direction {
            Direction::Asc => (self.near.clone(), self.far.clone()),
            Direction::Desc => (self.far.clone(), self.near.clone()),
        };
        if is_empty_range(&lower, &upper) {
            self.drained = true;
            return;
        }
        let range = self.table.versions.range((lower, upper));
        let want = self.refill_len;
        let copy = |e: crossbeam_skiplist::map::Entry<'_, VersionKey, Entry>| {
            (e.key().clone(), e.value().clone())
        };
        let before = self.buffer.len();
        match self.direction {
            Direction::Asc => self.buffer.extend(range.take(want).map(copy)),
            Direction::Desc => self.buffer.extend(range.rev().take(want).map(copy)),
        }
        if self.buffer.len() - before < want {
            self.drained = true;
        }
        if let Some((last, _)) = self.buffer.back() {
            self.near = Bound::Excluded(last.clone());
        }
        self.refill_len = (self.refill_len * 2).min(MAX_REFILL);
    }

    pub(crate) fn head(&self) -> Option<(&Bytes, Seq, &Entry)> {
        self.buffer.front().map(|(k, e)| (&k.key, k.seq, e))
    }

    pub(crate) fn advance(&mut self) {
        self.buffer.pop_front();
        if self.buffer.is_empty() {
            self.refill();
        }
    }

    /// Moves to the first version whose key reaches `target` in the
    /// cursor's direction (`inclusive`: the key itself counts). Never moves
    /// back.
    pub(crate) fn seek(&mut self, target: &[u8], inclusive: bool) {
        while let Some((k, _)) = self.buffer.front() {
            if reaches(self.direction, &k.key, target, inclusive) {
                return;
            }
            self.buffer.pop_front();
        }
        if self.drained {
            return;
        }
        let target = Bytes::copy_from_slice(target);
        let bound = match (self.direction, inclusive) {
            (Direction::Asc, true) => Bound::Included(VersionKey::first_of(target)),
            (Direction::Asc, false) => Bound::Excluded(VersionKey::last_of(target)),
            (Direction::Desc, true) => Bound::Included(VersionKey::last_of(target)),
            (Direction::Desc, false) => Bound::Excluded(VersionKey::first_of(target)),
        };
        if moves_forward(self.direction, &self.near, &bound) {
            self.near = bound;
        }
        self.refill_len = FIRST_REFILL;
        self.refill();
    }
}

/// Whether `key` is at or past `target` in `direction`.
pub(crate) fn reaches(direction: Direction, key: &[u8], target: &[u8], inclusive: bool) -> bool {
    match (direction, inclusive) {
        (Direction::Asc, true) => key >= target,
        (Direction::Asc, false) => key > target,
        (Direction::Desc, true) => key <= target,
        (Direction::Desc, false) => key < target,
    }
}

/// Whether replacing the near bound `current` with `next` narrows the range.
fn moves_forward(
    direction: Direction,
    current: &Bound<VersionKey>,
    next: &Bound<VersionKey>,
) -> bool {
    let key = |b: &Bound<VersionKey>| match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
        Bound::Unbounded => None,
    };
    match (key(current), key(next)) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(c), Some(n)) => match direction {
            Direction::Asc => n > c || (n == c && matches!(next, Bound::Excluded(_))),
            Direction::Desc => n < c || (n == c && matches!(next, Bound::Excluded(_))),
        },
    }
}
