//! The raw map: the store's `OrderedMap`s read directly, with no planner,
//! executor, cursor, filter or budget: ranges taken 100 at a time (each page
//! re-seeks from the last key, as a keyset page must), unions and
//! intersections merged by hand, rows materialized as the other sides do.
//! It is the floor the executor is measured against (DESIGN.md section 9);
//! it must never do less work than a correct page needs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Bound;

use bytes::Bytes;
use keyset::{Db, Value};
use keyset_store::codec::encode_component;
use keyset_store::{Direction, IndexId, IndexKeyHeader, MapView, RawDataKey, RowRef, ShardView};

use crate::error::{BenchError, Result};
use crate::timing::Sink;

/// A row as the other sides return it: owned values in column order.
#[inline]
pub fn materialize(row: &RowRef) -> Vec<Value> {
    row.values().to_vec()
}

/// One table's maps, taken from the store once (like a prepared plan).
#[derive(Debug)]
pub struct RawTable {
    id: u32,
    shards: Vec<ShardView>,
    indexes: Vec<(String, IndexId)>,
}

impl RawTable {
    pub fn open(db: &Db, table: &str) -> Result<RawTable> {
        let view = db.store().read();
        let store = view
            .table(table)
            .ok_or_else(|| BenchError::Raw(format!("no table {table} in the store")))?;
        let def = store.def();
        Ok(RawTable {
            id: def.id,
            shards: store.shard_views(),
            indexes: def.indexes.iter().map(|i| (i.name.clone(), i.id)).collect(),
        })
    }

    /// The data map of every shard.
    pub fn data_maps(&self) -> Vec<&MapView> {
        self.shards.iter().map(|s| s.data()).collect()
    }

    /// The data map of an unsharded table.
    pub fn data(&self) -> Result<&MapView> {
        match self.shards.as_slice() {
            [one] => Ok(one.data()),
            many => Err(BenchError::Raw(format!(
                "expected one shard, the table has {}",
                many.len()
            ))),
        }
    }

    /// The id and map of a secondary index of an unsharded table.
    pub fn index(&self, name: &str) -> Result<(IndexId, &MapView)> {
        let id = self
            .indexes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id)
            .ok_or_else(|| BenchError::Raw(format!("no index {name}")))?;
        let [shard] = self.shards.as_slice() else {
            return Err(BenchError::Raw("expected one shard".into()));
        };
        let map = shard
            .index(id)
            .ok_or_else(|| BenchError::Raw(format!("index {name} has no map")))?;
        Ok((id, map))
    }

    /// The data key of the row with this id.
    pub fn data_key(&self, id: i64) -> RawDataKey {
        RawDataKey::encode(self.id, &[Value::Int(id)])
    }

    /// The bytes every entry of `index` starts with, followed by the
    /// encoded `value` when given (an equality prefix).
    pub fn index_prefix(&self, index: IndexId, value: Option<i64>) -> Vec<u8> {
        let mut out = IndexKeyHeader::new(self.id, index, 1).to_bytes().to_vec();
        if let Some(v) = value {
            encode_component(&Value::Int(v), &mut out);
        }
        out
    }

    /// The exact key of an index entry.
    pub fn index_key(&self, index: IndexId, value: i64, id: i64) -> Vec<u8> {
        let mut out = self.index_prefix(index, Some(value));
        encode_component(&Value::Int(id), &mut out);
        out
    }

    /// The first byte string after every key that starts with `prefix`.
    pub fn after_prefix(prefix: &[u8]) -> Result<Vec<u8>> {
        keyset_store::codec::prefix_successor(prefix)
            .ok_or_else(|| BenchError::Raw("a key prefix of only 0xff bytes".into()))
    }
}

/// Takes up to `n` entries of a range into the sink; returns the last key.
pub fn range_into(
    map: &MapView,
    lower: Bound<&[u8]>,
    upper: Bound<&[u8]>,
    direction: Direction,
    n: usize,
    sink: &mut Sink,
) -> Option<Bytes> {
    let mut last = None;
    for (key, row) in map.cursor(lower, upper, direction).take(n) {
        sink.push(materialize(&row));
        last = Some(key);
    }
    last
}

/// One input of a merge: the keys from `lower` (inclusive) to `upper`
/// (exclusive) of a map, compared on what follows their first `strip`
/// bytes (for equality branches: the primary key).
#[derive(Debug)]
pub struct Branch<'m> {
    pub map: &'m MapView,
    pub lower: Vec<u8>,
    pub upper: Vec<u8>,
    pub strip: usize,
}

impl Branch<'_> {
    /// Where this branch resumes: its lower bound, or strictly after the
    /// merge key `after`.
    fn start(&self, after: Option<&[u8]>) -> (Vec<u8>, bool) {
        match after {
            None => (self.lower.clone(), true),
            Some(suffix) => {
                let mut key = self.lower[..self.strip].to_vec();
                key.extend_from_slice(suffix);
                (key, false)
            }
        }
    }
}

fn lower_bound(key: &[u8], inclusive: bool) -> Bound<&[u8]> {
    if inclusive {
        Bound::Included(key)
    } else {
        Bound::Excluded(key)
    }
}

/// Merges branches in ascending merge-key order (a linear scan over the
/// heads: at most 16 branches here), emitting each key once; takes up to
/// `n` rows strictly after `after`. Returns the last merge key.
pub fn union_into(
    branches: &[Branch<'_>],
    after: Option<&[u8]>,
    n: usize,
    sink: &mut Sink,
) -> Option<Vec<u8>> {
    let starts: Vec<(Vec<u8>, bool)> = branches.iter().map(|b| b.start(after)).collect();
    let mut iters: Vec<_> = branches
        .iter()
        .zip(&starts)
        .map(|(b, (key, incl))| {
            b.map.cursor(
                lower_bound(key, *incl),
                Bound::Excluded(&b.upper[..]),
                Direction::Asc,
            )
        })
        .collect();
    let mut heads: Vec<_> = iters.iter_mut().map(Iterator::next).collect();
    let mut last = None;
    for _ in 0..n {
        let mut best: Option<usize> = None;
        for (i, head) in heads.iter().enumerate() {
            let Some((key, _)) = head else { continue };
            let better = match best {
                None => true,
                Some(j) => heads[j]
                    .as_ref()
                    .is_some_and(|(bk, _)| key[branches[i].strip..] < bk[branches[j].strip..]),
            };
            if better {
                best = Some(i);
            }
        }
        let Some(j) = best else { break };
        let Some((key, row)) = std::mem::replace(&mut heads[j], iters[j].next()) else {
            break;
        };
        let suffix = &key[branches[j].strip..];
        sink.push(materialize(&row));
        for (i, head) in heads.iter_mut().enumerate() {
            if i != j
                && head
                    .as_ref()
                    .is_some_and(|(k, _)| &k[branches[i].strip..] == suffix)
            {
                *head = iters[i].next();
            }
        }
        last = Some(suffix.to_vec());
    }
    last
}

/// Intersects branches by leapfrogging: seek each branch to the largest
/// head so far until all agree. Takes up to `n` rows strictly after
/// `after`; returns the last merge key.
pub fn intersect_into(
    branches: &[Branch<'_>],
    after: Option<&[u8]>,
    n: usize,
    sink: &mut Sink,
) -> Option<Vec<u8>> {
    let mut target: Vec<u8> = after.map(<[u8]>::to_vec).unwrap_or_default();
    let mut inclusive = after.is_none();
    let mut seek = Vec::new();
    let mut last = None;
    for _ in 0..n {
        let mut agree = 0;
        let mut i = 0;
        let row = loop {
            let b = &branches[i];
            seek.clear();
            seek.extend_from_slice(&b.lower[..b.strip]);
            seek.extend_from_slice(&target);
            let (key, row) = b
                .map
                .cursor(
                    lower_bound(&seek, inclusive),
                    Bound::Excluded(&b.upper[..]),
                    Direction::Asc,
                )
                .next()?;
            let suffix = &key[b.strip..];
            if inclusive && suffix == target.as_slice() {
                agree += 1;
            } else {
                target = suffix.to_vec();
                inclusive = true;
                agree = 1;
            }
            if agree == branches.len() {
                break row;
            }
            i = (i + 1) % branches.len();
        };
        sink.push(materialize(&row));
        last = Some(target.clone());
        inclusive = false;
    }
    last
}

/// The `k` rows with the smallest (`column`, `id`) over every map, in that
/// order: one pass with a bounded heap.
pub fn top_k_into(maps: &[&MapView], column: usize, k: usize, sink: &mut Sink) {
    let int = |row: &RowRef, c: usize| match row.get(c) {
        Some(Value::Int(i)) => *i,
        _ => i64::MIN,
    };
    let mut heap: BinaryHeap<(i64, i64, Reverse<usize>)> = BinaryHeap::with_capacity(k + 1);
    let mut rows: Vec<RowRef> = Vec::with_capacity(k + 1);
    let mut free: Vec<usize> = Vec::new();
    for map in maps {
        for (_, row) in map.iter() {
            let key = (int(&row, column), int(&row, 0));
            if heap.len() == k {
                match heap.peek() {
                    Some(top) if key < (top.0, top.1) => {}
                    _ => continue,
                }
                if let Some(out) = heap.pop() {
                    free.push(out.2 .0);
                }
            }
            let slot = match free.pop() {
                Some(s) => {
                    rows[s] = row;
                    s
                }
                None => {
                    rows.push(row);
                    rows.len() - 1
                }
            };
            heap.push((key.0, key.1, Reverse(slot)));
        }
    }
    for (_, _, Reverse(slot)) in heap.into_sorted_vec() {
        sink.push(materialize(&rows[slot]));
    }
}
