//! Exact access paths: when the rows an index range (or primary range)
//! yields are exactly the rows the filter accepts, the executor skips the
//! per-row filter check. That holds when every conjunct of the filter is a
//! single-column equality or range (so folding them into column
//! constraints loses nothing) and the path's prefix and bounds are exactly
//! those constraints, on exactly the columns they constrain. Anything else
//! (OR, NOT, `<>`, LIKE, IN of several values, a conjunct on a column the
//! path does not bound) keeps the residual check.

use std::ops::Bound;

use keyset_store::{TableDef, Value};

use super::constraints::{is_column_atom, ColumnConstraint, Constraints};
use crate::access::AccessPath;
use crate::expr::Predicate;

/// Whether `access` yields exactly the rows the conjuncts accept.
pub(crate) fn path_is_exact(
    conjuncts: &[&Predicate],
    constraints: &Constraints,
    access: &AccessPath,
    table: &TableDef,
) -> bool {
    if conjuncts.is_empty() || !conjuncts.iter().all(|c| is_column_atom(c, table)) {
        return false;
    }
    match access {
        AccessPath::IndexRange {
            index,
            prefix,
            lower,
            upper,
        } => table
            .index_by_id(*index)
            .is_some_and(|def| bounds_match(&def.columns, prefix, lower, upper, constraints)),
        AccessPath::PrimaryRange {
            prefix,
            lower,
            upper,
        } => bounds_match(&table.primary_key, prefix, lower, upper, constraints),
        _ => false,
    }
}

/// Whether `prefix` fixes `columns[..prefix.len()]` and `(lower, upper)`
/// bounds the next column exactly as the constraints do, and the
/// constraints say nothing about any other column.
fn bounds_match(
    columns: &[usize],
    prefix: &[Value],
    lower: &Bound<Value>,
    upper: &Bound<Value>,
    constraints: &Constraints,
) -> bool {
    let fixed = prefix.iter().enumerate().all(|(i, value)| {
        columns.get(i).is_some_and(|&c| {
            constraints.get(c) == Some(&ColumnConstraint::Eq(vec![value.clone()]))
        })
    });
    let ranged = matches!((lower, upper), (Bound::Unbounded, Bound::Unbounded));
    let range = if ranged {
        true
    } else {
        columns.get(prefix.len()).is_some_and(|&c| {
            constraints.get(c)
                == Some(&ColumnConstraint::Range {
                    lower: lower.clone(),
                    upper: upper.clone(),
                })
        })
    };
    let constrained = prefix.len() + usize::from(!ranged);
    fixed && range && constraints.len() == constrained
}
