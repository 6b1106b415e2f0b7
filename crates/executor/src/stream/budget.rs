//! Budget accounting: the `Meter` every leaf of one page reports the keys it
//! reads to (and asks how many it may read ahead), and the `PageBudget`
//! check the page materializer runs between steps. This module decides
//! *whether* a page must stop; where it resumes is the materializer's job.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use keyset_plan::Budget;

use crate::context::CancelToken;
use crate::stop::StopReason;

/// Steps between two readings of the clock when a deadline is set.
const DEADLINE_CHECK_EVERY: u32 = 32;

/// Work counters shared by every stream of one page (`Arc<Meter>`).
#[derive(Debug, Default)]
pub struct Meter {
    examined: AtomicU64,
    max_examined: Option<u64>,
    peak_buffered: AtomicUsize,
}

impl Meter {
    /// A meter for a page that may examine at most `max_examined` keys.
    pub fn new(max_examined: Option<u64>) -> Meter {
        Meter {
            examined: AtomicU64::new(0),
            max_examined,
            peak_buffered: AtomicUsize::new(0),
        }
    }

    /// How many keys a leaf may read in its next chunk when it wants
    /// `want`: never more than the scan budget has left, and at least one,
    /// so that a page always makes progress.
    pub fn grant(&self, want: usize) -> usize {
        match self.max_examined {
            None => want,
            Some(max) => {
                let left = max.saturating_sub(self.examined());
                let left = usize::try_from(left).unwrap_or(usize::MAX);
                want.min(left).max(1)
            }
        }
    }

    /// Records `keys` read from a map.
    pub fn count(&self, keys: usize) {
        self.examined.fetch_add(keys as u64, Ordering::Relaxed);
    }

    /// Keys read so far.
    pub fn examined(&self) -> u64 {
        self.examined.load(Ordering::Relaxed)
    }

    /// Records that `keys` keys (or rows) are held in a buffer at once.
    pub fn note_buffered(&self, keys: usize) {
        self.peak_buffered.fetch_max(keys, Ordering::Relaxed);
    }

    /// The most keys held in a buffer at once.
    pub fn peak_buffered(&self) -> usize {
        self.peak_buffered.load(Ordering::Relaxed)
    }
}

/// The limits one page runs under: the plan's budget and the caller's
/// cancellation token.
#[derive(Debug)]
pub struct PageBudget {
    budget: Budget,
    cancel: Option<CancelToken>,
    checks: u32,
}

impl PageBudget {
    pub fn new(budget: Budget, cancel: Option<CancelToken>) -> PageBudget {
        PageBudget {
            budget,
            cancel,
            checks: 0,
        }
    }

    /// Why the page must stop now, if it must: cancellation, the deadline,
    /// then the scan and byte budgets.
    ///
    /// The scan budget stops a page once its leaves read more keys than
    /// `max_examined`, or exactly that many and the stream holds none of
    /// them unconsumed (`buffered`, asked only then): keys already read
    /// within the budget are used rather than read again by the next page.
    /// Leaves never read past the budget except one key at a time (see
    /// `Meter::grant`), so a page examines at most `max_examined` keys plus
    /// one per leaf the last step refilled.
    pub fn exceeded(
        &mut self,
        meter: &Meter,
        bytes_fetched: u64,
        buffered: impl FnOnce() -> usize,
    ) -> Option<StopReason> {
        if let Some(reason) = self.interrupted() {
            return Some(reason);
        }
        if let Some(max) = self.budget.max_examined {
            let examined = meter.examined();
            if examined > max || (examined == max && buffered() == 0) {
                return Some(StopReason::ScanBudget);
            }
        }
        if self
            .budget
            .max_bytes
            .is_some_and(|max| bytes_fetched >= max)
        {
            return Some(StopReason::ByteBudget);
        }
        None
    }

    /// Whether the page must count the encoded bytes of the rows it
    /// fetches (only a byte budget needs them).
    pub fn counts_bytes(&self) -> bool {
        self.budget.max_bytes.is_some()
    }

    /// Whether the caller cancelled or the deadline passed (the clock is
    /// read every few calls only).
    pub fn interrupted(&mut self) -> Option<StopReason> {
        if self.cancel.as_ref().is_some_and(CancelToken::is_cancelled) {
            return Some(StopReason::Cancelled);
        }
        if let Some(deadline) = self.budget.deadline {
            let check = self.checks.is_multiple_of(DEADLINE_CHECK_EVERY);
            self.checks = self.checks.wrapping_add(1);
            if check && Instant::now() >= deadline {
                return Some(StopReason::Deadline);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_never_exceeds_what_is_left_but_always_allows_one_key() {
        let meter = Meter::new(Some(10));
        assert_eq!(meter.grant(4), 4);
        meter.count(8);
        assert_eq!(meter.grant(4), 2);
        meter.count(5);
        assert_eq!(meter.grant(4), 1);
        assert_eq!(Meter::new(None).grant(300), 300);
    }

    #[test]
    fn budget_reports_cancel_before_scan_budget() {
        let cancel = CancelToken::new();
        let budget = Budget {
            max_examined: Some(1),
            ..Budget::default()
        };
        let mut page = PageBudget::new(budget, Some(cancel.clone()));
        let meter = Meter::new(Some(1));
        assert_eq!(page.exceeded(&meter, 0, || 0), None);
        meter.count(1);
        assert_eq!(page.exceeded(&meter, 0, || 0), Some(StopReason::ScanBudget));
        cancel.cancel();
        assert_eq!(page.exceeded(&meter, 0, || 0), Some(StopReason::Cancelled));
    }

    #[test]
    fn keys_read_within_the_scan_budget_are_used_before_it_stops_a_page() {
        let budget = Budget {
            max_examined: Some(5),
            ..Budget::default()
        };
        let mut page = PageBudget::new(budget, None);
        let meter = Meter::new(Some(5));
        meter.count(5);
        assert_eq!(
            page.exceeded(&meter, 0, || 3),
            None,
            "3 keys read are unused"
        );
        assert_eq!(page.exceeded(&meter, 0, || 0), Some(StopReason::ScanBudget));
        meter.count(1);
        assert_eq!(
            page.exceeded(&meter, 0, || 3),
            Some(StopReason::ScanBudget),
            "past the budget"
        );
    }

    #[test]
    fn a_past_deadline_stops_at_the_first_check() {
        let budget = Budget {
            deadline: Some(Instant::now()),
            ..Budget::default()
        };
        let mut page = PageBudget::new(budget, None);
        assert_eq!(page.interrupted(), Some(StopReason::Deadline));
    }
}
