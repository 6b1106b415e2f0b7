//! The planner's errors: what in the query does not fit the catalog.

use keyset_store::ColumnType;

use crate::assign::ArithError;
use crate::param::ParamError;

/// A query the planner cannot plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no table named `{table}`")]
    UnknownTable { table: String },
    #[error("table `{table}` has no column `{column}`")]
    UnknownColumn { table: String, column: String },
    #[error("ORDER BY names `{column}`, which table `{table}` does not have")]
    UnknownOrderColumn { table: String, column: String },
    #[error("the literal {found} does not fit column `{table}.{column}` of type {expected}")]
    LiteralType {
        table: String,
        column: String,
        expected: ColumnType,
        found: String,
    },
    #[error("LIKE matches text, and column `{table}.{column}` is {found}; compare it with =, <, BETWEEN or IN")]
    LikeNotText {
        table: String,
        column: String,
        found: ColumnType,
    },
    #[error("LIMIT {limit} is over the maximum page size of {max}")]
    LimitTooLarge { limit: usize, max: usize },
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("UPDATE {table}: column `{column}` of the row with key {key}: {source}; nothing was updated")]
    Arithmetic {
        table: String,
        column: String,
        key: String,
        source: Box<ArithError>,
    },
}
