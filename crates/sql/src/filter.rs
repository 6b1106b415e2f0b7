//! WHERE clauses: sqlparser expressions into keyset filter expressions
//! (`column op literal`, BETWEEN, IN, IS NULL, LIKE 'prefix%', AND, OR,
//! NOT). Chains of AND (or of OR) become one flat `Expr::And` (`Or`), so
//! long chains are walked with a loop, not recursion. Binding columns to a
//! table is the planner's job, not this module's.

use keyset_plan::{CmpOp, Expr};
use keyset_store::Value;
use sqlparser::ast::{self, BinaryOperator, UnaryOperator};

use crate::error::{Pos, SqlError};
use crate::literal::{binary_operator, describe, is_literal, literal, quote};
use crate::names::column;
use crate::params::Collector;

/// Deepest nesting of NOT and of alternating AND/OR this module follows
/// (sqlparser's own recursion limit is lower; this is a second fence).
const MAX_FILTER_DEPTH: usize = 128;

/// Converts a WHERE expression.
pub(crate) fn filter(
    expr: &ast::Expr,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Expr, SqlError> {
    convert(expr, fallback, 0, params)
}

fn convert(
    expr: &ast::Expr,
    fallback: Pos,
    depth: usize,
    params: &mut Collector,
) -> Result<Expr, SqlError> {
    let pos = || Pos::at(expr, fallback);
    if depth > MAX_FILTER_DEPTH {
        return Err(SqlError::too_complex(
            format!("conditions nested deeper than {MAX_FILTER_DEPTH} levels"),
            pos(),
        ));
    }
    use ast::Expr as E;
    match expr {
        E::Nested(inner) => convert(inner, fallback, depth + 1, params),
        E::BinaryOp {
            op: op @ (BinaryOperator::And | BinaryOperator::Or),
            ..
        } => {
            let terms = flatten(expr, op)
                .into_iter()
                .map(|term| convert(term, fallback, depth + 1, params))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if *op == BinaryOperator::And {
                Expr::And(terms)
            } else {
                Expr::Or(terms)
            })
        }
        E::BinaryOp { left, op, right } => comparison(left, op, right, fallback, params),
        E::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => Ok(Expr::Not(Box::new(convert(
            inner,
            fallback,
            depth + 1,
            params,
        )?))),
        E::Between {
            expr: subject,
            negated,
            low,
            high,
        } => Ok(Expr::Between {
            column: subject_column(subject, "BETWEEN", fallback)?,
            low: params.value(low, fallback)?,
            high: params.value(high, fallback)?,
            negated: *negated,
        }),
        E::InList {
            expr: subject,
            list,
            negated,
        } => Ok(Expr::In {
            column: subject_column(subject, "IN", fallback)?,
            values: list
                .iter()
                .map(|v| params.value(v, fallback))
                .collect::<Result<_, _>>()?,
            negated: *negated,
        }),
        E::IsNull(subject) => Ok(Expr::IsNull {
            column: subject_column(subject, "IS NULL", fallback)?,
            negated: false,
        }),
        E::IsNotNull(subject) => Ok(Expr::IsNull {
            column: subject_column(subject, "IS NOT NULL", fallback)?,
            negated: true,
        }),
        E::Like {
            negated,
            any,
            expr: subject,
            pattern,
            escape_char,
        } => {
            if *any {
                return Err(SqlError::unsupported("LIKE ANY", pos()));
            }
            if escape_char.is_some() {
                return Err(SqlError::unsupported("LIKE ... ESCAPE", pos()));
            }
            let column = subject_column(subject, "LIKE", fallback)?;
            like(column, pattern, *negated, fallback, params)
        }
        E::Identifier(id) => Err(SqlError::unsupported(
            format!("bare column `{id}` used as a condition (write `{id} = TRUE`)"),
            pos(),
        )),
        E::Value(v) => Err(SqlError::unsupported(
            format!("constant condition {}", quote(&v.to_string())),
            pos(),
        )),
        other => Err(SqlError::unsupported(describe(other), pos())),
    }
}

/// The operands of a chain of one operator (`a AND b AND (c AND d)` gives
/// a, b, c, d), in source order, without recursion.
fn flatten<'a>(expr: &'a ast::Expr, chain_op: &BinaryOperator) -> Vec<&'a ast::Expr> {
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            ast::Expr::BinaryOp { left, op, right } if op == chain_op => {
                stack.push(right);
                stack.push(left);
            }
            ast::Expr::Nested(inner) if matches!(inner.as_ref(), ast::Expr::BinaryOp { op, .. } if op == chain_op) =>
            {
                stack.push(inner);
            }
            _ => out.push(e),
        }
    }
    out
}

/// `column op literal` or `literal op column` (the operator flipped).
fn comparison(
    left: &ast::Expr,
    op: &BinaryOperator,
    right: &ast::Expr,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Expr, SqlError> {
    let pos = Pos::at(left, fallback);
    let cmp = match op {
        BinaryOperator::Eq => CmpOp::Eq,
        BinaryOperator::NotEq => CmpOp::Ne,
        BinaryOperator::Lt => CmpOp::Lt,
        BinaryOperator::LtEq => CmpOp::Le,
        BinaryOperator::Gt => CmpOp::Gt,
        BinaryOperator::GtEq => CmpOp::Ge,
        other => return Err(SqlError::unsupported(binary_operator(other), pos)),
    };
    match (column(left, fallback), column(right, fallback)) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Err(e),
        (Some(Ok(_)), Some(Ok(_))) => Err(SqlError::unsupported(
            "comparison between two columns (one side must be a literal)",
            pos,
        )),
        (Some(Ok(column)), None) => Ok(Expr::Cmp {
            column,
            op: cmp,
            value: params.value(right, fallback)?,
        }),
        (None, Some(Ok(column))) => Ok(Expr::Cmp {
            column,
            op: flip(cmp),
            value: params.value(left, fallback)?,
        }),
        (None, None) if is_literal(left) && is_literal(right) => Err(SqlError::unsupported(
            "comparison between two literals (one side must be a column)",
            pos,
        )),
        (None, None) => {
            let culprit = if is_literal(left) { right } else { left };
            Err(SqlError::unsupported(
                describe(culprit),
                Pos::at(culprit, fallback),
            ))
        }
    }
}

/// The operator that means the same with its operands swapped.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Eq,
        CmpOp::Ne => CmpOp::Ne,
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
    }
}

/// The column on the left of BETWEEN, IN, IS NULL or LIKE.
fn subject_column(subject: &ast::Expr, construct: &str, fallback: Pos) -> Result<String, SqlError> {
    match column(subject, fallback) {
        Some(result) => result,
        None => Err(SqlError::unsupported(
            format!("{construct} applied to {}", describe(subject)),
            Pos::at(subject, fallback),
        )),
    }
}

/// `LIKE 'prefix%'` becomes a prefix match; a pattern without wildcards is
/// an equality. Any other pattern is refused.
fn like(
    column: String,
    pattern: &ast::Expr,
    negated: bool,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Expr, SqlError> {
    let pos = Pos::at(pattern, fallback);
    let Value::Text(text) = literal(pattern, fallback)? else {
        return Err(SqlError::unsupported(
            "LIKE with a pattern that is not a 'string'",
            pos,
        ));
    };
    let has_wildcard = |s: &str| s.contains(['%', '_']);
    if !has_wildcard(&text) {
        params.literal_site();
        return Ok(Expr::Cmp {
            column,
            op: if negated { CmpOp::Ne } else { CmpOp::Eq },
            value: Value::Text(text),
        });
    }
    match text.strip_suffix('%') {
        Some(prefix) if !has_wildcard(prefix) => Ok(Expr::LikePrefix {
            column,
            prefix: prefix.to_owned(),
            negated,
        }),
        _ => Err(SqlError::unsupported(
            format!(
                "LIKE pattern {}: only 'prefix%' is supported (one trailing %, no _)",
                quote(&format!("'{}'", text.replace('\'', "''")))
            ),
            pos,
        )),
    }
}
