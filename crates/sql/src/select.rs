//! SELECT and EXPLAIN SELECT into a keyset [`Query`]: `*`, plain columns
//! or `COUNT(*)` from one table, an optional WHERE, ORDER BY columns, LIMIT
//! and OFFSET literals or placeholders. Every other clause sqlparser accepts is refused by name, in
//! the order it appears in the text. The query options clause is applied
//! by the caller (see `options.rs`).

use keyset_plan::{OrderTerm, Projection, Query, SortDirection};
use keyset_store::Value;
use sqlparser::ast::{
    self, DescribeAlias, GroupByExpr, LimitClause, OrderBy, OrderByKind, Select, SelectFlavor,
    SelectItem, SetExpr,
};

use crate::error::{Pos, SqlError};
use crate::filter::filter;
use crate::literal::{describe, literal, quote, shorten};
use crate::names::{column, single_table};
use crate::params::Collector;

/// Converts `EXPLAIN SELECT ...`.
pub(crate) fn explain(
    stmt: &ast::Statement,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Query, SqlError> {
    let ast::Statement::Explain {
        describe_alias,
        analyze,
        verbose,
        query_plan,
        estimate,
        statement,
        format,
        options,
    } = stmt
    else {
        return Err(SqlError::unsupported("statement", fallback));
    };
    let unsupported = if *describe_alias != DescribeAlias::Explain {
        Some(describe_alias.to_string())
    } else if *analyze {
        Some("EXPLAIN ANALYZE".to_owned())
    } else if *verbose {
        Some("EXPLAIN VERBOSE".to_owned())
    } else if *query_plan {
        Some("EXPLAIN QUERY PLAN (write EXPLAIN SELECT ...)".to_owned())
    } else if *estimate {
        Some("EXPLAIN ESTIMATE".to_owned())
    } else if format.is_some() || options.is_some() {
        Some("EXPLAIN options".to_owned())
    } else {
        None
    };
    if let Some(construct) = unsupported {
        return Err(SqlError::unsupported(construct, fallback));
    }
    match statement.as_ref() {
        ast::Statement::Query(q) => query(q, fallback, params),
        _ => Err(SqlError::unsupported(
            "EXPLAIN of a statement other than SELECT",
            fallback,
        )),
    }
}

/// Converts a SELECT query.
pub(crate) fn query(
    q: &ast::Query,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Query, SqlError> {
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
    } = q;
    if let Some(with) = with {
        return Err(SqlError::unsupported(
            "WITH (common table expression)",
            Pos::at(with, fallback),
        ));
    }
    let select = match body.as_ref() {
        SetExpr::Select(select) => select,
        SetExpr::SetOperation { op, right, .. } => {
            return Err(SqlError::unsupported(
                op.to_string(),
                Pos::at(right.as_ref(), fallback),
            ))
        }
        SetExpr::Query(_) => return Err(SqlError::unsupported("parenthesized query", fallback)),
        SetExpr::Values(_) => return Err(SqlError::unsupported("VALUES as a query", fallback)),
        _ => return Err(SqlError::unsupported("query form", fallback)),
    };
    let mut query = select_clause(select, fallback, params)?;
    if let Some(order_by) = order_by {
        query.order_by = order_terms(order_by, fallback)?;
    }
    if query.projection == Projection::Count && (order_by.is_some() || limit_clause.is_some()) {
        return Err(SqlError::unsupported(
            "ORDER BY, LIMIT or OFFSET with COUNT(*) (a count is one row; bound its work with WITH (max_examined = N))",
            fallback,
        ));
    }
    if let Some(limit_clause) = limit_clause {
        window(&mut query, limit_clause, fallback, params)?;
    }
    let unsupported = if let Some(fetch) = fetch {
        Some(("FETCH (write LIMIT)", Pos::at(fetch, fallback)))
    } else if !locks.is_empty() {
        Some(("FOR UPDATE / FOR SHARE", fallback))
    } else if for_clause.is_some() {
        Some(("FOR XML / FOR JSON", fallback))
    } else if settings.is_some() {
        Some(("SETTINGS", fallback))
    } else if format_clause.is_some() {
        Some(("FORMAT", fallback))
    } else if !pipe_operators.is_empty() {
        Some(("pipe operator |>", fallback))
    } else {
        None
    };
    match unsupported {
        Some((construct, pos)) => Err(SqlError::unsupported(construct, pos)),
        None => Ok(query),
    }
}

fn select_clause(
    select: &Select,
    fallback: Pos,
    params: &mut Collector,
) -> Result<Query, SqlError> {
    let Select {
        select_token: _,
        distinct,
        top,
        top_before_distinct: _,
        projection,
        exclude,
        into,
        from,
        lateral_views,
        prewhere,
        selection,
        group_by,
        cluster_by,
        distribute_by,
        sort_by,
        having,
        named_window,
        qualify,
        window_before_qualify: _,
        value_table_mode,
        connect_by,
        flavor,
    } = select;
    let start = Pos::at(select, fallback);
    if *flavor != SelectFlavor::Standard {
        return Err(SqlError::unsupported("FROM-first query", start));
    }
    if distinct.is_some() {
        return Err(SqlError::unsupported("DISTINCT", start));
    }
    if top.is_some() {
        return Err(SqlError::unsupported("TOP (write LIMIT)", start));
    }
    if value_table_mode.is_some() {
        return Err(SqlError::unsupported("SELECT AS VALUE / STRUCT", start));
    }
    let projection = projection_of(projection, start)?;
    if exclude.is_some() {
        return Err(SqlError::unsupported("EXCLUDE", start));
    }
    if let Some(into) = into {
        return Err(SqlError::unsupported("SELECT INTO", Pos::at(into, start)));
    }
    if from.is_empty() {
        return Err(SqlError::unsupported("SELECT without FROM", start));
    }
    let table = single_table(from, start)?;
    let clause = |construct: &str, pos: Pos| Err(SqlError::unsupported(construct, pos));
    if !lateral_views.is_empty() {
        return clause("LATERAL VIEW", start);
    }
    if let Some(prewhere) = prewhere {
        return clause("PREWHERE", Pos::at(prewhere, start));
    }
    let filter = selection
        .as_ref()
        .map(|e| filter(e, start, params))
        .transpose()?;
    match group_by {
        GroupByExpr::Expressions(exprs, modifiers) if exprs.is_empty() && modifiers.is_empty() => {}
        other => return clause("GROUP BY", Pos::at(other, start)),
    }
    if !cluster_by.is_empty() {
        return clause("CLUSTER BY", start);
    }
    if !distribute_by.is_empty() {
        return clause("DISTRIBUTE BY", start);
    }
    if !sort_by.is_empty() {
        return clause("SORT BY (write ORDER BY)", start);
    }
    if let Some(having) = having {
        return clause("HAVING", Pos::at(having, start));
    }
    if !named_window.is_empty() {
        return clause("WINDOW", start);
    }
    if let Some(qualify) = qualify {
        return clause("QUALIFY", Pos::at(qualify, start));
    }
    if connect_by.is_some() {
        return clause("CONNECT BY", start);
    }
    let mut query = Query::table(&table);
    query.filter = filter;
    query.projection = projection;
    Ok(query)
}

fn projection_of(items: &[SelectItem], fallback: Pos) -> Result<Projection, SqlError> {
    if let [SelectItem::Wildcard(options)] = items {
        let ast::WildcardAdditionalOptions {
            wildcard_token: _,
            opt_ilike,
            opt_exclude,
            opt_except,
            opt_replace,
            opt_rename,
        } = options;
        if opt_ilike.is_some()
            || opt_exclude.is_some()
            || opt_except.is_some()
            || opt_replace.is_some()
            || opt_rename.is_some()
        {
            return Err(SqlError::unsupported(
                "options after `*` (EXCLUDE, EXCEPT, REPLACE, RENAME, ILIKE)",
                Pos::at(&items[0], fallback),
            ));
        }
        return Ok(Projection::All);
    }
    if let [SelectItem::UnnamedExpr(expr @ ast::Expr::Function(_))] = items {
        if expr.to_string().eq_ignore_ascii_case("count(*)") {
            return Ok(Projection::Count);
        }
    }
    let mut columns = Vec::with_capacity(items.len());
    for item in items {
        let pos = Pos::at(item, fallback);
        match item {
            SelectItem::UnnamedExpr(expr) => match column(expr, fallback) {
                Some(name) => columns.push(name?),
                None => return Err(SqlError::unsupported(select_list_construct(expr), pos)),
            },
            SelectItem::ExprWithAlias { alias, .. } => {
                return Err(SqlError::unsupported(
                    format!("column alias `AS {alias}`"),
                    pos,
                ))
            }
            SelectItem::QualifiedWildcard(..) => {
                return Err(SqlError::unsupported("qualified wildcard `t.*`", pos))
            }
            SelectItem::Wildcard(_) => {
                return Err(SqlError::unsupported(
                    "`*` together with other columns",
                    pos,
                ))
            }
        }
    }
    Ok(Projection::Columns(columns))
}

/// Names an expression in the select list.
fn select_list_construct(expr: &ast::Expr) -> String {
    match expr {
        ast::Expr::Function(_) | ast::Expr::Subquery(_) => describe(expr),
        ast::Expr::Value(v) => format!("literal {} in the select list", quote(&v.to_string())),
        _ => format!(
            "expression {} in the select list (only column names are)",
            quote(&expr.to_string())
        ),
    }
}

fn order_terms(order_by: &OrderBy, fallback: Pos) -> Result<Vec<OrderTerm>, SqlError> {
    let OrderBy { kind, interpolate } = order_by;
    if interpolate.is_some() {
        return Err(SqlError::unsupported("INTERPOLATE", fallback));
    }
    let exprs = match kind {
        OrderByKind::Expressions(exprs) => exprs,
        OrderByKind::All(_) => return Err(SqlError::unsupported("ORDER BY ALL", fallback)),
    };
    let mut terms = Vec::with_capacity(exprs.len());
    for term in exprs {
        let pos = Pos::at(term, fallback);
        if term.with_fill.is_some() {
            return Err(SqlError::unsupported("WITH FILL", pos));
        }
        let name = match column(&term.expr, fallback) {
            Some(name) => name?,
            None if matches!(term.expr, ast::Expr::Value(_)) => {
                return Err(SqlError::unsupported(
                    "ORDER BY a position or literal (name the column)",
                    pos,
                ))
            }
            None => {
                return Err(SqlError::unsupported(
                    format!("ORDER BY {}", describe(&term.expr)),
                    pos,
                ))
            }
        };
        let direction = match term.options.asc {
            Some(false) => SortDirection::Desc,
            _ => SortDirection::Asc,
        };
        match (direction, term.options.nulls_first) {
            (SortDirection::Asc, Some(false)) => {
                return Err(SqlError::unsupported(
                    "NULLS LAST with ASC (NULL sorts first in ascending order)",
                    pos,
                ))
            }
            (SortDirection::Desc, Some(true)) => {
                return Err(SqlError::unsupported(
                    "NULLS FIRST with DESC (NULL sorts last in descending order)",
                    pos,
                ))
            }
            _ => {}
        }
        terms.push(OrderTerm {
            column: name,
            direction,
        });
    }
    Ok(terms)
}

fn window(
    query: &mut Query,
    clause: &LimitClause,
    fallback: Pos,
    params: &mut Collector,
) -> Result<(), SqlError> {
    match clause {
        LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        } => {
            if let Some(first) = limit_by.first() {
                return Err(SqlError::unsupported("LIMIT BY", Pos::at(first, fallback)));
            }
            if let Some(limit) = limit {
                if !params.count(limit, true, fallback)? {
                    query.limit = Some(count(limit, "LIMIT", fallback)?);
                }
            }
            if let Some(offset) = offset {
                if !params.count(&offset.value, false, fallback)? {
                    query.offset = count(&offset.value, "OFFSET", fallback)?;
                }
            }
            Ok(())
        }
        LimitClause::OffsetCommaLimit { offset, .. } => Err(SqlError::unsupported(
            "LIMIT offset, count (write LIMIT count OFFSET offset)",
            Pos::at(offset, fallback),
        )),
    }
}

/// A LIMIT or OFFSET: a non-negative integer literal.
fn count(expr: &ast::Expr, clause: &str, fallback: Pos) -> Result<usize, SqlError> {
    let pos = Pos::at(expr, fallback);
    let value = match literal(expr, fallback) {
        Ok(value) => value,
        Err(SqlError::Unsupported { .. }) => {
            return Err(SqlError::unsupported(
                format!("{clause} with a non-literal {}", quote(&expr.to_string())),
                pos,
            ))
        }
        Err(other) => return Err(other),
    };
    match value {
        Value::Int(n) => usize::try_from(n).map_err(|_| {
            SqlError::invalid_literal(
                shorten(&expr.to_string()),
                format!("{clause} must not be negative"),
                pos,
            )
        }),
        _ => Err(SqlError::invalid_literal(
            shorten(&expr.to_string()),
            format!("{clause} takes a whole number"),
            pos,
        )),
    }
}
