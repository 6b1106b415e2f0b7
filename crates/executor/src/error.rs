//! `ExecError`: every way running a page can fail, each variant carrying the
//! facts a caller needs to act on it. Cursor refusals keep their own
//! `CursorError` (from `cursor/`); nothing here is raised by a panic.

use crate::cursor::CursorError;
use crate::stop::StopReason;

/// Why a page could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The cursor cannot resume this query (one of the checks of DESIGN.md
    /// section 6 failed).
    #[error("invalid cursor: {0}")]
    InvalidCursor(#[from] CursorError),
    /// The plan's table was dropped after the query was planned.
    #[error("table `{table}` no longer exists: plan the query again")]
    TableGone { table: String },
    /// The plan's table was dropped and recreated, or an index was created or
    /// dropped, after the query was planned.
    #[error(
        "the schema of table `{table}` changed since the query was planned \
         (planned against generation {planned}, now {current}): plan the query again"
    )]
    SchemaChanged {
        table: String,
        planned: u64,
        current: u64,
    },
    /// A composite child that is not in primary-key order had to be sorted
    /// and holds more keys than the sort buffer may.
    #[error(
        "the range of index `{index}` in this query holds more than {limit} keys, which must be \
         buffered to merge it by primary key: narrow the range or raise `max_sort_buffer_keys`"
    )]
    SortBufferExceeded { index: String, limit: usize },
    /// A top-k page would keep more rows than `ExecOptions::max_topk_rows`.
    #[error(
        "this page needs the best {rows} rows (OFFSET + LIMIT + 1) of an order no index gives, \
         over the limit of {max}: create an index whose columns are the ORDER BY so the query \
         streams, or ask for a smaller page or OFFSET (and follow the cursor instead)"
    )]
    TopKTooLarge { rows: usize, max: usize },
    /// An eager shard merge (`merge = 'eager'`) would hold more rows than
    /// it may: it is meant for small results.
    #[error(
        "the eager merge of {shards} shards would buffer more than {limit} rows: use \
         merge = 'ordered' (the streaming merge) for large results, or raise \
         `max_sort_buffer_keys`"
    )]
    EagerMergeTooLarge { limit: usize, shards: usize },
    /// The operating system refused a worker thread for an unordered shard
    /// merge.
    #[error(
        "could not start the worker thread of shard {shard} for an unordered merge ({reason}): \
         use merge = 'ordered', which needs no threads"
    )]
    WorkerSpawn { shard: usize, reason: String },
    /// The deadline passed or the query was cancelled during a phase that
    /// cannot be cut short without changing the result: the drain of an
    /// eager shard merge, or a sort buffer collecting its range a second
    /// time before the page consumed a key. No partial page exists. (Every
    /// other phase, a top-k pass, the skipping of OFFSET rows and a sort
    /// buffer's first collection included, stops with a page and a cursor
    /// that resumes it.)
    #[error(
        "{} while {phase}, which cannot be cut short without changing the result: \
         run the page again{}",
        reason.describe(),
        if matches!(reason, StopReason::Deadline) { " with a later deadline" } else { "" }
    )]
    Interrupted {
        reason: StopReason,
        phase: &'static str,
    },
    /// The cursor for the next or previous page would exceed the token size
    /// limit (its anchor holds long ORDER BY values; for a top-k pass a
    /// budget cut, its anchor row, stop key and one carried row together).
    #[error(
        "the cursor for the adjacent page would be {len} characters long, over the limit of \
         {max}: the ORDER BY values of the row it anchors on are too long to carry in a cursor"
    )]
    CursorTooLarge { len: usize, max: usize },
    /// The shards of a table held elsewhere (a Redis Cluster) could not be
    /// read: a node that stayed down past the query's retries names itself
    /// here. The page is not returned, so no page is ever short of rows a
    /// shard failed to give.
    #[error("reading the table's shards failed: {0}")]
    Source(#[from] keyset_store::SourceError),
    /// A broken invariant of the executor itself (for example a stream that
    /// yielded keys out of order). Never caused by input; please report it.
    #[error("internal executor error: {what}")]
    Internal { what: String },
}

impl ExecError {
    pub(crate) fn internal(what: impl Into<String>) -> ExecError {
        ExecError::Internal { what: what.into() }
    }
}
