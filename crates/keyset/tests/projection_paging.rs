//! A projection that leaves out the ORDER BY columns and the primary key
//! still pages correctly: the cursor carries the position the rows no
//! longer show, the rows hold only the projected columns, and the pages,
//! forward and backward, are the expected full result cut in pieces.
#![allow(clippy::unwrap_used)]

use keyset::{Cursor, Db, Page};

const ROWS: i64 = 41;

/// `a` has many duplicates and some NULLs; `b` names the row.
fn row(id: i64) -> (i64, Option<i64>, String) {
    let a = if id % 7 == 3 {
        None
    } else {
        Some((id * 5) % 6)
    };
    (id, a, format!("row{id:02}"))
}

fn database(shards: u32, index_on_a: bool) -> Db {
    let db = Db::memory().unwrap();
    db.execute(&format!(
        "CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT) WITH (shards = {shards})"
    ))
    .unwrap();
    if index_on_a {
        db.execute("CREATE INDEX by_a ON t (a)").unwrap();
    }
    let values: Vec<String> = (1..=ROWS)
        .map(|id| {
            let (id, a, b) = row(id);
            let a = a.map_or("NULL".to_owned(), |a| a.to_string());
            format!("({id}, {a}, '{b}')")
        })
        .collect();
    db.execute(&format!("INSERT INTO t VALUES {}", values.join(", ")))
        .unwrap();
    db
}

/// `b` of every row with `keep(a)`, ordered by `a` (NULL first ascending,
/// last descending) then by `id` in the same direction as the test asks.
fn expected(desc: bool, keep: impl Fn(Option<i64>) -> bool) -> Vec<String> {
    let mut rows: Vec<_> = (1..=ROWS).map(row).filter(|r| keep(r.1)).collect();
    rows.sort_by_key(|&(id, a, _)| (a, id));
    if desc {
        rows.reverse();
    }
    rows.into_iter().map(|(_, _, b)| b).collect()
}

fn texts(page: &Page) -> Vec<String> {
    page.rows()
        .iter()
        .map(|r| {
            assert_eq!(r.columns(), ["b"], "a row shows only the projected column");
            assert_eq!(r.values().len(), 1);
            r.get::<String>("b").unwrap()
        })
        .collect()
}

/// Every page from the first; cursors pass through their text form.
fn pages(db: &Db, sql: &str) -> Vec<Page> {
    let mut out = vec![db.query(sql, None).unwrap()];
    while let Some(next) = out.last().unwrap().next_cursor() {
        let next: Cursor = next.to_string().parse().unwrap();
        out.push(db.query(sql, Some(&next)).unwrap());
        assert!(out.len() <= ROWS as usize + 1, "the walk ends");
    }
    out
}

#[test]
fn projection_without_order_or_key_columns_pages_forward_and_back() {
    // (filter, descending, which values of `a` the filter keeps)
    type Keep = fn(Option<i64>) -> bool;
    let cases: [(&str, bool, Keep); 4] = [
        ("", false, |_| true),
        ("", true, |_| true),
        (" WHERE a >= 2", false, |a| a.is_some_and(|a| a >= 2)),
        (" WHERE a IN (1, 4) OR a IS NULL", true, |a| {
            matches!(a, None | Some(1) | Some(4))
        }),
    ];
    for shards in [1, 3] {
        for index_on_a in [false, true] {
            let db = database(shards, index_on_a);
            for (filter, desc, keep) in cases {
                for limit in [1, 3, 7] {
                    let dir = if desc { "DESC" } else { "ASC" };
                    let sql = format!("SELECT b FROM t{filter} ORDER BY a {dir} LIMIT {limit}");
                    let label = format!("{sql} (shards {shards}, index on a: {index_on_a})");
                    let want = expected(desc, keep);
                    let walked = pages(&db, &sql);
                    assert_eq!(walked[0].columns(), ["b"], "{label}");
                    let got: Vec<String> = walked.iter().flat_map(texts).collect();
                    assert_eq!(got, want, "{label}: forward pages");
                    for page in &walked[..walked.len() - 1] {
                        assert_eq!(page.len(), limit, "{label}: inner pages are full");
                    }
                    // Back from the last page, one page at a time.
                    let mut at = walked.len() - 1;
                    let mut cursor = walked[at].prev_cursor().cloned();
                    while let Some(prev) = cursor {
                        at -= 1;
                        let page = db.query(&sql, Some(&prev)).unwrap();
                        assert_eq!(
                            texts(&page),
                            texts(&walked[at]),
                            "{label}: page {at} backward"
                        );
                        cursor = page.prev_cursor().cloned();
                    }
                    assert_eq!(at, 0, "{label}: the backward walk reaches the first page");
                }
            }
        }
    }
}

#[test]
fn the_example_of_the_issue_pages_like_the_full_result() {
    let db = database(1, false);
    let sql = "SELECT b FROM t ORDER BY a LIMIT 3";
    let got: Vec<String> = pages(&db, sql).iter().flat_map(texts).collect();
    let full: Vec<String> = db
        .query("SELECT b FROM t ORDER BY a", None)
        .unwrap()
        .rows()
        .iter()
        .map(|r| r.get("b").unwrap())
        .collect();
    assert_eq!(
        full.len(),
        ROWS as usize,
        "without LIMIT one page holds everything"
    );
    assert_eq!(got, full);
    assert_eq!(got, expected(false, |_| true));
}
