//! One pass (or the rest of one) over a top-k plan's access path, within
//! one page: the stream, narrowed strictly past where an earlier page's
//! pass stopped, offers every row that passes the filter and lies after the
//! anchor to the buffer of best rows, until the stream ends or the page's
//! budget stops it. It decides nothing about the page it serves.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use keyset_plan::{MergeMode, Plan};
use keyset_store::{Direction, TableView};

use super::best::{BestRows, Kept};
use super::order::{Entry, SortOrder};
use crate::context::ExecContext;
use crate::cursor::SortedRow;
use crate::error::ExecError;
use crate::page::{check_advance, PageStats, MAX_CARRIED_KEYS};
use crate::stop::StopReason;
use crate::stream::budget::{Meter, PageBudget};
use crate::stream::build::{CollectionAnchors, KeySpace, StreamBuilder};
use crate::stream::map_range::Chunking;
use crate::stream::sorted_buffer::{BufferProgress, CollectionLog};
use crate::stream::{OrderedKeyStream, Step};

/// How a pass ended.
pub(super) enum PassEnd {
    /// The access path has no more keys: the buffer holds the best rows.
    Finished(Kept),
    /// A budget, the deadline or a cancellation cut it after it consumed
    /// the stream position `at` (`None`: before its first step). When it
    /// cut a sort buffer's collection before the pass consumed anything,
    /// `at` is where the pass resumed from and `collecting` holds the
    /// buffers' progress.
    Cut {
        reason: StopReason,
        at: Option<Bytes>,
        kept: Kept,
        collecting: Vec<(u64, BufferProgress)>,
    },
}

/// What one page's passes share: the plan, its order, the page's budget
/// and what the page has cost so far.
pub(super) struct PassReader<'a> {
    pub table: &'a TableView,
    pub plan: &'a Plan,
    pub ctx: &'a ExecContext,
    pub space: KeySpace,
    pub order: &'a SortOrder<'a>,
    pub meter: Arc<Meter>,
    pub budget: PageBudget,
    pub stats: PageStats,
}

/// Where one pass starts.
pub(super) struct PassFrom<'a> {
    /// The pass offers only rows strictly after this one.
    pub after: Option<&'a SortedRow>,
    /// The stream position to resume strictly after, in the stream's key
    /// space (`None`: from the start of the access path).
    pub scan: Option<&'a Bytes>,
    /// The best rows of the part an earlier page scanned, and whether that
    /// part holds rows after them.
    pub carried: &'a [SortedRow],
    pub more: bool,
    /// The rows the buffer keeps (`None`: every row).
    pub keep: Option<usize>,
    /// Whether the page consumed something already, so that the budget
    /// may stop this pass before its first step.
    pub progressed: bool,
    /// Where the sort buffers start, by ordinal (an earlier page's budget
    /// cut their collection).
    pub resume: BTreeMap<u64, BufferProgress>,
}

/// What stopped a pass before the end of its stream.
struct Stop {
    reason: StopReason,
    /// The last position the pass consumed.
    at: Option<Bytes>,
    /// A budget cut a sort buffer's collection.
    collecting: bool,
}

impl PassReader<'_> {
    /// Runs the pass from `from` to the end of the access path or until the
    /// budget stops it.
    pub fn run(&mut self, mut from: PassFrom<'_>) -> Result<PassEnd, ExecError> {
        let mut best = BestRows::new(from.keep);
        let carried = from.carried.iter().cloned().map(Entry::Carried).collect();
        best.carry(carried, from.more, self.order);
        // A top-k pass reads every shard whole whatever the merge, so the
        // cheapest merge serves every mode.
        let builder = StreamBuilder::new(
            self.table,
            self.plan,
            self.ctx,
            Direction::Asc,
            Chunking::new(from.keep.unwrap_or(usize::MAX), self.ctx.options.chunk_len),
            self.meter.clone(),
        )
        .merged(MergeMode::OrderedStreaming);
        let carry = from.keep.unwrap_or(MAX_CARRIED_KEYS).min(MAX_CARRIED_KEYS);
        let log = CollectionLog::new(carry);
        let builder = builder.cut_collections(
            log.clone(),
            CollectionAnchors::Page(from.scan.cloned()),
            std::mem::take(&mut from.resume),
        );
        let mut root = builder.root(self.space)?;
        builder.check_resumed()?;
        if let Some(scan) = from.scan {
            root.seek(scan, false)?;
        }
        let end = self.offer_all(root.as_mut(), &from, &mut best, &log);
        drop(root);
        let kept = best.finish(self.order);
        self.stats.keys_examined = self.meter.examined();
        self.stats.peak_buffered = self
            .stats
            .peak_buffered
            .max(kept.peak)
            .max(self.meter.peak_buffered());
        Ok(match end? {
            None => {
                builder.tracker().close(StopReason::Exhausted);
                PassEnd::Finished(kept)
            }
            Some(Stop {
                reason,
                at,
                collecting,
            }) => {
                builder.tracker().close(reason);
                // The sort buffers' progress goes on from where the pass
                // stops (or, having consumed nothing, where it started).
                let position = at.clone().or_else(|| from.scan.cloned());
                let (carried, left_out) = log.carry_at(Direction::Asc, |_| Some(position.clone()));
                if collecting && at.is_none() && !from.progressed && !left_out.is_empty() {
                    return Err(ExecError::internal(
                        "a sort buffer collected a second time before a pass consumed a key",
                    ));
                }
                PassEnd::Cut {
                    reason,
                    at: if carried.is_empty() { at } else { position },
                    kept,
                    collecting: carried,
                }
            }
        })
    }

    /// Offers every row of `root` that passes the filter and lies after the
    /// anchor to `best`; returns what stopped the pass and the last
    /// position it consumed, or `None` when the stream ended. A page that
    /// has consumed nothing yet takes one step before it looks at its
    /// budget, so that every page makes progress.
    fn offer_all(
        &mut self,
        root: &mut dyn OrderedKeyStream,
        from: &PassFrom<'_>,
        best: &mut BestRows,
        log: &CollectionLog,
    ) -> Result<Option<Stop>, ExecError> {
        let counts_bytes = self.budget.counts_bytes();
        let mut last: Option<Bytes> = None;
        loop {
            if last.is_some() || from.progressed {
                let bytes = self.stats.bytes_fetched;
                if let Some(reason) = self.budget.exceeded(&self.meter, bytes, || root.buffered()) {
                    return Ok(Some(Stop {
                        reason,
                        at: last,
                        collecting: false,
                    }));
                }
            }
            let step = match root.next_key() {
                Ok(step) => step,
                Err(error) => {
                    return Ok(Some(Stop {
                        reason: log.cut_by(&error).ok_or(error)?,
                        at: last,
                        collecting: true,
                    }));
                }
            };
            let Some(step) = step else {
                return Ok(None);
            };
            if last.is_none() {
                // The pass reads its stream ascending.
                check_advance(
                    "a top-k pass",
                    Direction::Asc,
                    from.scan,
                    Some(step.position()),
                )?;
            }
            let item = match step {
                Step::Passed(position) => {
                    last = Some(position);
                    continue;
                }
                Step::Key(item) => item,
            };
            self.stats.rows_fetched += 1;
            if counts_bytes {
                self.stats.bytes_fetched += item.row.encoded_len() as u64;
            }
            last = Some(item.key);
            if !self.plan.accepts(item.row.values()) {
                self.stats.rows_filtered += 1;
                continue;
            }
            if let Some(after) = from.after {
                if !self.order.compare(&*item.row, after).is_gt() {
                    continue;
                }
            }
            best.offer(Entry::Read(item.row), self.order);
        }
    }
}
