//! Access paths: how the rows a query may need are reached. An access path
//! only has to return a superset of the rows the filter accepts; the whole
//! filter is re-checked on every row.

use std::ops::Bound;

use keyset_store::{IndexId, TableDef, Value};

/// How rows are reached.
#[derive(Clone, Debug, PartialEq)]
pub enum AccessPath {
    /// No row can match (a contradiction such as `a = 1 AND a = 2`).
    Empty,
    /// Exact primary keys, each a full key; sorted and deduplicated in
    /// canonical form.
    ByKeys(Vec<Vec<Value>>),
    /// Equality on the first `prefix.len()` primary-key columns and a range
    /// on the next one.
    PrimaryRange {
        prefix: Vec<Value>,
        lower: Bound<Value>,
        upper: Bound<Value>,
    },
    /// Equality on the first `prefix.len()` columns of an index and a range
    /// on the next one.
    IndexRange {
        index: IndexId,
        prefix: Vec<Value>,
        lower: Bound<Value>,
        upper: Bound<Value>,
    },
    /// Rows reached by any child, in primary-key order.
    Union(Vec<AccessPath>),
    /// Rows reached by every child, in primary-key order.
    Intersection(Vec<AccessPath>),
    /// Every row, in primary-key order.
    FullScan,
}

/// The order in which an access path yields its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NaturalOrder {
    /// Primary-key order (data keys).
    PrimaryKey,
    /// Index order: these table columns (the index columns after the
    /// equality prefix), then the primary key.
    Index { columns: Vec<usize> },
}

impl AccessPath {
    /// The order the path yields keys in, ascending.
    pub fn natural_order(&self, table: &TableDef) -> NaturalOrder {
        match self {
            AccessPath::IndexRange { index, prefix, .. }
                if !self.yields_primary_key_order(table) =>
            {
                let columns = table
                    .index_by_id(*index)
                    .map(|i| i.columns[prefix.len().min(i.columns.len())..].to_vec())
                    .unwrap_or_default();
                NaturalOrder::Index { columns }
            }
            _ => NaturalOrder::PrimaryKey,
        }
    }

    /// Whether the path yields its rows in primary-key order: every path but
    /// an index range that leaves some index column unconstrained by
    /// equality.
    pub fn yields_primary_key_order(&self, table: &TableDef) -> bool {
        match self {
            AccessPath::IndexRange {
                index,
                prefix,
                lower,
                upper,
            } => {
                let arity = table.index_by_id(*index).map_or(0, |i| i.columns.len());
                prefix.len() == arity
                    && matches!(lower, Bound::Unbounded)
                    && matches!(upper, Bound::Unbounded)
            }
            _ => true,
        }
    }

    /// Whether this is a composite (Union or Intersection).
    pub fn is_composite(&self) -> bool {
        matches!(self, AccessPath::Union(_) | AccessPath::Intersection(_))
    }
}
