//! `SortedBuffer`: puts a composite child that is not in primary-key order
//! (an index range over a range of values) into primary-key order by
//! collecting its keys and sorting them. It holds keys and row `Arc`s only,
//! never row copies, counted against `max_sort_buffer_keys` with a clear
//! error past it (one `SortQuota` per child, shared by the child's buffers
//! in every shard). Keys before the first seek target are never buffered.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

use bytes::Bytes;
use keyset_store::{Direction, RawIndexKey};

use super::budget::Meter;
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
        }
    }

    fn collect(&mut self) -> Result<(), ExecError> {
        self.collected = true;
        let mut sources = std::mem::take(&mut self.sources);
        for source in &mut sources {
            while let Some(step) = source.next_key()? {
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
}
