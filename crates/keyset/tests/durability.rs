//! Durability through the facade: what was written is there after close
//! and reopen (from the log, and from a checkpoint plus the log), indexes
//! included; a cursor issued before a restart resumes after it; and
//! `stream()` walks 10,000 rows holding at most one page in memory.
#![allow(clippy::unwrap_used)]

use keyset::{Cursor, Db, Options, SyncMode, Value};

fn names(db: &Db, sql: &str) -> Vec<String> {
    let page = db.query(sql, None).unwrap();
    page.rows().iter().map(|r| r.get("name").unwrap()).collect()
}

fn write_some(db: &Db) {
    db.execute("CREATE TABLE users (id INT PRIMARY KEY, name TEXT, city TEXT) WITH (shards = 2)")
        .unwrap();
    db.execute("CREATE INDEX by_city ON users (city)").unwrap();
    db.execute("INSERT INTO users VALUES (1, 'ada', 'Oslo'), (2, 'bo', 'Rome'), (3, 'cy', 'Oslo')")
        .unwrap();
    db.execute("UPDATE users SET city = 'Oslo' WHERE id = 2")
        .unwrap();
    db.execute("DELETE FROM users WHERE id = 3").unwrap();
    db.batch()
        .put("users", vec![Value::Int(4), "di".into(), "Oslo".into()])
        .put_named("users", vec![("id", Value::Int(5)), ("name", "ed".into())])
        .commit()
        .unwrap();
}

/// What `write_some` wrote, plus `later` names written after it.
fn check_some(db: &Db, later: &[&str]) {
    let oslo = "SELECT name FROM users WHERE city = 'Oslo' ORDER BY id";
    assert!(
        db.explain(oslo).unwrap().contains("IndexRange by_city"),
        "the index came back"
    );
    assert_eq!(names(db, oslo), ["ada", "bo", "di"]);
    let mut all = vec!["ada", "bo", "di", "ed"];
    all.extend_from_slice(later);
    assert_eq!(names(db, "SELECT name FROM users ORDER BY id"), all);
    let page = db
        .query("SELECT city FROM users WHERE id = 5", None)
        .unwrap();
    assert_eq!(page.rows()[0].get::<Option<String>>("city").unwrap(), None);
}

#[test]
fn writes_survive_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    assert!(db.recovery_report().unwrap().created);
    write_some(&db);
    check_some(&db, &[]);
    db.close().unwrap();

    let db = Db::open(dir.path()).unwrap();
    let report = db.recovery_report().unwrap();
    assert!(!report.created);
    // CREATE TABLE, CREATE INDEX, INSERT, UPDATE, DELETE, the batch.
    assert_eq!(
        report.records_replayed, 6,
        "replayed from the log: {report:?}"
    );
    check_some(&db, &[]);
    db.close().unwrap();
}

#[test]
fn writes_survive_a_checkpoint_and_later_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    write_some(&db);
    db.checkpoint().unwrap();
    db.execute("INSERT INTO users VALUES (6, 'fy', 'Rome')")
        .unwrap();
    db.close().unwrap();

    let db = Db::open(dir.path()).unwrap();
    let report = db.recovery_report().unwrap().clone();
    assert!(
        report.snapshot_seq.is_some(),
        "started from the snapshot: {report:?}"
    );
    assert_eq!(
        report.records_replayed, 1,
        "only the write after it: {report:?}"
    );
    check_some(&db, &["fy"]);
    assert_eq!(
        names(&db, "SELECT name FROM users WHERE city = 'Rome'"),
        ["fy"]
    );
}

#[test]
fn a_cursor_from_before_a_restart_resumes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "SELECT name FROM users WHERE city = 'Oslo' ORDER BY id LIMIT 2";
    let token = {
        let db = Db::open(dir.path()).unwrap();
        write_some(&db);
        let page = db.query(sql, None).unwrap();
        let token = page.next_cursor().unwrap().to_string();
        db.close().unwrap();
        token
    };
    let db = Db::open(dir.path()).unwrap();
    let cursor: Cursor = token.parse().unwrap();
    let page = db.query(sql, Some(&cursor)).unwrap();
    let rest: Vec<String> = page.rows().iter().map(|r| r.get("name").unwrap()).collect();
    assert_eq!(rest, ["di"]);
}

#[test]
fn stream_walks_ten_thousand_rows_one_page_at_a_time() {
    const ROWS: i64 = 10_000;
    const PAGE: usize = 128;
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        sync: SyncMode::Never,
        ..Options::default()
    };
    let db = Db::open_with(dir.path(), options).unwrap();
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT) WITH (shards = 4)")
        .unwrap();
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(1000) {
        let mut batch = db.batch();
        for &id in chunk {
            batch = batch.put("t", vec![Value::Int(id), Value::Int(id % 97)]);
        }
        batch.commit().unwrap();
    }
    for (sql, descending) in [
        (
            format!("SELECT id FROM t ORDER BY id DESC LIMIT {PAGE}"),
            true,
        ),
        // Top-k order (v is not indexed): still one page at a time.
        (
            format!("SELECT id FROM t ORDER BY v, id LIMIT {PAGE}"),
            false,
        ),
    ] {
        let mut stream = db.stream(&sql).unwrap();
        let mut ids = Vec::new();
        let mut most_buffered = 0;
        while let Some(row) = stream.next() {
            most_buffered = most_buffered.max(stream.buffered());
            ids.push(row.unwrap().get::<i64>("id").unwrap());
        }
        assert_eq!(ids.len(), ROWS as usize, "{sql}");
        assert!(
            most_buffered < PAGE,
            "{sql}: at most one page held, saw {most_buffered}"
        );
        assert_eq!(
            stream.pages(),
            (ROWS as u64).div_ceil(PAGE as u64),
            "{sql}: pages fetched"
        );
        let mut expected: Vec<i64> = (0..ROWS).collect();
        if descending {
            expected.reverse();
        } else {
            expected.sort_by_key(|id| (id % 97, *id));
        }
        assert_eq!(ids, expected, "{sql}");
    }
    // Without LIMIT a stream uses its default page size.
    let mut stream = db.stream("SELECT id FROM t").unwrap();
    let count = stream.by_ref().count();
    assert_eq!(count, ROWS as usize);
    assert_eq!(
        stream.pages(),
        (ROWS as u64).div_ceil(keyset::DEFAULT_STREAM_PAGE as u64)
    );
}
