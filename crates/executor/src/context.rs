//! What a caller hands the executor besides the plan: the database's cursor
//! identity and MAC keys, tuning options, an optional cancellation token
//! and an optional merge observer. Nothing here holds the state of a
//! traversal; that lives in the cursor.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cursor::CursorKeys;
use crate::observer::MergeObserver;

/// Largest chunk a leaf reads from a map at once, by default (measured:
/// see `docs/shards.md`, "Chunk length").
pub const DEFAULT_CHUNK_LEN: usize = 256;
/// Most keys a sort buffer (or an eager shard merge) may hold, by default.
pub const DEFAULT_MAX_SORT_BUFFER_KEYS: usize = 1 << 20;
/// Default of `ExecOptions::max_topk_rows`.
pub const DEFAULT_MAX_TOPK_ROWS: usize = 100_000;
/// Rows per shard the channel of an unordered shard merge holds, by default.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 64;

/// Tuning of the executor. No option changes a result, only how much
/// memory and read-ahead a page may use (or, past `max_sort_buffer_keys`,
/// whether a page can be produced at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOptions {
    /// Largest chunk of keys a leaf reads from a map at once. A page's
    /// leaves start with a chunk of about `offset + limit + 1` keys (split
    /// between the shards a merge reads) and double up to this.
    pub chunk_len: usize,
    /// Most keys a composite child that is not in primary-key order may
    /// buffer to be sorted (`ExecError::SortBufferExceeded` past it), and
    /// most rows an eager shard merge may drain
    /// (`ExecError::EagerMergeTooLarge` past it).
    pub max_sort_buffer_keys: usize,
    /// Rows per shard that the channel of an unordered shard merge holds
    /// before its producers wait for the page to take some (backpressure).
    /// 0 is taken as 1.
    pub channel_capacity: usize,
    /// Most rows a top-k page (an ORDER BY no index gives, with a LIMIT)
    /// may keep: `OFFSET + LIMIT + 1` past it is refused with
    /// `ExecError::TopKTooLarge`, so no single query can make the executor
    /// hold an unbounded heap. A streaming plan (an index gives the order)
    /// has no such bound: its OFFSET rows are skipped, not kept.
    pub max_topk_rows: usize,
    /// Whether the first page of a plan that looks up one primary key
    /// (and has no budget, cancellation token or observer) is read by one
    /// map get instead of a stream (`page/point.rs`). Both give the same
    /// page; `false` forces the stream, for comparing the two.
    pub point_lookups: bool,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            chunk_len: DEFAULT_CHUNK_LEN,
            max_sort_buffer_keys: DEFAULT_MAX_SORT_BUFFER_KEYS,
            channel_capacity: DEFAULT_CHANNEL_CAPACITY,
            max_topk_rows: DEFAULT_MAX_TOPK_ROWS,
            point_lookups: true,
        }
    }
}

/// Everything besides the plan that one page needs.
#[derive(Clone)]
pub struct ExecContext {
    /// The database id that cursors are bound to.
    pub database: [u8; 8],
    /// The keys cursors are signed and checked with.
    pub keys: CursorKeys,
    pub options: ExecOptions,
    /// When set and cancelled, the page stops (`StopReason::Cancelled`).
    pub cancel: Option<CancelToken>,
    /// When set, every shard merge of a page reports to it (rows per shard,
    /// shards finished, rows buffered, backpressure, worker threads).
    pub observer: Option<Arc<dyn MergeObserver>>,
    /// Set for a page of a snapshot traversal: the `seq` of the view it
    /// reads, carried by every cursor it mints (under the MAC) and required
    /// of every cursor it resumes.
    pub snapshot: Option<u64>,
}

impl ExecContext {
    /// A context with default options, no cancellation token and no
    /// observer.
    pub fn new(database: [u8; 8], keys: CursorKeys) -> ExecContext {
        ExecContext {
            database,
            keys,
            options: ExecOptions::default(),
            cancel: None,
            observer: None,
            snapshot: None,
        }
    }

    /// The same context with `cancel` as its cancellation token.
    pub fn with_cancel(mut self, cancel: CancelToken) -> ExecContext {
        self.cancel = Some(cancel);
        self
    }

    /// The same context reporting its shard merges to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn MergeObserver>) -> ExecContext {
        self.observer = Some(observer);
        self
    }
}

impl fmt::Debug for ExecContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecContext")
            .field("database", &self.database)
            .field("keys", &self.keys)
            .field("options", &self.options)
            .field("cancel", &self.cancel)
            .field("observer", &self.observer.as_ref().map(|_| "<observer>"))
            .finish()
    }
}

/// A flag shared between a caller and running pages: once cancelled, every
/// page that holds it stops at its next step, and the worker threads of an
/// unordered shard merge stop before their next row.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
