//! Property tests of the pagination laws on random data (many duplicate
//! index values and NULLs), random plans of every kind (leaves, nested
//! unions and intersections, top-k) and random page sizes, offsets and
//! budgets. Each law is compared with the naive model: filter, then sort by
//! the full order key. `KEYSET_LONG_TESTS=1` runs many more cases.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;

use common::*;
use std::time::{Duration, Instant};

use keyset_executor::{Page, StopReason};
use keyset_plan::{col, AccessPath, Expr, Plan, SortDirection};
use keyset_store::{Direction, Value};
use proptest::prelude::*;

fn cases() -> u32 {
    if std::env::var_os("KEYSET_LONG_TESTS").is_some() {
        1024
    } else {
        48
    }
}

#[derive(Clone, Debug)]
enum Shape {
    Full,
    Pk(Bound<i64>, Bound<i64>),
    Keys(Vec<i64>),
    /// An index range: index name, equality prefix, range on the next column.
    Range(&'static str, Vec<i64>, Bound<i64>, Bound<i64>),
    Union(Vec<Shape>),
    Intersection(Vec<Shape>),
}

#[derive(Clone, Debug)]
enum Ordering {
    Stream(Direction),
    TopK(Vec<(usize, SortDirection)>),
}

#[derive(Clone, Debug)]
struct Case {
    shards: u32,
    rows: Vec<(Option<i64>, Option<i64>, Option<i64>)>,
    shape: Shape,
    ordering: Ordering,
    residual: Option<(usize, i64)>,
    limit: usize,
    offset: usize,
}

fn small_value() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![1 => Just(None), 4 => (0i64..4).prop_map(Some)]
}

fn bound() -> impl Strategy<Value = Bound<i64>> {
    prop_oneof![
        Just(Bound::Unbounded),
        (0i64..4).prop_map(Bound::Included),
        (0i64..4).prop_map(Bound::Excluded),
    ]
}

fn leaf() -> impl Strategy<Value = Shape> {
    prop_oneof![
        1 => Just(Shape::Full),
        1 => (bound(), bound()).prop_map(|(l, u)| Shape::Pk(l.map(|v| v * 10), u.map(|v| v * 10 + 5))),
        1 => prop::collection::vec(0i64..45, 0..6).prop_map(Shape::Keys),
        2 => (prop::sample::select(vec!["by_a", "by_b", "by_c"]), 0i64..4)
            .prop_map(|(index, v)| Shape::Range(index, vec![v], Bound::Unbounded, Bound::Unbounded)),
        2 => (prop::sample::select(vec!["by_a", "by_b"]), bound(), bound())
            .prop_map(|(index, l, u)| Shape::Range(index, vec![], l, u)),
        2 => (0i64..4, bound(), bound()).prop_map(|(a, l, u)| Shape::Range("by_ab", vec![a], l, u)),
        1 => (0i64..4, 0i64..4).prop_map(|(a, b)| Shape::Range("by_ab", vec![a, b], Bound::Unbounded, Bound::Unbounded)),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Shape::Union),
            prop::collection::vec(inner, 1..3).prop_map(Shape::Intersection),
        ]
    })
}

fn topk_terms() -> impl Strategy<Value = Vec<(usize, SortDirection)>> {
    let term = (prop::sample::select(vec![A, B, C]), prop::bool::ANY).prop_map(|(c, desc)| {
        (
            c,
            if desc {
                SortDirection::Desc
            } else {
                SortDirection::Asc
            },
        )
    });
    prop::collection::vec(term, 1..3)
}

fn ordering() -> impl Strategy<Value = Ordering> {
    prop_oneof![
        2 => Just(Ordering::Stream(Direction::Asc)),
        2 => Just(Ordering::Stream(Direction::Desc)),
        2 => topk_terms().prop_map(Ordering::TopK),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        1u32..4,
        prop::collection::vec((small_value(), small_value(), small_value()), 0..50),
        shape(),
        ordering(),
        prop::option::weighted(0.35, (prop::sample::select(vec![A, B, C]), 0i64..4)),
        1usize..7,
        prop_oneof![3 => Just(0usize), 1 => 1usize..4],
    )
        .prop_map(
            |(shards, rows, shape, ordering, residual, limit, offset)| Case {
                shards,
                rows,
                shape,
                ordering,
                residual,
                limit,
                offset,
            },
        )
}

fn path(fx: &Fixture, shape: &Shape) -> AccessPath {
    match shape {
        Shape::Full => AccessPath::FullScan,
        Shape::Pk(l, u) => AccessPath::PrimaryRange {
            prefix: vec![],
            lower: l.map(Value::Int),
            upper: u.map(Value::Int),
        },
        Shape::Keys(keys) if keys.is_empty() => AccessPath::Empty,
        Shape::Keys(keys) => {
            AccessPath::ByKeys(keys.iter().map(|k| vec![Value::Int(*k)]).collect())
        }
        Shape::Range(index, prefix, l, u) => fx.range(index, prefix, *l, *u),
        Shape::Union(children) => AccessPath::Union(children.iter().map(|c| path(fx, c)).collect()),
        Shape::Intersection(children) => {
            AccessPath::Intersection(children.iter().map(|c| path(fx, c)).collect())
        }
    }
}

/// The residual filter: `column <> value` or, for value 0, `column IS NULL`.
fn residual(residual: Option<(usize, i64)>) -> Option<Expr> {
    let names = ["id", "a", "b", "c"];
    residual.map(|(column, value)| {
        if value == 0 {
            col(names[column]).is_null()
        } else {
            col(names[column]).ne(value)
        }
    })
}

fn setup(case: &Case) -> (Fixture, Plan) {
    let fx = Fixture::with_rows(
        case.shards,
        case.rows
            .iter()
            .enumerate()
            .map(|(id, (a, b, c))| row(id as i64, *a, *b, *c, None)),
    );
    let access = path(&fx, &case.shape);
    let mut plan = match &case.ordering {
        Ordering::Stream(direction) => fx.stream_plan(access, *direction, residual(case.residual)),
        Ordering::TopK(terms) => fx.topk_plan(access, terms, residual(case.residual)),
    };
    plan.limit = Some(case.limit);
    plan.offset = case.offset;
    (fx, plan)
}

/// Follows `prev` from `page` to the first page; returns the rows before
/// `page`, in the query's order.
fn rows_before(fx: &Fixture, plan: &Plan, page: &Page) -> Vec<i64> {
    let mut before = Vec::new();
    let mut cursor = page.prev.clone();
    let mut steps = 0;
    while let Some(c) = cursor {
        let back = fx.page(plan, Some(&c));
        before.splice(0..0, ids(&back.rows));
        cursor = back.prev.clone();
        steps += 1;
        assert!(steps < 10_000, "a backward traversal that does not end");
    }
    before
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn pages_concatenate_to_the_unpaged_result_which_is_the_model(case in case()) {
        let (fx, plan) = setup(&case);
        let expected = fx.expected(&plan);
        prop_assert_eq!(fx.unpaged(&plan), expected.clone());
        let pages = fx.traverse(&plan);
        prop_assert_eq!(concat(&pages), expected.clone());
        for (i, page) in pages.iter().enumerate() {
            prop_assert!(page.rows.len() <= case.limit);
            if i + 1 < pages.len() {
                prop_assert_eq!(page.rows.len(), case.limit);
            }
        }
    }

    #[test]
    fn prev_pages_mirror_the_forward_pages(mut case in case()) {
        case.offset = 0;
        let (fx, plan) = setup(&case);
        let pages = fx.traverse(&plan);
        for pair in pages.windows(2) {
            let back = fx.page(&plan, pair[1].prev.as_ref());
            prop_assert_eq!(ids(&back.rows), ids(&pair[0].rows));
            prop_assert_eq!(&back.next, &pair[0].next);
            prop_assert_eq!(&back.prev, &pair[0].prev);
        }
        if let Some(last) = pages.last().filter(|_| pages.len() > 1) {
            let mut all = rows_before(&fx, &plan, last);
            all.extend(ids(&last.rows));
            prop_assert_eq!(all, fx.expected(&plan));
        }
    }

    #[test]
    fn budgets_never_change_the_result_and_every_page_makes_progress(
        case in case(),
        max_examined in 1u64..12,
        max_bytes in prop::option::of(1u64..120),
    ) {
        let (fx, mut plan) = setup(&case);
        plan.budget.max_examined = Some(max_examined);
        plan.budget.max_bytes = max_bytes;
        let expected = fx.expected(&plan);
        // Every page returns rows or resumes strictly further (anchor keys
        // advance; a top-k pass scans further or starts after a later row).
        let pages = traverse_with_progress(&fx, &plan);
        prop_assert_eq!(concat(&pages), expected.clone());
        for page in &pages {
            prop_assert!(page.rows.len() <= case.limit);
        }
        // Backward from the last page with rows covers everything before it.
        if case.offset == 0 {
            if let Some(last) = pages.iter().rposition(|p| !p.rows.is_empty()).filter(|i| *i > 0) {
                let before = rows_before(&fx, &plan, &pages[last]);
                let first = ids(&pages[last].rows)[0];
                let at = expected.iter().position(|id| *id == first).unwrap();
                prop_assert_eq!(before, expected[..at].to_vec());
            }
        }
    }

    #[test]
    fn top_k_budgets_never_change_the_result_and_every_page_makes_progress(
        mut case in case(),
        more_rows in prop::collection::vec((small_value(), small_value(), small_value()), 0..120),
        terms in topk_terms(),
        max_examined in prop::option::of(1u64..40),
        max_bytes in prop::option::of(1u64..300),
        late in prop::bool::weighted(0.2),
    ) {
        // Tables larger than the rows a pass keeps beyond its page, so
        // that passes cut by budgets follow each other.
        case.rows.extend(more_rows);
        case.ordering = Ordering::TopK(terms);
        let (fx, mut plan) = setup(&case);
        plan.budget.max_examined = max_examined;
        plan.budget.max_bytes = max_bytes;
        if late {
            // Every page takes one step of its pass, then stops.
            plan.budget.deadline = Some(Instant::now() - Duration::from_secs(1));
        }
        let expected = fx.expected(&plan);
        let pages = traverse_with_progress(&fx, &plan);
        prop_assert_eq!(concat(&pages), expected.clone());
        let with_rows: Vec<&Page> = pages.iter().filter(|p| !p.rows.is_empty()).collect();
        for (i, page) in with_rows.iter().enumerate() {
            // The tokens of these small rows carry every row a pass needs,
            // so a page with rows is full, but for the last one.
            if i + 1 < with_rows.len() {
                prop_assert_eq!(page.rows.len(), case.limit);
                prop_assert_eq!(page.stop, StopReason::Limit);
            }
        }
        if case.offset == 0 && with_rows.len() > 1 {
            // `prev` from a page with rows, followed through the pages a
            // budget cuts, gives exactly the page with rows before it
            // (checked at the start, the middle and the end).
            let pairs = with_rows.len() - 1;
            for i in [0, pairs / 2, pairs - 1] {
                let mut cursor = with_rows[i + 1].prev.clone();
                let mut steps = 0;
                let back = loop {
                    let page = fx.page(&plan, cursor.as_ref());
                    if !page.rows.is_empty() {
                        break page;
                    }
                    prop_assert!(page.stop.is_budget());
                    cursor = page.prev.clone();
                    steps += 1;
                    prop_assert!(steps < 100_000, "a backward pass that does not end");
                };
                prop_assert_eq!(ids(&back.rows), ids(&with_rows[i].rows));
            }
        }
    }
}
