//! The table-driven pagination matrices shared by `pagination.rs` (one
//! and three shards) and `shards_ordered.rs` (1, 2, 3 and 8 shards in
//! every merge mode that promises order): the contract check every plan is
//! paged through, the index-range `grid` and the composite scenarios.

use std::ops::Bound;

use keyset_executor::{Anchor, Page, StopReason};
use keyset_plan::{AccessPath, Plan};
use keyset_store::Value;

use super::*;

pub const PAGE_SIZES: [usize; 4] = [1, 2, 3, 7];

/// The index-range bound cases of seed 002 (A to D) and an open range, on
/// the second column of `by_ab` under the prefix `7` of the `grid`. None
/// of them reaches the grid's row with a NULL `b` (the whole prefix does).
pub const INDEX_RANGE_CASES: [(&str, Bound<i64>, Bound<i64>); 5] = [
    (
        "A: lower inclusive",
        Bound::Included(10),
        Bound::Included(14),
    ),
    (
        "B: lower exclusive",
        Bound::Excluded(10),
        Bound::Included(14),
    ),
    (
        "C: upper inclusive",
        Bound::Included(18),
        Bound::Included(20),
    ),
    (
        "D: upper exclusive",
        Bound::Included(18),
        Bound::Excluded(20),
    ),
    ("open below", Bound::Unbounded, Bound::Excluded(7)),
];

/// Pages `plan` with every page size and checks the whole contract: the
/// pages concatenate to the unpaged result, which is the model's; every
/// page but the last is full and says `Limit`; the last says `Exhausted`
/// and has no cursor; each cursor, run again, gives the same page; the
/// `prev` of every page gives the page before it, with the same cursors;
/// anchors advance strictly.
pub fn check_contract(fx: &Fixture, plan: &Plan, label: &str) -> Vec<Vec<Vec<i64>>> {
    let expected = fx.expected(plan);
    assert_eq!(fx.unpaged(plan), expected, "{label}: unpaged result");
    let mut shapes = Vec::new();
    for size in PAGE_SIZES {
        let label = format!("{label}, page size {size}");
        let mut plan = plan.clone();
        plan.limit = Some(size);
        let pages = fx.traverse(&plan);
        assert_eq!(concat(&pages), expected, "{label}: concatenated pages");
        for (i, page) in pages.iter().enumerate() {
            if i + 1 < pages.len() {
                assert_eq!(page.rows.len(), size, "{label}: page {i} is full");
                assert_eq!(page.stop, StopReason::Limit, "{label}: page {i}");
            } else {
                assert_eq!(page.stop, StopReason::Exhausted, "{label}: last page");
                assert!(page.next.is_none(), "{label}: the last page has no cursor");
                assert!(
                    !page.rows.is_empty() || expected.is_empty(),
                    "{label}: no empty final page when the rows end on a boundary"
                );
            }
            assert_eq!(page.prev.is_some(), i > 0, "{label}: prev on page {i}");
        }
        for pair in pages.windows(2) {
            let again = fx.page(&plan, pair[0].next.as_ref());
            assert_eq!(
                ids(&again.rows),
                ids(&pair[1].rows),
                "{label}: resume is deterministic"
            );
            assert_eq!(again.next, pair[1].next, "{label}: same cursor on resume");
            let back = fx.page(&plan, pair[1].prev.as_ref());
            assert_eq!(
                ids(&back.rows),
                ids(&pair[0].rows),
                "{label}: prev gives the page before"
            );
            assert_eq!(back.next, pair[0].next, "{label}: prev page's next");
            assert_eq!(back.prev, pair[0].prev, "{label}: prev page's prev");
        }
        check_anchors_advance(fx, &plan, &pages, &label);
        shapes.push(pages.iter().map(|p| ids(&p.rows)).collect());
    }
    shapes
}

/// The anchors of successive `next` cursors advance strictly.
pub fn check_anchors_advance(fx: &Fixture, plan: &Plan, pages: &[Page], label: &str) {
    let direction = match plan.strategy {
        keyset_plan::OrderStrategy::Stream(d) => d,
        keyset_plan::OrderStrategy::TopK => return,
    };
    let anchors: Vec<Vec<u8>> = pages
        .iter()
        .filter_map(|p| p.next.as_ref())
        .map(|c| match anchor_of(fx, plan, c) {
            Anchor::Key(key) => key.to_vec(),
            other => panic!("{label}: a key anchor, not {other:?}"),
        })
        .collect();
    for pair in anchors.windows(2) {
        assert!(
            direction.precedes(&pair[0], &pair[1]),
            "{label}: anchors advance strictly"
        );
    }
}

/// Rows with (a, b) in {7, 8} x 5..=25 and three primary keys per pair,
/// plus NULLs in both columns.
pub fn grid(shards: u32) -> Fixture {
    let mut rows = Vec::new();
    let mut id = 0;
    for a in [7, 8] {
        for b in 5..=25 {
            for _ in 0..3 {
                rows.push(row(id, Some(a), Some(b), None, Some(&format!("t{id:03}"))));
                id += 1;
            }
        }
    }
    rows.push(row(id, Some(7), None, None, None));
    rows.push(row(id + 1, None, Some(10), None, None));
    Fixture::with_rows(shards, rows)
}

pub const ROWS: i64 = 30;

/// One scenario: which ids have a = 1, b = 1, c = 1 (the others 0, or NULL
/// every seventh id), and the access path over them.
pub struct Scenario {
    pub name: &'static str,
    pub a: fn(i64) -> bool,
    pub b: fn(i64) -> bool,
    pub c: fn(i64) -> bool,
    pub path: fn(&Fixture) -> AccessPath,
}

pub fn on_boundary(id: i64) -> bool {
    (id + 1) % 2 == 0 || (id + 1) % 3 == 0 || (id + 1) % 7 == 0
}

pub fn pk_range(lo: i64, hi: i64) -> AccessPath {
    AccessPath::PrimaryRange {
        prefix: vec![],
        lower: Bound::Included(Value::Int(lo)),
        upper: Bound::Excluded(Value::Int(hi)),
    }
}

pub fn by_keys(keys: &[i64]) -> AccessPath {
    AccessPath::ByKeys(keys.iter().map(|k| vec![Value::Int(*k)]).collect())
}

/// `col >= 1` over a one-column index: not in primary-key order, so a
/// composite sorts it (sort buffer).
pub fn at_least_one(fx: &Fixture, index: &str) -> AccessPath {
    fx.range(index, &[], Bound::Included(1), Bound::Unbounded)
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "union of disjoint sets",
        a: |id| id % 3 == 0,
        b: |id| id % 3 == 1,
        c: |_| false,
        path: |fx| AccessPath::Union(vec![fx.eq("by_a", 1), fx.eq("by_b", 1)]),
    },
    Scenario {
        name: "union of overlapping sets (one sorted child)",
        a: |id| id % 2 == 0,
        b: |id| id % 3 == 0,
        c: |_| false,
        path: |fx| AccessPath::Union(vec![fx.eq("by_a", 1), at_least_one(fx, "by_b")]),
    },
    Scenario {
        name: "union with one empty child",
        a: |id| id % 2 == 0,
        b: |_| false,
        c: |_| false,
        path: |fx| AccessPath::Union(vec![fx.eq("by_a", 1), fx.eq("by_b", 1)]),
    },
    Scenario {
        name: "union overlapping exactly at the page boundaries",
        a: |id| id < 24,
        b: |id| on_boundary(id) || id == 27,
        c: |_| false,
        path: |fx| AccessPath::Union(vec![fx.eq("by_a", 1), fx.eq("by_b", 1)]),
    },
    Scenario {
        name: "nested unions",
        a: |id| id % 5 == 0,
        b: |id| id % 5 == 1,
        c: |id| id % 4 == 0,
        path: |fx| {
            AccessPath::Union(vec![
                fx.eq("by_a", 1),
                AccessPath::Union(vec![
                    fx.eq("by_b", 1),
                    AccessPath::Union(vec![fx.eq("by_c", 1), by_keys(&[3, 29, 99])]),
                ]),
            ])
        },
    },
    Scenario {
        name: "union of a primary range, a sorted range and keys",
        a: |_| false,
        b: |_| false,
        c: |id| id % 6 == 5,
        path: |fx| {
            AccessPath::Union(vec![
                pk_range(10, 16),
                at_least_one(fx, "by_c"),
                by_keys(&[0, 12, 28]),
            ])
        },
    },
    Scenario {
        name: "intersection of identical sets",
        a: |id| id % 3 == 0,
        b: |id| id % 3 == 0,
        c: |_| false,
        path: |fx| AccessPath::Intersection(vec![fx.eq("by_a", 1), fx.eq("by_b", 1)]),
    },
    Scenario {
        name: "intersection with partial overlap (one sorted child)",
        a: |id| id % 2 == 0,
        b: |id| id % 3 == 0,
        c: |_| false,
        path: |fx| AccessPath::Intersection(vec![fx.eq("by_a", 1), at_least_one(fx, "by_b")]),
    },
    Scenario {
        name: "intersection with one empty child",
        a: |id| id % 2 == 0,
        b: |_| false,
        c: |_| false,
        path: |fx| AccessPath::Intersection(vec![fx.eq("by_a", 1), fx.eq("by_b", 1)]),
    },
    Scenario {
        name: "intersection zig-zag",
        a: |id| id % 4 == 0 || id % 4 == 1,
        b: |id| id % 4 == 1 || id % 4 == 2,
        c: |id| id % 4 == 1 || id % 4 == 3,
        path: |fx| {
            AccessPath::Intersection(vec![fx.eq("by_a", 1), fx.eq("by_b", 1), fx.eq("by_c", 1)])
        },
    },
    Scenario {
        name: "intersection aligned at the page boundaries",
        a: |_| true,
        b: on_boundary,
        c: |id| id % 2 == 1 || id % 3 == 2,
        path: |fx| {
            AccessPath::Intersection(vec![fx.eq("by_a", 1), fx.eq("by_b", 1), fx.eq("by_c", 1)])
        },
    },
    Scenario {
        name: "intersection of a primary range, an index and a union",
        a: |id| id % 2 == 0,
        b: |id| id % 3 == 0,
        c: |id| id % 5 == 0,
        path: |fx| {
            AccessPath::Intersection(vec![
                pk_range(4, 27),
                fx.eq("by_a", 1),
                AccessPath::Union(vec![fx.eq("by_b", 1), fx.eq("by_c", 1)]),
            ])
        },
    },
    Scenario {
        name: "union of intersections",
        a: |id| id % 2 == 0,
        b: |id| id % 3 == 0,
        c: |id| id % 5 == 0,
        path: |fx| {
            AccessPath::Union(vec![
                AccessPath::Intersection(vec![fx.eq("by_a", 1), fx.eq("by_b", 1)]),
                AccessPath::Intersection(vec![fx.eq("by_c", 1), at_least_one(fx, "by_b")]),
            ])
        },
    },
];

pub fn scenario_rows(s: &Scenario) -> Vec<Vec<Value>> {
    let flag = |id: i64, set: bool| {
        if set {
            Some(1)
        } else if id % 7 == 0 {
            None
        } else {
            Some(0)
        }
    };
    (0..ROWS)
        .map(|id| {
            row(
                id,
                flag(id, (s.a)(id)),
                flag(id, (s.b)(id)),
                flag(id, (s.c)(id)),
                None,
            )
        })
        .collect()
}
