//! The physical plan the executor runs: a canonical access path, the bound
//! residual filter, the exact order key, the order strategy (streaming or
//! top-k), the shards touched, the cursor kind and the plan signature.

use std::fmt;
use std::sync::Arc;

use keyset_store::{Direction, TableDef};

use crate::access::AccessPath;
use crate::expr::Predicate;
use crate::query::{Budget, MergeMode, SortDirection};

/// A 128-bit hash of the canonical plan (BLAKE3, truncated). Limit, offset
/// and budgets are not part of it, so a client may change its page size
/// between pages.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlanSignature(pub [u8; 16]);

impl fmt::Debug for PlanSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PlanSignature({self})")
    }
}

impl fmt::Display for PlanSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// What a cursor of this plan anchors on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CursorKind {
    /// The last emitted `RawIndexKey` (a single index range streaming in
    /// index order).
    IndexRange,
    /// The last `RawDataKey` (composites, primary ranges, full scans, by-keys).
    DataKey,
    /// The ORDER BY values and primary key of the last row (top-k plans).
    Sorted,
    /// One anchor per shard (unordered shard merge).
    ShardFrontier,
}

impl CursorKind {
    pub fn code(self) -> u8 {
        match self {
            CursorKind::IndexRange => 1,
            CursorKind::DataKey => 2,
            CursorKind::Sorted => 3,
            CursorKind::ShardFrontier => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<CursorKind> {
        Some(match code {
            1 => CursorKind::IndexRange,
            2 => CursorKind::DataKey,
            3 => CursorKind::Sorted,
            4 => CursorKind::ShardFrontier,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            CursorKind::IndexRange => "IndexRange",
            CursorKind::DataKey => "DataKey",
            CursorKind::Sorted => "Sorted",
            CursorKind::ShardFrontier => "ShardFrontier",
        }
    }
}

/// One term of the full order key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderColumn {
    /// Column position in the table.
    pub column: usize,
    pub direction: SortDirection,
}

/// How the query's order is produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStrategy {
    /// The access path's natural order, traversed in this direction, is the
    /// query's order: rows stream.
    Stream(Direction),
    /// No access path gives the order: each page is one pass keeping a
    /// bounded heap of offset + limit + 1 rows strictly past the anchor.
    TopK,
}

/// Which shards a plan reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ShardSet {
    All,
    /// Only these shards (partition routing), sorted and deduplicated.
    Only(Vec<usize>),
}

impl ShardSet {
    /// The shard numbers, given the table's shard count.
    pub fn resolve(&self, shard_count: usize) -> Vec<usize> {
        match self {
            ShardSet::All => (0..shard_count).collect(),
            ShardSet::Only(list) => list.iter().copied().filter(|s| *s < shard_count).collect(),
        }
    }
}

/// A planned query, ready for the executor.
#[derive(Clone, Debug)]
pub struct Plan {
    pub table: Arc<TableDef>,
    /// The access path, in canonical form.
    pub access: AccessPath,
    /// The whole filter (`None`: every row).
    pub filter: Option<crate::expr::Predicate>,
    /// Whether the access path yields exactly the rows the filter accepts,
    /// so no row needs the filter checked again (the residual is none).
    pub exact: bool,
    /// The exact order of the result: the ORDER BY terms, then the primary
    /// key columns not already in it. Anchors are built from it.
    pub order: Vec<OrderColumn>,
    pub strategy: OrderStrategy,
    /// Columns each returned row carries, by table position.
    pub projection: Vec<usize>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub budget: Budget,
    pub merge: MergeMode,
    /// Live or snapshot pages; not part of the signature (a cursor's own
    /// snapshot flag is checked against it instead).
    pub consistency: crate::query::Consistency,
    pub shards: ShardSet,
    pub cursor_kind: CursorKind,
    pub signature: PlanSignature,
}

impl Plan {
    /// Whether the plan is a `COUNT(*)`. SQL has no SELECT of zero columns,
    /// so a plan that projects none is a count: the executor counts its
    /// rows instead of returning them, and its signature differs from the
    /// same traversal's SELECT.
    pub fn is_count(&self) -> bool {
        self.projection.is_empty()
    }

    /// Whether a row the access path yielded passes the filter: always,
    /// when the path is exact.
    pub fn accepts(&self, row: &[keyset_store::Value]) -> bool {
        self.exact
            || self
                .filter
                .as_ref()
                .is_none_or(|p: &Predicate| p.accepts(row))
    }

    /// Whether a row passes the whole filter, exact path or not (for rows
    /// not reached through the path, such as a carried top-k row).
    pub fn filter_accepts(&self, row: &[keyset_store::Value]) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|p: &Predicate| p.accepts(row))
    }
}
