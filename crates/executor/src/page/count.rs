//! COUNT(*): the rows of a plan's traversal counted instead of returned.
//! The count runs the plan's own pages (same access path, filter, shards
//! and cursor checks) in chunks of [`COUNT_CHUNK`] rows over one read view,
//! and spends the plan's budgets across the chunks, so a count stops where
//! a page of the same query would. A count a budget stopped carries the
//! partial count, the reason and a cursor that goes on counting.
//! It never changes how a page is built; it only drives `execute_page`.

use keyset_plan::Plan;
use keyset_store::ReadView;

use crate::context::ExecContext;
use crate::cursor::Cursor;
use crate::error::ExecError;
use crate::page::{execute_page, PageStats};
use crate::stop::StopReason;

/// Rows one internal page of a count holds (memory is O(chunk)).
pub const COUNT_CHUNK: usize = 4096;

/// The result of counting (part of) a traversal.
#[derive(Clone, Debug)]
pub struct Count {
    /// Rows counted by this call (from the cursor on, if one was given).
    pub rows: u64,
    /// `Exhausted` when the traversal ended; otherwise the budget,
    /// deadline or cancellation that stopped the count.
    pub stop: StopReason,
    /// Goes on counting after the last row counted; `None` when exhausted.
    pub next: Option<Cursor>,
    /// What the count cost, summed over its internal pages.
    pub stats: PageStats,
}

/// Counts the rows of `plan`'s traversal over `view`, from its start or
/// from `cursor` (a cursor of the same plan, validated as a page's is).
pub fn count_rows(
    view: &ReadView,
    plan: &Plan,
    cursor: Option<&Cursor>,
    ctx: &ExecContext,
) -> Result<Count, ExecError> {
    let mut chunk = plan.clone();
    chunk.limit = Some(COUNT_CHUNK);
    let mut at = cursor.cloned();
    let mut rows = 0u64;
    let mut stats = PageStats::default();
    loop {
        let spent_keys = remaining(plan.budget.max_examined, stats.keys_examined);
        let spent_bytes = remaining(plan.budget.max_bytes, stats.bytes_fetched);
        chunk.budget.max_examined = spent_keys.left;
        chunk.budget.max_bytes = spent_bytes.left;
        let stop_before = if spent_keys.exhausted {
            Some(StopReason::ScanBudget)
        } else if spent_bytes.exhausted {
            Some(StopReason::ByteBudget)
        } else {
            None
        };
        if let (Some(stop), Some(_)) = (stop_before, at.as_ref()) {
            return Ok(Count {
                rows,
                stop,
                next: at,
                stats,
            });
        }
        let page = execute_page(view, &chunk, at.as_ref(), ctx)?;
        rows += page.rows.len() as u64;
        add(&mut stats, &page.stats);
        match (page.stop, page.next) {
            (StopReason::Limit, Some(next)) => at = Some(next),
            (StopReason::Limit, None) | (StopReason::Exhausted, _) => {
                return Ok(Count {
                    rows,
                    stop: StopReason::Exhausted,
                    next: None,
                    stats,
                })
            }
            (stop, next) => {
                return Ok(Count {
                    rows,
                    stop,
                    next,
                    stats,
                })
            }
        }
    }
}

/// What is left of one budget.
struct Left {
    left: Option<u64>,
    exhausted: bool,
}

fn remaining(budget: Option<u64>, spent: u64) -> Left {
    match budget {
        None => Left {
            left: None,
            exhausted: false,
        },
        Some(max) => Left {
            left: Some(max.saturating_sub(spent)),
            exhausted: spent >= max,
        },
    }
}

fn add(total: &mut PageStats, page: &PageStats) {
    total.keys_examined += page.keys_examined;
    total.rows_fetched += page.rows_fetched;
    total.rows_filtered += page.rows_filtered;
    total.bytes_fetched += page.bytes_fetched;
    total.peak_buffered = total.peak_buffered.max(page.peak_buffered);
}
