//! What a shard merge held and did, watched through a `CountingObserver`
//! on one more drain after the timing (so the counters cost nothing in the
//! timed figures): the peak rows buffered against the bound its mode
//! promises (docs/shards.md), rows yielded, shards opened, backpressure
//! waits and worker threads. A broken promise stops the run; nothing here
//! times anything.

use std::fmt;
use std::sync::Arc;

use keyset::{CountingObserver, MergeMode, Plan};

use super::Env;
use crate::error::{BenchError, Result};
use crate::keyset_side;
use crate::timing::Sink;

/// The most rows a merge of `mode` over `shards` may hold at once, by the
/// executor's options, and how that bound is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeBound {
    pub rows: usize,
    pub why: String,
}

impl MergeBound {
    /// Ordered: one chunk per shard. Unordered: a chunk and the channel's
    /// share per shard. Eager: the rest of the result, `result_rows` on a
    /// first page (never more than `max_sort_buffer_keys`), and the chunks
    /// of the shards it is draining.
    pub fn of(mode: MergeMode, shards: usize, result_rows: usize, env: &Env) -> MergeBound {
        let options = &env.db.exec_context().options;
        let chunk = options.chunk_len;
        match mode {
            MergeMode::OrderedStreaming => MergeBound {
                rows: shards * chunk,
                why: format!("{shards} shards x chunk_len {chunk}"),
            },
            MergeMode::UnorderedStreaming => {
                let channel = options.channel_capacity.max(1);
                MergeBound {
                    rows: shards * (channel + chunk),
                    why: format!("{shards} shards x (channel {channel} + chunk_len {chunk})"),
                }
            }
            MergeMode::OrderedEager => MergeBound {
                rows: result_rows.min(options.max_sort_buffer_keys) + shards * chunk,
                why: format!(
                    "the rest of the result, {result_rows} rows, + {shards} shards x chunk_len \
                     {chunk} while draining"
                ),
            },
        }
    }
}

/// What the observer counted over one whole drain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedDrain {
    pub mode: MergeMode,
    pub pages: usize,
    pub rows: usize,
    pub peak_buffered: usize,
    pub bound: MergeBound,
    pub rows_yielded: u64,
    pub shards_opened: usize,
    pub backpressure_waits: u64,
    pub workers_started: u64,
    pub workers_exited: u64,
}

impl fmt::Display for ObservedDrain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "observer (one more drain, untimed): peak {} rows buffered, bound {} ({}); \
             {} rows yielded by {} shard(s) over {} pages",
            self.peak_buffered,
            self.bound.rows,
            self.bound.why,
            self.rows_yielded,
            self.shards_opened,
            self.pages
        )?;
        if self.mode == MergeMode::UnorderedStreaming {
            write!(
                f,
                "; {} backpressure waits; {} worker threads started, {} exited",
                self.backpressure_waits, self.workers_started, self.workers_exited
            )?;
        }
        Ok(())
    }
}

/// Drains `plan` once more with a `CountingObserver` and checks what the
/// merge promises: every shard opened, the rows of the result delivered,
/// the peak within the bound, every worker thread it started gone.
pub fn observe(
    env: &Env,
    workload: &str,
    plan: &Plan,
    shards: usize,
    result_rows: usize,
) -> Result<ObservedDrain> {
    let observer = Arc::new(CountingObserver::new());
    let ctx = env
        .db
        .exec_context()
        .clone()
        .with_observer(observer.clone());
    let mut sink = Sink::counting();
    let pages = keyset_side::drain_in_into(&env.db, plan, &ctx, &mut sink)?;
    let observed = ObservedDrain {
        mode: plan.merge,
        pages,
        rows: sink.count(),
        peak_buffered: observer.peak_buffered(),
        bound: MergeBound::of(plan.merge, shards, result_rows, env),
        rows_yielded: observer.total_yielded(),
        shards_opened: observer.shards_opened().len(),
        backpressure_waits: observer.backpressure_waits(),
        workers_started: observer.workers_started(),
        workers_exited: observer.workers_exited(),
    };
    let broken = |detail: String| BenchError::MergeContract {
        workload: workload.to_owned(),
        detail,
    };
    if observed.rows != result_rows || observed.shards_opened != shards {
        return Err(broken(format!(
            "with an observer the drain returned {} rows from {} shards; expected {result_rows} \
             rows from {shards}",
            observed.rows, observed.shards_opened
        )));
    }
    if observed.peak_buffered > observed.bound.rows || observed.peak_buffered == 0 {
        return Err(broken(format!(
            "peak of {} rows buffered, bound {} ({})",
            observed.peak_buffered, observed.bound.rows, observed.bound.why
        )));
    }
    let threaded = observed.mode == MergeMode::UnorderedStreaming && shards > 1;
    let workers_ok = if threaded {
        observed.workers_started >= shards as u64
            && observed.workers_started == observed.workers_exited
            && observer.workers_alive() == 0
    } else {
        observed.workers_started == 0
    };
    if !workers_ok {
        return Err(broken(format!(
            "{} worker threads started, {} exited, {} alive",
            observed.workers_started,
            observed.workers_exited,
            observer.workers_alive()
        )));
    }
    Ok(observed)
}
