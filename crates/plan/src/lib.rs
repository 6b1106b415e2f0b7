//! keyset-plan: the logical query, access paths (`IndexRange`, `Union`,
//! `Intersection`, ...), the rule-based planner, canonical form, the plan
//! signature and EXPLAIN.
//!
//! The planner decides *how* rows are reached and in what order; it never
//! reads rows. Execution, paging and cursors belong to keyset-executor.

pub mod access;
pub mod assign;
pub mod canonical;
pub mod error;
pub mod explain;
pub mod expr;
pub mod param;
pub mod plan;
pub mod planner;
pub mod point;
pub mod query;
pub mod signature;
pub mod visit;

pub use access::{AccessPath, NaturalOrder};
pub use assign::{ArithError, ArithOp, BoundSet, SetExpr};
pub use canonical::{canonical_predicate, canonicalize};
pub use error::PlanError;
pub use explain::{display_predicate, explain};
pub use expr::{bind, col, CmpOp, Expr, Predicate, Truth};
pub use param::{
    bind_params, bind_window, ParamError, ParamSlots, Params, Placeholder, MAX_PARAMS,
};
pub use plan::{CursorKind, OrderColumn, OrderStrategy, Plan, PlanSignature, ShardSet};
pub use planner::{plan, replan_with};
pub use point::PointTemplate;
pub use query::{
    Budget, Consistency, MergeMode, OrderTerm, Projection, Query, SortDirection, Statement,
    MAX_LIMIT,
};
pub use signature::signature;
