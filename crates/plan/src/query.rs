//! The logical query: what the caller asked for, before any access path is
//! chosen. SQL and the typed builder both produce a [`Query`]; statements
//! other than SELECT are carried by [`Statement`].

use std::time::Instant;

use keyset_store::{IndexSpec, TableSpec, Value};

use crate::assign::SetExpr;
use crate::expr::Expr;

/// Largest page size a query may ask for.
pub const MAX_LIMIT: usize = 1_000_000;

/// Sort direction of one ORDER BY term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SortDirection {
    Asc,
    Desc,
}

/// One ORDER BY term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderTerm {
    pub column: String,
    pub direction: SortDirection,
}

/// Bounds on the work one page may do. Budgets bound work, never meaning:
/// a page they stop carries a cursor that resumes where it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Most keys the page may examine (read from the access path).
    pub max_examined: Option<u64>,
    /// Most bytes of encoded rows the page may fetch.
    pub max_bytes: Option<u64>,
    /// The moment the page must stop by.
    pub deadline: Option<Instant>,
}

/// Which columns the rows carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Projection {
    #[default]
    All,
    Columns(Vec<String>),
    /// `COUNT(*)`: one row holding the number of rows the traversal
    /// yields. The plan projects no column (see `Plan::is_count`).
    Count,
}

/// Which view the pages of a traversal read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Consistency {
    /// Each page reads the newest view (DESIGN section 6, guarantee 7).
    #[default]
    Live,
    /// Every page reads the first page's view, whose `seq` the cursor
    /// carries (guarantee 8).
    Snapshot,
}

impl Consistency {
    pub fn name(self) -> &'static str {
        match self {
            Consistency::Live => "live",
            Consistency::Snapshot => "snapshot",
        }
    }
}

/// How the shards of a sharded table are merged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MergeMode {
    /// k-way heap over shard streams: the query's order, bounded memory.
    #[default]
    OrderedStreaming,
    /// Each shard on its own thread into a bounded channel: no order
    /// promised, first rows as soon as any shard yields.
    UnorderedStreaming,
    /// Drain every shard, then sort: for small results only.
    OrderedEager,
}

impl MergeMode {
    pub fn name(self) -> &'static str {
        match self {
            MergeMode::OrderedStreaming => "ordered",
            MergeMode::UnorderedStreaming => "unordered",
            MergeMode::OrderedEager => "eager",
        }
    }
}

/// A query over one table.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub table: String,
    pub filter: Option<Expr>,
    pub order_by: Vec<OrderTerm>,
    /// The page size (`None`: one page holds everything).
    pub limit: Option<usize>,
    /// Rows skipped once, on the first page.
    pub offset: usize,
    pub budget: Budget,
    pub projection: Projection,
    pub merge: MergeMode,
    /// Live (the default) or a snapshot traversal.
    pub consistency: Consistency,
}

impl Query {
    /// A query of every row of `table`.
    pub fn table(table: &str) -> Query {
        Query {
            table: table.to_owned(),
            filter: None,
            order_by: Vec::new(),
            limit: None,
            offset: 0,
            budget: Budget::default(),
            projection: Projection::All,
            merge: MergeMode::default(),
            consistency: Consistency::default(),
        }
    }

    /// Adds a filter (ANDed with any filter already set).
    pub fn filter(mut self, expr: Expr) -> Query {
        self.filter = Some(match self.filter.take() {
            None => expr,
            Some(existing) => existing.and(expr),
        });
        self
    }

    /// Adds an ORDER BY term.
    pub fn order_by(mut self, column: &str, direction: SortDirection) -> Query {
        self.order_by.push(OrderTerm {
            column: column.to_owned(),
            direction,
        });
        self
    }

    pub fn limit(mut self, limit: usize) -> Query {
        self.limit = Some(limit);
        self
    }

    pub fn offset(mut self, offset: usize) -> Query {
        self.offset = offset;
        self
    }

    pub fn max_examined(mut self, keys: u64) -> Query {
        self.budget.max_examined = Some(keys);
        self
    }

    pub fn max_bytes(mut self, bytes: u64) -> Query {
        self.budget.max_bytes = Some(bytes);
        self
    }

    pub fn deadline(mut self, deadline: Instant) -> Query {
        self.budget.deadline = Some(deadline);
        self
    }

    pub fn columns(mut self, columns: &[&str]) -> Query {
        self.projection = Projection::Columns(columns.iter().map(|c| (*c).to_owned()).collect());
        self
    }

    pub fn merge(mut self, mode: MergeMode) -> Query {
        self.merge = mode;
        self
    }

    /// Live pages (the default) or a snapshot traversal: every page reads
    /// the first page's view.
    pub fn consistency(mut self, consistency: Consistency) -> Query {
        self.consistency = consistency;
        self
    }
}

/// One SQL statement (or its builder equivalent).
#[derive(Clone, Debug, PartialEq)]
pub enum Statement {
    CreateTable(TableSpec),
    CreateIndex(IndexSpec),
    DropTable {
        table: String,
        if_exists: bool,
    },
    DropIndex {
        index: String,
        table: Option<String>,
        if_exists: bool,
    },
    Insert {
        table: String,
        /// The columns the values are for; `None`: every column in order.
        columns: Option<Vec<String>>,
        rows: Vec<Vec<Value>>,
    },
    Update {
        table: String,
        /// `(column, value)`; the value may use the row's columns.
        assignments: Vec<(String, SetExpr)>,
        filter: Option<Expr>,
    },
    Delete {
        table: String,
        filter: Option<Expr>,
    },
    Select(Query),
    Explain(Query),
}
