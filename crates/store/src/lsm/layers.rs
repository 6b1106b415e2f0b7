//! `VersionedMap`: one map's sources at one moment (the mutable memtable,
//! the frozen memtables waiting for their runs, and the runs), immutable as
//! a set. A freeze, a flush or a merge makes a new `VersionedMap` that the
//! store publishes in a new read view; readers holding the old one keep
//! reading it, so nothing they can see is taken from under them.

use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use super::cursor::MapCursor;
use super::memtable::Memtable;
use super::run::Run;
use super::version::{Entry, Seq, VersionKey};
use crate::map::Direction;
use crate::row::RowRef;

/// One map's sources: newest first.
#[derive(Clone)]
pub struct VersionedMap {
    /// `memtables[0]` takes writes; the rest are frozen, newest first.
    memtables: Vec<Arc<Memtable>>,
    /// Runs, newest first.
    runs: Vec<Arc<Run>>,
}

impl fmt::Debug for VersionedMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionedMap")
            .field("memtables", &self.memtables)
            .field("runs", &self.runs)
            .finish()
    }
}

impl Default for VersionedMap {
    fn default() -> Self {
        VersionedMap::new()
    }
}

/// Counts of one map's sources, for stats and memory accounting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MapCounts {
    pub versions: usize,
    pub memtables: usize,
    pub runs: usize,
    pub bytes: usize,
}

impl std::ops::AddAssign for MapCounts {
    fn add_assign(&mut self, o: MapCounts) {
        self.versions += o.versions;
        self.memtables += o.memtables;
        self.runs += o.runs;
        self.bytes += o.bytes;
    }
}

impl VersionedMap {
    /// An empty map: one empty memtable.
    pub fn new() -> VersionedMap {
        VersionedMap {
            memtables: vec![Arc::new(Memtable::new())],
            runs: Vec::new(),
        }
    }

    /// A map whose only source is `run` (a bulk load or an index build).
    pub fn from_run(run: Run) -> VersionedMap {
        let runs = if run.is_empty() {
            Vec::new()
        } else {
            vec![Arc::new(run)]
        };
        VersionedMap {
            memtables: vec![Arc::new(Memtable::new())],
            runs,
        }
    }

    /// A map whose sources are `runs` (newest first), read back from
    /// files on open.
    pub fn from_runs(runs: Vec<Arc<Run>>) -> VersionedMap {
        VersionedMap {
            memtables: vec![Arc::new(Memtable::new())],
            runs: runs.into_iter().filter(|r| !r.is_empty()).collect(),
        }
    }

    /// The memtable that takes writes.
    pub fn active(&self) -> &Arc<Memtable> {
        &self.memtables[0]
    }

    /// Frozen memtables, newest first.
    pub fn frozen(&self) -> &[Arc<Memtable>] {
        &self.memtables[1..]
    }

    /// Runs, newest first.
    pub fn runs(&self) -> &[Arc<Run>] {
        &self.runs
    }

    pub fn counts(&self) -> MapCounts {
        MapCounts {
            versions: self.memtables.iter().map(|m| m.len()).sum::<usize>()
                + self.runs.iter().map(|r| r.len()).sum::<usize>(),
            memtables: self.memtables.len(),
            runs: self.runs.len(),
            bytes: self.memtables.iter().map(|m| m.bytes()).sum::<usize>()
                + self.runs.iter().map(|r| r.bytes()).sum::<usize>(),
        }
    }

    /// Writes a version into the active memtable (commit path only).
    pub fn insert(&self, key: Bytes, seq: Seq, entry: Entry) {
        self.active().insert(key, seq, entry);
    }

    /// The newest version of `key` at or below `seq`, if it is a row.
    pub fn get(&self, key: &[u8], seq: Seq) -> Option<RowRef> {
        // Sources are newest first and hold later `seq`s than anything
        // below them, so the first one with a version at or below `seq`
        // holds the newest.
        if self.memtables.iter().any(|m| !m.is_empty()) {
            let probe = VersionKey::new(Bytes::copy_from_slice(key), seq);
            for m in self.memtables.iter().filter(|m| !m.is_empty()) {
                if let Some(e) = m.get(&probe) {
                    return e;
                }
            }
        }
        for r in &self.runs {
            let n = r.len();
            // Outside the run's key range: no binary search.
            if n == 0 || key < r.key(0) || key > r.key(n - 1) {
                continue;
            }
            let mut i = r.lower_bound(0, n, key, true);
            while i < n && r.key(i) == key {
                if r.seq(i) <= seq {
                    return r.entry(i).clone();
                }
                i += 1;
            }
        }
        None
    }

    /// The `seq` of the newest version of `key` held, row or tombstone
    /// (transaction conflict checks).
    pub fn newest_seq(&self, key: &[u8]) -> Option<Seq> {
        let owned = Bytes::copy_from_slice(key);
        for m in &self.memtables {
            if let Some(seq) = m.newest_seq(&owned) {
                return Some(seq);
            }
        }
        self.runs
            .iter()
            .filter_map(|r| {
                let i = r.lower_bound(0, r.len(), key, true);
                (i < r.len() && r.key(i) == key).then(|| r.seq(i))
            })
            .max()
    }

    /// A merging cursor over the keys between the bounds, at `seq`.
    pub fn cursor(
        &self,
        seq: Seq,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> MapCursor {
        self.cursor_with(None, seq, lower, upper, direction)
    }

    /// As `cursor`, with `overlay` (a transaction's own writes, at
    /// `OVERLAY_SEQ`) merged on top: its versions are always visible and
    /// newer than anything committed.
    pub fn cursor_with(
        &self,
        overlay: Option<&Arc<Memtable>>,
        seq: Seq,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> MapCursor {
        MapCursor::new(
            &self.memtables,
            &self.runs,
            overlay,
            seq,
            lower,
            upper,
            direction,
        )
    }

    /// Every visible key and row at `seq`, ascending, to `f` (index builds,
    /// snapshots, unique checks).
    pub fn for_each(&self, seq: Seq, mut f: impl FnMut(&Bytes, &RowRef)) {
        let mut c = self.cursor(seq, Bound::Unbounded, Bound::Unbounded, Direction::Asc);
        while let Some((k, row)) = c.next_entry() {
            f(&k, &row);
        }
    }

    /// This map with its active memtable frozen and a fresh one on top.
    pub fn frozen_copy(&self) -> VersionedMap {
        let mut memtables = Vec::with_capacity(self.memtables.len() + 1);
        memtables.push(Arc::new(Memtable::new()));
        memtables.extend(self.memtables.iter().cloned());
        VersionedMap {
            memtables,
            runs: self.runs.clone(),
        }
    }

    /// The oldest frozen memtable: the one to flush next (flushes go
    /// oldest first, so runs stay ordered newest first).
    pub fn oldest_frozen(&self) -> Option<&Arc<Memtable>> {
        self.frozen().last()
    }

    /// This map with its oldest frozen memtable, `memtable`, replaced by
    /// `run`, which is newer than every existing run. `None` if that
    /// memtable is not the oldest frozen one here any more.
    pub fn with_flushed(&self, memtable: u64, run: Option<Run>) -> Option<VersionedMap> {
        if self.oldest_frozen()?.id() != memtable {
            return None;
        }
        let mut memtables = self.memtables.clone();
        memtables.pop();
        let mut runs = self.runs.clone();
        if let Some(run) = run.filter(|r| !r.is_empty()) {
            runs.insert(0, Arc::new(run));
        }
        Some(VersionedMap { memtables, runs })
    }

    /// This map with the runs named by `ids` (adjacent, newest first)
    /// replaced by `merged`. `None` if any of them is not here any more.
    pub fn with_merged(&self, ids: &[u64], merged: Option<Run>) -> Option<VersionedMap> {
        let first = self
            .runs
            .iter()
            .position(|r| Some(&r.id()) == ids.first())?;
        let span = self.runs.get(first..first + ids.len())?;
        if span.iter().map(|r| r.id()).ne(ids.iter().copied()) {
            return None;
        }
        let mut runs = self.runs.clone();
        let tail = runs.split_off(first + ids.len());
        runs.truncate(first);
        if let Some(run) = merged.filter(|r| !r.is_empty()) {
            runs.push(Arc::new(run));
        }
        runs.extend(tail);
        Some(VersionedMap {
            memtables: self.memtables.clone(),
            runs,
        })
    }
}
