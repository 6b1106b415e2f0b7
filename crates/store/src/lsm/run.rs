//! Immutable sorted runs: what a frozen memtable becomes, and what merges
//! produce. Keys sit in one arena with offsets; `seq`s and entries are
//! parallel arrays, all in version order (key ascending, newest first).
//! `next` and `prev` are index steps, a seek is a binary search, and a seek
//! forward from the current position gallops. Each key also has a prefix
//! word: the 8 bytes after the prefix all of the run's keys share, as a
//! big-endian `u64`, in a dense array, so most probes of a search read one
//! word instead of an offset and the arena (two cache misses) and a
//! `memcmp`; only words that tie compare whole keys.

use std::cmp::Ordering;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use bytes::{Bytes, BytesMut};

use super::version::{Entry, Seq};
use crate::map::Direction;

static NEXT_RUN_ID: AtomicU64 = AtomicU64::new(1);

/// One immutable sorted run of versions.
pub struct Run {
    id: u64,
    arena: Bytes,
    /// `offsets[i]..offsets[i + 1]` is key `i` in the arena.
    offsets: Vec<usize>,
    seqs: Vec<Seq>,
    entries: Vec<Entry>,
    /// Whether some key has more than one version here.
    repeats_keys: bool,
    min_seq: Seq,
    max_seq: Seq,
    tombstones: usize,
    /// Length of the prefix every key of the run shares (that of the first
    /// and the last key, the keys being sorted).
    common: usize,
    /// `prefix_word(key(i)[common..])` for every version `i`.
    words: Vec<u64>,
}

/// The first 8 bytes of `bytes`, zero-padded, as a big-endian word. Words
/// order as their bytes do wherever they differ: a smaller word means
/// smaller bytes. Equal words say nothing (a zero byte and a shorter key
/// look alike), so a tie compares the whole keys.
fn prefix_word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = bytes.len().min(8);
    word[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(word)
}

/// A search target, with its prefix word when it starts with the run's
/// common prefix (otherwise each probe compares whole keys).
#[derive(Clone, Copy)]
struct Target<'t> {
    bytes: &'t [u8],
    word: Option<u64>,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("id", &self.id)
            .field("versions", &self.len())
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// Builds a run from versions given in version order.
#[derive(Debug, Default)]
pub struct RunBuilder {
    arena: BytesMut,
    offsets: Vec<usize>,
    seqs: Vec<Seq>,
    entries: Vec<Entry>,
    repeats_keys: bool,
    min_seq: Option<Seq>,
    max_seq: Seq,
    tombstones: usize,
}

impl RunBuilder {
    pub fn new() -> RunBuilder {
        RunBuilder {
            offsets: vec![0],
            ..RunBuilder::default()
        }
    }

    pub fn with_capacity(versions: usize, key_bytes: usize) -> RunBuilder {
        let mut offsets = Vec::with_capacity(versions + 1);
        offsets.push(0);
        RunBuilder {
            arena: BytesMut::with_capacity(key_bytes),
            offsets,
            seqs: Vec::with_capacity(versions),
            entries: Vec::with_capacity(versions),
            ..RunBuilder::default()
        }
    }

    fn last_key(&self) -> Option<&[u8]> {
        let n = self.seqs.len();
        (n > 0).then(|| &self.arena[self.offsets[n - 1]..self.offsets[n]])
    }

    /// Appends a version. Versions must come in version order; one out of
    /// order is a bug in the caller, caught in debug builds.
    pub fn push(&mut self, key: &[u8], seq: Seq, entry: Entry) {
        if let Some(last) = self.last_key() {
            let order = last.cmp(key);
            debug_assert!(
                order == Ordering::Less
                    || (order == Ordering::Equal && self.seqs.last().is_some_and(|&s| s > seq)),
                "run versions out of order"
            );
            if order == Ordering::Equal {
                self.repeats_keys = true;
            }
        }
        self.min_seq = Some(self.min_seq.map_or(seq, |m| m.min(seq)));
        self.max_seq = self.max_seq.max(seq);
        self.tombstones += usize::from(entry.is_none());
        self.arena.extend_from_slice(key);
        self.offsets.push(self.arena.len());
        self.seqs.push(seq);
        self.entries.push(entry);
    }

    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    pub fn finish(self) -> Run {
        let mut run = Run {
            id: NEXT_RUN_ID.fetch_add(1, AtomicOrdering::Relaxed),
            arena: self.arena.freeze(),
            offsets: self.offsets,
            seqs: self.seqs,
            entries: self.entries,
            repeats_keys: self.repeats_keys,
            min_seq: self.min_seq.unwrap_or(0),
            max_seq: self.max_seq,
            tombstones: self.tombstones,
            common: 0,
            words: Vec::new(),
        };
        let n = run.len();
        if n > 0 {
            let (first, last) = (run.key(0), run.key(n - 1));
            run.common = first.iter().zip(last).take_while(|(a, b)| a == b).count();
            run.words = (0..n)
                .map(|i| prefix_word(&run.key(i)[run.common..]))
                .collect();
        }
        run
    }
}

impl Run {
    /// A process-unique id: how a merge names the runs it replaces.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Versions held.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }

    /// Heap bytes: keys, offsets, `seq`s and entry pointers (rows are
    /// shared and counted once, by the data map's owner).
    pub fn bytes(&self) -> usize {
        self.arena.len()
            + self.offsets.len() * std::mem::size_of::<usize>()
            + self.seqs.len() * std::mem::size_of::<Seq>()
            + self.entries.len() * std::mem::size_of::<Entry>()
            + self.words.len() * std::mem::size_of::<u64>()
    }

    /// Whether some key has more than one version in this run.
    pub fn repeats_keys(&self) -> bool {
        self.repeats_keys
    }

    /// The oldest and newest `seq` in the run (0 and 0 when empty).
    pub fn min_seq(&self) -> Seq {
        self.min_seq
    }

    pub fn max_seq(&self) -> Seq {
        self.max_seq
    }

    /// Tombstone versions held.
    pub fn tombstones(&self) -> usize {
        self.tombstones
    }

    pub fn key(&self, i: usize) -> &[u8] {
        &self.arena[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Key `i` as shared bytes (no copy).
    pub fn key_bytes(&self, i: usize) -> Bytes {
        self.arena.slice(self.offsets[i]..self.offsets[i + 1])
    }

    pub fn seq(&self, i: usize) -> Seq {
        self.seqs[i]
    }

    pub fn entry(&self, i: usize) -> &Entry {
        &self.entries[i]
    }

    /// `target` with its prefix word, if it shares the run's common prefix.
    fn target<'t>(&self, bytes: &'t [u8]) -> Target<'t> {
        let shared = self.arena.get(..self.common).unwrap_or_default();
        Target {
            bytes,
            word: bytes
                .strip_prefix(shared)
                .filter(|_| !self.words.is_empty())
                .map(prefix_word),
        }
    }

    /// Whether key `i` comes before `target` (`inclusive`: before it
    /// strictly; else at or before it): the predicate every search splits
    /// on. Differing prefix words decide; a tie compares the whole keys.
    fn before(&self, i: usize, target: Target<'_>, inclusive: bool) -> bool {
        if let Some(word) = target.word {
            let own = self.words[i];
            if own != word {
                return own < word;
            }
        }
        let k = self.key(i);
        if inclusive {
            k < target.bytes
        } else {
            k <= target.bytes
        }
    }

    /// The first index in `lo..hi` whose key is `>= target` (`> target`
    /// when not `inclusive`), by binary search.
    pub fn lower_bound(&self, lo: usize, hi: usize, target: &[u8], inclusive: bool) -> usize {
        self.search(lo, hi, self.target(target), inclusive)
    }

    fn search(&self, lo: usize, hi: usize, target: Target<'_>, inclusive: bool) -> usize {
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.before(mid, target, inclusive) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// As `lower_bound`, searching outward from `lo` first (galloping), so
    /// a seek to a key near the current position costs O(log distance).
    pub fn gallop_up(&self, lo: usize, hi: usize, target: &[u8], inclusive: bool) -> usize {
        let target = self.target(target);
        let before = |i: usize| self.before(i, target, inclusive);
        if lo >= hi || !before(lo) {
            return lo;
        }
        let mut step = 1;
        let mut prev = lo;
        loop {
            let probe = lo.saturating_add(step);
            if probe >= hi {
                return self.search(prev + 1, hi, target, inclusive);
            }
            if !before(probe) {
                return self.search(prev + 1, probe, target, inclusive);
            }
            prev = probe;
            step *= 2;
        }
    }

    /// The mirror of `gallop_up` for descending cursors: the end (exclusive)
    /// of the keys `<= target` (`< target` when not `inclusive`) within
    /// `lo..hi`, searching from `hi` downward.
    pub fn gallop_down(&self, lo: usize, hi: usize, target: &[u8], inclusive: bool) -> usize {
        let target = self.target(target);
        let after = |i: usize| !self.before(i, target, !inclusive);
        if lo >= hi || !after(hi - 1) {
            return hi;
        }
        let mut step = 1;
        let mut prev = hi - 1;
        loop {
            if step > prev - lo {
                return self.search(lo, prev, target, !inclusive);
            }
            let probe = prev - step;
            if !after(probe) {
                return self.search(probe + 1, prev, target, !inclusive);
            }
            prev = probe;
            step *= 2;
        }
    }
}

/// A window of one run read in one direction: ascending reads at `lo` and
/// moves it up, descending reads at `hi - 1` and moves it down.
#[derive(Debug)]
pub(crate) struct RunCursor {
    pub(crate) run: std::sync::Arc<Run>,
    direction: Direction,
    lo: usize,
    hi: usize,
}

impl RunCursor {
    /// The versions of `run` whose keys lie within the bounds.
    pub(crate) fn new(
        run: std::sync::Arc<Run>,
        lower: std::ops::Bound<&[u8]>,
        upper: std::ops::Bound<&[u8]>,
        direction: Direction,
    ) -> RunCursor {
        use std::ops::Bound;
        let n = run.len();
        let lo = match lower {
            Bound::Included(k) => run.lower_bound(0, n, k, true),
            Bound::Excluded(k) => run.lower_bound(0, n, k, false),
            Bound::Unbounded => 0,
        };
        let hi = match upper {
            Bound::Included(k) => run.lower_bound(lo, n, k, false),
            Bound::Excluded(k) => run.lower_bound(lo, n, k, true),
            Bound::Unbounded => n,
        };
        RunCursor {
            run,
            direction,
            lo,
            hi: hi.max(lo),
        }
    }

    fn at(&self) -> Option<usize> {
        if self.lo >= self.hi {
            return None;
        }
        Some(match self.direction {
            Direction::Asc => self.lo,
            Direction::Desc => self.hi - 1,
        })
    }

    pub(crate) fn head_index(&self) -> Option<usize> {
        self.at()
    }

    pub(crate) fn head(&self) -> Option<(&[u8], Seq, &Entry)> {
        let i = self.at()?;
        Some((self.run.key(i), self.run.seq(i), self.run.entry(i)))
    }

    pub(crate) fn advance(&mut self) {
        if self.lo < self.hi {
            match self.direction {
                Direction::Asc => self.lo += 1,
                Direction::Desc => self.hi -= 1,
            }
        }
    }

    /// Moves to the first version whose key reaches `target` in the
    /// cursor's direction; never moves back.
    pub(crate) fn seek(&mut self, target: &[u8], inclusive: bool) {
        match self.direction {
            Direction::Asc => self.lo = self.run.gallop_up(self.lo, self.hi, target, inclusive),
            Direction::Desc => self.hi = self.run.gallop_down(self.lo, self.hi, target, inclusive),
        }
    }

    /// Versions left in the window.
    pub(crate) fn remaining(&self) -> usize {
        self.hi - self.lo
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;
    use std::sync::Arc;

    use super::*;

    fn run(keys: &[u32]) -> Arc<Run> {
        let mut b = RunBuilder::new();
        for k in keys {
            b.push(&k.to_be_bytes(), 1, None);
        }
        Arc::new(b.finish())
    }

    fn be(k: u32) -> [u8; 4] {
        k.to_be_bytes()
    }

    #[test]
    fn gallops_agree_with_binary_search_everywhere() {
        let keys: Vec<u32> = (0..200).map(|k| k * 3).collect();
        let r = run(&keys);
        let n = r.len();
        for lo in [0usize, 1, 7, 64, 199] {
            for t in 0..610u32 {
                for inclusive in [true, false] {
                    let want = r.lower_bound(lo, n, &be(t), inclusive);
                    assert_eq!(r.gallop_up(lo, n, &be(t), inclusive), want.max(lo));
                    let want_down = r.lower_bound(0, lo + 1, &be(t), !inclusive);
                    assert_eq!(
                        r.gallop_down(0, lo + 1, &be(t), inclusive),
                        want_down,
                        "down from {lo} to {t} inclusive={inclusive}"
                    );
                }
            }
        }
    }

    /// Keys over a small alphabet (zero bytes, shared prefixes, keys that
    /// are prefixes of others), behind a prefix some runs share.
    fn key_strategy() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        (
            prop::sample::select(vec![Vec::new(), vec![0, 0, 0, 7], vec![0, 0, 0, 7, 3]]),
            prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0xFF]), 0..12),
        )
            .prop_map(|(mut shared, rest)| {
                shared.extend(rest);
                shared
            })
    }

    proptest::proptest! {
        #[test]
        fn searches_by_prefix_word_equal_a_plain_binary_search(
            mut keys in proptest::collection::vec(key_strategy(), 0..60),
            targets in proptest::collection::vec(key_strategy(), 1..20),
        ) {
            keys.sort();
            keys.dedup();
            let mut b = RunBuilder::new();
            for k in &keys {
                // Some keys have two versions, newest first.
                if k.len() % 3 == 0 {
                    b.push(k, 2, None);
                }
                b.push(k, 1, None);
            }
            let r = b.finish();
            let n = r.len();
            for t in &targets {
                for inclusive in [true, false] {
                    let plain = |lo: usize, hi: usize| {
                        lo + (lo..hi)
                            .take_while(|&i| if inclusive { r.key(i) < &t[..] } else { r.key(i) <= &t[..] })
                            .count()
                    };
                    proptest::prop_assert_eq!(r.lower_bound(0, n, t, inclusive), plain(0, n));
                    for lo in [0, n / 3, n / 2] {
                        proptest::prop_assert_eq!(r.gallop_up(lo, n, t, inclusive), plain(lo, n));
                    }
                    let plain_down = |lo: usize, hi: usize| {
                        lo + (lo..hi)
                            .take_while(|&i| if inclusive { r.key(i) <= &t[..] } else { r.key(i) < &t[..] })
                            .count()
                    };
                    for hi in [n, n / 2, n.saturating_sub(1)] {
                        proptest::prop_assert_eq!(r.gallop_down(0, hi, t, inclusive), plain_down(0, hi));
                    }
                }
            }
        }
    }

    #[test]
    fn cursors_read_their_window_both_ways_and_seek_forward_only() {
        let r = run(&[1, 3, 5, 7, 9]);
        let read = |mut c: RunCursor| {
            let mut out = Vec::new();
            while let Some((k, _, _)) = c.head() {
                out.push(u32::from_be_bytes([k[0], k[1], k[2], k[3]]));
                c.advance();
            }
            out
        };
        let b3 = be(3);
        let b9 = be(9);
        let asc = RunCursor::new(
            r.clone(),
            Bound::Excluded(&b3),
            Bound::Included(&b9),
            Direction::Asc,
        );
        assert_eq!(read(asc), vec![5, 7, 9]);
        let desc = RunCursor::new(
            r.clone(),
            Bound::Included(&b3),
            Bound::Excluded(&b9),
            Direction::Desc,
        );
        assert_eq!(read(desc), vec![7, 5, 3]);
        let mut c = RunCursor::new(
            r.clone(),
            Bound::Unbounded,
            Bound::Unbounded,
            Direction::Asc,
        );
        c.seek(&be(6), true);
        c.seek(&be(2), true);
        assert_eq!(read(c), vec![7, 9]);
        let mut d = RunCursor::new(r, Bound::Unbounded, Bound::Unbounded, Direction::Desc);
        d.seek(&be(5), false);
        assert_eq!(read(d), vec![3, 1]);
    }
}
