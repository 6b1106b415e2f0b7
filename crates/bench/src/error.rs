//! The benchmark's one error type. A benchmark that measured something
//! other than what it claims must stop, so disagreeing sides and unexpected
//! plans are errors here, never warnings.

use std::path::PathBuf;

/// Why a benchmark run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("keyset: {0}")]
    Keyset(#[from] keyset::Error),
    #[error("keyset store: {0}")]
    Store(#[from] keyset_store::StoreError),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing JSON results: {0}")]
    Json(#[from] serde_json::Error),
    /// Two sides returned different rows for the same workload.
    #[error("workload `{workload}`: {side} disagrees with SQLite: {detail}")]
    Mismatch {
        workload: String,
        side: &'static str,
        detail: String,
    },
    /// A side did not run the query the workload means to measure.
    #[error("workload `{workload}`: {side} would not measure what it claims: {detail}")]
    WrongPlan {
        workload: String,
        side: &'static str,
        detail: String,
    },
    /// A shard merge, watched by its observer, broke what it promises
    /// (its memory bound, or joining every worker thread it started).
    #[error("workload `{workload}`: the shard merge broke its contract: {detail}")]
    MergeContract { workload: String, detail: String },
    /// The raw map did not hold what the schema says it should.
    #[error("raw map: {0}")]
    Raw(String),
    #[error("unknown workload `{name}`; choose from: {valid}")]
    UnknownWorkload { name: String, valid: String },
    #[error("--rows must be at least {min} (got {rows})")]
    TooFewRows { rows: usize, min: usize },
}

/// Results of the benchmark.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;

impl BenchError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        BenchError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
