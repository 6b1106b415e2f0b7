//! A page of results as the application sees it: projected rows, the
//! cursors to the next and previous pages, why the page ended and what it
//! cost.

use std::sync::Arc;

use keyset_executor::{Cursor, PageStats, StopReason};

use crate::row::Row;

/// One page of a query.
#[derive(Clone, Debug)]
pub struct Page {
    pub(crate) columns: Arc<[String]>,
    pub(crate) rows: Vec<Row>,
    pub(crate) next: Option<Cursor>,
    pub(crate) prev: Option<Cursor>,
    pub(crate) stop: StopReason,
    pub(crate) stats: PageStats,
}

impl Page {
    /// The rows, in the query's order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Consumes the page, returning its rows.
    pub fn into_rows(self) -> Vec<Row> {
        self.rows
    }

    /// The projected column names.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The cursor of the page after this one; `None` when nothing follows.
    /// Pass it back with the same query to continue.
    pub fn next_cursor(&self) -> Option<&Cursor> {
        self.next.as_ref()
    }

    /// The cursor of the page before this one; `None` on the first page.
    pub fn prev_cursor(&self) -> Option<&Cursor> {
        self.prev.as_ref()
    }

    /// Why the page ended: full (`Limit`), nothing left (`Exhausted`), or a
    /// budget (`ScanBudget`, `ByteBudget`, `Deadline`, `Cancelled`). A page a
    /// budget stopped may be short, even empty, and still has a next cursor.
    pub fn stop(&self) -> StopReason {
        self.stop
    }

    /// What the page cost: keys examined, rows fetched and filtered out.
    pub fn stats(&self) -> &PageStats {
        &self.stats
    }
}
