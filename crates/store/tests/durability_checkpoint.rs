//! Checkpoints: manual and by WAL size, in the middle of a stream of
//! writes, and the files a checkpoint leaves behind (or that an interrupted
//! one left behind) on the next open.
#![allow(clippy::unwrap_used)]

mod durability_support;

use std::fs;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::thread;

use durability_support::*;
use keyset_store::durable::{Options, SyncMode};

#[test]
fn a_checkpoint_between_writes_cuts_the_log_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = open(dir.path(), Options::default());
    create_items(db.store());
    for n in 0..30 {
        write_batch(db.store(), n);
    }
    let first = db.checkpoint().unwrap();
    assert_eq!(first.seq, 32);
    assert!(first.runs_written > 0 && first.bytes > 0, "{first:?}");
    assert_eq!(manifest_files(dir.path()), vec![first.manifest.clone()]);
    for n in 30..60 {
        write_batch(db.store(), n);
    }
    let second = db.checkpoint().unwrap();
    assert_eq!(second.seq, 62);
    // The previous generation and the log from its position stay until
    // the next manifest is durable.
    assert_eq!(
        manifest_files(dir.path()),
        vec![first.manifest.clone(), second.manifest.clone()]
    );
    assert_eq!(
        wal_files(dir.path()).len(),
        2,
        "the log from the previous generation on"
    );
    for n in 60..75 {
        write_batch(db.store(), n);
    }
    let third = db.checkpoint().unwrap();
    assert!(third.removed.contains(&first.manifest), "{third:?}");
    assert_eq!(
        manifest_files(dir.path()),
        vec![second.manifest.clone(), third.manifest.clone()]
    );
    assert_eq!(
        wal_files(dir.path()).len(),
        2,
        "the log before the previous generation removed"
    );
    for n in 75..80 {
        write_batch(db.store(), n);
    }
    drop(db);

    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(report.snapshot_seq, Some(77));
    assert_eq!(report.manifest, Some(third.manifest.clone()));
    assert!(report.runs_loaded > 0, "{report:?}");
    assert_eq!(
        report.records_replayed, 5,
        "only the commits after the manifest"
    );
    assert_eq!(report.last_seq, 82);
    assert_batches(db.store(), 80);
    // A checkpoint with nothing new rewrites the same manifest harmlessly.
    let again = db.checkpoint().unwrap();
    let same = db.checkpoint().unwrap();
    assert_eq!((again.seq, same.seq), (82, 82));
    assert_eq!(same.runs_written, 0, "every source already has a file");
    drop(db);
    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(
        (report.snapshot_seq, report.records_replayed),
        (Some(82), 0)
    );
    assert_batches(db.store(), 80);
}

/// Reopening after a flush gives the same rows, index entries and
/// catalog (ids included) as before, and later checkpoints reuse the
/// files of runs loaded from disk instead of writing them again.
#[test]
fn reopen_after_a_flush_equals_the_state_before_and_reuses_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        store: keyset_store::StoreOptions {
            memtable_bytes: 2048,
            ..keyset_store::StoreOptions::default()
        },
        ..Options::default()
    };
    let (db, _) = open(dir.path(), opts.clone());
    create_items(db.store());
    for n in 0..200 {
        write_batch(db.store(), n);
    }
    // Replace and delete some rows so runs carry tombstones and versions.
    let mut batch = keyset_store::Batch::new();
    for id in 0..30 {
        batch.delete("items", vec![keyset_store::Value::Int(id)]);
    }
    db.store().commit(&batch).unwrap();
    db.store().maintain();
    db.checkpoint().unwrap();
    let before = dump(db.store());
    let next_id = db.store().read().catalog().next_id();
    drop(db);
    let (db, report) = open(dir.path(), opts);
    assert_eq!(report.records_replayed, 0);
    assert_eq!(dump(db.store()), before);
    assert_eq!(db.store().read().catalog().next_id(), next_id);
    let again = db.checkpoint().unwrap();
    assert_eq!(again.runs_written, 0, "{again:?}");
}

/// Every row of `items` by data map and by index, in order.
fn dump(store: &keyset_store::Store) -> Vec<String> {
    let view = store.read();
    let table = view.table("items").unwrap();
    let index = table.def().index_by_name("by_batch").unwrap().id;
    let mut out = Vec::new();
    for shard in table.shard_views() {
        for (k, row) in shard.data().iter() {
            out.push(format!("d {k:?} {row:?}"));
        }
        for (k, row) in shard.index(index).unwrap().iter() {
            out.push(format!("i {k:?} {row:?}"));
        }
    }
    out
}

#[test]
fn checkpoints_while_a_writer_commits_keep_every_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = open(dir.path(), options(SyncMode::Never));
    create_items(db.store());
    let done = AtomicBool::new(false);
    let written = AtomicI64::new(0);
    let mut checkpoints = 0;
    thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0;
            while !done.load(Ordering::Acquire) || n < 200 {
                write_batch(db.store(), n);
                n += 1;
                written.store(n, Ordering::Release);
            }
        });
        while checkpoints < 8 {
            if written.load(Ordering::Acquire) > checkpoints * 20 {
                db.checkpoint().unwrap();
                checkpoints += 1;
            } else {
                thread::yield_now();
            }
        }
        done.store(true, Ordering::Release);
    });
    let total = written.load(Ordering::Acquire);
    assert_batches(db.store(), total);
    db.close().unwrap();
    let (db, report) = open(dir.path(), options(SyncMode::Never));
    assert!(report.snapshot_seq.is_some());
    assert_batches(db.store(), total);
}

#[test]
fn the_wal_size_threshold_triggers_checkpoints_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sync: SyncMode::Never,
        checkpoint_wal_bytes: 4096,
        ..Options::default()
    };
    let (db, _) = open(dir.path(), opts.clone());
    create_items(db.store());
    // The checkpointer runs on its own thread, so commits never wait for
    // it, and how far the log grows before it runs depends on scheduling.
    // What does not: nobody calls `checkpoint`, yet the log is cut (its
    // length drops between two commits) and two generations get written.
    let mut cuts = 0;
    let mut previous = db.wal_bytes();
    let mut n = 0;
    while n < 300 || ((manifest_files(dir.path()).len() < 2 || cuts < 2) && n < 200_000) {
        write_batch(db.store(), n);
        let now = db.wal_bytes();
        if now < previous {
            cuts += 1;
        }
        previous = now;
        n += 1;
    }
    assert!(cuts >= 2, "the log was cut {cuts} times in {n} batches");
    assert_eq!(db.last_checkpoint_error(), None);
    db.close().unwrap();
    assert_eq!(manifest_files(dir.path()).len(), 2, "current and previous");
    assert!(wal_files(dir.path()).len() <= 3);
    let (db, report) = open(dir.path(), opts);
    let snapshot = report.snapshot_seq.expect("an automatic checkpoint");
    assert_eq!(snapshot + report.records_replayed, n as u64 + 2);
    assert!(report.records_replayed < n as u64, "{report:?}");
    assert_batches(db.store(), n);
}

/// A checkpoint that cut the log but died before its manifest was renamed
/// leaves two WAL files and a temporary file: recovery replays across both
/// files and removes the leftover.
#[test]
fn an_interrupted_checkpoint_is_recovered_across_two_log_files() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = open(dir.path(), Options::default());
    create_items(db.store());
    for n in 0..10 {
        write_batch(db.store(), n);
    }
    let cut = db.store().last_seq();
    drop(db);
    // What the cut does: a new file, header only, named after the last commit.
    let second = dir.path().join(format!("wal-{cut:020}.log"));
    fs::write(&second, b"KSWAL\0\0\x01").unwrap();
    let leftover = dir.path().join(format!("manifest-{cut:020}.mf.tmp"));
    fs::write(&leftover, b"half a manifest").unwrap();

    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(report.wal_files, 2);
    assert_eq!(report.stale_files_removed, vec![leftover.clone()]);
    assert!(!leftover.exists());
    assert_batches(db.store(), 10);
    for n in 10..20 {
        write_batch(db.store(), n);
    }
    drop(db);
    assert!(
        fs::metadata(&second).unwrap().len() > 8,
        "new commits went to the newest file"
    );
    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(report.last_seq, cut + 10);
    assert_batches(db.store(), 20);
}

/// Run-file writes that take 600 ms each: the checkpointer is slow.
#[derive(Debug)]
struct SlowRunFiles;

impl keyset_store::durable::layer::FileLayer for SlowRunFiles {
    fn open(
        &self,
        path: &std::path::Path,
        mode: keyset_store::durable::layer::OpenMode,
        private: bool,
    ) -> std::io::Result<std::fs::File> {
        keyset_store::durable::layer::RealFiles.open(path, mode, private)
    }

    fn sync(&self, file: &std::fs::File, path: &std::path::Path) -> std::io::Result<()> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("run-") {
            thread::sleep(std::time::Duration::from_millis(600));
        }
        keyset_store::durable::layer::RealFiles.sync(file, path)
    }

    fn truncate(&self, path: &std::path::Path, len: u64) -> std::io::Result<()> {
        keyset_store::durable::layer::RealFiles.truncate(path, len)
    }

    fn rename(&self, from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
        keyset_store::durable::layer::RealFiles.rename(from, to)
    }

    fn remove(&self, path: &std::path::Path) -> std::io::Result<()> {
        keyset_store::durable::layer::RealFiles.remove(path)
    }

    fn sync_dir(&self, dir: &std::path::Path) -> std::io::Result<()> {
        keyset_store::durable::layer::RealFiles.sync_dir(dir)
    }
}

/// A checkpoint made slow on purpose (every run file takes 600 ms to
/// fsync) runs on the checkpointer thread: commits keep completing while
/// it works, none waits for it, and it still finishes.
#[test]
fn a_slow_checkpoint_never_stalls_commits() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sync: SyncMode::Never,
        checkpoint_wal_bytes: 2048,
        files: keyset_store::durable::Files(std::sync::Arc::new(SlowRunFiles)),
        ..Options::default()
    };
    let (db, _) = open(dir.path(), opts.clone());
    create_items(db.store());
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    // Keep committing until a checkpoint has been written, at least for
    // as long as one run file takes.
    while n < 50 || manifest_files(dir.path()).is_empty() {
        let t = Instant::now();
        write_batch(db.store(), n);
        slowest = slowest.max(t.elapsed());
        n += 1;
        assert!(started.elapsed() < Duration::from_secs(60), "no checkpoint");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "the checkpoint took at least one slow run file"
    );
    assert!(
        slowest < Duration::from_millis(400),
        "a commit waited {slowest:?} while run files took 600 ms each"
    );
    assert_eq!(db.store().stats().stalls, 0);
    db.close().unwrap();
    let (db, report) = open(dir.path(), opts);
    assert!(report.runs_loaded > 0, "{report:?}");
    assert_batches(db.store(), n);
}
