//! The full order key of a top-k plan: the ORDER BY terms (each ASC or
//! DESC; NULL sorts first ascending), then the `RawDataKey`, reversed for a
//! backward page. It compares the rows a pass reads and the rows a cursor
//! carries (`SortedRow`) alike, and must agree with the order the cursor
//! module checks carried rows against (`cursor/pass_checks.rs`).

use std::cmp::Ordering;

use bytes::Bytes;
use keyset_plan::{OrderColumn, SortDirection};
use keyset_store::{Row, RowRef, TableStore, TableView, Value};

use crate::cursor::SortedRow;

static NULL: Value = Value::Null;

/// A row of a pass's buffer: read by this page, or carried by its cursor
/// from the part of the pass an earlier page scanned (such a row is looked
/// up again only when it is returned).
#[derive(Clone, Debug)]
pub(super) enum Entry {
    Read(RowRef),
    Carried(SortedRow),
}

/// Anything that has a place in a top-k order.
pub(super) trait Ordered {
    /// The value of ORDER BY term number `term`, on `column`.
    fn value(&self, term: usize, column: usize) -> &Value;
    /// The `RawDataKey` (asked only when every term ties).
    fn data_key(&self, table: &TableStore) -> Bytes;
}

impl Ordered for Row {
    fn value(&self, _term: usize, column: usize) -> &Value {
        self.get(column).unwrap_or(&NULL)
    }

    fn data_key(&self, table: &TableStore) -> Bytes {
        table.data_key_of(self).into_bytes()
    }
}

impl Ordered for SortedRow {
    fn value(&self, term: usize, _column: usize) -> &Value {
        self.values.get(term).unwrap_or(&NULL)
    }

    fn data_key(&self, _table: &TableStore) -> Bytes {
        self.key.clone()
    }
}

impl Ordered for Entry {
    fn value(&self, term: usize, column: usize) -> &Value {
        match self {
            Entry::Read(row) => row.value(term, column),
            Entry::Carried(row) => row.value(term, column),
        }
    }

    fn data_key(&self, table: &TableStore) -> Bytes {
        match self {
            Entry::Read(row) => row.data_key(table),
            Entry::Carried(row) => row.data_key(table),
        }
    }
}

/// The full order key of a plan, possibly reversed (backward pages).
pub(super) struct SortOrder<'a> {
    pub terms: &'a [OrderColumn],
    pub table: &'a TableView,
    pub reversed: bool,
}

impl SortOrder<'_> {
    /// The order of `a` and `b` in the page's traversal.
    pub fn compare(&self, a: &impl Ordered, b: &impl Ordered) -> Ordering {
        let ordering = self
            .terms
            .iter()
            .enumerate()
            .map(|(i, term)| {
                let (x, y) = (a.value(i, term.column), b.value(i, term.column));
                match term.direction {
                    SortDirection::Asc => x.compare(y),
                    SortDirection::Desc => y.compare(x),
                }
            })
            .find(|o| o.is_ne())
            // Equal on every term (the primary key is among them, so this is
            // one row met twice): the data key decides.
            .unwrap_or_else(|| a.data_key(self.table).cmp(&b.data_key(self.table)));
        if self.reversed {
            ordering.reverse()
        } else {
            ordering
        }
    }

    /// The row as a cursor carries it: its ORDER BY values and data key.
    pub fn carried(&self, row: &Row) -> SortedRow {
        SortedRow {
            values: self
                .terms
                .iter()
                .map(|t| row.get(t.column).cloned().unwrap_or(Value::Null))
                .collect(),
            key: self.table.data_key_of(row).into_bytes(),
        }
    }

    /// An entry as a cursor carries it.
    pub fn carried_entry(&self, entry: &Entry) -> SortedRow {
        match entry {
            Entry::Read(row) => self.carried(row),
            Entry::Carried(row) => row.clone(),
        }
    }
}
