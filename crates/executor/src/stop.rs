//! `StopReason`: why a page ended. Streams, budgets, the merge observer and
//! errors all speak of it, so it sits below them all, depending on nothing.

use std::fmt;

/// Why a page ended. Never make a caller guess from a short page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// The traversal has no more rows: the page carries no `next` cursor.
    Exhausted,
    /// The page holds `limit` rows and more rows follow.
    Limit,
    /// `max_examined` keys were examined.
    ScanBudget,
    /// `max_bytes` bytes of rows were fetched.
    ByteBudget,
    /// The deadline passed.
    Deadline,
    /// The caller cancelled the query.
    Cancelled,
}

impl StopReason {
    /// The name used in JSON output and messages.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Exhausted => "Exhausted",
            StopReason::Limit => "Limit",
            StopReason::ScanBudget => "ScanBudget",
            StopReason::ByteBudget => "ByteBudget",
            StopReason::Deadline => "Deadline",
            StopReason::Cancelled => "Cancelled",
        }
    }

    /// Whether a budget, the deadline or cancellation ended the page (so it
    /// may be short or empty and still carry a cursor).
    pub fn is_budget(self) -> bool {
        !matches!(self, StopReason::Exhausted | StopReason::Limit)
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            StopReason::Exhausted => "the traversal ended",
            StopReason::Limit => "the page was full",
            StopReason::ScanBudget => "the scan budget ran out",
            StopReason::ByteBudget => "the byte budget ran out",
            StopReason::Deadline => "the deadline passed",
            StopReason::Cancelled => "the query was cancelled",
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
