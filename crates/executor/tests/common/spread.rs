//! Helpers of the shard tests (`shards_*.rs`): rows placed on chosen shards
//! by the store's own partition hash, a plan switched to another merge mode
//! as the planner would, the checks of an unordered traversal (the same set
//! as the model, each row once, no `prev`) and of worker threads (none
//! outlives its page).

use std::collections::BTreeSet;

use keyset_executor::{CountingObserver, Cursor, Page, StopReason};
use keyset_plan::{CursorKind, MergeMode, OrderStrategy, Plan};
use keyset_store::{TableDef, Value};

use super::*;

/// The shard of the `items` row with primary key `id`.
pub fn shard_of(table: &TableDef, id: i64) -> usize {
    keyset_store::table::shard_for_partition_value(table, &Value::Int(id))
}

/// The first `count` ids at or above `from` whose rows live on `shard`.
pub fn ids_on(table: &TableDef, shard: usize, count: usize, from: i64) -> Vec<i64> {
    (from..)
        .filter(|&id| shard_of(table, id) == shard)
        .take(count)
        .collect()
}

/// `plan` merged in `mode`, with the cursor kind the planner would give it
/// (a shard frontier for a streaming plan merged unordered over several
/// shards) and its signature recomputed.
pub fn with_merge(plan: &Plan, mode: MergeMode) -> Plan {
    let mut plan = plan.clone();
    plan.merge = mode;
    let shards = plan.shards.resolve(plan.table.shards as usize).len();
    if mode == MergeMode::UnorderedStreaming
        && shards > 1
        && matches!(plan.strategy, OrderStrategy::Stream(_))
    {
        plan.cursor_kind = CursorKind::ShardFrontier;
    }
    plan.signature = keyset_plan::signature(&plan);
    plan
}

/// The pages of an unordered traversal from `start`, checked: every page
/// but the last holds `limit` rows and says `Limit`, the last says
/// `Exhausted` and has no cursor, no page has `prev`, and no row appears
/// twice. Returns the pages.
pub fn unordered_pages(fx: &Fixture, plan: &Plan, start: Option<Cursor>, label: &str) -> Vec<Page> {
    let pages = traverse_from(fx, plan, start);
    let mut seen = BTreeSet::new();
    for (i, page) in pages.iter().enumerate() {
        assert!(page.prev.is_none(), "{label}: page {i} has no prev");
        for id in ids(&page.rows) {
            assert!(seen.insert(id), "{label}: row {id} appears twice");
        }
        if i + 1 < pages.len() {
            assert_eq!(page.stop, StopReason::Limit, "{label}: page {i}");
            if let Some(limit) = plan.limit {
                assert_eq!(page.rows.len(), limit, "{label}: page {i} is full");
            }
        } else {
            assert_eq!(page.stop, StopReason::Exhausted, "{label}: last page");
            assert!(page.next.is_none(), "{label}: the last page has no cursor");
        }
    }
    pages
}

/// The ids of `pages`, sorted.
pub fn id_set(pages: &[Page]) -> Vec<i64> {
    let mut all = concat(pages);
    all.sort_unstable();
    all
}

/// The model's result of `plan` as a sorted set of ids.
pub fn expected_set(fx: &Fixture, plan: &Plan) -> Vec<i64> {
    let mut all = fx.expected(plan);
    all.sort_unstable();
    all
}

/// Checks that every worker a page started has exited (the page joined
/// them before it returned).
pub fn no_worker_left(observer: &CountingObserver, label: &str) {
    assert_eq!(
        observer.workers_alive(),
        0,
        "{label}: a worker outlived its page"
    );
    assert_eq!(
        observer.workers_started(),
        observer.workers_exited(),
        "{label}: started and exited workers"
    );
}
