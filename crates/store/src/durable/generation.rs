//! Generations on open: the start points recovery may use, newest first
//! (manifests, and snapshots written by older versions), and loading a
//! manifest's run files into a store in bulk: every run file is read and
//! checked whole, and each map is built directly from its runs, with no
//! per-row insert.
//!
//! Choosing among generations and what to do with damage is recovery's.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checkpoint::FileRegistry;
use super::files::{run_path, Listing};
use super::manifest::{self, Manifest};
use super::run_file;
use super::SkippedSnapshot;
use crate::error::{Result, StoreError};
use crate::key::TableId;
use crate::lsm::{Run, VersionedMap};
use crate::maintenance::StoreOptions;
use crate::store::Store;
use crate::table::{MapId, TableStore};

/// A start point recovery may try.
#[derive(Clone, Debug)]
pub(crate) enum Candidate {
    Manifest(u64, PathBuf),
    Snapshot(u64, PathBuf),
}

impl Candidate {
    pub fn at(&self) -> (u64, &Path) {
        match self {
            Candidate::Manifest(seq, path) | Candidate::Snapshot(seq, path) => (*seq, path),
        }
    }
}

/// Every start point, newest first; at one `seq` a manifest comes first.
pub(crate) fn candidates(listing: &Listing) -> Vec<Candidate> {
    let mut all: Vec<Candidate> = listing
        .manifests
        .iter()
        .map(|(s, p)| Candidate::Manifest(*s, p.clone()))
        .chain(
            listing
                .snapshots
                .iter()
                .map(|(s, p)| Candidate::Snapshot(*s, p.clone())),
        )
        .collect();
    all.sort_by_key(|c| {
        let manifest_first = u8::from(matches!(c, Candidate::Snapshot(..)));
        (std::cmp::Reverse(c.at().0), manifest_first)
    });
    all
}

/// A manifest loaded into a fresh store.
#[derive(Debug)]
pub(crate) struct Generation {
    pub path: PathBuf,
    pub seq: u64,
    pub store: Arc<Store>,
    pub runs_loaded: usize,
    pub versions_loaded: u64,
    /// Loaded run id -> run file number.
    pub by_run: HashMap<u64, u64>,
    pub files: HashSet<u64>,
}

/// Loads the manifest at `path` and every run file it names.
pub(crate) fn load(path: &Path, seq: u64, options: &StoreOptions) -> Result<Generation> {
    let manifest = manifest::read(path)?;
    let corrupted = |reason: String| StoreError::Corrupted {
        file: path.to_path_buf(),
        offset: 0,
        reason,
    };
    if manifest.seq != seq {
        return Err(corrupted(format!(
            "the manifest says commit {} but its name says {seq}",
            manifest.seq
        )));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut maps: HashMap<(TableId, usize, MapId), Vec<Arc<Run>>> = HashMap::new();
    let mut by_run = HashMap::new();
    let mut versions_loaded = 0u64;
    let mut runs_loaded = 0;
    let mut loaded = read_all(dir, &manifest);
    for entry in &manifest.maps {
        let fits = manifest
            .catalog
            .table_by_id(entry.table)
            .is_some_and(|def| {
                entry.shard < def.shards as usize
                    && match entry.map {
                        MapId::Data => true,
                        MapId::Index(i) => def.indexes.iter().any(|x| x.id == i),
                    }
            });
        if !fits {
            return Err(corrupted(format!(
                "it lists files for table {} shard {} {:?}, which its catalog lacks",
                entry.table, entry.shard, entry.map
            )));
        }
        let mut runs = Vec::with_capacity(entry.files.len());
        for &number in &entry.files {
            let file = run_path(dir, number);
            let read = loaded
                .remove(&number)
                .unwrap_or_else(|| run_file::read_run(&file));
            let run = match read {
                Ok(run) => run,
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    return Err(StoreError::Corrupted {
                        file,
                        offset: 0,
                        reason: format!(
                            "the run file is missing, and manifest {} names it",
                            path.display()
                        ),
                    })
                }
                Err(e) => return Err(e),
            };
            if run.max_seq() > seq {
                return Err(StoreError::Corrupted {
                    file,
                    offset: 0,
                    reason: format!(
                        "it holds commit {}, after the manifest's position {seq}",
                        run.max_seq()
                    ),
                });
            }
            versions_loaded += run.len() as u64;
            runs_loaded += 1;
            by_run.insert(run.id(), number);
            runs.push(run);
        }
        maps.insert((entry.table, entry.shard, entry.map), runs);
    }
    let mut tables = HashMap::new();
    for def in manifest.catalog.tables() {
        let table = TableStore::from_maps(def.clone(), |shard, map| {
            VersionedMap::from_runs(maps.remove(&(def.id, shard, map)).unwrap_or_default())
        });
        tables.insert(def.id, Arc::new(table));
    }
    let store = Arc::new(Store::with_options(options.clone()));
    let files = manifest.files().collect();
    let Manifest { catalog, .. } = manifest;
    store.restore_runs(catalog, tables, seq);
    Ok(Generation {
        path: path.to_path_buf(),
        seq,
        store,
        runs_loaded,
        versions_loaded,
        by_run,
        files,
    })
}

/// Reads and decodes every run file `manifest` names, on as many threads
/// as there are cores (decoding rows is most of an open's time).
fn read_all(dir: &Path, manifest: &Manifest) -> HashMap<u64, Result<Arc<Run>>> {
    let numbers: Vec<u64> = manifest.files().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_LOAD_THREADS)
        .min(numbers.len().max(1));
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let numbers = &numbers;
                scope.spawn(move || {
                    numbers
                        .iter()
                        .skip(t)
                        .step_by(threads)
                        .map(|&n| (n, run_file::read_run(&run_path(dir, n))))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

/// Most threads an open decodes run files on.
const MAX_LOAD_THREADS: usize = 8;

/// The position of the newest manifest older than `base_seq` that was not
/// set aside: the previous generation, whose log must be kept.
pub(crate) fn previous_seq(
    listing: &Listing,
    base_seq: u64,
    skipped: &[SkippedSnapshot],
) -> Option<u64> {
    listing
        .manifests
        .iter()
        .rev()
        .find(|(s, p)| *s < base_seq && !skipped.iter().any(|k| &k.file == p))
        .map(|(s, _)| *s)
}

/// The file registry after recovery: the loaded generation's runs and
/// files, the previous generation's files (read from its manifest if it
/// decodes), and the next free run file number.
pub(crate) fn registry(
    listing: &Listing,
    loaded: Option<&Generation>,
    skipped: &[SkippedSnapshot],
) -> FileRegistry {
    let next_number = listing.runs.last().map_or(0, |(n, _)| *n);
    let Some(loaded) = loaded else {
        return FileRegistry::recovered(HashMap::new(), None, None, next_number);
    };
    let previous = previous_seq(listing, loaded.seq, skipped).and_then(|seq| {
        let path = listing.manifests.iter().find(|(s, _)| *s == seq)?.1.clone();
        let m = manifest::read(&path).ok()?;
        Some((seq, m.files().collect()))
    });
    FileRegistry::recovered(
        loaded.by_run.clone(),
        Some((loaded.seq, loaded.files.clone())),
        previous,
        next_number,
    )
}
