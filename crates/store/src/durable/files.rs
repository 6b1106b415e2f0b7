//! The data directory's layout: file names, the lock file (which records
//! its holder's pid), the MAC key and database id files, and the fsync
//! helpers every atomic write relies on. It knows names and raw bytes, not
//! what a WAL record or snapshot holds.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[cfg(test)]
use super::layer::RealFiles;
use super::layer::{FileLayer, OpenMode};
use crate::error::{Result, StoreError};

pub(crate) const LOCK_FILE: &str = "LOCK";
pub(crate) const KEY_FILE: &str = "mac.key";
pub(crate) const ID_FILE: &str = "database.id";
const WAL_PREFIX: &str = "wal-";
const WAL_SUFFIX: &str = ".log";
const SNAPSHOT_PREFIX: &str = "snapshot-";
const SNAPSHOT_SUFFIX: &str = ".snap";
const MANIFEST_PREFIX: &str = "manifest-";
const MANIFEST_SUFFIX: &str = ".mf";
const RUN_PREFIX: &str = "run-";
const RUN_SUFFIX: &str = ".run";
const TMP_SUFFIX: &str = ".tmp";
pub(crate) const CORRUPT_SUFFIX: &str = ".corrupt";

/// `wal-<start seq, 20 digits>.log`: holds records `start + 1, ...`.
pub(crate) fn wal_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{WAL_PREFIX}{start:020}{WAL_SUFFIX}"))
}

#[cfg(test)]
/// `snapshot-<seq, 20 digits>.snap`: the state after commit `seq` (the
/// format of older versions; written only by tests).
pub(crate) fn snapshot_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{SNAPSHOT_PREFIX}{seq:020}{SNAPSHOT_SUFFIX}"))
}

/// `manifest-<seq, 20 digits>.mf`: the generation covering commits `..=seq`.
pub(crate) fn manifest_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{MANIFEST_PREFIX}{seq:020}{MANIFEST_SUFFIX}"))
}

/// `run-<number, 20 digits>.run`: one run file.
pub(crate) fn run_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{RUN_PREFIX}{number:020}{RUN_SUFFIX}"))
}

/// The temporary name a file is written under before its rename.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TMP_SUFFIX);
    PathBuf::from(name)
}

/// The database files found in a directory, each list ascending by seq.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub wals: Vec<(u64, PathBuf)>,
    pub snapshots: Vec<(u64, PathBuf)>,
    pub manifests: Vec<(u64, PathBuf)>,
    /// Run files by number.
    pub runs: Vec<(u64, PathBuf)>,
    /// Leftovers of an interrupted atomic write.
    pub temps: Vec<PathBuf>,
}

fn parse_seq(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Lists the WAL files, snapshots and temporary files of `dir`.
pub(crate) fn list(dir: &Path) -> Result<Listing> {
    let mut listing = Listing::default();
    let entries = fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        if let Some(seq) = parse_seq(&name, WAL_PREFIX, WAL_SUFFIX) {
            listing.wals.push((seq, path));
        } else if let Some(seq) = parse_seq(&name, SNAPSHOT_PREFIX, SNAPSHOT_SUFFIX) {
            listing.snapshots.push((seq, path));
        } else if let Some(seq) = parse_seq(&name, MANIFEST_PREFIX, MANIFEST_SUFFIX) {
            listing.manifests.push((seq, path));
        } else if let Some(number) = parse_seq(&name, RUN_PREFIX, RUN_SUFFIX) {
            listing.runs.push((number, path));
        } else if name.ends_with(TMP_SUFFIX)
            && (name.starts_with(SNAPSHOT_PREFIX)
                || name.starts_with(MANIFEST_PREFIX)
                || name.starts_with(WAL_PREFIX)
                || name.starts_with(KEY_FILE)
                || name.starts_with(ID_FILE))
        {
            listing.temps.push(path);
        }
    }
    listing.wals.sort();
    listing.snapshots.sort();
    listing.manifests.sort();
    listing.runs.sort();
    Ok(listing)
}

/// How long a waiting opener sleeps between two tries of the lock.
const LOCK_RETRY: Duration = Duration::from_millis(10);

/// Takes the directory's lock, trying again for up to `busy_timeout` while
/// another opener holds it (zero: one try); then `StoreError::Locked`. The
/// holder writes its pid into the lock file, so the refused opener can name
/// it ([`lock_holder`]). The lock is released when the returned file is
/// closed.
pub(crate) fn acquire_lock(dir: &Path, busy_timeout: Duration) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    let deadline = Instant::now() + busy_timeout;
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(StoreError::Locked {
                        dir: dir.to_path_buf(),
                    });
                }
                std::thread::sleep(LOCK_RETRY.min(deadline - now));
            }
            Err(TryLockError::Error(e)) => return Err(StoreError::io(&path, e)),
        }
    }
    // The pid is a courtesy for the next opener's message: failing to
    // write it does not stop this one.
    let pid = std::process::id().to_string();
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(pid.as_bytes()));
    Ok(file)
}

/// The pid the directory's lock file records, if that process is alive:
/// the holder of a held lock. (Between taking the lock and writing its pid
/// a new holder leaves the last holder's pid in the file; that process has
/// usually ended, and is then not named.)
pub fn lock_holder(dir: &Path) -> Option<u32> {
    let text = fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_alive(pid).then_some(pid)
}

#[cfg(target_os = "linux")]
fn is_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(not(target_os = "linux"))]
fn is_alive(_pid: u32) -> bool {
    true
}

/// Makes the directory's entries (creations, renames) durable.
pub(crate) fn sync_dir(layer: &dyn FileLayer, dir: &Path) -> Result<()> {
    layer.sync_dir(dir).map_err(|e| StoreError::io(dir, e))
}

/// Creates a new file for writing; `private` files get mode 0600 on unix.
pub(crate) fn create_file(layer: &dyn FileLayer, path: &Path, private: bool) -> io::Result<File> {
    layer.open(path, OpenMode::Truncate, private)
}

/// Writes `bytes` to `dir/name` atomically: temporary file, fsync, rename,
/// fsync the directory.
pub(crate) fn write_atomic(
    layer: &dyn FileLayer,
    dir: &Path,
    name: &str,
    bytes: &[u8],
    private: bool,
) -> Result<()> {
    let path = dir.join(name);
    let temp = temp_path(&path);
    let mut file = create_file(layer, &temp, private).map_err(|e| StoreError::io(&temp, e))?;
    file.write_all(bytes)
        .and_then(|()| layer.sync(&file, &temp))
        .map_err(|e| StoreError::io(&temp, e))?;
    drop(file);
    layer
        .rename(&temp, &path)
        .map_err(|e| StoreError::io(&path, e))?;
    sync_dir(layer, dir)
}

/// Reads a small file that must hold exactly `N` bytes; `None` if missing.
fn read_exact_file<const N: usize>(path: &Path) -> Result<Option<[u8; N]>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let array = <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| StoreError::Corrupted {
        file: path.to_path_buf(),
        offset: bytes.len().min(N) as u64,
        reason: format!("expected exactly {N} bytes, found {}", bytes.len()),
    })?;
    Ok(Some(array))
}

fn random<const N: usize>(dir: &Path) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| StoreError::io(dir, io::Error::other(e.to_string())))?;
    Ok(out)
}

/// The database id and the cursor MAC key, created (random) if missing.
#[derive(Clone, Copy)]
pub(crate) struct Identity {
    pub database_id: [u8; 8],
    pub mac_key: [u8; 32],
}

/// Loads the id and key files. A new database (`created`) gets both, made
/// at random. For an existing one a missing file is an error naming it
/// (a new key would invalidate every outstanding cursor), unless `repair`
/// allows making it anew; those are returned. `need_key`: false when the
/// caller supplies its own key, so the key file is not read.
pub(crate) fn load_or_create_identity(
    layer: &dyn FileLayer,
    dir: &Path,
    created: bool,
    repair: bool,
    need_key: bool,
) -> Result<(Identity, Vec<PathBuf>)> {
    let mut recreated = Vec::new();
    let mut load = |name: &str, private: bool, what: &str| -> Result<Vec<u8>> {
        let path = dir.join(name);
        let len = if name == ID_FILE { 8 } else { 32 };
        let found = if len == 8 {
            read_exact_file::<8>(&path)?.map(|a| a.to_vec())
        } else {
            read_exact_file::<32>(&path)?.map(|a| a.to_vec())
        };
        if let Some(bytes) = found {
            return Ok(bytes);
        }
        if !created && !repair {
            return Err(StoreError::Corrupted {
                file: path,
                offset: 0,
                reason: format!(
                    "the {what} file is missing from an existing database; restore it from a backup, or open with repair (keyset ... --repair) to make a new one (cursors handed out before stop working)"
                ),
            });
        }
        let bytes = if len == 8 {
            random::<8>(dir)?.to_vec()
        } else {
            random::<32>(dir)?.to_vec()
        };
        write_atomic(layer, dir, name, &bytes, private)?;
        if !created {
            recreated.push(path);
        }
        Ok(bytes)
    };
    // The database id last: it marks a creation that finished.
    let key = if need_key || created {
        load(KEY_FILE, true, "cursor key")?
    } else {
        vec![0; 32]
    };
    let id = load(ID_FILE, false, "database id")?;
    let mut identity = Identity {
        database_id: [0; 8],
        mac_key: [0; 32],
    };
    identity.database_id.copy_from_slice(&id);
    identity.mac_key.copy_from_slice(&key);
    Ok((identity, recreated))
}

/// Removes a file; a file already gone is not an error.
pub(crate) fn remove(layer: &dyn FileLayer, path: &Path) -> Result<()> {
    match layer.remove(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_the_listing() {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            wal_path(dir.path(), 0),
            wal_path(dir.path(), 42),
            snapshot_path(dir.path(), 42),
            temp_path(&snapshot_path(dir.path(), 50)),
            dir.path().join("wal-x.log"),
            dir.path().join("notes.txt"),
        ] {
            File::create(path).unwrap();
        }
        let listing = list(dir.path()).unwrap();
        let seqs = |v: &[(u64, PathBuf)]| v.iter().map(|(s, _)| *s).collect::<Vec<_>>();
        assert_eq!(seqs(&listing.wals), vec![0, 42]);
        assert_eq!(seqs(&listing.snapshots), vec![42]);
        assert_eq!(listing.temps.len(), 1);
    }

    #[test]
    fn a_held_lock_names_its_holder_and_a_waiter_gets_it_when_released() {
        let dir = tempfile::tempdir().unwrap();
        let held = acquire_lock(dir.path(), Duration::ZERO).unwrap();
        assert_eq!(lock_holder(dir.path()), Some(std::process::id()));
        let started = Instant::now();
        let err = acquire_lock(dir.path(), Duration::from_millis(50))
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(started.elapsed() >= Duration::from_millis(50), "it waited");
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(held);
        });
        acquire_lock(dir.path(), Duration::from_secs(10)).unwrap();
        release.join().unwrap();
    }

    #[test]
    fn a_short_key_file_is_corruption_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), [1, 2, 3]).unwrap();
        let err = load_or_create_identity(&RealFiles, dir.path(), true, false, true)
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Corrupted { .. }), "{err}");
    }
}
