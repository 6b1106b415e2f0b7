//! Inserts in batches of 100 rows into a fresh table with the two
//! secondary indexes, ids in scattered order: in memory on both sides, and
//! durable (keyset `SyncMode::Always` vs SQLite WAL with `synchronous=FULL`,
//! both in a temporary directory, every batch fsynced). Afterwards both
//! tables are read back whole and compared.

use std::time::Instant;

use keyset::{Db, Options, Query, SortDirection, SyncMode};
use rusqlite::{params, Connection};

use super::Env;
use crate::data::{BenchRow, Scatter};
use crate::error::{BenchError, Result};
use crate::keyset_side;
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::{check, Sides, Timing};

/// Rows per insert batch.
pub const BATCH_ROWS: usize = 100;
const TABLE: &str = "ins";

fn insert_keyset(db: &Db, rows: usize) -> Result<f64> {
    let scatter = Scatter::new(rows as u64);
    let start = Instant::now();
    for chunk in (0..rows as u64).collect::<Vec<_>>().chunks(BATCH_ROWS) {
        let mut batch = db.batch();
        for &i in chunk {
            batch = batch.put(TABLE, BenchRow::generate(scatter.id(i)).values());
        }
        batch.commit()?;
    }
    Ok(start.elapsed().as_nanos() as f64)
}

fn insert_sqlite(conn: &Connection, rows: usize) -> Result<f64> {
    let scatter = Scatter::new(rows as u64);
    let mut insert = conn.prepare(&format!(
        "INSERT INTO {TABLE} ({SELECT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?;
    let start = Instant::now();
    for chunk in (0..rows as u64).collect::<Vec<_>>().chunks(BATCH_ROWS) {
        conn.execute_batch("BEGIN")?;
        for &i in chunk {
            let r = BenchRow::generate(scatter.id(i));
            insert.execute(params![r.id, r.a, r.b, r.c, r.d, r.e])?;
        }
        conn.execute_batch("COMMIT")?;
    }
    Ok(start.elapsed().as_nanos() as f64)
}

/// Reads both tables back in id order and checks they hold the same rows.
fn compare(name: &str, db: &Db, conn: &Connection, rows: usize) -> Result<()> {
    let plan = db.plan(
        &Query::table(TABLE)
            .order_by("id", SortDirection::Asc)
            .limit(10_000),
    )?;
    let mut stmt = conn.prepare(&format!("SELECT {SELECT_COLUMNS} FROM {TABLE} ORDER BY id"))?;
    let mut sides = Sides {
        keyset: Box::new(|_, sink| {
            keyset_side::drain_into(db, &plan, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|_, sink| {
            sqlite_side::rows_into(&mut stmt, [], sink)?;
            Ok(())
        }),
        raw: None,
    };
    let seen = check(name, &mut sides, &[0])?.rows;
    if seen != rows {
        return Err(BenchError::Mismatch {
            workload: name.to_owned(),
            side: "keyset",
            detail: format!("{seen} rows after inserting {rows}"),
        });
    }
    Ok(())
}

fn measurement(name: &str, rows: usize, keyset_ns: f64, sqlite_ns: f64, what: &str) -> Measurement {
    let batches = rows.div_ceil(BATCH_ROWS) as f64;
    let timing = Timing {
        keyset_ns: keyset_ns / batches,
        sqlite_ns: sqlite_ns / batches,
        raw_ns: None,
    };
    let per_sec = |ns: f64| rows as f64 / (ns / 1e9);
    let note = format!(
        "{rows} rows{what}; keyset {:.0} rows/s, SQLite {:.0} rows/s",
        per_sec(keyset_ns),
        per_sec(sqlite_ns)
    );
    Measurement::new(name, Unit::US_PER_BATCH, timing, note)
}

/// Inserts into keyset and SQLite, both in memory.
pub fn insert_memory(env: &Env) -> Result<Vec<Measurement>> {
    let name = "insert, batches of 100, 2 indexes, in memory";
    let rows = env.config.insert_rows;
    let db = Db::memory()?;
    keyset_side::create_table(&db, TABLE, 1, true)?;
    let conn = sqlite_side::open_memory()?;
    sqlite_side::create_table(&conn, TABLE, env.config.sqlite_layout, true)?;
    let keyset_ns = insert_keyset(&db, rows)?;
    let sqlite_ns = insert_sqlite(&conn, rows)?;
    compare(name, &db, &conn, rows)?;
    Ok(vec![measurement(name, rows, keyset_ns, sqlite_ns, "")])
}

/// Inserts into keyset (`SyncMode::Always`) and SQLite (WAL,
/// `synchronous=FULL`), both in a temporary directory.
pub fn insert_durable(env: &Env) -> Result<Vec<Measurement>> {
    let name = "insert, batches of 100, 2 indexes, durable (fsync per batch)";
    let rows = env.config.durable_rows;
    let dir =
        tempfile::tempdir().map_err(|e| BenchError::io("creating", "a temporary directory", e))?;
    let options = Options {
        sync: SyncMode::Always,
        ..Options::default()
    };
    let db = Db::open_with(dir.path().join("keyset"), options)?;
    keyset_side::create_table(&db, TABLE, 1, true)?;
    let conn = sqlite_side::open_durable(&dir.path().join("sqlite.db"))?;
    sqlite_side::create_table(&conn, TABLE, env.config.sqlite_layout, true)?;
    let keyset_ns = insert_keyset(&db, rows)?;
    let sqlite_ns = insert_sqlite(&conn, rows)?;
    compare(name, &db, &conn, rows)?;
    db.close()?;
    let what = " (fewer rows than in memory: every batch waits for an fsync)";
    Ok(vec![measurement(name, rows, keyset_ns, sqlite_ns, what)])
}
