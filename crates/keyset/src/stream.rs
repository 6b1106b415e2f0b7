//! `RowStream`: every row of a query as an iterator, fetched one page at a
//! time through cursors, so memory stays bounded by the page size.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use keyset_executor::Cursor;
use keyset_plan::Plan;

use crate::db::{projected_columns, Db};
use crate::error::Result;
use crate::row::Row;

/// Page size of a stream whose query has no LIMIT.
pub const DEFAULT_STREAM_PAGE: usize = 256;

/// The rows of a query, page by page. Yields `Err` once and then ends if a
/// page fails.
pub struct RowStream {
    db: Db,
    plan: Plan,
    /// The projected column names, built once for every page.
    columns: Arc<[String]>,
    buffer: VecDeque<Row>,
    next: Option<Cursor>,
    started: bool,
    failed: bool,
    pages: u64,
}

impl fmt::Debug for RowStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowStream")
            .field("table", &self.plan.table.name)
            .field("buffered", &self.buffer.len())
            .field("pages", &self.pages)
            .finish()
    }
}

impl RowStream {
    pub(crate) fn new(db: Db, plan: Plan) -> RowStream {
        RowStream {
            db,
            columns: projected_columns(&plan),
            plan,
            buffer: VecDeque::new(),
            next: None,
            started: false,
            failed: false,
            pages: 0,
        }
    }

    /// Pages fetched so far.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Rows held in memory right now (at most one page).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    fn fetch(&mut self) -> Result<()> {
        let page = self.db.page_projected(
            &self.plan,
            self.next.as_ref(),
            self.db.exec_context(),
            self.columns.clone(),
        )?;
        self.started = true;
        self.pages += 1;
        self.next = page.next;
        self.buffer.extend(page.rows);
        Ok(())
    }
}

impl Iterator for RowStream {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        loop {
            if let Some(row) = self.buffer.pop_front() {
                return Some(Ok(row));
            }
            if self.failed || (self.started && self.next.is_none()) {
                return None;
            }
            if let Err(e) = self.fetch() {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_of_a_stream_shares_one_list_of_column_names() {
        let db = Db::memory().expect("memory db");
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
            .expect("create");
        db.execute("INSERT INTO t VALUES (1, 10), (2, 20), (3, 30), (4, 40), (5, 50)")
            .expect("insert");
        let mut stream = db
            .stream("SELECT v, id FROM t ORDER BY id LIMIT 2")
            .expect("stream");
        let rows: Vec<Row> = stream.by_ref().collect::<Result<_>>().expect("rows");
        assert_eq!(stream.pages(), 3);
        let values: Vec<i64> = rows
            .iter()
            .map(|r| r.get::<i64>("v"))
            .collect::<Result<_>>()
            .expect("v");
        assert_eq!(values, vec![10, 20, 30, 40, 50]);
        for row in &rows {
            assert_eq!(row.columns(), ["v", "id"]);
            assert!(std::ptr::eq(
                row.columns().as_ptr(),
                stream.columns.as_ptr()
            ));
        }
    }
}
