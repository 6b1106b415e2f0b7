//! The right-hand side of `SET column = ...`: a literal or placeholder, a
//! column of the row, or `+`, `-`, `*` of those, into a
//! [`keyset_plan::SetExpr`]. Operands are converted left to right, the
//! order in which `keyset_plan::visit` counts value sites.

use keyset_plan::{ArithOp, SetExpr};
use sqlparser::ast::{self, BinaryOperator};

use crate::error::{Pos, SqlError};
use crate::literal::binary_operator;
use crate::names::column;
use crate::params::Collector;

/// Deepest nesting of a SET expression this module follows.
const MAX_SET_DEPTH: usize = keyset_plan::assign::MAX_SET_DEPTH;

/// Converts the value of one assignment.
pub(crate) fn set_expr(
    expr: &ast::Expr,
    fallback: Pos,
    params: &mut Collector,
) -> Result<SetExpr, SqlError> {
    convert(expr, fallback, params, 0)
}

fn convert(
    expr: &ast::Expr,
    fallback: Pos,
    params: &mut Collector,
    depth: usize,
) -> Result<SetExpr, SqlError> {
    let pos = Pos::at(expr, fallback);
    if depth > MAX_SET_DEPTH {
        return Err(SqlError::too_complex(
            format!("SET expression nested deeper than {MAX_SET_DEPTH} levels"),
            pos,
        ));
    }
    match expr {
        ast::Expr::Nested(inner) => convert(inner, fallback, params, depth + 1),
        ast::Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Plus => ArithOp::Add,
                BinaryOperator::Minus => ArithOp::Sub,
                BinaryOperator::Multiply => ArithOp::Mul,
                other => {
                    return Err(SqlError::unsupported(
                        format!("{} in SET (only + - * are)", binary_operator(other)),
                        pos,
                    ))
                }
            };
            let left = convert(left, fallback, params, depth + 1)?;
            let right = convert(right, fallback, params, depth + 1)?;
            Ok(SetExpr::arith(op, left, right))
        }
        _ => match column(expr, fallback) {
            Some(name) => Ok(SetExpr::Column(name?)),
            None => Ok(SetExpr::Value(params.value(expr, fallback)?)),
        },
    }
}
