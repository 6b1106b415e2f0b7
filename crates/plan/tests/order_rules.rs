//! The order decision (streaming or top-k, the exact order key), cursor
//! kinds, projection and validation, each checked through the EXPLAIN text
//! or the plan's fields.
#![allow(clippy::unwrap_used)]

mod common;

use common::{check, users};
use keyset_plan::{
    col, explain, plan, CursorKind, Expr, MergeMode, OrderStrategy, PlanError, Query,
    SortDirection::*, MAX_LIMIT,
};
use keyset_store::{Direction, Value};

#[test]
fn order_by_an_index_turns_a_full_scan_into_a_streaming_index_scan() {
    check(
        users().order_by("name", Desc).limit(5),
        "\
Query users  [stream DESC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_name  (whole index)  order: name, id
  order key: name DESC, id DESC
  residual filter: none",
    );
}

#[test]
fn order_by_no_path_gives_is_top_k_with_a_bounded_heap() {
    check(
        users()
            .order_by("score", Asc)
            .order_by("name", Desc)
            .limit(10),
        "\
Query users  [top-k heap=offset+limit+1=11]  cursor=Sorted  shards=all(4)  merge=ordered
  FullScan  order: id
  order key: score ASC, name DESC, id DESC
  residual filter: none",
    );
    check(
        users()
            .filter(col("city").eq("Oslo").and(col("age").ge(30)))
            .order_by("name", Asc)
            .limit(20)
            .offset(5),
        "\
Query users  [top-k heap=offset+limit+1=26]  cursor=Sorted  shards=all(4)  merge=ordered
  IndexRange by_city_age  prefix=('Oslo')  range=[30, +inf)  order: age, id
  order key: name ASC, id ASC
  residual filter: none (the range is exact: (city = 'Oslo' AND age >= 30))",
    );
    check(
        users().filter(col("age").gt(3)).order_by("id", Asc),
        "\
Query users  [top-k heap=all rows (no LIMIT)]  cursor=Sorted  shards=all(4)  merge=ordered
  IndexRange by_age  range=(3, +inf)  order: age, id
  order key: id ASC
  residual filter: none (the range is exact: age > 3)",
    );
}

#[test]
fn order_by_terms_on_constant_columns_are_dropped() {
    check(
        users()
            .filter(col("city").eq("Oslo"))
            .order_by("city", Asc)
            .order_by("age", Desc),
        "\
Query users  [stream DESC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_city_age  prefix=('Oslo')  order: age, id
  order key: age DESC, id DESC
  residual filter: none (the range is exact: city = 'Oslo')",
    );
}

#[test]
fn a_streaming_order_key_carries_the_remaining_index_columns() {
    check(
        users().filter(col("city").gt("A")).order_by("city", Asc),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_city_age  range=('A', +inf)  order: city, age, id
  order key: city ASC, age ASC, id ASC
  residual filter: none (the range is exact: city > 'A')",
    );
}

#[test]
fn order_by_terms_after_the_whole_primary_key_are_ignored() {
    check(
        users().order_by("id", Desc).order_by("age", Asc),
        "\
Query users  [stream DESC]  cursor=DataKey  shards=all(4)  merge=ordered
  FullScan  order: id
  order key: id DESC
  residual filter: none",
    );
}

#[test]
fn unordered_merge_over_several_shards_has_a_shard_frontier_cursor() {
    check(
        users()
            .filter(col("age").eq(5))
            .merge(MergeMode::UnorderedStreaming),
        "\
Query users  [stream ASC]  cursor=ShardFrontier  shards=all(4)  merge=unordered
  IndexRange by_age  prefix=(5)  order: id
  order key: id ASC
  residual filter: none (the range is exact: age = 5)",
    );
    // Routed to one shard: nothing to merge.
    check(
        users()
            .filter(col("id").eq(5))
            .merge(MergeMode::UnorderedStreaming),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=[0] of 4  merge=unordered
  ByKeys  1 key: (5)  order: id
  order key: id ASC
  residual filter: id = 5",
    );
}

#[test]
fn projection_names_become_positions() {
    let catalog = common::catalog();
    let planned = plan(
        &users().filter(col("id").eq(5)).columns(&["name", "ID"]),
        &catalog,
    )
    .unwrap();
    assert_eq!(planned.projection, vec![3, 0]);
    assert!(explain(&planned).ends_with("  columns: name, id\n"));
    let all = plan(&users(), &catalog).unwrap();
    assert_eq!(all.projection, vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn plan_fields_match_the_explained_decisions() {
    let catalog = common::catalog();
    let planned = plan(
        &users()
            .filter(col("city").eq("Oslo").and(col("age").ge(30)))
            .order_by("age", Desc)
            .limit(7)
            .offset(2),
        &catalog,
    )
    .unwrap();
    assert_eq!(planned.strategy, OrderStrategy::Stream(Direction::Desc));
    assert_eq!(planned.cursor_kind, CursorKind::IndexRange);
    assert_eq!((planned.limit, planned.offset), (Some(7), 2));
    assert_eq!(planned.signature, keyset_plan::signature(&planned));
    let row = |city: &str, age: i64| {
        vec![
            Value::Int(1),
            Value::Text(city.into()),
            Value::Int(age),
            Value::Null,
            Value::Null,
            Value::Null,
        ]
    };
    assert!(planned.filter_accepts(&row("Oslo", 30)));
    assert!(!planned.filter_accepts(&row("Oslo", 29)));
    assert!(!planned.filter_accepts(&row("Bergen", 40)));
}

#[test]
fn validation_errors_name_what_is_wrong() {
    let catalog = common::catalog();
    let err = |q: Query| plan(&q, &catalog).unwrap_err();
    assert_eq!(
        err(Query::table("nope")),
        PlanError::UnknownTable {
            table: "nope".into()
        }
    );
    assert_eq!(
        err(users().filter(col("nope").eq(1))),
        PlanError::UnknownColumn {
            table: "users".into(),
            column: "nope".into()
        }
    );
    assert_eq!(
        err(users().columns(&["id", "nope"])),
        PlanError::UnknownColumn {
            table: "users".into(),
            column: "nope".into()
        }
    );
    assert_eq!(
        err(users().order_by("nope", Asc)),
        PlanError::UnknownOrderColumn {
            table: "users".into(),
            column: "nope".into()
        }
    );
    assert!(matches!(
        err(users().filter(col("age").eq("old"))),
        PlanError::LiteralType { ref column, .. } if column == "age"
    ));
    // LIKE on an INT column names the real problem, not the literal.
    assert!(matches!(
        err(users().filter(col("age").starts_with("1"))),
        PlanError::LikeNotText { ref column, .. } if column == "age"
    ));
    assert!(matches!(
        err(users().filter(Expr::Not(Box::new(col("score").eq(f64::NAN))))),
        PlanError::LiteralType { .. }
    ));
    assert_eq!(
        err(users().limit(MAX_LIMIT + 1)),
        PlanError::LimitTooLarge {
            limit: MAX_LIMIT + 1,
            max: MAX_LIMIT
        }
    );
    assert!(plan(&users().limit(MAX_LIMIT), &catalog).is_ok());
}
