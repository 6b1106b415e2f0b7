//! Literals: integers (with an optional sign), floats, 'strings', TRUE,
//! FALSE, NULL and X'hex' blobs become store values; anything else where a
//! literal is expected is named by [`describe`] in an Unsupported error.
//! Values that do not fit (an integer over 64 bits, an infinite float, odd
//! hex) are InvalidLiteral errors, never a panic or a silent rounding.

use keyset_store::Value;
use sqlparser::ast::{self, BinaryOperator, UnaryOperator, Value as SqlValue};

use crate::error::{Pos, SqlError};

/// Longest piece of SQL quoted back in an error message.
const MAX_QUOTED_CHARS: usize = 60;

/// The value of a literal expression.
pub(crate) fn literal(expr: &ast::Expr, fallback: Pos) -> Result<Value, SqlError> {
    let pos = Pos::at(expr, fallback);
    match expr {
        ast::Expr::Value(v) => {
            if let Some(hex) = hex_number(v) {
                return Err(SqlError::unsupported(
                    format!(
                        "hexadecimal number {} (write integers in decimal, blobs as X'0AFF')",
                        quote(&format!("0x{hex}"))
                    ),
                    pos,
                ));
            }
            value(&v.value, false, pos)
        }
        ast::Expr::UnaryOp { op, expr: inner } => match (op, inner.as_ref()) {
            (UnaryOperator::Minus | UnaryOperator::Plus, ast::Expr::Value(v))
                if matches!(v.value, SqlValue::Number(..)) =>
            {
                value(&v.value, *op == UnaryOperator::Minus, pos)
            }
            _ => Err(SqlError::unsupported(describe(expr), pos)),
        },
        _ => Err(SqlError::unsupported(describe(expr), pos)),
    }
}

/// Whether the expression is (syntactically) a literal of the subset.
pub(crate) fn is_literal(expr: &ast::Expr) -> bool {
    match expr {
        ast::Expr::Value(_) => true,
        ast::Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => {
            matches!(expr.as_ref(), ast::Expr::Value(v) if matches!(v.value, SqlValue::Number(..)))
        }
        _ => false,
    }
}

/// sqlparser reads both `X'1F'` and `0x1F` as a hex string; only the
/// first is a blob literal of the subset. They differ in their length.
fn hex_number(v: &ast::ValueWithSpan) -> Option<&str> {
    let SqlValue::HexStringLiteral(hex) = &v.value else {
        return None;
    };
    let (start, end) = (v.span.start, v.span.end);
    let written_as_number = start.line > 0
        && start.line == end.line
        && end.column.saturating_sub(start.column) == hex.chars().count() as u64 + 2;
    written_as_number.then_some(hex.as_str())
}

fn value(v: &SqlValue, negative: bool, pos: Pos) -> Result<Value, SqlError> {
    match v {
        SqlValue::Number(digits, long) => number(digits, *long, negative, pos),
        SqlValue::SingleQuotedString(s) => Ok(Value::Text(s.clone())),
        SqlValue::HexStringLiteral(hex) => hex_bytes(hex, pos).map(Value::Bytes),
        SqlValue::Boolean(b) => Ok(Value::Bool(*b)),
        SqlValue::Null => Ok(Value::Null),
        SqlValue::Placeholder(p) => Err(SqlError::unsupported(
            format!(
                "placeholder `{p}` here (placeholders stand for values in WHERE, VALUES, SET, LIMIT and OFFSET; a LIKE pattern is a 'string')"
            ),
            pos,
        )),
        other => Err(SqlError::unsupported(
            format!(
                "literal {} (strings are written 'text', blobs X'0AFF')",
                quote(&other.to_string())
            ),
            pos,
        )),
    }
}

fn number(digits: &str, long: bool, negative: bool, pos: Pos) -> Result<Value, SqlError> {
    let written = if negative {
        format!("-{digits}")
    } else {
        digits.to_owned()
    };
    if long {
        return Err(SqlError::invalid_literal(
            shorten(&format!("{written}L")),
            "the `L` suffix is not part of keyset's SQL",
            pos,
        ));
    }
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return written.parse::<i64>().map(Value::Int).map_err(|_| {
            SqlError::invalid_literal(
                shorten(&written),
                format!(
                    "the integer is outside the 64-bit range {}..={}",
                    i64::MIN,
                    i64::MAX
                ),
                pos,
            )
        });
    }
    crate::number::parse_float(&written)
        .map(Value::Float)
        .map_err(|why| SqlError::invalid_literal(shorten(&written), why.to_string(), pos))
}

fn hex_bytes(hex: &str, pos: Pos) -> Result<Vec<u8>, SqlError> {
    let bad = |reason: &str| SqlError::invalid_literal(shorten(&format!("X'{hex}'")), reason, pos);
    if !hex.len().is_multiple_of(2) {
        return Err(bad("a hex blob needs an even number of hex digits"));
    }
    let digit = |b: u8| (b as char).to_digit(16);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [hi, lo] => match (digit(*hi), digit(*lo)) {
                (Some(hi), Some(lo)) => u8::try_from(hi * 16 + lo).ok(),
                _ => None,
            },
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| bad("a hex blob holds only the digits 0-9 and A-F"))
}

/// Quotes a piece of SQL for an error message, shortened if long.
pub(crate) fn quote(sql: &str) -> String {
    format!("`{}`", shorten(sql))
}

/// A piece of SQL cut to a length fit for an error message.
pub(crate) fn shorten(sql: &str) -> String {
    let mut chars = sql.chars();
    let head: String = chars.by_ref().take(MAX_QUOTED_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}

/// Names an expression outside the subset, for an Unsupported error.
pub(crate) fn describe(expr: &ast::Expr) -> String {
    use ast::Expr as E;
    match expr {
        E::Identifier(id) => format!("column reference `{id}` where a literal is expected"),
        E::CompoundIdentifier(_) => format!("qualified column name {}", quote(&expr.to_string())),
        E::Function(f) => format!(
            "function call `{}`",
            f.name.to_string().to_ascii_lowercase()
        ),
        E::Subquery(_) | E::Exists { .. } | E::InSubquery { .. } => "subquery".to_owned(),
        E::BinaryOp { op, .. } => binary_operator(op),
        E::UnaryOp { op, .. } => match op {
            UnaryOperator::Not => "NOT where a value is expected".to_owned(),
            UnaryOperator::Minus | UnaryOperator::Plus => {
                format!("arithmetic on a non-number {}", quote(&expr.to_string()))
            }
            other => format!("operator `{other}`"),
        },
        E::Nested(inner) => describe(inner),
        E::Case { .. } => "CASE expression".to_owned(),
        E::Cast { .. } => "CAST".to_owned(),
        E::Convert { .. } => "CONVERT".to_owned(),
        E::Extract { .. } => "EXTRACT".to_owned(),
        E::Substring { .. } | E::Trim { .. } | E::Overlay { .. } | E::Position { .. } => {
            "string function".to_owned()
        }
        E::Ceil { .. } | E::Floor { .. } => "function call".to_owned(),
        E::Collate { .. } => "COLLATE".to_owned(),
        E::AtTimeZone { .. } => "AT TIME ZONE".to_owned(),
        E::Interval(_) => "INTERVAL".to_owned(),
        E::TypedString(_) => format!("typed literal {}", quote(&expr.to_string())),
        E::Tuple(_) => "row value (a parenthesized list)".to_owned(),
        E::Array(_) => "array".to_owned(),
        E::Wildcard(_) | E::QualifiedWildcard(..) => "`*` inside an expression".to_owned(),
        E::ILike { .. } => "ILIKE".to_owned(),
        E::SimilarTo { .. } => "SIMILAR TO".to_owned(),
        E::RLike { .. } => "REGEXP / RLIKE".to_owned(),
        E::AnyOp { .. } | E::AllOp { .. } => "ANY / ALL comparison".to_owned(),
        E::IsTrue(_) | E::IsNotTrue(_) => "IS [NOT] TRUE".to_owned(),
        E::IsFalse(_) | E::IsNotFalse(_) => "IS [NOT] FALSE".to_owned(),
        E::IsUnknown(_) | E::IsNotUnknown(_) => "IS [NOT] UNKNOWN".to_owned(),
        E::IsDistinctFrom(..) | E::IsNotDistinctFrom(..) => "IS [NOT] DISTINCT FROM".to_owned(),
        E::Value(v) => format!("literal {}", quote(&v.to_string())),
        _ => format!("expression {}", quote(&expr.to_string())),
    }
}

/// Names a binary operator outside the subset.
pub(crate) fn binary_operator(op: &BinaryOperator) -> String {
    use BinaryOperator as B;
    match op {
        B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
            format!("arithmetic operator `{op}`")
        }
        B::StringConcat => "string concatenation `||`".to_owned(),
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
            format!("comparison `{op}` where a value is expected")
        }
        B::And | B::Or => format!("`{op}` where a value is expected"),
        _ => format!("operator `{op}`"),
    }
}
