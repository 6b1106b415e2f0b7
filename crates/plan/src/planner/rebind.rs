//! Replanning a prepared statement for new values without running the
//! planner's rules again, where that is exact: when the filter is an AND of
//! `column = value` on distinct columns with no NULL value, every rule's
//! choice depends on *which* columns are constrained, never on the values.
//! Only the values inside the access path and the filter, the shard a
//! partition value routes to, and the signature change; this module
//! rewrites exactly those. Any other filter returns `None` and the caller
//! plans in full. It never changes a plan's shape.

use std::ops::Bound;

use keyset_store::{TableDef, Value};

use crate::access::AccessPath;
use crate::canonical::{canonical_predicate, canonicalize};
use crate::expr::{bind, CmpOp, Predicate};
use crate::plan::{Plan, PlanSignature, ShardSet};
use crate::query::Query;
use crate::signature::{signature, signature_of_canonical};

/// The plan of `query`, made from `template`: a plan of a query that
/// differs from `query` only in its values (the same prepared statement
/// bound to other values). `None` when the reuse would not be exact.
pub fn replan_with(template: &Plan, query: &Query) -> Option<Plan> {
    let table = &template.table;
    let filter = canonical_predicate(bind(query.filter.as_ref()?, table).ok()?);
    let values = equalities(&filter)?;
    let template_values = equalities(template.filter.as_ref()?)?;
    let same_columns = values.len() == template_values.len()
        && values
            .iter()
            .zip(&template_values)
            .all(|((a, _), (b, _))| a == b);
    if !same_columns
        || query.merge != template.merge
        || query.consistency != template.consistency
        || query.limit.is_some_and(|l| l > crate::query::MAX_LIMIT)
    {
        return None;
    }
    let value_of = |column: usize| {
        values
            .binary_search_by_key(&column, |(c, _)| *c)
            .ok()
            .map(|at| values[at].1.clone())
    };
    let access = substitute(&template.access, table, &value_of)?;
    let shards = match (&template.shards, table.shards > 1) {
        (ShardSet::Only(_), true) => {
            let value = value_of(table.partition_column)?;
            ShardSet::Only(vec![keyset_store::table::shard_for_partition_value(
                table, &value,
            )])
        }
        (other, _) => other.clone(),
    };
    let mut plan = Plan {
        table: table.clone(),
        access,
        filter: Some(filter),
        // Exactness depends on which columns are constrained, not values.
        exact: template.exact,
        order: template.order.clone(),
        strategy: template.strategy,
        projection: template.projection.clone(),
        limit: query.limit,
        offset: query.offset,
        budget: query.budget,
        merge: query.merge,
        consistency: query.consistency,
        shards,
        cursor_kind: template.cursor_kind,
        signature: PlanSignature([0; 16]),
    };
    // The access path and the filter were put in canonical form above.
    plan.signature = signature_of_canonical(&plan);
    debug_assert_eq!(plan.signature, signature(&plan));
    Some(plan)
}

/// The `(column, value)` pairs of a bound AND of `column = value` on
/// distinct columns with non-NULL values, sorted by column; `None` for any
/// other predicate.
fn equalities(filter: &Predicate) -> Option<Vec<(usize, &Value)>> {
    let terms = match filter {
        Predicate::And(children) => children.iter().collect(),
        single => vec![single],
    };
    let mut out = Vec::with_capacity(terms.len());
    for term in terms {
        match term {
            Predicate::Cmp {
                column,
                op: CmpOp::Eq,
                value,
            } if !value.is_null() => out.push((*column, value)),
            _ => return None,
        }
    }
    out.sort_by_key(|(c, _)| *c);
    out.windows(2).all(|w| w[0].0 != w[1].0).then_some(out)
}

/// The template's access path with each equality value replaced by the
/// new value of its column; `None` for a path this module cannot rewrite.
fn substitute(
    path: &AccessPath,
    table: &TableDef,
    value_of: &dyn Fn(usize) -> Option<Value>,
) -> Option<AccessPath> {
    let unbounded = |lower: &Bound<Value>, upper: &Bound<Value>| {
        matches!((lower, upper), (Bound::Unbounded, Bound::Unbounded))
    };
    let prefix_of = |columns: &[usize], len: usize| -> Option<Vec<Value>> {
        columns.get(..len)?.iter().map(|&c| value_of(c)).collect()
    };
    Some(match path {
        AccessPath::FullScan => AccessPath::FullScan,
        AccessPath::ByKeys(keys) if keys.len() == 1 => AccessPath::ByKeys(vec![prefix_of(
            &table.primary_key,
            table.primary_key.len(),
        )?]),
        AccessPath::PrimaryRange {
            prefix,
            lower,
            upper,
        } if unbounded(lower, upper) => AccessPath::PrimaryRange {
            prefix: prefix_of(&table.primary_key, prefix.len())?,
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        },
        AccessPath::IndexRange {
            index,
            prefix,
            lower,
            upper,
        } if unbounded(lower, upper) => AccessPath::IndexRange {
            index: *index,
            prefix: prefix_of(&table.index_by_id(*index)?.columns, prefix.len())?,
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        },
        AccessPath::Intersection(children) => canonicalize(AccessPath::Intersection(
            children
                .iter()
                .map(|c| substitute(c, table, value_of))
                .collect::<Option<_>>()?,
        )),
        _ => return None,
    })
}
