//! The merge modes that promise order (ordered streaming, ordered eager)
//! page exactly like one shard: the index-range and composite matrices of
//! `pagination.rs` re-run over 1, 2, 3 and 8 shards in both modes, every
//! page of every page size compared with the one-shard ordered traversal
//! (rows, boundaries, `next`/`prev` checked by `check_contract`). Beside
//! them: top-k plans in every mode, and the eager merge's size bound.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::ops::Bound;

use common::matrix::*;
use common::spread::*;
use common::*;
use keyset_executor::{execute_page, ExecError};
use keyset_plan::{AccessPath, MergeMode, SortDirection};
use keyset_store::{Direction, Value};

const SHARD_COUNTS: [u32; 4] = [1, 2, 3, 8];
const ORDERED_MODES: [MergeMode; 2] = [MergeMode::OrderedStreaming, MergeMode::OrderedEager];

/// Pages of one plan per page size, as `check_contract` returns them.
type Shapes = Vec<Vec<Vec<i64>>>;

/// Checks `shapes` against the reference for `key`, recording the first
/// one seen (the one-shard ordered traversal, run first).
fn same_as_one_shard(
    reference: &mut HashMap<String, Shapes>,
    key: String,
    shapes: Shapes,
    label: &str,
) {
    match reference.get(&key) {
        None => {
            assert!(
                label.contains("shards=1 "),
                "{label}: the reference is one shard"
            );
            reference.insert(key, shapes);
        }
        Some(one_shard) => assert_eq!(&shapes, one_shard, "{label}: pages like one shard"),
    }
}

#[test]
fn index_range_matrix_pages_like_one_shard_in_every_ordered_mode() {
    let mut reference = HashMap::new();
    for shards in SHARD_COUNTS {
        let fx = grid(shards);
        let whole_prefix = ("whole prefix", Bound::Unbounded, Bound::Unbounded);
        for (name, lower, upper) in INDEX_RANGE_CASES.into_iter().chain([whole_prefix]) {
            for direction in [Direction::Asc, Direction::Desc] {
                let base = fx.stream_plan(fx.range("by_ab", &[7], lower, upper), direction, None);
                for mode in ORDERED_MODES {
                    let plan = with_merge(&base, mode);
                    let label = format!("{name} {direction:?} shards={shards} {mode:?}");
                    let shapes = check_contract(&fx, &plan, &label);
                    same_as_one_shard(
                        &mut reference,
                        format!("{name} {direction:?}"),
                        shapes,
                        &label,
                    );
                }
            }
        }
        // Case F (a unique index) and a residual filter, the same way.
        for direction in [Direction::Asc, Direction::Desc] {
            let tags = AccessPath::IndexRange {
                index: fx.index("by_tag"),
                prefix: vec![],
                lower: Bound::Included(Value::from("t010")),
                upper: Bound::Excluded(Value::from("t040")),
            };
            let residual = fx.stream_plan(
                fx.range("by_ab", &[8], Bound::Included(6), Bound::Included(16)),
                direction,
                Some(keyset_plan::col("id").ne(70)),
            );
            for (name, base) in [
                ("F unique", fx.stream_plan(tags.clone(), direction, None)),
                ("residual", residual),
            ] {
                for mode in ORDERED_MODES {
                    let plan = with_merge(&base, mode);
                    let label = format!("{name} {direction:?} shards={shards} {mode:?}");
                    let shapes = check_contract(&fx, &plan, &label);
                    same_as_one_shard(
                        &mut reference,
                        format!("{name} {direction:?}"),
                        shapes,
                        &label,
                    );
                }
            }
        }
    }
    assert_eq!(reference.len(), 16, "every case was compared");
}

#[test]
fn composite_matrix_pages_like_one_shard_in_every_ordered_mode() {
    let mut reference = HashMap::new();
    for scenario in SCENARIOS {
        for shards in SHARD_COUNTS {
            let fx = Fixture::with_rows(shards, scenario_rows(scenario));
            for direction in [Direction::Asc, Direction::Desc] {
                let base = fx.stream_plan((scenario.path)(&fx), direction, None);
                for mode in ORDERED_MODES {
                    let plan = with_merge(&base, mode);
                    let label = format!("{} {direction:?} shards={shards} {mode:?}", scenario.name);
                    let shapes = check_contract(&fx, &plan, &label);
                    let key = format!("{} {direction:?}", scenario.name);
                    same_as_one_shard(&mut reference, key, shapes, &label);
                }
            }
        }
    }
    assert_eq!(reference.len(), SCENARIOS.len() * 2);
}

#[test]
fn top_k_pages_alike_whatever_merge_the_query_asks_for() {
    let mut reference = HashMap::new();
    for shards in SHARD_COUNTS {
        let fx = numbered(shards, 40);
        let base = fx.topk_plan(
            fx.range("by_a", &[], Bound::Included(1), Bound::Unbounded),
            &[(B, SortDirection::Desc)],
            None,
        );
        for mode in [
            MergeMode::OrderedStreaming,
            MergeMode::OrderedEager,
            MergeMode::UnorderedStreaming,
        ] {
            let plan = with_merge(&base, mode);
            let label = format!("top-k shards={shards} {mode:?}");
            let shapes = check_contract(&fx, &plan, &label);
            same_as_one_shard(&mut reference, "top-k".into(), shapes, &label);
        }
    }
}

#[test]
fn an_eager_merge_past_its_bound_is_a_typed_error_and_deep_pages_drain_less() {
    let mut fx = numbered(4, 60);
    fx.ctx.options.max_sort_buffer_keys = 20;
    let plan = with_merge(
        &fx.stream_plan(AccessPath::FullScan, Direction::Asc, None),
        MergeMode::OrderedEager,
    );
    let err = execute_page(&fx.store.read(), &plan, None, &fx.ctx).unwrap_err();
    match &err {
        ExecError::EagerMergeTooLarge { limit, shards } => {
            assert_eq!((*limit, *shards), (20, 4));
        }
        other => panic!("expected EagerMergeTooLarge, got {other}"),
    }
    assert!(err.to_string().contains("merge = 'ordered'"), "{err}");
    // The same query merged in order streams in bounded memory instead.
    let ordered = with_merge(&plan, MergeMode::OrderedStreaming);
    assert_eq!(concat(&fx.traverse(&ordered)), fx.expected(&ordered));
    // The drain starts past the anchor: the last 20 rows fit.
    let mut paged = plan.clone();
    paged.limit = Some(45);
    fx.ctx.options.max_sort_buffer_keys = 1000;
    let first = fx.page(&paged, None);
    fx.ctx.options.max_sort_buffer_keys = 15;
    let rest = fx.page(&paged, first.next.as_ref());
    assert_eq!(ids(&rest.rows), (45..60).collect::<Vec<_>>());
}
