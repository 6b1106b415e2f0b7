//! INSERT (many rows of literals or placeholders), UPDATE (SET column =
//! value, column or `+ - *` of those, see `assign.rs`) and DELETE,
//! each on one table with an optional WHERE. Checking values against the
//! table's columns belongs to the store; this module checks only what the
//! text itself can contradict (a column named twice, a row of the wrong
//! length for its column list).

use keyset_plan::{SetExpr as Assigned, Statement};
use keyset_store::Value;
use sqlparser::ast::{self, AssignmentTarget, FromTable, SetExpr, TableObject};

use crate::assign::set_expr;
use crate::error::{Pos, SqlError};
use crate::filter::filter;
use crate::names::{ident, ident_pos, object_name, single_table};
use crate::params::Collector;

/// Converts `INSERT INTO t [(cols)] VALUES (...), ...`.
pub(crate) fn insert(
    insert: &ast::Insert,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Statement, SqlError> {
    let ast::Insert {
        or,
        ignore,
        into: _,
        table,
        table_alias,
        columns,
        overwrite,
        source,
        assignments,
        partitioned,
        after_columns,
        has_table_keyword,
        on,
        returning,
        replace_into,
        priority,
        insert_alias,
        settings,
        format_clause,
    } = insert;
    let unsupported = if let Some(or) = or {
        Some(format!("INSERT {or}"))
    } else if *ignore {
        Some("INSERT IGNORE".to_owned())
    } else if *replace_into {
        Some("REPLACE INTO".to_owned())
    } else if priority.is_some() {
        Some("INSERT priority".to_owned())
    } else if *overwrite || *has_table_keyword {
        Some("INSERT OVERWRITE / INSERT TABLE".to_owned())
    } else if table_alias.is_some() || insert_alias.is_some() {
        Some("alias in INSERT".to_owned())
    } else if partitioned.is_some() || !after_columns.is_empty() {
        Some("PARTITION in INSERT".to_owned())
    } else if !assignments.is_empty() {
        Some("INSERT ... SET (write VALUES)".to_owned())
    } else if on.is_some() {
        Some("ON CONFLICT / ON DUPLICATE KEY".to_owned())
    } else if returning.is_some() {
        Some("RETURNING".to_owned())
    } else if settings.is_some() || format_clause.is_some() {
        Some("SETTINGS / FORMAT in INSERT".to_owned())
    } else {
        None
    };
    if let Some(construct) = unsupported {
        return Err(SqlError::unsupported(construct, fallback));
    }
    let table = match table {
        TableObject::TableName(name) => object_name(name, fallback)?,
        _ => {
            return Err(SqlError::unsupported(
                "INSERT into a table function",
                fallback,
            ))
        }
    };
    let mut names: Vec<String> = Vec::with_capacity(columns.len());
    for c in columns {
        let name = ident(c);
        if names.contains(&name) {
            return Err(SqlError::invalid(
                format!("column `{name}` is named twice in the INSERT column list"),
                ident_pos(c, fallback),
            ));
        }
        names.push(name);
    }
    let Some(source) = source else {
        return Err(SqlError::unsupported(
            "INSERT without VALUES (DEFAULT VALUES)",
            fallback,
        ));
    };
    let rows = values_rows(source, fallback)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let pos = row.first().map_or(fallback, |e| Pos::at(e, fallback));
        if !names.is_empty() && row.len() != names.len() {
            return Err(SqlError::invalid(
                format!(
                    "a row holds {} value(s) but {} column(s) are named",
                    row.len(),
                    names.len()
                ),
                pos,
            ));
        }
        out.push(
            row.iter()
                .map(|e| params.value(e, fallback))
                .collect::<Result<Vec<Value>, _>>()?,
        );
    }
    Ok(Statement::Insert {
        table,
        columns: (!names.is_empty()).then_some(names),
        rows: out,
    })
}

/// The rows of the plain `VALUES (...), (...)` an INSERT takes.
fn values_rows(source: &ast::Query, fallback: Pos) -> Result<&[Vec<ast::Expr>], SqlError> {
    let ast::Query {
        with,
        body,
        order_by,
        limit_clause,
        fetch,
        locks,
        for_clause,
        settings,
        format_clause,
        pipe_operators,
    } = source;
    let extra = with.is_some()
        || order_by.is_some()
        || limit_clause.is_some()
        || fetch.is_some()
        || !locks.is_empty()
        || for_clause.is_some()
        || settings.is_some()
        || format_clause.is_some()
        || !pipe_operators.is_empty();
    let pos = Pos::at(source, fallback);
    match body.as_ref() {
        SetExpr::Values(values) if !extra && !values.explicit_row => Ok(&values.rows),
        SetExpr::Values(values) if values.explicit_row => {
            Err(SqlError::unsupported("VALUES ROW(...)", pos))
        }
        SetExpr::Values(_) => Err(SqlError::unsupported(
            "clauses around INSERT ... VALUES",
            pos,
        )),
        _ => Err(SqlError::unsupported("INSERT ... SELECT", pos)),
    }
}

/// Converts `UPDATE t SET a = value, ... [WHERE ...]`.
pub(crate) fn update(
    stmt: &ast::Statement,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Statement, SqlError> {
    let ast::Statement::Update {
        table,
        assignments,
        from,
        selection,
        returning,
        or,
        limit,
    } = stmt
    else {
        return Err(SqlError::unsupported("statement", fallback));
    };
    if let Some(or) = or {
        return Err(SqlError::unsupported(format!("UPDATE {or}"), fallback));
    }
    let table = single_table(std::slice::from_ref(table), fallback)?;
    let mut out: Vec<(String, Assigned)> = Vec::with_capacity(assignments.len());
    for assignment in assignments {
        let pos = Pos::at(assignment, fallback);
        let name = match &assignment.target {
            AssignmentTarget::ColumnName(name) => object_name(name, fallback)?,
            AssignmentTarget::Tuple(_) => {
                return Err(SqlError::unsupported("tuple assignment (a, b) = ...", pos))
            }
        };
        if out.iter().any(|(n, _)| *n == name) {
            return Err(SqlError::invalid(
                format!("column `{name}` is assigned twice"),
                pos,
            ));
        }
        out.push((name, set_expr(&assignment.value, fallback, params)?));
    }
    if from.is_some() {
        return Err(SqlError::unsupported("UPDATE ... FROM", fallback));
    }
    let filter = selection
        .as_ref()
        .map(|e| filter(e, fallback, params))
        .transpose()?;
    if returning.is_some() {
        return Err(SqlError::unsupported("RETURNING", fallback));
    }
    if let Some(limit) = limit {
        return Err(SqlError::unsupported(
            "UPDATE ... LIMIT",
            Pos::at(limit, fallback),
        ));
    }
    Ok(Statement::Update {
        table,
        assignments: out,
        filter,
    })
}

/// Converts `DELETE FROM t [WHERE ...]`.
pub(crate) fn delete(
    delete: &ast::Delete,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Statement, SqlError> {
    let ast::Delete {
        tables,
        from,
        using,
        selection,
        returning,
        order_by,
        limit,
    } = delete;
    if !tables.is_empty() {
        return Err(SqlError::unsupported("multi-table DELETE", fallback));
    }
    let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = from;
    let table = single_table(from, fallback)?;
    if using.is_some() {
        return Err(SqlError::unsupported("DELETE ... USING", fallback));
    }
    let filter = selection
        .as_ref()
        .map(|e| filter(e, fallback, params))
        .transpose()?;
    if returning.is_some() {
        return Err(SqlError::unsupported("RETURNING", fallback));
    }
    if let Some(first) = order_by.first() {
        return Err(SqlError::unsupported(
            "DELETE ... ORDER BY",
            Pos::at(first, fallback),
        ));
    }
    if let Some(limit) = limit {
        return Err(SqlError::unsupported(
            "DELETE ... LIMIT",
            Pos::at(limit, fallback),
        ));
    }
    Ok(Statement::Delete { table, filter })
}
