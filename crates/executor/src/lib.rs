//! keyset-executor: runs a [`keyset_plan::Plan`] one page at a time.
//!
//! `stream/` yields keys in strict order and never decides what a page is;
//! `page/` (with `page/topk/`) applies the phase order of DESIGN.md section
//! 5, budgets and `next`/`prev` cursors; `cursor/` owns the token, its
//! validation and its minting from stream positions; `stop.rs` says why a
//! page ended. Dependencies run one way: `stop`, then `stream`, then
//! `cursor`'s minting, then `page`. Nothing here writes to the store or
//! plans a query.

pub mod context;
pub mod cursor;
pub mod error;
pub mod observer;
pub mod page;
pub mod stop;
pub mod stream;

pub use context::{CancelToken, ExecContext, ExecOptions};
pub use cursor::{
    open_cursor, Anchor, Cursor, CursorError, CursorKeys, CursorState, MacKey, ShardPosition,
    SortedPass, SortedRow, MAX_CURSOR_BYTES,
};
pub use error::ExecError;
pub use observer::{CountingObserver, MergeObserver, ShardFinish};
pub use page::{
    count_rows, execute_page, point_lookup, Count, Page, PageStats, PointRead, COUNT_CHUNK,
};
pub use stop::StopReason;
pub use stream::{KeyItem, OrderedKeyStream, Step};
