//! Top-k pages, for an ORDER BY no access path provides: one pass over the
//! access path keeping a bounded buffer of the best `offset + limit + 1`
//! rows strictly after the anchor in the full order key. Memory is O(page),
//! never the whole result. A budget, the deadline or a cancellation may cut
//! a pass: the page then returns the rows it has and its cursor carries the
//! pass (`Anchor::SortedPass`), so the next page continues it instead of
//! starting again (`docs/pagination.md`, "Budgets on top-k pages"). It
//! never writes to the store; `pass.rs` reads, `emit.rs` makes the page.

mod best;
mod emit;
mod order;
mod pass;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use keyset_plan::Plan;
use keyset_store::TableView;

use self::best::{BestRows, Kept};
use self::emit::{Emitter, PassCut, Taken};
use self::order::{Entry, SortOrder};
use self::pass::{PassEnd, PassFrom, PassReader};
use crate::context::ExecContext;
use crate::cursor::{countable, Minter};
use crate::cursor::{Anchor, CursorState, SortedRow};
use crate::error::ExecError;
use crate::page::{Page, PageStats};
use crate::stop::StopReason;
use crate::stream::budget::{Meter, PageBudget};
use crate::stream::build::KeySpace;
use crate::stream::sorted_buffer::BufferProgress;

/// Rows a pass keeps at least (besides the OFFSET rows) when the query has
/// a budget: a pass that a budget spreads over several pages then finds
/// the rows of several pages at once, and its cursor carries them on (in
/// whole pages, as many as fit in a token), so the pages after it need no
/// pass of their own.
const BUDGETED_PASS_ROWS: usize = 64;

/// Where the rows of a page come from next.
#[derive(Debug)]
enum Source {
    /// A pass over the access path: from its start, or strictly after a
    /// stream position where an earlier page's pass stopped.
    Pass(Option<Bytes>),
    /// The rows a finished pass knows to come next (the carried rows).
    Known,
}

/// The state a page starts from (and reaches when it needs a new pass).
#[derive(Debug)]
struct PassState {
    /// Rows at or before this one are done.
    after: Option<SortedRow>,
    source: Source,
    /// The best rows an earlier page's pass met, in order, and whether
    /// that pass met rows after them.
    carried: Vec<SortedRow>,
    more: bool,
    offset_left: usize,
    /// Whether the pass or its rows came from an earlier page: the rows it
    /// finds beyond this page are then carried on.
    carried_over: bool,
    /// Where the pass's sort buffers start (an earlier page's budget cut
    /// their collection), by ordinal.
    buffers: BTreeMap<u64, BufferProgress>,
}

impl PassState {
    /// A new pass after `after`.
    fn fresh(after: Option<SortedRow>, offset_left: usize) -> PassState {
        PassState {
            after,
            source: Source::Pass(None),
            carried: Vec::new(),
            more: false,
            offset_left,
            carried_over: false,
            buffers: BTreeMap::new(),
        }
    }

    fn of(
        plan: &Plan,
        resume: Option<&CursorState>,
        minter: &Minter<'_>,
    ) -> Result<PassState, ExecError> {
        Ok(match resume.map(|r| &r.anchor) {
            None => PassState::fresh(None, plan.offset),
            Some(Anchor::Sorted { values, key }) => PassState::fresh(
                Some(SortedRow {
                    values: values.clone(),
                    key: key.clone(),
                }),
                0,
            ),
            Some(Anchor::SortedPass(pass)) => {
                let offset_left = countable(pass.offset_left)?;
                let source = match &pass.scan {
                    Some(scan) => Source::Pass(Some(minter.position(scan)?)),
                    None if !pass.collecting.is_empty() => Source::Pass(None),
                    None if pass.best.is_empty() => {
                        return Ok(PassState::fresh(pass.after.clone(), offset_left))
                    }
                    None => Source::Known,
                };
                PassState {
                    after: pass.after.clone(),
                    source,
                    carried: pass.best.clone(),
                    more: pass.more,
                    offset_left,
                    carried_over: true,
                    buffers: minter.buffer_progress(&pass.collecting)?,
                }
            }
            Some(_) => {
                return Err(ExecError::internal(
                    "a top-k page got a cursor that is not a sorted anchor",
                ))
            }
        })
    }
}

/// One page of a top-k plan.
pub(crate) fn topk_page(
    table: &TableView,
    plan: &Plan,
    resume: Option<&CursorState>,
    ctx: &ExecContext,
) -> Result<Page, ExecError> {
    let space = KeySpace::of(plan)?;
    let minter = Minter::new(plan, ctx, space, table);
    if plan.limit == Some(0) {
        return Ok(Page::empty(plan, StopReason::Limit));
    }
    if let Some(limit) = plan.limit {
        let rows = plan.offset.saturating_add(limit).saturating_add(1);
        if rows > ctx.options.max_topk_rows {
            return Err(ExecError::TopKTooLarge {
                rows,
                max: ctx.options.max_topk_rows,
            });
        }
    }
    let backward = resume.is_some_and(|r| r.backward);
    let mut state = PassState::of(plan, resume, &minter)?;
    let order = SortOrder {
        terms: &plan.order,
        table,
        reversed: backward,
    };
    let mut page = Emitter {
        minter: &minter,
        plan,
        order: &order,
        backward,
        first_page: state.after.is_none(),
        rows: Vec::new(),
    };
    let mut reader = PassReader {
        table,
        plan,
        ctx,
        space,
        order: &order,
        meter: Arc::new(Meter::new(plan.budget.max_examined)),
        budget: PageBudget::new(plan.budget, ctx.cancel.clone()),
        stats: PageStats::default(),
    };
    let budget = &plan.budget;
    let at_least =
        if budget.max_examined.is_some() || budget.max_bytes.is_some() || budget.deadline.is_some()
        {
            BUDGETED_PASS_ROWS
        } else {
            0
        };
    let mut progressed = false;
    loop {
        let kept = match &state.source {
            Source::Known => known_rows(&state, &order),
            Source::Pass(scan) => {
                let keep = plan.limit.map(|_| {
                    let wanted = page.room().saturating_add(1).max(at_least);
                    state.offset_left.saturating_add(wanted)
                });
                let end = reader.run(PassFrom {
                    after: state.after.as_ref(),
                    scan: scan.as_ref(),
                    carried: &state.carried,
                    more: state.more,
                    keep,
                    progressed,
                    resume: std::mem::take(&mut state.buffers),
                })?;
                match end {
                    PassEnd::Finished(kept) => kept,
                    PassEnd::Cut {
                        reason,
                        at,
                        kept,
                        collecting,
                    } => {
                        let at = at.map(|at| minter.anchor_key(&at));
                        let collecting = minter.carried_buffers(collecting);
                        let cut = PassCut {
                            at,
                            kept,
                            collecting,
                        };
                        return page.cut(state.after, cut, state.offset_left, reason, reader);
                    }
                }
            }
        };
        progressed = true;
        match page.take(kept, &mut state.offset_left, &mut reader)? {
            Taken::End => return page.end(reader),
            Taken::Full {
                last,
                rest,
                dropped,
            } => return page.full(last, rest, dropped, state.carried_over, reader),
            // The rows the pass kept ran out before the page was full: a
            // new pass after the last of them, under what is left of the
            // page's budget.
            Taken::More { last } => {
                state = PassState::fresh(Some(order.carried_entry(&last)), state.offset_left);
            }
        }
    }
}

/// The buffer of a page that starts from the rows a finished pass knows.
fn known_rows(state: &PassState, order: &SortOrder<'_>) -> Kept {
    let mut best = BestRows::new(None);
    let carried = state.carried.iter().cloned().map(Entry::Carried).collect();
    best.carry(carried, state.more, order);
    best.finish(order)
}
