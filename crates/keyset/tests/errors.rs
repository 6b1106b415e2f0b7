//! Every failure the facade exposes is a typed `keyset::Error` whose
//! message names the problem (DESIGN.md section 7), and a refused write
//! leaves nothing behind: bad SQL, unsupported constructs, unknown tables
//! and columns, type mismatches, NULL and NaN, unique violations, over-long
//! keys, forged, foreign and stale cursors, row getters, statements given
//! to the wrong call, a second opener, and a damaged log.
#![allow(clippy::unwrap_used)]

use keyset::{
    col, Cursor, CursorError, Db, Error, Options, PlanError, Query, SqlError, StoreError, Value,
};

fn db() -> Db {
    let db = Db::memory().unwrap();
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, name TEXT NOT NULL, x FLOAT)")
        .unwrap();
    db.execute("CREATE UNIQUE INDEX by_name ON t (name)")
        .unwrap();
    db.execute("CREATE INDEX by_a ON t (a)").unwrap();
    db.execute(
        "INSERT INTO t VALUES (1, 10, 'one', 1.5), (2, 10, 'two', NULL), (3, 20, 'three', 0.0)",
    )
    .unwrap();
    db
}

/// The ids in `t`, to show that a refused write changed nothing.
fn ids(db: &Db) -> Vec<i64> {
    let page = db.query("SELECT id FROM t ORDER BY id", None).unwrap();
    page.rows().iter().map(|r| r.get("id").unwrap()).collect()
}

#[track_caller]
fn message_has(err: &Error, words: &[&str]) {
    let text = err.to_string();
    for word in words {
        assert!(text.contains(word), "`{text}` should mention `{word}`");
    }
}

#[test]
fn malformed_sql_is_a_syntax_error_with_its_position() {
    let db = db();
    let err = db.execute("SELEC * FROM t").unwrap_err();
    assert!(
        matches!(err, Error::Sql(SqlError::Syntax { line: 1, .. })),
        "{err:?}"
    );
    message_has(&err, &["syntax error", "line 1", "SELEC"]);
    let err = db.query("SELECT * FROM t WHERE", None).unwrap_err();
    assert!(
        matches!(err, Error::Sql(SqlError::Syntax { .. })),
        "{err:?}"
    );
    let err = db.execute("").unwrap_err();
    assert!(matches!(err, Error::Sql(SqlError::Empty)), "{err:?}");
}

#[test]
fn constructs_outside_the_subset_are_named() {
    let db = db();
    for (sql, construct) in [
        ("SELECT * FROM t GROUP BY a", "GROUP BY"),
        ("SELECT * FROM t WHERE name LIKE '%e'", "LIKE pattern"),
        ("SELECT sum(a) FROM t", "sum"),
        ("SELECT count(a) FROM t", "count"),
        ("SELECT * FROM t JOIN t AS u ON t.id = u.id", "JOIN"),
        ("UPDATE t SET a = a / 2", "`/`"),
    ] {
        let err = db.execute(sql).unwrap_err();
        assert!(
            matches!(err, Error::Sql(SqlError::Unsupported { .. })),
            "{sql}: {err:?}"
        );
        message_has(&err, &["unsupported", construct]);
    }
}

#[test]
fn unknown_tables_and_columns_are_named() {
    let db = db();
    let err = db.query("SELECT * FROM nope", None).unwrap_err();
    assert!(
        matches!(err, Error::Plan(PlanError::UnknownTable { .. })),
        "{err:?}"
    );
    message_has(&err, &["nope"]);
    let err = db.execute("INSERT INTO nope VALUES (1)").unwrap_err();
    message_has(&err, &["no table", "nope"]);
    for sql in [
        "SELECT ghost FROM t",
        "SELECT * FROM t WHERE ghost = 1",
        "SELECT * FROM t ORDER BY ghost",
        "UPDATE t SET ghost = 1",
        "INSERT INTO t (id, ghost) VALUES (9, 1)",
    ] {
        let err = db.execute(sql).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Plan(PlanError::UnknownColumn { .. } | PlanError::UnknownOrderColumn { .. })
                    | Error::Store(StoreError::UnknownColumn { .. })
            ),
            "{sql}: {err:?}"
        );
        message_has(&err, &["ghost"]);
    }
    assert_eq!(ids(&db), [1, 2, 3]);
}

#[test]
fn type_mismatches_null_and_nan_are_refused_whole() {
    let db = db();
    // The second row is wrong: the first must not be applied either.
    let err = db
        .execute("INSERT INTO t VALUES (7, 1, 'seven', 1.0), ('eight', 1, 'eight', 1.0)")
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::TypeMismatch { .. })),
        "{err:?}"
    );
    message_has(&err, &["t.id", "INT", "TEXT"]);
    let err = db
        .execute("INSERT INTO t VALUES (7, 1, NULL, 1.0)")
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NullNotAllowed { .. })),
        "{err:?}"
    );
    message_has(&err, &["t.name", "NOT NULL"]);
    let err = db
        .batch()
        .put(
            "t",
            vec![
                Value::Int(7),
                Value::Int(1),
                "seven".into(),
                Value::Float(f64::NAN),
            ],
        )
        .commit()
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NotANumber { .. })),
        "{err:?}"
    );
    message_has(&err, &["t.x", "NaN"]);
    // A literal of the wrong type in a query, and NaN in a built query.
    let err = db
        .query("SELECT * FROM t WHERE a = 'ten'", None)
        .unwrap_err();
    assert!(
        matches!(err, Error::Plan(PlanError::LiteralType { .. })),
        "{err:?}"
    );
    message_has(&err, &["'ten'", "t.a"]);
    let err = db
        .query_with(&Query::table("t").filter(col("x").lt(f64::NAN)), None)
        .unwrap_err();
    assert!(
        matches!(err, Error::Plan(PlanError::LiteralType { .. })),
        "{err:?}"
    );
    message_has(&err, &["t.x"]);
    assert_eq!(ids(&db), [1, 2, 3]);
}

#[test]
fn unique_violations_and_long_keys_are_refused_whole() {
    let db = db();
    let err = db
        .execute("INSERT INTO t VALUES (4, 1, 'four', NULL), (5, 1, 'one', NULL)")
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::UniqueViolation { .. })),
        "{err:?}"
    );
    message_has(&err, &["by_name", "'one'"]);
    let err = db
        .execute("UPDATE t SET name = 'same' WHERE a = 10")
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::UniqueViolation { .. })),
        "{err:?}"
    );
    db.execute("CREATE TABLE k (k TEXT PRIMARY KEY)").unwrap();
    let long = "x".repeat(5000);
    let err = db
        .execute(&format!("INSERT INTO k VALUES ('{long}')"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::KeyTooLong { .. })),
        "{err:?}"
    );
    message_has(&err, &["4096"]);
    assert_eq!(ids(&db), [1, 2, 3]);
    let names: Vec<String> = db
        .query("SELECT name FROM t ORDER BY id", None)
        .unwrap()
        .rows()
        .iter()
        .map(|r| r.get("name").unwrap())
        .collect();
    assert_eq!(
        names,
        ["one", "two", "three"],
        "the refused UPDATE changed nothing"
    );
}

const BY_A: &str = "SELECT id FROM t WHERE a >= 10 ORDER BY a LIMIT 1";

fn first_cursor(db: &Db, sql: &str) -> Cursor {
    db.query(sql, None).unwrap().next_cursor().unwrap().clone()
}

#[track_caller]
fn cursor_error(result: keyset::Result<keyset::Page>) -> CursorError {
    match result {
        Err(Error::InvalidCursor(e)) => e,
        other => panic!("expected Error::InvalidCursor, got {other:?}"),
    }
}

#[test]
fn forged_cursors_are_refused_by_the_check_that_catches_them() {
    let db = db();
    let token = first_cursor(&db, BY_A).to_string();
    // Text that is not a token at all.
    let err: Error = "not a cursor!".parse::<Cursor>().unwrap_err().into();
    assert!(
        matches!(err, Error::InvalidCursor(CursorError::NotBase64)),
        "{err:?}"
    );
    message_has(&err, &["invalid cursor", "base64url"]);
    // Base64 of something else.
    let other: Cursor = "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQ"
        .parse()
        .unwrap();
    let e = cursor_error(db.query(BY_A, Some(&other)));
    assert!(
        matches!(e, CursorError::BadMagic | CursorError::Truncated),
        "{e:?}"
    );
    // One character of a real token changed: the MAC no longer matches.
    let mut chars: Vec<char> = token.chars().collect();
    let at = chars.len() / 2;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let forged: Cursor = chars.into_iter().collect::<String>().parse().unwrap();
    let e = cursor_error(db.query(BY_A, Some(&forged)));
    assert_eq!(e, CursorError::BadMac);
    assert!(e.to_string().contains("altered"), "{e}");
    // Cut short.
    let cut: Cursor = token[..token.len() - 8].parse().unwrap();
    let e = cursor_error(db.query(BY_A, Some(&cut)));
    assert!(
        matches!(e, CursorError::BadMac | CursorError::Truncated),
        "{e:?}"
    );
}

#[test]
fn a_cursor_from_another_query_or_database_is_refused() {
    let db = db();
    let cursor = first_cursor(&db, BY_A);
    let e = cursor_error(db.query("SELECT id FROM t ORDER BY id LIMIT 1", Some(&cursor)));
    assert_eq!(e, CursorError::WrongQuery);
    assert!(e.to_string().contains("different query"), "{e}");
    let e = cursor_error(db.query(
        "SELECT id FROM t WHERE a >= 11 ORDER BY a LIMIT 1",
        Some(&cursor),
    ));
    assert_eq!(e, CursorError::WrongQuery, "another bound is another query");
    // The page size may change between pages: that is the same query.
    assert!(db
        .query(
            "SELECT id FROM t WHERE a >= 10 ORDER BY a LIMIT 2",
            Some(&cursor)
        )
        .is_ok());

    // Another database, even one sharing the MAC key, does not take it.
    let key = [7u8; 32];
    let options = || Options {
        mac_key: Some(key),
        ..Options::default()
    };
    let (first, second) = (
        Db::memory_with(options()).unwrap(),
        Db::memory_with(options()).unwrap(),
    );
    for d in [&first, &second] {
        d.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT)")
            .unwrap();
        d.execute("INSERT INTO t VALUES (1, 10), (2, 11)").unwrap();
    }
    let sql = "SELECT id FROM t ORDER BY id LIMIT 1";
    let cursor = first_cursor(&first, sql);
    assert_eq!(
        cursor_error(second.query(sql, Some(&cursor))),
        CursorError::WrongDatabase
    );
    let third = Db::memory().unwrap();
    third
        .execute("CREATE TABLE t (id INT PRIMARY KEY, a INT)")
        .unwrap();
    let e = cursor_error(third.query(sql, Some(&cursor)));
    assert_eq!(e, CursorError::BadMac, "a database with another key");
}

#[test]
fn a_cursor_is_stale_once_its_index_is_dropped_and_recreated() {
    let db = db();
    assert!(db.explain(BY_A).unwrap().contains("IndexRange by_a"));
    let cursor = first_cursor(&db, BY_A);
    db.execute("DROP INDEX by_a").unwrap();
    db.execute("CREATE INDEX by_a ON t (a)").unwrap();
    assert!(
        db.explain(BY_A).unwrap().contains("IndexRange by_a"),
        "same shape of plan"
    );
    let e = cursor_error(db.query(BY_A, Some(&cursor)));
    assert_eq!(e, CursorError::WrongQuery);
    assert!(e.to_string().contains("schema changed"), "{e}");
    // A fresh first page works.
    assert_eq!(db.query(BY_A, None).unwrap().len(), 1);

    // The same for a table dropped and created again.
    let sql = "SELECT id FROM t ORDER BY id LIMIT 1";
    let cursor = first_cursor(&db, sql);
    db.execute("DROP TABLE t").unwrap();
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, name TEXT NOT NULL, x FLOAT)")
        .unwrap();
    db.execute("INSERT INTO t VALUES (1, 1, 'a', NULL), (2, 1, 'b', NULL)")
        .unwrap();
    assert!(matches!(
        db.query(sql, Some(&cursor)),
        Err(Error::InvalidCursor(_))
    ));
}

#[test]
fn row_getters_name_the_column_and_the_types() {
    let db = db();
    let page = db
        .query("SELECT id, name, x FROM t WHERE id = 2", None)
        .unwrap();
    let row = &page.rows()[0];
    let err = row.get::<i64>("name").unwrap_err();
    assert!(
        matches!(&err, Error::ColumnType { column, expected: "INT", found: "TEXT" } if column == "name"),
        "{err:?}"
    );
    message_has(&err, &["name", "TEXT", "INT"]);
    let err = row.get::<f64>("x").unwrap_err();
    message_has(&err, &["x", "NULL", "FLOAT"]);
    assert_eq!(row.get::<Option<f64>>("x").unwrap(), None);
    let err = row.get::<i64>("a").unwrap_err();
    assert!(
        matches!(&err, Error::NoSuchColumn { column, .. } if column == "a"),
        "{err:?}"
    );
    message_has(&err, &["`a`", "id, name, x"]);
}

#[test]
fn statements_given_to_the_wrong_call_are_refused_and_not_run() {
    let db = db();
    let err = db
        .query("INSERT INTO t VALUES (9, 9, 'nine', NULL)", None)
        .unwrap_err();
    assert!(matches!(err, Error::WrongStatement(_)), "{err:?}");
    message_has(&err, &["SELECT", "execute()"]);
    assert!(matches!(
        db.stream("DELETE FROM t"),
        Err(Error::WrongStatement(_))
    ));
    assert!(matches!(
        db.explain("DROP TABLE t"),
        Err(Error::WrongStatement(_))
    ));
    assert_eq!(ids(&db), [1, 2, 3], "nothing was run");
    let err = db.execute("SELECT * FROM t; DELETE FROM t").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Sql(SqlError::MultipleStatements { count: 2, .. })
        ),
        "{err:?}"
    );
    assert_eq!(ids(&db), [1, 2, 3]);
}

#[test]
fn limits_over_the_maximum_page_size_are_refused() {
    let db = db();
    let err = db
        .query("SELECT * FROM t LIMIT 100000000", None)
        .unwrap_err();
    assert!(
        matches!(err, Error::Plan(PlanError::LimitTooLarge { .. })),
        "{err:?}"
    );
    message_has(&err, &["100000000"]);
}

#[test]
fn a_second_opener_of_a_directory_is_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let err = Db::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Locked { dir: d, .. } if d.starts_with(dir.path()) || dir.path().starts_with(d)),
        "{err:?}"
    );
    message_has(&err, &["in use"]);
    // The lock file names the holder (this process) in the refusal.
    message_has(&err, &[&format!("(process {})", std::process::id())]);
    // A waiting opener gets the directory once the holder lets go.
    let options = keyset::Options {
        busy_timeout: std::time::Duration::from_secs(10),
        ..keyset::Options::default()
    };
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(100));
        db.close().unwrap();
    });
    Db::open_with(dir.path(), options).unwrap().close().unwrap();
    release.join().unwrap();
    Db::open(dir.path()).unwrap().close().unwrap();
}

#[test]
fn damage_before_the_end_of_the_log_is_reported_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.execute("CREATE TABLE t (id INT PRIMARY KEY)").unwrap();
    for id in 0..5 {
        db.execute(&format!("INSERT INTO t VALUES ({id})")).unwrap();
    }
    db.close().unwrap();
    let wal = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("wal-"))
        .expect("a WAL file");
    let mut bytes = std::fs::read(&wal).unwrap();
    // Past the 8-byte file magic and the first record's 16-byte header:
    // the first record's payload, with intact records after it.
    bytes[8 + 16 + 1] ^= 0xff;
    std::fs::write(&wal, &bytes).unwrap();
    let err = Db::open(dir.path()).unwrap_err();
    match &err {
        Error::Corrupted { file, offset, .. } => {
            assert_eq!(file.file_name(), wal.file_name());
            assert_eq!(*offset, 8, "the damaged record starts after the magic");
        }
        other => panic!("expected Error::Corrupted, got {other:?}"),
    }
    message_has(&err, &["corrupted", "wal-", "offset 8"]);
}

/// Issue 13: a top-k page (an ORDER BY no index gives) keeps at most
/// `ExecOptions::max_topk_rows` rows; past it the page is refused with a
/// message that points at an index or a smaller page, and a streaming plan
/// with the same deep OFFSET is fine.
#[test]
fn a_top_k_page_past_its_row_cap_is_refused_with_advice() {
    let mut options = keyset::Options::default();
    options.exec.max_topk_rows = 1_000;
    let db = Db::memory_with(options).unwrap();
    db.execute("CREATE TABLE s (id INT PRIMARY KEY, v INT)")
        .unwrap();
    let rows: Vec<String> = (0..3_000)
        .map(|i| format!("({i}, {})", (i * 7) % 1000))
        .collect();
    db.execute(&format!("INSERT INTO s VALUES {}", rows.join(", ")))
        .unwrap();
    let err = db
        .query("SELECT * FROM s ORDER BY v LIMIT 100 OFFSET 950", None)
        .unwrap_err();
    message_has(
        &err,
        &["1051 rows", "limit of 1000", "index", "smaller page"],
    );
    // Under the cap the same order works, and its rows are the best ones.
    let page = db
        .query("SELECT * FROM s ORDER BY v DESC LIMIT 900", None)
        .unwrap();
    let vs: Vec<i64> = page.rows().iter().map(|r| r.get("v").unwrap()).collect();
    let mut expected: Vec<i64> = (0..3_000).map(|i| (i * 7) % 1000).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(vs, expected[..900]);
    // A streaming plan skips its OFFSET rows and has no such cap.
    let deep = db
        .query("SELECT * FROM s ORDER BY id LIMIT 10 OFFSET 2500", None)
        .unwrap();
    assert_eq!(deep.rows()[0].get::<i64>("id").unwrap(), 2500);
}
