//! The merging cursor of one map at one view: the memtables and runs of the
//! map merged in either direction, with `seek`, yielding for each raw key
//! the newest version at or below the view's `seq` and skipping keys whose
//! newest visible version is a tombstone.
//!
//! Sources hold disjoint `seq` ranges only by convention; the cursor never
//! relies on it: it merges versions by (key, `seq`) across sources. When a
//! single source is left in the range, steps touch only that source.

use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use super::memtable::{version_bounds, MemCursor, Memtable};
use super::run::{Run, RunCursor};
use super::version::{Entry, Seq, OVERLAY_SEQ};
use crate::map::Direction;
use crate::row::RowRef;

/// One source under a merging cursor.
enum Source {
    Mem(MemCursor),
    Run(RunCursor),
}

impl Source {
    fn head(&self) -> Option<(&[u8], Seq, &Entry)> {
        match self {
            Source::Mem(c) => c.head().map(|(k, s, e)| (&k[..], s, e)),
            Source::Run(c) => c.head(),
        }
    }

    /// The head key as shared bytes.
    fn head_key(&self) -> Option<Bytes> {
        match self {
            Source::Mem(c) => c.head().map(|(k, _, _)| k.clone()),
            Source::Run(c) => c.head_index().map(|i| c.run.key_bytes(i)),
        }
    }

    fn advance(&mut self) {
        match self {
            Source::Mem(c) => c.advance(),
            Source::Run(c) => c.advance(),
        }
    }

    fn seek(&mut self, target: &[u8], inclusive: bool) {
        match self {
            Source::Mem(c) => c.seek(target, inclusive),
            Source::Run(c) => c.seek(target, inclusive),
        }
    }

    /// Whether a key may have several versions here (in a row).
    fn may_repeat(&self) -> bool {
        match self {
            Source::Mem(_) => true,
            Source::Run(c) => c.run.repeats_keys(),
        }
    }
}

impl Iterator for MapCursor {
    type Item = (Bytes, RowRef);

    fn next(&mut self) -> Option<(Bytes, RowRef)> {
        self.next_entry()
    }
}

/// Whether a version written at `seq` is in the view at `view` (a
/// transaction's overlay always is).
fn in_view(seq: Seq, view: Seq) -> bool {
    seq <= view || seq == OVERLAY_SEQ
}

/// A map's sources merged at one `seq`, in one direction.
pub struct MapCursor {
    sources: Vec<Source>,
    seq: Seq,
    direction: Direction,
    /// Versions stepped over (visible or not), for cost accounting.
    versions_read: u64,
    /// The source that stepped last, while its head stays strictly before
    /// `bound` (the best head of every other source): keys before the
    /// bound are in no other source, so steps touch this source only.
    winner: Option<usize>,
    bound: Vec<u8>,
}

impl fmt::Debug for MapCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapCursor")
            .field("sources", &self.sources.len())
            .field("seq", &self.seq)
            .field("direction", &self.direction)
            .finish()
    }
}

impl MapCursor {
    pub(crate) fn new(
        memtables: &[Arc<Memtable>],
        runs: &[Arc<Run>],
        overlay: Option<&Arc<Memtable>>,
        seq: Seq,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> MapCursor {
        let mut sources = Vec::with_capacity(memtables.len() + runs.len() + 1);
        for m in overlay
            .into_iter()
            .chain(memtables)
            .filter(|m| !m.is_empty())
        {
            let bounds = version_bounds(lower, upper);
            sources.push(Source::Mem(MemCursor::new(m.clone(), bounds, direction)));
        }
        for r in runs {
            let c = RunCursor::new(r.clone(), lower, upper, direction);
            if c.remaining() > 0 {
                sources.push(Source::Run(c));
            }
        }
        let mut cursor = MapCursor {
            sources,
            seq,
            direction,
            versions_read: 0,
            winner: None,
            bound: Vec::new(),
        };
        cursor.drop_exhausted();
        cursor
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Versions stepped over so far, visible or not.
    pub fn versions_read(&self) -> u64 {
        self.versions_read
    }

    fn drop_exhausted(&mut self) {
        self.sources.retain(|s| s.head().is_some());
        self.winner = None;
    }

    /// The source whose head comes first in version order for this
    /// direction: ascending, the smallest key and for equal keys the
    /// newest; descending, the largest key and for equal keys the oldest.
    fn first_source(&self) -> Option<usize> {
        let mut best: Option<(usize, &[u8], Seq)> = None;
        for (i, s) in self.sources.iter().enumerate() {
            let Some((k, seq, _)) = s.head() else {
                continue;
            };
            let better = match best {
                None => true,
                Some((_, bk, bseq)) => match self.direction {
                    Direction::Asc => k < bk || (k == bk && seq > bseq),
                    Direction::Desc => k > bk || (k == bk && seq < bseq),
                },
            };
            if better {
                best = Some((i, k, seq));
            }
        }
        best.map(|(i, _, _)| i)
    }

    /// The source to step next: with one source left, that one.
    fn next_source(&self) -> Option<usize> {
        match self.sources.len() {
            0 => None,
            1 => Some(0),
            _ => self.first_source(),
        }
    }

    /// The source to step next, and whether its head key is in no other
    /// source (so the key's versions can be resolved in that source alone).
    /// While the last winner's head stays strictly before the bound, this
    /// costs one comparison.
    fn pick(&mut self) -> Option<(usize, bool)> {
        match self.sources.len() {
            0 => return None,
            1 => return Some((0, true)),
            _ => {}
        }
        if let Some(w) = self.winner {
            if let Some((k, _, _)) = self.sources[w].head() {
                let ahead = match self.direction {
                    Direction::Asc => k < &self.bound[..],
                    Direction::Desc => k > &self.bound[..],
                };
                if ahead {
                    return Some((w, true));
                }
            }
        }
        let best = self.first_source()?;
        let best_key = self.sources[best].head()?.0;
        let mut second: Option<&[u8]> = None;
        for (j, s) in self.sources.iter().enumerate() {
            if j == best {
                continue;
            }
            let Some((k, _, _)) = s.head() else {
                continue;
            };
            let better = second.is_none_or(|b| match self.direction {
                Direction::Asc => k < b,
                Direction::Desc => k > b,
            });
            if better {
                second = Some(k);
            }
        }
        let unique = second.is_none_or(|k| k != best_key);
        self.bound.clear();
        if let Some(k) = second {
            self.bound.extend_from_slice(k);
        }
        self.winner = (unique && second.is_some()).then_some(best);
        Some((best, unique))
    }

    /// Advances source `i` past every version of `key`, which no other
    /// source holds.
    fn skip_key_in(&mut self, i: usize, key: &[u8]) {
        let source = &mut self.sources[i];
        if source.may_repeat() {
            while source.head().is_some_and(|(k, _, _)| k == key) {
                source.advance();
            }
        } else {
            source.advance();
        }
        if source.head().is_none() {
            self.drop_exhausted();
        }
    }

    /// Advances every source past all versions of `key`.
    fn skip_key(&mut self, key: &[u8]) {
        let mut any_done = false;
        for s in &mut self.sources {
            while let Some((k, _, _)) = s.head() {
                if k != key {
                    break;
                }
                s.advance();
            }
            any_done |= s.head().is_none();
        }
        if any_done {
            self.drop_exhausted();
        }
    }

    /// Calls `f` with the next visible key and its row, borrowed: where
    /// the key is in one source only and that source holds one version of
    /// it (a run without repeated keys), a step touches neither the key's
    /// reference count nor the row's, so a scan that looks at few rows
    /// never pulls them into the cache. Elsewhere it is `next_entry`.
    pub fn next_visit<R>(&mut self, mut f: impl FnMut(&[u8], &RowRef) -> R) -> Option<R> {
        loop {
            let (i, unique) = self.pick()?;
            let source = &mut self.sources[i];
            if !unique || source.may_repeat() {
                let (key, row) = self.next_entry()?;
                return Some(f(&key, &row));
            }
            let (k, seq, entry) = source.head()?;
            self.versions_read += 1;
            let out = match entry {
                Some(row) if in_view(seq, self.seq) => Some(f(k, row)),
                _ => None,
            };
            source.advance();
            if source.head().is_none() {
                self.drop_exhausted();
            }
            if let Some(out) = out {
                return Some(out);
            }
        }
    }

    /// The next visible key and its row.
    pub fn next_entry(&mut self) -> Option<(Bytes, RowRef)> {
        loop {
            let (key, entry) = match self.direction {
                Direction::Asc => self.next_version_asc()?,
                Direction::Desc => self.next_version_desc()?,
            };
            if let Some(row) = entry {
                return Some((key, row));
            }
        }
    }

    /// Ascending: a key's versions come newest first, so the first one at
    /// or below `seq` is the visible one.
    fn next_version_asc(&mut self) -> Option<(Bytes, Entry)> {
        loop {
            let (i, unique) = self.pick()?;
            let source = self.sources.get_mut(i)?;
            let (_, seq, entry) = source.head()?;
            self.versions_read += 1;
            if !in_view(seq, self.seq) {
                source.advance();
                if source.head().is_none() {
                    self.drop_exhausted();
                }
                continue;
            }
            let entry = entry.clone();
            let key = source.head_key()?;
            if unique {
                self.skip_key_in(i, &key);
            } else {
                self.skip_key(&key);
            }
            return Some((key, entry));
        }
    }

    /// Descending: a key's versions come oldest first, so the visible one
    /// is the last at or below `seq` before the key changes.
    fn next_version_desc(&mut self) -> Option<(Bytes, Entry)> {
        loop {
            let (i, unique) = self.pick()?;
            let key = self.sources.get(i)?.head_key()?;
            let mut visible: Option<Entry> = None;
            if unique {
                let source = &mut self.sources[i];
                let repeats = source.may_repeat();
                while let Some((k, seq, entry)) = source.head() {
                    if k != &key[..] {
                        break;
                    }
                    self.versions_read += 1;
                    if in_view(seq, self.seq) {
                        visible = Some(entry.clone());
                    }
                    source.advance();
                    if !repeats {
                        break;
                    }
                }
                if source.head().is_none() {
                    self.drop_exhausted();
                }
                if let Some(entry) = visible {
                    return Some((key, entry));
                }
                continue;
            }
            while let Some(i) = self.next_source() {
                let source = &mut self.sources[i];
                let Some((k, seq, entry)) = source.head() else {
                    break;
                };
                if k != &key[..] {
                    break;
                }
                self.versions_read += 1;
                if in_view(seq, self.seq) {
                    visible = Some(entry.clone());
                }
                source.advance();
                if source.head().is_none() {
                    self.drop_exhausted();
                }
            }
            if let Some(entry) = visible {
                return Some((key, entry));
            }
        }
    }

    /// Moves to the first visible key that reaches `target` in the
    /// cursor's direction (`inclusive`: `target` itself counts). Never
    /// moves back; each source gallops from where it is.
    pub fn seek(&mut self, target: &[u8], inclusive: bool) {
        for s in &mut self.sources {
            s.seek(target, inclusive);
        }
        self.drop_exhausted();
    }
}
