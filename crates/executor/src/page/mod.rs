//! Pages: `execute_page` runs one page of a plan, from its first row or
//! from a cursor, in the phase order of DESIGN.md section 5, and returns the
//! rows with their `next`/`prev` cursors, the reason the page stopped and
//! what it cost. Streaming plans are materialized in `streaming.rs`, plans
//! merged unordered across shards (shard-frontier cursors) in
//! `frontier.rs`, top-k plans in `crate::page::topk`, first pages of a one-key
//! plan by a single lookup in `point.rs`; `cursors.rs` turns stream
//! positions into tokens. A budget may stop any phase of any page; the
//! page then says why and carries a cursor that resumes where it stopped.

mod count;
mod frontier;
mod point;
mod streaming;
mod topk;

use bytes::Bytes;
use keyset_plan::{CursorKind, OrderStrategy, Plan};
use keyset_store::{Direction, ReadView, Row, RowRef, TableView, Value};

use crate::context::ExecContext;
use crate::cursor::{open_cursor, Cursor, CursorError};
use crate::error::ExecError;
use crate::stop::StopReason;

/// Most primary keys one sort buffer's progress carries in a cursor (the
/// token's size limit may cut them further).
pub(crate) const MAX_CARRIED_KEYS: usize = 256;

pub use count::{count_rows, Count, COUNT_CHUNK};
pub use point::{point_lookup, PointRead};

/// What one page cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageStats {
    /// Keys read from the maps (index entries, data entries, point
    /// lookups), read-ahead included.
    pub keys_examined: u64,
    /// Rows looked at (each re-checked against the whole filter).
    pub rows_fetched: u64,
    /// Rows of those that the filter rejected.
    pub rows_filtered: u64,
    /// Encoded bytes of the rows fetched (`Row::encoded_len`), counted
    /// only when the query sets `max_bytes` (0 otherwise: measuring a row
    /// costs a walk over its values).
    pub bytes_fetched: u64,
    /// The most keys or rows held in a buffer at once (sort buffers, the
    /// top-k heap).
    pub peak_buffered: usize,
}

/// One page of a query.
#[derive(Clone, Debug)]
pub struct Page {
    /// The rows, in the query's order, whole (see [`Page::projected`]); in
    /// arrival order for a plan merged unordered across shards.
    pub rows: Vec<RowRef>,
    /// Resumes after the last row; `None` when nothing follows.
    pub next: Option<Cursor>,
    /// Returns the rows before the first row (in the query's order).
    /// Always `None` for a plan merged unordered across shards: it promises
    /// no order, so there is no previous page.
    pub prev: Option<Cursor>,
    pub stop: StopReason,
    pub stats: PageStats,
    /// The columns each returned row carries (the plan's projection).
    pub columns: Vec<usize>,
}

impl Page {
    pub(crate) fn empty(plan: &Plan, stop: StopReason) -> Page {
        Page {
            rows: Vec::new(),
            next: None,
            prev: None,
            stop,
            stats: PageStats::default(),
            columns: plan.projection.clone(),
        }
    }

    /// The projected values of one row.
    pub fn project(&self, row: &Row) -> Vec<Value> {
        self.columns
            .iter()
            .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
            .collect()
    }

    /// The rows with only the projected columns.
    pub fn projected(&self) -> Vec<Vec<Value>> {
        self.rows.iter().map(|row| self.project(row)).collect()
    }
}

/// Runs one page of `plan` over `view`: the first page when `cursor` is
/// `None`, otherwise the page the cursor points to (after validating it
/// with every check of DESIGN.md section 6).
pub fn execute_page(
    view: &ReadView,
    plan: &Plan,
    cursor: Option<&Cursor>,
    ctx: &ExecContext,
) -> Result<Page, ExecError> {
    let table = &current_table(view, plan)?;
    if cursor.is_none() {
        if let Some(page) = point::point_page(table, plan, ctx) {
            return Ok(page);
        }
    }
    let resume = cursor
        .map(|c| open_cursor(c, &ctx.keys, ctx.database, plan))
        .transpose()?;
    if let Some(state) = &resume {
        check_consistency(state.snapshot, ctx.snapshot)?;
    }
    match plan.strategy {
        OrderStrategy::Stream(direction) if plan.cursor_kind == CursorKind::ShardFrontier => {
            frontier::frontier_page(table, plan, direction, resume.as_ref(), ctx)
        }
        OrderStrategy::Stream(direction) => {
            streaming::stream_page(table, plan, direction, resume.as_ref(), ctx)
        }
        OrderStrategy::TopK => topk::topk_page(table, plan, resume.as_ref(), ctx),
    }
}

/// A snapshot traversal's cursor resumes only a snapshot page at its own
/// `seq`, and a live cursor only a live page.
pub fn check_consistency(cursor: Option<u64>, page: Option<u64>) -> Result<(), CursorError> {
    match (cursor, page) {
        (None, None) => Ok(()),
        (Some(c), Some(p)) if c == p => Ok(()),
        (Some(c), Some(p)) => Err(CursorError::SnapshotMismatch { cursor: c, page: p }),
        (Some(_), None) => Err(CursorError::SnapshotOnLive),
        (None, Some(_)) => Err(CursorError::LiveOnSnapshot),
    }
}

/// The table the plan was made for, as the view holds it now.
fn current_table(view: &ReadView, plan: &Plan) -> Result<TableView, ExecError> {
    let planned = &plan.table;
    let table = view
        .table_by_id(planned.id)
        .ok_or_else(|| ExecError::TableGone {
            table: planned.name.clone(),
        })?;
    let current = table.def();
    if current.generation != planned.generation || current.name != planned.name {
        return Err(ExecError::SchemaChanged {
            table: planned.name.clone(),
            planned: planned.generation,
            current: current.generation,
        });
    }
    Ok(table)
}

/// Strict advancement (DESIGN.md section 6): whatever `what` (a page, a
/// top-k pass) consumed first lies strictly past the position it resumed
/// from, in `direction`. A failure is a bug in the executor, never in the
/// caller's cursor (that was validated before).
pub(crate) fn check_advance(
    what: &str,
    direction: Direction,
    anchor: Option<&Bytes>,
    consumed: Option<&Bytes>,
) -> Result<(), ExecError> {
    match (anchor, consumed) {
        (Some(anchor), Some(consumed)) if !direction.precedes(&anchor[..], &consumed[..]) => {
            Err(ExecError::internal(format!(
                "{what} resumed after {} consumed {}, which is not past it",
                keyset_store::key::hex(anchor),
                keyset_store::key::hex(consumed)
            )))
        }
        _ => Ok(()),
    }
}
