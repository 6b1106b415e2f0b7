//! INSERT, UPDATE and DELETE through the facade: counts, indexes kept in
//! step (an updated row is found under its new index value only), a key
//! moved by UPDATE; and the cases where a write would overwrite a row it
//! did not name, which must be refused as SQL refuses them.
#![allow(clippy::unwrap_used)]

use keyset::{Db, Error, Outcome, StoreError};

fn db() -> Db {
    let db = Db::memory().unwrap();
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, grp TEXT, v INT) WITH (shards = 2)")
        .unwrap();
    db.execute("CREATE INDEX by_grp ON t (grp)").unwrap();
    db.execute("INSERT INTO t VALUES (1, 'a', 10), (2, 'a', 20), (3, 'b', 30), (4, NULL, 40)")
        .unwrap();
    db
}

fn changed(db: &Db, sql: &str) -> u64 {
    match db.execute(sql).unwrap() {
        Outcome::Changed(n) => n,
        other => panic!("{sql}: {other:?}"),
    }
}

/// (id, grp, v) of every row, by id.
fn rows(db: &Db) -> Vec<(i64, Option<String>, i64)> {
    let page = db.query("SELECT * FROM t ORDER BY id", None).unwrap();
    page.rows()
        .iter()
        .map(|r| {
            (
                r.get("id").unwrap(),
                r.get("grp").unwrap(),
                r.get("v").unwrap(),
            )
        })
        .collect()
}

fn ids_in_group(db: &Db, grp: &str) -> Vec<i64> {
    let sql = format!("SELECT id FROM t WHERE grp = '{grp}' ORDER BY id");
    assert!(db.explain(&sql).unwrap().contains("IndexRange by_grp"));
    let page = db.query(&sql, None).unwrap();
    page.rows().iter().map(|r| r.get("id").unwrap()).collect()
}

#[test]
fn update_and_delete_count_rows_and_keep_indexes_in_step() {
    let db = db();
    assert_eq!(changed(&db, "UPDATE t SET grp = 'b' WHERE v <= 20"), 2);
    assert_eq!(
        ids_in_group(&db, "a"),
        Vec::<i64>::new(),
        "old index entries are gone"
    );
    assert_eq!(ids_in_group(&db, "b"), [1, 2, 3]);
    assert_eq!(changed(&db, "UPDATE t SET v = 0 WHERE grp IS NULL"), 1);
    assert_eq!(changed(&db, "UPDATE t SET v = 1 WHERE v > 1000"), 0);
    assert_eq!(changed(&db, "DELETE FROM t WHERE grp = 'b' AND v >= 20"), 2);
    assert_eq!(ids_in_group(&db, "b"), [1]);
    assert_eq!(rows(&db), [(1, Some("b".into()), 10), (4, None, 0)]);
    assert_eq!(changed(&db, "DELETE FROM t"), 2);
    assert!(rows(&db).is_empty());
}

#[test]
fn update_may_move_a_row_to_a_free_key() {
    let db = db();
    assert_eq!(changed(&db, "UPDATE t SET id = 9 WHERE id = 3"), 1);
    assert_eq!(
        rows(&db),
        [
            (1, Some("a".into()), 10),
            (2, Some("a".into()), 20),
            (4, None, 40),
            (9, Some("b".into()), 30)
        ]
    );
    assert_eq!(ids_in_group(&db, "b"), [9]);
}

#[track_caller]
fn refused_and_unchanged(db: &Db, sql: &str) {
    let before = rows(db);
    let result = db.execute(sql);
    let after = rows(db);
    assert_eq!(after, before, "{sql} must not overwrite another row");
    // Which variant is the fixer's choice; it must be an error that says
    // the key is taken.
    match result {
        Err(Error::Store(StoreError::UniqueViolation { .. })) => {}
        Err(e) => assert!(
            e.to_string().contains("key"),
            "{sql}: the error names the key: {e}"
        ),
        Ok(outcome) => panic!("{sql} must be refused as a primary-key violation, got {outcome:?}"),
    }
}

/// `UPDATE t SET id = 1 WHERE id = 2` while row 1 exists: SQL refuses it
/// (SQLite: "UNIQUE constraint failed: t.id"); so does keyset, with
/// `StoreError::DuplicateKey`, leaving both rows as they were.
#[test]

fn update_onto_an_existing_key_is_refused() {
    let db = db();
    refused_and_unchanged(&db, "UPDATE t SET id = 1 WHERE id = 2");
}

/// `UPDATE t SET id = 9 WHERE grp = 'a'` would give two rows the key 9:
/// refused whole, nothing changed.
#[test]

fn update_of_several_rows_onto_one_key_is_refused() {
    let db = db();
    refused_and_unchanged(&db, "UPDATE t SET id = 9 WHERE grp = 'a'");
}

/// `INSERT` of a key that exists is refused, as is one INSERT giving two
/// rows one key (a batch `put`, not INSERT, is the upsert).
#[test]

fn insert_of_an_existing_key_is_refused() {
    let db = db();
    refused_and_unchanged(&db, "INSERT INTO t VALUES (1, 'z', 0)");
    refused_and_unchanged(&db, "INSERT INTO t VALUES (7, 'x', 0), (7, 'y', 0)");
}

/// A key repeated inside one INSERT is named as such, not as a row the
/// table "already has" (issue 16); a key the table does hold still is.
#[test]
fn a_key_repeated_inside_one_insert_is_named_as_a_repeat() {
    let db = db();
    let cases = [
        (
            "INSERT INTO t VALUES (7, 'x', 0), (8, 'y', 0), (7, 'z', 0)",
            "INSERT gives rows 1 and 3 the same primary key (id) = (7)",
        ),
        (
            "INSERT INTO t (v, id) VALUES (0, 9), (1, 9)",
            "INSERT gives rows 1 and 2 the same primary key (id) = (9)",
        ),
        (
            "INSERT INTO t VALUES (1, 'x', 0)",
            "already has a row with primary key (id) = (1)",
        ),
    ];
    for (sql, expected) in cases {
        let before = rows(&db);
        let err = db.execute(sql).unwrap_err();
        assert!(err.to_string().contains(expected), "{sql}: {err}");
        assert_eq!(rows(&db), before, "{sql} changed nothing");
    }
}

/// `DROP TABLE IF EXISTS` of a missing table says nothing was dropped.
#[test]
fn drop_if_exists_of_a_missing_table_says_so() {
    let db = db();
    let Outcome::Schema(message) = db.execute("DROP TABLE IF EXISTS nope").unwrap() else {
        panic!("a schema outcome");
    };
    assert_eq!(message, "no table nope");
    let Outcome::Schema(message) = db.execute("DROP TABLE IF EXISTS t").unwrap() else {
        panic!("a schema outcome");
    };
    assert_eq!(message, "dropped table t");
}
