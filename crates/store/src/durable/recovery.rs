//! Recovery on open: pick the newest generation (a manifest whose run
//! files all pass their checksums, or a snapshot written by an older
//! version), load its runs in bulk, replay the chain of WAL files after
//! it, and decide what each kind of damage means (torn tail: cut and
//! report; damage before the tail: error, or cut and report under
//! `repair`; a damaged generation: error, or the one before it under
//! `repair`).
//!
//! Nothing on disk changes until the whole directory has been read and
//! found usable; the actions (truncate, remove, set aside) come last.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checkpoint::FileRegistry;
use super::files::{self, Listing, CORRUPT_SUFFIX};
use super::generation::{self, Generation};
use super::layer::FileLayer;
use super::mutation::{check_mutation, decode_mutation};
use super::wal_reader::scan_file;
use super::{snapshot, RecoveryReport, Repair, SkippedSnapshot, TornTail};
use crate::error::{Result, StoreError};
use crate::store::Store;

/// The state rebuilt from a directory, not yet attached to a log.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub store: Arc<Store>,
    pub last_seq: u64,
    /// The WAL file to continue: path, start seq and intact length.
    pub active: Option<(PathBuf, u64, u64)>,
    pub report: RecoveryReport,
    /// The run files behind the loaded runs, and the generations present.
    pub files: FileRegistry,
}

/// A change to the directory, made only once recovery has succeeded.
#[derive(Debug)]
enum Action {
    Truncate(PathBuf, u64),
    Remove(PathBuf),
    SetAside(PathBuf),
}

fn replay_record(store: &Store, seq: u64, payload: &[u8]) -> Result<(), String> {
    let mutation = decode_mutation(payload).map_err(|e| {
        format!(
            "its payload does not decode at byte {}: {}",
            e.offset, e.reason
        )
    })?;
    check_mutation(&store.read(), &mutation)?;
    store.replay(seq, &mutation).map_err(|e| e.to_string())
}

fn file_len(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .len())
}

/// Records the WAL files after a damaged spot as dropped, counting the
/// intact records they hold.
fn drop_files(
    later: &[(u64, PathBuf)],
    repair: &mut Repair,
    actions: &mut Vec<Action>,
) -> Result<()> {
    for (start, path) in later {
        repair.bytes_dropped += file_len(path)?;
        repair.records_dropped += scan_file(path, *start, |_, _| Ok(()))?.records;
        repair.files_dropped.push(path.clone());
        actions.push(Action::Remove(path.clone()));
    }
    Ok(())
}

/// Reads the directory and rebuilds the store.
pub(crate) fn recover(
    layer: &dyn FileLayer,
    dir: &Path,
    listing: &Listing,
    repair: bool,
    options: &crate::maintenance::StoreOptions,
) -> Result<Recovered> {
    let mut report = RecoveryReport::default();
    let mut actions: Vec<Action> = listing.temps.iter().cloned().map(Action::Remove).collect();
    report
        .stale_files_removed
        .extend(listing.temps.iter().cloned());

    let mut base: Option<(u64, Arc<Store>, Option<Generation>)> = None;
    for candidate in generation::candidates(listing) {
        let loaded = match &candidate {
            generation::Candidate::Manifest(seq, path) => {
                generation::load(path, *seq, options).map(|g| (Arc::clone(&g.store), Some(g)))
            }
            generation::Candidate::Snapshot(seq, path) => {
                snapshot::load(path, *seq, options).map(|store| (store, None))
            }
        };
        let (seq, path) = candidate.at();
        match loaded {
            Ok((store, generation)) => {
                base = Some((seq, store, generation));
                break;
            }
            Err(StoreError::Corrupted {
                file,
                offset,
                reason,
            }) if repair => {
                let reason = if file == path {
                    format!("at byte {offset}: {reason}")
                } else {
                    format!("{} at byte {offset}: {reason}", file.display())
                };
                report.skipped_snapshots.push(SkippedSnapshot {
                    file: path.to_path_buf(),
                    seq,
                    reason,
                });
                actions.push(Action::SetAside(path.to_path_buf()));
            }
            Err(StoreError::Corrupted {
                file,
                offset,
                reason,
            }) => {
                return Err(StoreError::Corrupted {
                    file,
                    offset,
                    reason: format!(
                        "{reason}; open with repair (keyset ... --repair) to fall back to the previous generation and the log"
                    ),
                })
            }
            Err(e) => return Err(e),
        }
    }
    let snapshot_seq = base.as_ref().map(|(seq, _, _)| *seq);
    let (base_seq, store, loaded) =
        base.unwrap_or_else(|| (0, Arc::new(Store::with_options(options.clone())), None));
    if let Some(g) = &loaded {
        report.manifest = Some(g.path.clone());
        report.runs_loaded = g.runs_loaded;
        report.versions_loaded = g.versions_loaded;
    }
    let files = generation::registry(listing, loaded.as_ref(), &report.skipped_snapshots);
    // Files before the start point are obsolete, except what a previous
    // generation still needs (the checkpoint removes those).
    // (The generation before a first manifest is the log from commit 0.)
    let keep_from = generation::previous_seq(listing, base_seq, &report.skipped_snapshots)
        .unwrap_or(if loaded.is_some() { 0 } else { base_seq });
    let stale = listing
        .snapshots
        .iter()
        .chain(&listing.wals)
        .filter(|(seq, _)| *seq < keep_from.min(base_seq));
    for (_, path) in stale {
        actions.push(Action::Remove(path.clone()));
        report.stale_files_removed.push(path.clone());
    }

    let chain: Vec<(u64, PathBuf)> = listing
        .wals
        .iter()
        .filter(|(start, _)| *start >= base_seq)
        .cloned()
        .collect();
    if chain.is_empty() {
        let missing = files::wal_path(dir, base_seq);
        let reason = format!(
            "the log file is missing: the database's state ends at commit {base_seq} and its log must continue in this file"
        );
        if !repair {
            return Err(StoreError::Corrupted {
                file: missing,
                offset: 0,
                reason: format!(
                    "{reason}; open with repair (keyset ... --repair) to open without it (any commits after {base_seq} are lost)"
                ),
            });
        }
        report.repaired = Some(Repair {
            file: missing,
            offset: 0,
            reason,
            bytes_dropped: 0,
            records_dropped: 0,
            files_dropped: Vec::new(),
        });
    }
    let mut last = base_seq;
    let mut active = None;
    for (i, (start, path)) in chain.iter().enumerate() {
        if *start != last {
            let reason = format!(
                "this log file holds the commits after {start}, but the recovered state ends at commit {last}"
            );
            if !repair {
                return Err(StoreError::Corrupted {
                    file: path.clone(),
                    offset: 0,
                    reason: format!("{reason}; open with repair to drop it and what follows"),
                });
            }
            let mut repaired = Repair {
                file: path.clone(),
                offset: 0,
                reason,
                bytes_dropped: 0,
                records_dropped: 0,
                files_dropped: Vec::new(),
            };
            drop_files(&chain[i..], &mut repaired, &mut actions)?;
            report.repaired = Some(repaired);
            break;
        }
        let scan = scan_file(path, *start, |seq, payload| {
            replay_record(&store, seq, payload)
        })?;
        report.wal_files += 1;
        report.records_replayed += scan.records;
        last = scan.last_seq;
        active = Some((path.clone(), *start, scan.intact_len()));
        let Some(damage) = scan.damage else {
            continue;
        };
        let is_last = i + 1 == chain.len();
        if damage.torn && is_last {
            actions.push(Action::Truncate(path.clone(), damage.offset));
            report.torn_tail = Some(TornTail {
                file: path.clone(),
                offset: damage.offset,
                bytes_dropped: scan.file_len - damage.offset,
            });
            break;
        }
        if !repair {
            return Err(StoreError::Corrupted {
                file: path.clone(),
                offset: damage.offset,
                reason: format!(
                    "{}, and more data follows; open with repair to drop everything from here on",
                    damage.reason
                ),
            });
        }
        actions.push(Action::Truncate(path.clone(), damage.offset));
        let mut repaired = Repair {
            file: path.clone(),
            offset: damage.offset,
            reason: damage.reason,
            bytes_dropped: scan.file_len - damage.offset,
            records_dropped: damage.records_after,
            files_dropped: Vec::new(),
        };
        drop_files(&chain[i + 1..], &mut repaired, &mut actions)?;
        report.repaired = Some(repaired);
        break;
    }

    if let Some(skipped) = report.skipped_snapshots.iter().max_by_key(|s| s.seq) {
        if last < skipped.seq {
            return Err(StoreError::Corrupted {
                file: skipped.file.clone(),
                offset: 0,
                reason: format!(
                    "the snapshot of commit {} is damaged ({}) and no older snapshot with a complete log replaces it: the log reaches only commit {last}",
                    skipped.seq, skipped.reason
                ),
            });
        }
    }

    apply(layer, dir, &actions)?;
    report.snapshot_seq = snapshot_seq;
    report.last_seq = last;
    Ok(Recovered {
        store,
        last_seq: last,
        active,
        report,
        files,
    })
}

fn apply(layer: &dyn FileLayer, dir: &Path, actions: &[Action]) -> Result<()> {
    for action in actions {
        match action {
            Action::Truncate(path, len) => layer
                .truncate(path, *len)
                .map_err(|e| StoreError::io(path, e))?,
            Action::Remove(path) => files::remove(layer, path)?,
            Action::SetAside(path) => {
                let mut aside = path.as_os_str().to_owned();
                aside.push(CORRUPT_SUFFIX);
                layer
                    .rename(path, Path::new(&aside))
                    .map_err(|e| StoreError::io(path, e))?;
            }
        }
    }
    if !actions.is_empty() {
        files::sync_dir(layer, dir)?;
    }
    Ok(())
}
