//! Plan shapes beyond the `items` matrix: a primary range under a prefix of
//! a composite primary key, a shard-frontier cursor (the unordered merge
//! mode; `shards_unordered.rs` shows it in depth), and plans made by the
//! real planner, each paged and compared with the model.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;

use common::*;
use keyset_executor::Anchor;
use keyset_plan::AccessPath;
use keyset_store::{Direction, Value};

#[test]
fn a_primary_range_under_a_key_prefix_pages_both_ways() {
    use keyset_store::{Batch, ColumnDef, ColumnType, Store, TableSpec};
    let store = Store::new();
    let columns = vec![
        ColumnDef::new("p", ColumnType::Int),
        ColumnDef::new("q", ColumnType::Int),
        ColumnDef::new("v", ColumnType::Text),
    ];
    store
        .create_table(&TableSpec::new("pairs", columns, &["p", "q"]).shards(2))
        .unwrap();
    let mut batch = Batch::new();
    for p in 0..4 {
        for q in 0..10 {
            batch.put(
                "pairs",
                vec![Value::Int(p), Value::Int(q), Value::from("x")],
            );
        }
    }
    store.commit(&batch).unwrap();
    let table = store.read().catalog().table("pairs").unwrap().clone();
    let ctx = context();
    for direction in [Direction::Asc, Direction::Desc] {
        let access = AccessPath::PrimaryRange {
            prefix: vec![Value::Int(2)],
            lower: Bound::Excluded(Value::Int(3)),
            upper: Bound::Included(Value::Int(8)),
        };
        let order = natural_order(&table, &access, direction);
        let plan = make_plan(
            table.clone(),
            access,
            None,
            order,
            keyset_plan::OrderStrategy::Stream(direction),
            keyset_plan::CursorKind::DataKey,
        );
        let mut expected: Vec<i64> = (4..=8).collect();
        if direction == Direction::Desc {
            expected.reverse();
        }
        for size in [1, 2, 3] {
            let mut paged = plan.clone();
            paged.limit = Some(size);
            let mut cursor = None;
            let mut got = Vec::new();
            loop {
                let page =
                    keyset_executor::execute_page(&store.read(), &paged, cursor.as_ref(), &ctx)
                        .unwrap();
                for r in &page.rows {
                    assert_eq!(r.values()[0], Value::Int(2));
                    got.push(match r.values()[1] {
                        Value::Int(q) => q,
                        _ => unreachable!(),
                    });
                }
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(got, expected, "{direction:?} size {size}");
        }
    }
}

#[test]
fn an_unordered_merge_pages_the_same_set_with_a_frontier_per_shard() {
    let fx = numbered(3, 30);
    for access in [
        fx.range("by_a", &[], Bound::Included(1), Bound::Unbounded),
        AccessPath::Union(vec![fx.eq("by_a", 1), fx.eq("by_b", 2)]),
    ] {
        for direction in [Direction::Asc, Direction::Desc] {
            let mut plan = fx.stream_plan(access.clone(), direction, None);
            plan.merge = keyset_plan::MergeMode::UnorderedStreaming;
            plan.cursor_kind = keyset_plan::CursorKind::ShardFrontier;
            plan.signature = keyset_plan::signature(&plan);
            plan.limit = Some(4);
            let pages = fx.traverse(&plan);
            let mut got = concat(&pages);
            got.sort_unstable();
            let mut expected = fx.expected(&plan);
            expected.sort_unstable();
            assert_eq!(got, expected, "the same rows, each once");
            let Anchor::Frontier(positions) =
                anchor_of(&fx, &plan, pages[0].next.as_ref().unwrap())
            else {
                panic!("a frontier anchor")
            };
            assert_eq!(positions.len(), 3, "one position per shard");
            assert!(
                pages.iter().all(|p| p.prev.is_none()),
                "an unordered merge has no previous page"
            );
        }
    }
}

#[test]
fn plans_from_the_planner_page_like_the_model() {
    use keyset_plan::{col, Query, SortDirection};
    let mut fx = numbered(2, 60);
    fx.put([
        row(60, None, None, Some(3), None),
        row(61, Some(2), None, None, None),
    ]);
    let queries = [
        Query::table(TABLE).filter(col("a").eq(2)),
        Query::table(TABLE)
            .filter(col("a").ge(1).and(col("a").lt(3)))
            .order_by("a", SortDirection::Desc),
        Query::table(TABLE).filter(col("a").eq(1).or(col("b").eq(2))),
        Query::table(TABLE).filter(col("a").eq(3).and(col("b").eq(1))),
        Query::table(TABLE)
            .filter(col("b").is_in([0, 2]))
            .order_by("c", SortDirection::Desc),
        Query::table(TABLE)
            .order_by("b", SortDirection::Asc)
            .offset(2),
        Query::table(TABLE)
            .filter(col("id").between(10, 20))
            .order_by("id", SortDirection::Desc),
    ];
    for query in queries {
        let plan = keyset_plan::plan(&query.clone().limit(3), fx.store.read().catalog()).unwrap();
        let label = format!(
            "{query:?} planned as {:?} / {:?}",
            plan.access, plan.strategy
        );
        let expected = fx.expected(&plan);
        let pages = fx.traverse(&plan);
        assert_eq!(concat(&pages), expected, "{label}");
        if plan.offset == 0 {
            for pair in pages.windows(2) {
                let back = fx.page(&plan, pair[1].prev.as_ref());
                assert_eq!(ids(&back.rows), ids(&pair[0].rows), "{label}: prev");
            }
        }
    }
}
