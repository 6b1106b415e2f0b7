//! `SortedBuffer`: puts a composite child that is not in primary-key order
//! (an index range over a range of values) into primary-key order by
//! collecting its keys and sorting them. It holds keys and row `Arc`s only,
//! never row copies, counted against `max_sort_buffer_keys` with a clear
//! error past it (one `SortQuota` per child, shared by the child's buffers
//! in every shard). Keys before the first seek target are never buffered.
//!
//! Collecting reads the child's whole range before the first key can be
//! yielded (any key not yet read may hold the smallest primary key), so it
//! cannot stop with a partial page: with an interrupt set
//! ([`SortedBuffer::with_interrupt`]) cancellation or the deadline during
//! it fail the page with `ExecError::Interrupted`, as the drain of an eager
//! merge does, instead of reading on to the end of the range.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

use bytes::Bytes;
use keyset_store::{Direction, RawIndexKey};

use super::budget::{Meter, PageBudget};
use super::{reaches, BoxStream, KeyItem, OrderedKeyStream, Step};
use crate::error::ExecError;

/// The keys one composite child may buffer in one page, over all the
/// shards it is read in.
#[derive(Debug)]
pub struct SortQuota {
    limit: usize,
    used: AtomicUsize,
}

impl SortQuota {
    pub fn new(limit: usize) -> Arc<SortQuota> {
        Arc::new(SortQuota {
            limit,
            used: AtomicUsize::new(0),
        })
    }

    /// Takes room for one key; false when the quota is used up.
    fn take(&self) -> bool {
        self.used.fetch_add(1, AtomicOrdering::Relaxed) < self.limit
    }
}

/// A child collected and sorted by primary key.
pub struct SortedBuffer {
    /// Streams of whole `RawIndexKey`s (one per shard), read in any order.
    sources: Vec<BoxStream>,
    index: String,
    direction: Direction,
    quota: Arc<SortQuota>,
    meter: Arc<Meter>,
    /// The encoded primary keys, sorted into `direction`.
    items: Vec<KeyItem>,
    next: usize,
    /// The furthest seek made before collecting: (target, inclusive).
    floor: Option<(Bytes, bool)>,
    collected: bool,
    /// Cancellation and the deadline, checked for every key collected.
    interrupt: Option<PageBudget>,
}

impl std::fmt::Debug for SortedBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SortedBuffer")
            .field("index", &self.index)
            .field("buffered", &self.items.len())
            .field("collected", &self.collected)
            .finish()
    }
}

impl SortedBuffer {
    /// Sorts the entries of `sources` (index `index`) by primary key, in
    /// `direction`, holding no more keys than `quota` has room for.
    pub fn new(
        sources: Vec<BoxStream>,
        index: &str,
        direction: Direction,
        quota: Arc<SortQuota>,
        meter: Arc<Meter>,
    ) -> SortedBuffer {
        SortedBuffer {
            sources,
            index: index.to_owned(),
            direction,
            quota,
            meter,
            items: Vec::new(),
            next: 0,
            floor: None,
            collected: false,
            interrupt: None,
        }
    }

    /// Checks `interrupt` (cancellation and deadline; its scan and byte
    /// budgets are the page's to check) for every key collected.
    pub fn with_interrupt(mut self, interrupt: PageBudget) -> SortedBuffer {
        self.interrupt = Some(interrupt);
        self
    }

    fn collect(&mut self) -> Result<(), ExecError> {
        self.collected = true;
        let mut sources = std::mem::take(&mut self.sources);
        for source in &mut sources {
            while let Some(step) = source.next_key()? {
                if let Some(reason) = self.interrupt.as_mut().and_then(PageBudget::interrupted) {
                    return Err(ExecError::Interrupted {
                        reason,
                        phase: "collecting a sort-buffered child of a union or intersection",
                    });
                }
                let Step::Key(item) = step else {
                    continue;
                };
                let offset = RawIndexKey::primary_key_offset(&item.key).map_err(|e| {
                    ExecError::internal(format!("an index key in the map does not decode: {e}"))
                })?;
                let key = item.key.slice(offset..);
                if let Some((target, inclusive)) = &self.floor {
                    if !reaches(self.direction, &key, target, *inclusive) {
                        continue;
                    }
                }
                if !self.quota.take() {
                    return Err(ExecError::SortBufferExceeded {
                        index: self.index.clone(),
                        limit: self.quota.limit,
                    });
                }
                self.items.push(KeyItem { key, row: item.row });
            }
        }
        let direction = self.direction;
        self.items
            .sort_unstable_by(|a, b| direction.order(&a.key, &b.key));
        // An entry seen twice (moved by a concurrent update) is one row.
        self.items.dedup_by(|a, b| a.key == b.key);
        self.meter.note_buffered(self.items.len());
        Ok(())
    }
}

impl OrderedKeyStream for SortedBuffer {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        if !self.collected {
            self.collect()?;
        }
        let Some(item) = self.items.get(self.next).cloned() else {
            return Ok(None);
        };
        self.next += 1;
        Ok(Some(Step::Key(item)))
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        if !self.collected {
            let further = match &self.floor {
                None => true,
                Some((floor, floor_inclusive)) => {
                    match self.direction.order(&floor[..], &target[..]) {
                        Ordering::Less => true,
                        Ordering::Greater => false,
                        Ordering::Equal => *floor_inclusive && !inclusive,
                    }
                }
            };
            if further {
                self.floor = Some((target.clone(), inclusive));
            }
            return Ok(());
        }
        let rest = self.items.get(self.next..).unwrap_or_default();
        self.next +=
            rest.partition_point(|item| !reaches(self.direction, &item.key, target, inclusive));
        Ok(())
    }

    fn buffered(&self) -> usize {
        self.items.len().saturating_sub(self.next)
            + self.sources.iter().map(|s| s.buffered()).sum::<usize>()
    }

    fn prefetch(&mut self) {
        if !self.collected {
            for source in &mut self.sources {
                source.prefetch();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use keyset_plan::Budget;
    use keyset_store::{Row, Value};

    use super::*;
    use crate::context::CancelToken;
    use crate::page::StopReason;

    /// Index keys of one index over value `v` for primary keys `pks`, in
    /// index order (by value, then key), as an index range leaf yields them.
    struct IndexKeys {
        items: std::vec::IntoIter<KeyItem>,
    }

    impl OrderedKeyStream for IndexKeys {
        fn direction(&self) -> Direction {
            Direction::Asc
        }
        fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
            Ok(self.items.next().map(Step::Key))
        }
        fn seek(&mut self, _target: &Bytes, _inclusive: bool) -> Result<(), ExecError> {
            Ok(())
        }
    }

    fn buffer(entries: &[(i64, i64)]) -> SortedBuffer {
        let items: Vec<KeyItem> = entries
            .iter()
            .map(|&(v, pk)| KeyItem {
                key: RawIndexKey::encode(1, 1, &[Value::Int(v)], &[Value::Int(pk)]).into_bytes(),
                row: Arc::new(Row::new(vec![Value::Int(pk), Value::Int(v)])),
            })
            .collect();
        SortedBuffer::new(
            vec![Box::new(IndexKeys {
                items: items.into_iter(),
            })],
            "by_v",
            Direction::Asc,
            SortQuota::new(1_000),
            Arc::new(Meter::new(None)),
        )
    }

    fn keys(mut stream: SortedBuffer) -> Vec<Bytes> {
        let mut out = Vec::new();
        while let Some(step) = stream.next_key().expect("no error") {
            out.push(step.position().clone());
        }
        out
    }

    #[test]
    fn collected_keys_come_out_in_primary_key_order() {
        let got = keys(buffer(&[(1, 5), (1, 9), (2, 1), (3, 7)]));
        let pks: Vec<Bytes> = [1, 5, 7, 9]
            .iter()
            .map(|&pk| {
                let key = RawIndexKey::encode(1, 1, &[Value::Int(0)], &[Value::Int(pk)]);
                let offset = RawIndexKey::primary_key_offset(key.as_bytes()).expect("decodes");
                key.into_bytes().slice(offset..)
            })
            .collect();
        assert_eq!(got, pks);
    }

    #[test]
    fn cancellation_or_the_deadline_stops_the_collection() {
        let entries: Vec<(i64, i64)> = (0..100).map(|i| (i % 7, i)).collect();
        let cancel = CancelToken::new();
        cancel.cancel();
        let past = Budget {
            deadline: Some(Instant::now()),
            ..Budget::default()
        };
        let cases = [
            (
                PageBudget::new(Budget::default(), Some(cancel)),
                StopReason::Cancelled,
            ),
            (PageBudget::new(past, None), StopReason::Deadline),
        ];
        for (interrupt, expected) in cases {
            let mut stream = buffer(&entries).with_interrupt(interrupt);
            match stream.next_key() {
                Err(ExecError::Interrupted { reason, .. }) => assert_eq!(reason, expected),
                other => panic!("expected an interruption, got {other:?}"),
            }
        }
        // Without an interrupt due, the collection runs to the end.
        let calm = PageBudget::new(Budget::default(), Some(CancelToken::new()));
        assert_eq!(keys(buffer(&entries).with_interrupt(calm)).len(), 100);
    }
}
