//! `SELECT COUNT(*)`: a count plan's page is one row, `count`, holding the
//! rows the traversal yields from its start or from the cursor. A count a
//! budget stopped says why (`Page::stop`) and carries a cursor
//! (`Page::next_cursor`) that goes on counting; the counts of the pages of
//! one traversal add up to the whole count. The counting itself is the
//! executor's (`keyset_executor::count_rows`).

use std::sync::Arc;

use keyset_executor::{count_rows, Cursor, ExecContext};
use keyset_plan::Plan;
use keyset_store::Value;

use crate::error::Result;
use crate::page::Page;
use crate::row::Row;

/// The name of the one column of a count's row.
pub const COUNT_COLUMN: &str = "count";

/// Runs one count "page" of a count plan (see [`Plan::is_count`]).
pub(crate) fn count_page(
    view: &keyset_store::ReadView,
    plan: &Plan,
    cursor: Option<&Cursor>,
    ctx: &ExecContext,
) -> Result<Page> {
    let count = count_rows(view, plan, cursor, ctx)?;
    let columns: Arc<[String]> = Arc::from(vec![COUNT_COLUMN.to_owned()]);
    let rows = i64::try_from(count.rows).unwrap_or(i64::MAX);
    Ok(Page {
        rows: vec![Row::new(columns.clone(), vec![Value::Int(rows)])],
        columns,
        next: count.next,
        prev: None,
        stop: count.stop,
        stats: count.stats,
    })
}
