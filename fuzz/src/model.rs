//! The `pagination` target's input and its naive model: a table of a few
//! fixed shapes, writes of small values, a filter from a small grammar and
//! an ORDER BY, all `Arbitrary`; and the model's answer, computed over a
//! `BTreeMap` of rows with an evaluator of its own (SQL three-valued logic)
//! that shares no code with keyset's `Predicate`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use keyset::{col, Expr, SortDirection, Value};

/// Texts the `b` column and text literals take: ties, a shared prefix, an
/// embedded zero byte (the codec's escape) and a multi-byte character.
pub const TEXTS: [&str; 6] = ["", "a", "a\0", "ab", "b", "é"];

/// The table's shape: its columns, by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// `PRIMARY KEY (id, k)` instead of `(id)`.
    pub composite: bool,
}

/// A column of the table (`k` exists only in the composite shape; in the
/// single shape it reads as `id`).
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
    Id,
    K,
    A,
    B,
    C,
}

impl Shape {
    pub fn sql(self, shards: u32) -> String {
        let (k, pk) = if self.composite {
            ("k INT NOT NULL, ", "PRIMARY KEY (id, k)")
        } else {
            ("", "PRIMARY KEY (id)")
        };
        format!("CREATE TABLE t (id INT NOT NULL, {k}a INT, b TEXT, c INT, {pk}) WITH (shards = {shards})")
    }

    /// The column as this shape has it.
    pub fn resolve(self, column: Column) -> Column {
        if column == Column::K && !self.composite {
            Column::Id
        } else {
            column
        }
    }

    pub fn position(self, column: Column) -> usize {
        let shift = usize::from(self.composite);
        match self.resolve(column) {
            Column::Id => 0,
            Column::K => 1,
            Column::A => 1 + shift,
            Column::B => 2 + shift,
            Column::C => 3 + shift,
        }
    }

    pub fn name(self, column: Column) -> &'static str {
        match self.resolve(column) {
            Column::Id => "id",
            Column::K => "k",
            Column::A => "a",
            Column::B => "b",
            Column::C => "c",
        }
    }

    pub fn primary_key(self) -> Vec<usize> {
        if self.composite {
            vec![0, 1]
        } else {
            vec![0]
        }
    }

    fn is_text(self, column: Column) -> bool {
        self.resolve(column) == Column::B
    }
}

/// A literal, typed for its column when the filter is built.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Literal {
    Null,
    Small(i8),
}

impl Literal {
    pub fn value(self, shape: Shape, column: Column) -> Value {
        match self {
            Literal::Null => Value::Null,
            Literal::Small(n) if shape.is_text(column) => {
                Value::from(TEXTS[usize::from(n.unsigned_abs()) % TEXTS.len()])
            }
            Literal::Small(n) => Value::Int(i64::from(n % 6)),
        }
    }
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The filter grammar.
#[derive(Arbitrary, Clone, Debug)]
pub enum Filter {
    Cmp {
        column: Column,
        op: Op,
        literal: Literal,
    },
    Between {
        column: Column,
        low: Literal,
        high: Literal,
        negated: bool,
    },
    In {
        column: Column,
        literals: Vec<Literal>,
        negated: bool,
    },
    IsNull {
        column: Column,
        negated: bool,
    },
    /// `b LIKE 'prefix%'`
    LikePrefix {
        prefix: u8,
        negated: bool,
    },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// Filters deeper than this are cut (a leaf that is always true replaces
/// the subtree), so inputs stay cheap.
pub const MAX_FILTER_DEPTH: usize = 5;
/// Most values in one IN list.
pub const MAX_IN_VALUES: usize = 4;

/// The filter with literals typed, depth and list lengths bounded: the
/// form both keyset and the model get.
#[derive(Clone, Debug)]
pub enum Typed {
    Cmp(usize, Op, Value),
    Between(usize, Value, Value, bool),
    In(usize, Vec<Value>, bool),
    IsNull(usize, bool),
    LikePrefix(usize, String, bool),
    And(Box<Typed>, Box<Typed>),
    Or(Box<Typed>, Box<Typed>),
    Not(Box<Typed>),
}

impl Filter {
    pub fn typed(&self, shape: Shape, depth: usize) -> Typed {
        let pos = |c: Column| shape.position(c);
        let lit = |c: Column, l: &Literal| l.value(shape, c);
        let deeper = |f: &Filter| Box::new(f.typed(shape, depth + 1));
        if depth >= MAX_FILTER_DEPTH {
            return Typed::IsNull(0, true);
        }
        match self {
            Filter::Cmp {
                column,
                op,
                literal,
            } => Typed::Cmp(pos(*column), *op, lit(*column, literal)),
            Filter::Between {
                column,
                low,
                high,
                negated,
            } => Typed::Between(
                pos(*column),
                lit(*column, low),
                lit(*column, high),
                *negated,
            ),
            Filter::In {
                column,
                literals,
                negated,
            } => Typed::In(
                pos(*column),
                literals
                    .iter()
                    .take(MAX_IN_VALUES)
                    .map(|l| lit(*column, l))
                    .collect(),
                *negated,
            ),
            Filter::IsNull { column, negated } => Typed::IsNull(pos(*column), *negated),
            Filter::LikePrefix { prefix, negated } => Typed::LikePrefix(
                pos(Column::B),
                TEXTS[usize::from(*prefix) % TEXTS.len()].to_owned(),
                *negated,
            ),
            Filter::And(a, b) => Typed::And(deeper(a), deeper(b)),
            Filter::Or(a, b) => Typed::Or(deeper(a), deeper(b)),
            Filter::Not(a) => Typed::Not(deeper(a)),
        }
    }
}

impl Typed {
    /// The keyset expression, columns named as `names` says.
    pub fn expr(&self, names: &dyn Fn(usize) -> &'static str) -> Expr {
        match self {
            Typed::Cmp(c, op, v) => {
                let column = col(names(*c));
                let v = v.clone();
                match op {
                    Op::Eq => column.eq(v),
                    Op::Ne => column.ne(v),
                    Op::Lt => column.lt(v),
                    Op::Le => column.le(v),
                    Op::Gt => column.gt(v),
                    Op::Ge => column.ge(v),
                }
            }
            Typed::Between(c, low, high, negated) => Expr::Between {
                column: names(*c).to_owned(),
                low: low.clone(),
                high: high.clone(),
                negated: *negated,
            },
            Typed::In(c, values, negated) => Expr::In {
                column: names(*c).to_owned(),
                values: values.clone(),
                negated: *negated,
            },
            Typed::IsNull(c, negated) => Expr::IsNull {
                column: names(*c).to_owned(),
                negated: *negated,
            },
            Typed::LikePrefix(c, prefix, negated) => Expr::LikePrefix {
                column: names(*c).to_owned(),
                prefix: prefix.clone(),
                negated: *negated,
            },
            Typed::And(a, b) => a.expr(names).and(b.expr(names)),
            Typed::Or(a, b) => a.expr(names).or(b.expr(names)),
            Typed::Not(a) => a.expr(names).not(),
        }
    }

    /// SQL three-valued evaluation: `None` is UNKNOWN.
    pub fn eval(&self, row: &[Value]) -> Option<bool> {
        let cmp = |c: usize, v: &Value| -> Option<Ordering> {
            let x = &row[c];
            if x.is_null() || v.is_null() {
                None
            } else {
                Some(x.compare(v))
            }
        };
        let not = |t: Option<bool>, negated: bool| if negated { t.map(|b| !b) } else { t };
        match self {
            Typed::Cmp(c, op, v) => cmp(*c, v).map(|o| match op {
                Op::Eq => o.is_eq(),
                Op::Ne => o.is_ne(),
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                Op::Ge => o.is_ge(),
            }),
            Typed::Between(c, low, high, negated) => {
                let above = cmp(*c, low).map(Ordering::is_ge);
                let below = cmp(*c, high).map(Ordering::is_le);
                not(and(above, below), *negated)
            }
            Typed::In(c, values, negated) => {
                let mut t = Some(false);
                for v in values {
                    t = or(t, cmp(*c, v).map(Ordering::is_eq));
                }
                not(t, *negated)
            }
            Typed::IsNull(c, negated) => Some(row[*c].is_null() != *negated),
            Typed::LikePrefix(c, prefix, negated) => {
                let t = match &row[*c] {
                    Value::Null => None,
                    Value::Text(s) => Some(s.starts_with(prefix.as_str())),
                    _ => Some(false),
                };
                not(t, *negated)
            }
            Typed::And(a, b) => and(a.eval(row), b.eval(row)),
            Typed::Or(a, b) => or(a.eval(row), b.eval(row)),
            Typed::Not(a) => a.eval(row).map(|b| !b),
        }
    }
}

fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// Compares two rows by `key`: each term by `Value::compare` (NULL first),
/// reversed for a descending term (so NULL last).
pub fn compare_by(key: &[(usize, SortDirection)], x: &[Value], y: &[Value]) -> Ordering {
    for (c, direction) in key {
        let o = x[*c].compare(&y[*c]);
        let o = match direction {
            SortDirection::Asc => o,
            SortDirection::Desc => o.reverse(),
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

/// The table as the model holds it: primary key -> row.
pub type Rows = BTreeMap<Vec<Value>, Vec<Value>>;

/// The model's answer: the rows that pass `filter`, sorted by `key`.
pub fn answer(
    rows: &Rows,
    filter: Option<&Typed>,
    key: &[(usize, SortDirection)],
) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = rows
        .values()
        .filter(|r| filter.is_none_or(|f| f.eval(r) == Some(true)))
        .cloned()
        .collect();
    out.sort_by(|x, y| compare_by(key, x, y));
    out
}
