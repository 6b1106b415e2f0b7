//! A page of results as the application sees it: projected rows, the
//! cursors to the next and previous pages, why the page ended and what it
//! cost.

use std::sync::Arc;

use keyset_executor::{Cursor, PageStats, StopReason};

use crate::row::Row;

/// One page of a query.
///
/// ```
/// use keyset::StopReason;
/// let db = keyset::Db::memory()?;
/// db.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")?;
/// db.execute("INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)")?;
/// let page = db.query("SELECT v FROM t ORDER BY id LIMIT 2", None)?;
/// assert_eq!(page.columns(), ["v"]);
/// assert_eq!(page.len(), 2);
/// assert_eq!(page.stop(), StopReason::Limit);
/// assert!(page.prev_cursor().is_none()); // the first page
/// let last = db.query("SELECT v FROM t ORDER BY id LIMIT 2", page.next_cursor())?;
/// assert_eq!(last.stop(), StopReason::Exhausted);
/// assert!(last.next_cursor().is_none() && last.prev_cursor().is_some());
/// assert!(last.stats().keys_examined >= 1);
/// # Ok::<(), keyset::Error>(())
/// ```
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

    /// How many rows the page holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the page holds no row (a budget may stop a page early,
    /// even before its first row; check [`Page::stop`]).
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
