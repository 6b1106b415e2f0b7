//! SQLite's side (rusqlite, bundled): the same table and indexes, loaded in
//! transactions, queried with prepared statements; keyset pagination is
//! written by hand with row-value comparisons. Either layout (`Layout`)
//! ends every index entry with the primary key, as keyset's index keys do.
//! Nothing here knows about keyset beyond its `Value`.

use std::path::Path;

use indicatif::ProgressBar;
use keyset::Value;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Params, Statement};

use crate::data::BenchRow;
use crate::error::{BenchError, Result};
use crate::timing::Sink;

/// The columns every benchmark query selects, in table order.
pub const SELECT_COLUMNS: &str = "id, a, b, c, d, e";

/// Rows per transaction when loading a table.
pub const LOAD_TRANSACTION_ROWS: usize = 10_000;

/// A connection to a database in memory.
pub fn open_memory() -> Result<Connection> {
    Ok(Connection::open_in_memory()?)
}

/// A connection to a file in WAL mode with `synchronous=FULL`: every
/// commit is fsynced, the durability keyset's `SyncMode::Always` promises.
pub fn open_durable(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(BenchError::WrongPlan {
            workload: "durable SQLite".into(),
            side: "SQLite",
            detail: format!("journal_mode is {mode}, not wal"),
        });
    }
    conn.execute_batch("PRAGMA synchronous = FULL")?;
    Ok(conn)
}

/// How SQLite lays the table out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// `id INTEGER PRIMARY KEY`: the rowid table SQLite recommends; the
    /// indexes `(a)` and `(b)` end with the rowid. SQLite cannot seek a
    /// row value `(b, id) > (?, ?)` when `id` is the rowid: it seeks `b`
    /// and scans the rest of that `b` group.
    Rowid,
    /// `WITHOUT ROWID`, clustered on `id`, indexes `(a, id)` and `(b, id)`:
    /// keyset's own layout, and one where row values seek on both columns,
    /// so the hand-written keyset queries do what they mean (the default).
    #[default]
    Clustered,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Rowid => "rowid",
            Layout::Clustered => "clustered",
        }
    }
}

/// Creates a benchmark table, with indexes on `a` and `b` when `indexes`
/// is set.
pub fn create_table(conn: &Connection, table: &str, layout: Layout, indexes: bool) -> Result<()> {
    let (suffix, index_tail) = match layout {
        Layout::Rowid => ("", ""),
        Layout::Clustered => (" WITHOUT ROWID", ", id"),
    };
    conn.execute_batch(&format!(
        "CREATE TABLE {table} (id INTEGER PRIMARY KEY, a INTEGER NOT NULL, \
         b INTEGER NOT NULL, c INTEGER NOT NULL, d TEXT NOT NULL, e REAL NOT NULL){suffix}"
    ))?;
    if indexes {
        conn.execute_batch(&format!(
            "CREATE INDEX {table}_a ON {table} (a{index_tail}); \
             CREATE INDEX {table}_b ON {table} (b{index_tail});"
        ))?;
    }
    Ok(())
}

/// Inserts the rows with these ids, `per_transaction` rows per commit,
/// with one prepared INSERT.
pub fn load(
    conn: &Connection,
    table: &str,
    ids: impl Iterator<Item = i64>,
    per_transaction: usize,
    progress: &ProgressBar,
) -> Result<()> {
    let mut insert = conn.prepare(&format!(
        "INSERT INTO {table} ({SELECT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?;
    let mut pending = 0;
    conn.execute_batch("BEGIN")?;
    for id in ids {
        let r = BenchRow::generate(id);
        insert.execute(params![r.id, r.a, r.b, r.c, r.d, r.e])?;
        pending += 1;
        if pending == per_transaction {
            conn.execute_batch("COMMIT; BEGIN")?;
            progress.inc(pending as u64);
            pending = 0;
        }
    }
    conn.execute_batch("COMMIT")?;
    progress.inc(pending as u64);
    Ok(())
}

/// A SQLite value as a keyset value, type for type.
fn value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

/// The key of the last row a page returned, for the next keyset page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastRow {
    pub id: i64,
    pub b: i64,
}

/// Runs a prepared SELECT of `SELECT_COLUMNS`, pushing every row into the
/// sink; returns how many rows and the last one's key.
pub fn rows_into(
    stmt: &mut Statement<'_>,
    params: impl Params,
    sink: &mut Sink,
) -> Result<(usize, Option<LastRow>)> {
    let mut rows = stmt.query(params)?;
    let mut count = 0;
    let mut last = None;
    while let Some(row) = rows.next()? {
        let values: Vec<Value> = (0..6)
            .map(|i| row.get_ref(i).map(value))
            .collect::<rusqlite::Result<_>>()?;
        if let (Value::Int(id), Value::Int(b)) = (&values[0], &values[2]) {
            last = Some(LastRow { id: *id, b: *b });
        }
        sink.push(values);
        count += 1;
    }
    Ok((count, last))
}

/// SQLite's plan for a statement (`EXPLAIN QUERY PLAN`, every parameter
/// bound to 0: SQLite's plans do not depend on parameter values here).
pub fn query_plan(conn: &Connection, sql: &str) -> Result<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let zeros = vec![0i64; stmt.parameter_count()];
    let steps = stmt
        .query_map(rusqlite::params_from_iter(zeros), |r| r.get::<_, String>(3))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(steps.join("; "))
}

/// Rows in a table.
pub fn count(conn: &Connection, table: &str) -> Result<usize> {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}
