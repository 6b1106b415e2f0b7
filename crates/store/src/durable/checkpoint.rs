//! Checkpoints: a consistent cut of the store written as run files and a
//! manifest, then the files the new generation makes unnecessary removed.
//!
//! With writers paused for a pointer swap, every memtable is frozen and the
//! WAL is cut at the last commit `S`: the cut's frozen memtables and runs
//! hold exactly the commits `..=S`. With writers running, each of them
//! gets a run file (runs and memtables that already have one reuse it),
//! then the manifest is written atomically. Only once it is durable are
//! removed: run files named by neither this manifest nor the previous one,
//! manifests older than the previous one, and WAL files before the
//! previous manifest's position (so one damaged generation can still be
//! rebuilt from the one before it and the log).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::files::{self, run_path};
use super::layer::FileLayer;
use super::manifest::{self, Manifest, MapFiles};
use super::run_file;
use super::CheckpointInfo;
use crate::error::Result;
use crate::lsm::compaction;
use crate::maintenance::FlushObserver;
use crate::store::{Store, StoreState};

/// Which run file holds which in-memory source, and the live generations.
#[derive(Debug, Default)]
pub(crate) struct FileRegistry {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    /// Run id -> run file number.
    by_run: HashMap<u64, u64>,
    /// Frozen memtable id -> run file number.
    by_memtable: HashMap<u64, u64>,
    /// Memtable id -> the run it became, for flushes told before the
    /// checkpoint that cut the memtable registered its file (cleared at
    /// every cut: older entries can no longer be asked for).
    flushed: HashMap<u64, u64>,
    next_number: u64,
    /// The newest durable manifest's position and files.
    current: Option<(u64, HashSet<u64>)>,
    /// The one before it.
    previous: Option<(u64, HashSet<u64>)>,
}

impl FileRegistry {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The registry after recovery: the runs loaded from files, the
    /// generations present, and the next free file number.
    pub(crate) fn recovered(
        by_run: HashMap<u64, u64>,
        current: Option<(u64, HashSet<u64>)>,
        previous: Option<(u64, HashSet<u64>)>,
        next_number: u64,
    ) -> FileRegistry {
        FileRegistry {
            inner: Mutex::new(Registry {
                by_run,
                by_memtable: HashMap::new(),
                flushed: HashMap::new(),
                next_number,
                current,
                previous,
            }),
        }
    }
}

impl FlushObserver for FileRegistry {
    fn flushed(&self, memtable: u64, run: u64) {
        let mut r = self.lock();
        match r.by_memtable.remove(&memtable) {
            Some(number) => {
                r.by_run.insert(run, number);
            }
            None => {
                r.flushed.insert(memtable, run);
            }
        }
    }
}

/// The run file numbers of one cut, and what writing them cost.
struct Written {
    maps: Vec<MapFiles>,
    runs_written: u64,
    bytes: u64,
}

/// Writes a file for every frozen memtable and run of `state` that has
/// none yet. Frozen memtables are written as the run a flush at `seq`
/// would make of them.
fn write_sources(
    layer: &dyn FileLayer,
    dir: &Path,
    registry: &FileRegistry,
    seq: u64,
    state: &StoreState,
) -> Result<Written> {
    let mut written = Written {
        maps: Vec::new(),
        runs_written: 0,
        bytes: 0,
    };
    let mut tables: Vec<_> = state.layout.tables.iter().collect();
    tables.sort_by_key(|(id, _)| **id);
    for (&table, store) in tables {
        for (shard, shard_store) in store.shards().iter().enumerate() {
            for (map_id, map) in shard_store.maps() {
                let mut numbers = Vec::new();
                for memtable in map.frozen() {
                    if memtable.is_empty() {
                        continue;
                    }
                    let known = registry.lock().by_memtable.get(&memtable.id()).copied();
                    let number = match known {
                        Some(n) => n,
                        None => {
                            let run = compaction::flush(memtable, &[seq], false).run;
                            if run.is_empty() {
                                continue;
                            }
                            // Reserved before the write, so a flush of this
                            // memtable that publishes meanwhile learns it.
                            let n = next_number(registry);
                            {
                                let mut r = registry.lock();
                                match r.flushed.get(&memtable.id()).copied() {
                                    Some(run) => r.by_run.insert(run, n),
                                    None => r.by_memtable.insert(memtable.id(), n),
                                };
                            }
                            written.bytes += write_or_forget(layer, dir, registry, n, &run)?;
                            written.runs_written += 1;
                            n
                        }
                    };
                    numbers.push(number);
                }
                for run in map.runs() {
                    let known = registry.lock().by_run.get(&run.id()).copied();
                    let number = match known {
                        Some(n) => n,
                        None => {
                            let n = next_number(registry);
                            registry.lock().by_run.insert(run.id(), n);
                            written.bytes += write_or_forget(layer, dir, registry, n, run)?;
                            written.runs_written += 1;
                            n
                        }
                    };
                    numbers.push(number);
                }
                written.maps.push(MapFiles {
                    table,
                    shard,
                    map: map_id,
                    files: numbers,
                });
            }
        }
    }
    Ok(written)
}

/// Writes run file `n`; if that fails, forgets every source it was
/// reserved for, so no later checkpoint names a file that is not whole.
fn write_or_forget(
    layer: &dyn FileLayer,
    dir: &Path,
    registry: &FileRegistry,
    n: u64,
    run: &crate::lsm::Run,
) -> Result<u64> {
    run_file::write_run(layer, &run_path(dir, n), run).inspect_err(|_| {
        let mut r = registry.lock();
        r.by_run.retain(|_, v| *v != n);
        r.by_memtable.retain(|_, v| *v != n);
    })
}

fn next_number(registry: &FileRegistry) -> u64 {
    let mut r = registry.lock();
    r.next_number += 1;
    r.next_number
}

/// Cuts the store at its last commit, writes the generation and removes
/// what it makes unnecessary. `cut_log` runs with writers paused and must
/// start a new WAL file at the commit it is given.
pub(crate) fn checkpoint(
    layer: &dyn FileLayer,
    dir: &Path,
    store: &Store,
    registry: &FileRegistry,
    cut_log: impl FnOnce(u64) -> Result<()>,
) -> Result<CheckpointInfo> {
    registry.lock().flushed.clear();
    let (seq, state) = store.with_cut(|seq, state| {
        cut_log(seq)?;
        Ok::<_, crate::error::StoreError>((seq, std::sync::Arc::clone(state)))
    })?;
    let written = write_sources(layer, dir, registry, seq, &state)?;
    let manifest = Manifest {
        seq,
        catalog: state.layout.catalog.clone(),
        maps: written.maps,
    };
    let files: HashSet<u64> = manifest.files().collect();
    let path = manifest::write(layer, dir, &manifest)?;
    // Durable: the new generation replaces the current one, which becomes
    // the previous (a second checkpoint at one position replaces itself).
    let (keep_from, live) = {
        let mut r = registry.lock();
        let old = r.current.take();
        if let Some(old) = old.filter(|(s, _)| *s != seq) {
            r.previous = Some(old);
        }
        r.current = Some((seq, files.clone()));
        let mut live = files.clone();
        if let Some((_, prev)) = &r.previous {
            live.extend(prev.iter().copied());
        }
        let keep_from = r.previous.as_ref().map(|(s, _)| *s);
        r.by_run.retain(|_, n| live.contains(n));
        r.by_memtable.retain(|_, n| live.contains(n));
        (keep_from, live)
    };
    let removed = remove_unneeded(layer, dir, seq, keep_from, &live)?;
    Ok(CheckpointInfo {
        seq,
        manifest: path,
        bytes: written.bytes,
        runs_written: written.runs_written,
        run_files: files.len(),
        removed,
    })
}

/// Removes run files not in `live`, manifests other than the current and
/// previous ones, and WAL files and legacy snapshots before `keep_from`
/// (the previous generation's position; nothing of the log when there is
/// no previous generation).
fn remove_unneeded(
    layer: &dyn FileLayer,
    dir: &Path,
    current: u64,
    keep_from: Option<u64>,
    live: &HashSet<u64>,
) -> Result<Vec<PathBuf>> {
    let listing = files::list(dir)?;
    let mut removed = Vec::new();
    for (number, path) in &listing.runs {
        if !live.contains(number) {
            removed.push(path.clone());
        }
    }
    for (seq, path) in &listing.manifests {
        if *seq != current && Some(*seq) != keep_from {
            removed.push(path.clone());
        }
    }
    if let Some(keep_from) = keep_from {
        for (seq, path) in listing.wals.iter().chain(&listing.snapshots) {
            if *seq < keep_from {
                removed.push(path.clone());
            }
        }
    }
    for path in &removed {
        files::remove(layer, path)?;
    }
    if !removed.is_empty() {
        files::sync_dir(layer, dir)?;
    }
    Ok(removed)
}
