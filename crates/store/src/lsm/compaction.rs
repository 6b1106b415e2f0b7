//! Flushes and merges: which versions survive when sources are rewritten,
//! and when runs are merged.
//!
//! A rewrite keeps a version only if a reader may still ask for it: the
//! live `seq`s are every pinned snapshot's and the newest published one
//! when the rewrite started. (Unpinned readers hold the sources they
//! started on, so a rewrite published after them never changes what they
//! read; readers that start later read at or above the newest `seq`.) A
//! key's version written at `s`, with the next newer version at `n`, is the
//! one a reader at `l` sees when `s <= l < n`: it survives when some live
//! `seq` falls in that interval. When the output is the bottom run,
//! tombstones at the bottom of a key's surviving history go too: nothing
//! below them is left to hide.
//!
//! Merge policy: size-tiered. After a flush, the newest run is merged with
//! the runs below it while it is at least half their size, so runs grow
//! geometrically and a map keeps O(log n) runs; past `MAX_RUNS` all runs
//! are merged. This keeps write amplification at O(log n) per version,
//! which matters more than read amplification in memory, where a run seek
//! is a binary search.

use std::sync::Arc;

use super::memtable::Memtable;
use super::run::{Run, RunBuilder};
use super::version::{Entry, Seq};

/// Past this many runs in one map, all of its runs are merged.
pub const MAX_RUNS: usize = 8;

/// Decides, key by key in version order, which versions survive.
struct Survivors<'l> {
    /// Live `seq`s, ascending.
    live: &'l [Seq],
    bottom: bool,
    key: Vec<u8>,
    /// The current key's versions, newest first.
    group: Vec<(Seq, Entry)>,
    /// Which of them survive (reused between keys).
    kept: Vec<usize>,
    dropped: u64,
}

impl<'l> Survivors<'l> {
    fn new(live: &'l [Seq], bottom: bool) -> Survivors<'l> {
        Survivors {
            live,
            bottom,
            key: Vec::new(),
            group: Vec::new(),
            kept: Vec::new(),
            dropped: 0,
        }
    }

    /// Whether a live `seq` lies in `from..until`.
    fn seen_in(&self, from: Seq, until: Option<Seq>) -> bool {
        let at = self.live.partition_point(|&l| l < from);
        match (self.live.get(at), until) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(&l), Some(until)) => l < until,
        }
    }

    /// Adds a version; versions of one key come newest first.
    fn push(&mut self, key: &[u8], seq: Seq, entry: &Entry, out: &mut RunBuilder) {
        if self.key != key {
            self.settle(out);
            self.key.clear();
            self.key.extend_from_slice(key);
        }
        self.group.push((seq, entry.clone()));
    }

    /// Writes the survivors of the current key.
    fn settle(&mut self, out: &mut RunBuilder) {
        if let [(seq, entry)] = self.group.as_slice() {
            // One version: the newest live seq sees it, unless it is a
            // tombstone with nothing below it.
            if self.seen_in(*seq, None) && !(self.bottom && entry.is_none()) {
                out.push(&self.key, *seq, entry.clone());
            } else {
                self.dropped += 1;
            }
            self.group.clear();
            return;
        }
        if self.group.is_empty() {
            return;
        }
        let mut kept = std::mem::take(&mut self.kept);
        kept.clear();
        let mut newer: Option<Seq> = None;
        for (i, (seq, _)) in self.group.iter().enumerate() {
            if self.seen_in(*seq, newer) {
                kept.push(i);
            }
            newer = Some(*seq);
        }
        if self.bottom {
            while kept.last().is_some_and(|&i| self.group[i].1.is_none()) {
                kept.pop();
            }
        }
        self.dropped += (self.group.len() - kept.len()) as u64;
        for &i in &kept {
            let (seq, entry) = &self.group[i];
            out.push(&self.key, *seq, entry.clone());
        }
        self.kept = kept;
        self.group.clear();
    }

    fn finish(mut self, mut out: RunBuilder) -> Rewritten {
        self.settle(&mut out);
        Rewritten {
            run: out.finish(),
            dropped: self.dropped,
        }
    }
}

/// What a rewrite produced.
#[derive(Debug)]
pub struct Rewritten {
    pub run: Run,
    /// Versions left out (shadowed at the horizon, or bottom tombstones).
    pub dropped: u64,
}

/// The run a frozen memtable becomes, keeping what the `live` `seq`s
/// (ascending) can see. `bottom`: no run lies below it.
pub fn flush(memtable: &Memtable, live: &[Seq], bottom: bool) -> Rewritten {
    let mut survivors = Survivors::new(live, bottom);
    let mut key_bytes = 0;
    memtable.for_each(|k, _| key_bytes += k.key.len());
    let mut builder = RunBuilder::with_capacity(memtable.len(), key_bytes);
    memtable.for_each(|k, e| survivors.push(&k.key, k.seq, e, &mut builder));
    survivors.finish(builder)
}

/// Merges `runs` (newest first) into one, keeping what the `live` `seq`s
/// (ascending) can see. `bottom`: they include the map's oldest run.
pub fn merge(runs: &[Arc<Run>], live: &[Seq], bottom: bool) -> Rewritten {
    let versions = runs.iter().map(|r| r.len()).sum();
    let key_bytes = runs.iter().map(|r| r.bytes()).sum::<usize>() / 2;
    let mut builder = RunBuilder::with_capacity(versions, key_bytes);
    let mut survivors = Survivors::new(live, bottom);
    let mut at: Vec<usize> = vec![0; runs.len()];
    loop {
        // The smallest key, and for equal keys the newest version.
        let mut best: Option<usize> = None;
        for (i, r) in runs.iter().enumerate() {
            if at[i] >= r.len() {
                continue;
            }
            best = match best {
                None => Some(i),
                Some(b) => {
                    let (bk, bs) = (runs[b].key(at[b]), runs[b].seq(at[b]));
                    let (k, s) = (r.key(at[i]), r.seq(at[i]));
                    if k < bk || (k == bk && s > bs) {
                        Some(i)
                    } else {
                        Some(b)
                    }
                }
            };
        }
        let Some(b) = best else {
            break;
        };
        let (r, i) = (&runs[b], at[b]);
        survivors.push(r.key(i), r.seq(i), r.entry(i), &mut builder);
        at[b] += 1;
    }
    survivors.finish(builder)
}

/// Which runs (a span of the newest-first list) to merge next, if any.
pub fn pick_merge(runs: &[Arc<Run>]) -> Option<std::ops::Range<usize>> {
    if runs.len() > MAX_RUNS {
        return Some(0..runs.len());
    }
    // Merge the newest run downward while each step at least halves the
    // size gap: the span ends at the first run more than twice the size
    // of everything above it.
    let mut size = runs.first()?.len();
    let mut end = 1;
    while end < runs.len() && size * 2 >= runs[end].len() {
        size += runs[end].len();
        end += 1;
    }
    (end > 1).then_some(0..end)
}

/// Whether merging all of a map's runs could drop anything: more than one
/// run, a run holding several versions of a key, or tombstones at the
/// bottom.
pub fn has_garbage(runs: &[Arc<Run>]) -> bool {
    runs.len() > 1
        || runs.iter().any(|r| r.repeats_keys())
        || runs.last().is_some_and(|r| r.tombstones() > 0)
}
