//! Materializes one page of a streaming plan in the phase order of
//! DESIGN.md section 5: build the ordered stream, narrow it strictly past
//! the anchor, skip the offset (first page only), take `limit` rows that
//! pass the whole filter, then look ahead for one more passing row without
//! consuming it. Backward pages run the same phases in the reverse
//! direction and hand their rows back in the query's order. A budget may
//! stop any phase, the skipping of OFFSET rows included: the cursor then
//! carries the OFFSET rows still to skip. A budget that cuts the
//! collection of a sort-buffered child before the page consumed anything
//! leaves the buffers' progress in the cursor instead (see
//! `crate::stream::sorted_buffer`).

use std::sync::Arc;

use bytes::Bytes;
use keyset_plan::Plan;
use keyset_store::{Direction, RowRef, TableView};

use super::{check_advance, Page, PageStats};
use crate::context::ExecContext;
use crate::cursor::{Cursor, CursorState, Minter, Start};
use crate::error::ExecError;
use crate::stop::StopReason;
use crate::stream::budget::{Meter, PageBudget};
use crate::stream::build::{CollectionAnchors, KeySpace, StreamBuilder};
use crate::stream::map_range::Chunking;
use crate::stream::sorted_buffer::{BufferProgress, CollectionLog, COLLECTING};
use crate::stream::{OrderedKeyStream, Step};

/// What the take phase consumed.
#[derive(Debug)]
struct Run {
    rows: Vec<RowRef>,
    /// Stream positions of the first and last row taken (traversal order).
    first: Option<Bytes>,
    last: Option<Bytes>,
    /// The last position consumed: a row taken or skipped, a key the filter
    /// rejected, or a `Passed` position. Never the look-ahead row.
    consumed: Consumed,
    /// OFFSET rows still to skip when a budget stopped the page.
    skip_left: usize,
    stop: StopReason,
    stats: PageStats,
}

/// The last position a page consumed, without cloning the key of every
/// row taken (that position is `Run::last` then).
#[derive(Debug)]
enum Consumed {
    Nothing,
    LastRow,
    Position(Bytes),
}

impl Run {
    fn consumed(&self) -> Option<&Bytes> {
        match &self.consumed {
            Consumed::Nothing => None,
            Consumed::LastRow => self.last.as_ref(),
            Consumed::Position(position) => Some(position),
        }
    }

    /// Whether rows may follow the page: the look-ahead found one, or a
    /// budget stopped the page before it could know.
    fn more(&self) -> bool {
        self.stop != StopReason::Exhausted
    }
}

/// One page of a plan whose order the access path gives (`Stream(direction)`).
pub(super) fn stream_page(
    table: &TableView,
    plan: &Plan,
    direction: Direction,
    resume: Option<&CursorState>,
    ctx: &ExecContext,
) -> Result<Page, ExecError> {
    let space = KeySpace::of(plan)?;
    let minter = Minter::new(plan, ctx, space, table);
    let first_page = resume.is_none();
    let backward = resume.is_some_and(|r| r.backward);
    if plan.limit == Some(0) {
        return Ok(Page::empty(plan, StopReason::Limit));
    }
    let (start, offset) = match resume {
        None => (Start::Beginning, plan.offset),
        Some(state) => minter.start(state)?,
    };
    let anchor = match start {
        Start::Beginning => None,
        Start::After(position) => Some(position),
    };
    let traverse = if backward {
        direction.reverse()
    } else {
        direction
    };
    let meter = Arc::new(Meter::new(plan.budget.max_examined));
    let wanted = plan
        .limit
        .map_or(usize::MAX, |l| offset.saturating_add(l).saturating_add(1));
    let carried = match resume {
        Some(state) => minter.carried(state)?,
        None => Default::default(),
    };
    let log = CollectionLog::new(wanted.min(super::MAX_CARRIED_KEYS));
    let builder = StreamBuilder::new(
        table,
        plan,
        ctx,
        traverse,
        Chunking::new(wanted, ctx.options.chunk_len),
        meter.clone(),
    )
    .cut_collections(
        log.clone(),
        CollectionAnchors::Page(anchor.clone()),
        carried,
    );
    let mut root = builder.root(space)?;
    builder.check_resumed()?;
    if let Some(anchor) = &anchor {
        root.seek(anchor, false)?;
    }
    let mut budget = PageBudget::new(plan.budget, ctx.cancel.clone());
    let mut run = take_rows(root.as_mut(), plan, offset, &mut budget, &meter, &log)?;
    builder.tracker().close(run.stop);
    check_advance("a page", traverse, anchor.as_ref(), run.consumed())?;

    // A budget stop hands the sort buffers' progress on, relative to the
    // last position consumed (or the page's anchor).
    let carried = if run.stop.is_budget() {
        let at = run.consumed().or(anchor.as_ref()).cloned();
        let (carried, left_out) = log.carry_at(traverse, |_| Some(at.clone()));
        // A buffer left out collected a second time, yielding its carried
        // keys to an eager drain, which consumed nothing: resuming would
        // do the same again, so the page fails as an eager drain does.
        // (A budget stop that consumed nothing is a collection cut.)
        if run.consumed().is_none() && !left_out.is_empty() {
            return Err(ExecError::Interrupted {
                reason: run.stop,
                phase: COLLECTING,
            });
        }
        carried
    } else {
        Vec::new()
    };
    let (next, prev) = adjacent_cursors(
        &minter,
        &run,
        backward,
        first_page,
        anchor.as_ref(),
        carried,
    )?;
    if backward {
        run.rows.reverse();
    }
    Ok(Page {
        rows: run.rows,
        next,
        prev,
        stop: run.stop,
        stats: run.stats,
        columns: plan.projection.clone(),
    })
}

/// The `next` and `prev` cursors of a page that started after `anchor` and
/// consumed `run`; the onward one carries the sort buffers' progress
/// `carried`, if any.
fn adjacent_cursors(
    minter: &Minter<'_>,
    run: &Run,
    backward: bool,
    first_page: bool,
    anchor: Option<&Bytes>,
    carried: Vec<(u64, BufferProgress)>,
) -> Result<(Option<Cursor>, Option<Cursor>), ExecError> {
    let stopped_by_budget = run.stop.is_budget();
    // Onward (in the traversal's direction): after the last row, or after
    // the last key consumed when a budget cut the page (it may have consumed
    // keys past the last row; a page cut while its sort buffers collected
    // consumed nothing and resumes after its own anchor).
    let onward = if stopped_by_budget {
        run.consumed().or(anchor)
    } else {
        run.last.as_ref()
    };
    let onward = match (run.more(), onward) {
        (true, at) if !carried.is_empty() => {
            Some(minter.collecting(backward, at, run.skip_left, carried)?)
        }
        (true, Some(at)) => Some(minter.at_position(backward, at, run.skip_left)?),
        (true, None) => {
            return Err(ExecError::internal(
                "a page that may be followed by more rows consumed nothing",
            ))
        }
        (false, _) => None,
    };
    // Back (against the traversal): before the first row taken, or, for an
    // empty page a budget cut, before the position it reached. The first
    // page of a forward traversal has nothing before it.
    let back = run.first.as_ref().or(if stopped_by_budget {
        run.consumed()
    } else {
        None
    });
    let back = match back {
        Some(at) if backward || !first_page => Some(minter.at_position(!backward, at, 0)?),
        _ => None,
    };
    // A backward traversal's onward cursor is the query's `prev`.
    Ok(if backward {
        (back, onward)
    } else {
        (onward, back)
    })
}

/// The skip, take and look-ahead phases over a stream already narrowed past
/// the anchor.
fn take_rows(
    root: &mut dyn OrderedKeyStream,
    plan: &Plan,
    offset: usize,
    budget: &mut PageBudget,
    meter: &Meter,
    log: &CollectionLog,
) -> Result<Run, ExecError> {
    let limit = plan.limit;
    let mut run = Run {
        rows: Vec::with_capacity(limit.unwrap_or(0).min(1024)),
        first: None,
        last: None,
        consumed: Consumed::Nothing,
        skip_left: 0,
        stop: StopReason::Exhausted,
        stats: PageStats::default(),
    };
    let mut skip = offset;
    let counts_bytes = budget.counts_bytes();
    let mut stepped = false;
    loop {
        if stepped {
            if let Some(reason) =
                budget.exceeded(meter, run.stats.bytes_fetched, || root.buffered())
            {
                // Also while skipping OFFSET rows: the cursor carries the
                // rows still to skip.
                run.stop = reason;
                run.skip_left = skip;
                break;
            }
        }
        let step = match root.next_key() {
            Ok(step) => step,
            // A budget cut a sort buffer's collection: the page stops as
            // any budget stops it, or, having consumed nothing, with the
            // buffers' progress.
            Err(error) => {
                let reason = log.cut_by(&error).ok_or(error)?;
                run.stop = reason;
                run.skip_left = skip;
                break;
            }
        };
        let Some(step) = step else {
            run.stop = StopReason::Exhausted;
            break;
        };
        stepped = true;
        let item = match step {
            Step::Passed(position) => {
                run.consumed = Consumed::Position(position);
                continue;
            }
            Step::Key(item) => item,
        };
        run.stats.rows_fetched += 1;
        if counts_bytes {
            run.stats.bytes_fetched += item.row.encoded_len() as u64;
        }
        if !plan.accepts(item.row.values()) {
            run.stats.rows_filtered += 1;
            run.consumed = Consumed::Position(item.key);
            continue;
        }
        if limit.is_some_and(|l| run.rows.len() >= l) {
            // The look-ahead row: proof that more rows follow. Not consumed.
            run.stop = StopReason::Limit;
            break;
        }
        if skip > 0 {
            skip -= 1;
            run.consumed = Consumed::Position(item.key);
            continue;
        }
        if run.first.is_none() {
            run.first = Some(item.key.clone());
        }
        run.last = Some(item.key);
        run.consumed = Consumed::LastRow;
        run.rows.push(item.row);
    }
    run.stats.keys_examined = meter.examined();
    run.stats.peak_buffered = meter.peak_buffered();
    Ok(run)
}
