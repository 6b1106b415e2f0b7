//! Pages of an unordered shard merge (plans whose cursor kind is
//! `ShardFrontier`). The shards' streams run on worker threads
//! (`crate::stream::unordered`) and the page takes rows in arrival order,
//! recording for each shard the last position it consumed; its `next`
//! cursor is that frontier, so resuming continues every shard strictly
//! after its own position. The phases are an ordered page's (skip the
//! offset once, take `limit` passing rows, look ahead for one more without
//! consuming it). An unordered merge promises no order, so it has no
//! previous page: its pages carry no `prev` cursor. A budget that cuts a
//! sort buffer's collection stops the page like any budget; the cursor
//! also carries the progress of the buffers of every shard the page
//! consumed nothing of (see `crate::stream::sorted_buffer`).

use std::collections::BTreeMap;
use std::sync::Arc;

use keyset_plan::Plan;
use keyset_store::{Direction, RowRef, TableView};

use super::{Page, PageStats};
use crate::context::ExecContext;
use crate::cursor::Minter;
use crate::cursor::{CursorError, CursorState, ShardPosition};
use crate::error::ExecError;
use crate::stop::StopReason;
use crate::stream::budget::{Meter, PageBudget};
use crate::stream::build::{CollectionAnchors, KeySpace, StreamBuilder};
use crate::stream::map_range::Chunking;
use crate::stream::sorted_buffer::CollectionLog;
use crate::stream::unordered::{Arrival, UnorderedMerge};
use crate::stream::Step;

/// What the take phase consumed.
#[derive(Debug)]
struct Run {
    rows: Vec<RowRef>,
    /// OFFSET rows still to skip when a budget stopped the page.
    skip_left: usize,
    stop: StopReason,
    stats: PageStats,
}

/// The position of every shard the plan reads, and where each started.
#[derive(Debug)]
struct Frontier {
    direction: Direction,
    start: Vec<ShardPosition>,
    now: Vec<ShardPosition>,
    /// The frontier slot of each input of the merge (the open shards).
    open: Vec<usize>,
}

impl Frontier {
    fn slot(&self, input: usize) -> Result<usize, ExecError> {
        self.open.get(input).copied().ok_or_else(|| {
            ExecError::internal(format!(
                "an unordered merge reported an unknown input {input}"
            ))
        })
    }

    /// Input `input` consumed the step at `position`: the shard resumes
    /// after it. Checks strict advancement past where the shard started.
    fn consume(&mut self, input: usize, position: bytes::Bytes) -> Result<(), ExecError> {
        let slot = self.slot(input)?;
        if let Some(ShardPosition::After(start)) = self.start.get(slot) {
            if !self.direction.precedes(&start[..], &position[..]) {
                return Err(ExecError::internal(format!(
                    "shard input {input} resumed after {} consumed {}, which is not past it",
                    keyset_store::key::hex(start),
                    keyset_store::key::hex(&position)
                )));
            }
        }
        self.now[slot] = ShardPosition::After(position);
        Ok(())
    }

    fn finish(&mut self, input: usize) -> Result<(), ExecError> {
        let slot = self.slot(input)?;
        self.now[slot] = ShardPosition::Finished;
        Ok(())
    }
}

/// One page of a streaming plan merged unordered across its shards.
pub(super) fn frontier_page(
    table: &TableView,
    plan: &Plan,
    direction: Direction,
    resume: Option<&CursorState>,
    ctx: &ExecContext,
) -> Result<Page, ExecError> {
    let space = KeySpace::of(plan)?;
    let minter = Minter::new(plan, ctx, space, table);
    if resume.is_some_and(|r| r.backward) {
        return Err(ExecError::InvalidCursor(CursorError::Malformed {
            reason: "it pages backward through an unordered shard merge, which promises no \
                     order and so has no previous page"
                .into(),
        }));
    }
    if plan.limit == Some(0) {
        return Ok(Page::empty(plan, StopReason::Limit));
    }
    let shards = plan.shards.resolve(table.shards().len());
    let (start, offset) = match resume {
        None => (vec![ShardPosition::NotStarted; shards.len()], plan.offset),
        Some(state) => minter.frontier_start(state)?,
    };
    let open: Vec<usize> = (0..start.len())
        .filter(|&slot| start[slot] != ShardPosition::Finished)
        .collect();
    if open.is_empty() {
        return Ok(Page::empty(plan, StopReason::Exhausted));
    }
    let wanted = plan
        .limit
        .map_or(usize::MAX, |l| offset.saturating_add(l).saturating_add(1));
    let meter = Arc::new(Meter::new(plan.budget.max_examined));
    let carried = match resume {
        Some(state) => minter.carried(state)?,
        None => Default::default(),
    };
    let anchors: BTreeMap<usize, _> = (0..start.len())
        .filter_map(|slot| match &start[slot] {
            ShardPosition::After(position) => Some((shards[slot], position.clone())),
            ShardPosition::NotStarted | ShardPosition::Finished => None,
        })
        .collect();
    let log = CollectionLog::new(wanted.min(super::MAX_CARRIED_KEYS));
    let builder = StreamBuilder::new(
        table,
        plan,
        ctx,
        direction,
        Chunking::new(wanted, ctx.options.chunk_len),
        meter.clone(),
    )
    .only(open.iter().map(|&slot| shards[slot]).collect())
    .cut_collections(log.clone(), CollectionAnchors::Shards(anchors), carried);
    let mut streams = builder.shard_streams(space)?;
    builder.check_resumed()?;
    for (stream, &slot) in streams.iter_mut().zip(&open) {
        if let ShardPosition::After(position) = &start[slot] {
            stream.seek(position, false)?;
        }
    }
    let mut frontier = Frontier {
        direction,
        now: start.clone(),
        start,
        open,
    };
    let mut merge = UnorderedMerge::start(
        streams,
        ctx.options.channel_capacity,
        ctx.cancel.clone(),
        builder.tracker().clone(),
    )?;
    let mut budget = PageBudget::new(plan.budget, ctx.cancel.clone());
    let taken = take_arrivals(
        &mut merge,
        plan,
        offset,
        &mut budget,
        &meter,
        &mut frontier,
        &log,
    );
    // The workers are stopped and joined whatever happened.
    let joined = merge.finish();
    let mut run = taken?;
    joined?;
    builder.tracker().close(run.stop);
    run.stats.keys_examined = meter.examined();
    run.stats.peak_buffered = meter.peak_buffered();
    let next = match run.stop {
        StopReason::Exhausted => None,
        // A budget stop hands each shard's sort buffers' progress on,
        // relative to that shard's position. (A buffer left out collected
        // a second time past keys it yielded: its shard's keys reach the
        // page before its error, so a page that consumed none of them was
        // stopped by another shard, and the next page still moves on.)
        _ if run.stop.is_budget() => {
            let (carried, _left_out) = log.carry_at(direction, |ordinal| {
                let slot = shards.iter().position(|&s| s as u64 == ordinal >> 32)?;
                match &frontier.now[slot] {
                    ShardPosition::NotStarted => Some(None),
                    ShardPosition::After(position) => Some(Some(position.clone())),
                    ShardPosition::Finished => None,
                }
            });
            Some(if carried.is_empty() {
                minter.frontier(&frontier.now, run.skip_left)?
            } else {
                minter.frontier_collecting(&frontier.now, run.skip_left, carried)?
            })
        }
        _ => Some(minter.frontier(&frontier.now, run.skip_left)?),
    };
    Ok(Page {
        rows: run.rows,
        next,
        prev: None,
        stop: run.stop,
        stats: run.stats,
        columns: plan.projection.clone(),
    })
}

/// The skip, take and look-ahead phases over the merge's arrivals.
fn take_arrivals(
    merge: &mut UnorderedMerge,
    plan: &Plan,
    offset: usize,
    budget: &mut PageBudget,
    meter: &Meter,
    frontier: &mut Frontier,
    log: &CollectionLog,
) -> Result<Run, ExecError> {
    let limit = plan.limit;
    let mut run = Run {
        rows: Vec::with_capacity(limit.unwrap_or(0).min(1024)),
        skip_left: 0,
        stop: StopReason::Exhausted,
        stats: PageStats::default(),
    };
    let mut open = frontier.open.len();
    let mut skip = offset;
    let counts_bytes = budget.counts_bytes();
    let mut stepped = false;
    loop {
        if stepped {
            // Also while skipping OFFSET rows: the cursor carries the rows
            // still to skip. Read-ahead sits in the channels, uncounted, so
            // the scan budget stops the page as soon as it is reached.
            if let Some(reason) = budget.exceeded(meter, run.stats.bytes_fetched, || 0) {
                run.stop = reason;
                run.skip_left = skip;
                break;
            }
        }
        let arrival = match merge.next_arrival() {
            Ok(arrival) => arrival,
            // A budget cut a sort buffer's collection in a shard's worker.
            Err(error) => {
                run.stop = log.cut_by(&error).ok_or(error)?;
                run.skip_left = skip;
                break;
            }
        };
        let Some(arrival) = arrival else {
            // Every worker exited before its shard ended: while the page
            // runs, only cancellation makes them do that.
            match budget.interrupted() {
                Some(StopReason::Cancelled) => {
                    run.stop = StopReason::Cancelled;
                    run.skip_left = skip;
                    break;
                }
                _ => {
                    return Err(ExecError::internal(
                        "the workers of an unordered shard merge stopped before their shards \
                         ended",
                    ))
                }
            }
        };
        stepped = true;
        let (input, item) = match arrival {
            Arrival::Finished { input } => {
                frontier.finish(input)?;
                open = open.saturating_sub(1);
                if open == 0 {
                    run.stop = StopReason::Exhausted;
                    break;
                }
                continue;
            }
            Arrival::Step {
                input,
                step: Step::Passed(position),
            } => {
                frontier.consume(input, position)?;
                continue;
            }
            Arrival::Step {
                input,
                step: Step::Key(item),
            } => (input, item),
        };
        run.stats.rows_fetched += 1;
        if counts_bytes {
            run.stats.bytes_fetched += item.row.encoded_len() as u64;
        }
        if !plan.accepts(item.row.values()) {
            run.stats.rows_filtered += 1;
            frontier.consume(input, item.key)?;
            continue;
        }
        if limit.is_some_and(|l| run.rows.len() >= l) {
            // The look-ahead row: proof that more rows follow. Not
            // consumed, so its shard resumes before it.
            run.stop = StopReason::Limit;
            break;
        }
        frontier.consume(input, item.key)?;
        if skip > 0 {
            skip -= 1;
            continue;
        }
        run.rows.push(item.row);
    }
    Ok(run)
}
