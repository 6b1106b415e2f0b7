//! Turns the rows a top-k pass kept into a page: skips the OFFSET rows
//! still to skip, takes rows up to the limit (looking up again each row a
//! cursor carried, re-checked against the filter and its place in the
//! order), and mints the page's `next` and `prev` cursors: after the last
//! row, carrying the pass when a budget cut it or the rows it knows beyond
//! the page when they came from an earlier page.

use bytes::Bytes;
use keyset_plan::Plan;
use keyset_store::{RawDataKey, RowRef};

use super::best::Kept;
use super::order::{Entry, SortOrder};
use super::pass::PassReader;
use crate::cursor::Minter;
use crate::cursor::{fit_pass, Anchor, CarriedBuffer, Cursor, CursorError, SortedPass, SortedRow};
use crate::error::ExecError;
use crate::page::Page;
use crate::stop::StopReason;

/// Where a cut pass stands: the stream position it consumed last (an
/// anchor key), the rows it kept, and its sort buffers' progress.
pub struct PassCut {
    pub at: Option<Bytes>,
    pub kept: Kept,
    pub collecting: Vec<CarriedBuffer>,
}

/// More rows than any token can carry (a carried row takes at least 7
/// bytes, a token at most 6 KiB of them): what a page hands to `fit_pass`,
/// so that it never converts a whole large buffer.
const CARRY_CAP: usize = 1024;

/// What taking rows from a finished pass's buffer left.
pub(super) enum Taken {
    /// The page is full and rows follow: `last` is its last row, `rest`
    /// the kept rows after it, `dropped` whether others follow those.
    Full {
        last: Entry,
        rest: Vec<Entry>,
        dropped: bool,
    },
    /// Nothing follows the rows taken: the traversal ends.
    End,
    /// Every kept row was walked (taken, skipped, or gone) and the page
    /// has room, but rows follow `last`: a new pass must find them.
    More { last: Entry },
}

/// The rows of one page and how to mint its cursors.
pub(super) struct Emitter<'a> {
    pub minter: &'a Minter<'a>,
    pub plan: &'a Plan,
    pub order: &'a SortOrder<'a>,
    pub backward: bool,
    /// A first page (no anchor): nothing lies before it.
    pub first_page: bool,
    pub rows: Vec<RowRef>,
}

impl Emitter<'_> {
    fn limit(&self) -> usize {
        self.plan.limit.unwrap_or(usize::MAX)
    }

    /// Room left on the page.
    pub fn room(&self) -> usize {
        self.limit() - self.rows.len()
    }

    /// Skips `skip` rows of `kept` and takes rows until the page is full.
    pub fn take(
        &mut self,
        kept: Kept,
        skip: &mut usize,
        reader: &mut PassReader<'_>,
    ) -> Result<Taken, ExecError> {
        let mut entries = kept.rows.into_iter();
        let mut last: Option<Entry> = None;
        while self.rows.len() < self.limit() {
            let Some(entry) = entries.next() else {
                break;
            };
            if *skip > 0 {
                *skip -= 1;
            } else if let Some(row) = self.fetch(&entry, reader)? {
                self.rows.push(row);
            }
            last = Some(entry);
        }
        let rest: Vec<Entry> = entries.collect();
        let follows = !rest.is_empty() || kept.dropped;
        Ok(match last {
            _ if !follows => Taken::End,
            Some(last) if self.rows.len() == self.limit() => Taken::Full {
                last,
                rest,
                dropped: kept.dropped,
            },
            Some(last) => Taken::More { last },
            None => {
                return Err(ExecError::internal(
                    "a top-k pass says rows follow but kept none",
                ))
            }
        })
    }

    /// The row behind `entry`: as read, or, for a row a cursor carried,
    /// looked up again (one key examined) and returned only if it still
    /// passes the filter and holds its place in the order (a row an update
    /// moved is met at its new place by a later pass, as live data allows).
    /// A table held elsewhere (a cluster) is asked through its source, which
    /// may fail: the page fails then, rather than drop the row.
    fn fetch(
        &self,
        entry: &Entry,
        reader: &mut PassReader<'_>,
    ) -> Result<Option<RowRef>, ExecError> {
        let carried = match entry {
            Entry::Read(row) => return Ok(Some(row.clone())),
            Entry::Carried(carried) => carried,
        };
        reader.meter.count(1);
        let Some(row) = self
            .order
            .table
            .try_get(&RawDataKey::from_bytes(carried.key.clone()))?
        else {
            return Ok(None);
        };
        reader.stats.rows_fetched += 1;
        if reader.budget.counts_bytes() {
            reader.stats.bytes_fetched += row.encoded_len() as u64;
        }
        if !self.plan.filter_accepts(row.values()) {
            reader.stats.rows_filtered += 1;
            return Ok(None);
        }
        Ok(self.order.compare(&*row, carried).is_eq().then_some(row))
    }

    /// The page when the traversal ends with the rows taken.
    pub fn end(self, reader: PassReader<'_>) -> Result<Page, ExecError> {
        self.page(None, StopReason::Exhausted, reader)
    }

    /// The page when it is full and rows follow its last row. Its cursor
    /// carries the rows kept after it when they came from an earlier page's
    /// pass (`carry`), so that the next page needs no pass for them.
    pub fn full(
        self,
        last: Entry,
        rest: Vec<Entry>,
        dropped: bool,
        carry: bool,
        reader: PassReader<'_>,
    ) -> Result<Page, ExecError> {
        let after = self.order.carried_entry(&last);
        let mut anchor = None;
        if carry && !rest.is_empty() {
            let mut known = self.pass(Some(after.clone()), None, rest, dropped, 0);
            // The rows are a shortcut only: a cursor that cannot hold one
            // falls back to a new pass after the last row. When rows follow
            // them, it carries whole pages only, so that the pass after
            // them starts at a page boundary and every page stays full.
            if fit_pass(&mut known).is_ok() {
                if known.more {
                    let whole = known.best.len() / self.limit() * self.limit();
                    known.best.truncate(whole);
                }
                if !known.best.is_empty() {
                    anchor = Some(Anchor::SortedPass(Box::new(known)));
                }
            }
        }
        let anchor = anchor.unwrap_or_else(|| sorted(after));
        let onward = self.minter.seal(self.backward, anchor)?;
        self.page(Some(onward), StopReason::Limit, reader)
    }

    /// The page when `reason` cut a pass that looks after `after`: the rows
    /// taken so far, and a cursor that continues the pass strictly after
    /// the stream position `cut.at` (an anchor key) with the rows it kept
    /// and its sort buffers' progress.
    pub fn cut(
        self,
        after: Option<SortedRow>,
        cut: PassCut,
        offset_left: usize,
        reason: StopReason,
        reader: PassReader<'_>,
    ) -> Result<Page, ExecError> {
        let PassCut {
            at,
            kept,
            collecting,
        } = cut;
        let fit = |mut pass: SortedPass| {
            fit_pass(&mut pass).map_err(|e| match e {
                CursorError::TooLarge { len, max } => ExecError::CursorTooLarge { len, max },
                other => ExecError::InvalidCursor(other),
            })?;
            Ok::<_, ExecError>(Anchor::SortedPass(Box::new(pass)))
        };
        let anchor =
            match (at, after) {
                // The sort buffers' progress goes with the pass (from where
                // it started, when it consumed nothing).
                (at, after) if !collecting.is_empty() => {
                    let mut pass = self.pass(after, at, kept.rows, kept.dropped, offset_left);
                    pass.collecting = collecting;
                    fit(pass)?
                }
                (Some(at), after) => {
                    fit(self.pass(after, Some(at), kept.rows, kept.dropped, offset_left))?
                }
                // Cut before its first step: a new pass after `after`, which
                // a page reached in its own order.
                (None, Some(after)) if kept.rows.is_empty() && offset_left == 0 => sorted(after),
                (None, Some(after)) if kept.rows.is_empty() => Anchor::SortedPass(Box::new(
                    self.pass(Some(after), None, Vec::new(), false, offset_left),
                )),
                (None, _) => {
                    return Err(ExecError::internal(
                        "a top-k pass was cut before its first step with rows or no anchor",
                    ))
                }
            };
        let onward = self.minter.seal(self.backward, anchor)?;
        self.page(Some(onward), reason, reader)
    }

    /// A pass state with the first rows of `rows` (as many as a token may
    /// ever hold; `fit_pass` trims the rest).
    fn pass(
        &self,
        after: Option<SortedRow>,
        scan: Option<Bytes>,
        mut rows: Vec<Entry>,
        mut more: bool,
        offset_left: usize,
    ) -> SortedPass {
        if rows.len() > CARRY_CAP {
            rows.truncate(CARRY_CAP);
            more = true;
        }
        SortedPass {
            collecting: Vec::new(),
            after,
            scan,
            best: rows.iter().map(|e| self.order.carried_entry(e)).collect(),
            more,
            offset_left: offset_left as u64,
        }
    }

    /// The page of the rows taken (in traversal order), its cursor onward
    /// (in the traversal's direction) and its cursor back from its first
    /// row. A page with no rows has no first row, so no cursor back.
    fn page(
        self,
        onward: Option<Cursor>,
        stop: StopReason,
        reader: PassReader<'_>,
    ) -> Result<Page, ExecError> {
        let back = match self.rows.first() {
            Some(first) if !self.first_page => Some(
                self.minter
                    .seal(!self.backward, sorted(self.order.carried(first)))?,
            ),
            _ => None,
        };
        let mut rows = self.rows;
        // A backward traversal hands its rows back in the query's order,
        // and its onward cursor is the query's `prev`.
        let (next, prev) = if self.backward {
            rows.reverse();
            (back, onward)
        } else {
            (onward, back)
        };
        let mut stats = reader.stats;
        stats.keys_examined = reader.meter.examined();
        Ok(Page {
            rows,
            next,
            prev,
            stop,
            stats,
            columns: self.plan.projection.clone(),
        })
    }
}

fn sorted(row: SortedRow) -> Anchor {
    Anchor::Sorted {
        values: row.values,
        key: row.key,
    }
}
