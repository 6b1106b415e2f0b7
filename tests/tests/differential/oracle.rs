//! Both engines behind one small interface: SQLite (in memory, LIKE made
//! byte-wise) as the oracle and keyset (`Db::memory()`), with their values
//! mapped to one exact form ([`Cell`]) so results compare without any
//! numeric tolerance. Statement generation and paging live elsewhere.

use std::fmt;

use keyset::{Db, Error, ExecOptions, Options, Outcome, PlanError, StoreError, Value};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::schema::{Schema, Ty};

/// A value as both engines can report it, compared exactly: floats by
/// their bits, booleans apart from integers.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Text(String),
    Bytes(Vec<u8>),
}

/// Reads like SQL, floats as numbers (`2.5f`), so failures are legible.
impl fmt::Debug for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(bits) => write!(f, "{:?}f", f64::from_bits(*bits)),
            Cell::Text(s) => write!(f, "{s:?}"),
            Cell::Bytes(b) => write!(f, "x{b:02x?}"),
        }
    }
}

pub type Rows = Vec<Vec<Cell>>;

/// A keyset value in its exact form.
pub fn keyset_cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::Bool(b) => Cell::Bool(*b),
        Value::Int(i) => Cell::Int(*i),
        Value::Float(f) => Cell::Float(f.to_bits()),
        Value::Text(s) => Cell::Text(s.clone()),
        Value::Bytes(b) => Cell::Bytes(b.clone()),
    }
}

/// A SQLite value read from a column declared as `ty`. A type SQLite
/// should not produce for that column is kept as is and so fails the
/// comparison.
fn sqlite_cell(value: ValueRef<'_>, ty: Ty) -> Cell {
    match (value, ty) {
        (ValueRef::Null, _) => Cell::Null,
        (ValueRef::Integer(i), Ty::Bool) if i == 0 || i == 1 => Cell::Bool(i == 1),
        (ValueRef::Integer(i), _) => Cell::Int(i),
        (ValueRef::Real(f), _) => Cell::Float(f.to_bits()),
        (ValueRef::Text(t), _) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        (ValueRef::Blob(b), _) => Cell::Bytes(b.to_vec()),
    }
}

/// Why an engine refused a write, by class, so that two refusals agree
/// only when they refuse for the same reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A primary key taken, or given twice in one statement.
    PrimaryKey,
    /// A unique index's key taken.
    Unique,
    /// NULL in a NOT NULL column.
    NotNull,
    /// A value of the wrong type.
    Type,
    /// Anything else, with its message (never equal across engines).
    Other(String),
}

impl Refusal {
    fn of_keyset(e: &Error) -> Refusal {
        match e {
            Error::Store(StoreError::DuplicateKey { .. }) => Refusal::PrimaryKey,
            Error::WrongStatement(m) if m.contains("the same primary key") => Refusal::PrimaryKey,
            Error::Store(StoreError::UniqueViolation { .. }) => Refusal::Unique,
            Error::Store(StoreError::NullNotAllowed { .. }) => Refusal::NotNull,
            Error::Store(StoreError::TypeMismatch { .. })
            | Error::Plan(PlanError::LiteralType { .. }) => Refusal::Type,
            other => Refusal::Other(format!("keyset: {other}")),
        }
    }

    fn of_sqlite(e: &rusqlite::Error) -> Refusal {
        use rusqlite::ffi;
        match e {
            rusqlite::Error::SqliteFailure(failure, _) => match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Refusal::PrimaryKey,
                ffi::SQLITE_CONSTRAINT_UNIQUE => Refusal::Unique,
                ffi::SQLITE_CONSTRAINT_NOTNULL => Refusal::NotNull,
                ffi::SQLITE_MISMATCH => Refusal::Type,
                _ => Refusal::Other(format!("SQLite: {e}")),
            },
            other => Refusal::Other(format!("SQLite: {other}")),
        }
    }
}

/// The two databases holding the same table.
pub struct Engines {
    pub keyset: Db,
    pub sqlite: Connection,
    pub schema: Schema,
}

impl Engines {
    /// Both databases with `schema`; keyset with `exec` tuning (small
    /// chunks make every leaf and shard merge refill often).
    pub fn new(schema: Schema, exec: ExecOptions) -> Engines {
        let options = Options {
            exec,
            ..Options::default()
        };
        let keyset = Db::memory_with(options).expect("an in-memory keyset database opens");
        for ddl in schema.keyset_ddl() {
            if let Err(e) = keyset.execute(&ddl) {
                panic!("keyset refused `{ddl}`: {e}");
            }
        }
        let sqlite = Connection::open_in_memory().expect("an in-memory SQLite database opens");
        sqlite
            .execute_batch("PRAGMA case_sensitive_like = ON;")
            .expect("SQLite takes the pragma");
        for ddl in schema.sqlite_ddl() {
            sqlite
                .execute_batch(&ddl)
                .unwrap_or_else(|e| panic!("SQLite refused `{ddl}`: {e}"));
        }
        Engines {
            keyset,
            sqlite,
            schema,
        }
    }

    /// Runs a write on both; returns what each did (rows changed, or why
    /// it was refused, by class).
    pub fn write(&self, sql: &str) -> (Result<u64, Refusal>, Result<u64, Refusal>) {
        let keyset = match self.keyset.execute(sql) {
            Ok(Outcome::Changed(n)) => Ok(n),
            Ok(other) => Err(Refusal::Other(format!("unexpected outcome {other:?}"))),
            Err(e) => Err(Refusal::of_keyset(&e)),
        };
        let sqlite = self
            .sqlite
            .execute(sql, [])
            .map(|n| n as u64)
            .map_err(|e| Refusal::of_sqlite(&e));
        (keyset, sqlite)
    }

    /// SQLite's whole result of `sql`, whose columns are `columns`.
    pub fn sqlite_rows(&self, sql: &str, columns: &[usize]) -> Rows {
        let mut stmt = self
            .sqlite
            .prepare(sql)
            .unwrap_or_else(|e| panic!("SQLite cannot prepare `{sql}`: {e}"));
        let mut rows = stmt.query([]).expect("SQLite runs the query");
        let mut out = Vec::new();
        while let Some(row) = rows.next().expect("SQLite reads a row") {
            out.push(
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| {
                        let value = row.get_ref(i).expect("SQLite has the column");
                        sqlite_cell(value, self.schema.columns[c].ty)
                    })
                    .collect(),
            );
        }
        out
    }

    /// Every row of the table in primary-key order, from each engine.
    pub fn tables(&self) -> (Result<Rows, String>, Rows) {
        let order = self.schema.names(&self.schema.pk);
        let sql = format!("SELECT * FROM {} ORDER BY {order}", self.schema.table);
        let all: Vec<usize> = (0..self.schema.columns.len()).collect();
        let keyset = self
            .keyset
            .stream(&sql)
            .map_err(|e| e.to_string())
            .and_then(|rows| {
                rows.map(|row| {
                    row.map(|r| r.values().iter().map(keyset_cell).collect())
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Rows, String>>()
            });
        (keyset, self.sqlite_rows(&sql, &all))
    }
}
