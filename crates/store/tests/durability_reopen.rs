//! Reopening a data directory: after close, after a drop, in every sync
//! mode, with schema changes, with the lock held, and under concurrent
//! committers sharing fsyncs.
#![allow(clippy::unwrap_used)]

mod durability_support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use durability_support::*;
use keyset_store::durable::{Options, SyncMode};
use keyset_store::{
    Batch, ColumnDef, ColumnType, DurableStore, IndexSpec, StoreError, TableSpec, Value,
};

#[test]
fn reopen_after_close_and_after_drop_keeps_every_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (db, report) = open(dir.path(), Options::default());
    assert!(report.created);
    assert_eq!(report.last_seq, 0);
    create_items(db.store());
    for n in 0..10 {
        write_batch(db.store(), n);
    }
    db.close().unwrap();

    let (db, report) = open(dir.path(), Options::default());
    assert!(!report.created);
    assert_eq!(
        report.records_replayed, 12,
        "two DDL records and ten batches"
    );
    assert_eq!(report.last_seq, 12);
    assert_eq!(report.torn_tail, None);
    assert_batches(db.store(), 10);
    for n in 10..15 {
        write_batch(db.store(), n);
    }
    drop(db);

    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(report.last_seq, 17);
    assert_batches(db.store(), 15);
    assert_eq!(
        db.store().last_seq(),
        17,
        "new commits continue the numbering"
    );
}

#[test]
fn every_sync_mode_survives_a_reopen_and_fsyncs_as_promised() {
    let modes = [
        SyncMode::Always,
        SyncMode::Periodic(Duration::from_millis(2)),
        SyncMode::Never,
    ];
    for mode in modes {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = open(dir.path(), options(mode));
        create_items(db.store());
        let before = db.wal_fsyncs();
        for n in 0..20 {
            write_batch(db.store(), n);
        }
        let fsyncs = db.wal_fsyncs() - before;
        match mode {
            SyncMode::Always => assert_eq!(fsyncs, 20, "one fsync per lone commit"),
            SyncMode::Never => assert_eq!(fsyncs, 0, "Never does not fsync on commit"),
            SyncMode::Periodic(_) => {
                // The syncer fsyncs on its own; wait for it by count, not time.
                let deadline = Instant::now() + Duration::from_secs(20);
                while db.wal_fsyncs() == before {
                    assert!(Instant::now() < deadline, "the periodic syncer never ran");
                    thread::sleep(Duration::from_millis(1));
                }
            }
        }
        // Dropping without close: what a commit handed to the OS is kept.
        drop(db);
        let (db, report) = open(dir.path(), options(mode));
        assert_eq!(report.last_seq, 22, "{mode:?}");
        assert_batches(db.store(), 20);
        db.close().unwrap();
    }
}

#[test]
fn a_second_opener_gets_locked_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = open(dir.path(), Options::default());
    match open_err(dir.path(), Options::default()) {
        StoreError::Locked { dir: locked } => assert_eq!(locked, dir.path()),
        other => panic!("expected Locked, got {other}"),
    }
    db.close().unwrap();
    let (db, _) = open(dir.path(), Options::default());
    drop(db);
    let (_db, _) = open(dir.path(), Options::default());
}

#[test]
fn a_store_kept_after_its_directory_closed_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = open(dir.path(), Options::default());
    create_items(db.store());
    write_batch(db.store(), 0);
    let kept = Arc::clone(db.store());
    db.close().unwrap();
    let mut batch = Batch::new();
    batch.put(
        "items",
        vec![Value::Int(100), Value::Int(1), Value::from("late")],
    );
    let err = kept.commit(&batch).unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
    assert_eq!(batches(&kept).len(), 1, "the refused batch is not applied");
    let (db, _) = open(dir.path(), Options::default());
    assert_batches(db.store(), 1);
}

#[test]
fn the_key_and_database_id_persist_and_the_key_can_be_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = open(dir.path(), Options::default());
    let (id, key) = (db.database_id(), db.mac_key());
    assert_ne!(key, [0; 32]);
    db.close().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("mac.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (db, _) = open(dir.path(), Options::default());
    assert_eq!((db.database_id(), db.mac_key()), (id, key));
    db.close().unwrap();
    let given = [7u8; 32];
    let (db, _) = open(
        dir.path(),
        Options {
            mac_key: Some(given),
            ..Options::default()
        },
    );
    assert_eq!((db.database_id(), db.mac_key()), (id, given));
    let other = tempfile::tempdir().unwrap();
    let (fresh, _) = open(other.path(), Options::default());
    assert_ne!(fresh.database_id(), id, "each directory gets its own id");
}

/// Schema changes replay from the log and load from a snapshot alike; ids
/// of dropped indexes and tables are never handed out again.
#[test]
fn schema_changes_survive_reopen_and_dropped_ids_stay_retired() {
    for checkpoint in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = open(dir.path(), Options::default());
        let store = db.store();
        create_items(store);
        let gone = store
            .create_index(&IndexSpec::new("gone", "items", &["label"]))
            .unwrap();
        let unique = store
            .create_index(&IndexSpec::new("by_label", "items", &["label"]).unique())
            .unwrap();
        store.drop_index("items", "gone").unwrap();
        let scratch = TableSpec::new(
            "scratch",
            vec![ColumnDef::new("k", ColumnType::Int)],
            &["k"],
        );
        let scratch_id = store.create_table(&scratch).unwrap().id;
        store.drop_table("scratch").unwrap();
        for n in 0..4 {
            write_batch(store, n);
        }
        let highest = gone.id.max(unique.id).max(scratch_id);
        if checkpoint {
            db.checkpoint().unwrap();
        }
        let catalog_before = store.read().catalog().clone();
        drop(db);

        let (db, report) = open(dir.path(), Options::default());
        assert_eq!(report.snapshot_seq.is_some(), checkpoint);
        let store = db.store();
        assert_eq!(store.read().catalog(), &catalog_before);
        let view = store.read();
        let items = view.table("items").unwrap();
        assert!(items.def().index_by_name("gone").is_none());
        assert!(view.table("scratch").is_none());
        let label = items.def().index_by_name("by_label").unwrap();
        assert_eq!(label.id, unique.id);
        assert!(label.unique);
        assert_batches(store, 4);
        // The unique index is enforced after reopen.
        let mut dup = Batch::new();
        dup.put(
            "items",
            vec![Value::Int(999), Value::Int(9), Value::from("batch 0 row 0")],
        );
        assert!(matches!(
            store.commit(&dup),
            Err(StoreError::UniqueViolation { .. })
        ));
        let again = store
            .create_index(&IndexSpec::new("gone", "items", &["label"]))
            .unwrap();
        assert!(
            again.id > highest,
            "id {} reused (checkpoint: {checkpoint})",
            again.id
        );
    }
}

/// Concurrent committers under `Always` all succeed, every batch is there
/// after reopen, and no commit needed more than one fsync of its own.
#[test]
fn concurrent_committers_share_fsyncs_and_lose_nothing() {
    const THREADS: i64 = 6;
    const PER_THREAD: i64 = 25;
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = open(dir.path(), Options::default());
    create_items(db.store());
    let before = db.wal_fsyncs();
    thread::scope(|scope| {
        for t in 0..THREADS {
            let store = db.store();
            scope.spawn(move || {
                for i in 0..PER_THREAD {
                    write_batch(store, t * PER_THREAD + i);
                }
            });
        }
    });
    let commits = (THREADS * PER_THREAD) as u64;
    let fsyncs = db.wal_fsyncs() - before;
    assert!(fsyncs <= commits, "{fsyncs} fsyncs for {commits} commits");
    println!("group commit: {fsyncs} fsyncs for {commits} commits");
    drop(db);
    let (db, _) = open(dir.path(), Options::default());
    assert_batches(db.store(), THREADS * PER_THREAD);
}

/// A large log of single-row batches replays in one pass (no quadratic
/// work); the long run uses the 1,000,000 batches the benchmark measures.
#[test]
fn a_long_log_of_single_row_batches_replays() {
    let count: i64 = if long_tests() { 1_000_000 } else { 20_000 };
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sync: SyncMode::Never,
        checkpoint_wal_bytes: 0,
        ..Options::default()
    };
    let (db, _) = open(dir.path(), opts.clone());
    create_items(db.store());
    for id in 0..count {
        let mut batch = Batch::new();
        batch.put(
            "items",
            vec![Value::Int(id), Value::Int(id), Value::from("x")],
        );
        db.store().commit(&batch).unwrap();
    }
    db.close().unwrap();
    let started = Instant::now();
    let (db, report) = open(dir.path(), opts);
    println!(
        "replayed {} records in {:?}",
        report.records_replayed,
        started.elapsed()
    );
    assert_eq!(report.records_replayed, count as u64 + 2);
    assert_eq!(
        db.store().read().table("items").unwrap().len(),
        count as usize
    );
}

#[test]
fn an_unopenable_path_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    match DurableStore::open(&file, Options::default()) {
        Err(StoreError::Io { path, .. }) => assert_eq!(path, file),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}
