//! `BestRows`: the bounded buffer of a top-k pass. It keeps the best
//! `keep` rows offered (all of them without a limit) in a binary heap with
//! the worst kept row on top, so a pass over n rows costs O(n log keep),
//! drops a row met twice, and remembers whether it left any row out, so a
//! page knows whether rows follow the ones it kept. It never reads the
//! store.

use std::cmp::Ordering;
use std::collections::HashSet;

use bytes::Bytes;

use super::order::{Entry, Ordered, SortOrder};

/// The best rows of a pass so far: a max-heap in the page's traversal
/// order (the worst kept row at index 0) when `keep` is set, else every
/// row in arrival order.
pub(super) struct BestRows {
    rows: Vec<Entry>,
    keep: Option<usize>,
    /// Rows ordering after it are left out: the cursor carried the best
    /// rows of the part scanned before, up to this one, and said more rows
    /// of that part follow it, so rows after it are not known in full.
    ceiling: Option<Entry>,
    /// The data keys of the rows in the heap, so that a row met twice (a
    /// carried row an update moved between pages, met again by the pass)
    /// is kept once. Computed only for rows that enter the heap.
    keys: HashSet<Bytes>,
    /// Whether a row was left out (past `keep` or the ceiling, or known to
    /// follow the carried rows): rows follow the kept ones.
    dropped: bool,
    peak: usize,
}

/// What a finished buffer holds.
pub(super) struct Kept {
    /// The best rows, in order: exactly the first rows of everything the
    /// pass met (and the cursor carried).
    pub rows: Vec<Entry>,
    /// Whether other rows follow them.
    pub dropped: bool,
    /// The most rows held at once.
    pub peak: usize,
}

impl BestRows {
    /// A buffer of the best `keep` rows (`None`: every row).
    pub fn new(keep: Option<usize>) -> BestRows {
        BestRows {
            rows: Vec::with_capacity(keep.unwrap_or(0).min(1024)),
            keep,
            ceiling: None,
            keys: HashSet::new(),
            dropped: false,
            peak: 0,
        }
    }

    /// Starts from the rows a cursor carried (in order); `more`: the part
    /// they come from holds rows after the last of them.
    pub fn carry(&mut self, carried: Vec<Entry>, more: bool, order: &SortOrder<'_>) {
        if more {
            self.ceiling = carried.last().cloned();
            self.dropped = true;
        }
        for entry in carried {
            self.offer(entry, order);
        }
    }

    pub fn offer(&mut self, entry: Entry, order: &SortOrder<'_>) {
        if let Some(ceiling) = &self.ceiling {
            if order.compare(&entry, ceiling).is_gt() {
                self.dropped = true;
                return;
            }
        }
        let Some(keep) = self.keep else {
            self.rows.push(entry);
            self.peak = self.rows.len();
            return;
        };
        if keep == 0 {
            self.dropped = true;
            return;
        }
        if self.rows.len() >= keep {
            match order.compare(&entry, &self.rows[0]) {
                Ordering::Greater => {
                    self.dropped = true;
                    return;
                }
                // The worst kept row itself, met again.
                Ordering::Equal => return,
                Ordering::Less => {}
            }
        }
        // The same row met twice (moved by a concurrent update).
        if !self.keys.insert(entry.data_key(order.table)) {
            return;
        }
        if self.rows.len() < keep {
            self.rows.push(entry);
            self.sift_up(self.rows.len() - 1, order);
            self.peak = self.peak.max(self.rows.len());
            return;
        }
        let worst = std::mem::replace(&mut self.rows[0], entry);
        self.keys.remove(&worst.data_key(order.table));
        self.sift_down(0, order);
        self.dropped = true;
    }

    /// Moves the row at `at` up while it orders after its parent.
    fn sift_up(&mut self, mut at: usize, order: &SortOrder<'_>) {
        while at > 0 {
            let parent = (at - 1) / 2;
            if order.compare(&self.rows[at], &self.rows[parent]).is_gt() {
                self.rows.swap(at, parent);
                at = parent;
            } else {
                return;
            }
        }
    }

    /// Moves the row at `at` down while a child orders after it.
    fn sift_down(&mut self, mut at: usize, order: &SortOrder<'_>) {
        let len = self.rows.len();
        loop {
            let (left, right) = (2 * at + 1, 2 * at + 2);
            let mut worst = at;
            if left < len && order.compare(&self.rows[left], &self.rows[worst]).is_gt() {
                worst = left;
            }
            if right < len && order.compare(&self.rows[right], &self.rows[worst]).is_gt() {
                worst = right;
            }
            if worst == at {
                return;
            }
            self.rows.swap(at, worst);
            at = worst;
        }
    }

    pub fn finish(mut self, order: &SortOrder<'_>) -> Kept {
        self.rows.sort_by(|a, b| order.compare(a, b));
        self.rows.dedup_by(|a, b| order.compare(a, b).is_eq());
        Kept {
            rows: self.rows,
            dropped: self.dropped,
            peak: self.peak,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use keyset_plan::{OrderColumn, SortDirection};
    use keyset_store::{ColumnDef, ColumnType, Row, TableDef, TableStore, TableView, Value};

    use super::*;
    use crate::page::topk::order::Ordered;

    /// `t(id INT PRIMARY KEY, v INT)` ordered by `v DESC, id`.
    fn table() -> TableView {
        let store = TableStore::new(Arc::new(TableDef {
            id: 3,
            name: "t".into(),
            columns: vec![
                ColumnDef::new("id", ColumnType::Int),
                ColumnDef::new("v", ColumnType::Int),
            ],
            primary_key: vec![0],
            indexes: Vec::new(),
            shards: 1,
            partition_column: 0,
            generation: 1,
        }));
        TableView::new(Arc::new(store), 0)
    }

    const TERMS: [OrderColumn; 2] = [
        OrderColumn {
            column: 1,
            direction: SortDirection::Desc,
        },
        OrderColumn {
            column: 0,
            direction: SortDirection::Asc,
        },
    ];

    fn read(id: i64, v: i64) -> Entry {
        Entry::Read(Arc::new(Row::new(vec![Value::Int(id), Value::Int(v)])))
    }

    fn ids(kept: &Kept) -> Vec<i64> {
        kept.rows
            .iter()
            .map(|e| match e.value(1, 0) {
                Value::Int(id) => *id,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn keeps_the_best_rows_and_says_whether_it_left_any_out() {
        let table = table();
        let order = SortOrder {
            terms: &TERMS,
            table: &table,
            reversed: false,
        };
        let mut best = BestRows::new(Some(3));
        for (id, v) in [(1, 5), (2, 9), (3, 5), (4, 7), (2, 9)] {
            best.offer(read(id, v), &order);
        }
        let kept = best.finish(&order);
        assert_eq!(ids(&kept), vec![2, 4, 1]);
        assert!(kept.dropped, "row 3 was left out");

        let mut exact = BestRows::new(Some(3));
        for (id, v) in [(1, 5), (2, 9), (2, 9)] {
            exact.offer(read(id, v), &order);
        }
        assert!(
            !exact.finish(&order).dropped,
            "a row met twice is not left out"
        );

        let mut all = BestRows::new(None);
        for (id, v) in [(1, 5), (2, 9), (3, 5), (2, 9)] {
            all.offer(read(id, v), &order);
        }
        let kept = all.finish(&order);
        assert_eq!(ids(&kept), vec![2, 1, 3]);
        assert!(!kept.dropped);
    }

    #[test]
    fn carried_rows_with_more_after_them_bound_what_is_kept() {
        let table = table();
        let order = SortOrder {
            terms: &TERMS,
            table: &table,
            reversed: false,
        };
        let carried = |id: i64, v: i64| Entry::Carried(order.carried_entry(&read(id, v)));
        let mut best = BestRows::new(Some(10));
        // The part scanned before holds (9, 2) and (7, 4), then more rows.
        best.carry(vec![carried(2, 9), carried(4, 7)], true, &order);
        // (8, 5) fits before the last carried row; (1, 6) lies past it,
        // where rows of the part scanned before are not known.
        best.offer(read(5, 8), &order);
        best.offer(read(6, 1), &order);
        best.offer(read(2, 9), &order);
        let kept = best.finish(&order);
        assert_eq!(ids(&kept), vec![2, 5, 4]);
        assert!(kept.dropped);
        // Reversed (a backward page), the same rows order the other way.
        let back = SortOrder {
            reversed: true,
            ..order
        };
        let mut best = BestRows::new(Some(2));
        for (id, v) in [(1, 5), (2, 9), (3, 1)] {
            best.offer(read(id, v), &back);
        }
        assert_eq!(ids(&best.finish(&back)), vec![3, 1]);
    }
}
