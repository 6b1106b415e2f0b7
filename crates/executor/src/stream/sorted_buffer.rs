//! `SortedBuffer`: puts a composite child that is not in primary-key order
//! (an index range over a range of values) into primary-key order by
//! collecting its keys and sorting them. It holds keys and row `Arc`s only,
//! never row copies, counted against `max_sort_buffer_keys` with a clear
//! error past it (one `SortQuota` per child, shared by the child's buffers
//! in every shard). Keys before the first seek target are never buffered.
//!
//! Collecting reads the child's whole range before the first key can be
//! yielded (any key not yet read may hold the smallest primary key), so a
//! budget that stops it cannot leave a partial page behind. With [`Cuts`]
//! (every page's buffers: streaming, frontier and top-k pages set them),
//! cancellation, the deadline and the scan budget are checked for every
//! key read, after at least one. A cut records where the collection got to
//! ([`BufferProgress`]: the last index key read and the first primary keys
//! collected after the anchor) in the page's [`CollectionLog`], as every
//! finished collection does, and fails the step with [`COLLECTING`]. A
//! page a budget stopped hands the log on in its cursor
//! ([`CollectionLog::carry_at`]); the next page's buffers start from it
//! instead of from the start of their ranges, so a traversal whose every
//! page is cut still gets through. A buffer built without cuts reads its
//! whole range.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use keyset_store::{Direction, MapView, RawIndexKey};

use super::budget::{Meter, PageBudget};
use super::{reaches, BoxStream, KeyItem, OrderedKeyStream, Step};
use crate::error::ExecError;
use crate::stop::StopReason;

/// The phase an `ExecError::Interrupted` names when a budget cut a
/// collection that has [`Cuts`].
pub const COLLECTING: &str = "collecting a sort-buffered child of a union or intersection";

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

    /// Gives back the room of `keys` keys a buffer dropped.
    fn release(&self, keys: usize) {
        self.used.fetch_sub(keys, AtomicOrdering::Relaxed);
    }
}

/// How far one sort buffer's collection got, in the form a cursor carries
/// from one page to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufferProgress {
    /// The last index key read (a whole `RawIndexKey`): the collection
    /// goes on strictly after it. `None`: the whole range was read.
    pub scan: Option<Bytes>,
    /// The first primary keys collected strictly after the page's anchor,
    /// in the traversal's order (encoded primary keys, no table id).
    pub keys: Vec<Bytes>,
    /// Whether keys collected after the last of `keys` were left out: the
    /// carried keys are then complete only up to their last.
    pub more: bool,
}

/// The progress of every sort buffer of one page, kept for the page's
/// cursor when a budget stops it: the next page starts each buffer from
/// it instead of collecting its range again.
#[derive(Debug)]
pub struct CollectionLog {
    /// The most keys one buffer's progress keeps.
    carry: usize,
    state: Mutex<LogState>,
}

#[derive(Debug, Default)]
struct LogState {
    /// By buffer ordinal: the anchor the collection kept keys after, and
    /// its progress (the latest collection's, if a buffer collected twice).
    progress: BTreeMap<u64, (Option<Bytes>, BufferProgress)>,
    cut: Option<StopReason>,
}

impl CollectionLog {
    /// A log whose entries keep at most `carry` keys each (at least one).
    pub fn new(carry: usize) -> Arc<CollectionLog> {
        Arc::new(CollectionLog {
            carry: carry.max(1),
            state: Mutex::new(LogState::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, ordinal: u64, from: Option<Bytes>, progress: BufferProgress) {
        self.lock().progress.insert(ordinal, (from, progress));
    }

    /// Why a collection of the page was cut, when `error` is that cut
    /// reaching the page (`None` for every other error).
    pub fn cut_by(&self, error: &ExecError) -> Option<StopReason> {
        match error {
            ExecError::Interrupted { reason, phase } if *phase == COLLECTING => {
                self.lock().cut.map(|_| *reason)
            }
            _ => None,
        }
    }

    /// The progress of every buffer as a page that consumed up to `at`
    /// hands it on: `at(ordinal)` is the position the buffer's shard
    /// resumes after (`Some(None)`: from its start; `None`: the shard is
    /// done). A buffer's carried keys are those strictly after it.
    ///
    /// A buffer is left out (it collects again on the next page) when its
    /// progress says nothing valid there: a collection cut short is valid
    /// only where it started (nothing of it was yielded); a finished one
    /// anywhere at or after where it started, unless every key it carries
    /// lies at or before `at` while it left keys out. The second list
    /// holds the buffers left out.
    pub fn carry_at(
        &self,
        direction: Direction,
        at: impl Fn(u64) -> Option<Option<Bytes>>,
    ) -> (Vec<(u64, BufferProgress)>, Vec<u64>) {
        let state = self.lock();
        let mut carried = Vec::new();
        let mut left_out = Vec::new();
        for (&ordinal, (from, progress)) in &state.progress {
            let Some(at) = at(ordinal) else {
                continue;
            };
            match carry_from(direction, from.as_ref(), progress, at.as_ref()) {
                Some(progress) => carried.push((ordinal, progress)),
                None => left_out.push(ordinal),
            }
        }
        (carried, left_out)
    }
}

/// What a buffer whose collection budgets may cut needs (see the module
/// documentation).
pub struct Cuts {
    /// This buffer's number among the page's buffers: the table shard
    /// number in the high 32 bits, the buffer's number in the shard's tree
    /// in the low.
    pub ordinal: u64,
    pub log: Arc<CollectionLog>,
    /// Cancellation, the deadline and the scan budget (not the byte
    /// budget: collecting fetches no rows for the page).
    pub budget: PageBudget,
    /// The page's anchor (a primary-key position): the collection keeps
    /// every key strictly after it and applies seeks made before it ends
    /// to the sorted keys, so that its progress is relative to the anchor
    /// alone.
    pub anchor: Option<Bytes>,
    /// The shard's data map, where carried keys find their rows.
    pub data: MapView,
    /// The table id in front of a primary key in the data map.
    pub table_prefix: Bytes,
    /// Makes the leaf again, for a second collection past the carried keys.
    pub reopen: Box<dyn Fn() -> Result<BoxStream, ExecError> + Send>,
    /// Where an earlier page's collection got to.
    pub resume: Option<BufferProgress>,
}

impl std::fmt::Debug for Cuts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cuts")
            .field("ordinal", &self.ordinal)
            .field("anchor", &self.anchor)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
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
    cuts: Option<Cuts>,
    /// The items are complete only up to this key (carried keys cut
    /// short): past it, the range is collected again.
    valid_until: Option<Bytes>,
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
            cuts: None,
            valid_until: None,
        }
    }

    /// Lets budgets cut the collection, recording progress in `cuts.log`
    /// (one source only: progress is one scan position).
    pub fn with_cuts(mut self, cuts: Cuts) -> Result<SortedBuffer, ExecError> {
        if self.sources.len() != 1 {
            return Err(ExecError::internal(format!(
                "a sort buffer over {} sources cannot record one scan position",
                self.sources.len()
            )));
        }
        // Until it reads, its progress is where the earlier page left it
        // (a page may end before every buffer of an unordered merge ran).
        if let Some(resume) = &cuts.resume {
            cuts.log
                .record(cuts.ordinal, cuts.anchor.clone(), resume.clone());
        }
        self.cuts = Some(cuts);
        Ok(self)
    }

    fn collect(&mut self) -> Result<(), ExecError> {
        self.collected = true;
        let mut sources = std::mem::take(&mut self.sources);
        // Keys past `bound` are not kept: the carried keys they would join
        // were cut short before them.
        let mut bound = None;
        if let Some(progress) = self.cuts.as_mut().and_then(|c| c.resume.take()) {
            self.load_carried(&progress)?;
            if progress.more {
                bound = progress.keys.last().cloned();
            }
            match &progress.scan {
                None => sources.clear(),
                Some(scan) => {
                    for source in &mut sources {
                        source.seek(scan, false)?;
                    }
                }
            }
        }
        // With cuts, keys are kept from the anchor on and seeks wait for
        // the sort; without, the furthest seek so far is the floor.
        let floor = match &self.cuts {
            Some(cuts) => cuts.anchor.clone().map(|anchor| (anchor, false)),
            None => self.floor.clone(),
        };
        for source in &mut sources {
            while let Some(step) = source.next_key()? {
                let Step::Key(item) = step else {
                    continue;
                };
                let offset = RawIndexKey::primary_key_offset(&item.key).map_err(|e| {
                    ExecError::internal(format!("an index key in the map does not decode: {e}"))
                })?;
                let key = item.key.slice(offset..);
                let wanted = floor.as_ref().is_none_or(|(target, inclusive)| {
                    reaches(self.direction, &key, target, *inclusive)
                }) && bound
                    .as_ref()
                    .is_none_or(|until| !reaches(self.direction, &key, until, false));
                if wanted {
                    if !self.quota.take() {
                        return Err(ExecError::SortBufferExceeded {
                            index: self.index.clone(),
                            limit: self.quota.limit,
                        });
                    }
                    self.items.push(KeyItem { key, row: item.row });
                }
                if let Some(reason) = self.stop_reason(source.as_ref()) {
                    return Err(self.cut(reason, item.key, bound.is_some()));
                }
            }
        }
        self.sort();
        self.meter.note_buffered(self.items.len());
        self.valid_until = bound;
        let more = self.valid_until.is_some();
        if let Some(cuts) = &mut self.cuts {
            cuts.log.record(
                cuts.ordinal,
                cuts.anchor.clone(),
                progress(&self.items, None, more, cuts.log.carry),
            );
        }
        if self.cuts.is_some() {
            // Seeks made before the sort apply to the sorted keys now.
            if let Some((target, inclusive)) = self.floor.take() {
                self.skip_to(&target, inclusive);
            }
        }
        Ok(())
    }

    /// The carried keys of an earlier page, with their rows as this page's
    /// view holds them (a key whose row is gone is dropped).
    fn load_carried(&mut self, progress: &BufferProgress) -> Result<(), ExecError> {
        let Some(cuts) = &self.cuts else {
            return Ok(());
        };
        for key in &progress.keys {
            let mut data_key = Vec::with_capacity(cuts.table_prefix.len() + key.len());
            data_key.extend_from_slice(&cuts.table_prefix);
            data_key.extend_from_slice(key);
            let Some(row) = cuts.data.get(&data_key) else {
                continue;
            };
            if !self.quota.take() {
                return Err(ExecError::SortBufferExceeded {
                    index: self.index.clone(),
                    limit: self.quota.limit,
                });
            }
            self.items.push(KeyItem {
                key: key.clone(),
                row,
            });
        }
        Ok(())
    }

    /// Why the collection must stop after a key from `source`, if it must.
    fn stop_reason(&mut self, source: &dyn OrderedKeyStream) -> Option<StopReason> {
        let cuts = self.cuts.as_mut()?;
        cuts.budget.exceeded(&self.meter, 0, || source.buffered())
    }

    /// Records a cut after the index key `scan` and the error that stops
    /// the step.
    fn cut(&mut self, reason: StopReason, scan: Bytes, cut_short: bool) -> ExecError {
        self.sort();
        if let Some(cuts) = &self.cuts {
            let mut state = cuts.log.lock();
            state.progress.insert(
                cuts.ordinal,
                (
                    cuts.anchor.clone(),
                    progress(&self.items, Some(scan), cut_short, cuts.log.carry),
                ),
            );
            state.cut.get_or_insert(reason);
        }
        ExecError::Interrupted {
            reason,
            phase: COLLECTING,
        }
    }

    fn sort(&mut self) {
        let direction = self.direction;
        self.items
            .sort_unstable_by(|a, b| direction.order(&a.key, &b.key));
        // An entry seen twice (moved by a concurrent update, or carried
        // and read again) is one row.
        self.items.dedup_by(|a, b| a.key == b.key);
    }

    /// Skips the sorted keys before `target` (inclusive) or up to it.
    fn skip_to(&mut self, target: &Bytes, inclusive: bool) {
        let rest = self.items.get(self.next..).unwrap_or_default();
        self.next +=
            rest.partition_point(|item| !reaches(self.direction, &item.key, target, inclusive));
    }

    /// Collects the range again past `until`, the last key the carried
    /// keys were complete to (every key up to it has been yielded).
    fn collect_past(&mut self, until: Bytes) -> Result<(), ExecError> {
        let Some(cuts) = &mut self.cuts else {
            return Err(ExecError::internal(
                "a sort buffer without cuts carried keys cut short",
            ));
        };
        self.sources = vec![(cuts.reopen)()?];
        cuts.anchor = Some(until);
        self.quota.release(self.items.len());
        self.items.clear();
        self.next = 0;
        self.collect()
    }
}

/// A buffer's progress, recorded after `from`, as a page that consumed up
/// to `at` hands it on (see [`CollectionLog::carry_at`]).
fn carry_from(
    direction: Direction,
    from: Option<&Bytes>,
    progress: &BufferProgress,
    at: Option<&Bytes>,
) -> Option<BufferProgress> {
    if from == at {
        return Some(progress.clone());
    }
    // Moved on: only a finished collection, and only forward of its start.
    let at = at?;
    let forward = from.is_none_or(|from| reaches(direction, at, from, false));
    if progress.scan.is_some() || !forward {
        return None;
    }
    let keys: Vec<Bytes> = progress
        .keys
        .iter()
        .filter(|key| reaches(direction, key, at, false))
        .cloned()
        .collect();
    if keys.is_empty() && progress.more {
        return None;
    }
    Some(BufferProgress {
        scan: None,
        keys,
        more: progress.more,
    })
}

/// A buffer's progress from its sorted `items`: the first `carry` of them.
fn progress(
    items: &[KeyItem],
    scan: Option<Bytes>,
    cut_short: bool,
    carry: usize,
) -> BufferProgress {
    BufferProgress {
        scan,
        keys: items.iter().take(carry).map(|i| i.key.clone()).collect(),
        more: cut_short || items.len() > carry,
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
        loop {
            if let Some(item) = self.items.get(self.next).cloned() {
                self.next += 1;
                return Ok(Some(Step::Key(item)));
            }
            match self.valid_until.take() {
                Some(until) => self.collect_past(until)?,
                None => return Ok(None),
            }
        }
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        // Before a collection (the first, or the one past carried keys cut
        // short), a seek is remembered.
        let waiting = self.next >= self.items.len() && self.valid_until.is_some();
        if !self.collected || waiting {
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
        self.skip_to(target, inclusive);
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
    use keyset_store::{Row, Value};

    use super::*;

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
}
