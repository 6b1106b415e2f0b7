//! Names in statements: identifiers (lower-cased, names are
//! case-insensitive), one-part object names, the single table of a FROM or
//! UPDATE, and column references. Qualified names are outside the subset.

use sqlparser::ast::{self, ObjectName, ObjectNamePart, TableFactor, TableWithJoins};

use crate::error::{Pos, SqlError};

/// An identifier's name, lower-cased.
pub(crate) fn ident(ident: &ast::Ident) -> String {
    ident.value.to_ascii_lowercase()
}

pub(crate) fn ident_pos(ident: &ast::Ident, fallback: Pos) -> Pos {
    Pos::of(ident.span.start).unwrap_or(fallback)
}

/// A table or index name: exactly one part.
pub(crate) fn object_name(name: &ObjectName, fallback: Pos) -> Result<String, SqlError> {
    let pos = Pos::at(name, fallback);
    match name.0.as_slice() {
        [ObjectNamePart::Identifier(id)] => Ok(ident(id)),
        _ => Err(SqlError::unsupported(
            format!("qualified name `{name}` (names have one part)"),
            pos,
        )),
    }
}

/// A name a CREATE gives (table, column, index): it must hold something
/// besides spaces, or no later statement could name it legibly.
pub(crate) fn defined(name: String, what: &str, pos: Pos) -> Result<String, SqlError> {
    if name.trim().is_empty() {
        return Err(SqlError::invalid(
            format!("{what} name must not be empty or only spaces (got {name:?})"),
            pos,
        ));
    }
    Ok(name)
}

/// The column an expression names, if it is a column reference.
pub(crate) fn column(expr: &ast::Expr, fallback: Pos) -> Option<Result<String, SqlError>> {
    match expr {
        ast::Expr::Identifier(id) => Some(Ok(ident(id))),
        ast::Expr::CompoundIdentifier(parts) => Some(Err(SqlError::unsupported(
            format!("qualified column name `{expr}`"),
            parts.first().map_or(fallback, |p| ident_pos(p, fallback)),
        ))),
        _ => None,
    }
}

/// The one plain table a statement reads or changes: no join, no alias,
/// no table function, no hints.
pub(crate) fn single_table(tables: &[TableWithJoins], fallback: Pos) -> Result<String, SqlError> {
    let table = match tables {
        [] => return Err(SqlError::unsupported("statement without a table", fallback)),
        [table] => table,
        [_, second, ..] => {
            return Err(SqlError::unsupported(
                "several tables in FROM (a join)",
                Pos::at(second, fallback),
            ))
        }
    };
    if let Some(join) = table.joins.first() {
        return Err(SqlError::unsupported("JOIN", Pos::at(join, fallback)));
    }
    let relation = &table.relation;
    let pos = Pos::at(relation, fallback);
    let TableFactor::Table {
        name,
        alias,
        args,
        with_hints,
        version,
        with_ordinality,
        partitions,
        json_path,
        sample,
        index_hints,
    } = relation
    else {
        let construct = match relation {
            TableFactor::Derived { .. } => "subquery in FROM",
            TableFactor::NestedJoin { .. } => "parenthesized join",
            _ => "table function or special FROM item",
        };
        return Err(SqlError::unsupported(construct, pos));
    };
    let unsupported = if let Some(alias) = alias {
        Some(format!("table alias `{alias}`"))
    } else if args.is_some() {
        Some("table function".to_owned())
    } else if !with_hints.is_empty() {
        Some(
            "table hints `WITH (...)` after the table name \
             (query options go at the very end, after LIMIT and OFFSET)"
                .to_owned(),
        )
    } else if !index_hints.is_empty() {
        Some("index hints".to_owned())
    } else if version.is_some() {
        Some("time travel (table version)".to_owned())
    } else if *with_ordinality {
        Some("WITH ORDINALITY".to_owned())
    } else if !partitions.is_empty() {
        Some("PARTITION selection".to_owned())
    } else if json_path.is_some() {
        Some("JSON path on a table".to_owned())
    } else if sample.is_some() {
        Some("TABLESAMPLE".to_owned())
    } else {
        None
    };
    match unsupported {
        Some(construct) => Err(SqlError::unsupported(construct, pos)),
        None => object_name(name, fallback),
    }
}
