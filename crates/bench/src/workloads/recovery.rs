//! Recovery: a durable keyset directory written as single-row commits
//! (the load uses `SyncMode::Never` so it finishes in seconds; the WAL
//! holds the same records either way) is closed and reopened: replaying
//! the whole WAL, after a flush (run files and a manifest, loaded in bulk),
//! and after a flush with a WAL tail of 10% of the rows. SQLite's reopen (open
//! plus a first query) is given for contrast: it reads pages lazily and has
//! nothing to replay after a clean close, while keyset rebuilds its maps.

use std::path::Path;
use std::time::Instant;

use keyset::{col, Db, Options, Query, RecoveryReport, SyncMode};
use rusqlite::Connection;

use super::Env;
use crate::error::{BenchError, Result};
use crate::keyset_side::{self, Shape};
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::{check, Sides, Timing};

const TABLE: &str = "durable";

/// Reopenings timed per measurement (fewer for large directories).
fn runs(rows: usize) -> usize {
    if rows >= 200_000 {
        1
    } else {
        3
    }
}

fn wrong(workload: &str, detail: String) -> BenchError {
    BenchError::WrongPlan {
        workload: workload.to_owned(),
        side: "keyset",
        detail,
    }
}

/// Makes the allocator settle the chunks the previous instance freed.
/// glibc merges freed small chunks at the next larger allocation; without
/// this, tearing down the last instance (hundreds of thousands of rows) is
/// billed to the first `opendir` of the reopen being timed.
fn settle_allocator() {
    let block: Vec<u8> = Vec::with_capacity(32 << 10);
    std::hint::black_box(block);
}

/// Opens the keyset directory `runs` times, timing only the open, and
/// checks each recovery against `expect` and SQLite's rows.
fn time_keyset_open(
    workload: &str,
    path: &Path,
    conn: &Connection,
    rows: usize,
    expect: impl Fn(&RecoveryReport) -> bool,
) -> Result<(f64, String)> {
    let mut total = 0.0;
    let mut summary = String::new();
    for _ in 0..runs(rows) {
        let options = Options {
            checkpoint_wal_bytes: Some(0),
            ..Options::default()
        };
        settle_allocator();
        let start = Instant::now();
        let db = Db::open_with(path, options)?;
        total += start.elapsed().as_nanos() as f64;
        let report = db
            .recovery_report()
            .cloned()
            .ok_or_else(|| wrong(workload, "no recovery report".into()))?;
        if !expect(&report) {
            return Err(wrong(workload, format!("unexpected recovery: {report:?}")));
        }
        summary = format!(
            "{} run files loaded ({} versions), {} WAL records replayed",
            report.runs_loaded, report.versions_loaded, report.records_replayed
        );
        agree(workload, &db, conn, rows)?;
        db.close()?;
    }
    Ok((total / runs(rows) as f64, summary))
}

/// Checks the reopened keyset holds `rows` rows and the same rows as SQLite
/// at a few ids.
fn agree(workload: &str, db: &Db, conn: &Connection, rows: usize) -> Result<()> {
    let held = db.store().read().table(TABLE).map_or(0, |t| t.len());
    if held != rows || sqlite_side::count(conn, TABLE)? != rows {
        return Err(wrong(workload, format!("{held} rows recovered of {rows}")));
    }
    let ids = [1, rows as i64 / 2, rows as i64];
    let plans = ids
        .iter()
        .map(|&id| {
            keyset_side::plan(
                db,
                workload,
                &Query::table(TABLE).filter(col("id").eq(id)),
                Shape::ByKeys,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE id = ?1"
    ))?;
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            keyset_side::page_into(db, &plans[i as usize], None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            sqlite_side::rows_into(&mut stmt, [ids[i as usize]], sink)?;
            Ok(())
        }),
        raw: None,
    };
    check(workload, &mut sides, &[0, 1, 2])?;
    Ok(())
}

/// SQLite's reopen: open the file and run a first query.
fn time_sqlite_open(path: &Path, rows: usize) -> Result<f64> {
    let mut total = 0.0;
    for _ in 0..runs(rows) {
        settle_allocator();
        let start = Instant::now();
        let conn = Connection::open(path)?;
        let id: i64 = conn.query_row(&format!("SELECT id FROM {TABLE} WHERE id = 1"), [], |r| {
            r.get(0)
        })?;
        total += start.elapsed().as_nanos() as f64;
        std::hint::black_box(id);
    }
    Ok(total / runs(rows) as f64)
}

pub fn recovery(env: &Env) -> Result<Vec<Measurement>> {
    let rows = env.config.recovery_rows;
    let dir =
        tempfile::tempdir().map_err(|e| BenchError::io("creating", "a temporary directory", e))?;
    let keyset_dir = dir.path().join("keyset");
    let sqlite_path = dir.path().join("sqlite.db");
    let load = Options {
        sync: SyncMode::Never,
        checkpoint_wal_bytes: Some(0),
        ..Options::default()
    };
    let db = Db::open_with(&keyset_dir, load.clone())?;
    keyset_side::create_table(&db, TABLE, 1, true)?;
    let bar = env.progress("keyset: single-row commits", rows);
    keyset_side::load(&db, TABLE, 1..=rows as i64, 1, &bar)?;
    bar.finish();
    db.close()?;
    {
        let conn = sqlite_side::open_durable(&sqlite_path)?;
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        sqlite_side::create_table(&conn, TABLE, env.config.sqlite_layout, true)?;
        let bar = env.progress("SQLite: loading durable", rows);
        sqlite_side::load(
            &conn,
            TABLE,
            1..=rows as i64,
            sqlite_side::LOAD_TRANSACTION_ROWS,
            &bar,
        )?;
        bar.finish();
    }
    let conn = Connection::open(&sqlite_path)?;
    let sqlite_ns = time_sqlite_open(&sqlite_path, rows)?;
    let mut results = Vec::new();

    let name = format!("recovery: reopen after {rows} single-row commits (WAL replay)");
    let (keyset_ns, summary) = time_keyset_open(&name, &keyset_dir, &conn, rows, |r| {
        r.snapshot_seq.is_none() && r.records_replayed >= rows as u64
    })?;
    results.push(opened(&name, keyset_ns, sqlite_ns, summary));

    // Flush now (run files + manifest), then reopen: runs load in bulk.
    let db = Db::open_with(&keyset_dir, Options::default())?;
    db.checkpoint()?;
    db.close()?;
    let name = format!("recovery: reopen after a flush of {rows} rows");
    let (keyset_ns, summary) = time_keyset_open(&name, &keyset_dir, &conn, rows, |r| {
        r.snapshot_seq.is_some() && r.records_replayed == 0 && r.runs_loaded > 0
    })?;
    results.push(opened(&name, keyset_ns, sqlite_ns, summary));

    // A WAL tail of 10% of the rows after the flush: the first tenth
    // written again, one commit each, with the same values.
    let tail = (rows / 10).max(1);
    let db = Db::open_with(&keyset_dir, load)?;
    let bar = env.progress("keyset: a 10% WAL tail", tail);
    keyset_side::load(&db, TABLE, 1..=tail as i64, 1, &bar)?;
    bar.finish();
    db.close()?;
    let name = format!("recovery: reopen after a flush of {rows} rows with a 10% WAL tail");
    let (keyset_ns, summary) = time_keyset_open(&name, &keyset_dir, &conn, rows, |r| {
        r.snapshot_seq.is_some() && r.records_replayed >= tail as u64 && r.runs_loaded > 0
    })?;
    results.push(opened(&name, keyset_ns, sqlite_ns, summary));
    Ok(results)
}

fn opened(name: &str, keyset_ns: f64, sqlite_ns: f64, summary: String) -> Measurement {
    let timing = Timing {
        keyset_ns,
        sqlite_ns,
        raw_ns: None,
    };
    let note = format!("keyset: {summary}; SQLite: open + first query");
    Measurement::new(name, Unit::MS_PER_OPEN, timing, note)
}
