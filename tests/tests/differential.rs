//! The differential oracle: random tables and rows (many duplicates and
//! NULLs) go into keyset and SQLite alike, random SELECTs of keyset's SQL
//! subset are paged through keyset with `next_cursor` to the end and back
//! with `prev_cursor`, and the pages together must be SQLite's unpaged
//! result, exactly. Where keyset's SQL leaves the tie-break to keyset, SQLite
//! is given the order key keyset's EXPLAIN reports (which must be total and
//! must not fail). INSERT, UPDATE and DELETE must leave the same table, and
//! a write one engine refuses the other must refuse for the same reason
//! (by class: primary key, unique index, NOT NULL, type), the INSERT of a
//! taken or repeated primary key included.
//!
//! Deterministic: every database comes from one seed, printed on failure;
//! `KEYSET_DIFF_SEED=<seed>` replays just that database, and
//! `KEYSET_LONG_TESTS` runs many more databases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "differential/oracle.rs"]
mod oracle;
#[path = "differential/query.rs"]
mod query;
#[path = "differential/rng.rs"]
mod rng;
#[path = "differential/schema.rs"]
mod schema;
#[path = "differential/walk.rs"]
mod walk;

use std::collections::HashSet;

use keyset::{ExecOptions, StopReason};
use oracle::{keyset_cell, Cell, Engines, Refusal, Rows};
use query::{Merge, Select};
use rng::Rng;
use schema::Schema;

/// Databases per test in the default run, and with `KEYSET_LONG_TESTS`.
const DATABASES: (u64, u64) = (100, 2000);
/// SELECTs checked on each database of the query suite.
const QUERIES_PER_DATABASE: usize = 22;
/// Writes on each database of the write suite (each followed by a SELECT).
const WRITES_PER_DATABASE: usize = 14;

/// The seeds of one suite's databases (`salt` keeps the suites apart).
fn seeds(salt: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("KEYSET_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let count = if std::env::var_os("KEYSET_LONG_TESTS").is_some() {
        DATABASES.1
    } else {
        DATABASES.0
    };
    let mut rng = Rng::new(0x6b65_7973_6574 ^ salt);
    (0..count).map(|_| rng.next_u64()).collect()
}

/// The executor's defaults, or now and then chunks of 1-4 keys so leaves
/// and shard merges refill on nearly every row.
fn exec_options(rng: &mut Rng) -> ExecOptions {
    let mut exec = ExecOptions::default();
    if rng.chance(30) {
        exec.chunk_len = 1 + rng.below(4);
    }
    exec
}

/// What the checks saw, so a run can show it was not vacuous.
#[derive(Debug, Default)]
struct Coverage {
    queries: usize,
    with_rows: usize,
    multi_page: usize,
    walked_back: usize,
    /// Backward walks that went on past the first page into OFFSET rows.
    back_past_offset: usize,
    pages: usize,
    /// Queries whose order keyset completed itself (compared through its
    /// EXPLAIN's order key).
    implicit_order: usize,
    plans: HashSet<&'static str>,
}

impl Coverage {
    fn note_plan(&mut self, explain: &str) {
        for (needle, name) in [
            ("Union", "union"),
            ("Intersection", "intersection"),
            ("IndexRange", "index range"),
            ("ByKeys", "by keys"),
            ("PrimaryRange", "primary range"),
            ("FullScan", "full scan"),
            ("Empty", "empty"),
            ("top-k", "top-k"),
        ] {
            if explain.contains(needle) {
                self.plans.insert(name);
            }
        }
    }
}

/// Failure context: enough to replay and read the case.
fn context(seed: u64, engines: &Engines, sql: &str) -> String {
    format!(
        "seed {seed} (replay with KEYSET_DIFF_SEED={seed})\nschema: {}\nstatement: {sql}",
        engines.schema.keyset_ddl().join("; ")
    )
}

/// The primary key of each row of a full table.
fn keys_of(schema: &Schema, rows: &Rows) -> HashSet<Vec<Cell>> {
    rows.iter()
        .map(|r| schema.pk.iter().map(|&c| r[c].clone()).collect())
        .collect()
}

/// Inserts about `target` rows into both engines in INSERTs of 1-5 rows,
/// with fresh primary keys (taken keys are [`check_taken_keys`]'s); unique
/// indexes may refuse a statement, and then both must refuse it as a
/// unique violation.
fn populate(rng: &mut Rng, engines: &Engines, seed: u64, target: usize) {
    let schema = &engines.schema;
    let (_, rows) = engines.tables();
    let mut live = keys_of(schema, &rows);
    let mut attempts = 0;
    while live.len() < target && attempts < target * 3 {
        attempts += 1;
        let mut rows: Vec<Vec<keyset::Value>> = Vec::new();
        let mut keys = HashSet::new();
        for _ in 0..1 + rng.below(5) {
            let row: Vec<keyset::Value> = (0..schema.columns.len())
                .map(|c| schema.value(rng, c))
                .collect();
            let key: Vec<Cell> = schema.pk.iter().map(|&c| keyset_cell(&row[c])).collect();
            if !live.contains(&key) && keys.insert(key) {
                rows.push(row);
            }
        }
        if rows.is_empty() {
            continue;
        }
        let sql = query::insert(rng, schema, &rows);
        match engines.write(&sql) {
            (Ok(k), Ok(s)) if k == s && k == rows.len() as u64 => live.extend(keys),
            (Err(Refusal::Unique), Err(Refusal::Unique)) => {}
            (k, s) => panic!(
                "{}\nINSERT disagrees: keyset {k:?}, SQLite {s:?}",
                context(seed, engines, &sql)
            ),
        }
    }
}

/// An INSERT that gives a primary key twice: a key a row already holds, or
/// one key to two rows of the statement. Both engines must refuse it as a
/// primary-key violation. Only on tables with no unique index: SQLite
/// checks later unique indexes before a primary key that is not the rowid,
/// so a row breaking both is refused for either reason there. `None` when
/// there is nothing to repeat.
fn taken_key_insert(rng: &mut Rng, engines: &Engines) -> Option<String> {
    let schema = &engines.schema;
    if schema.indexes.iter().any(|ix| ix.unique) {
        return None;
    }
    let fresh = |rng: &mut Rng| -> Vec<keyset::Value> {
        (0..schema.columns.len())
            .map(|c| schema.value(rng, c))
            .collect()
    };
    let mut rows = vec![fresh(rng)];
    let (Ok(table), _) = engines.tables() else {
        return None;
    };
    if !table.is_empty() && rng.chance(50) {
        // A key the table holds.
        let held = rng.pick(&table);
        for &c in &schema.pk {
            rows[0][c] = cell_value(&held[c]);
        }
    } else {
        // One key twice in the statement.
        let mut again = fresh(rng);
        for &c in &schema.pk {
            again[c] = rows[0][c].clone();
        }
        rows.push(again);
    }
    Some(query::insert(rng, schema, &rows))
}

/// A cell as the keyset value it came from.
fn cell_value(cell: &Cell) -> keyset::Value {
    match cell {
        Cell::Null => keyset::Value::Null,
        Cell::Bool(b) => keyset::Value::Bool(*b),
        Cell::Int(i) => keyset::Value::Int(*i),
        Cell::Float(bits) => keyset::Value::Float(f64::from_bits(*bits)),
        Cell::Text(t) => keyset::Value::Text(t.clone()),
        Cell::Bytes(b) => keyset::Value::Bytes(b.clone()),
    }
}

/// Pages `select` through keyset and compares with SQLite: the forward
/// pages concatenate to SQLite's result after OFFSET; every page but the
/// last is full and says so; walking back with `prev_cursor` from the last
/// page gives the same pages in reverse, then the rows OFFSET skipped.
fn check_select(engines: &Engines, select: &Select, cov: &mut Coverage) -> Result<(), String> {
    let schema = &engines.schema;
    let sql = select.keyset_sql(schema);
    let columns = select.columns(schema);
    // EXPLAIN must work for every query keyset pages; where keyset breaks
    // the ties itself, its order key is the order SQLite is asked for.
    let plan = engines
        .keyset
        .explain(&sql)
        .map_err(|e| format!("EXPLAIN fails: {e}"))?;
    let frontier = plan.contains("cursor=ShardFrontier");
    cov.note_plan(&plan);
    let order = if select.order_is_explicit() {
        select.full_order()
    } else {
        query::explained_order(&plan, schema)?
    };
    cov.implicit_order += usize::from(!select.order_is_explicit());
    let all = engines.sqlite_rows(&select.sqlite_sql(schema, &order), &columns);
    let skipped = select.offset.min(all.len());
    let expected = &all[skipped..];
    let table_rows: usize = engines
        .sqlite
        .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
        .expect("SQLite counts");
    let max_pages = 64 * (table_rows + select.offset + 4);
    let pages = walk::forward(&engines.keyset, &sql, max_pages)?;
    let got = walk::concat(&pages);
    cov.queries += 1;
    cov.pages += pages.len();
    cov.with_rows += usize::from(!expected.is_empty());
    cov.multi_page += usize::from(pages.len() > 1);
    if frontier && select.offset > 0 {
        // An unordered merge skips OFFSET rows in arrival order: the pages
        // hold as many rows as SQLite's result, each a distinct row of the
        // query without OFFSET (docs/shards.md).
        let mut pool = all.clone();
        pool.sort();
        let mut got = got;
        got.sort();
        let mut at = 0;
        let is_sub_multiset = got.iter().all(|row| {
            while at < pool.len() && pool[at] < *row {
                at += 1;
            }
            let found = at < pool.len() && pool[at] == *row;
            at += usize::from(found);
            found
        });
        if got.len() != expected.len() || !is_sub_multiset {
            return Err(format!(
                "unordered merge with OFFSET: {} rows, want {} drawn from the result\nkeyset: {got:?}\nall: {pool:?}",
                got.len(),
                expected.len()
            ));
        }
    } else if select.merge == Merge::Unordered {
        let (mut got, mut want) = (got, expected.to_vec());
        got.sort();
        want.sort();
        if got != want {
            return Err(format!(
                "unordered merge: rows differ\nkeyset: {got:?}\nsqlite: {want:?}"
            ));
        }
    } else if got != expected {
        return Err(format!(
            "pages concatenated differ from SQLite\nkeyset ({} pages): {got:?}\nsqlite: {expected:?}",
            pages.len()
        ));
    }
    check_page_shapes(select, &pages, frontier)?;
    if select.merge == Merge::Unordered || pages.len() < 2 {
        return Ok(());
    }
    // Deterministic resume: the same cursor on the same data, the same page.
    let again = walk::page(&engines.keyset, &sql, pages[0].next.as_ref())?;
    if again.rows != pages[1].rows || again.next != pages[1].next {
        return Err(format!(
            "resuming from the first cursor twice differs
first: {:?}
again: {:?}",
            pages[1].rows, again.rows
        ));
    }
    if select.pages_are_full() {
        cov.walked_back += 1;
        let past = check_backward(engines, select, &sql, &pages, &all[..skipped], max_pages)?;
        cov.back_past_offset += usize::from(past);
        check_changing_page_size(engines, select, expected, max_pages)?;
    }
    Ok(())
}

/// A client may change its page size between pages (the plan signature
/// leaves LIMIT out): following each cursor with another LIMIT still
/// gives the same rows in the same order.
fn check_changing_page_size(
    engines: &Engines,
    select: &Select,
    expected: &[Vec<Cell>],
    max_pages: usize,
) -> Result<(), String> {
    let schema = &engines.schema;
    let sql_with = |limit: usize| {
        let mut other = select.clone();
        other.limit = limit;
        other.keyset_sql(schema)
    };
    let mut rows: Rows = Vec::new();
    let mut cursor = None;
    for n in 0..max_pages {
        let limit = 1 + (n * 7 + select.limit) % 5;
        let page = walk::page(&engines.keyset, &sql_with(limit), cursor.as_ref())?;
        if page.rows.len() > limit {
            return Err(format!(
                "a page of LIMIT {limit} has {} rows",
                page.rows.len()
            ));
        }
        rows.extend(page.rows);
        match page.next {
            Some(next) => cursor = Some(next),
            None if rows == expected => return Ok(()),
            None => {
                return Err(format!(
                    "changing the page size between pages: got {rows:?}\nwant {expected:?}"
                ))
            }
        }
    }
    Err(format!(
        "changing the page size: no end within {max_pages} pages"
    ))
}

/// Page sizes and stop reasons: a page is never over LIMIT; a page that
/// says `Limit` is full and has a cursor; the last page says `Exhausted`
/// and has none; only the first page has no `prev_cursor` (and, under an
/// unordered merge, none has one).
fn check_page_shapes(
    select: &Select,
    pages: &[walk::Walked],
    frontier: bool,
) -> Result<(), String> {
    for (i, page) in pages.iter().enumerate() {
        let last = i + 1 == pages.len();
        let shape = format!(
            "page {i} of {}: {} rows, stop {:?}, next {}, prev {}",
            pages.len(),
            page.rows.len(),
            page.stop,
            page.next.is_some(),
            page.prev.is_some()
        );
        let full_pages = select.pages_are_full();
        let ok = page.rows.len() <= select.limit
            && (page.stop != StopReason::Limit || page.rows.len() == select.limit)
            && (!full_pages || last || page.stop == StopReason::Limit)
            && (!last || (page.stop == StopReason::Exhausted && page.next.is_none()))
            && (last || page.next.is_some())
            && (i > 0 || page.prev.is_none())
            // An unordered shard merge (a frontier cursor) promises a set,
            // not an order, so its pages have no previous page; every other
            // later page has one. (Top-k and one-shard plans keep the
            // ordered merge even when the query asks for unordered.)
            && if frontier {
                page.prev.is_none()
            } else {
                !full_pages || i == 0 || page.prev.is_some()
            };
        if !ok {
            return Err(format!("bad page shape: {shape}"));
        }
    }
    Ok(())
}

/// Walks back from the last page and compares with the forward pages;
/// says whether the walk went on into rows OFFSET skipped.
fn check_backward(
    engines: &Engines,
    select: &Select,
    sql: &str,
    pages: &[walk::Walked],
    skipped: &[Vec<Cell>],
    max_pages: usize,
) -> Result<bool, String> {
    let db = &engines.keyset;
    let last = pages.last().expect("at least one page");
    let from = last
        .prev
        .as_ref()
        .ok_or("the last page has no prev_cursor")?;
    let back = walk::backward(db, sql, from, max_pages)?;
    let before_last = pages.len() - 1;
    if back.len() < before_last {
        return Err(format!(
            "walking back gave {} pages, forward had {} before the last",
            back.len(),
            before_last
        ));
    }
    for (j, page) in back[..before_last].iter().enumerate() {
        let forward = &pages[before_last - 1 - j];
        if page.rows != forward.rows {
            return Err(format!(
                "backward page {j} differs from forward page {}\nbackward: {:?}\nforward: {:?}",
                before_last - 1 - j,
                page.rows,
                forward.rows
            ));
        }
    }
    // Before the first forward page lie the rows OFFSET skipped. A `prev`
    // page is the plan run backward strictly before the page's first row
    // (DESIGN.md section 5), and OFFSET applies to the first page only, so
    // the walk goes on through them, then ends.
    let mut extra: Vec<&walk::Walked> = back[before_last..].iter().collect();
    extra.reverse();
    let extra_rows: Rows = extra.iter().flat_map(|p| p.rows.iter().cloned()).collect();
    if extra_rows != skipped || extra.iter().any(|p| p.rows.len() > select.limit) {
        return Err(format!(
            "walking back past the first page: got {extra_rows:?}, the OFFSET rows are {skipped:?}"
        ));
    }
    // The next cursor of a page reached backward leads forward again.
    let again = walk::page(db, sql, back[0].next.as_ref())?;
    if again.rows != last.rows {
        return Err(format!(
            "next_cursor of the page before the last does not give the last page\ngot: {:?}\nwant: {:?}",
            again.rows, last.rows
        ));
    }
    Ok(!extra_rows.is_empty())
}

#[test]
fn sqlite_oracle_orders_nulls_and_matches_like_as_keyset_does() {
    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    sqlite
        .execute_batch(
            "PRAGMA case_sensitive_like = ON;
             CREATE TABLE n (id INTEGER PRIMARY KEY, v INTEGER, s TEXT);
             INSERT INTO n VALUES (1, 5, 'ab'), (2, NULL, 'Ab'), (3, -1, 'é'), (4, NULL, 'B');",
        )
        .unwrap();
    let ids = |sql: &str| -> Vec<i64> {
        let mut stmt = sqlite.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    // keyset: NULL first ascending, last descending; text by bytes.
    assert_eq!(ids("SELECT id FROM n ORDER BY v ASC, id"), vec![2, 4, 3, 1]);
    assert_eq!(
        ids("SELECT id FROM n ORDER BY v DESC, id"),
        vec![1, 3, 2, 4]
    );
    assert_eq!(ids("SELECT id FROM n ORDER BY s"), vec![2, 4, 1, 3]);
    assert_eq!(ids("SELECT id FROM n WHERE s LIKE 'a%'"), vec![1]);

    let db = keyset::Db::memory().unwrap();
    db.execute("CREATE TABLE n (id INT PRIMARY KEY, v INT, s TEXT)")
        .unwrap();
    db.execute("INSERT INTO n VALUES (1, 5, 'ab'), (2, NULL, 'Ab'), (3, -1, 'é'), (4, NULL, 'B')")
        .unwrap();
    let keyset_ids = |sql: &str| -> Vec<i64> {
        let page = db.query(sql, None).unwrap();
        page.rows().iter().map(|r| r.get("id").unwrap()).collect()
    };
    assert_eq!(
        keyset_ids("SELECT id FROM n ORDER BY v ASC, id"),
        vec![2, 4, 3, 1]
    );
    assert_eq!(
        keyset_ids("SELECT id FROM n ORDER BY v DESC, id"),
        vec![1, 3, 2, 4]
    );
    assert_eq!(keyset_ids("SELECT id FROM n ORDER BY s"), vec![2, 4, 1, 3]);
    assert_eq!(keyset_ids("SELECT id FROM n WHERE s LIKE 'a%'"), vec![1]);
}

#[test]
fn pages_concatenate_to_sqlite_result() {
    let mut cov = Coverage::default();
    for seed in seeds(1) {
        let mut rng = Rng::new(seed);
        let engines = Engines::new(Schema::random(&mut rng), exec_options(&mut rng));
        let target = if rng.chance(10) { 400 } else { rng.below(90) };
        populate(&mut rng, &engines, seed, target);
        for _ in 0..QUERIES_PER_DATABASE {
            let select = Select::random(&mut rng, &engines.schema);
            if let Err(e) = check_select(&engines, &select, &mut cov) {
                let sql = select.keyset_sql(&engines.schema);
                panic!("{}\n{e}", context(seed, &engines, &sql));
            }
        }
    }
    eprintln!("differential coverage: {cov:?}");
    if std::env::var_os("KEYSET_DIFF_SEED").is_none() {
        assert!(cov.queries >= 500, "at least 500 queries: {cov:?}");
        assert!(
            cov.implicit_order * 5 >= cov.queries,
            "keyset's own tie-break is compared often: {cov:?}"
        );
        assert!(
            cov.with_rows * 2 >= cov.queries,
            "most queries find rows: {cov:?}"
        );
        assert!(
            cov.walked_back * 5 >= cov.queries,
            "many walk back: {cov:?}"
        );
        for plan in ["union", "intersection", "index range", "full scan", "top-k"] {
            assert!(
                cov.plans.contains(plan),
                "no {plan} plan was exercised: {cov:?}"
            );
        }
    }
}

#[test]
fn writes_leave_the_same_table_as_sqlite() {
    let mut cov = Coverage::default();
    let mut outcomes = (0usize, 0usize);
    let mut refusals: HashSet<String> = HashSet::new();
    for seed in seeds(2) {
        let mut rng = Rng::new(seed);
        let engines = Engines::new(Schema::random(&mut rng), exec_options(&mut rng));
        let target = 10 + rng.below(50);
        populate(&mut rng, &engines, seed, target);
        for _ in 0..WRITES_PER_DATABASE {
            let sql = match rng.below(11) {
                0..=4 => query::update(&mut rng, &engines.schema),
                5..=7 => Some(query::delete(&mut rng, &engines.schema)),
                8 => taken_key_insert(&mut rng, &engines),
                _ => {
                    populate(&mut rng, &engines, seed, target);
                    None
                }
            };
            if let Some(sql) = &sql {
                match engines.write(sql) {
                    (Ok(k), Ok(s)) if k == s => outcomes.0 += 1,
                    (Err(k), Err(s)) if k == s && !matches!(k, Refusal::Other(_)) => {
                        outcomes.1 += 1;
                        refusals.insert(format!("{k:?}"));
                    }
                    (k, s) => panic!(
                        "{}\nthe engines disagree: keyset {k:?}, SQLite {s:?}",
                        context(seed, &engines, sql)
                    ),
                }
            }
            let (keyset_table, sqlite_table) = engines.tables();
            if keyset_table.as_ref() != Ok(&sqlite_table) {
                panic!(
                    "{}\ntables differ after the write\nkeyset: {keyset_table:?}\nsqlite: {sqlite_table:?}",
                    context(seed, &engines, sql.as_deref().unwrap_or("(inserts)"))
                );
            }
            let select = Select::random(&mut rng, &engines.schema);
            if let Err(e) = check_select(&engines, &select, &mut cov) {
                let sql = select.keyset_sql(&engines.schema);
                panic!("{}\n{e}", context(seed, &engines, &sql));
            }
        }
    }
    eprintln!(
        "write outcomes (applied, refused by both): {outcomes:?}; refusals: {refusals:?}; queries: {cov:?}"
    );
    if std::env::var_os("KEYSET_DIFF_SEED").is_none() {
        assert!(outcomes.0 > outcomes.1, "most writes apply: {outcomes:?}");
        assert!(
            outcomes.1 > 0,
            "some writes are refused by both: {outcomes:?}"
        );
        assert!(
            refusals.contains("PrimaryKey"),
            "the INSERT of a taken key was compared: {refusals:?}"
        );
    }
}
