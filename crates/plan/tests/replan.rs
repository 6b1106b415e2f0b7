//! `replan_with` (a prepared statement's plan reused for new values) must
//! give exactly the plan the planner gives for those values, or decline.
#![allow(clippy::unwrap_used)]

mod common;

use keyset_plan::{plan, replan_with, Expr, Plan, Query, SortDirection};
use keyset_store::Value;

/// The parts of a plan that decide its rows, order, shards and cursors.
fn parts(p: &Plan) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {}",
        p.access, p.filter, p.order, p.strategy, p.shards, p.cursor_kind, p.projection, p.signature
    )
}

/// A filter of equalities `column = value` on the given columns.
fn equalities(terms: &[(&str, Value)]) -> Expr {
    let mut exprs: Vec<Expr> = terms
        .iter()
        .map(|(c, v)| keyset_plan::col(c).eq(v.clone()))
        .collect();
    if exprs.len() == 1 {
        exprs.pop().unwrap()
    } else {
        Expr::And(exprs)
    }
}

#[test]
fn replanning_equalities_matches_the_planner() {
    let catalog = common::catalog();
    let int = Value::Int;
    let text = |s: &str| Value::Text(s.to_owned());
    // (table, columns, two bindings, order by)
    type Case<'a> = (
        &'a str,
        Vec<&'a str>,
        Vec<Value>,
        Vec<Value>,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        ("users", vec!["id"], vec![int(1)], vec![int(987_654)], None),
        (
            "users",
            vec!["city"],
            vec![text("Oslo")],
            vec![text("Bergen")],
            None,
        ),
        (
            "users",
            vec!["city", "age"],
            vec![text("Oslo"), int(3)],
            vec![text("A"), int(-9)],
            Some("name"),
        ),
        (
            "users",
            vec!["age", "name"],
            vec![int(3), text("x")],
            vec![int(4), text("a")],
            None,
        ),
        (
            "users",
            vec!["email"],
            vec![text("a@b")],
            vec![text("z@y")],
            Some("id"),
        ),
        (
            "users",
            vec!["score"],
            vec![int(2)],
            vec![Value::Float(2.5)],
            None,
        ),
        (
            "users",
            vec!["id", "city"],
            vec![int(5), text("Oslo")],
            vec![int(6), text("Rome")],
            None,
        ),
        (
            "orders",
            vec!["cust"],
            vec![int(1)],
            vec![int(2)],
            Some("seq"),
        ),
        (
            "orders",
            vec!["cust", "seq"],
            vec![int(1), int(2)],
            vec![int(3), int(4)],
            None,
        ),
        (
            "orders",
            vec!["status", "amount"],
            vec![text("new"), int(5)],
            vec![text("old"), int(7)],
            None,
        ),
    ];
    for (table, columns, first, second, order) in cases {
        let query = |values: &[Value]| {
            let terms: Vec<(&str, Value)> = columns
                .iter()
                .copied()
                .zip(values.iter().cloned())
                .collect();
            let mut q = Query::table(table).filter(equalities(&terms)).limit(10);
            if let Some(column) = order {
                q = q.order_by(column, SortDirection::Desc);
            }
            q
        };
        let template = plan(&query(&first), &catalog).unwrap();
        let expected = plan(&query(&second), &catalog).unwrap();
        let got = replan_with(&template, &query(&second))
            .unwrap_or_else(|| panic!("{table} {columns:?}: declined"));
        assert_eq!(parts(&got), parts(&expected), "{table} {columns:?}");
        assert_ne!(got.signature, template.signature, "{table} {columns:?}");
    }
}

#[test]
fn other_filters_are_declined() {
    let catalog = common::catalog();
    let template = plan(
        &Query::table("users").filter(keyset_plan::col("age").eq(3)),
        &catalog,
    )
    .unwrap();
    for filter in [
        keyset_plan::col("age").eq(Value::Null),
        keyset_plan::col("age").gt(3),
        keyset_plan::col("age").is_in([1, 2]),
        keyset_plan::col("age")
            .eq(3)
            .and(keyset_plan::col("age").eq(4)),
        keyset_plan::col("age")
            .eq(3)
            .or(keyset_plan::col("city").eq("x")),
        keyset_plan::col("city").eq("x"),
        keyset_plan::col("age").eq("not an int"),
    ] {
        let query = Query::table("users").filter(filter.clone());
        assert!(replan_with(&template, &query).is_none(), "{filter}");
    }
}
