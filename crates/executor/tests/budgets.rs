//! Budgets bound work, never meaning: pages stopped by `max_examined`,
//! `max_bytes`, the deadline or cancellation are short (even empty), say why
//! they stopped, and resume where they stopped; the pages still concatenate
//! to the unpaged result. Also the typed errors of a page.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;
use std::time::{Duration, Instant};

use common::spread::{id_set, with_merge};
use common::*;
use keyset_executor::{
    execute_page, Anchor, CancelToken, CursorError, ExecError, ExecOptions, StopReason,
};
use keyset_plan::{col, AccessPath, MergeMode, SortDirection};
use keyset_store::{Direction, IndexSpec};

fn fixture(shards: u32) -> Fixture {
    Fixture::with_rows(
        shards,
        (0..60).map(|id| row(id, Some(id % 4), Some(id % 5), Some(id % 3), None)),
    )
}

fn composite(fx: &Fixture) -> AccessPath {
    AccessPath::Union(vec![
        AccessPath::Intersection(vec![fx.eq("by_a", 1), fx.eq("by_c", 1)]),
        fx.range("by_b", &[], Bound::Included(3), Bound::Unbounded),
    ])
}

#[test]
fn a_scan_budget_stops_pages_early_and_they_still_add_up() {
    for shards in [1, 3] {
        let fx = fixture(shards);
        for direction in [Direction::Asc, Direction::Desc] {
            for access in [AccessPath::FullScan, fx.eq("by_a", 2), composite(&fx)] {
                for max in [1, 2, 5] {
                    let mut plan = fx.stream_plan(access.clone(), direction, Some(col("b").ne(0)));
                    plan.limit = Some(4);
                    plan.budget.max_examined = Some(max);
                    let pages = fx.traverse(&plan);
                    assert_eq!(concat(&pages), fx.expected(&plan), "max_examined {max}");
                    assert!(pages.iter().any(|p| p.stop == StopReason::ScanBudget));
                    for pair in pages.windows(2) {
                        assert_ne!(pair[0].next, pair[1].next, "every page makes progress");
                    }
                    for page in &pages {
                        if page.stop == StopReason::ScanBudget {
                            assert!(page.stats.keys_examined >= 1);
                            assert!(page.next.is_some(), "a budget stop carries a cursor");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_scan_budget_cuts_a_non_aligning_intersection_between_rounds() {
    // Two disjoint children: a leapfrog that never aligns. With a budget
    // of one key the page still returns, with a cursor that moved on.
    let fx = Fixture::with_rows(
        1,
        (0..40).map(|id| row(id, Some(id % 2), Some((id + 1) % 2), None, None)),
    );
    let mut plan = fx.stream_plan(
        AccessPath::Intersection(vec![fx.eq("by_a", 1), fx.eq("by_b", 1)]),
        Direction::Asc,
        None,
    );
    plan.limit = Some(5);
    plan.budget.max_examined = Some(1);
    let pages = fx.traverse(&plan);
    assert!(concat(&pages).is_empty());
    assert!(pages.len() > 2, "the work was split over pages");
    assert!(pages[..pages.len() - 1]
        .iter()
        .all(|p| p.stop == StopReason::ScanBudget));
}

#[test]
fn a_byte_budget_stops_pages_early_and_they_still_add_up() {
    let fx = fixture(2);
    for direction in [Direction::Asc, Direction::Desc] {
        let mut plan = fx.stream_plan(composite(&fx), direction, None);
        plan.limit = Some(10);
        plan.budget.max_bytes = Some(40);
        let pages = fx.traverse(&plan);
        assert_eq!(concat(&pages), fx.expected(&plan));
        assert!(pages.iter().any(|p| p.stop == StopReason::ByteBudget));
    }
}

#[test]
fn budget_stopped_pages_page_backward_too() {
    let fx = fixture(2);
    for direction in [Direction::Asc, Direction::Desc] {
        let mut plan = fx.stream_plan(
            fx.range("by_a", &[], Bound::Included(1), Bound::Unbounded),
            direction,
            Some(col("c").ne(2)),
        );
        plan.limit = Some(3);
        plan.budget.max_examined = Some(2);
        let pages = fx.traverse(&plan);
        let expected = fx.expected(&plan);
        assert_eq!(concat(&pages), expected);
        let last = pages.iter().rposition(|p| !p.rows.is_empty()).unwrap();
        let mut before = Vec::new();
        let mut cursor = pages[last].prev.clone();
        while let Some(c) = cursor {
            let page = fx.page(&plan, Some(&c));
            before.splice(0..0, ids(&page.rows));
            cursor = page.prev.clone();
        }
        let first_of_last = ids(&pages[last].rows)[0];
        let at = expected.iter().position(|id| *id == first_of_last).unwrap();
        assert_eq!(
            before,
            expected[..at],
            "{direction:?}: backward pages cover what came before"
        );
    }
}

#[test]
fn a_past_deadline_still_makes_progress_on_every_page() {
    let fx = fixture(1);
    let mut plan = fx.stream_plan(fx.eq("by_b", 3), Direction::Desc, None);
    plan.limit = Some(5);
    plan.budget.deadline = Some(Instant::now() - Duration::from_secs(1));
    let pages = fx.traverse(&plan);
    assert_eq!(concat(&pages), fx.expected(&plan));
    assert!(pages[..pages.len() - 1]
        .iter()
        .all(|p| p.stop == StopReason::Deadline));
    assert!(pages[0].rows.len() == 1, "one step per page");
}

#[test]
fn a_cancelled_page_stops_with_a_cursor_that_resumes() {
    let mut fx = fixture(3);
    let mut plan = fx.stream_plan(composite(&fx), Direction::Asc, None);
    plan.limit = Some(6);
    let cancel = CancelToken::new();
    cancel.cancel();
    fx.ctx.cancel = Some(cancel);
    let stopped = fx.page(&plan, None);
    assert_eq!(stopped.stop, StopReason::Cancelled);
    assert!(stopped.next.is_some());
    fx.ctx.cancel = None;
    let mut pages = vec![stopped.clone()];
    pages.extend(traverse_from(&fx, &plan, stopped.next.clone()));
    assert_eq!(concat(&pages), fx.expected(&plan));
}

#[test]
fn a_cancelled_offset_skip_and_top_k_pass_stop_with_cursors_that_resume() {
    let mut fx = fixture(1);
    let cancel = CancelToken::new();
    cancel.cancel();
    let mut topk = fx.topk_plan(AccessPath::FullScan, &[(B, SortDirection::Desc)], None);
    topk.limit = Some(3);
    let mut offset = fx.stream_plan(AccessPath::FullScan, Direction::Asc, None);
    offset.offset = 5;
    offset.limit = Some(3);
    for plan in [topk, offset] {
        fx.ctx.cancel = Some(cancel.clone());
        let stopped = fx.page(&plan, None);
        assert_eq!(stopped.stop, StopReason::Cancelled);
        assert!(stopped.rows.is_empty(), "no row is known yet");
        assert!(stopped.next.is_some());
        fx.ctx.cancel = None;
        let mut pages = vec![stopped.clone()];
        pages.extend(traverse_from(&fx, &plan, stopped.next.clone()));
        assert_eq!(concat(&pages), fx.expected(&plan));
    }
}

#[test]
fn budgets_stop_offset_skipping_and_the_cursor_carries_the_rest_of_the_offset() {
    for shards in [1, 3] {
        let fx = fixture(shards);
        for direction in [Direction::Asc, Direction::Desc] {
            for access in [AccessPath::FullScan, fx.eq("by_a", 2), composite(&fx)] {
                for (max, late) in [(Some(2), false), (None, true)] {
                    let mut plan = fx.stream_plan(access.clone(), direction, Some(col("b").ne(0)));
                    plan.offset = 7;
                    plan.limit = Some(4);
                    plan.budget.max_examined = max;
                    if late {
                        plan.budget.deadline = Some(Instant::now() - Duration::from_secs(1));
                    }
                    let label = format!("{shards} shards {direction:?} {access:?} {max:?}");
                    let pages = traverse_with_progress(&fx, &plan);
                    assert_eq!(concat(&pages), fx.expected(&plan), "{label}");
                    let first = pages[0].next.as_ref().unwrap();
                    // The composite's sort buffer is cut while it collects,
                    // before a row can be skipped: its cursor keeps the
                    // whole offset and the collection's progress.
                    let sorted = access == composite(&fx);
                    assert!(
                        match anchor_of(&fx, &plan, first) {
                            Anchor::KeySkip { offset_left, .. } =>
                                !sorted && (1..=7).contains(&offset_left),
                            Anchor::Collecting(state) => sorted && state.offset_left == 7,
                            _ => false,
                        },
                        "{label}: the first page stopped while skipping"
                    );
                    assert!(pages[0].rows.is_empty() && pages[0].prev.is_none());
                }
            }
        }
    }
}

#[test]
fn an_unordered_merge_stopped_while_skipping_carries_the_rest_of_the_offset() {
    let fx = fixture(3);
    let mut plan = with_merge(
        &fx.stream_plan(AccessPath::FullScan, Direction::Asc, None),
        MergeMode::UnorderedStreaming,
    );
    plan.offset = 10;
    plan.limit = Some(7);
    plan.budget.max_examined = Some(3);
    let pages = traverse_from(&fx, &plan, None);
    let first = pages[0].next.as_ref().unwrap();
    assert!(matches!(
        anchor_of(&fx, &plan, first),
        Anchor::FrontierSkip { offset_left, .. } if offset_left < 10
    ));
    let rows = id_set(&pages);
    let mut unique = rows.clone();
    unique.dedup();
    assert_eq!(unique, rows, "no row twice");
    assert_eq!(rows.len(), 60 - 10, "the offset applied once");

    // Cancelled before it starts, the page skips nothing and keeps all of
    // the offset to skip.
    let token = CancelToken::new();
    token.cancel();
    let ctx = fx.ctx.clone().with_cancel(token);
    let page = execute_page(&fx.store.read(), &plan, None, &ctx).unwrap();
    assert_eq!(page.stop, StopReason::Cancelled);
    assert!(matches!(
        anchor_of(&fx, &plan, page.next.as_ref().unwrap()),
        Anchor::FrontierSkip {
            offset_left: 10,
            ..
        }
    ));
    assert_eq!(
        id_set(&traverse_from(&fx, &plan, page.next.clone())).len(),
        50
    );
}

#[test]
fn top_k_passes_cut_by_scan_or_byte_budgets_still_add_up() {
    let fx = fixture(2);
    let mut plan = fx.topk_plan(fx.eq("by_a", 3), &[(C, SortDirection::Desc)], None);
    plan.limit = Some(4);
    plan.budget.max_examined = Some(1);
    plan.budget.max_bytes = Some(1);
    let pages = fx.traverse(&plan);
    assert_eq!(concat(&pages), fx.expected(&plan));
    assert!(pages.iter().any(|p| p.stop.is_budget()));
    for page in &pages {
        assert!(page.rows.is_empty() || page.rows.len() == 4 || page.next.is_none());
    }
}

#[test]
fn a_sort_buffer_past_its_limit_is_a_clear_error() {
    let mut fx = fixture(1);
    fx.ctx.options = ExecOptions {
        max_sort_buffer_keys: 5,
        ..ExecOptions::default()
    };
    let plan = fx.stream_plan(
        AccessPath::Union(vec![
            fx.eq("by_a", 1),
            fx.range("by_b", &[], Bound::Included(2), Bound::Unbounded),
        ]),
        Direction::Asc,
        None,
    );
    let err = execute_page(&fx.store.read(), &plan, None, &fx.ctx).unwrap_err();
    match &err {
        ExecError::SortBufferExceeded { index, limit } => {
            assert_eq!(index, "by_b");
            assert_eq!(*limit, 5);
        }
        other => panic!("expected SortBufferExceeded, got {other}"),
    }
    assert!(err.to_string().contains("max_sort_buffer_keys"));
    // Deep pages buffer only the keys past their anchor.
    fx.ctx.options.max_sort_buffer_keys = 1000;
    let mut paged = plan.clone();
    paged.limit = Some(4);
    let pages = fx.traverse(&paged);
    let peaks: Vec<usize> = pages.iter().map(|p| p.stats.peak_buffered).collect();
    assert!(peaks.first() > peaks.last(), "{peaks:?}");
}

#[test]
fn a_changed_or_dropped_table_and_a_foreign_cursor_are_typed_errors() {
    let fx = fixture(1);
    let mut plan = fx.stream_plan(fx.eq("by_a", 1), Direction::Asc, None);
    plan.limit = Some(2);
    let first = fx.page(&plan, None);
    let other = fx.stream_plan(fx.eq("by_a", 2), Direction::Asc, None);
    let err = execute_page(&fx.store.read(), &other, first.next.as_ref(), &fx.ctx).unwrap_err();
    assert!(
        matches!(err, ExecError::InvalidCursor(CursorError::WrongQuery)),
        "{err}"
    );

    fx.store
        .create_index(&IndexSpec::new("by_bc", TABLE, &["b", "c"]))
        .unwrap();
    let err = execute_page(&fx.store.read(), &plan, None, &fx.ctx).unwrap_err();
    assert!(matches!(err, ExecError::SchemaChanged { .. }), "{err}");

    fx.store.drop_table(TABLE).unwrap();
    let err = execute_page(&fx.store.read(), &plan, None, &fx.ctx).unwrap_err();
    assert!(matches!(err, ExecError::TableGone { .. }), "{err}");
}

#[test]
fn extreme_options_change_no_result() {
    let mut fx = fixture(2);
    for chunk_len in [0, 1, usize::MAX] {
        fx.ctx.options = ExecOptions {
            chunk_len,
            ..ExecOptions::default()
        };
        for limit in [None, Some(3)] {
            let mut plan = fx.stream_plan(composite(&fx), Direction::Desc, None);
            plan.limit = limit;
            assert_eq!(
                concat(&fx.traverse(&plan)),
                fx.expected(&plan),
                "chunk_len {chunk_len}"
            );
            let mut topk = fx.topk_plan(AccessPath::FullScan, &[(B, SortDirection::Asc)], None);
            topk.limit = limit;
            assert_eq!(
                concat(&fx.traverse(&topk)),
                fx.expected(&topk),
                "chunk_len {chunk_len}"
            );
        }
    }
}
