//! Rows spread unevenly over 8 shards (one shard holds 90% of them, three
//! are empty, one holds the only match of a query), paged in all three
//! merge modes. The ordered modes keep the whole contract; the unordered
//! mode's pages concatenate to the same set, with no duplicates, and every
//! cursor, resumed twice, gives the same set going forward. A frontier
//! whose shards sit at different positions (finished, part-read, not
//! started) resumes each shard after its own position.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::ops::Bound;

use common::matrix::*;
use common::spread::*;
use common::*;
use keyset_executor::{Anchor, CursorState, ShardPosition, StopReason};
use keyset_plan::{AccessPath, MergeMode, Plan};
use keyset_store::{Direction, RawDataKey, Value};

const SHARDS: u32 = 8;
const BIG: usize = 2;
const SMALL: [usize; 5] = [0, 1, 3, 4, 7];
/// The shard holding the only row with c = 1.
const LONE: usize = 4;

/// 100 rows: 90 on shard `BIG`, 2 on each `SMALL` shard, none on 5 and 6.
/// a = id % 4, b = id % 3; c = 1 on one row of shard `LONE` only.
fn uneven() -> Fixture {
    let probe = Fixture::new(SHARDS);
    let table = probe.table();
    let mut ids = ids_on(&table, BIG, 90, 0);
    for shard in SMALL {
        ids.extend(ids_on(&table, shard, 2, 0));
    }
    let lone = ids_on(&table, LONE, 1, 0)[0];
    let rows: Vec<_> = ids
        .iter()
        .map(|&id| {
            let c = if id == lone { 1 } else { 0 };
            row(id, Some(id % 4), Some(id % 3), Some(c), None)
        })
        .collect();
    assert_eq!(rows.len(), 100);
    Fixture::with_rows(SHARDS, rows)
}

fn queries(fx: &Fixture) -> Vec<(&'static str, AccessPath)> {
    vec![
        ("full scan", AccessPath::FullScan),
        (
            "index range",
            fx.range("by_a", &[], Bound::Included(2), Bound::Unbounded),
        ),
        (
            "union",
            AccessPath::Union(vec![fx.eq("by_a", 1), fx.eq("by_b", 2)]),
        ),
        (
            "intersection with a sorted child",
            AccessPath::Intersection(vec![
                fx.eq("by_a", 1),
                fx.range("by_b", &[], Bound::Included(1), Bound::Unbounded),
            ]),
        ),
        ("the only match", fx.eq("by_c", 1)),
    ]
}

#[test]
fn ordered_modes_keep_the_contract_on_uneven_shards() {
    let fx = uneven();
    for (name, access) in queries(&fx) {
        for direction in [Direction::Asc, Direction::Desc] {
            let base = fx.stream_plan(access.clone(), direction, None);
            for mode in [MergeMode::OrderedStreaming, MergeMode::OrderedEager] {
                let label = format!("{name} {direction:?} {mode:?}");
                check_contract(&fx, &with_merge(&base, mode), &label);
            }
        }
    }
}

/// Every `next` cursor of `pages`, resumed twice, gives the same set going
/// forward: exactly the rows not on the pages before it.
fn check_every_boundary(fx: &Fixture, plan: &Plan, pages: &[keyset_executor::Page], label: &str) {
    let all: BTreeSet<i64> = expected_set(fx, plan).into_iter().collect();
    let mut before: BTreeSet<i64> = BTreeSet::new();
    for (i, page) in pages.iter().enumerate() {
        before.extend(ids(&page.rows));
        let Some(cursor) = &page.next else {
            continue;
        };
        let rest: Vec<i64> = all.difference(&before).copied().collect();
        for run in 0..2 {
            let label = format!("{label}, resumed after page {i} (run {run})");
            let forward = unordered_pages(fx, plan, Some(cursor.clone()), &label);
            assert_eq!(id_set(&forward), rest, "{label}");
        }
    }
}

#[test]
fn unordered_pages_concatenate_to_the_same_set_resumed_from_every_boundary() {
    let fx = uneven();
    for (name, access) in queries(&fx) {
        for direction in [Direction::Asc, Direction::Desc] {
            let base = with_merge(
                &fx.stream_plan(access.clone(), direction, None),
                MergeMode::UnorderedStreaming,
            );
            let expected = expected_set(&fx, &base);
            assert!(!expected.is_empty(), "{name}: the query matches rows");
            assert_eq!(id_set(&fx.traverse(&base)), expected, "{name}: unpaged");
            for size in [3, 7, 40] {
                let mut plan = base.clone();
                plan.limit = Some(size);
                let label = format!("{name} {direction:?} page size {size}");
                let pages = unordered_pages(&fx, &plan, None, &label);
                assert_eq!(id_set(&pages), expected, "{label}");
                check_every_boundary(&fx, &plan, &pages, &label);
            }
        }
    }
}

#[test]
fn a_frontier_resumes_each_shard_after_its_own_position() {
    let fx = uneven();
    let table = fx.table();
    for direction in [Direction::Asc, Direction::Desc] {
        let mut plan = with_merge(
            &fx.stream_plan(AccessPath::FullScan, direction, None),
            MergeMode::UnorderedStreaming,
        );
        plan.limit = Some(4);
        // Shard BIG read up to its 30th row in the traversal's order,
        // shard 0 finished, shard 1 not started, every other at its first
        // row (or, for the empty ones, finished).
        let in_order = |shard: usize| {
            let mut ids: Vec<i64> = fx
                .model
                .keys()
                .copied()
                .filter(|&id| shard_of(&table, id) == shard)
                .collect();
            if direction == Direction::Desc {
                ids.reverse();
            }
            ids
        };
        let key = |id: i64| RawDataKey::encode(table.id, &[Value::Int(id)]).into_bytes();
        let mut expected = Vec::new();
        let positions: Vec<ShardPosition> = (0..SHARDS as usize)
            .map(|shard| {
                let ids = in_order(shard);
                match shard {
                    BIG => {
                        expected.extend(&ids[30..]);
                        ShardPosition::After(key(ids[29]))
                    }
                    0 => ShardPosition::Finished,
                    1 => {
                        expected.extend(&ids);
                        ShardPosition::NotStarted
                    }
                    _ if ids.is_empty() => ShardPosition::Finished,
                    _ => {
                        expected.extend(&ids[1..]);
                        ShardPosition::After(key(ids[0]))
                    }
                }
            })
            .collect();
        expected.sort_unstable();
        let cursor = CursorState {
            kind: plan.cursor_kind,
            direction,
            backward: false,
            signature: plan.signature,
            database: DATABASE,
            snapshot: None,
            anchor: Anchor::Frontier(positions),
        }
        .seal(&fx.ctx.keys);
        let label = format!("hand-made frontier {direction:?}");
        let pages = unordered_pages(&fx, &plan, Some(cursor), &label);
        assert_eq!(id_set(&pages), expected, "{label}");
        // The cursors the pages mint keep one position per shard, and the
        // finished shards stay finished.
        for page in &pages {
            let Some(next) = &page.next else { continue };
            let Anchor::Frontier(now) = anchor_of(&fx, &plan, next) else {
                panic!("{label}: a frontier")
            };
            assert_eq!(now.len(), SHARDS as usize);
            assert_eq!(now[0], ShardPosition::Finished, "{label}");
        }
    }
}

#[test]
fn unordered_budgets_and_offset_keep_the_set_exact() {
    let fx = uneven();
    for direction in [Direction::Asc, Direction::Desc] {
        let base = with_merge(
            &fx.stream_plan(
                AccessPath::Union(vec![fx.eq("by_a", 1), fx.eq("by_b", 2)]),
                direction,
                None,
            ),
            MergeMode::UnorderedStreaming,
        );
        let expected = expected_set(&fx, &base);
        // A scan budget of 3 keys: short pages with cursors, each making
        // progress, together the whole set once.
        let mut budgeted = base.clone();
        budgeted.limit = Some(5);
        budgeted.budget.max_examined = Some(3);
        let pages = traverse_from(&fx, &budgeted, None);
        let mut seen = BTreeSet::new();
        for page in &pages {
            assert!(page.rows.len() <= 5);
            assert!(page.stop != StopReason::Limit || page.rows.len() == 5);
            for id in ids(&page.rows) {
                assert!(seen.insert(id), "{direction:?}: row {id} twice");
            }
        }
        assert!(pages.iter().any(|p| p.stop == StopReason::ScanBudget));
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
        // OFFSET skips rows once, on the first page: which ones is up to
        // the arrival order, how many is not.
        let mut offset = base.clone();
        offset.offset = 4;
        offset.limit = Some(6);
        let pages = unordered_pages(&fx, &offset, None, "offset");
        let got = id_set(&pages);
        assert_eq!(got.len(), expected.len() - 4);
        assert!(got.iter().all(|id| expected.binary_search(id).is_ok()));
    }
}
