//! The order decision: whether an access path's natural order already is
//! the query's order (the plan streams) or a bounded top-k pass is needed,
//! and the exact order key the executor builds anchors from. It compares
//! column lists only; which path to use is decided in `choose`.

use std::collections::BTreeSet;

use keyset_store::{Direction, TableDef};

use crate::access::{AccessPath, NaturalOrder};
use crate::plan::OrderColumn;
use crate::query::SortDirection;

/// The ORDER BY as the planner sees it.
#[derive(Clone, Debug)]
pub(crate) struct OrderContext {
    /// ORDER BY terms without columns fixed by an equality (constants),
    /// without repeats, and cut once every primary-key column is ordered
    /// (later terms cannot change the order of distinct rows).
    pub(crate) terms: Vec<OrderColumn>,
    /// Columns fixed to one value by the top-level AND.
    pub(crate) constants: BTreeSet<usize>,
}

impl OrderContext {
    pub(crate) fn new(
        table: &TableDef,
        order_by: &[OrderColumn],
        constants: BTreeSet<usize>,
    ) -> OrderContext {
        let mut terms: Vec<OrderColumn> = Vec::new();
        for term in order_by {
            let pk_complete = table
                .primary_key
                .iter()
                .all(|c| constants.contains(c) || terms.iter().any(|t| t.column == *c));
            if pk_complete {
                break;
            }
            if constants.contains(&term.column) || terms.iter().any(|t| t.column == term.column) {
                continue;
            }
            terms.push(*term);
        }
        OrderContext { terms, constants }
    }

    /// The direction in which `path` yields the query's order, if it does:
    /// the ORDER BY terms (all in one direction) are a prefix of the path's
    /// natural order once constant columns are left out of both.
    pub(crate) fn stream_direction(
        &self,
        path: &AccessPath,
        table: &TableDef,
    ) -> Option<Direction> {
        let Some(first) = self.terms.first() else {
            return Some(Direction::Asc);
        };
        let direction = first.direction;
        if self.terms.iter().any(|t| t.direction != direction) {
            return None;
        }
        let natural: Vec<usize> = natural_columns(path, table)
            .into_iter()
            .filter(|c| !self.constants.contains(c))
            .collect();
        let matches = self.terms.len() <= natural.len()
            && self.terms.iter().zip(&natural).all(|(t, c)| t.column == *c);
        matches.then_some(to_direction(direction))
    }

    /// The exact order of the result. Streaming: the ORDER BY terms, then
    /// the rest of the path's natural order (its remaining index columns,
    /// then the primary key; non-key constants left out), all in the stream's
    /// direction. Top-k: the ORDER BY terms, then the primary-key columns
    /// not among them, in the direction of the last term.
    pub(crate) fn order_key(
        &self,
        path: &AccessPath,
        table: &TableDef,
        stream: Option<Direction>,
    ) -> Vec<OrderColumn> {
        let mut key = self.terms.clone();
        let (rest, direction) = match stream {
            Some(direction) => (natural_columns(path, table), from_direction(direction)),
            None => (
                table.primary_key.clone(),
                self.terms
                    .last()
                    .map_or(SortDirection::Asc, |t| t.direction),
            ),
        };
        for column in rest {
            let fixed_non_key =
                self.constants.contains(&column) && !table.primary_key.contains(&column);
            if fixed_non_key || key.iter().any(|t| t.column == column) {
                continue;
            }
            key.push(OrderColumn { column, direction });
        }
        key
    }
}

/// The columns a path's keys are ordered by, ascending: index columns after
/// the equality prefix then the primary key, or the primary key alone.
pub(crate) fn natural_columns(path: &AccessPath, table: &TableDef) -> Vec<usize> {
    let mut columns = match path.natural_order(table) {
        NaturalOrder::PrimaryKey => Vec::new(),
        NaturalOrder::Index { columns } => columns,
    };
    for c in &table.primary_key {
        if !columns.contains(c) {
            columns.push(*c);
        }
    }
    columns
}

pub(crate) fn to_direction(direction: SortDirection) -> Direction {
    match direction {
        SortDirection::Asc => Direction::Asc,
        SortDirection::Desc => Direction::Desc,
    }
}

fn from_direction(direction: Direction) -> SortDirection {
    match direction {
        Direction::Asc => SortDirection::Asc,
        Direction::Desc => SortDirection::Desc,
    }
}
