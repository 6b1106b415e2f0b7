//! keyset's one public error type. Each variant says what went wrong in
//! words a caller can act on; the lower layers' errors are kept as sources.

use std::path::PathBuf;

pub use keyset_executor::cursor::CursorError;
pub use keyset_executor::ExecError;
pub use keyset_plan::PlanError;
pub use keyset_sql::SqlError;
pub use keyset_store::StoreError;

/// Everything that can go wrong in keyset.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQL text could not be parsed or uses something outside the subset.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// The query does not fit the schema (unknown table or column, literal type).
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A write or schema change was refused, or storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// The data directory is held by another opener.
    #[error("the data directory {} is in use by another opener{}", dir.display(),
        holder.map(|pid| format!(" (process {pid})")).unwrap_or_default())]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The holder's pid, as its lock file records it.
        holder: Option<u32>,
    },
    /// A file of the data directory is damaged.
    #[error("{} is corrupted at byte offset {offset}: {reason}", file.display())]
    Corrupted {
        /// The damaged file.
        file: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong there.
        reason: String,
    },
    /// A cursor was forged, damaged, stale, or belongs to another query.
    #[error("invalid cursor: {0}")]
    InvalidCursor(CursorError),
    /// Execution failed.
    #[error(transparent)]
    Exec(ExecError),
    /// A database held in a Redis Cluster could not be opened, changed or
    /// written (see `docs/cluster.md`).
    #[error(transparent)]
    Cluster(#[from] keyset_cluster::ClusterError),
    /// A row has no column of that name.
    #[error("no column `{column}` in this row (columns: {})", available.join(", "))]
    NoSuchColumn {
        /// The name asked for.
        column: String,
        /// The row's columns.
        available: Vec<String>,
    },
    /// A column's value is not of the requested Rust type.
    #[error("column `{column}` holds {found}, not {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// The SQL type the Rust type reads.
        expected: &'static str,
        /// The kind of value the column holds.
        found: &'static str,
    },
    /// A row could not be deserialized into the requested type.
    #[error("cannot deserialize row: {0}")]
    Deserialize(String),
    /// Another transaction committed a write to a key this one writes
    /// after this one's snapshot (first committer wins). Retry the
    /// transaction: [`Error::is_retryable`] is true.
    #[error("write conflict on table `{table}`, key {key}: another commit changed it after this transaction's snapshot; retry the transaction")]
    Conflict {
        /// The table.
        table: String,
        /// The primary key, as `(col) = (value)`.
        key: String,
    },
    /// A snapshot was released or expired under the retention limit
    /// (`StoreOptions::retention`); take a new one.
    #[error("snapshot expired: {0}")]
    SnapshotExpired(String),
    /// The statement is not the kind this call takes (e.g. an INSERT given to `query`).
    #[error("{0}")]
    WrongStatement(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Locked { dir } => Error::Locked {
                holder: keyset_store::durable::lock_holder(&dir),
                dir,
            },
            StoreError::Corrupted {
                file,
                offset,
                reason,
            } => Error::Corrupted {
                file,
                offset,
                reason,
            },
            StoreError::Conflict { table, key } => Error::Conflict { table, key },
            other => Error::Store(other),
        }
    }
}

impl Error {
    /// Whether running the same work again may succeed: a write conflict
    /// between transactions.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }
}

impl From<CursorError> for Error {
    fn from(e: CursorError) -> Self {
        Error::InvalidCursor(e)
    }
}

impl From<ExecError> for Error {
    fn from(e: ExecError) -> Self {
        match e {
            ExecError::InvalidCursor(c) => Error::InvalidCursor(c),
            other => Error::Exec(other),
        }
    }
}

/// keyset's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
