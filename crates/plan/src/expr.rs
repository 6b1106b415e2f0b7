//! Filter expressions: the logical form (`Expr`, columns by name) that SQL
//! and the builder produce, and the bound form (`Predicate`, columns by
//! position, literals typed for their column) that the executor evaluates
//! on every row with SQL three-valued logic.

use std::fmt;

use keyset_store::{ColumnType, TableDef, Value};

use crate::error::PlanError;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A filter over the columns of one table, columns named.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `column op literal`
    Cmp {
        column: String,
        op: CmpOp,
        value: Value,
    },
    /// `column [NOT] BETWEEN low AND high` (both ends included)
    Between {
        column: String,
        low: Value,
        high: Value,
        negated: bool,
    },
    /// `column [NOT] IN (values)`
    In {
        column: String,
        values: Vec<Value>,
        negated: bool,
    },
    /// `column IS [NOT] NULL`
    IsNull {
        column: String,
        negated: bool,
    },
    /// `column [NOT] LIKE 'prefix%'` (only a trailing `%` is supported)
    LikePrefix {
        column: String,
        prefix: String,
        negated: bool,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

/// Shorthands for building expressions: `col("age").gt(30)`.
#[derive(Clone, Debug)]
pub struct ColumnExpr(String);

/// Starts an expression on a column.
pub fn col(name: &str) -> ColumnExpr {
    ColumnExpr(name.to_owned())
}

impl ColumnExpr {
    fn cmp(self, op: CmpOp, value: impl Into<Value>) -> Expr {
        Expr::Cmp {
            column: self.0,
            op,
            value: value.into(),
        }
    }
    pub fn eq(self, v: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Eq, v)
    }
    pub fn ne(self, v: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Ne, v)
    }
    pub fn lt(self, v: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Lt, v)
    }
    pub fn le(self, v: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Le, v)
    }
    pub fn gt(self, v: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Gt, v)
    }
    pub fn ge(self, v: impl Into<Value>) -> Expr {
        self.cmp(CmpOp::Ge, v)
    }
    pub fn between(self, low: impl Into<Value>, high: impl Into<Value>) -> Expr {
        Expr::Between {
            column: self.0,
            low: low.into(),
            high: high.into(),
            negated: false,
        }
    }
    pub fn is_in<V: Into<Value>>(self, values: impl IntoIterator<Item = V>) -> Expr {
        Expr::In {
            column: self.0,
            values: values.into_iter().map(Into::into).collect(),
            negated: false,
        }
    }
    pub fn is_null(self) -> Expr {
        Expr::IsNull {
            column: self.0,
            negated: false,
        }
    }
    pub fn is_not_null(self) -> Expr {
        Expr::IsNull {
            column: self.0,
            negated: true,
        }
    }
    pub fn starts_with(self, prefix: &str) -> Expr {
        Expr::LikePrefix {
            column: self.0,
            prefix: prefix.to_owned(),
            negated: false,
        }
    }
}

impl Expr {
    pub fn and(self, other: Expr) -> Expr {
        Expr::And(vec![self, other])
    }
    pub fn or(self, other: Expr) -> Expr {
        Expr::Or(vec![self, other])
    }
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
}

/// SQL's three truth values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    pub fn is_true(self) -> bool {
        self == Truth::True
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }

    fn from_bool(b: bool) -> Truth {
        if b {
            Truth::True
        } else {
            Truth::False
        }
    }
}

/// A filter bound to a table: columns by position, literals normalized to
/// their column's type (an INT literal against a FLOAT column is a float).
#[derive(Clone, Debug, PartialEq)]
pub enum Predicate {
    Cmp {
        column: usize,
        op: CmpOp,
        value: Value,
    },
    Between {
        column: usize,
        low: Value,
        high: Value,
        negated: bool,
    },
    In {
        column: usize,
        values: Vec<Value>,
        negated: bool,
    },
    IsNull {
        column: usize,
        negated: bool,
    },
    LikePrefix {
        column: usize,
        prefix: String,
        negated: bool,
    },
    And(Vec<Predicate>),
    Or(Vec<Predicate>),
    Not(Box<Predicate>),
}

impl Predicate {
    /// Evaluates the predicate on a row's values (three-valued).
    pub fn eval(&self, row: &[Value]) -> Truth {
        let get = |c: usize| row.get(c).unwrap_or(&Value::Null);
        match self {
            Predicate::Cmp { column, op, value } => match get(*column).sql_compare(value) {
                None => Truth::Unknown,
                Some(ord) => Truth::from_bool(match op {
                    CmpOp::Eq => ord.is_eq(),
                    CmpOp::Ne => ord.is_ne(),
                    CmpOp::Lt => ord.is_lt(),
                    CmpOp::Le => ord.is_le(),
                    CmpOp::Gt => ord.is_gt(),
                    CmpOp::Ge => ord.is_ge(),
                }),
            },
            Predicate::Between {
                column,
                low,
                high,
                negated,
            } => {
                let v = get(*column);
                let above = v.sql_compare(low).map(|o| o.is_ge());
                let below = v.sql_compare(high).map(|o| o.is_le());
                let t = match (above, below) {
                    (Some(false), _) | (_, Some(false)) => Truth::False,
                    (Some(true), Some(true)) => Truth::True,
                    _ => Truth::Unknown,
                };
                if *negated {
                    t.not()
                } else {
                    t
                }
            }
            Predicate::In {
                column,
                values,
                negated,
            } => {
                let v = get(*column);
                let mut t = Truth::False;
                if v.is_null() {
                    t = if values.is_empty() {
                        Truth::False
                    } else {
                        Truth::Unknown
                    };
                } else {
                    for candidate in values {
                        match v.sql_compare(candidate) {
                            Some(o) if o.is_eq() => {
                                t = Truth::True;
                                break;
                            }
                            None => t = Truth::Unknown,
                            _ => {}
                        }
                    }
                }
                if *negated {
                    t.not()
                } else {
                    t
                }
            }
            Predicate::IsNull { column, negated } => {
                Truth::from_bool(get(*column).is_null() != *negated)
            }
            Predicate::LikePrefix {
                column,
                prefix,
                negated,
            } => {
                let t = match get(*column) {
                    Value::Null => Truth::Unknown,
                    Value::Text(s) => Truth::from_bool(s.starts_with(prefix.as_str())),
                    _ => Truth::False,
                };
                if *negated {
                    t.not()
                } else {
                    t
                }
            }
            Predicate::And(children) => {
                let mut out = Truth::True;
                for c in children {
                    match c.eval(row) {
                        Truth::False => return Truth::False,
                        Truth::Unknown => out = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                out
            }
            Predicate::Or(children) => {
                let mut out = Truth::False;
                for c in children {
                    match c.eval(row) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => out = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                out
            }
            Predicate::Not(inner) => inner.eval(row).not(),
        }
    }

    /// Whether the row passes the filter (the predicate is true).
    pub fn accepts(&self, row: &[Value]) -> bool {
        self.eval(row).is_true()
    }
}

/// Binds an expression to a table: resolves columns, checks literal types.
pub fn bind(expr: &Expr, table: &TableDef) -> Result<Predicate, PlanError> {
    let column = |name: &str| {
        table
            .column_index(name)
            .ok_or_else(|| PlanError::UnknownColumn {
                table: table.name.clone(),
                column: name.to_owned(),
            })
    };
    let literal = |c: usize, v: &Value| bind_literal(table, c, v);
    Ok(match expr {
        Expr::Cmp {
            column: name,
            op,
            value,
        } => {
            let c = column(name)?;
            Predicate::Cmp {
                column: c,
                op: *op,
                value: literal(c, value)?,
            }
        }
        Expr::Between {
            column: name,
            low,
            high,
            negated,
        } => {
            let c = column(name)?;
            Predicate::Between {
                column: c,
                low: literal(c, low)?,
                high: literal(c, high)?,
                negated: *negated,
            }
        }
        Expr::In {
            column: name,
            values,
            negated,
        } => {
            let c = column(name)?;
            Predicate::In {
                column: c,
                values: values
                    .iter()
                    .map(|v| literal(c, v))
                    .collect::<Result<_, _>>()?,
                negated: *negated,
            }
        }
        Expr::IsNull {
            column: name,
            negated,
        } => Predicate::IsNull {
            column: column(name)?,
            negated: *negated,
        },
        Expr::LikePrefix {
            column: name,
            prefix,
            negated,
        } => {
            let c = column(name)?;
            let def = &table.columns[c];
            if def.ty != ColumnType::Text {
                return Err(PlanError::LikeNotText {
                    table: table.name.clone(),
                    column: def.name.clone(),
                    found: def.ty,
                });
            }
            Predicate::LikePrefix {
                column: c,
                prefix: prefix.clone(),
                negated: *negated,
            }
        }
        Expr::And(children) => Predicate::And(
            children
                .iter()
                .map(|e| bind(e, table))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Or(children) => Predicate::Or(
            children
                .iter()
                .map(|e| bind(e, table))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(inner) => Predicate::Not(Box::new(bind(inner, table)?)),
    })
}

/// Normalizes a literal for a column: NULL stays NULL, an INT literal
/// against a FLOAT column becomes a float; any other kind mismatch is a
/// `LiteralType` error. NaN is refused.
pub fn bind_literal(table: &TableDef, column: usize, value: &Value) -> Result<Value, PlanError> {
    let col = &table.columns[column];
    if value.is_null() {
        return Ok(Value::Null);
    }
    value
        .clone()
        .normalize_for(col.ty, true)
        .map_err(|_| PlanError::LiteralType {
            table: table.name.clone(),
            column: col.name.clone(),
            expected: col.ty,
            found: value.to_string(),
        })
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = |n: bool| if n { "NOT " } else { "" };
        match self {
            Expr::Cmp { column, op, value } => write!(f, "{column} {} {value}", op.symbol()),
            Expr::Between {
                column,
                low,
                high,
                negated,
            } => write!(f, "{column} {}BETWEEN {low} AND {high}", not(*negated)),
            Expr::In {
                column,
                values,
                negated,
            } => {
                let list: Vec<String> = values.iter().map(ToString::to_string).collect();
                write!(f, "{column} {}IN ({})", not(*negated), list.join(", "))
            }
            Expr::IsNull { column, negated } => write!(f, "{column} IS {}NULL", not(*negated)),
            Expr::LikePrefix {
                column,
                prefix,
                negated,
            } => write!(
                f,
                "{column} {}LIKE '{}%'",
                not(*negated),
                prefix.replace('\'', "''")
            ),
            Expr::And(children) => join(f, children, " AND "),
            Expr::Or(children) => join(f, children, " OR "),
            Expr::Not(inner) => write!(f, "NOT ({inner})"),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, children: &[Expr], sep: &str) -> fmt::Result {
    f.write_str("(")?;
    for (i, c) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write!(f, "{c}")?;
    }
    f.write_str(")")
}
