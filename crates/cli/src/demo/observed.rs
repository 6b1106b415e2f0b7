//! The demo's look inside the shard merges: every merge mode drains the
//! same range of `orders` with a `CountingObserver` on the executor
//! context, and the walk prints what the observer counted (shards opened,
//! rows yielded, the peak of rows buffered against the bound of the mode,
//! backpressure waits, worker threads) and checks each bound. It only
//! reads; routing is shown in `shards`.

use std::collections::BTreeSet;
use std::sync::Arc;

use comfy_table::{presets, CellAlignment, Table};
use keyset::{CountingObserver, MergeMode, Value};

use super::show::{Show, Traversal};
use crate::error::CliError;

/// The drains: each merge mode and its page size (the ordered merge twice,
/// to show its memory follows the page, not the table).
const DRAINS: [(MergeMode, usize); 4] = [
    (MergeMode::OrderedStreaming, 100),
    (MergeMode::OrderedStreaming, 1_000),
    (MergeMode::UnorderedStreaming, 1_000),
    (MergeMode::OrderedEager, 1_000),
];

/// Most rows the drains cover (the eager merge re-drains the rest of the
/// range on every page, so the range stays small).
const MAX_SPAN: u64 = 20_000;

/// What one observed drain returned and what its observer counted.
#[derive(Debug)]
struct Observed {
    mode: MergeMode,
    limit: usize,
    traversal: Traversal,
    shards_opened: usize,
    yielded: u64,
    peak: usize,
    waits: u64,
    workers_started: u64,
    workers_exited: u64,
    workers_alive: usize,
}

fn drain(
    show: &mut Show<'_>,
    mode: MergeMode,
    limit: usize,
    span: u64,
) -> Result<Observed, CliError> {
    let sql = format!(
        "SELECT id, customer, amount FROM orders WHERE id BETWEEN 1 AND {span} LIMIT {limit} \
         WITH (merge = '{}')",
        mode.name()
    );
    let plan = show.plan_of(&sql)?;
    let observer = Arc::new(CountingObserver::new());
    let ctx = show
        .db
        .exec_context()
        .clone()
        .with_observer(observer.clone());
    let label = format!("{} merge, pages of {limit}, all pages", mode.name());
    let traversal = show.traverse_in(&label, &plan, &ctx)?;
    Ok(Observed {
        mode,
        limit,
        traversal,
        shards_opened: observer.shards_opened().len(),
        yielded: observer.total_yielded(),
        peak: observer.peak_buffered(),
        waits: observer.backpressure_waits(),
        workers_started: observer.workers_started(),
        workers_exited: observer.workers_exited(),
        workers_alive: observer.workers_alive(),
    })
}

fn first_ids(rows: &[Vec<Value>]) -> Vec<i64> {
    rows.iter()
        .filter_map(|r| match r.first() {
            Some(Value::Int(id)) => Some(*id),
            _ => None,
        })
        .collect()
}

pub fn statistics(show: &mut Show<'_>, rows: u64) -> Result<(), CliError> {
    let span = (rows / 4).min(MAX_SPAN);
    let shards = show
        .db
        .table(super::data::TABLE)
        .map_or(1, |t| t.shards as usize);
    let options = show.db.exec_context().options.clone();
    let (chunk, channel) = (options.chunk_len, options.channel_capacity.max(1));
    let ordered_bound = shards * chunk;
    let unordered_bound = shards * (channel + chunk);
    show.heading(
        "Watching the merges: MergeObserver",
        &format!(
            "A CountingObserver on the executor context counts what every shard merge of a page \
             does. Each mode below drains ids 1 to {span} page by page; the ordered merge keeps \
             at most one chunk per shard (chunk_len {chunk}), the unordered one adds a channel \
             of {channel} rows per shard, the eager one holds the rest of the result."
        ),
    )?;
    show.sql(&format!(
        "SELECT id, customer, amount FROM orders WHERE id BETWEEN 1 AND {span} LIMIT <page> \
         WITH (merge = '<mode>')"
    ))?;
    let mut runs = Vec::new();
    for (mode, limit) in DRAINS {
        runs.push(drain(show, mode, limit, span)?);
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED).set_header([
        "merge",
        "LIMIT",
        "pages",
        "shards",
        "rows yielded",
        "peak buffered",
        "bound",
        "waits",
        "workers",
    ]);
    for run in &runs {
        let bound = match run.mode {
            MergeMode::OrderedStreaming => format!("{ordered_bound} = {shards} x {chunk}"),
            MergeMode::UnorderedStreaming => {
                format!("{unordered_bound} = {shards} x ({channel} + {chunk})")
            }
            MergeMode::OrderedEager => "rest of result".into(),
        };
        table.add_row([
            run.mode.name().to_owned(),
            run.limit.to_string(),
            run.traversal.pages.to_string(),
            format!("{} of {shards}", run.shards_opened),
            run.yielded.to_string(),
            run.peak.to_string(),
            bound,
            run.waits.to_string(),
            format!("{}/{}", run.workers_started, run.workers_exited),
        ]);
    }
    for at in [1, 2, 4, 5, 7, 8] {
        if let Some(column) = table.column_mut(at) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    show.table(&table)?;
    show.say(
        "  shards: shards opened; rows yielded: rows the shards' streams read, each page's \
         read-ahead included; peak buffered: the most rows the merge held at once; waits: \
         times a producer found the channel full and waited for the page (backpressure); \
         workers: threads started/exited. The drains' times are in the summary at the end.",
    )?;
    check_runs(show, &runs, span, shards, (ordered_bound, unordered_bound))
}

fn check_runs(
    show: &mut Show<'_>,
    runs: &[Observed],
    span: u64,
    shards: usize,
    (ordered_bound, unordered_bound): (usize, usize),
) -> Result<(), CliError> {
    let of = |mode: MergeMode| runs.iter().filter(move |r| r.mode == mode);
    let ordered_peaks: Vec<String> = of(MergeMode::OrderedStreaming)
        .map(|r| format!("{} with pages of {}", r.peak, r.limit))
        .collect();
    show.check(
        of(MergeMode::OrderedStreaming).all(|r| r.peak > 0 && r.peak <= ordered_bound),
        &format!(
            "the ordered merge held at most {ordered_bound} rows ({} shards x chunk_len): peak {}",
            shards,
            ordered_peaks.join(", ")
        ),
    )?;
    for run in of(MergeMode::UnorderedStreaming) {
        show.check(
            run.peak > 0
                && run.peak <= unordered_bound
                && run.workers_started >= run.shards_opened as u64
                && run.workers_started == run.workers_exited
                && run.workers_alive == 0,
            &format!(
                "the unordered merge held at most {unordered_bound} rows (peak {}), and all {} \
                 worker threads it started exited",
                run.peak, run.workers_started
            ),
        )?;
    }
    for run in of(MergeMode::OrderedEager) {
        show.check(
            run.peak as u64 >= span && run.workers_started == 0,
            &format!(
                "the eager merge held the whole rest of the result at once (peak {} for {span} \
                 rows): it is for small results",
                run.peak
            ),
        )?;
    }
    let expected: Vec<i64> = (1..=span as i64).collect();
    let in_order = runs
        .iter()
        .filter(|r| r.mode != MergeMode::UnorderedStreaming)
        .all(|r| first_ids(&r.traversal.rows) == expected);
    let expected_set: BTreeSet<i64> = expected.iter().copied().collect();
    let as_sets = runs.iter().all(|r| {
        let ids = first_ids(&r.traversal.rows);
        ids.len() == expected.len() && ids.into_iter().collect::<BTreeSet<i64>>() == expected_set
    });
    let all_opened = runs.iter().all(|r| r.shards_opened == shards);
    show.check(
        in_order && as_sets && all_opened,
        &format!(
            "every drain read all {shards} shards and returned ids 1 to {span} once each \
             (ordered and eager in id order)"
        ),
    )
}
