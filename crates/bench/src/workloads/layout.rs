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
            while let Some(seen) = cursor.next_visit(|key, _row| !key.is_empty()) {
                n += usize::from(seen);
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
                 borrowed per step, rows not touched); SQLite: SELECT id ORDER BY id {order}, \
                 one column read per row; {}",
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

/// Loads `rows` rows with both indexes into a fresh keyset (in memory)
/// or SQLite (in memory) database and returns this process's RSS growth,
/// in bytes: run in a child process per side, so neither side reuses
/// memory the other freed.
pub fn memory_child(side: &str, rows: usize) -> Result<u64> {
    let before = rss_bytes().ok_or_else(|| BenchError::Raw("no /proc/self/status".into()))?;
    let hidden = indicatif::ProgressBar::hidden();
    let keep: Box<dyn std::any::Any> = match side {
        "keyset" => {
            let db = Db::memory()?;
            keyset_side::create_table(&db, "mem", 1, true)?;
            keyset_side::load(
                &db,
                "mem",
                1..=rows as i64,
                keyset_side::LOAD_BATCH_ROWS,
                &hidden,
            )?;
            db.store().maintain();
            Box::new(db)
        }
        _ => {
            let conn = sqlite_side::open_memory()?;
            sqlite_side::create_table(&conn, "mem", sqlite_side::Layout::default(), true)?;
            sqlite_side::load(
                &conn,
                "mem",
                1..=rows as i64,
                sqlite_side::LOAD_TRANSACTION_ROWS,
                &hidden,
            )?;
            Box::new(conn)
        }
    };
    let after = rss_bytes().unwrap_or(before);
    drop(keep);
    Ok(after.saturating_sub(before))
}

/// RSS growth per row loading the bench rows with both indexes, each side
/// in a fresh child process of this binary (`--memory-child`).
pub fn memory(env: &Env) -> Result<Vec<Measurement>> {
    let rows = env.config.rows;
    let Ok(exe) = std::env::current_exe() else {
        return Ok(Vec::new());
    };
    let child = |side: &str| -> Result<u64> {
        let out = std::process::Command::new(&exe)
            .args(["--memory-child", side, "--rows", &rows.to_string()])
            .output()
            .map_err(|e| BenchError::io("running", "the memory child process", e))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                BenchError::Raw(format!(
                    "the {side} memory child printed no figure: {}",
                    String::from_utf8_lossy(&out.stderr)
                ))
            })
    };
    // Under `cargo test` the current executable is the test harness, which
    // has no `--memory-child`: there is nothing to measure.
    let (Ok(keyset), Ok(sqlite)) = (child("keyset"), child("sqlite")) else {
        return Ok(Vec::new());
    };
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
            "keyset {:.1} MiB (in memory, rows decoded and shared by the indexes), SQLite {:.1} \
             MiB (in memory); each measured in a fresh child process",
            keyset as f64 / 1048576.0,
            sqlite as f64 / 1048576.0
        ),
    )])
}
