//! Checks of the resume states a budget leaves in a cursor, beyond the key
//! identity and bounds `validate.rs` checks for every anchor: OFFSET rows
//! still to skip (`KeySkip`, `FrontierSkip`) and a top-k pass cut short
//! (`SortedPass`) must be states a page could have written. Nothing here
//! reads the store or decides where a page starts.

use std::cmp::Ordering;

use keyset_plan::{OrderColumn, Plan, SortDirection};

use super::{collecting, Anchor, CursorError, SortedPass, SortedRow};

/// Checks the resume state of `anchor` (anchors without one pass).
pub(super) fn check_resume_state(
    anchor: &Anchor,
    plan: &Plan,
    backward: bool,
) -> Result<(), CursorError> {
    match anchor {
        Anchor::KeySkip { offset_left, .. } | Anchor::FrontierSkip { offset_left, .. } => {
            if *offset_left == 0 {
                return inconsistent("it carries OFFSET rows to skip, but 0 of them");
            }
            check_countable(*offset_left)
        }
        Anchor::SortedPass(pass) => check_pass(pass, plan, backward),
        Anchor::Collecting(state) => {
            let direction = super::plan_direction(plan);
            let direction = if backward {
                direction.reverse()
            } else {
                direction
            };
            let shards = plan.shards.resolve(plan.table.shards as usize);
            collecting::check_collecting(state, direction, &shards)
        }
        Anchor::Key(_) | Anchor::Sorted { .. } | Anchor::Frontier(_) => Ok(()),
    }
}

fn check_pass(pass: &SortedPass, plan: &Plan, backward: bool) -> Result<(), CursorError> {
    check_countable(pass.offset_left)?;
    if backward && pass.offset_left > 0 {
        return inconsistent("a backward top-k pass skips no OFFSET rows");
    }
    if backward && pass.after.is_none() {
        return inconsistent("a backward top-k pass resumes from a row, and this one names none");
    }
    if pass.more && pass.best.is_empty() {
        return inconsistent("it says rows follow the rows it carries, but carries none");
    }
    if !pass.collecting.is_empty() {
        // A pass whose sort buffers a budget cut: their keys follow the
        // scan position, and a top-k pass reads ascending.
        let state = super::Collecting {
            after: pass.scan.clone(),
            frontier: Vec::new(),
            offset_left: pass.offset_left,
            buffers: pass.collecting.clone(),
        };
        let shards = plan.shards.resolve(plan.table.shards as usize);
        collecting::check_collecting(&state, keyset_store::Direction::Asc, &shards)?;
    } else if pass.scan.is_none() {
        // Rows a finished pass knows to come next, or a pass not begun
        // that still skips OFFSET rows: both after a row a page reached.
        if pass.after.is_none() {
            return inconsistent(
                "a top-k pass not in progress resumes from a row, and this one names none",
            );
        }
        if pass.best.is_empty() && pass.offset_left == 0 {
            return inconsistent(
                "a top-k pass not begun carries OFFSET rows to skip, and this one carries none",
            );
        }
    }
    let order = RowOrder {
        terms: &plan.order,
        backward,
    };
    if let (Some(after), Some(first)) = (&pass.after, pass.best.first()) {
        if order.compare(first, after) != Ordering::Greater {
            return Err(CursorError::PassRowNotAfterAnchor { row: 0 });
        }
    }
    for (row, pair) in pass.best.windows(2).enumerate() {
        if order.compare(&pair[1], &pair[0]) != Ordering::Greater {
            return Err(CursorError::PassRowsOutOfOrder { row: row + 1 });
        }
    }
    Ok(())
}

/// OFFSET rows to skip must be countable on this machine.
fn check_countable(offset_left: u64) -> Result<(), CursorError> {
    match usize::try_from(offset_left) {
        Ok(_) => Ok(()),
        Err(_) => inconsistent("it carries more OFFSET rows to skip than this machine can count"),
    }
}

fn inconsistent(reason: &str) -> Result<(), CursorError> {
    Err(CursorError::InconsistentState {
        reason: reason.into(),
    })
}

/// The full order key of a top-k plan over carried rows: the ORDER BY
/// values term by term, then the data key; reversed for a backward pass.
/// It must agree with the order `crate::page::topk` keeps its rows in.
struct RowOrder<'a> {
    terms: &'a [OrderColumn],
    backward: bool,
}

impl RowOrder<'_> {
    fn compare(&self, a: &SortedRow, b: &SortedRow) -> Ordering {
        let ordering = self
            .terms
            .iter()
            .zip(a.values.iter().zip(&b.values))
            .map(|(term, (x, y))| match term.direction {
                SortDirection::Asc => x.compare(y),
                SortDirection::Desc => y.compare(x),
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a.key.cmp(&b.key));
        if self.backward {
            ordering.reverse()
        } else {
            ordering
        }
    }
}
