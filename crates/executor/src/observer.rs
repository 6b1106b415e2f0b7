//! Watching shard merges: the `MergeObserver` trait a caller may put in
//! `ExecContext::observer`, the reasons a shard stops (`ShardFinish`), and
//! `CountingObserver`, a lock-free counter implementation for tests, demos
//! and benchmarks. Observers only watch: nothing they see changes a page.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use keyset_store::catalog::MAX_SHARDS;

use crate::stop::StopReason;

/// Why a shard's stream stopped being read in a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShardFinish {
    /// The shard had no more rows for the query.
    Exhausted,
    /// The page was full (it found the look-ahead row) before the shard ended.
    PageFull,
    /// The caller cancelled the query.
    Cancelled,
    /// A scan or byte budget or the deadline ended the page.
    Budget,
}

impl ShardFinish {
    /// Every reason, in the order `CountingObserver` counts them.
    pub const ALL: [ShardFinish; 4] = [
        ShardFinish::Exhausted,
        ShardFinish::PageFull,
        ShardFinish::Cancelled,
        ShardFinish::Budget,
    ];

    /// The reason a shard that was still open stopped, given why its page
    /// ended.
    pub fn from_stop(stop: StopReason) -> ShardFinish {
        match stop {
            StopReason::Exhausted => ShardFinish::Exhausted,
            StopReason::Limit => ShardFinish::PageFull,
            StopReason::Cancelled => ShardFinish::Cancelled,
            StopReason::ScanBudget | StopReason::ByteBudget | StopReason::Deadline => {
                ShardFinish::Budget
            }
        }
    }

    fn slot(self) -> usize {
        match self {
            ShardFinish::Exhausted => 0,
            ShardFinish::PageFull => 1,
            ShardFinish::Cancelled => 2,
            ShardFinish::Budget => 3,
        }
    }
}

/// Receives what the shard merges of a page do. Shards are named by their
/// number in the table (`0..shards`). Every method has an empty default, so
/// an observer implements what it needs. Methods may be called from the
/// worker threads of an unordered merge at the same time, so they must be
/// quick and must not block for long (a blocked `row_yielded` holds up its
/// shard; a blocked `row_delivered` holds up the page).
///
/// Every page reports for each shard it reads: `shard_opened` once, then
/// `row_yielded` per row the shard's stream produced (read-ahead
/// included), and `shard_finished` once when the page is done with it.
/// Plans over one shard report only when an observer is set; top-k plans
/// and composites report like any other plan.
pub trait MergeObserver: Send + Sync {
    /// The page opened the stream of `shard`.
    fn shard_opened(&self, _shard: usize) {}

    /// The stream of `shard` produced a row into the merge.
    fn row_yielded(&self, _shard: usize) {}

    /// The merge handed a row of `shard` to the page (on the page's
    /// thread; the page may still reject it with the filter).
    fn row_delivered(&self, _shard: usize) {}

    /// The page stopped reading `shard`, for `reason`.
    fn shard_finished(&self, _shard: usize, _reason: ShardFinish) {}

    /// The merge holds `rows` rows now: rows in the shard streams' chunks
    /// and sort buffers, heads in the ordered merge's heap, rows in an
    /// unordered merge's channel, rows an eager merge drained. Sampled each
    /// time the number grows, so the largest sample is the peak.
    fn buffered(&self, _rows: usize) {}

    /// A producer of the unordered merge found the channel full and waits
    /// for the page to take rows (once per wait, not per wake-up).
    fn backpressure_wait(&self, _shard: usize) {}

    /// A worker thread of the unordered merge started producing `shard`.
    fn worker_started(&self, _shard: usize) {}

    /// The worker thread of `shard` is about to exit (called by the thread
    /// itself; the page joins it before it returns).
    fn worker_exited(&self, _shard: usize) {}
}

/// A `MergeObserver` made of atomic counters: rows per shard, shards
/// opened, finishes by reason, the peak of rows buffered, backpressure
/// waits, and worker threads started, exited and alive.
#[derive(Debug)]
pub struct CountingObserver {
    opened: Vec<AtomicU64>,
    yielded: Vec<AtomicU64>,
    delivered: Vec<AtomicU64>,
    finished: [AtomicU64; 4],
    buffered_peak: AtomicUsize,
    buffered_samples: AtomicU64,
    backpressure_waits: AtomicU64,
    workers_started: AtomicU64,
    workers_exited: AtomicU64,
    workers_alive: AtomicUsize,
}

impl Default for CountingObserver {
    fn default() -> Self {
        CountingObserver::new()
    }
}

fn counters(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

fn bump(counters: &[AtomicU64], shard: usize) {
    if let Some(counter) = counters.get(shard) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

fn load(counters: &[AtomicU64]) -> Vec<u64> {
    counters.iter().map(|c| c.load(Ordering::Relaxed)).collect()
}

impl CountingObserver {
    /// An observer with every counter at zero (room for `MAX_SHARDS`).
    pub fn new() -> CountingObserver {
        let shards = MAX_SHARDS as usize;
        CountingObserver {
            opened: counters(shards),
            yielded: counters(shards),
            delivered: counters(shards),
            finished: Default::default(),
            buffered_peak: AtomicUsize::new(0),
            buffered_samples: AtomicU64::new(0),
            backpressure_waits: AtomicU64::new(0),
            workers_started: AtomicU64::new(0),
            workers_exited: AtomicU64::new(0),
            workers_alive: AtomicUsize::new(0),
        }
    }

    /// Times each shard was opened, indexed by shard number (trailing
    /// shards never opened are left out).
    pub fn opened(&self) -> Vec<u64> {
        trim(load(&self.opened))
    }

    /// The shard numbers opened at least once.
    pub fn shards_opened(&self) -> Vec<usize> {
        nonzero(&self.opened)
    }

    /// Rows each shard's stream yielded, indexed by shard number.
    pub fn rows_yielded(&self) -> Vec<u64> {
        trim(load(&self.yielded))
    }

    /// Rows the merges handed to pages, indexed by shard number.
    pub fn rows_delivered(&self) -> Vec<u64> {
        trim(load(&self.delivered))
    }

    /// All rows yielded, every shard together.
    pub fn total_yielded(&self) -> u64 {
        load(&self.yielded).iter().sum()
    }

    /// All rows delivered, every shard together.
    pub fn total_delivered(&self) -> u64 {
        load(&self.delivered).iter().sum()
    }

    /// Shard finishes reported for `reason`.
    pub fn finished(&self, reason: ShardFinish) -> u64 {
        self.finished[reason.slot()].load(Ordering::Relaxed)
    }

    /// Shard finishes reported for any reason.
    pub fn total_finished(&self) -> u64 {
        ShardFinish::ALL.iter().map(|r| self.finished(*r)).sum()
    }

    /// The largest `buffered` sample: the most rows a merge held at once.
    pub fn peak_buffered(&self) -> usize {
        self.buffered_peak.load(Ordering::Relaxed)
    }

    /// How many `buffered` samples were reported.
    pub fn buffered_samples(&self) -> u64 {
        self.buffered_samples.load(Ordering::Relaxed)
    }

    /// Times a producer waited on a full channel.
    pub fn backpressure_waits(&self) -> u64 {
        self.backpressure_waits.load(Ordering::Relaxed)
    }

    /// Worker threads started.
    pub fn workers_started(&self) -> u64 {
        self.workers_started.load(Ordering::Relaxed)
    }

    /// Worker threads that exited.
    pub fn workers_exited(&self) -> u64 {
        self.workers_exited.load(Ordering::Relaxed)
    }

    /// Worker threads started and not yet exited.
    pub fn workers_alive(&self) -> usize {
        self.workers_alive.load(Ordering::Relaxed)
    }

    /// Sets every counter back to zero (between two measurements).
    pub fn reset(&self) {
        for list in [&self.opened, &self.yielded, &self.delivered] {
            for counter in list.iter() {
                counter.store(0, Ordering::Relaxed);
            }
        }
        for counter in &self.finished {
            counter.store(0, Ordering::Relaxed);
        }
        self.buffered_peak.store(0, Ordering::Relaxed);
        for counter in [
            &self.buffered_samples,
            &self.backpressure_waits,
            &self.workers_started,
            &self.workers_exited,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

fn trim(mut counts: Vec<u64>) -> Vec<u64> {
    while counts.last() == Some(&0) {
        counts.pop();
    }
    counts
}

fn nonzero(counters: &[AtomicU64]) -> Vec<usize> {
    counters
        .iter()
        .enumerate()
        .filter(|(_, c)| c.load(Ordering::Relaxed) > 0)
        .map(|(shard, _)| shard)
        .collect()
}

impl MergeObserver for CountingObserver {
    fn shard_opened(&self, shard: usize) {
        bump(&self.opened, shard);
    }

    fn row_yielded(&self, shard: usize) {
        bump(&self.yielded, shard);
    }

    fn row_delivered(&self, shard: usize) {
        bump(&self.delivered, shard);
    }

    fn shard_finished(&self, _shard: usize, reason: ShardFinish) {
        self.finished[reason.slot()].fetch_add(1, Ordering::Relaxed);
    }

    fn buffered(&self, rows: usize) {
        self.buffered_peak.fetch_max(rows, Ordering::Relaxed);
        self.buffered_samples.fetch_add(1, Ordering::Relaxed);
    }

    fn backpressure_wait(&self, _shard: usize) {
        self.backpressure_waits.fetch_add(1, Ordering::Relaxed);
    }

    fn worker_started(&self, _shard: usize) {
        self.workers_started.fetch_add(1, Ordering::Relaxed);
        self.workers_alive.fetch_add(1, Ordering::Relaxed);
    }

    fn worker_exited(&self, _shard: usize) {
        self.workers_exited.fetch_add(1, Ordering::Relaxed);
        self.workers_alive.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_shard_and_keeps_the_peak() {
        let observer = CountingObserver::new();
        observer.shard_opened(3);
        observer.row_yielded(3);
        observer.row_yielded(3);
        observer.row_yielded(0);
        observer.buffered(7);
        observer.buffered(2);
        observer.shard_finished(3, ShardFinish::PageFull);
        observer.worker_started(3);
        assert_eq!(observer.workers_alive(), 1);
        observer.worker_exited(3);
        assert_eq!(observer.shards_opened(), vec![3]);
        assert_eq!(observer.rows_yielded(), vec![1, 0, 0, 2]);
        assert_eq!(observer.total_yielded(), 3);
        assert_eq!(observer.peak_buffered(), 7);
        assert_eq!(observer.finished(ShardFinish::PageFull), 1);
        assert_eq!(observer.total_finished(), 1);
        assert_eq!(observer.workers_alive(), 0);
        // A shard number past the table limit is ignored, not a panic.
        observer.row_yielded(usize::MAX);
        observer.reset();
        assert_eq!(observer.total_yielded(), 0);
        assert_eq!(observer.peak_buffered(), 0);
        assert!(observer.rows_yielded().is_empty());
    }

    #[test]
    fn a_page_stop_names_the_reason_open_shards_stopped() {
        assert_eq!(
            ShardFinish::from_stop(StopReason::Limit),
            ShardFinish::PageFull
        );
        assert_eq!(
            ShardFinish::from_stop(StopReason::Deadline),
            ShardFinish::Budget
        );
        assert_eq!(
            ShardFinish::from_stop(StopReason::Cancelled),
            ShardFinish::Cancelled
        );
    }
}
