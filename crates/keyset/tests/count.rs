//! `SELECT COUNT(*)`: one row, the same traversal as the SELECT, budgets
//! that stop it with a partial count and a cursor to go on counting.

use keyset::{params, Db, Error, StopReason, Value};

fn db(shards: u32) -> Db {
    let db = Db::memory().expect("memory db");
    db.execute(&format!(
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT) WITH (shards = {shards})"
    ))
    .expect("create");
    db.execute("CREATE INDEX by_a ON t (a)").expect("index");
    let stmt = db
        .prepare("INSERT INTO t VALUES (?, ?, ?)")
        .expect("prepare");
    for id in 0..10_000i64 {
        let b = if id % 3 == 0 {
            None
        } else {
            Some(format!("b{}", id % 7))
        };
        stmt.execute(params![id, id % 10, b]).expect("insert");
    }
    db
}

fn count_of(page: &keyset::Page) -> i64 {
    assert_eq!(page.columns(), ["count"]);
    assert_eq!(page.len(), 1);
    page.rows()[0].get("count").expect("count")
}

#[test]
fn counts_match_the_rows_of_the_same_query() {
    for shards in [1, 4] {
        let db = db(shards);
        for filter in [
            "",
            " WHERE a = 3",
            " WHERE a = 3 OR a = 5",
            " WHERE a >= 7 AND b = 'b2'",
            " WHERE b IS NULL",
            " WHERE id BETWEEN 100 AND 199",
            " WHERE id IN (1, 2, 3, 99999)",
            " WHERE a = 1 AND a = 2",
        ] {
            let rows = db
                .stream(&format!("SELECT id FROM t{filter}"))
                .expect("stream")
                .count() as i64;
            let page = db
                .query(&format!("SELECT COUNT(*) FROM t{filter}"), None)
                .expect("count");
            assert_eq!(count_of(&page), rows, "shards={shards}{filter}");
            assert_eq!(page.stop(), StopReason::Exhausted);
            assert!(page.next_cursor().is_none());
        }
    }
}

#[test]
fn a_budget_stopped_count_resumes_and_the_parts_add_up() {
    let db = db(4);
    let sql = "SELECT COUNT(*) FROM t WHERE a >= 5 WITH (max_examined = 700)";
    let whole = count_of(
        &db.query("SELECT COUNT(*) FROM t WHERE a >= 5", None)
            .expect("whole"),
    );
    assert_eq!(whole, 5_000);
    let (mut total, mut parts, mut cursor) = (0, 0, None);
    loop {
        let page = db.query(sql, cursor.as_ref()).expect("part");
        total += count_of(&page);
        parts += 1;
        // As on any page, each shard's leaf may read one key past the
        // budget so that the page makes progress.
        assert!(page.stats().keys_examined <= 700 + 4, "{:?}", page.stats());
        match page.next_cursor() {
            Some(next) => {
                assert_eq!(page.stop(), StopReason::ScanBudget);
                cursor = Some(next.clone());
            }
            None => {
                assert_eq!(page.stop(), StopReason::Exhausted);
                break;
            }
        }
        assert!(parts < 1_000, "the count makes progress");
    }
    assert!(parts > 1, "the budget stopped the count at least once");
    assert_eq!(total, whole);
}

#[test]
fn a_count_cursor_is_not_a_select_cursor() {
    let db = db(1);
    let page = db
        .query("SELECT COUNT(*) FROM t WITH (max_examined = 10)", None)
        .expect("count");
    let cursor = page.next_cursor().expect("stopped by the budget");
    let err = db
        .query("SELECT * FROM t", Some(cursor))
        .expect_err("other query");
    assert!(matches!(err, Error::InvalidCursor(_)), "{err:?}");
}

#[test]
fn count_takes_parameters_and_explains() {
    let db = db(1);
    let stmt = db
        .prepare("SELECT COUNT(*) FROM t WHERE a = ?")
        .expect("prepare");
    assert_eq!(
        count_of(&stmt.query(params![4], None).expect("count")),
        1_000
    );
    assert_eq!(count_of(&stmt.query(params![40], None).expect("count")), 0);
    let text = db
        .explain("SELECT COUNT(*) FROM t WHERE a = 4")
        .expect("explain");
    assert!(text.contains("IndexRange"), "{text}");
    assert!(text.contains("COUNT(*)"), "{text}");
    assert_eq!(
        db.query("SELECT count(*) FROM t WHERE id < 0", None)
            .expect("count")
            .rows()[0]
            .values(),
        [Value::Int(0)]
    );
    let err = db
        .query("SELECT COUNT(*) FROM t ORDER BY a", None)
        .expect_err("order");
    assert!(err.to_string().contains("COUNT(*)"), "{err}");
    let err = db.stream("SELECT COUNT(*) FROM t").expect_err("stream");
    assert!(err.to_string().contains("use query()"), "{err}");
}
