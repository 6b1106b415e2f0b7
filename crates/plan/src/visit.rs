//! The value sites of a statement: every place that holds a value (a
//! comparison's literal, an INSERT value, an operand of a SET expression),
//! walked in one fixed order. The SQL crate counts placeholders in the same
//! order, so a site's ordinal names it; `param.rs` binds values by it.

use keyset_store::Value;

use crate::assign::SetExpr;
use crate::expr::Expr;
use crate::query::Statement;

/// What a value site binds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueSite<'a> {
    /// A column named in the statement.
    Column(&'a str),
    /// An INSERT value with no column list: the table's column at this
    /// position.
    Position(usize),
}

/// Calls `f(site, ordinal, value)` for every value site of `statement`, in
/// order: INSERT rows and their values; UPDATE assignments (operands left
/// to right) then the filter; the filter of DELETE, SELECT and EXPLAIN
/// (AND/OR children in order, BETWEEN low then high, IN values in order).
/// Returns the number of sites.
pub fn visit_values_mut(
    statement: &mut Statement,
    f: &mut dyn FnMut(ValueSite<'_>, usize, &mut Value),
) -> usize {
    let mut ordinal = 0;
    let mut visit = |site: ValueSite<'_>, value: &mut Value| {
        f(site, ordinal, value);
        ordinal += 1;
    };
    match statement {
        Statement::Insert { columns, rows, .. } => {
            for row in rows {
                for (at, value) in row.iter_mut().enumerate() {
                    let site = match columns.as_ref().and_then(|c| c.get(at)) {
                        Some(name) => ValueSite::Column(name),
                        None => ValueSite::Position(at),
                    };
                    visit(site, value);
                }
            }
        }
        Statement::Update {
            assignments,
            filter,
            ..
        } => {
            for (column, expr) in assignments.iter_mut() {
                set_values(column, expr, &mut visit);
            }
            if let Some(filter) = filter {
                expr_values(filter, &mut visit);
            }
        }
        Statement::Delete { filter, .. } => {
            if let Some(filter) = filter {
                expr_values(filter, &mut visit);
            }
        }
        Statement::Select(query) | Statement::Explain(query) => {
            if let Some(filter) = &mut query.filter {
                expr_values(filter, &mut visit);
            }
        }
        Statement::CreateTable(_)
        | Statement::CreateIndex(_)
        | Statement::DropTable { .. }
        | Statement::DropIndex { .. } => {}
    }
    ordinal
}

fn set_values(column: &str, expr: &mut SetExpr, visit: &mut dyn FnMut(ValueSite<'_>, &mut Value)) {
    match expr {
        SetExpr::Value(value) => visit(ValueSite::Column(column), value),
        SetExpr::Column(_) => {}
        SetExpr::Arith { left, right, .. } => {
            set_values(column, left, visit);
            set_values(column, right, visit);
        }
    }
}

fn expr_values(expr: &mut Expr, visit: &mut dyn FnMut(ValueSite<'_>, &mut Value)) {
    match expr {
        Expr::Cmp { column, value, .. } => visit(ValueSite::Column(column), value),
        Expr::Between {
            column, low, high, ..
        } => {
            visit(ValueSite::Column(column), low);
            visit(ValueSite::Column(column), high);
        }
        Expr::In { column, values, .. } => {
            for value in values {
                visit(ValueSite::Column(column), value);
            }
        }
        Expr::IsNull { .. } | Expr::LikePrefix { .. } => {}
        Expr::And(children) | Expr::Or(children) => {
            for child in children {
                expr_values(child, visit);
            }
        }
        Expr::Not(inner) => expr_values(inner, visit),
    }
}
