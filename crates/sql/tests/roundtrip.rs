//! Property: every query and INSERT of the subset, written out as SQL text,
//! parses back to exactly the statement it was written from.

use keyset_plan::{CmpOp, Expr, OrderTerm, Projection, Query, SortDirection, Statement};
use keyset_sql::parse_one;
use keyset_store::Value;
use proptest::prelude::*;

fn cases() -> u32 {
    if std::env::var_os("KEYSET_LONG_TESTS").is_some() {
        2048
    } else {
        96
    }
}

/// Names that can never be keywords.
fn name() -> impl Strategy<Value = String> {
    "c_[a-z0-9_]{0,6}"
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        ".{0,12}".prop_map(Value::Text),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(Value::Bytes),
    ]
}

/// SQL text of a literal (Debug of a float is its shortest exact form).
fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Bool(b) => if *b { "TRUE" } else { "false" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:?}"),
        Value::Text(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Bytes(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("X'{hex}'")
        }
    }
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge),
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (name(), cmp_op(), value()).prop_map(|(column, op, value)| Expr::Cmp { column, op, value }),
        (name(), value(), value(), any::<bool>()).prop_map(|(column, low, high, negated)| {
            Expr::Between {
                column,
                low,
                high,
                negated,
            }
        }),
        (name(), prop::collection::vec(value(), 1..4), any::<bool>()).prop_map(
            |(column, values, negated)| Expr::In {
                column,
                values,
                negated
            }
        ),
        (name(), any::<bool>()).prop_map(|(column, negated)| Expr::IsNull { column, negated }),
        (name(), "[a-zA-Z0-9 ']{0,5}", any::<bool>()).prop_map(|(column, prefix, negated)| {
            Expr::LikePrefix {
                column,
                prefix,
                negated,
            }
        }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// The form the parser gives: a chain of one operator is one flat list.
fn flattened(e: Expr) -> Expr {
    match e {
        Expr::And(children) => Expr::And(flatten_into(children, true)),
        Expr::Or(children) => Expr::Or(flatten_into(children, false)),
        Expr::Not(inner) => Expr::Not(Box::new(flattened(*inner))),
        other => other,
    }
}

fn flatten_into(children: Vec<Expr>, and: bool) -> Vec<Expr> {
    let mut out = Vec::new();
    for child in children.into_iter().map(flattened) {
        match child {
            Expr::And(grand) if and => out.extend(grand),
            Expr::Or(grand) if !and => out.extend(grand),
            other => out.push(other),
        }
    }
    out
}

fn sql_of(e: &Expr) -> String {
    let not = |n: bool| if n { "NOT " } else { "" };
    match e {
        Expr::Cmp { column, op, value } => format!("{column} {} {}", op.symbol(), literal(value)),
        Expr::Between {
            column,
            low,
            high,
            negated,
        } => format!(
            "{column} {}BETWEEN {} AND {}",
            not(*negated),
            literal(low),
            literal(high)
        ),
        Expr::In {
            column,
            values,
            negated,
        } => {
            let list: Vec<String> = values.iter().map(literal).collect();
            format!("{column} {}IN ({})", not(*negated), list.join(", "))
        }
        Expr::IsNull { column, negated } => format!("{column} IS {}NULL", not(*negated)),
        Expr::LikePrefix {
            column,
            prefix,
            negated,
        } => format!(
            "{column} {}LIKE '{}%'",
            not(*negated),
            prefix.replace('\'', "''")
        ),
        Expr::And(children) | Expr::Or(children) => {
            let sep = if matches!(e, Expr::And(_)) {
                " AND "
            } else {
                " OR "
            };
            let parts: Vec<String> = children
                .iter()
                .map(|c| format!("({})", sql_of(c)))
                .collect();
            parts.join(sep)
        }
        Expr::Not(inner) => format!("NOT ({})", sql_of(inner)),
    }
}

fn query() -> impl Strategy<Value = Query> {
    (
        name(),
        prop::option::of(prop::collection::vec(name(), 1..4)),
        prop::option::of(expr()),
        prop::collection::vec((name(), any::<bool>()), 0..3),
        prop::option::of(0usize..5000),
        0usize..100,
    )
        .prop_map(|(table, columns, filter, order, limit, offset)| {
            let mut q = Query::table(&table);
            q.projection = columns.map_or(Projection::All, Projection::Columns);
            q.filter = filter.map(flattened);
            q.order_by = order
                .into_iter()
                .map(|(column, desc)| OrderTerm {
                    column,
                    direction: if desc {
                        SortDirection::Desc
                    } else {
                        SortDirection::Asc
                    },
                })
                .collect();
            q.limit = limit;
            q.offset = offset;
            q
        })
}

fn select_sql(q: &Query) -> String {
    let mut sql = String::from("SELECT ");
    match &q.projection {
        Projection::All => sql.push('*'),
        Projection::Columns(c) => sql.push_str(&c.join(", ")),
        Projection::Count => sql.push_str("COUNT(*)"),
    }
    sql.push_str(&format!(" FROM {}", q.table));
    if let Some(f) = &q.filter {
        sql.push_str(&format!(" WHERE {}", sql_of(f)));
    }
    if !q.order_by.is_empty() {
        let terms: Vec<String> = q
            .order_by
            .iter()
            .map(|t| match t.direction {
                SortDirection::Asc => t.column.clone(),
                SortDirection::Desc => format!("{} DESC", t.column),
            })
            .collect();
        sql.push_str(&format!(" ORDER BY {}", terms.join(", ")));
    }
    if let Some(limit) = q.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    if q.offset > 0 {
        sql.push_str(&format!(" OFFSET {}", q.offset));
    }
    sql
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn rendered_selects_parse_back_to_the_same_query(q in query()) {
        let sql = select_sql(&q);
        let expected = Statement::Select(q);
        let got = parse_one(&sql);
        prop_assert!(got.is_ok(), "`{}` failed: {:?}", sql, got);
        // Debug equality: tells Int(1) from Float(1.0), unlike Value's `==`.
        prop_assert_eq!(format!("{:?}", got.ok()), format!("{:?}", Some(expected)), "{}", sql);
    }

    #[test]
    fn rendered_inserts_parse_back_to_the_same_rows(
        table in name(),
        rows in prop::collection::vec(prop::collection::vec(value(), 1..5), 1..6),
    ) {
        let rendered: Vec<String> = rows
            .iter()
            .map(|r| format!("({})", r.iter().map(literal).collect::<Vec<_>>().join(", ")))
            .collect();
        let sql = format!("INSERT INTO {table} VALUES {}", rendered.join(", "));
        let expected = Statement::Insert { table, columns: None, rows };
        let got = parse_one(&sql);
        prop_assert_eq!(format!("{:?}", got), format!("{:?}", Ok::<_, ()>(expected)), "{}", sql);
    }
}
