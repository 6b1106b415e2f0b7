//! Background maintenance: frozen memtables become runs, and runs are
//! merged, on one thread per store, off the commit path. Each result is
//! published under the commit lock as a pointer swap, and only if the
//! sources it replaces are still there (a DDL may have dropped them).
//! A commit waits for this thread only as back-pressure, when a map has
//! more frozen memtables than `max_frozen`; such waits are counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::key::TableId;
use crate::lsm::compaction::{self, pick_merge};
use crate::lsm::{MapCounts, PinRegistry, Retention};
use crate::store::Shared;
use crate::table::{MapId, RowMap, TableStore};
use crate::view::{Layout, StoreState};

/// Tuning of the versioned store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// A memtable is frozen once it is charged this many bytes.
    pub memtable_bytes: usize,
    /// Past this many frozen memtables in one map, commits wait for the
    /// background thread (back-pressure).
    pub max_frozen: usize,
    /// Whether a background thread builds and merges runs. Without it,
    /// `Store::maintain` does (deterministic tests).
    pub background: bool,
    /// How long and how many pinned views are kept.
    pub retention: Retention,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            memtable_bytes: 512 << 10,
            max_frozen: 4,
            background: true,
            retention: Retention::default(),
        }
    }
}

/// What the store holds and what maintenance did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Versions, memtables, runs and bytes in the current view's maps.
    pub live: MapCounts,
    /// Frozen memtables turned into runs.
    pub flushes: u64,
    /// Merges of runs.
    pub merges: u64,
    /// Versions dropped by flushes and merges (shadowed, or tombstones
    /// with nothing below them).
    pub versions_dropped: u64,
    /// Commits that waited for the background thread (back-pressure).
    pub stalls: u64,
    /// Live pinned views.
    pub pins: usize,
}

#[derive(Debug, Default)]
struct Signal {
    pending: bool,
    stop: bool,
}

/// The background thread's signal, counters and back-pressure.
#[derive(Debug)]
pub(crate) struct Maintenance {
    options: StoreOptions,
    signal: Mutex<Signal>,
    wake: Condvar,
    /// Notified whenever a flush is published (back-pressure waiters).
    flushed: Condvar,
    /// The most frozen memtables any map holds, as last published.
    backlog: AtomicUsize,
    flushes: AtomicU64,
    merges: AtomicU64,
    dropped: AtomicU64,
    stalls: AtomicU64,
    /// Told of every flush (the durable layer reuses run files by it).
    observer: Mutex<Option<Weak<dyn FlushObserver>>>,
}

/// Learns which run each flushed memtable became (installed by the
/// durable layer; the in-memory store has none).
pub(crate) trait FlushObserver: Send + Sync + std::fmt::Debug {
    fn flushed(&self, memtable: u64, run: u64);
}

impl Maintenance {
    pub(crate) fn new(options: StoreOptions) -> Maintenance {
        Maintenance {
            options,
            signal: Mutex::new(Signal::default()),
            wake: Condvar::new(),
            flushed: Condvar::new(),
            backlog: AtomicUsize::new(0),
            flushes: AtomicU64::new(0),
            merges: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
            observer: Mutex::new(None),
        }
    }

    pub(crate) fn set_observer(&self, observer: Weak<dyn FlushObserver>) {
        *self.observer.lock().unwrap_or_else(PoisonError::into_inner) = Some(observer);
    }

    fn tell_flushed(&self, memtable: u64, run: u64) {
        let observer = self
            .observer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(Weak::upgrade);
        if let Some(observer) = observer {
            observer.flushed(memtable, run);
        }
    }

    pub(crate) fn memtable_bytes(&self) -> usize {
        self.options.memtable_bytes.max(1)
    }

    /// Starts the thread. It holds the store weakly and ends when told to
    /// stop or when the store is gone.
    pub(crate) fn spawn(shared: &Arc<Shared>) -> Option<JoinHandle<()>> {
        let weak: Weak<Shared> = Arc::downgrade(shared);
        std::thread::Builder::new()
            .name("keyset-maintenance".into())
            .spawn(move || loop {
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                if !shared.maintenance.wait_for_work() {
                    return;
                }
                run_once(&shared);
            })
            .ok()
    }

    /// Blocks until there is work (true) or the store stops (false).
    fn wait_for_work(&self) -> bool {
        let mut signal = self.signal.lock().unwrap_or_else(PoisonError::into_inner);
        while !signal.pending && !signal.stop {
            // A timeout, so a lost wake-up costs a moment, not a stall.
            signal = self
                .wake
                .wait_timeout(signal, Duration::from_millis(200))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        signal.pending = false;
        !signal.stop
    }

    pub(crate) fn notify(&self) {
        let mut signal = self.signal.lock().unwrap_or_else(PoisonError::into_inner);
        signal.pending = true;
        self.wake.notify_all();
    }

    pub(crate) fn stop(&self) {
        let mut signal = self.signal.lock().unwrap_or_else(PoisonError::into_inner);
        signal.stop = true;
        self.wake.notify_all();
        self.flushed.notify_all();
    }

    /// Waits while frozen memtables pile up past the limit (only with a
    /// background thread to drain them).
    pub(crate) fn wait_for_room(&self) {
        if !self.options.background
            || self.backlog.load(Ordering::Acquire) <= self.options.max_frozen
        {
            return;
        }
        self.stalls.fetch_add(1, Ordering::Relaxed);
        let mut signal = self.signal.lock().unwrap_or_else(PoisonError::into_inner);
        while !signal.stop && self.backlog.load(Ordering::Acquire) > self.options.max_frozen {
            signal.pending = true;
            self.wake.notify_all();
            signal = self
                .flushed
                .wait_timeout(signal, Duration::from_millis(50))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Records how far maintenance is behind: the most frozen memtables
    /// any map holds, or past the limit when a map's runs have piled up
    /// beyond three times what the merge policy keeps.
    fn note_backlog(&self, layout: &Layout) {
        let behind = |m: &RowMap| {
            if m.runs().len() > 3 * compaction::MAX_RUNS {
                self.options.max_frozen + 1
            } else {
                m.frozen().len()
            }
        };
        let most = layout
            .tables
            .values()
            .flat_map(|t| {
                t.shards()
                    .iter()
                    .flat_map(|s| s.maps().map(|(_, m)| behind(m)))
            })
            .max()
            .unwrap_or(0);
        self.backlog.store(most, Ordering::Release);
        let _signal = self.signal.lock().unwrap_or_else(PoisonError::into_inner);
        self.flushed.notify_all();
    }

    pub(crate) fn stats(&self, state: &StoreState, pins: &PinRegistry) -> StoreStats {
        let mut live = MapCounts::default();
        for t in state.layout.tables.values() {
            live += t.counts();
        }
        StoreStats {
            live,
            flushes: self.flushes.load(Ordering::Relaxed),
            merges: self.merges.load(Ordering::Relaxed),
            versions_dropped: self.dropped.load(Ordering::Relaxed),
            stalls: self.stalls.load(Ordering::Relaxed),
            pins: pins.live_count(),
        }
    }
}

/// `layout` with the active memtable of every map that `freeze` picks
/// frozen; `None` when none was picked (or all picked were empty).
pub(crate) fn frozen_layout(
    layout: &Arc<Layout>,
    freeze: impl Fn(TableId, usize, &RowMap) -> bool,
) -> Option<Arc<Layout>> {
    let mut changed: HashMap<TableId, Arc<TableStore>> = HashMap::new();
    for (&id, table) in &layout.tables {
        let mut new_table: Option<TableStore> = None;
        for (s, shard) in table.shards().iter().enumerate() {
            let mut new_shard = None;
            for (map_id, map) in shard.maps() {
                if map.active().is_empty() || !freeze(id, s, map) {
                    continue;
                }
                let base = new_shard.take().unwrap_or_else(|| shard.clone());
                new_shard = Some(base.with_map(map_id, map.frozen_copy()));
            }
            if let Some(new_shard) = new_shard {
                let base = new_table.take().unwrap_or_else(|| (**table).clone());
                new_table = Some(base.with_shard(s, new_shard));
            }
        }
        if let Some(t) = new_table {
            changed.insert(id, Arc::new(t));
        }
    }
    if changed.is_empty() {
        return None;
    }
    let mut tables = layout.tables.clone();
    tables.extend(changed);
    Some(Arc::new(Layout {
        catalog: layout.catalog.clone(),
        tables,
    }))
}

/// Every map of the current layout, by where it lives.
fn map_addresses(state: &StoreState) -> Vec<(TableId, usize, MapId, Arc<RowMap>)> {
    let mut out = Vec::new();
    for (&id, table) in &state.layout.tables {
        for (s, shard) in table.shards().iter().enumerate() {
            for (map_id, map) in shard.maps() {
                out.push((id, s, map_id, map.clone()));
            }
        }
    }
    out
}

/// Flushes every frozen memtable (oldest first in each map) and merges
/// runs where the policy says so, round after round until a round finds
/// nothing to do, so merges keep pace with flushes under a steady write
/// load.
pub(crate) fn run_once(shared: &Shared) {
    loop {
        let flushed = flush_round(shared);
        let merged = merge_round(shared, false);
        shared.maintenance.note_backlog(&shared.read().layout);
        if !flushed && !merged {
            return;
        }
    }
}

/// Merges all runs of every map into one.
pub(crate) fn merge_all(shared: &Shared) {
    merge_round(shared, true);
}

/// The `seq`s readers may still ask for (see `compaction`).
fn live_seqs(shared: &Shared) -> Vec<u64> {
    shared.pins.live_seqs(|| shared.state.load().seq)
}

/// Flushes the frozen memtables present now; returns whether any was.
fn flush_round(shared: &Shared) -> bool {
    let state = shared.read();
    let mut did = false;
    for (table, shard, map_id, map) in map_addresses(&state) {
        for memtable in map.frozen().iter().rev() {
            let current = shared
                .read()
                .layout
                .tables
                .get(&table)
                .and_then(|t| t.shard(shard)?.map(map_id).cloned());
            let bottom = current.is_none_or(|m| m.runs().is_empty());
            let out = compaction::flush(memtable, &live_seqs(shared), bottom);
            let dropped = out.dropped;
            let run_id = out.run.id();
            let published = shared.replace_map(table, shard, map_id, |current| {
                current.with_flushed(memtable.id(), Some(out.run))
            });
            if !published {
                break;
            }
            shared.maintenance.tell_flushed(memtable.id(), run_id);
            shared.maintenance.flushes.fetch_add(1, Ordering::Relaxed);
            shared
                .maintenance
                .dropped
                .fetch_add(dropped, Ordering::Relaxed);
            did = true;
        }
    }
    did
}

/// Merges runs in every map until the policy is satisfied (`everything`:
/// into one run); returns whether anything was merged.
fn merge_round(shared: &Shared, everything: bool) -> bool {
    let state = shared.read();
    let mut did = false;
    for (table, shard, map_id, _) in map_addresses(&state) {
        loop {
            let Some(map) = shared
                .read()
                .layout
                .tables
                .get(&table)
                .and_then(|t| t.shard(shard)?.map(map_id).cloned())
            else {
                break;
            };
            let runs = map.runs();
            let span = if everything {
                compaction::has_garbage(runs).then_some(0..runs.len())
            } else {
                pick_merge(runs)
            };
            let Some(span) = span else {
                break;
            };
            let picked = &runs[span.clone()];
            let bottom = span.end == runs.len();
            let out = compaction::merge(picked, &live_seqs(shared), bottom);
            let ids: Vec<u64> = picked.iter().map(|r| r.id()).collect();
            let dropped = out.dropped;
            let published = shared.replace_map(table, shard, map_id, |current| {
                current.with_merged(&ids, Some(out.run))
            });
            if !published {
                break;
            }
            shared.maintenance.merges.fetch_add(1, Ordering::Relaxed);
            shared
                .maintenance
                .dropped
                .fetch_add(dropped, Ordering::Relaxed);
            did = true;
            if everything {
                break;
            }
        }
    }
    did
}
