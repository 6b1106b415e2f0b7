//! Point pages: the first page of a plan that looks up one primary key
//! (`ByKeys` with a single key), read by one map get instead of a stream.
//! The page is the one the streaming path returns: the row if the key
//! holds one, it passes the filter and OFFSET does not skip it; stop
//! `Exhausted`; no cursor (a first page has no `prev`, and nothing can
//! follow a traversal's only key, so no `next`). A plan with a budget, a
//! cancellation token or an observer, a resumed page, a LIMIT of 0, or a
//! plan reading more than one shard takes the streaming path. This module
//! never mints or checks a cursor.

use keyset_plan::{AccessPath, Budget, CursorKind, OrderStrategy, Plan, ShardSet};
use keyset_store::{RawDataKey, RowRef, TableView, Value};

use super::{Page, PageStats};
use crate::context::ExecContext;
use crate::stop::StopReason;

/// What one primary-key lookup read: the row, if the key holds one that
/// the filter accepts, and what that cost, counted as a by-keys stream
/// counts it (one key examined when the key is in the shard read, one row
/// fetched when it holds a row, filtered when the filter rejects it).
#[derive(Clone, Debug)]
pub struct PointRead {
    pub row: Option<RowRef>,
    pub stats: PageStats,
}

/// Looks up the row at `key` (a whole data key of `table`) in `table`.
/// With `shard`, a key owned by another shard is not looked up, as a
/// by-keys stream over that shard alone skips it; `accepts` is the plan's
/// filter.
pub fn point_lookup(
    table: &TableView,
    key: &RawDataKey,
    shard: Option<usize>,
    accepts: impl FnOnce(&[Value]) -> bool,
) -> PointRead {
    let mut stats = PageStats::default();
    let owned = table
        .shard_for_key(key)
        .is_ok_and(|owner| shard.is_none_or(|s| s == owner));
    if !owned {
        return PointRead { row: None, stats };
    }
    stats.keys_examined = 1;
    let row = table.get(key).filter(|row| {
        stats.rows_fetched = 1;
        let accepted = accepts(row.values());
        stats.rows_filtered = u64::from(!accepted);
        accepted
    });
    PointRead { row, stats }
}

/// The first page of `plan` read by one lookup, or `None` when the plan
/// must take the streaming path (see the module header).
pub(super) fn point_page(table: &TableView, plan: &Plan, ctx: &ExecContext) -> Option<Page> {
    // Rows held remotely (a cluster) are read through the streams' source.
    if table.remote().is_some() {
        return None;
    }
    let key = single_key(plan, ctx)?;
    let shard = single_shard(&plan.shards, table.shards().len())?;
    let key = RawDataKey::encode(table.def().id, key);
    let read = point_lookup(table, &key, Some(shard), |row| plan.accepts(row));
    let rows = match read.row {
        Some(row) if plan.offset == 0 => vec![row],
        // OFFSET skips the only row.
        _ => Vec::new(),
    };
    Some(Page {
        rows,
        next: None,
        prev: None,
        stop: StopReason::Exhausted,
        stats: read.stats,
        columns: plan.projection.clone(),
    })
}

/// The one primary key a first page of `plan` looks up, when the point
/// path may serve it.
fn single_key<'p>(plan: &'p Plan, ctx: &ExecContext) -> Option<&'p [Value]> {
    let eligible = ctx.options.point_lookups
        && ctx.cancel.is_none()
        && ctx.observer.is_none()
        && plan.budget == Budget::default()
        && plan.limit != Some(0)
        && plan.cursor_kind != CursorKind::ShardFrontier
        && matches!(plan.strategy, OrderStrategy::Stream(_));
    match &plan.access {
        AccessPath::ByKeys(keys) if eligible => match keys.as_slice() {
            [key] if key.len() == plan.table.primary_key.len() => Some(key),
            _ => None,
        },
        _ => None,
    }
}

/// The shard a plan reads when it reads exactly one (of `shard_count`).
fn single_shard(shards: &ShardSet, shard_count: usize) -> Option<usize> {
    match shards {
        ShardSet::All => (shard_count == 1).then_some(0),
        ShardSet::Only(list) => {
            let mut read = list.iter().copied().filter(|&s| s < shard_count);
            match (read.next(), read.next()) {
                (Some(s), None) => Some(s),
                _ => None,
            }
        }
    }
}
