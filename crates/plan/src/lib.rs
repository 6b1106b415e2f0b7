//! keyset-plan: the logical query, access paths (`IndexRange`, `Union`,
//! `Intersection`, ...), the rule-based planner, canonical form, the plan
//! signature and EXPLAIN.
//!
//! The planner decides *how* rows are reached and in what order; it never
//! reads rows. Execution, paging and cursors belong to keyset-executor.

pub mod access;
pub mod error;
pub mod expr;
pub mod plan;
pub mod query;

pub use access::{AccessPath, NaturalOrder};
pub use error::PlanError;
pub use expr::{bind, col, CmpOp, Expr, Predicate, Truth};
pub use plan::{CursorKind, OrderColumn, OrderStrategy, Plan, PlanSignature, ShardSet};
pub use query::{
    Budget, MergeMode, OrderTerm, Projection, Query, SortDirection, Statement, MAX_LIMIT,
};
