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
    assert_eq!(first.rows, 30 * ROWS_PER_BATCH as u64);
    assert_eq!(fs::metadata(&first.snapshot).unwrap().len(), first.bytes);
    for n in 30..60 {
        write_batch(db.store(), n);
    }
    let second = db.checkpoint().unwrap();
    assert_eq!(second.seq, 62);
    assert!(second.removed.contains(&first.snapshot), "{second:?}");
    assert_eq!(snapshot_files(dir.path()), vec![second.snapshot.clone()]);
    assert_eq!(wal_files(dir.path()).len(), 1, "older WAL files removed");
    for n in 60..75 {
        write_batch(db.store(), n);
    }
    drop(db);

    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(report.snapshot_seq, Some(62));
    assert_eq!(
        report.records_replayed, 15,
        "only the commits after the snapshot"
    );
    assert_eq!(report.last_seq, 77);
    assert_batches(db.store(), 75);
    // A checkpoint with nothing new rewrites the same snapshot harmlessly.
    let again = db.checkpoint().unwrap();
    let same = db.checkpoint().unwrap();
    assert_eq!((again.seq, same.seq), (77, 77));
    drop(db);
    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(
        (report.snapshot_seq, report.records_replayed),
        (Some(77), 0)
    );
    assert_batches(db.store(), 75);
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
    for n in 0..300 {
        write_batch(db.store(), n);
        assert!(db.wal_bytes() < 4096 + 1024, "the log keeps being cut");
    }
    assert_eq!(db.last_checkpoint_error(), None);
    assert_eq!(snapshot_files(dir.path()).len(), 1);
    assert_eq!(wal_files(dir.path()).len(), 1);
    drop(db);
    let (db, report) = open(dir.path(), opts);
    let snapshot = report.snapshot_seq.expect("an automatic snapshot");
    assert_eq!(snapshot + report.records_replayed, 302);
    assert!(report.records_replayed < 100, "{report:?}");
    assert_batches(db.store(), 300);
}

/// A checkpoint that cut the log but died before its snapshot was renamed
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
    let leftover = dir.path().join(format!("snapshot-{cut:020}.snap.tmp"));
    fs::write(&leftover, b"half a snapshot").unwrap();

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
