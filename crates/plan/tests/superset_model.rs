//! The planner against a naive model on small random data: the rows an
//! access path reaches (evaluated directly over a `BTreeMap` of rows) are a
//! superset of the rows the filter accepts; partition routing keeps every
//! accepted row's shard; and a streaming plan's order key is exactly the
//! order its path yields the accepted rows in.
#![allow(clippy::unwrap_used)]

mod common;

use std::cmp::Ordering;
use std::ops::Bound;

use common::gen::{self, Rows};
use keyset_plan::{plan, AccessPath, OrderStrategy, Plan, Query, SortDirection};
use keyset_store::{Direction, TableDef, Value};
use proptest::prelude::*;

fn within(value: &Value, lower: &Bound<Value>, upper: &Bound<Value>) -> bool {
    let above = match lower {
        Bound::Unbounded => true,
        Bound::Included(l) => value >= l,
        Bound::Excluded(l) => value > l,
    };
    let below = match upper {
        Bound::Unbounded => true,
        Bound::Included(u) => value <= u,
        Bound::Excluded(u) => value < u,
    };
    above && below
}

/// Whether a key tuple matches `prefix` and has its next component inside
/// the bounds (a full-length prefix admits only unbounded bounds).
fn key_in(key: &[Value], prefix: &[Value], lower: &Bound<Value>, upper: &Bound<Value>) -> bool {
    if key.len() < prefix.len() || key[..prefix.len()] != *prefix {
        return false;
    }
    match key.get(prefix.len()) {
        Some(next) => within(next, lower, upper),
        None => matches!((lower, upper), (Bound::Unbounded, Bound::Unbounded)),
    }
}

fn values(row: &[Value], columns: &[usize]) -> Vec<Value> {
    columns.iter().map(|c| row[*c].clone()).collect()
}

/// The naive meaning of an access path: does it reach this row?
fn covers(path: &AccessPath, table: &TableDef, row: &[Value]) -> bool {
    let pk = values(row, &table.primary_key);
    match path {
        AccessPath::Empty => false,
        AccessPath::FullScan => true,
        AccessPath::ByKeys(keys) => keys.contains(&pk),
        AccessPath::PrimaryRange {
            prefix,
            lower,
            upper,
        } => key_in(&pk, prefix, lower, upper),
        AccessPath::IndexRange {
            index,
            prefix,
            lower,
            upper,
        } => {
            let def = table
                .index_by_id(*index)
                .expect("plans name existing indexes");
            key_in(&values(row, &def.columns), prefix, lower, upper)
        }
        AccessPath::Union(children) => children.iter().any(|c| covers(c, table, row)),
        AccessPath::Intersection(children) => children.iter().all(|c| covers(c, table, row)),
    }
}

/// The key a path's traversal sorts rows by, ascending: index entry
/// (index columns then primary key) for a lone index range, else the
/// primary key.
fn traversal_key(path: &AccessPath, table: &TableDef, row: &[Value]) -> Vec<Value> {
    let mut key = Vec::new();
    if let AccessPath::IndexRange { index, .. } = path {
        let def = table
            .index_by_id(*index)
            .expect("plans name existing indexes");
        key = values(row, &def.columns);
    }
    key.extend(values(row, &table.primary_key));
    key
}

fn compare_by_order(plan: &Plan, a: &[Value], b: &[Value]) -> Ordering {
    for term in &plan.order {
        let ord = a[term.column].cmp(&b[term.column]);
        let ord = match term.direction {
            SortDirection::Asc => ord,
            SortDirection::Desc => ord.reverse(),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn check_against_model(query: &Query, rows: &Rows) -> Result<(), TestCaseError> {
    let catalog = common::prop_catalog();
    let p = plan(query, &catalog).expect("generated queries are valid");
    let table = &p.table;
    let shards = p.shards.resolve(table.shards as usize);
    let mut accepted: Vec<&Vec<Value>> = Vec::new();
    for row in rows.values() {
        // An exact path (no residual check) reaches only accepted rows.
        if p.exact && covers(&p.access, table, row) {
            prop_assert!(
                p.filter_accepts(row),
                "the path {:?} is marked exact but reaches row {:?}, which the filter refuses",
                p.access,
                row
            );
        }
        if !p.filter_accepts(row) {
            continue;
        }
        prop_assert!(
            covers(&p.access, table, row),
            "row {:?} passes the filter but the path {:?} misses it",
            row,
            p.access
        );
        let shard =
            keyset_store::table::shard_for_partition_value(table, &row[table.partition_column]);
        prop_assert!(
            shards.contains(&shard),
            "row {:?} is on unrouted shard {}",
            row,
            shard
        );
        accepted.push(row);
    }
    if let OrderStrategy::Stream(direction) = p.strategy {
        let expected = match direction {
            Direction::Asc => SortDirection::Asc,
            Direction::Desc => SortDirection::Desc,
        };
        prop_assert!(p.order.iter().all(|t| t.direction == expected));
        accepted.sort_by_key(|row| traversal_key(&p.access, table, row));
        if direction == Direction::Desc {
            accepted.reverse();
        }
        for pair in accepted.windows(2) {
            prop_assert_eq!(
                compare_by_order(&p, pair[0], pair[1]),
                Ordering::Less,
                "stream order of {:?} breaks the order key {:?} between {:?} and {:?}",
                p.access,
                p.order,
                pair[0],
                pair[1]
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(256)))]

    #[test]
    fn access_paths_cover_every_accepted_row_of_t(
        query in gen::query("t", gen::T_FILTER, gen::T_ORDER),
        rows in gen::t_rows(),
    ) {
        check_against_model(&query, &rows)?;
    }

    #[test]
    fn access_paths_cover_every_accepted_row_of_sharded_s(
        query in gen::query("s", gen::S_FILTER, gen::S_ORDER),
        rows in gen::s_rows(),
    ) {
        check_against_model(&query, &rows)?;
    }
}
