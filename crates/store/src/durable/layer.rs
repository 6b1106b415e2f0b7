//! The file layer: every operation whose durability matters (creating and
//! opening files, fsyncs, truncation, renames, removals, directory fsyncs)
//! goes through a [`FileLayer`], so a test can stand in for the disk.
//! Bytes are written through the `File` handles it returns.
//!
//! [`RealFiles`] is the operating system. [`PowerLossFiles`] is the test
//! layer: it does the same operations and records what each fsync made
//! durable, and can take a *crash image* at any operation: the directory
//! as a power loss at that moment would leave it (file contents as of
//! their last fsync, optionally with a random part of the unsynced tail;
//! names as of the last directory fsync, so an unsynced rename, creation or
//! removal is undone).

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::files::LOCK_FILE;

/// How a file is opened for writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Created, or emptied if it exists.
    Truncate,
    /// Created; an existing file is an error. Writes append.
    CreateNew,
    /// An existing file, written at its end.
    Append,
}

/// The operations the durable code relies on for durability.
pub trait FileLayer: Send + Sync + fmt::Debug {
    /// Opens `path` for writing; `private` files get mode 0600 on unix.
    fn open(&self, path: &Path, mode: OpenMode, private: bool) -> io::Result<File>;
    /// Fsyncs `file`, which is `path`.
    fn sync(&self, file: &File, path: &Path) -> io::Result<()>;
    /// Cuts `path` to `len` bytes and fsyncs it.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

fn open_real(path: &Path, mode: OpenMode, private: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    match mode {
        OpenMode::Truncate => options.write(true).create(true).truncate(true),
        OpenMode::CreateNew => options.append(true).create_new(true),
        OpenMode::Append => options.append(true),
    };
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    options.open(path)
}

/// The operating system's files.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFiles;

impl FileLayer for RealFiles {
    fn open(&self, path: &Path, mode: OpenMode, private: bool) -> io::Result<File> {
        open_real(path, mode, private)
    }

    fn sync(&self, file: &File, _path: &Path) -> io::Result<()> {
        file.sync_all()
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        #[cfg(not(unix))]
        let _ = dir;
        Ok(())
    }
}

/// What a power loss would leave: per name, the durable bytes and the
/// bytes written but not yet fsynced.
#[derive(Clone, Debug, Default)]
struct Image {
    files: HashMap<PathBuf, (Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, Default)]
struct Recorder {
    next_inode: u64,
    names_now: HashMap<PathBuf, u64>,
    names_durable: HashMap<PathBuf, u64>,
    durable: HashMap<u64, Vec<u8>>,
    /// Operations left before the crash image is taken.
    countdown: Option<u64>,
    image: Option<Image>,
    operations: u64,
}

/// The test layer: real files, with a record of what is durable.
#[derive(Debug)]
pub struct PowerLossFiles {
    dir: PathBuf,
    inner: Mutex<Recorder>,
}

impl PowerLossFiles {
    /// Starts recording `dir`: every file in it now counts as durable.
    pub fn new(dir: &Path) -> io::Result<PowerLossFiles> {
        let layer = PowerLossFiles {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Recorder::default()),
        };
        layer.rescan()?;
        Ok(layer)
    }

    fn lock(&self) -> MutexGuard<'_, Recorder> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn rescan(&self) -> io::Result<()> {
        let mut r = self.lock();
        let countdown = r.countdown;
        *r = Recorder {
            countdown,
            ..Recorder::default()
        };
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if !path.is_file() {
                continue;
            }
            let inode = r.next_inode;
            r.next_inode += 1;
            r.durable.insert(inode, fs::read(&path)?);
            r.names_now.insert(path.clone(), inode);
            r.names_durable.insert(path, inode);
        }
        Ok(())
    }

    /// Takes the crash image just before operation number `n` (counting
    /// from now); later operations still happen but cannot change it.
    pub fn crash_before(&self, n: u64) {
        let mut r = self.lock();
        r.countdown = Some(n);
        r.image = None;
        r.operations = 0;
    }

    /// Whether the crash image has been taken.
    pub fn crashed(&self) -> bool {
        self.lock().image.is_some()
    }

    /// Operations recorded since the last `crash_before` or `new`.
    pub fn operations(&self) -> u64 {
        self.lock().operations
    }

    /// Counts one operation; takes the image if it is the chosen one.
    fn step(&self, r: &mut Recorder) {
        r.operations += 1;
        match r.countdown {
            Some(0) => {
                r.countdown = None;
                r.image = Some(self.image_of(r));
            }
            Some(n) => r.countdown = Some(n - 1),
            None => {}
        }
    }

    fn image_of(&self, r: &Recorder) -> Image {
        let mut image = Image::default();
        for (name, inode) in &r.names_durable {
            let durable = r.durable.get(inode).cloned().unwrap_or_default();
            // The bytes written since the last fsync, if the file still has
            // this name and only grew.
            let current = r
                .names_now
                .iter()
                .find(|(_, i)| *i == inode)
                .and_then(|(p, _)| fs::read(p).ok())
                .unwrap_or_default();
            let unsynced = if current.len() > durable.len() && current.starts_with(&durable) {
                current[durable.len()..].to_vec()
            } else {
                Vec::new()
            };
            image.files.insert(name.clone(), (durable, unsynced));
        }
        image
    }

    /// Rewrites the directory as the crash image (or, if none was taken,
    /// as a power loss now) would leave it: durable bytes, plus the first
    /// `tear(len)` bytes of each file's unsynced tail. Then records the
    /// result as durable. Call with the store closed.
    pub fn power_loss(&self, mut tear: impl FnMut(usize) -> usize) -> io::Result<()> {
        let image = {
            let mut r = self.lock();
            match r.image.take() {
                Some(image) => image,
                None => self.image_of(&r),
            }
        };
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let is_lock = path.file_name().is_some_and(|n| n == LOCK_FILE);
            if path.is_file() && !is_lock {
                fs::remove_file(&path)?;
            }
        }
        for (name, (durable, unsynced)) in &image.files {
            if name.file_name().is_some_and(|n| n == LOCK_FILE) {
                continue;
            }
            let mut bytes = durable.clone();
            let keep = tear(unsynced.len()).min(unsynced.len());
            bytes.extend_from_slice(&unsynced[..keep]);
            fs::write(name, &bytes)?;
        }
        self.rescan()
    }

    fn inode_of(r: &mut Recorder, path: &Path) -> u64 {
        if let Some(i) = r.names_now.get(path) {
            return *i;
        }
        let inode = r.next_inode;
        r.next_inode += 1;
        r.names_now.insert(path.to_path_buf(), inode);
        inode
    }
}

impl FileLayer for PowerLossFiles {
    fn open(&self, path: &Path, mode: OpenMode, private: bool) -> io::Result<File> {
        let mut r = self.lock();
        self.step(&mut r);
        let file = open_real(path, mode, private)?;
        if mode == OpenMode::CreateNew || !r.names_now.contains_key(path) {
            let inode = r.next_inode;
            r.next_inode += 1;
            r.names_now.insert(path.to_path_buf(), inode);
        }
        Ok(file)
    }

    fn sync(&self, file: &File, path: &Path) -> io::Result<()> {
        let mut r = self.lock();
        self.step(&mut r);
        file.sync_all()?;
        let inode = Self::inode_of(&mut r, path);
        r.durable.insert(inode, fs::read(path)?);
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut r = self.lock();
        self.step(&mut r);
        RealFiles.truncate(path, len)?;
        let inode = Self::inode_of(&mut r, path);
        r.durable.insert(inode, fs::read(path)?);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut r = self.lock();
        self.step(&mut r);
        fs::rename(from, to)?;
        if let Some(inode) = r.names_now.remove(from) {
            r.names_now.insert(to.to_path_buf(), inode);
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut r = self.lock();
        self.step(&mut r);
        fs::remove_file(path)?;
        r.names_now.remove(path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut r = self.lock();
        self.step(&mut r);
        RealFiles.sync_dir(dir)?;
        r.names_durable = r.names_now.clone();
        Ok(())
    }
}
