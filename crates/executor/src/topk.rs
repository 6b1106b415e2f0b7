//! Top-k pages, for an ORDER BY no access path provides: one pass over the
//! access path per page, keeping a bounded sorted buffer of the best
//! `offset + limit + 1` rows strictly past the anchor in the full order key
//! (the ORDER BY terms, the primary key, then the `RawDataKey`). Memory is
//! O(page), never the whole result. A pass is the unit of progress: scan
//! and byte budgets do not cut it (see `docs/pagination.md`); the deadline
//! and cancellation abort it with `ExecError::Interrupted`.

use std::cmp::Ordering;
use std::sync::Arc;

use keyset_plan::{MergeMode, OrderColumn, Plan, SortDirection};
use keyset_store::{Direction, Row, RowRef, TableStore, Value};

use crate::context::ExecContext;
use crate::cursor::{Anchor, CursorState};
use crate::error::ExecError;
use crate::page::{Minter, Page, PageStats, StopReason};
use crate::stream::budget::{Meter, PageBudget};
use crate::stream::build::{KeySpace, StreamBuilder};
use crate::stream::map_range::Chunking;
use crate::stream::Step;

/// The full order key of a plan, possibly reversed (backward pages).
struct SortOrder<'a> {
    terms: &'a [OrderColumn],
    table: &'a TableStore,
    reversed: bool,
}

impl SortOrder<'_> {
    fn orient(&self, ordering: Ordering) -> Ordering {
        if self.reversed {
            ordering.reverse()
        } else {
            ordering
        }
    }

    /// Compares the order values of `row` with `values` (one per term).
    fn compare_values(&self, row: &Row, values: &[Value]) -> Ordering {
        for (term, b) in self.terms.iter().zip(values) {
            let a = row.get(term.column).unwrap_or(&Value::Null);
            let ordering = match term.direction {
                SortDirection::Asc => a.compare(b),
                SortDirection::Desc => b.compare(a),
            };
            if ordering.is_ne() {
                return ordering;
            }
        }
        Ordering::Equal
    }

    /// The order of two rows (in the page's traversal order).
    fn compare_rows(&self, a: &Row, b: &Row) -> Ordering {
        let ordering = self
            .terms
            .iter()
            .map(|term| {
                let x = a.get(term.column).unwrap_or(&Value::Null);
                let y = b.get(term.column).unwrap_or(&Value::Null);
                match term.direction {
                    SortDirection::Asc => x.compare(y),
                    SortDirection::Desc => y.compare(x),
                }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| {
                // Equal on every term (the primary key is one of them, so
                // this is the same row): the data key decides.
                self.table.data_key_of(a).cmp(&self.table.data_key_of(b))
            });
        self.orient(ordering)
    }

    /// Whether `row` lies strictly past the anchor (values, data key).
    fn past_anchor(&self, row: &Row, values: &[Value], key: &[u8]) -> bool {
        let ordering = self
            .compare_values(row, values)
            .then_with(|| self.table.data_key_of(row).as_bytes().cmp(key));
        self.orient(ordering) == Ordering::Greater
    }
}

/// Keeps the best `keep` rows in order (all of them when `keep` is None).
struct BestRows {
    rows: Vec<RowRef>,
    keep: Option<usize>,
    peak: usize,
}

impl BestRows {
    fn offer(&mut self, row: RowRef, order: &SortOrder<'_>) {
        let Some(keep) = self.keep else {
            self.rows.push(row);
            self.peak = self.rows.len();
            return;
        };
        if self.rows.len() >= keep
            && self
                .rows
                .last()
                .is_some_and(|worst| order.compare_rows(&row, worst).is_ge())
        {
            return;
        }
        let at = self
            .rows
            .partition_point(|x| order.compare_rows(x, &row).is_lt());
        if self
            .rows
            .get(at)
            .is_some_and(|x| order.compare_rows(x, &row).is_eq())
        {
            // The same row reached twice (moved by a concurrent update).
            return;
        }
        self.rows.insert(at, row);
        self.rows.truncate(keep);
        self.peak = self.peak.max(self.rows.len());
    }

    fn finish(mut self, order: &SortOrder<'_>) -> (Vec<RowRef>, usize) {
        if self.keep.is_none() {
            self.rows.sort_by(|a, b| order.compare_rows(a, b));
            self.rows.dedup_by(|a, b| order.compare_rows(a, b).is_eq());
        }
        (self.rows, self.peak)
    }
}

/// One page of a top-k plan.
pub(crate) fn topk_page(
    table: &Arc<TableStore>,
    plan: &Plan,
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
    let anchor = match resume.map(|r| &r.anchor) {
        None => None,
        Some(Anchor::Sorted { values, key }) => Some((values.as_slice(), key.as_ref())),
        Some(_) => {
            return Err(ExecError::internal(
                "a top-k page got a cursor that is not a sorted anchor",
            ))
        }
    };
    let offset = if first_page { plan.offset } else { 0 };
    let order = SortOrder {
        terms: &plan.order,
        table,
        reversed: backward,
    };
    let keep = plan
        .limit
        .map(|l| offset.saturating_add(l).saturating_add(1));
    let meter = Arc::new(Meter::new(None));
    // A top-k pass reads every shard whole whatever the merge, so the
    // cheapest merge serves every mode.
    let builder = StreamBuilder::new(
        table,
        plan,
        ctx,
        Direction::Asc,
        Chunking::new(keep.unwrap_or(usize::MAX), ctx.options.chunk_len).unbudgeted(),
        meter.clone(),
    )
    .merged(MergeMode::OrderedStreaming);
    let mut root = builder.root(space)?;
    let mut budget = PageBudget::new(plan.budget, ctx.cancel.clone());
    let mut stats = PageStats::default();
    let mut best = BestRows {
        rows: Vec::with_capacity(keep.unwrap_or(0).min(1024)),
        keep,
        peak: 0,
    };
    while let Some(step) = root.next_key()? {
        if let Some(reason) = budget.interrupted() {
            return Err(ExecError::Interrupted {
                reason,
                phase: "running the top-k pass of the page",
            });
        }
        let Step::Key(item) = step else {
            continue;
        };
        stats.rows_fetched += 1;
        stats.bytes_fetched += item.row.encoded_len() as u64;
        if !plan.accepts(item.row.values()) {
            stats.rows_filtered += 1;
            continue;
        }
        if let Some((values, key)) = anchor {
            if !order.past_anchor(&item.row, values, key) {
                continue;
            }
        }
        best.offer(item.row, &order);
    }
    let (best, peak) = best.finish(&order);
    stats.keys_examined = meter.examined();
    stats.peak_buffered = peak.max(meter.peak_buffered());

    let mut rows: Vec<RowRef> = best.iter().skip(offset).cloned().collect();
    let more = plan.limit.is_some_and(|l| rows.len() > l);
    if let Some(limit) = plan.limit {
        rows.truncate(limit);
    }
    let sorted_anchor = |row: &Row| Anchor::Sorted {
        values: plan
            .order
            .iter()
            .map(|t| row.get(t.column).cloned().unwrap_or(Value::Null))
            .collect(),
        key: table.data_key_of(row).into_bytes(),
    };
    let (next, prev) = if backward {
        rows.reverse();
        let prev = match rows.first() {
            Some(first) if more => Some(minter.seal(true, sorted_anchor(first))?),
            _ => None,
        };
        let next = rows
            .last()
            .map(|last| minter.seal(false, sorted_anchor(last)))
            .transpose()?;
        (next, prev)
    } else {
        let next = match rows.last() {
            Some(last) if more => Some(minter.seal(false, sorted_anchor(last))?),
            _ => None,
        };
        let prev = match rows.first() {
            Some(first) if !first_page => Some(minter.seal(true, sorted_anchor(first))?),
            _ => None,
        };
        (next, prev)
    };
    Ok(Page {
        rows,
        next,
        prev,
        stop: if more {
            StopReason::Limit
        } else {
            StopReason::Exhausted
        },
        stats,
        columns: plan.projection.clone(),
    })
}
