//! The right-hand side of `SET column = ...` in UPDATE: a value, a column
//! of the row, or `+ - *` of those ([`SetExpr`], columns by name), and its
//! bound form ([`BoundSet`], columns by position) that is evaluated on
//! each row being updated. INT arithmetic is checked: an overflow is an
//! error, never a wrapped value. Writing the result is the caller's job.

use std::fmt;

use keyset_store::{TableDef, Value};

use crate::error::PlanError;

/// Deepest nesting of a SET expression (a fence against stack overflow;
/// the SQL crate's expression size limit comes first in practice).
pub const MAX_SET_DEPTH: usize = 64;

/// An arithmetic operator of SET.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
}

impl ArithOp {
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
        }
    }
}

/// The value assigned to a column, columns named.
#[derive(Clone, Debug, PartialEq)]
pub enum SetExpr {
    Value(Value),
    Column(String),
    Arith {
        op: ArithOp,
        left: Box<SetExpr>,
        right: Box<SetExpr>,
    },
}

impl From<Value> for SetExpr {
    fn from(value: Value) -> SetExpr {
        SetExpr::Value(value)
    }
}

impl SetExpr {
    /// `left op right`.
    pub fn arith(op: ArithOp, left: SetExpr, right: SetExpr) -> SetExpr {
        SetExpr::Arith {
            op,
            left: Box::new(left),
            right: Box::new(right),
        }
    }

    /// Resolves columns against `table`.
    pub fn bind(&self, table: &TableDef) -> Result<BoundSet, PlanError> {
        self.bind_at(table, 0)
    }

    fn bind_at(&self, table: &TableDef, depth: usize) -> Result<BoundSet, PlanError> {
        if depth > MAX_SET_DEPTH {
            return Err(PlanError::Unsupported(format!(
                "SET expression nested deeper than {MAX_SET_DEPTH} levels"
            )));
        }
        Ok(match self {
            SetExpr::Value(v) => BoundSet::Value(v.clone()),
            SetExpr::Column(name) => {
                BoundSet::Column(table.column_index(name).ok_or_else(|| {
                    PlanError::UnknownColumn {
                        table: table.name.clone(),
                        column: name.clone(),
                    }
                })?)
            }
            SetExpr::Arith { op, left, right } => BoundSet::Arith {
                op: *op,
                left: Box::new(left.bind_at(table, depth + 1)?),
                right: Box::new(right.bind_at(table, depth + 1)?),
            },
        })
    }
}

impl fmt::Display for SetExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetExpr::Value(v) => write!(f, "{v}"),
            SetExpr::Column(c) => f.write_str(c),
            SetExpr::Arith { op, left, right } => {
                write!(f, "({left} {} {right})", op.symbol())
            }
        }
    }
}

/// A SET expression bound to a table: columns by position.
#[derive(Clone, Debug, PartialEq)]
pub enum BoundSet {
    Value(Value),
    Column(usize),
    Arith {
        op: ArithOp,
        left: Box<BoundSet>,
        right: Box<BoundSet>,
    },
}

/// Why a SET expression has no value on a row.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArithError {
    #[error("{left} {op} {right} overflows {kind}")]
    Overflow {
        op: &'static str,
        left: String,
        right: String,
        kind: &'static str,
    },
    #[error("`{op}` takes INT or FLOAT operands, got {found}")]
    NotNumber {
        op: &'static str,
        found: &'static str,
    },
}

impl BoundSet {
    /// The value on `row` (the row's values before the update). NULL in,
    /// NULL out; INT with INT stays INT (checked); a FLOAT operand makes
    /// the result FLOAT, which must be finite.
    pub fn eval(&self, row: &[Value]) -> Result<Value, ArithError> {
        match self {
            BoundSet::Value(v) => Ok(v.clone()),
            BoundSet::Column(c) => Ok(row.get(*c).cloned().unwrap_or(Value::Null)),
            BoundSet::Arith { op, left, right } => arith(*op, &left.eval(row)?, &right.eval(row)?),
        }
    }
}

fn arith(op: ArithOp, left: &Value, right: &Value) -> Result<Value, ArithError> {
    let overflow = |kind| ArithError::Overflow {
        op: op.symbol(),
        left: left.to_string(),
        right: right.to_string(),
        kind,
    };
    let float = |v: &Value| match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    match (left, right) {
        (Value::Null, _) | (_, Value::Null) => Ok(Value::Null),
        (Value::Int(a), Value::Int(b)) => match op {
            ArithOp::Add => a.checked_add(*b),
            ArithOp::Sub => a.checked_sub(*b),
            ArithOp::Mul => a.checked_mul(*b),
        }
        .map(Value::Int)
        .ok_or_else(|| overflow("INT")),
        _ => match (float(left), float(right)) {
            (Some(a), Some(b)) => {
                let out = match op {
                    ArithOp::Add => a + b,
                    ArithOp::Sub => a - b,
                    ArithOp::Mul => a * b,
                };
                if out.is_finite() {
                    Ok(Value::Float(out))
                } else {
                    Err(overflow("FLOAT"))
                }
            }
            _ => Err(ArithError::NotNumber {
                op: op.symbol(),
                found: if float(left).is_none() {
                    left.kind()
                } else {
                    right.kind()
                },
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_table() {
        use ArithOp::*;
        let i = Value::Int;
        let f = Value::Float;
        let cases: Vec<(ArithOp, Value, Value, Result<Value, &str>)> = vec![
            (Add, i(2), i(3), Ok(i(5))),
            (Sub, i(2), i(3), Ok(i(-1))),
            (Mul, i(-4), i(3), Ok(i(-12))),
            (Add, i(1), f(0.5), Ok(f(1.5))),
            (Mul, f(2.0), f(0.25), Ok(f(0.5))),
            (Add, Value::Null, i(1), Ok(Value::Null)),
            (Sub, i(1), Value::Null, Ok(Value::Null)),
            (Add, i(i64::MAX), i(1), Err("overflows INT")),
            (Sub, i(i64::MIN), i(1), Err("overflows INT")),
            (Mul, i(i64::MAX), i(2), Err("overflows INT")),
            (Mul, f(f64::MAX), f(2.0), Err("overflows FLOAT")),
            (Add, Value::Text("a".into()), i(1), Err("got TEXT")),
            (Add, i(1), Value::Bool(true), Err("got BOOL")),
        ];
        for (op, left, right, expected) in cases {
            let got = arith(op, &left, &right);
            match (&got, expected) {
                (Ok(v), Ok(e)) => assert_eq!(v, &e, "{left} {} {right}", op.symbol()),
                (Err(err), Err(text)) => {
                    assert!(err.to_string().contains(text), "{err} lacks {text}")
                }
                _ => panic!("{left} {} {right}: got {got:?}", op.symbol()),
            }
        }
    }
}
