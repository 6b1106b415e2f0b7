//! What the versioned layout itself costs (DESIGN section 3):
//! - a full scan of the data map through the merging cursor, ns per key,
//!   both directions, beside SQLite's full table scan per row;
//! - the first page of an index range while another thread commits
//!   batches of 100 rows (SQLite in WAL mode, the writer on a second
//!   connection);
//! - the memory a loaded row costs: the process's RSS growth while a fresh
//!   database of the same rows is loaded, keyset in memory vs SQLite in
//!   memory.

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use keyset::{col, Db, Query, SortDirection};
use keyset_store::Direction;
use rusqlite::params;

use super::{Env, PAGE, TABLE};
use crate::data::{BenchRow, B_VALUES};
use crate::error::{BenchError, Result};
use crate::keyset_side::{self, Shape};
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::{time_once, Sides, Timing};

const NS_PER_KEY: Unit = Unit {
    label: "ns/key",
    nanos: 1.0,
};

const BYTES_PER_ROW: Unit = Unit {
    label: "B/row",
    nanos: 1.0,
};

/// Full scans of the data map through the merging cursor, both ways.
pub fn scan(env: &Env) -> Result<Vec<Measurement>> {
    let raw = env.raw()?;
    let data = raw.data()?;
    let rows = env.config.rows as f64;
    let mut out = Vec::new();
    for (direction, name, order) in [
        (Direction::Asc, "layout scan, data map, ASC", "ASC"),
        (Direction::Desc, "layout scan, data map, DESC", "DESC"),
    ] {
        let mut seen = 0usize;
        let keyset = time_once(3, |_| {
            let mut n = 0usize;
            let mut cursor = data.cursor(Bound::Unbounded, Bound::Unbounded, direction);
            while let Some((key, row)) = cursor.next_entry() {
                n += usize::from(!key.is_empty() && !row.is_empty());
            }
            seen = n;
            Ok(())
        })?;
        if seen != env.config.rows {
            return Err(BenchError::Raw(format!(
                "the {order} scan saw {seen} keys of {}",
                env.config.rows
            )));
        }
        let mut stmt = env
            .sqlite
            .prepare(&format!("SELECT id FROM {TABLE} ORDER BY id {order}"))?;
        let sqlite = time_once(3, |_| {
            let mut rows = stmt.query([])?;
            let mut n = 0usize;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                n += usize::from(id != 0);
            }
            seen = n;
            Ok(())
        })?;
        let timing = Timing {
            keyset_ns: keyset / rows,
            sqlite_ns: sqlite / rows,
            raw_ns: None,
        };
        out.push(Measurement::new(
            name,
            NS_PER_KEY,
            timing,
            format!(
                "{} keys; keyset: the store's merging cursor over the data map (key and row \
                 Arc per step, no decoding); SQLite: SELECT id ORDER BY id {order}, one column \
                 read per row; {}",
                env.config.rows,
                sources_note(env)
            ),
        ));
    }
    Ok(out)
}

/// What the bench table's maps hold now.
fn sources_note(env: &Env) -> String {
    let stats = env.db.store_stats();
    format!(
        "store holds {} versions in {} memtable(s) and {} run(s)",
        stats.live.versions, stats.live.memtables, stats.live.runs
    )
}

/// The first page of `b >= x ORDER BY b, id` while a writer thread commits
/// batches of 100 rows into another table of the same database.
pub fn page_under_writes(env: &Env) -> Result<Vec<Measurement>> {
    let name = "first page, index range, ASC, while a writer commits batches of 100";
    let dir =
        tempfile::tempdir().map_err(|e| BenchError::io("creating", "a temporary directory", e))?;
    let path = dir.path().join("sqlite.db");
    let reader = sqlite_side::open_durable(&path)?;
    reader.execute_batch("PRAGMA synchronous = NORMAL")?;
    sqlite_side::create_table(&reader, TABLE, env.config.sqlite_layout, true)?;
    let bar = env.progress("SQLite (file, WAL): loading bench", env.config.rows);
    sqlite_side::load(
        &reader,
        TABLE,
        1..=env.config.rows as i64,
        sqlite_side::LOAD_TRANSACTION_ROWS,
        &bar,
    )?;
    bar.finish();
    sqlite_side::create_table(&reader, "churn", env.config.sqlite_layout, false)?;
    keyset_side::create_table(&env.db, "churn", 1, false)?;

    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(AtomicU64::new(0));
    let keyset_writer = {
        let (db, stop, batches) = (env.db.clone(), stop.clone(), batches.clone());
        thread::spawn(move || write_keyset(&db, &stop, &batches))
    };
    let sqlite_writer = {
        let (path, stop, batches) = (path.clone(), stop.clone(), batches.clone());
        thread::spawn(move || write_sqlite(&path, &stop, &batches))
    };

    let mut rng = env.rng(11);
    let starts: Vec<i64> = (0..64).map(|_| rng.below(B_VALUES as u64) as i64).collect();
    let plans = starts
        .iter()
        .map(|&x| {
            let query = Query::table(TABLE)
                .filter(col("b").ge(x))
                .order_by("b", SortDirection::Asc)
                .order_by("id", SortDirection::Asc)
                .limit(PAGE);
            keyset_side::plan(&env.db, name, &query, Shape::IndexRange)
        })
        .collect::<Result<Vec<_>>>()?;
    let sql =
        format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE b >= ?1 ORDER BY b, id LIMIT {PAGE}");
    let mut stmt = reader.prepare(&sql)?;
    let db = &env.db;
    let at = |i: u64| i as usize % starts.len();
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            keyset_side::page_into(db, &plans[at(i)], None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            sqlite_side::rows_into(&mut stmt, [starts[at(i)]], sink)?;
            Ok(())
        }),
        raw: None,
    };
    let measured = env.measure(name, Unit::US_PER_PAGE, &mut sides, 4, String::new());
    stop.store(true, Ordering::Relaxed);
    let keyset_batches = keyset_writer
        .join()
        .map_err(|_| BenchError::Raw("the keyset writer panicked".into()))??;
    let sqlite_batches = sqlite_writer
        .join()
        .map_err(|_| BenchError::Raw("the SQLite writer panicked".into()))??;
    let mut m = measured?;
    m.note.push_str(&format!(
        "; during the run the writers committed {keyset_batches} (keyset) and {sqlite_batches} \
         (SQLite) batches of 100 rows; SQLite is a file in WAL mode, synchronous=NORMAL, writer \
         on a second connection; keyset in memory"
    ));
    Ok(vec![m])
}

fn write_keyset(db: &Db, stop: &AtomicBool, batches: &AtomicU64) -> Result<u64> {
    let mut n = 0u64;
    let mut id = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let mut batch = db.batch();
        for _ in 0..100 {
            id += 1;
            batch = batch.put("churn", BenchRow::generate(id).values());
        }
        batch.commit()?;
        n += 1;
        batches.fetch_add(1, Ordering::Relaxed);
    }
    Ok(n)
}

fn write_sqlite(path: &std::path::Path, stop: &AtomicBool, batches: &AtomicU64) -> Result<u64> {
    let conn = sqlite_side::open_durable(path)?;
    conn.execute_batch("PRAGMA synchronous = NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mut insert = conn.prepare(&format!(
        "INSERT INTO churn ({SELECT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?;
    let mut n = 0u64;
    let mut id = 0i64;
    while !stop.load(Ordering::Relaxed) {
        conn.execute_batch("BEGIN")?;
        for _ in 0..100 {
            id += 1;
            let r = BenchRow::generate(id);
            insert.execute(params![r.id, r.a, r.b, r.c, r.d, r.e])?;
        }
        conn.execute_batch("COMMIT")?;
        n += 1;
        batches.fetch_add(1, Ordering::Relaxed);
    }
    Ok(n)
}

/// The resident set size of this process, in bytes (Linux; `None`
/// elsewhere).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// RSS growth per row while a fresh copy of the bench rows is loaded, with
/// both indexes, keyset first, then SQLite; each is dropped before the
/// next is measured.
pub fn memory(env: &Env) -> Result<Vec<Measurement>> {
    let rows = env.config.rows;
    let Some(before) = rss_bytes() else {
        return Ok(Vec::new());
    };
    let db = Db::memory()?;
    keyset_side::create_table(&db, "mem", 1, true)?;
    let bar = env.progress("keyset: loading for memory", rows);
    keyset_side::load(
        &db,
        "mem",
        1..=rows as i64,
        keyset_side::LOAD_BATCH_ROWS,
        &bar,
    )?;
    bar.finish();
    db.store().maintain();
    let keyset = rss_bytes().unwrap_or(before).saturating_sub(before);
    let stats = db.store_stats();
    drop(db);
    let before = rss_bytes().unwrap_or(0);
    let conn = sqlite_side::open_memory()?;
    sqlite_side::create_table(&conn, "mem", env.config.sqlite_layout, true)?;
    let bar = env.progress("SQLite: loading for memory", rows);
    sqlite_side::load(
        &conn,
        "mem",
        1..=rows as i64,
        sqlite_side::LOAD_TRANSACTION_ROWS,
        &bar,
    )?;
    bar.finish();
    let sqlite = rss_bytes().unwrap_or(before).saturating_sub(before);
    drop(conn);
    let timing = Timing {
        keyset_ns: keyset as f64 / rows as f64,
        sqlite_ns: sqlite as f64 / rows as f64,
        raw_ns: None,
    };
    Ok(vec![Measurement::new(
        format!("memory: RSS growth loading {rows} rows, 2 indexes"),
        BYTES_PER_ROW,
        timing,
        format!(
            "keyset {:.1} MiB ({} versions, {} runs, {:.1} MiB of keys and arrays in runs and \
             memtables; rows are decoded Arcs), SQLite {:.1} MiB in memory; RSS is process-wide, \
             so freed memory the allocator reuses can hide growth",
            keyset as f64 / 1048576.0,
            stats.live.versions,
            stats.live.runs,
            stats.live.bytes as f64 / 1048576.0,
            sqlite as f64 / 1048576.0
        ),
    )])
}
