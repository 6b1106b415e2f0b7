//! EXPLAIN: the plan as a readable, stable tree of text. It shows the
//! access path with its bounds, which composite children stream in
//! primary-key order and which are buffered and sorted, streaming or top-k,
//! the shards touched, the residual filter and the cursor kind. It only
//! formats a plan; it never changes or re-derives one.

use std::fmt::Write as _;
use std::ops::Bound;

use keyset_store::{Direction, TableDef, Value};

use crate::access::AccessPath;
use crate::expr::Predicate;
use crate::plan::{OrderStrategy, Plan, ShardSet};
use crate::planner::natural_order_columns;
use crate::query::SortDirection;

/// Most keys of a `ByKeys` path EXPLAIN lists before summarizing the rest.
const MAX_LISTED_KEYS: usize = 8;

/// The plan as an indented tree. Stable: tests compare it as text.
pub fn explain(plan: &Plan) -> String {
    let table = &plan.table;
    let mut out = String::new();
    let _ = write!(
        out,
        "Query {}  [{}]  cursor={}  shards={}  merge={}",
        table.name,
        strategy_text(plan),
        plan.cursor_kind.name(),
        shards_text(&plan.shards, table.shards),
        plan.merge.name()
    );
    let _ = match plan.consistency {
        crate::query::Consistency::Live => writeln!(out),
        crate::query::Consistency::Snapshot => writeln!(out, "  consistency=snapshot"),
    };
    write_path(&mut out, table, &plan.access, 1, None);
    let order: Vec<String> = plan
        .order
        .iter()
        .map(|t| {
            format!(
                "{} {}",
                column_name(table, t.column),
                direction_name(t.direction)
            )
        })
        .collect();
    let _ = writeln!(out, "  order key: {}", order.join(", "));
    let residual = match &plan.filter {
        None => "none".to_owned(),
        Some(p) if plan.exact => format!(
            "none (the range is exact: {})",
            predicate_text(p, table, MAX_LISTED_KEYS)
        ),
        Some(p) => predicate_text(p, table, MAX_LISTED_KEYS),
    };
    let _ = writeln!(out, "  residual filter: {residual}");
    if plan.is_count() {
        let _ = writeln!(out, "  count: COUNT(*) of the rows above, budgets apply");
    } else if plan.projection != (0..table.columns.len()).collect::<Vec<_>>() {
        let names: Vec<&str> = plan
            .projection
            .iter()
            .map(|c| column_name(table, *c))
            .collect();
        let _ = writeln!(out, "  columns: {}", names.join(", "));
    }
    out
}

fn strategy_text(plan: &Plan) -> String {
    match plan.strategy {
        OrderStrategy::Stream(Direction::Asc) => "stream ASC".to_owned(),
        OrderStrategy::Stream(Direction::Desc) => "stream DESC".to_owned(),
        OrderStrategy::TopK => match plan.limit {
            Some(limit) => format!(
                "top-k heap=offset+limit+1={}",
                plan.offset.saturating_add(limit).saturating_add(1)
            ),
            None => "top-k heap=all rows (no LIMIT)".to_owned(),
        },
    }
}

fn shards_text(shards: &ShardSet, count: u32) -> String {
    match shards {
        ShardSet::All => format!("all({count})"),
        ShardSet::Only(list) => {
            let list: Vec<String> = list.iter().map(ToString::to_string).collect();
            format!("[{}] of {count}", list.join(", "))
        }
    }
}

/// How a composite's child reaches its parent's primary-key merge.
#[derive(Clone, Copy)]
enum ChildMode {
    Streams,
    Buffered,
}

fn write_path(
    out: &mut String,
    table: &TableDef,
    path: &AccessPath,
    depth: usize,
    mode: Option<ChildMode>,
) {
    let indent = "  ".repeat(depth);
    match path {
        AccessPath::Union(children) | AccessPath::Intersection(children) => {
            let head = if matches!(path, AccessPath::Union(_)) {
                "Union  (k-way merge in primary-key order)"
            } else {
                "Intersection  (leapfrog in primary-key order)"
            };
            let _ = writeln!(out, "{indent}{head}");
            for child in children {
                let child_mode = if child.yields_primary_key_order(table) {
                    ChildMode::Streams
                } else {
                    ChildMode::Buffered
                };
                write_path(out, table, child, depth + 1, Some(child_mode));
            }
        }
        leaf => {
            let mut line = format!("{indent}{}", leaf_text(table, leaf));
            match (mode, leaf) {
                (_, AccessPath::Empty) => line.push_str("  (contradiction: no row can match)"),
                (Some(ChildMode::Streams), _) => line.push_str("  streams in primary-key order"),
                (Some(ChildMode::Buffered), _) => line.push_str("  buffered: sort keys"),
                (None, _) => {
                    let names: Vec<&str> = natural_order_columns(leaf, table)
                        .into_iter()
                        .map(|c| column_name(table, c))
                        .collect();
                    let _ = write!(line, "  order: {}", names.join(", "));
                }
            }
            let _ = writeln!(out, "{line}");
        }
    }
}

fn leaf_text(table: &TableDef, path: &AccessPath) -> String {
    match path {
        AccessPath::Empty => "Empty".to_owned(),
        AccessPath::FullScan => "FullScan".to_owned(),
        AccessPath::ByKeys(keys) => {
            let mut listed: Vec<String> = keys
                .iter()
                .take(MAX_LISTED_KEYS)
                .map(|k| tuple(k))
                .collect();
            if keys.len() > MAX_LISTED_KEYS {
                listed.push(format!("... (+{} more)", keys.len() - MAX_LISTED_KEYS));
            }
            let noun = if keys.len() == 1 { "key" } else { "keys" };
            format!("ByKeys  {} {noun}: {}", keys.len(), listed.join(", "))
        }
        AccessPath::PrimaryRange {
            prefix,
            lower,
            upper,
        } => format!("PrimaryRange{}", bounds_text(prefix, lower, upper)),
        AccessPath::IndexRange {
            index,
            prefix,
            lower,
            upper,
        } => {
            let name = table
                .index_by_id(*index)
                .map_or_else(|| format!("index#{index}"), |i| i.name.clone());
            format!("IndexRange {name}{}", bounds_text(prefix, lower, upper))
        }
        AccessPath::Union(_) | AccessPath::Intersection(_) => String::new(),
    }
}

fn bounds_text(prefix: &[Value], lower: &Bound<Value>, upper: &Bound<Value>) -> String {
    let mut text = String::new();
    if !prefix.is_empty() {
        let _ = write!(text, "  prefix={}", tuple(prefix));
    }
    if !matches!((lower, upper), (Bound::Unbounded, Bound::Unbounded)) {
        let low = match lower {
            Bound::Unbounded => "(-inf".to_owned(),
            Bound::Included(v) => format!("[{v}"),
            Bound::Excluded(v) => format!("({v}"),
        };
        let high = match upper {
            Bound::Unbounded => "+inf)".to_owned(),
            Bound::Included(v) => format!("{v}]"),
            Bound::Excluded(v) => format!("{v})"),
        };
        let _ = write!(text, "  range={low}, {high}");
    }
    if text.is_empty() {
        text.push_str("  (whole index)");
    }
    text
}

fn tuple(values: &[Value]) -> String {
    let parts: Vec<String> = values.iter().map(ToString::to_string).collect();
    format!("({})", parts.join(", "))
}

fn direction_name(direction: SortDirection) -> &'static str {
    match direction {
        SortDirection::Asc => "ASC",
        SortDirection::Desc => "DESC",
    }
}

fn column_name(table: &TableDef, column: usize) -> &str {
    table.columns.get(column).map_or("?", |c| c.name.as_str())
}

/// A bound predicate as SQL-like text, columns by name.
pub fn display_predicate(predicate: &Predicate, table: &TableDef) -> String {
    predicate_text(predicate, table, usize::MAX)
}

/// [`display_predicate`], with IN lists longer than `max_listed` cut short.
fn predicate_text(predicate: &Predicate, table: &TableDef, max_listed: usize) -> String {
    let name = |c: &usize| column_name(table, *c);
    let not = |n: &bool| if *n { "NOT " } else { "" };
    match predicate {
        Predicate::Cmp { column, op, value } => {
            format!("{} {} {value}", name(column), op.symbol())
        }
        Predicate::Between {
            column,
            low,
            high,
            negated,
        } => format!("{} {}BETWEEN {low} AND {high}", name(column), not(negated)),
        Predicate::In {
            column,
            values,
            negated,
        } => {
            let mut list: Vec<String> = values
                .iter()
                .take(max_listed)
                .map(ToString::to_string)
                .collect();
            if values.len() > max_listed {
                list.push(format!("... (+{} more)", values.len() - max_listed));
            }
            format!("{} {}IN ({})", name(column), not(negated), list.join(", "))
        }
        Predicate::IsNull { column, negated } => {
            format!("{} IS {}NULL", name(column), not(negated))
        }
        Predicate::LikePrefix {
            column,
            prefix,
            negated,
        } => format!(
            "{} {}LIKE '{}%'",
            name(column),
            not(negated),
            prefix.replace('\'', "''")
        ),
        Predicate::And(children) if children.is_empty() => "TRUE".to_owned(),
        Predicate::Or(children) if children.is_empty() => "FALSE".to_owned(),
        Predicate::And(children) | Predicate::Or(children) => {
            let sep = if matches!(predicate, Predicate::And(_)) {
                " AND "
            } else {
                " OR "
            };
            let parts: Vec<String> = children
                .iter()
                .map(|c| predicate_text(c, table, max_listed))
                .collect();
            format!("({})", parts.join(sep))
        }
        Predicate::Not(inner) => format!("NOT ({})", predicate_text(inner, table, max_listed)),
    }
}
