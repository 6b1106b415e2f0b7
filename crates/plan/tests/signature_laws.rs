//! The laws of canonical form and the plan signature, over random queries:
//! permuting (and regrouping) AND/OR children changes nothing; limit,
//! offset and budgets never change the signature; the filter, the order,
//! the index ids, the schema generation and the table always do.
#![allow(clippy::unwrap_used)]

mod common;

use common::gen::{self, Col};
use keyset_plan::{canonicalize, col, explain, plan, AccessPath, Expr, Plan, Query, SortDirection};
use keyset_store::Catalog;
use proptest::prelude::*;

fn table_query() -> BoxedStrategy<Query> {
    prop_oneof![
        gen::query("t", gen::T_FILTER, gen::T_ORDER),
        gen::query("s", gen::S_FILTER, gen::S_ORDER),
    ]
    .boxed()
}

fn planned(query: &Query, catalog: &Catalog) -> Plan {
    plan(query, catalog).expect("generated queries are valid")
}

/// Everything the signature is meant to bind, compared field by field.
fn assert_same_plan(a: &Plan, b: &Plan) {
    assert_eq!(a.access, b.access);
    assert_eq!(a.filter, b.filter);
    assert_eq!(a.order, b.order);
    assert_eq!(a.strategy, b.strategy);
    assert_eq!(a.projection, b.projection);
    assert_eq!(a.shards, b.shards);
    assert_eq!(a.cursor_kind, b.cursor_kind);
    assert_eq!(a.signature, b.signature);
    assert_eq!(explain(a), explain(b));
}

fn same_content(a: &Plan, b: &Plan) -> bool {
    a.table.id == b.table.id
        && a.table.generation == b.table.generation
        && a.access == b.access
        && a.filter == b.filter
        && a.order == b.order
        && a.strategy == b.strategy
        && a.projection == b.projection
        && a.merge == b.merge
        && a.shards == b.shards
        && a.cursor_kind == b.cursor_kind
}

/// A conjunct that no generated filter contains (999 is outside the
/// generated literal domain), on a primary-key column of the table.
fn extra_conjunct(table: &str) -> Expr {
    col(if table == "s" { "k" } else { "id" }).ne(999)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(128)))]

    #[test]
    fn permuting_and_or_children_changes_nothing(query in table_query(), seed in 1u64..) {
        let catalog = common::prop_catalog();
        let mut seed = seed;
        let mut permuted = query.clone();
        permuted.filter = query.filter.as_ref().map(|f| gen::permute(f, &mut seed));
        assert_same_plan(&planned(&query, &catalog), &planned(&permuted, &catalog));
    }

    #[test]
    fn plans_are_canonical(query in table_query()) {
        let catalog = common::prop_catalog();
        let p = planned(&query, &catalog);
        prop_assert_eq!(canonicalize(p.access.clone()), p.access.clone());
        // Reversing a composite's children is undone by canonical form.
        if let AccessPath::Union(children) | AccessPath::Intersection(children) = &p.access {
            let reversed: Vec<AccessPath> = children.iter().rev().cloned().collect();
            let again = if matches!(p.access, AccessPath::Union(_)) {
                AccessPath::Union(reversed)
            } else {
                AccessPath::Intersection(reversed)
            };
            prop_assert_eq!(canonicalize(again), p.access.clone());
        }
        // The order key always ends with the whole primary key.
        for pk in &p.table.primary_key {
            prop_assert!(p.order.iter().any(|t| t.column == *pk));
        }
    }

    #[test]
    fn limit_offset_and_budgets_do_not_change_the_signature(
        query in table_query(),
        limit in prop::option::of(1usize..1000),
        offset in 0usize..1000,
        examined in prop::option::of(1u64..1000),
        bytes in prop::option::of(1u64..1000),
    ) {
        let catalog = common::prop_catalog();
        let mut other = query.clone();
        other.limit = limit;
        other.offset = offset;
        other.budget.max_examined = examined;
        other.budget.max_bytes = bytes;
        other.budget.deadline = Some(std::time::Instant::now());
        let (a, b) = (planned(&query, &catalog), planned(&other, &catalog));
        prop_assert_eq!(a.signature, b.signature);
        prop_assert_eq!((b.limit, b.offset), (limit, offset));
    }

    #[test]
    fn changing_the_filter_changes_the_signature(query in table_query()) {
        let catalog = common::prop_catalog();
        let mut other = query.clone();
        other.filter = Some(match query.filter.clone() {
            None => extra_conjunct(&query.table),
            Some(f) => f.and(extra_conjunct(&query.table)),
        });
        prop_assert_ne!(planned(&query, &catalog).signature, planned(&other, &catalog).signature);
    }

    #[test]
    fn changing_the_order_changes_the_signature(query in gen::query("t", gen::T_FILTER, gen::T_ORDER)) {
        // `e` is in no filter, so it is never constant; it only drops out
        // when the filter fixes the whole primary key (at most one row).
        let catalog = common::prop_catalog();
        let by = |direction| {
            let mut q = query.clone();
            q.order_by.insert(0, keyset_plan::OrderTerm { column: "e".into(), direction });
            planned(&q, &catalog)
        };
        let (asc, desc) = (by(SortDirection::Asc), by(SortDirection::Desc));
        prop_assume!(asc.order != desc.order);
        prop_assert_ne!(asc.signature, desc.signature);
    }

    #[test]
    fn signatures_are_equal_exactly_when_the_plans_are(a in table_query(), b in table_query()) {
        let catalog = common::prop_catalog();
        let (pa, pb) = (planned(&a, &catalog), planned(&b, &catalog));
        prop_assert_eq!(pa.signature == pb.signature, same_content(&pa, &pb));
        // The same query with another ORDER BY list.
        let mut c = a.clone();
        c.order_by = b.order_by.clone();
        if c.table == b.table {
            let pc = planned(&c, &catalog);
            prop_assert_eq!(pa.signature == pc.signature, same_content(&pa, &pc));
        }
    }

    #[test]
    fn a_dropped_and_recreated_index_changes_every_signature(
        query in gen::query("t", gen::T_FILTER, gen::T_ORDER),
    ) {
        let before = common::prop_catalog();
        let mut after = before.clone();
        common::drop_index(&mut after, "t", "t_ab");
        common::add_index(
            &mut after,
            keyset_store::IndexSpec::new("t_ab", "t", &["a", "b"]),
        );
        prop_assert_ne!(planned(&query, &before).signature, planned(&query, &after).signature);
    }

    #[test]
    fn another_index_id_changes_the_signature_of_plans_that_use_it(
        query in gen::query("t", gen::T_FILTER, gen::T_ORDER),
    ) {
        // Same tables, same generations, index ids shifted by one.
        let (a, b) = (common::prop_catalog(), common::prop_catalog_with(1));
        let (pa, pb) = (planned(&query, &a), planned(&query, &b));
        prop_assert_eq!(pa.table.generation, pb.table.generation);
        prop_assert_eq!(explain(&pa), explain(&pb));
        let uses_index = explain(&pa).contains("IndexRange t_");
        prop_assert_eq!(pa.signature != pb.signature, uses_index);
    }

    #[test]
    fn the_same_query_on_another_table_has_another_signature(
        query in gen::query("t", gen::T_FILTER, gen::T_ORDER),
    ) {
        let catalog = common::prop_catalog();
        let mut other = query.clone();
        other.table = "t2".into();
        prop_assert_ne!(planned(&query, &catalog).signature, planned(&other, &catalog).signature);
    }
}

#[test]
fn generated_columns_match_the_catalog() {
    let catalog = common::prop_catalog();
    let check = |table: &str, cols: &[Col]| {
        let def = catalog.table(table).unwrap();
        for c in cols {
            let pos = def.column_index(c.name).unwrap();
            assert_eq!(def.columns[pos].ty, c.ty, "{table}.{}", c.name);
        }
    };
    check("t", gen::T_FILTER);
    check("s", gen::S_FILTER);
}

/// Cursors carry signatures, so an accidental change of the signed encoding
/// would invalidate every outstanding cursor: the bytes are pinned here.
/// Change the expected value only together with the domain string's version.
#[test]
fn the_signed_encoding_is_pinned() {
    let catalog = common::catalog();
    let p = plan(
        &common::users()
            .filter(col("city").eq("Oslo").and(col("age").ge(30)))
            .order_by("age", SortDirection::Desc),
        &catalog,
    )
    .unwrap();
    assert_eq!(p.signature.to_string(), "f52694d05fcdcb83dedbf385ed4a93ea");
}
