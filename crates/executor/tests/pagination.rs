//! The pagination contract of DESIGN.md section 6, shown on real stores:
//! index-range edge cases A to G, the composite matrix (Union and
//! Intersection scenarios x direction x page size x shard count, resumed
//! from every boundary and paged backward), permutation invariance, offset,
//! limit and top-k (the contract check and the scenarios live in
//! `common/matrix.rs`, shared with `shards_ordered.rs`). Beside it: `cost_bounds.rs` (stats counters),
//! `budgets.rs`, `live_data.rs`, `plan_shapes.rs`, `properties.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;

use common::matrix::*;
use common::*;
use keyset_executor::{Anchor, CursorState, StopReason};
use keyset_plan::AccessPath;
use keyset_store::{Direction, RawIndexKey, Value};

// ---------------------------------------------------------------------
// Index-range edge cases A to G (the raw-key anchor of seed 002).
// ---------------------------------------------------------------------

#[test]
fn index_range_bounds_cases_a_to_d() {
    for shards in [1, 3] {
        let fx = grid(shards);
        for (name, lower, upper) in INDEX_RANGE_CASES {
            for direction in [Direction::Asc, Direction::Desc] {
                let plan = fx.stream_plan(fx.range("by_ab", &[7], lower, upper), direction, None);
                let label = format!("{name} {direction:?} shards={shards}");
                check_contract(&fx, &plan, &label);
                let b_values: Vec<i64> = fx
                    .unpaged(&plan)
                    .iter()
                    .map(|id| match fx.model[id][B] {
                        Value::Int(b) => b,
                        _ => panic!("{label}: a NULL b in a range"),
                    })
                    .collect();
                assert!(
                    b_values.iter().all(|b| match (lower, upper) {
                        (Bound::Included(l), _) if *b < l => false,
                        (Bound::Excluded(l), _) if *b <= l => false,
                        (_, Bound::Included(u)) if *b > u => false,
                        (_, Bound::Excluded(u)) if *b >= u => false,
                        _ => true,
                    }),
                    "{label}: bounds respected"
                );
            }
        }
    }
}

#[test]
fn case_e_a_boundary_inside_a_group_resumes_at_the_exact_raw_key() {
    let fx = grid(1);
    let mut plan = fx.stream_plan(
        fx.range("by_ab", &[7], Bound::Included(10), Bound::Included(10)),
        Direction::Asc,
        None,
    );
    plan.limit = Some(2);
    let first = fx.page(&plan, None);
    let group: Vec<i64> = fx.unpaged(&plan);
    assert_eq!(group.len(), 3, "three rows share (7, 10)");
    assert_eq!(ids(&first.rows), group[..2]);
    let Anchor::Key(key) = anchor_of(&fx, &plan, first.next.as_ref().unwrap()) else {
        panic!("an index-range anchor")
    };
    let decoded = RawIndexKey::decode(&key, 1).unwrap();
    assert_eq!(decoded.components, vec![Value::Int(7), Value::Int(10)]);
    assert_eq!(
        decoded.primary_key,
        vec![Value::Int(group[1])],
        "the anchor is the raw key of the last row"
    );
    let second = fx.page(&plan, first.next.as_ref());
    assert_eq!(ids(&second.rows), group[2..]);
    assert!(second.next.is_none());
    check_contract(&fx, &plan, "E");
}

#[test]
fn case_f_a_unique_index() {
    let fx = grid(2);
    let tags = |from: &str, to: &str| AccessPath::IndexRange {
        index: fx.index("by_tag"),
        prefix: vec![],
        lower: Bound::Included(Value::from(from)),
        upper: Bound::Excluded(Value::from(to)),
    };
    for direction in [Direction::Asc, Direction::Desc] {
        let plan = fx.stream_plan(tags("t010", "t040"), direction, None);
        check_contract(&fx, &plan, &format!("F {direction:?}"));
        assert_eq!(fx.unpaged(&plan).len(), 30);
    }
}

#[test]
fn case_g_exhaustion_at_the_upper_bound_and_at_the_last_row() {
    let fx = grid(1);
    for direction in [Direction::Asc, Direction::Desc] {
        let mut plan = fx.stream_plan(
            fx.range("by_ab", &[8], Bound::Included(20), Bound::Included(21)),
            direction,
            None,
        );
        let all = fx.unpaged(&plan);
        assert_eq!(all.len(), 6);
        // A page that ends exactly at the last row returns no cursor.
        plan.limit = Some(3);
        let pages = fx.traverse(&plan);
        assert_eq!(pages.len(), 2);
        assert!(pages[1].next.is_none());
        assert_eq!(pages[1].stop, StopReason::Exhausted);
        // An anchor at the last key of the range: an empty, final page.
        let table = fx.table();
        let last = *all.last().unwrap();
        let r = &fx.model[&last];
        let key = RawIndexKey::encode(
            table.id,
            fx.index("by_ab"),
            &[r[A].clone(), r[B].clone()],
            &[r[ID].clone()],
        );
        let cursor = CursorState {
            kind: plan.cursor_kind,
            direction,
            backward: false,
            signature: plan.signature,
            database: DATABASE,
            snapshot: None,
            anchor: Anchor::Key(key.into_bytes()),
        }
        .seal(&fx.ctx.keys);
        let page = fx.page(&plan, Some(&cursor));
        assert!(page.rows.is_empty());
        assert!(page.next.is_none());
        assert_eq!(page.stop, StopReason::Exhausted);
    }
}

// ---------------------------------------------------------------------
// The composite matrix.
// ---------------------------------------------------------------------

#[test]
fn composite_matrix_pages_every_scenario_both_ways_and_over_shards() {
    for scenario in SCENARIOS {
        for direction in [Direction::Asc, Direction::Desc] {
            let mut by_shards = Vec::new();
            for shards in [1, 3] {
                let fx = Fixture::with_rows(shards, scenario_rows(scenario));
                let plan = fx.stream_plan((scenario.path)(&fx), direction, None);
                let label = format!("{} {direction:?} shards={shards}", scenario.name);
                by_shards.push(check_contract(&fx, &plan, &label));
            }
            assert_eq!(
                by_shards[0], by_shards[1],
                "{}: 1 and 3 shards page alike",
                scenario.name
            );
        }
    }
}

/// A page's rows and its `next` and `prev` tokens.
type PageShape = (Vec<i64>, Option<String>, Option<String>);

/// Every ordering of a list.
fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            out.push(tail);
        }
    }
    out
}

#[test]
fn permuting_children_changes_no_row_boundary_or_cursor() {
    let cases: [(&Scenario, bool); 3] = [
        (&SCENARIOS[4], true),
        (&SCENARIOS[9], false),
        (&SCENARIOS[11], false),
    ];
    for (scenario, union) in cases {
        let fx = Fixture::with_rows(2, scenario_rows(scenario));
        let children = match (scenario.path)(&fx) {
            AccessPath::Union(c) | AccessPath::Intersection(c) => c,
            other => panic!("a composite, not {other:?}"),
        };
        for direction in [Direction::Asc, Direction::Desc] {
            let mut reference: Option<Vec<PageShape>> = None;
            for order in permutations(&children) {
                let path = if union {
                    AccessPath::Union(order)
                } else {
                    AccessPath::Intersection(order)
                };
                let mut plan = fx.stream_plan(path, direction, None);
                plan.limit = Some(2);
                let pages: Vec<_> = fx
                    .traverse(&plan)
                    .into_iter()
                    .map(|p| {
                        (
                            ids(&p.rows),
                            p.next.map(|c| c.to_string()),
                            p.prev.map(|c| c.to_string()),
                        )
                    })
                    .collect();
                match &reference {
                    None => reference = Some(pages),
                    Some(reference) => {
                        assert_eq!(&pages, reference, "{} {direction:?}", scenario.name)
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------
// Offset and limit.
// ---------------------------------------------------------------------

#[test]
fn offset_applies_once_across_pages() {
    let fx = numbered(2, 20);
    for direction in [Direction::Asc, Direction::Desc] {
        for access in [
            AccessPath::FullScan,
            fx.range("by_a", &[], Bound::Included(1), Bound::Unbounded),
        ] {
            let mut plan = fx.stream_plan(access, direction, None);
            plan.offset = 3;
            plan.limit = Some(4);
            let expected = fx.expected(&plan);
            assert_eq!(fx.unpaged(&plan), expected);
            let pages = fx.traverse(&plan);
            assert_eq!(
                concat(&pages),
                expected,
                "{direction:?}: offset skipped once"
            );
            assert_eq!(pages[0].rows.len(), 4);
            assert!(pages[0].prev.is_none());
        }
    }
}

#[test]
fn limit_zero_is_an_empty_page_without_a_cursor() {
    let fx = numbered(1, 10);
    let mut plan = fx.stream_plan(AccessPath::FullScan, Direction::Asc, None);
    plan.limit = Some(0);
    let page = fx.page(&plan, None);
    assert!(page.rows.is_empty());
    assert!(page.next.is_none() && page.prev.is_none());
    assert_eq!(page.stop, StopReason::Limit);
    assert_eq!(
        page.stats.keys_examined, 0,
        "a page of nothing reads nothing"
    );
    // The same with a cursor of the plan: still nothing, no loop.
    plan.limit = Some(3);
    let first = fx.page(&plan, None);
    plan.limit = Some(0);
    let page = fx.page(&plan, first.next.as_ref());
    assert!(page.rows.is_empty() && page.next.is_none());
}

#[test]
fn limit_larger_than_the_result_is_one_page() {
    let fx = numbered(3, 10);
    for direction in [Direction::Asc, Direction::Desc] {
        let mut plan = fx.stream_plan(fx.eq("by_a", 2), direction, None);
        plan.limit = Some(100);
        let pages = fx.traverse(&plan);
        assert_eq!(pages.len(), 1);
        assert_eq!(ids(&pages[0].rows), fx.expected(&plan));
        assert_eq!(pages[0].stop, StopReason::Exhausted);
    }
}

#[test]
fn a_residual_filter_is_rechecked_on_every_row() {
    let fx = numbered(2, 40);
    for direction in [Direction::Asc, Direction::Desc] {
        let plan = fx.stream_plan(
            fx.range("by_a", &[], Bound::Included(1), Bound::Included(2)),
            direction,
            Some(keyset_plan::col("b").ne(0)),
        );
        check_contract(&fx, &plan, &format!("residual {direction:?}"));
        let page = fx.page(&plan, None);
        assert!(page.stats.rows_filtered > 0);
        assert_eq!(
            page.stats.rows_fetched - page.stats.rows_filtered,
            page.rows.len() as u64
        );
    }
}

#[test]
fn top_k_pages_follow_the_full_order_key_both_ways() {
    let mut fx = numbered(2, 25);
    fx.put([
        row(100, None, None, None, None),
        row(101, Some(1), None, None, None),
    ]);
    let terms = [
        vec![(B, keyset_plan::SortDirection::Asc)],
        vec![
            (B, keyset_plan::SortDirection::Desc),
            (A, keyset_plan::SortDirection::Asc),
        ],
    ];
    for terms in terms {
        for access in [
            AccessPath::FullScan,
            fx.range("by_a", &[], Bound::Included(1), Bound::Unbounded),
        ] {
            let plan = fx.topk_plan(access, &terms, None);
            check_contract(&fx, &plan, &format!("top-k {terms:?}"));
            let mut small = plan.clone();
            small.limit = Some(3);
            let page = fx.page(&small, None);
            assert!(
                page.stats.peak_buffered <= 4,
                "the heap holds offset + limit + 1 rows"
            );
        }
    }
}
