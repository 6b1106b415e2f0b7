//! Cost bounds, asserted through the page stats (key counts), never time:
//! resuming deep in a range is a seek, and an intersection costs what its
//! smallest child costs.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;

use common::*;
use keyset_executor::{Anchor, CursorState};
use keyset_plan::AccessPath;
use keyset_store::{Direction, RawIndexKey, Value};

#[test]
fn a_page_deep_in_a_large_range_examines_about_limit_keys() {
    let fx = Fixture::with_rows(
        1,
        (0..100_000).map(|id| row(id, Some(id / 7), Some(id % 10), None, None)),
    );
    let table = fx.table();
    for (access, space_index) in [
        (AccessPath::FullScan, false),
        (
            fx.range("by_a", &[], Bound::Included(10), Bound::Unbounded),
            true,
        ),
    ] {
        for direction in [Direction::Asc, Direction::Desc] {
            let mut plan = fx.stream_plan(access.clone(), direction, None);
            plan.limit = Some(50);
            let deep: i64 = 60_000;
            let key = if space_index {
                RawIndexKey::encode(
                    table.id,
                    fx.index("by_a"),
                    &[Value::Int(deep / 7)],
                    &[Value::Int(deep)],
                )
                .into_bytes()
            } else {
                keyset_store::RawDataKey::encode(table.id, &[Value::Int(deep)]).into_bytes()
            };
            let cursor = CursorState {
                kind: plan.cursor_kind,
                direction,
                backward: false,
                signature: plan.signature,
                database: DATABASE,
                snapshot: None,
                anchor: Anchor::Key(key),
            }
            .seal(&fx.ctx.keys);
            let page = fx.page(&plan, Some(&cursor));
            assert_eq!(page.rows.len(), 50);
            let first = ids(&page.rows)[0];
            assert_eq!(
                first,
                if direction == Direction::Asc {
                    deep + 1
                } else {
                    deep - 1
                }
            );
            assert!(
                page.stats.keys_examined <= 51 * 2,
                "examined {} keys",
                page.stats.keys_examined
            );
        }
    }
}

#[test]
fn an_intersection_costs_what_its_smallest_child_costs() {
    // a = 1 on 100 rows, b = 1 on all 50,000 rows.
    let fx = Fixture::with_rows(
        1,
        (0..50_000).map(|id| row(id, Some(i64::from(id % 500 == 0)), Some(1), None, None)),
    );
    let plan = fx.stream_plan(
        AccessPath::Intersection(vec![fx.eq("by_a", 1), fx.eq("by_b", 1)]),
        Direction::Asc,
        None,
    );
    let expected = fx.expected(&plan);
    let page = fx.page(&plan, None);
    assert_eq!(ids(&page.rows), expected);
    assert_eq!(expected.len(), 100);
    assert!(
        page.stats.keys_examined < 100 * 8,
        "an intersection of 100 and 50,000 keys examined {}",
        page.stats.keys_examined
    );
    let mut paged = plan.clone();
    paged.limit = Some(10);
    let pages = fx.traverse(&paged);
    assert_eq!(concat(&pages), expected);
    let total: u64 = pages.iter().map(|p| p.stats.keys_examined).sum();
    assert!(total < 100 * 10, "paging examined {total} keys in all");
}
