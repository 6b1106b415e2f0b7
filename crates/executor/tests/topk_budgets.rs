//! Budgets on top-k pages: `max_examined`, `max_bytes`, the deadline and
//! cancellation cut a top-k pass, and the page returns at once, empty, with
//! a cursor that carries the pass (where it stopped, the best rows it met),
//! so that the next page continues it. Budgets bound work, never meaning:
//! the pages still concatenate to the unpaged result and to the naive
//! model, every page returns rows or resumes further, `prev` still gives
//! the previous page, and a page examines about `max_examined` keys.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use keyset_executor::{
    execute_page, Anchor, CancelToken, Cursor, ExecError, MergeObserver, Page, StopReason,
};
use keyset_plan::{col, AccessPath, Expr, Plan, SortDirection};
use keyset_store::Value;

use SortDirection::{Asc, Desc};

/// `n` rows with many duplicates and NULLs in every ORDER BY column.
fn fixture(shards: u32, n: i64) -> Fixture {
    Fixture::with_rows(
        shards,
        (0..n).map(|id| {
            let nullable = |v: i64, every: i64| (id % every != 0).then_some(v);
            row(
                id,
                nullable(id % 5, 11),
                nullable(id % 4, 7),
                nullable((id * 7) % 13, 9),
                None,
            )
        }),
    )
}

/// Access paths of every stream key space: the primary key, an index read
/// in index order, and a union in primary-key order.
fn paths(fx: &Fixture) -> Vec<(&'static str, AccessPath)> {
    vec![
        ("full scan", AccessPath::FullScan),
        (
            "index range",
            fx.range("by_a", &[], Bound::Included(1), Bound::Unbounded),
        ),
        (
            "union",
            AccessPath::Union(vec![fx.eq("by_a", 1), fx.eq("by_b", 2)]),
        ),
        (
            "primary range",
            AccessPath::PrimaryRange {
                prefix: vec![],
                lower: Bound::Included(Value::Int(20)),
                upper: Bound::Included(Value::Int(250)),
            },
        ),
    ]
}

const ORDERS: [&[(usize, SortDirection)]; 4] = [
    &[(C, Asc)],
    &[(C, Desc)],
    &[(B, Desc), (C, Asc)],
    &[(A, Asc), (B, Desc)],
];

fn residuals() -> [Option<Expr>; 2] {
    [None, Some(col("c").ne(3).or(col("c").is_null()))]
}

/// Checks a traversal of `plan` (which has a budget) against the model:
/// the concatenation, progress, stop reasons, page sizes and cost.
fn check_traversal(fx: &Fixture, plan: &Plan, label: &str, slack: u64) -> Vec<Page> {
    let expected = fx.expected(plan);
    assert_eq!(fx.unpaged(plan), expected, "{label}: unpaged");
    let pages = traverse_with_progress(fx, plan);
    assert_eq!(concat(&pages), expected, "{label}: concatenated pages");
    let limit = plan.limit.unwrap();
    let last = pages.len() - 1;
    for (i, page) in pages.iter().enumerate() {
        if i == last {
            assert_eq!(page.stop, StopReason::Exhausted, "{label}: last page");
        } else if page.rows.is_empty() {
            assert!(page.stop.is_budget(), "{label}: page {i} {:?}", page.stop);
        } else {
            assert_eq!(page.rows.len(), limit, "{label}: page {i} is full");
            assert_eq!(page.stop, StopReason::Limit, "{label}: page {i}");
        }
        if let Some(max) = plan.budget.max_examined {
            // The page that finishes a pass looks up again the rows the
            // cursor carried, at most one per row it returns.
            let bound = max + slack + page.rows.len() as u64;
            assert!(
                page.stats.keys_examined <= bound,
                "{label}: page {i} examined {} keys, over {bound}",
                page.stats.keys_examined
            );
        }
    }
    pages
}

/// `prev` from every page with rows but the first gives exactly the page
/// with rows before it: at once without a budget, and through the pages a
/// budget cuts with one.
fn check_backward(fx: &Fixture, plan: &Plan, pages: &[Page], label: &str) {
    let with_rows: Vec<&Page> = pages.iter().filter(|p| !p.rows.is_empty()).collect();
    let mut unbudgeted = plan.clone();
    unbudgeted.budget = Default::default();
    for pair in with_rows.windows(2) {
        let prev = pair[1]
            .prev
            .as_ref()
            .expect("a page after the first has prev");
        let at_once = fx.page(&unbudgeted, Some(prev));
        assert_eq!(ids(&at_once.rows), ids(&pair[0].rows), "{label}: prev");
        let mut cursor = Some(prev.clone());
        let back = loop {
            let page = fx.page(plan, cursor.as_ref());
            if !page.rows.is_empty() {
                break page;
            }
            assert!(page.stop.is_budget(), "{label}: an empty backward page");
            assert!(
                page.next.is_none(),
                "{label}: an empty page has no first row"
            );
            cursor = page.prev.clone();
        };
        assert_eq!(
            ids(&back.rows),
            ids(&pair[0].rows),
            "{label}: budgeted prev"
        );
        assert_eq!(back.next, at_once.next, "{label}: its next");
    }
}

#[test]
fn scan_budgets_of_any_size_keep_top_k_pages_exact() {
    let fx = fixture(1, 300);
    // (max_examined, limit): from one key a page to more than the table.
    let budgets: [(u64, usize); 6] = [(1, 60), (3, 25), (17, 9), (64, 4), (150, 7), (400, 5)];
    let mut cut = 0;
    for (p, (name, access)) in paths(&fx).into_iter().enumerate() {
        for (o, terms) in ORDERS.iter().enumerate() {
            for (r, residual) in residuals().into_iter().enumerate() {
                // Every path meets every order and filter; the budgets
                // rotate so that each meets every path too.
                let (max, limit) = budgets[(p + o + r) % budgets.len()];
                let mut plan = fx.topk_plan(access.clone(), terms, residual);
                plan.limit = Some(limit);
                plan.budget.max_examined = Some(max);
                let label = format!("{name} by {terms:?} filtered {r} max {max} limit {limit}");
                let pages = check_traversal(&fx, &plan, &label, 1);
                cut += pages.iter().filter(|p| p.rows.is_empty()).count();
                check_backward(&fx, &plan, &pages, &label);
            }
        }
    }
    assert!(cut > 1000, "budgets cut passes ({cut} empty pages)");
}

#[test]
fn every_budget_from_one_key_to_the_whole_table_gives_the_same_rows() {
    let fx = fixture(1, 120);
    let access = fx.range("by_c", &[], Bound::Unbounded, Bound::Included(9));
    let mut plan = fx.topk_plan(access, &[(B, Desc), (A, Asc)], None);
    plan.limit = Some(40);
    for max in 1..=130 {
        plan.budget.max_examined = Some(max);
        check_traversal(&fx, &plan, &format!("max {max}"), 0);
    }
}

#[test]
fn sharded_top_k_pages_under_a_scan_budget_are_exact() {
    let fx = fixture(3, 200);
    for (name, access) in paths(&fx) {
        for max in [1, 10, 90] {
            let mut plan = fx.topk_plan(access.clone(), &[(C, Desc), (B, Asc)], None);
            plan.limit = Some(30);
            plan.budget.max_examined = Some(max);
            let label = format!("3 shards, {name}, max {max}");
            // Starting the streams reads one key of each leaf in each shard.
            let leaves = if name == "union" { 2 } else { 1 };
            let pages = check_traversal(&fx, &plan, &label, 3 * leaves);
            check_backward(&fx, &plan, &pages, &label);
        }
    }
}

#[test]
fn byte_budgets_cut_top_k_passes_and_keep_pages_exact() {
    let fx = fixture(2, 150);
    for max_bytes in [1, 60, 700, 100_000] {
        let mut plan = fx.topk_plan(AccessPath::FullScan, &[(A, Desc), (C, Desc)], None);
        plan.limit = Some(20);
        plan.budget.max_bytes = Some(max_bytes);
        let label = format!("max_bytes {max_bytes}");
        let pages = check_traversal(&fx, &plan, &label, 0);
        let cut = pages.iter().any(|p| p.stop == StopReason::ByteBudget);
        assert_eq!(cut, max_bytes < 100_000, "{label}");
        check_backward(&fx, &plan, &pages, &label);
    }
}

#[test]
fn offset_on_a_cut_first_page_is_carried_and_applied_once() {
    let fx = fixture(1, 100);
    for offset in [1, 13, 99, 100, 150] {
        for max in [1, 7, 500] {
            let mut plan = fx.topk_plan(AccessPath::FullScan, &[(C, Asc)], None);
            plan.offset = offset;
            plan.limit = Some(8);
            plan.budget.max_examined = Some(max);
            check_traversal(&fx, &plan, &format!("offset {offset} max {max}"), 0);
        }
    }
}

#[test]
fn a_cursor_too_small_for_the_rows_a_pass_needs_gives_short_pages_that_add_up() {
    // Long ORDER BY values: a cursor carries about 25 of them, fewer than
    // a page of 60 needs. The page that finishes such a pass returns the
    // rows it knows to be next, says what cut the pass, and the next page
    // starts a new pass after its last row.
    let rows = (0..150).map(|id| {
        let tag = format!("{:03}{}", (id * 37) % 150, "x".repeat(200));
        row(id, Some(id % 3), None, None, Some(&tag))
    });
    let fx = Fixture::with_rows(1, rows);
    for offset in [0, 70] {
        let mut plan = fx.topk_plan(AccessPath::FullScan, &[(TAG, Desc)], None);
        plan.offset = offset;
        plan.limit = Some(60);
        plan.budget.max_examined = Some(50);
        let expected = fx.expected(&plan);
        let pages = traverse_with_progress(&fx, &plan);
        assert_eq!(concat(&pages), expected, "offset {offset}");
        let short = pages
            .iter()
            .filter(|p| !p.rows.is_empty() && p.rows.len() < 60 && p.next.is_some())
            .count();
        assert!(short > 0, "offset {offset}: some pages are short");
        for page in &pages {
            if page.next.is_some() && page.rows.len() < 60 {
                assert_eq!(page.stop, StopReason::ScanBudget, "offset {offset}");
            }
            let token = page.next.as_ref().map_or(0, |c| c.as_str().len());
            assert!(token <= keyset_executor::MAX_CURSOR_BYTES);
        }
    }
}

#[test]
fn a_pass_spread_over_pages_finds_several_pages_of_rows_at_once() {
    let fx = fixture(1, 300);
    let mut plan = fx.topk_plan(AccessPath::FullScan, &[(C, Asc)], None);
    plan.limit = Some(8);
    plan.budget.max_examined = Some(40);
    let pages = check_traversal(&fx, &plan, "spread passes", 0);
    // A pass keeps 64 rows beyond its page: each pass (8 pages of 40 keys)
    // finds 8 pages of rows, served from the cursor by key lookups only.
    let from_cursor = pages
        .iter()
        .filter(|p| !p.rows.is_empty() && p.stats.keys_examined <= 8)
        .count();
    assert!(from_cursor >= 30, "{from_cursor} pages needed no pass");
    let cut = pages.iter().filter(|p| p.rows.is_empty()).count();
    assert!(cut < 50, "{cut} pages cut by the budget for 300 rows");
    // Without a budget, every page is a pass of its own, and its cursor
    // carries no rows.
    let mut unbudgeted = plan.clone();
    unbudgeted.budget = Default::default();
    let first = fx.page(&unbudgeted, None);
    assert!(matches!(
        anchor_of(&fx, &plan, first.next.as_ref().unwrap()),
        Anchor::Sorted { .. }
    ));
}

#[test]
fn without_a_limit_budgeted_top_k_pages_still_add_up() {
    let fx = fixture(2, 150);
    for max in [1, 10, 60] {
        let mut plan = fx.topk_plan(AccessPath::FullScan, &[(B, Asc), (C, Desc)], None);
        plan.budget.max_examined = Some(max);
        let pages = traverse_with_progress(&fx, &plan);
        assert_eq!(concat(&pages), fx.expected(&plan), "max {max}");
        assert!(pages.len() > 2, "max {max}: budgets cut the pages");
    }
}

/// Cancels its token once the merge has yielded `after` rows.
struct CancelAfter {
    token: CancelToken,
    after: u64,
    seen: AtomicU64,
}

impl MergeObserver for CancelAfter {
    fn row_yielded(&self, _shard: usize) {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.after {
            self.token.cancel();
        }
    }
}

#[test]
fn a_cancelled_top_k_page_stops_empty_with_a_cursor_that_resumes_exactly() {
    let fx = fixture(2, 200);
    for terms in ORDERS {
        let mut plan = fx.topk_plan(AccessPath::FullScan, terms, None);
        plan.limit = Some(15);
        let expected = fx.expected(&plan);

        // Cancelled before the page starts: one step, then the stop.
        let token = CancelToken::new();
        token.cancel();
        let ctx = fx.ctx.clone().with_cancel(token);
        let page = execute_page(&fx.store.read(), &plan, None, &ctx).unwrap();
        assert_eq!(page.stop, StopReason::Cancelled);
        assert!(page.rows.is_empty() && page.prev.is_none());
        let mut pages = vec![page.clone()];
        pages.extend(traverse_from(&fx, &plan, page.next.clone()));
        assert_eq!(concat(&pages), expected, "{terms:?}: pre-cancelled");

        // Cancelled mid-pass by an observer: the pass so far is kept.
        let token = CancelToken::new();
        let observer = Arc::new(CancelAfter {
            token: token.clone(),
            after: 120,
            seen: AtomicU64::new(0),
        });
        let ctx = fx.ctx.clone().with_cancel(token).with_observer(observer);
        let page = execute_page(&fx.store.read(), &plan, None, &ctx).unwrap();
        assert_eq!(page.stop, StopReason::Cancelled);
        assert!(page.rows.is_empty());
        let next = page.next.clone().unwrap();
        let Anchor::SortedPass(pass) = anchor_of(&fx, &plan, &next) else {
            panic!("a cut pass is carried");
        };
        assert_eq!(
            pass.best.len(),
            16,
            "the best offset + limit + 1 rows so far"
        );
        let resumed = fx.page(&plan, Some(&next));
        assert_eq!(ids(&resumed.rows), expected[..15], "{terms:?}");
        assert!(
            resumed.stats.rows_fetched < 200,
            "the resumed page reads only the rest of the pass"
        );
        let mut pages = vec![page, resumed.clone()];
        pages.extend(traverse_from(&fx, &plan, resumed.next.clone()));
        assert_eq!(concat(&pages), expected, "{terms:?}: cancelled mid-pass");
    }
}

#[test]
fn a_passed_deadline_takes_one_step_a_page_and_still_finishes_exactly() {
    let fx = fixture(1, 40);
    for terms in ORDERS {
        let mut plan = fx.topk_plan(fx.eq("by_b", 1), terms, None);
        plan.limit = Some(3);
        plan.budget.deadline = Some(Instant::now() - Duration::from_secs(1));
        let pages = traverse_with_progress(&fx, &plan);
        assert_eq!(concat(&pages), fx.expected(&plan), "{terms:?}");
        let empty = pages.iter().filter(|p| p.rows.is_empty()).count();
        assert!(empty > 3, "{terms:?}: passes were cut");
        for page in pages
            .iter()
            .filter(|p| p.rows.is_empty() && p.next.is_some())
        {
            assert_eq!(page.stop, StopReason::Deadline);
            assert!(page.stats.rows_fetched <= 1, "one step of the pass");
        }
    }
}

#[test]
fn a_cut_pass_resumes_only_its_own_query_and_may_change_its_page_size() {
    let fx = fixture(1, 50);
    let mut plan = fx.topk_plan(AccessPath::FullScan, &[(C, Asc)], None);
    plan.limit = Some(5);
    plan.budget.max_examined = Some(3);
    let page = fx.page(&plan, None);
    let cut: Cursor = page.next.unwrap();
    let other = fx.topk_plan(AccessPath::FullScan, &[(C, Desc)], None);
    let err = execute_page(&fx.store.read(), &other, Some(&cut), &fx.ctx).unwrap_err();
    assert!(
        matches!(err, ExecError::InvalidCursor(ref e) if e.to_string().contains("different query")),
        "{err}"
    );
    // The page size and the budget may change between pages.
    let mut bigger = plan.clone();
    bigger.limit = Some(12);
    bigger.budget = Default::default();
    let resumed = fx.page(&bigger, Some(&cut));
    assert_eq!(ids(&resumed.rows), fx.expected(&plan)[..12]);
}
