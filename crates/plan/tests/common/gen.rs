//! Proptest strategies over the property-test catalog: random filters
//! (AND/OR/NOT trees over typed literals), queries and rows, and a seeded
//! rewrite that permutes and regroups the children of every AND/OR.

use std::collections::BTreeMap;

use keyset_plan::{CmpOp, Expr, MergeMode, OrderTerm, Query, SortDirection};
use keyset_store::{ColumnType, Value};
use proptest::prelude::*;
use proptest::sample::select;

/// A column a filter may name.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub name: &'static str,
    pub ty: ColumnType,
}

const fn c(name: &'static str, ty: ColumnType) -> Col {
    Col { name, ty }
}

/// Filterable columns of `t` (and `t2`); `e` is left out on purpose.
pub const T_FILTER: &[Col] = &[
    c("id", ColumnType::Int),
    c("a", ColumnType::Int),
    c("b", ColumnType::Int),
    c("c", ColumnType::Text),
    c("d", ColumnType::Float),
];
pub const T_ORDER: &[&str] = &["id", "a", "b", "c", "d", "e"];
pub const S_FILTER: &[Col] = &[
    c("k", ColumnType::Int),
    c("j", ColumnType::Int),
    c("v", ColumnType::Int),
    c("w", ColumnType::Text),
];
pub const S_ORDER: &[&str] = &["k", "j", "v", "w"];

const TEXTS: &[&str] = &["", "a", "ab", "abc", "ab\u{10FFFF}", "ac", "b", "ba"];
const FLOATS: &[f64] = &[-1.0, 0.0, 0.5, 2.0, 3.0];

fn text() -> BoxedStrategy<Value> {
    select(TEXTS)
        .prop_map(|s| Value::Text(s.to_owned()))
        .boxed()
}

/// A literal for a column of type `ty` (NULL sometimes; INT for FLOAT
/// columns sometimes, which binding normalizes).
pub fn literal(ty: ColumnType) -> BoxedStrategy<Value> {
    let value = match ty {
        ColumnType::Int => (-1i64..5).prop_map(Value::Int).boxed(),
        ColumnType::Float => prop_oneof![
            select(FLOATS).prop_map(Value::Float),
            (-1i64..4).prop_map(Value::Int),
        ]
        .boxed(),
        ColumnType::Text => text(),
        ColumnType::Bool | ColumnType::Bytes => Just(Value::Null).boxed(),
    };
    prop_oneof![24 => value, 1 => Just(Value::Null)].boxed()
}

fn op() -> impl Strategy<Value = CmpOp> {
    select(
        &[
            CmpOp::Eq,
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ][..],
    )
}

fn leaf(cols: &'static [Col]) -> BoxedStrategy<Expr> {
    select(cols)
        .prop_flat_map(|col| {
            let name = col.name.to_owned();
            let ty = col.ty;
            let lit = move || literal(ty);
            let (n1, n2, n3, n4, n5) =
                (name.clone(), name.clone(), name.clone(), name.clone(), name);
            let mut options: Vec<BoxedStrategy<Expr>> = vec![
                (op(), lit())
                    .prop_map({
                        let n = n1.clone();
                        move |(op, value)| Expr::Cmp {
                            column: n.clone(),
                            op,
                            value,
                        }
                    })
                    .boxed(),
                (op(), lit())
                    .prop_map(move |(op, value)| Expr::Cmp {
                        column: n1.clone(),
                        op,
                        value,
                    })
                    .boxed(),
                (lit(), lit(), any::<bool>())
                    .prop_map(move |(low, high, negated)| Expr::Between {
                        column: n2.clone(),
                        low,
                        high,
                        negated,
                    })
                    .boxed(),
                (
                    prop_oneof![1 => Just(0usize..1), 9 => Just(1usize..4)]
                        .prop_flat_map(move |len| prop::collection::vec(lit(), len)),
                    prop::bool::weighted(0.2),
                )
                    .prop_map(move |(values, negated)| Expr::In {
                        column: n3.clone(),
                        values,
                        negated,
                    })
                    .boxed(),
                any::<bool>()
                    .prop_map(move |negated| Expr::IsNull {
                        column: n4.clone(),
                        negated,
                    })
                    .boxed(),
            ];
            if col.ty == ColumnType::Text {
                options.push(
                    (select(&["", "a", "ab", "b"][..]), prop::bool::weighted(0.2))
                        .prop_map(move |(prefix, negated)| Expr::LikePrefix {
                            column: n5.clone(),
                            prefix: prefix.to_owned(),
                            negated,
                        })
                        .boxed(),
                );
            }
            proptest::strategy::Union::new(options)
        })
        .boxed()
}

/// A random filter: AND/OR/NOT trees of depth up to 3 over `cols`.
pub fn filter(cols: &'static [Col]) -> BoxedStrategy<Expr> {
    leaf(cols)
        .prop_recursive(3, 24, 4, |inner| {
            let children = || {
                prop_oneof![1 => Just(0usize..1), 19 => Just(1usize..4)].prop_flat_map({
                    let inner = inner.clone();
                    move |len| prop::collection::vec(inner.clone(), len)
                })
            };
            prop_oneof![
                4 => children().prop_map(Expr::And),
                3 => children().prop_map(Expr::Or),
                1 => inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
        .boxed()
}

/// An AND of equalities and IN lists (plus, sometimes, a random filter):
/// the shape that makes by-keys plans and intersections.
pub fn equality_filter(cols: &'static [Col]) -> BoxedStrategy<Expr> {
    let equality = select(cols).prop_flat_map(|col| {
        let name = col.name.to_owned();
        prop_oneof![
            3 => literal(col.ty).prop_map({
                let name = name.clone();
                move |value| Expr::Cmp {
                    column: name.clone(),
                    op: CmpOp::Eq,
                    value,
                }
            }),
            1 => prop::collection::vec(literal(col.ty), 1..3).prop_map(move |values| Expr::In {
                column: name.clone(),
                values,
                negated: false,
            }),
        ]
    });
    (
        prop::collection::vec(equality, 2..5),
        prop::option::weighted(0.3, filter(cols)),
    )
        .prop_map(|(mut conjuncts, extra)| {
            conjuncts.extend(extra);
            Expr::And(conjuncts)
        })
        .boxed()
}

/// A random query on `table`: filter, ORDER BY, window and merge mode.
pub fn query(
    table: &'static str,
    cols: &'static [Col],
    order_cols: &'static [&'static str],
) -> BoxedStrategy<Query> {
    (
        prop::option::weighted(
            0.9,
            prop_oneof![3 => filter(cols), 1 => equality_filter(cols)],
        ),
        prop::collection::vec((select(order_cols), any::<bool>()), 0..3),
        prop::option::of(1usize..100),
        0usize..5,
        select(
            &[
                MergeMode::OrderedStreaming,
                MergeMode::UnorderedStreaming,
                MergeMode::OrderedEager,
            ][..],
        ),
    )
        .prop_map(move |(filter, order, limit, offset, merge)| Query {
            table: table.to_owned(),
            filter,
            order_by: order
                .into_iter()
                .map(|(column, desc)| OrderTerm {
                    column: column.to_owned(),
                    direction: if desc {
                        SortDirection::Desc
                    } else {
                        SortDirection::Asc
                    },
                })
                .collect(),
            limit,
            offset,
            budget: Default::default(),
            projection: Default::default(),
            merge,
            consistency: Default::default(),
        })
        .boxed()
}

fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        let j = (next(seed) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// The same filter with the children of every AND/OR (and every IN list)
/// shuffled, some runs of children regrouped into a nested AND/OR of the
/// same kind, and some nodes wrapped in a one-child AND.
pub fn permute(expr: &Expr, seed: &mut u64) -> Expr {
    let out = match expr {
        Expr::And(children) | Expr::Or(children) => {
            let is_and = matches!(expr, Expr::And(_));
            let mut kids: Vec<Expr> = children.iter().map(|c| permute(c, seed)).collect();
            shuffle(&mut kids, seed);
            if kids.len() >= 3 && next(seed).is_multiple_of(2) {
                let tail = kids.split_off(1);
                kids.push(if is_and {
                    Expr::And(tail)
                } else {
                    Expr::Or(tail)
                });
            }
            if is_and {
                Expr::And(kids)
            } else {
                Expr::Or(kids)
            }
        }
        Expr::Not(inner) => Expr::Not(Box::new(permute(inner, seed))),
        Expr::In {
            column,
            values,
            negated,
        } => {
            let mut values = values.clone();
            shuffle(&mut values, seed);
            Expr::In {
                column: column.clone(),
                values,
                negated: *negated,
            }
        }
        other => other.clone(),
    };
    if next(seed).is_multiple_of(8) {
        Expr::And(vec![out])
    } else {
        out
    }
}

/// The rows of a table keyed by primary key (the naive model of the store).
pub type Rows = BTreeMap<Vec<Value>, Vec<Value>>;

fn nullable(value: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![4 => value, 1 => Just(Value::Null)].boxed()
}

fn small_int() -> BoxedStrategy<Value> {
    (-1i64..5).prop_map(Value::Int).boxed()
}

/// Rows of `t`: ids 0..n, other columns from small domains with NULLs.
pub fn t_rows() -> BoxedStrategy<Rows> {
    prop::collection::vec(
        (
            nullable(small_int()),
            nullable(small_int()),
            nullable(text()),
            nullable(select(FLOATS).prop_map(Value::Float).boxed()),
            small_int(),
        ),
        0..40,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (a, b, c, d, e))| {
                let id = Value::Int(i as i64);
                (vec![id.clone()], vec![id, a, b, c, d, e])
            })
            .collect()
    })
    .boxed()
}

/// Rows of `s`: primary key (k, j) from 0..5 x 0..5.
pub fn s_rows() -> BoxedStrategy<Rows> {
    prop::collection::vec(
        (0i64..5, 0i64..5, nullable(small_int()), nullable(text())),
        0..40,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(k, j, v, w)| {
                let key = vec![Value::Int(k), Value::Int(j)];
                (key, vec![Value::Int(k), Value::Int(j), v, w])
            })
            .collect()
    })
    .boxed()
}
