//! Snapshot traversals (DESIGN section 6, guarantee 8): every page reads
//! the first page's view, whatever is written meanwhile; the cursor
//! carries the snapshot's seq under the MAC; an expired or released
//! snapshot is refused with `SnapshotExpired`; snapshot and live cursors
//! cannot stand in for each other.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use keyset::{Cursor, CursorError, Db, Error, Options, Retention, StoreOptions};

fn db(options: Options) -> Db {
    let db = Db::memory_with(options).expect("db");
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL) WITH (shards = 3)")
        .expect("create");
    db.execute("CREATE INDEX by_v ON t (v)").expect("index");
    let rows: Vec<String> = (0..600).map(|id| format!("({id}, {})", id % 37)).collect();
    db.execute(&format!("INSERT INTO t VALUES {}", rows.join(", ")))
        .expect("load");
    db
}

fn small_memtables() -> Options {
    Options {
        store: StoreOptions {
            memtable_bytes: 8 << 10,
            ..StoreOptions::default()
        },
        ..Options::default()
    }
}

fn pairs(page: &keyset::Page) -> Vec<(i64, i64)> {
    page.rows()
        .iter()
        .map(|r| (r.get("id").expect("id"), r.get("v").expect("v")))
        .collect()
}

/// Pages `sql` to the end with `run`, in pages as the SQL says.
fn traverse(mut run: impl FnMut(Option<&Cursor>) -> keyset::Page) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..10_000 {
        let page = run(cursor.as_ref());
        out.extend(pairs(&page));
        match page.next_cursor() {
            Some(next) => cursor = Some(next.clone()),
            None => return out,
        }
        thread::sleep(Duration::from_micros(200));
    }
    panic!("the traversal did not end");
}

/// A writer that keeps updating, inserting and deleting rows until stopped.
fn writer(
    db: &Db,
    stop: &Arc<AtomicBool>,
    first_new_id: u64,
    progress: &Arc<AtomicU64>,
) -> thread::JoinHandle<u64> {
    let (db, stop, progress) = (db.clone(), stop.clone(), progress.clone());
    thread::spawn(move || {
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let id = (n * 7919 % 600) as i64;
            db.execute(&format!(
                "UPDATE t SET v = {} WHERE id = {id}",
                (n % 50) as i64 + 100
            ))
            .expect("update");
            db.execute(&format!("INSERT INTO t VALUES ({}, 1)", first_new_id + n))
                .expect("insert");
            db.execute(&format!(
                "DELETE FROM t WHERE id = {}",
                (n * 31 % 600) as i64
            ))
            .expect("delete");
            n += 1;
            progress.store(n, Ordering::Relaxed);
        }
        n
    })
}

/// Waits (up to 5 s) until the writer has committed past `seen`, so that
/// writes land between every two pages; returns its progress.
fn wait_for_writes(progress: &AtomicU64, seen: u64) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = progress.load(Ordering::Relaxed);
        if now > seen || std::time::Instant::now() > deadline {
            return now;
        }
        thread::sleep(Duration::from_micros(100));
    }
}

#[test]
fn a_snapshot_traversal_is_the_table_at_its_first_page_while_writers_commit() {
    let db = db(small_memtables());
    for (round, sql) in [
        "SELECT * FROM t LIMIT 25 WITH (consistency = 'snapshot')",
        "SELECT * FROM t WHERE v >= 3 ORDER BY v DESC LIMIT 25 WITH (consistency = 'snapshot')",
    ]
    .into_iter()
    .enumerate()
    {
        let stop = Arc::new(AtomicBool::new(false));
        // The copy taken at the first page's moment: the snapshot's first
        // page is taken right after it, before the writer starts.
        let unpaged = sql.replace("LIMIT 25", "LIMIT 100000");
        let copy = pairs(&db.query(&unpaged, None).expect("copy"));
        let first = db.query(sql, None).expect("first page");
        let progress = Arc::new(AtomicU64::new(0));
        let w = writer(&db, &stop, 1_000 + 1_000_000 * round as u64, &progress);
        let mut pages = pairs(&first);
        let mut cursor = first.next_cursor().cloned();
        let mut seen = 0;
        while let Some(c) = cursor {
            seen = wait_for_writes(&progress, seen);
            let page = db.query(sql, Some(&c)).expect("page");
            pages.extend(pairs(&page));
            cursor = page.next_cursor().cloned();
        }
        stop.store(true, Ordering::Relaxed);
        let writes = w.join().expect("writer");
        assert!(writes > 0, "the writer ran");
        assert_eq!(pages, copy, "{sql}");
        // Live, the same query now sees the writer's changes (the first
        // round's writer changes rows both queries read).
        if round > 0 {
            continue;
        }
        assert_ne!(
            pairs(
                &db.query(
                    &unpaged.replace(" WITH (consistency = 'snapshot')", ""),
                    None
                )
                .expect("live")
            ),
            copy
        );
    }
    assert!(
        db.store_stats().flushes > 0,
        "the writes crossed memtable flushes"
    );
}

#[test]
fn a_snapshot_handle_pages_one_view_and_its_cursors_carry_it() {
    let db = db(small_memtables());
    let snap = db.snapshot();
    let copy = pairs(
        &snap
            .query("SELECT * FROM t LIMIT 100000", None)
            .expect("copy"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let w = writer(&db, &stop, 1_000, &progress);
    wait_for_writes(&progress, 0);
    let pages = traverse(|c| {
        snap.query("SELECT * FROM t ORDER BY id DESC LIMIT 40", c)
            .expect("page")
    });
    stop.store(true, Ordering::Relaxed);
    w.join().expect("writer");
    let mut expected = copy.clone();
    expected.reverse();
    assert_eq!(pages, expected);
}

#[test]
fn snapshot_and_live_cursors_cannot_stand_in_for_each_other() {
    let db = db(Options::default());
    let live_sql = "SELECT * FROM t LIMIT 10";
    let snap_sql = "SELECT * FROM t LIMIT 10 WITH (consistency = 'snapshot')";
    let live_cursor = db
        .query(live_sql, None)
        .expect("live")
        .next_cursor()
        .cloned()
        .expect("more");
    let snap_cursor = db
        .query(snap_sql, None)
        .expect("snap")
        .next_cursor()
        .cloned()
        .expect("more");
    match db.query(live_sql, Some(&snap_cursor)) {
        Err(Error::InvalidCursor(CursorError::SnapshotOnLive)) => {}
        other => panic!("a snapshot cursor resumed a live query: {other:?}"),
    }
    match db.query(snap_sql, Some(&live_cursor)) {
        Err(Error::InvalidCursor(CursorError::LiveOnSnapshot)) => {}
        other => panic!("a live cursor resumed a snapshot traversal: {other:?}"),
    }
    // A snapshot handle's cursors belong to its seq.
    let a = db.snapshot();
    db.execute("INSERT INTO t VALUES (5000, 1)").expect("write");
    let b = db.snapshot();
    let from_a = a
        .query(live_sql, None)
        .expect("a")
        .next_cursor()
        .cloned()
        .expect("more");
    match b.query(live_sql, Some(&from_a)) {
        Err(Error::InvalidCursor(CursorError::SnapshotMismatch { .. })) => {}
        other => panic!("one snapshot's cursor resumed another: {other:?}"),
    }
    match db.query(live_sql, Some(&from_a)) {
        Err(Error::InvalidCursor(CursorError::SnapshotOnLive)) => {}
        other => panic!("a snapshot handle's cursor resumed a live query: {other:?}"),
    }
}

#[test]
fn expired_and_released_snapshots_are_refused_with_their_reason() {
    let retention = Retention {
        max_age: Duration::from_secs(3600),
        max_count: 1,
    };
    let db = db(Options {
        store: StoreOptions {
            retention,
            ..StoreOptions::default()
        },
        ..Options::default()
    });
    let sql = "SELECT * FROM t LIMIT 10 WITH (consistency = 'snapshot')";
    let first = db
        .query(sql, None)
        .expect("first")
        .next_cursor()
        .cloned()
        .expect("more");
    // A write and a second traversal: the count limit (1) expires the first.
    db.execute("INSERT INTO t VALUES (7000, 1)").expect("write");
    let second = db
        .query(sql, None)
        .expect("second")
        .next_cursor()
        .cloned()
        .expect("more");
    match db.query(sql, Some(&first)) {
        Err(Error::InvalidCursor(CursorError::SnapshotExpired { why, .. })) => {
            assert!(
                why.contains("retention limit") && why.contains("at most 1"),
                "{why}"
            );
        }
        other => panic!("expected SnapshotExpired, got {other:?}"),
    }
    db.query(sql, Some(&second))
        .expect("the newest snapshot is still held");

    // A snapshot handle that was expired by a later one says so too.
    let held = db.snapshot();
    db.execute("INSERT INTO t VALUES (7001, 1)").expect("write");
    let _newer = db.snapshot();
    match held.query("SELECT * FROM t LIMIT 1", None) {
        Err(Error::SnapshotExpired(why)) => assert!(why.contains("retention limit"), "{why}"),
        other => panic!("expected SnapshotExpired, got {other:?}"),
    }

    // Released: a handle's cursor after the handle is dropped.
    let db = db_with_retention(Retention::default());
    let snap = db.snapshot();
    let cursor = snap
        .query("SELECT * FROM t LIMIT 10", None)
        .expect("page")
        .next_cursor()
        .cloned()
        .expect("more");
    drop(snap);
    db.execute("INSERT INTO t VALUES (7002, 1)").expect("write");
    match db.query(
        "SELECT * FROM t LIMIT 10 WITH (consistency = 'snapshot')",
        Some(&cursor),
    ) {
        Err(Error::InvalidCursor(CursorError::SnapshotExpired { why, .. })) => {
            assert!(why.contains("released"), "{why}");
        }
        other => panic!("expected SnapshotExpired, got {other:?}"),
    }
}

fn db_with_retention(retention: Retention) -> Db {
    db(Options {
        store: StoreOptions {
            retention,
            ..StoreOptions::default()
        },
        ..Options::default()
    })
}
