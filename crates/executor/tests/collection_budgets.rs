//! Budgets while a sort-buffered composite child collects its range: the
//! scan budget, the deadline and cancellation cut the collection, the page
//! stops with its stop reason, and its cursor carries the buffers'
//! progress, so that a traversal whose every page is cut still gets
//! through and returns what an uncut one returns.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;
use std::time::{Duration, Instant};

use common::spread::{expected_set, id_set, with_merge};
use common::*;
use keyset_executor::cursor::{Collecting, CursorError, ShardPosition};
use keyset_executor::{execute_page, open_cursor, Anchor, CancelToken, ExecError, StopReason};
use keyset_plan::{AccessPath, MergeMode, Plan, SortDirection};
use keyset_store::{Direction, RawIndexKey, Value};

/// Rows 0..n with a = id % 4 and b = id % 3, and a union whose second
/// child (b >= 1: two thirds of the rows) is not in primary-key order and
/// must be collected and sorted.
fn union_fixture(shards: u32, n: i64) -> (Fixture, AccessPath) {
    let fx = numbered(shards, n);
    let access = AccessPath::Union(vec![
        fx.eq("by_a", 0),
        fx.range("by_b", &[], Bound::Included(1), Bound::Unbounded),
    ]);
    (fx, access)
}

fn collecting(fx: &Fixture, plan: &Plan, page: &keyset_executor::Page) -> Option<Collecting> {
    let cursor = page.next.as_ref().or(page.prev.as_ref())?;
    match anchor_of(fx, plan, cursor) {
        Anchor::Collecting(state) => Some(*state),
        _ => None,
    }
}

#[test]
fn every_page_cut_while_collecting_still_gets_through() {
    for shards in [1, 3] {
        let (fx, access) = union_fixture(shards, 600);
        for direction in [Direction::Asc, Direction::Desc] {
            let mut plan = fx.stream_plan(access.clone(), direction, None);
            plan.limit = Some(7);
            plan.budget.max_examined = Some(25);
            let label = format!("{shards} shards {direction:?}");
            // Checks that every page resumes further than the one before.
            let pages = traverse_with_progress(&fx, &plan);
            assert_eq!(concat(&pages), fx.expected(&plan), "{label}");
            let cut = pages
                .iter()
                .filter(|p| collecting(&fx, &plan, p).is_some())
                .count();
            assert!(cut > 0, "{label}: no page was cut while collecting");
            for (n, page) in pages.iter().enumerate() {
                // The budget plus one key per leaf a last step refilled
                // (two leaves per shard), never the 400-key range.
                assert!(
                    page.stats.keys_examined <= 25 + 2 * u64::from(shards),
                    "{label}: page {n} examined {}",
                    page.stats.keys_examined
                );
                if collecting(&fx, &plan, page).is_some() {
                    assert!(page.rows.is_empty(), "{label}: page {n}");
                    assert_eq!(page.stop, StopReason::ScanBudget, "{label}: page {n}");
                }
            }
        }
    }
}

#[test]
fn an_unordered_merge_cut_while_collecting_carries_each_shards_progress() {
    let (fx, access) = union_fixture(4, 600);
    let mut plan = with_merge(
        &fx.stream_plan(access, Direction::Asc, None),
        MergeMode::UnorderedStreaming,
    );
    plan.limit = Some(50);
    plan.budget.max_examined = Some(10);
    let mut pages = Vec::new();
    let mut cursor = None;
    let mut carried = 0;
    loop {
        let page = fx.page(&plan, cursor.as_ref());
        if let Some(state) = collecting(&fx, &plan, &page) {
            carried += 1;
            assert_eq!(state.frontier.len(), 4, "a frontier cursor");
            for buffer in &state.buffers {
                // Each buffer's keys follow its own shard's position.
                let slot = (buffer.ordinal >> 32) as usize;
                match &state.frontier[slot] {
                    ShardPosition::After(position) => {
                        assert!(buffer.keys.iter().all(|k| k > position), "shard {slot}");
                    }
                    ShardPosition::NotStarted => {}
                    ShardPosition::Finished => panic!("a finished shard carries a buffer"),
                }
            }
        }
        cursor = page.next.clone();
        pages.push(page);
        assert!(pages.len() < 10_000, "a traversal that does not end");
        if cursor.is_none() {
            break;
        }
    }
    assert!(carried > 0, "no page carried a collection's progress");
    let rows = id_set(&pages);
    let mut unique = rows.clone();
    unique.dedup();
    assert_eq!(unique, rows, "no row twice");
    assert_eq!(rows, expected_set(&fx, &plan));
    // The eight leaves (two per shard, on four workers) may each be
    // granted what is left of the budget at the same moment, so the bound
    // depends on scheduling; what does not: no page reads the sorted
    // child's 400 keys, as every page did when collections ran whole.
    for page in &pages {
        assert!(page.stats.keys_examined < 200, "{:?}", page.stats);
    }
}

#[test]
fn a_top_k_pass_cut_while_collecting_carries_the_buffers_and_gets_through() {
    for shards in [1, 3] {
        let (fx, access) = union_fixture(shards, 600);
        let mut plan = fx.topk_plan(access.clone(), &[(B, SortDirection::Desc)], None);
        plan.limit = Some(7);
        plan.budget.max_examined = Some(25);
        // Checks that every page resumes further than the one before,
        // counting the buffers' progress when the pass stands still.
        let pages = traverse_with_progress(&fx, &plan);
        assert_eq!(concat(&pages), fx.expected(&plan), "{shards} shards");
        let mut carried = 0;
        for page in &pages {
            if let Some(Anchor::SortedPass(pass)) =
                page.next.as_ref().map(|c| anchor_of(&fx, &plan, c))
            {
                if !pass.collecting.is_empty() {
                    carried += 1;
                }
            }
            // The budget plus a key per leaf and the rows a cursor carried
            // (at most 64), never the 400-key sorted child.
            assert!(page.stats.keys_examined < 200, "{:?}", page.stats);
        }
        assert!(carried > 0, "{shards} shards: no pass carried its buffers");

        // Cancelled, the first page stops inside the collection, and the
        // pass resumes from the buffers' progress.
        let token = CancelToken::new();
        token.cancel();
        let mut cancelled = fx.ctx.clone();
        cancelled.cancel = Some(token);
        let stopped = execute_page(&fx.store.read(), &plan, None, &cancelled).unwrap();
        assert_eq!(stopped.stop, StopReason::Cancelled);
        let cursor = stopped.next.clone().unwrap();
        let Anchor::SortedPass(pass) = anchor_of(&fx, &plan, &cursor) else {
            panic!("a top-k cursor");
        };
        assert!(!pass.collecting.is_empty());
        let mut unbudgeted = plan.clone();
        unbudgeted.budget.max_examined = None;
        let mut all = vec![stopped];
        all.extend(traverse_from(&fx, &unbudgeted, Some(cursor)));
        assert_eq!(
            concat(&all),
            fx.expected(&plan),
            "{shards} shards, cancelled"
        );
    }
}

#[test]
fn backward_pages_cut_while_collecting_get_through() {
    for shards in [1, 3] {
        let (fx, access) = union_fixture(shards, 300);
        let mut plan = fx.stream_plan(access.clone(), Direction::Asc, None);
        plan.limit = Some(5);
        let forward = fx.traverse(&plan);
        let last = forward.last().unwrap();
        let mut budgeted = plan.clone();
        budgeted.budget.max_examined = Some(20);
        let mut cursor = last.prev.clone();
        let mut before: Vec<Vec<i64>> = Vec::new();
        let mut cut = 0;
        while let Some(at) = cursor {
            let page = fx.page(&budgeted, Some(&at));
            if collecting(&fx, &budgeted, &page).is_some() {
                cut += 1;
                assert!(page.next.is_none(), "a cut page names no row after it");
            }
            before.push(ids(&page.rows));
            cursor = page.prev.clone();
            assert!(before.len() < 10_000, "a traversal that does not end");
        }
        assert!(cut > 0, "{shards} shards: no backward page was cut");
        let mut rows: Vec<i64> = before.into_iter().rev().flatten().collect();
        rows.extend(ids(&last.rows));
        assert_eq!(rows, fx.expected(&plan), "{shards} shards");
    }
}

#[test]
fn cancellation_and_the_deadline_stop_a_collection_early_and_the_cursor_resumes() {
    let (fx, access) = union_fixture(1, 6_000);
    let mut plan = fx.stream_plan(access, Direction::Asc, None);
    plan.limit = Some(10);
    let expected = fx.expected(&plan);

    let token = CancelToken::new();
    token.cancel();
    let mut cancelled = fx.ctx.clone();
    cancelled.cancel = Some(token);
    let mut late = plan.clone();
    late.budget.deadline = Some(Instant::now() - Duration::from_secs(1));

    for (ctx, plan, reason) in [
        (&cancelled, &plan, StopReason::Cancelled),
        (&fx.ctx, &late, StopReason::Deadline),
    ] {
        let stopped = execute_page(&fx.store.read(), plan, None, ctx).unwrap();
        assert_eq!(stopped.stop, reason);
        assert!(stopped.rows.is_empty());
        let state = collecting(&fx, plan, &stopped).expect("a collection cut short");
        // One chunk of the 4,000-key range, not all of it.
        assert!(
            stopped.stats.keys_examined < 1_000,
            "{reason:?}: examined {}",
            stopped.stats.keys_examined
        );
        assert!(state.buffers.iter().any(|b| b.scan.is_some()));
        let mut pages = vec![stopped.clone()];
        pages.extend(traverse_from(&fx, &plan_without_limits(plan), stopped.next));
        assert_eq!(concat(&pages), expected, "{reason:?}");
    }
}

/// The same plan without a deadline (its signature is the same).
fn plan_without_limits(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    plan.budget.deadline = None;
    plan
}

/// A cut page's cursor, opened, changed and sealed again with the
/// database's own key (as if the MAC had been broken): each change is
/// refused with a typed error, never a panic or a wrong page.
#[test]
fn carried_progress_a_page_never_wrote_is_refused() {
    let (fx, access) = union_fixture(1, 300);
    let mut plan = fx.stream_plan(access, Direction::Asc, None);
    plan.limit = Some(5);
    plan.budget.max_examined = Some(10);
    let first = fx.page(&plan, None);
    let cursor = first.next.clone().unwrap();
    let state = open_cursor(&cursor, &fx.ctx.keys, DATABASE, &plan).unwrap();
    let Anchor::Collecting(carried) = &state.anchor else {
        panic!(
            "the first page was not cut while collecting: {:?}",
            state.anchor
        );
    };
    let resume = |change: &dyn Fn(&mut Collecting)| {
        let mut forged = state.clone();
        let mut changed = (**carried).clone();
        change(&mut changed);
        forged.anchor = Anchor::Collecting(Box::new(changed));
        let token = forged.seal(&fx.ctx.keys);
        execute_page(&fx.store.read(), &plan, Some(&token), &fx.ctx).map(|p| p.rows.len())
    };
    assert!(resume(&|_| {}).is_ok(), "the state as minted resumes");

    // A buffer the plan does not have.
    let err = resume(&|c| c.buffers[0].ordinal = 7).unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::InvalidCursor(CursorError::AnchorMalformed { .. })
        ),
        "{err}"
    );
    // A scan position in another index of the table, or outside the
    // buffer's range.
    let by_c = RawIndexKey::encode(
        fx.table().id,
        fx.index("by_c"),
        &[Value::Int(1)],
        &[Value::Int(4)],
    )
    .into_bytes();
    let below = RawIndexKey::encode(
        fx.table().id,
        fx.index("by_b"),
        &[Value::Int(0)],
        &[Value::Int(4)],
    )
    .into_bytes();
    for scan in [by_c, below] {
        let err = resume(&|c| c.buffers[0].scan = Some(scan.clone())).unwrap_err();
        assert!(
            matches!(
                err,
                ExecError::InvalidCursor(CursorError::AnchorOutOfBounds)
            ),
            "{err}"
        );
    }
    // A scan position that is no index key at all.
    let err = resume(&|c| c.buffers[0].scan = Some(c.buffers[0].keys[0].clone())).unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::InvalidCursor(CursorError::AnchorWrongNamespace { .. })
        ),
        "{err}"
    );
    // Carried keys out of order, or "more" with no key.
    let err = resume(&|c| c.buffers[0].keys.reverse()).unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::InvalidCursor(CursorError::InconsistentState { .. })
        ),
        "{err}"
    );
    let err = resume(&|c| {
        c.buffers[0].keys.clear();
        c.buffers[0].more = true;
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            ExecError::InvalidCursor(CursorError::InconsistentState { .. })
        ),
        "{err}"
    );
}
