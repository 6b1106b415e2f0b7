//! The rule-based planner: validates a [`Query`] against the catalog, binds
//! its filter, picks a canonical access path, decides streaming or top-k,
//! routes to shards, and fills every [`Plan`] field including the cursor
//! kind and the signature. It never reads rows: whatever path it picks, the
//! whole filter stays in the plan as the residual check.

mod choose;
mod constraints;
mod exact;
mod order;
mod rebind;

use keyset_store::{Catalog, TableDef};

use crate::access::AccessPath;
use crate::canonical::{canonical_predicate, canonicalize};
use crate::error::PlanError;
use crate::expr::{bind, Predicate};
use crate::plan::{CursorKind, OrderColumn, OrderStrategy, Plan, PlanSignature, ShardSet};
use crate::query::{MergeMode, Projection, Query, MAX_LIMIT};
use crate::signature::signature;

use choose::Chooser;
pub use choose::{MAX_EXPANDED_KEYS, MAX_OR_DEPTH, MAX_UNION_CHILDREN};
use constraints::{ColumnConstraint, Constraints};
pub(crate) use order::natural_columns as natural_order_columns;
use order::OrderContext;
pub use rebind::replan_with;

/// Plans a query against the catalog.
pub fn plan(query: &Query, catalog: &Catalog) -> Result<Plan, PlanError> {
    let table = catalog
        .table(&query.table)
        .ok_or_else(|| PlanError::UnknownTable {
            table: query.table.clone(),
        })?
        .clone();
    if let Some(limit) = query.limit.filter(|l| *l > MAX_LIMIT) {
        return Err(PlanError::LimitTooLarge {
            limit,
            max: MAX_LIMIT,
        });
    }
    let filter = match &query.filter {
        None => None,
        Some(expr) => Some(canonical_predicate(bind(expr, &table)?)),
    };
    // A count's order changes nothing it returns: it streams in the
    // access path's own order, never through a top-k heap.
    let order_by = if query.projection == Projection::Count {
        Vec::new()
    } else {
        resolve_order(query, &table)?
    };
    let projection = resolve_projection(query, &table)?;

    let conjuncts = top_conjuncts(filter.as_ref());
    let top = Constraints::from_conjuncts(&conjuncts, &table);
    let constants = top.as_ref().map(Constraints::constants).unwrap_or_default();
    let order = OrderContext::new(&table, &order_by, constants);
    let chooser = Chooser {
        table: &table,
        order: &order,
    };

    let mut access = match &top {
        Err(_) => AccessPath::Empty,
        Ok(_) => canonicalize(chooser.conjunction(&conjuncts, 0)),
    };
    if access == AccessPath::FullScan && order.stream_direction(&access, &table).is_none() {
        if let Some(scan) = chooser.ordered_index_scan() {
            access = scan;
        }
    }
    let stream = order.stream_direction(&access, &table);
    let strategy = stream.map_or(OrderStrategy::TopK, OrderStrategy::Stream);
    let order_key = order.order_key(&access, &table, stream);
    let shards = match &top {
        Ok(constraints) if access != AccessPath::Empty => route(&table, constraints),
        _ => ShardSet::All,
    };
    let cursor_kind = cursor_kind(&table, &access, strategy, query.merge, &shards);
    let exact = top
        .as_ref()
        .is_ok_and(|c| exact::path_is_exact(&conjuncts, c, &access, &table));

    let mut plan = Plan {
        table,
        access,
        filter,
        exact,
        order: order_key,
        strategy,
        projection,
        limit: query.limit,
        offset: query.offset,
        budget: query.budget,
        merge: query.merge,
        consistency: query.consistency,
        shards,
        cursor_kind,
        signature: PlanSignature([0; 16]),
    };
    plan.signature = signature(&plan);
    Ok(plan)
}

/// The conjuncts of the top-level AND (the filter itself if it is not an AND).
fn top_conjuncts(filter: Option<&Predicate>) -> Vec<&Predicate> {
    match filter {
        None => Vec::new(),
        Some(Predicate::And(children)) => children.iter().collect(),
        Some(other) => vec![other],
    }
}

fn resolve_order(query: &Query, table: &TableDef) -> Result<Vec<OrderColumn>, PlanError> {
    query
        .order_by
        .iter()
        .map(|term| {
            let column =
                table
                    .column_index(&term.column)
                    .ok_or_else(|| PlanError::UnknownOrderColumn {
                        table: table.name.clone(),
                        column: term.column.clone(),
                    })?;
            Ok(OrderColumn {
                column,
                direction: term.direction,
            })
        })
        .collect()
}

fn resolve_projection(query: &Query, table: &TableDef) -> Result<Vec<usize>, PlanError> {
    match &query.projection {
        Projection::All => Ok((0..table.columns.len()).collect()),
        Projection::Count => Ok(Vec::new()),
        Projection::Columns(names) => names
            .iter()
            .map(|name| {
                table
                    .column_index(name)
                    .ok_or_else(|| PlanError::UnknownColumn {
                        table: table.name.clone(),
                        column: name.clone(),
                    })
            })
            .collect(),
    }
}

/// Partition routing: equality (or IN) on the partition column in the
/// top-level AND names the only shards that can hold matching rows.
fn route(table: &TableDef, constraints: &Constraints) -> ShardSet {
    if table.shards <= 1 {
        return ShardSet::All;
    }
    match constraints.get(table.partition_column) {
        Some(ColumnConstraint::Eq(values)) => {
            let mut shards: Vec<usize> = values
                .iter()
                .map(|v| keyset_store::table::shard_for_partition_value(table, v))
                .collect();
            shards.sort_unstable();
            shards.dedup();
            if shards.len() == table.shards as usize {
                ShardSet::All
            } else {
                ShardSet::Only(shards)
            }
        }
        _ => ShardSet::All,
    }
}

fn cursor_kind(
    table: &TableDef,
    access: &AccessPath,
    strategy: OrderStrategy,
    merge: MergeMode,
    shards: &ShardSet,
) -> CursorKind {
    let shards_touched = shards.resolve(table.shards as usize).len();
    match (strategy, access) {
        (OrderStrategy::TopK, _) => CursorKind::Sorted,
        _ if merge == MergeMode::UnorderedStreaming && shards_touched > 1 => {
            CursorKind::ShardFrontier
        }
        (_, AccessPath::IndexRange { .. }) => CursorKind::IndexRange,
        _ => CursorKind::DataKey,
    }
}
