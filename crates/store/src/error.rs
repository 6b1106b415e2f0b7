//! The store's one error type. Every variant carries the facts a user needs
//! to act on it; nothing in the store panics on input.

use std::path::PathBuf;

use crate::codec::CodecError;
use crate::value::ColumnType;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no table named `{table}`")]
    UnknownTable { table: String },
    #[error("table `{table}` already exists")]
    TableExists { table: String },
    #[error("table `{table}` has no column `{column}`")]
    UnknownColumn { table: String, column: String },
    #[error("table `{table}` has no index `{index}`")]
    UnknownIndex { table: String, index: String },
    #[error("an index named `{index}` already exists on table `{table}`")]
    IndexExists { table: String, index: String },
    #[error("invalid schema for `{table}`: {reason}")]
    InvalidSchema { table: String, reason: String },
    #[error("column `{table}.{column}` is {expected}, but the value is {found}")]
    TypeMismatch {
        table: String,
        column: String,
        expected: ColumnType,
        found: &'static str,
    },
    #[error("column `{table}.{column}` is NOT NULL, but the value is NULL")]
    NullNotAllowed { table: String, column: String },
    #[error("column `{table}.{column}` got NaN, which cannot be stored or ordered")]
    NotANumber { table: String, column: String },
    #[error("a row of `{table}` has {found} values, but the table has {expected} columns")]
    RowArity {
        table: String,
        expected: usize,
        found: usize,
    },
    #[error("a key of `{table}` has {found} components, but its primary key has {expected}")]
    KeyArity {
        table: String,
        expected: usize,
        found: usize,
    },
    #[error("column `{column}` is given twice in one row of `{table}`")]
    DuplicateColumn { table: String, column: String },
    #[error("a key of `{table}` encodes to {len} bytes, over the limit of {max}")]
    KeyTooLong {
        table: String,
        len: usize,
        max: usize,
    },
    #[error("index `{index}` on `{table}` cannot be built: the entry of the row with {key} encodes to {len} bytes, over the key limit of {max}")]
    IndexKeyTooLong {
        table: String,
        index: String,
        key: String,
        len: usize,
        max: usize,
    },
    #[error("a row of `{table}` encodes to {len} bytes, over the limit of {max}")]
    RowTooLarge {
        table: String,
        len: usize,
        max: usize,
    },
    #[error("unique index `{index}` on `{table}` already holds {key}")]
    UniqueViolation {
        table: String,
        index: String,
        key: String,
    },
    #[error("write conflict on `{table}` {key}: another transaction committed a change to it after this one's snapshot; retry")]
    Conflict { table: String, key: String },
    #[error("table `{table}` already has a row with primary key {key}")]
    DuplicateKey { table: String, key: String },
    #[error(transparent)]
    MalformedKey(#[from] CodecError),
    #[error("the data directory {} is in use by another opener", dir.display())]
    Locked { dir: PathBuf },
    #[error("{} is corrupted at byte offset {offset}: {reason}", file.display())]
    Corrupted {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the database was closed after a failed write to its log; reopen it to recover")]
    Poisoned,
}

impl StoreError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
