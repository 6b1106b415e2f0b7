//! One test per access-path rule of the planner, each checking the EXPLAIN
//! text verbatim (the text is part of the contract: the CLI and the docs
//! show it). The order decision is tested in `order_rules.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;

use common::{check, orders, users};
use keyset_plan::{col, explain, plan, AccessPath, Query, ShardSet, SortDirection::*};
use keyset_store::Value;

#[test]
fn full_primary_key_equality_is_by_keys_on_one_shard() {
    check(
        users().filter(col("id").eq(5)),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=[0] of 4  merge=ordered
  ByKeys  1 key: (5)  order: id
  order key: id ASC
  residual filter: id = 5",
    );
}

#[test]
fn in_on_the_primary_key_is_by_keys_sorted_and_deduplicated() {
    check(
        users().filter(col("id").is_in([3, 1, 2, 1])),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=[0, 1, 2] of 4  merge=ordered
  ByKeys  3 keys: (1), (2), (3)  order: id
  order key: id ASC
  residual filter: id IN (1, 2, 3)",
    );
    check(
        orders().filter(col("cust").is_in([2, 1]).and(col("seq").is_in([5, 6]))),
        "\
Query orders  [stream ASC]  cursor=DataKey  shards=all(1)  merge=ordered
  ByKeys  4 keys: (1, 5), (1, 6), (2, 5), (2, 6)  order: cust, seq
  order key: cust ASC, seq ASC
  residual filter: (cust IN (1, 2) AND seq IN (5, 6))",
    );
}

#[test]
fn an_in_list_too_long_to_expand_becomes_its_min_max_range() {
    let catalog = common::catalog();
    let planned = plan(&users().filter(col("id").is_in(0..2000i64)), &catalog).unwrap();
    assert_eq!(
        planned.access,
        AccessPath::PrimaryRange {
            prefix: vec![],
            lower: Bound::Included(Value::Int(0)),
            upper: Bound::Included(Value::Int(1999)),
        }
    );
    // Every shard is touched, so routing says "all".
    assert_eq!(planned.shards, ShardSet::All);
    assert!(explain(&planned).contains("id IN (0, 1, 2, 3, 4, 5, 6, 7, ... (+1992 more))"));
}

#[test]
fn primary_key_prefix_and_range_is_a_primary_range() {
    check(
        orders().filter(col("cust").eq(7).and(col("seq").gt(3))),
        "\
Query orders  [stream ASC]  cursor=DataKey  shards=all(1)  merge=ordered
  PrimaryRange  prefix=(7)  range=(3, +inf)  order: cust, seq
  order key: cust ASC, seq ASC
  residual filter: none (the range is exact: (cust = 7 AND seq > 3))",
    );
    check(
        orders()
            .filter(col("cust").eq(7).and(col("seq").between(1, 9)))
            .order_by("seq", Desc)
            .limit(2),
        "\
Query orders  [stream DESC]  cursor=DataKey  shards=all(1)  merge=ordered
  PrimaryRange  prefix=(7)  range=[1, 9]  order: cust, seq
  order key: seq DESC, cust DESC
  residual filter: none (the range is exact: (cust = 7 AND seq BETWEEN 1 AND 9))",
    );
}

#[test]
fn the_primary_key_wins_a_tie_with_an_index() {
    check(
        orders().filter(col("cust").eq(7).and(col("status").eq("new"))),
        "\
Query orders  [stream ASC]  cursor=DataKey  shards=all(1)  merge=ordered
  PrimaryRange  prefix=(7)  order: cust, seq
  order key: cust ASC, seq ASC
  residual filter: (cust = 7 AND status = 'new')",
    );
}

#[test]
fn index_prefix_and_range_is_an_index_range() {
    check(
        users()
            .filter(col("city").eq("Oslo").and(col("age").ge(30)))
            .limit(10),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_city_age  prefix=('Oslo')  range=[30, +inf)  order: age, id
  order key: age ASC, id ASC
  residual filter: none (the range is exact: (city = 'Oslo' AND age >= 30))",
    );
}

#[test]
fn the_longest_usable_prefix_wins_and_a_range_counts_less_than_equality() {
    // by_city_age (1 equality + range) beats by_age (range only).
    check(
        users().filter(col("city").eq("Oslo").and(col("age").gt(3))),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_city_age  prefix=('Oslo')  range=(3, +inf)  order: age, id
  order key: age ASC, id ASC
  residual filter: none (the range is exact: (city = 'Oslo' AND age > 3))",
    );
    // by_age (1 equality) beats by_name (range only).
    check(
        users().filter(col("age").eq(3).and(col("name").gt("m"))),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_age  prefix=(3)  order: id
  order key: id ASC
  residual filter: (age = 3 AND name > 'm')",
    );
}

#[test]
fn ties_go_to_the_index_that_gives_the_order_then_to_the_lowest_id() {
    check(
        users().filter(col("age").gt(30).and(col("name").gt("m"))),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_age  range=(30, +inf)  order: age, id
  order key: age ASC, id ASC
  residual filter: (age > 30 AND name > 'm')",
    );
    check(
        users()
            .filter(col("age").gt(30).and(col("name").gt("m")))
            .order_by("name", Asc),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_name  range=('m', +inf)  order: name, id
  order key: name ASC, id ASC
  residual filter: (age > 30 AND name > 'm')",
    );
}

#[test]
fn in_on_an_indexed_column_is_a_union_of_equalities() {
    check(
        users().filter(col("age").is_in([2, 1])),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  Union  (k-way merge in primary-key order)
    IndexRange by_age  prefix=(1)  streams in primary-key order
    IndexRange by_age  prefix=(2)  streams in primary-key order
  order key: id ASC
  residual filter: age IN (1, 2)",
    );
    // On the first column of a composite index the children are not in
    // primary-key order: they are buffered and sorted.
    check(
        users().filter(col("city").is_in(["Oslo", "Bergen"])),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  Union  (k-way merge in primary-key order)
    IndexRange by_city_age  prefix=('Bergen')  buffered: sort keys
    IndexRange by_city_age  prefix=('Oslo')  buffered: sort keys
  order key: id ASC
  residual filter: city IN ('Bergen', 'Oslo')",
    );
}

#[test]
fn or_of_indexable_branches_is_a_union() {
    check(
        users().filter(col("city").eq("Oslo").or(col("email").eq("a@b"))),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  Union  (k-way merge in primary-key order)
    IndexRange by_city_age  prefix=('Oslo')  buffered: sort keys
    IndexRange by_email  prefix=('a@b')  streams in primary-key order
  order key: id ASC
  residual filter: (city = 'Oslo' OR email = 'a@b')",
    );
    check(
        users().filter(
            col("city")
                .eq("Oslo")
                .and(col("age").gt(3))
                .or(col("name").eq("x")),
        ),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  Union  (k-way merge in primary-key order)
    IndexRange by_city_age  prefix=('Oslo')  range=(3, +inf)  buffered: sort keys
    IndexRange by_name  prefix=('x')  streams in primary-key order
  order key: id ASC
  residual filter: (name = 'x' OR (city = 'Oslo' AND age > 3))",
    );
    // A branch of primary keys and a branch of an index.
    check(
        users().filter(col("id").is_in([4, 8]).or(col("age").eq(1))),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  Union  (k-way merge in primary-key order)
    ByKeys  2 keys: (4), (8)  streams in primary-key order
    IndexRange by_age  prefix=(1)  streams in primary-key order
  order key: id ASC
  residual filter: (age = 1 OR id IN (4, 8))",
    );
}

#[test]
fn an_and_is_distributed_into_the_branches_of_an_or() {
    check(
        users().filter(
            col("city")
                .eq("Oslo")
                .and(col("age").eq(1).or(col("age").eq(2))),
        ),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  Union  (k-way merge in primary-key order)
    IndexRange by_city_age  prefix=('Oslo', 1)  streams in primary-key order
    IndexRange by_city_age  prefix=('Oslo', 2)  streams in primary-key order
  order key: id ASC
  residual filter: (city = 'Oslo' AND (age = 1 OR age = 2))",
    );
    // Branches no better than the conjunct they share: one range, not a union.
    check(
        users().filter(
            col("city")
                .eq("Oslo")
                .and(col("name").eq("a").or(col("name").eq("b"))),
        ),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_city_age  prefix=('Oslo')  order: age, id
  order key: age ASC, id ASC
  residual filter: (city = 'Oslo' AND (name = 'a' OR name = 'b'))",
    );
}

#[test]
fn an_or_with_a_non_indexable_branch_is_a_full_scan_or_what_the_and_gives() {
    check(
        users().filter(col("city").eq("Oslo").or(col("age").ne(3))),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  FullScan  order: id
  order key: id ASC
  residual filter: (city = 'Oslo' OR age <> 3)",
    );
    check(
        users().filter(
            col("age")
                .gt(50)
                .and(col("city").eq("Oslo").or(col("age").ne(3))),
        ),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_age  range=(50, +inf)  order: age, id
  order key: age ASC, id ASC
  residual filter: (age > 50 AND (city = 'Oslo' OR age <> 3))",
    );
}

#[test]
fn several_full_equality_index_matches_are_an_intersection() {
    // by_age (age) is implied by by_city_age (city, age) and left out.
    check(
        users().filter(
            col("city")
                .eq("Oslo")
                .and(col("age").eq(3))
                .and(col("name").eq("x")),
        ),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  Intersection  (leapfrog in primary-key order)
    IndexRange by_city_age  prefix=('Oslo', 3)  streams in primary-key order
    IndexRange by_name  prefix=('x')  streams in primary-key order
  order key: id ASC
  residual filter: (city = 'Oslo' AND age = 3 AND name = 'x')",
    );
}

#[test]
fn contradictions_plan_to_an_empty_path() {
    let empty = |query: Query, filter: &str| {
        check(
            query,
            &format!(
                "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  Empty  (contradiction: no row can match)
  order key: id ASC
  residual filter: {filter}"
            ),
        )
    };
    empty(
        users().filter(col("age").eq(1).and(col("age").eq(2))),
        "(age = 1 AND age = 2)",
    );
    empty(
        users().filter(col("age").gt(5).and(col("age").lt(3))),
        "(age < 3 AND age > 5)",
    );
    empty(
        users().filter(col("id").is_in(Vec::<i64>::new())),
        "id IN ()",
    );
    empty(users().filter(col("age").eq(Value::Null)), "age = NULL");
    // The primary key is NOT NULL.
    empty(users().filter(col("id").is_null()), "id IS NULL");
    empty(
        users().filter(col("age").is_in([1, 2]).and(col("age").gt(2))),
        "(age > 2 AND age IN (1, 2))",
    );
    empty(
        users().filter(
            col("age")
                .eq(1)
                .and(col("age").eq(2))
                .or(col("id").is_in(Vec::<i64>::new())),
        ),
        "(id IN () OR (age = 1 AND age = 2))",
    );
}

#[test]
fn not_and_not_equal_are_never_indexable() {
    check(
        users().filter(col("age").eq(3).not()),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  FullScan  order: id
  order key: id ASC
  residual filter: NOT (age = 3)",
    );
    check(
        users().filter(col("age").ne(3)),
        "\
Query users  [stream ASC]  cursor=DataKey  shards=all(4)  merge=ordered
  FullScan  order: id
  order key: id ASC
  residual filter: age <> 3",
    );
}

#[test]
fn like_prefix_is_a_text_range_up_to_the_prefix_successor() {
    check(
        users().filter(col("name").starts_with("ab")),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_name  range=['ab', 'ac')  order: name, id
  order key: name ASC, id ASC
  residual filter: none (the range is exact: name LIKE 'ab%')",
    );
    check(
        users().filter(col("name").starts_with("")),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_name  range=['', +inf)  order: name, id
  order key: name ASC, id ASC
  residual filter: none (the range is exact: name LIKE '%')",
    );
}

#[test]
fn null_tests_use_null_as_a_key_value() {
    check(
        users().filter(col("email").is_null()),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_email  prefix=(NULL)  order: id
  order key: id ASC
  residual filter: none (the range is exact: email IS NULL)",
    );
    check(
        users().filter(col("email").is_not_null()),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_email  range=(NULL, +inf)  order: email, id
  order key: email ASC, id ASC
  residual filter: none (the range is exact: email IS NOT NULL)",
    );
    // `< x` on a nullable column excludes NULL, which sorts first.
    check(
        users().filter(col("age").lt(10)),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_age  range=(NULL, 10)  order: age, id
  order key: age ASC, id ASC
  residual filter: none (the range is exact: age < 10)",
    );
}

#[test]
fn between_is_a_range_and_a_point_between_is_an_equality() {
    check(
        users()
            .filter(col("age").between(20, 29))
            .order_by("age", Desc)
            .limit(3),
        "\
Query users  [stream DESC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_age  range=[20, 29]  order: age, id
  order key: age DESC, id DESC
  residual filter: none (the range is exact: age BETWEEN 20 AND 29)",
    );
    check(
        users().filter(col("age").between(20, 20)),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_age  prefix=(20)  order: id
  order key: id ASC
  residual filter: none (the range is exact: age BETWEEN 20 AND 20)",
    );
}

#[test]
fn access_path_literals_are_normalized_to_the_column_type() {
    let catalog = common::catalog();
    let planned = plan(&users().filter(col("score").eq(3)), &catalog).unwrap();
    let AccessPath::IndexRange { prefix, .. } = &planned.access else {
        panic!("expected an index range, got {:?}", planned.access);
    };
    assert!(matches!(prefix.as_slice(), [Value::Float(f)] if *f == 3.0));
    check(
        users().filter(col("score").eq(3)),
        "\
Query users  [stream ASC]  cursor=IndexRange  shards=all(4)  merge=ordered
  IndexRange by_score  prefix=(3.0)  order: id
  order key: id ASC
  residual filter: none (the range is exact: score = 3.0)",
    );
}
