//! What a caller hands the executor besides the plan: the database's cursor
//! identity and MAC keys, tuning options and an optional cancellation token.
//! Nothing here holds the state of a traversal; that lives in the cursor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cursor::CursorKeys;

/// Largest chunk a leaf reads from a map at once, by default.
pub const DEFAULT_CHUNK_LEN: usize = 256;
/// Most keys a sort buffer may hold, by default.
pub const DEFAULT_MAX_SORT_BUFFER_KEYS: usize = 1 << 20;

/// Tuning of the executor. Neither option changes a result, only how much
/// memory and read-ahead a page may use (or, past `max_sort_buffer_keys`,
/// whether a page can be produced at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOptions {
    /// Largest chunk of keys a leaf reads from a map at once. A leaf starts
    /// with a chunk of about `offset + limit + 1` keys and doubles up to this.
    pub chunk_len: usize,
    /// Most keys a composite child that is not in primary-key order may
    /// buffer to be sorted (`ExecError::SortBufferExceeded` past it).
    pub max_sort_buffer_keys: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            chunk_len: DEFAULT_CHUNK_LEN,
            max_sort_buffer_keys: DEFAULT_MAX_SORT_BUFFER_KEYS,
        }
    }
}

/// Everything besides the plan that one page needs.
#[derive(Clone, Debug)]
pub struct ExecContext {
    /// The database id that cursors are bound to.
    pub database: [u8; 8],
    /// The keys cursors are signed and checked with.
    pub keys: CursorKeys,
    pub options: ExecOptions,
    /// When set and cancelled, the page stops (`StopReason::Cancelled`).
    pub cancel: Option<CancelToken>,
}

impl ExecContext {
    /// A context with default options and no cancellation token.
    pub fn new(database: [u8; 8], keys: CursorKeys) -> ExecContext {
        ExecContext {
            database,
            keys,
            options: ExecOptions::default(),
            cancel: None,
        }
    }
}

/// A flag shared between a caller and running pages: once cancelled, every
/// page that holds it stops at its next step.
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
