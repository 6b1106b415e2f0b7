//! The shard side of every shard merge. `ShardStream` wraps the stream of
//! the plan over one shard and reports to the page's `ShardTracker` what it
//! yields, when it ends and how many rows it holds; the tracker forwards
//! that to the caller's `MergeObserver` (once per shard for openings and
//! finishes) and names the reason of every shard still open when the page
//! ends. Neither reorders, filters or buffers anything.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use keyset_store::Direction;

use super::{BoxStream, OrderedKeyStream, Step};
use crate::error::ExecError;
use crate::observer::{MergeObserver, ShardFinish};
use crate::stop::StopReason;

/// What one page's shard merge reports, per input (a shard it reads).
pub struct ShardTracker {
    observer: Option<Arc<dyn MergeObserver>>,
    /// The table's shard number of each input.
    shards: Vec<usize>,
    finished: Vec<AtomicBool>,
    /// Rows the shard streams hold (chunks, heads) plus what a merge adds
    /// (an eager merge's drained rows).
    held: AtomicUsize,
}

impl std::fmt::Debug for ShardTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardTracker")
            .field("shards", &self.shards)
            .field("observed", &self.observed())
            .finish()
    }
}

impl ShardTracker {
    /// A tracker for inputs reading `shards` (table shard numbers, in input
    /// order), reporting to `observer` if any.
    pub fn new(shards: Vec<usize>, observer: Option<Arc<dyn MergeObserver>>) -> Arc<ShardTracker> {
        Arc::new(ShardTracker {
            finished: shards.iter().map(|_| AtomicBool::new(false)).collect(),
            shards,
            observer,
            held: AtomicUsize::new(0),
        })
    }

    /// Whether anyone listens (when not, nothing is counted).
    pub fn observed(&self) -> bool {
        self.observer.is_some()
    }

    /// The table's shard number of `input`.
    pub fn shard(&self, input: usize) -> usize {
        self.shards.get(input).copied().unwrap_or(input)
    }

    /// How many inputs the merge has.
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    pub(crate) fn with(&self, report: impl FnOnce(&dyn MergeObserver)) {
        if let Some(observer) = &self.observer {
            report(observer.as_ref());
        }
    }

    pub(crate) fn delivered(&self, input: usize) {
        self.with(|o| o.row_delivered(self.shard(input)));
    }

    /// Reports that `input` stopped, unless it was reported already.
    pub(crate) fn finish(&self, input: usize, reason: ShardFinish) {
        let Some(observer) = &self.observer else {
            return;
        };
        let first = self
            .finished
            .get(input)
            .is_some_and(|f| !f.swap(true, Ordering::Relaxed));
        if first {
            observer.shard_finished(self.shard(input), reason);
        }
    }

    /// The page ended with `stop`: every input still open stopped for it.
    pub fn close(&self, stop: StopReason) {
        for input in 0..self.shards.len() {
            self.finish(input, ShardFinish::from_stop(stop));
        }
    }

    /// Rows held by the shard streams and the merge, as counted so far.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// `rows` more rows are held; reports the new total.
    pub(crate) fn grow(&self, rows: usize) {
        if let Some(observer) = &self.observer {
            let now = self.held.fetch_add(rows, Ordering::Relaxed) + rows;
            observer.buffered(now);
        }
    }

    /// `rows` fewer rows are held.
    pub(crate) fn shrink(&self, rows: usize) {
        if self.observer.is_some() {
            // Never below zero, whatever the order of reports.
            let _ = self
                .held
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                    Some(held.saturating_sub(rows))
                });
        }
    }
}

/// The stream of the plan over one shard, reporting to the tracker.
pub struct ShardStream {
    inner: BoxStream,
    input: usize,
    tracker: Arc<ShardTracker>,
    observed: bool,
    /// The rows this shard holds as last counted in the tracker: its
    /// stream's buffers, plus the last row it yielded, which sits in the
    /// merge (a heap head, a channel slot) until the shard is pulled again.
    held: usize,
}

impl std::fmt::Debug for ShardStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardStream")
            .field("shard", &self.tracker.shard(self.input))
            .field("held", &self.held)
            .finish()
    }
}

impl ShardStream {
    /// Wraps the stream of input `input` (opened now).
    pub fn new(inner: BoxStream, input: usize, tracker: Arc<ShardTracker>) -> ShardStream {
        tracker.with(|o| o.shard_opened(tracker.shard(input)));
        ShardStream {
            inner,
            input,
            observed: tracker.observed(),
            tracker,
            held: 0,
        }
    }

    fn account(&mut self, now: usize) {
        if now > self.held {
            self.tracker.grow(now - self.held);
        } else if now < self.held {
            self.tracker.shrink(self.held - now);
        }
        self.held = now;
    }
}

impl OrderedKeyStream for ShardStream {
    fn direction(&self) -> Direction {
        self.inner.direction()
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        let step = self.inner.next_key()?;
        if !self.observed {
            return Ok(step);
        }
        match &step {
            Some(Step::Key(_)) => {
                self.tracker
                    .with(|o| o.row_yielded(self.tracker.shard(self.input)));
                self.account(self.inner.buffered() + 1);
            }
            Some(Step::Passed(_)) => self.account(self.inner.buffered()),
            None => {
                self.account(0);
                self.tracker.finish(self.input, ShardFinish::Exhausted);
            }
        }
        Ok(step)
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        self.inner.seek(target, inclusive)?;
        if self.observed {
            self.account(self.inner.buffered());
        }
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    fn prefetch(&mut self) {
        self.inner.prefetch();
    }
}

impl Drop for ShardStream {
    fn drop(&mut self) {
        // What this shard held is released with it.
        self.account(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::CountingObserver;
    use crate::stream::testing::{drain, ListStream};

    #[test]
    fn reports_rows_the_end_and_what_the_shard_holds() {
        let observer = Arc::new(CountingObserver::new());
        let tracker = ShardTracker::new(vec![5], Some(observer.clone()));
        let mut shard = ShardStream::new(
            Box::new(ListStream::new(Direction::Asc, &[1, 2, 3])),
            0,
            tracker.clone(),
        );
        assert_eq!(observer.shards_opened(), vec![5]);
        assert_eq!(drain(&mut shard), vec![1, 2, 3]);
        assert_eq!(observer.rows_yielded(), vec![0, 0, 0, 0, 0, 3]);
        assert_eq!(observer.finished(ShardFinish::Exhausted), 1);
        // The list holds 2 keys after the first one, plus that key.
        assert_eq!(observer.peak_buffered(), 3);
        tracker.close(StopReason::Limit);
        assert_eq!(observer.total_finished(), 1, "a shard finishes once");
        assert_eq!(tracker.held(), 0);
    }

    #[test]
    fn an_unobserved_tracker_counts_nothing() {
        let tracker = ShardTracker::new(vec![0, 1], None);
        let mut shard = ShardStream::new(
            Box::new(ListStream::new(Direction::Desc, &[4, 9])),
            1,
            tracker.clone(),
        );
        assert_eq!(drain(&mut shard), vec![9, 4]);
        tracker.close(StopReason::Exhausted);
        assert_eq!(tracker.held(), 0);
        assert_eq!(tracker.shard(1), 1);
    }
}
