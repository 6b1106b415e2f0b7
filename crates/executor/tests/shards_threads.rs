//! Cancellation and threads of the shard merges, through observers, never
//! through time: a cancel in the middle of a page (ordered, unordered,
//! eager) or before it starts, a slow consumer holding up the producers
//! (backpressure), a failing shard, and worker threads that never outlive
//! their page. No test sleeps for its result; the one wait has a generous
//! timeout only so that a bug fails the test instead of hanging it.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::spread::*;
use common::*;
use keyset_executor::{
    execute_page, CancelToken, CountingObserver, ExecContext, ExecError, MergeObserver,
    ShardFinish, StopReason,
};
use keyset_plan::{AccessPath, MergeMode};
use keyset_store::Direction;

/// Waits no test should ever reach; only a hang-turned-failure.
const GUARD: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------
// Cancellation.
// ---------------------------------------------------------------------

/// Counts like `CountingObserver` and cancels `token` when the page has
/// been handed `after` rows (or the shards have yielded `after` rows,
/// with `on_yield`).
struct CancelAfter {
    counts: Arc<CountingObserver>,
    token: CancelToken,
    after: u64,
    on_yield: bool,
    seen: AtomicU64,
}

impl CancelAfter {
    fn tick(&self) {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
            self.token.cancel();
        }
    }
}

impl MergeObserver for CancelAfter {
    fn shard_opened(&self, shard: usize) {
        self.counts.shard_opened(shard);
    }
    fn row_yielded(&self, shard: usize) {
        self.counts.row_yielded(shard);
        if self.on_yield {
            self.tick();
        }
    }
    fn row_delivered(&self, shard: usize) {
        self.counts.row_delivered(shard);
        if !self.on_yield {
            self.tick();
        }
    }
    fn shard_finished(&self, shard: usize, reason: ShardFinish) {
        self.counts.shard_finished(shard, reason);
    }
    fn buffered(&self, rows: usize) {
        self.counts.buffered(rows);
    }
    fn backpressure_wait(&self, shard: usize) {
        self.counts.backpressure_wait(shard);
    }
    fn worker_started(&self, shard: usize) {
        self.counts.worker_started(shard);
    }
    fn worker_exited(&self, shard: usize) {
        self.counts.worker_exited(shard);
    }
}

fn cancelling(fx: &Fixture, after: u64, on_yield: bool) -> (ExecContext, Arc<CountingObserver>) {
    let counts = Arc::new(CountingObserver::new());
    let token = CancelToken::new();
    let observer = Arc::new(CancelAfter {
        counts: counts.clone(),
        token: token.clone(),
        after,
        on_yield,
        seen: AtomicU64::new(0),
    });
    (
        fx.ctx.clone().with_cancel(token).with_observer(observer),
        counts,
    )
}

#[test]
fn cancellation_mid_page_stops_with_a_cursor_that_resumes_exactly() {
    let mut fx = numbered(8, 3000);
    fx.ctx.options.channel_capacity = 4;
    for mode in [MergeMode::OrderedStreaming, MergeMode::UnorderedStreaming] {
        for direction in [Direction::Asc, Direction::Desc] {
            let label = format!("{mode:?} {direction:?}");
            let mut plan = with_merge(&fx.stream_plan(AccessPath::FullScan, direction, None), mode);
            plan.limit = Some(1000);
            let (ctx, counts) = cancelling(&fx, 100, false);
            let page = execute_page(&fx.store.read(), &plan, None, &ctx).unwrap();
            assert_eq!(page.stop, StopReason::Cancelled, "{label}");
            assert_eq!(page.rows.len(), 100, "{label}: the rows before the cancel");
            assert!(counts.finished(ShardFinish::Cancelled) > 0, "{label}");
            no_worker_left(&counts, &label);
            if mode == MergeMode::UnorderedStreaming {
                // The producers stopped: beyond the rows handed over, at
                // most a full channel (4 slots a shard) was read.
                let yielded = counts.total_yielded();
                assert!(yielded <= 100 + 8 * 4, "{label}: {yielded} rows read");
            }
            // The next page, not cancelled, resumes exactly.
            let rest = traverse_from(&fx, &plan, page.next.clone());
            let mut all = ids(&page.rows);
            all.extend(concat(&rest));
            if mode == MergeMode::UnorderedStreaming {
                let unique: BTreeSet<i64> = all.iter().copied().collect();
                assert_eq!(unique.len(), all.len(), "{label}: no duplicates");
                all.sort_unstable();
                assert_eq!(all, expected_set(&fx, &plan), "{label}");
            } else {
                assert_eq!(all, fx.expected(&plan), "{label}");
            }
        }
    }
}

#[test]
fn an_unordered_page_cancelled_before_it_starts_resumes_from_the_start() {
    let fx = numbered(4, 200);
    let mut plan = with_merge(
        &fx.stream_plan(fx.eq("by_a", 1), Direction::Asc, None),
        MergeMode::UnorderedStreaming,
    );
    plan.limit = Some(10);
    let counts = Arc::new(CountingObserver::new());
    let token = CancelToken::new();
    token.cancel();
    let ctx = fx
        .ctx
        .clone()
        .with_cancel(token)
        .with_observer(counts.clone());
    let page = execute_page(&fx.store.read(), &plan, None, &ctx).unwrap();
    assert_eq!(page.stop, StopReason::Cancelled);
    assert!(page.rows.is_empty());
    no_worker_left(&counts, "cancelled at the start");
    let rest = unordered_pages(&fx, &plan, page.next.clone(), "after the cancel");
    assert_eq!(id_set(&rest), expected_set(&fx, &plan));
}

#[test]
fn cancellation_during_an_eager_drain_interrupts_the_page() {
    let fx = numbered(4, 400);
    let mut plan = with_merge(
        &fx.stream_plan(AccessPath::FullScan, Direction::Asc, None),
        MergeMode::OrderedEager,
    );
    plan.limit = Some(10);
    let (ctx, _) = cancelling(&fx, 50, true);
    let err = execute_page(&fx.store.read(), &plan, None, &ctx).unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::Interrupted {
                reason: StopReason::Cancelled,
                ..
            }
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------
// Backpressure and worker threads.
// ---------------------------------------------------------------------

/// Holds the page on its first row until a producer reports that it waits
/// on a full channel, and records how many rows the shards had read then.
struct SlowConsumer {
    counts: Arc<CountingObserver>,
    waited: Mutex<bool>,
    signal: Condvar,
    first: AtomicBool,
    read_while_paused: AtomicU64,
}

impl MergeObserver for SlowConsumer {
    fn row_yielded(&self, shard: usize) {
        self.counts.row_yielded(shard);
    }
    fn row_delivered(&self, shard: usize) {
        self.counts.row_delivered(shard);
        if self.first.swap(false, Ordering::SeqCst) {
            let mut waited = self.waited.lock().unwrap();
            while !*waited {
                let (guard, timeout) = self.signal.wait_timeout(waited, GUARD).unwrap();
                assert!(!timeout.timed_out(), "no producer ever waited");
                waited = guard;
            }
            self.read_while_paused
                .store(self.counts.total_yielded(), Ordering::SeqCst);
        }
    }
    fn buffered(&self, rows: usize) {
        self.counts.buffered(rows);
    }
    fn backpressure_wait(&self, shard: usize) {
        self.counts.backpressure_wait(shard);
        *self.waited.lock().unwrap() = true;
        self.signal.notify_all();
    }
    fn worker_started(&self, shard: usize) {
        self.counts.worker_started(shard);
    }
    fn worker_exited(&self, shard: usize) {
        self.counts.worker_exited(shard);
    }
}

#[test]
fn a_slow_consumer_stops_the_producers_and_loses_nothing() {
    let mut fx = numbered(4, 2000);
    fx.ctx.options.channel_capacity = 2;
    fx.ctx.options.chunk_len = 16;
    let plan = with_merge(
        &fx.stream_plan(AccessPath::FullScan, Direction::Desc, None),
        MergeMode::UnorderedStreaming,
    );
    let counts = Arc::new(CountingObserver::new());
    let slow = Arc::new(SlowConsumer {
        counts: counts.clone(),
        waited: Mutex::new(false),
        signal: Condvar::new(),
        first: AtomicBool::new(true),
        read_while_paused: AtomicU64::new(0),
    });
    let ctx = fx.ctx.clone().with_observer(slow.clone());
    let page = execute_page(&fx.store.read(), &plan, None, &ctx).unwrap();
    assert_eq!(page.stop, StopReason::Exhausted);
    let mut got = ids(&page.rows);
    got.sort_unstable();
    assert_eq!(got, expected_set(&fx, &plan));
    assert!(counts.backpressure_waits() >= 1);
    // While the page held its first row, the shards read no more than
    // that row and a full channel (4 shards x 2 slots), of 2000 rows.
    let paused = slow.read_while_paused.load(Ordering::SeqCst);
    assert!(
        paused <= 1 + 4 * 2,
        "{paused} rows read while the page paused"
    );
    let peak = counts.peak_buffered();
    assert!(peak <= 4 * (2 + 16), "peak {peak} rows buffered");
    no_worker_left(&counts, "slow consumer");
}

#[test]
fn a_failing_shard_fails_the_page_and_leaves_no_worker() {
    let mut fx = numbered(4, 400);
    fx.ctx.options.max_sort_buffer_keys = 3;
    let plan = with_merge(
        &fx.stream_plan(
            AccessPath::Union(vec![
                fx.eq("by_a", 1),
                fx.range(
                    "by_b",
                    &[],
                    std::ops::Bound::Included(1),
                    std::ops::Bound::Unbounded,
                ),
            ]),
            Direction::Asc,
            None,
        ),
        MergeMode::UnorderedStreaming,
    );
    let counts = Arc::new(CountingObserver::new());
    let ctx = fx.ctx.clone().with_observer(counts.clone());
    let err = execute_page(&fx.store.read(), &plan, None, &ctx).unwrap_err();
    assert!(
        matches!(err, ExecError::SortBufferExceeded { limit: 3, .. }),
        "{err}"
    );
    no_worker_left(&counts, "failing shard");
    assert_eq!(counts.workers_started(), 4);
}
