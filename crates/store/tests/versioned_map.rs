//! The versioned map against a model that keeps every version ever written
//! (`BTreeMap<(key, seq), entry>`). Random interleavings of batches,
//! freezes, flushes, merges, pins, releases and reads: every read, at the
//! current view or at a pinned one, forward or reverse, with seeks that
//! gallop from the current position, equals the model's answer at that
//! view. Flushes and merges drop what no view can see, as the store does.

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use keyset_store::lsm::compaction::{self, pick_merge};
use keyset_store::lsm::{Seq, VersionedMap};
use keyset_store::{Direction, Row, Value};
use proptest::prelude::*;

type Model = BTreeMap<(Vec<u8>, Seq), Option<i64>>;

#[derive(Clone, Debug)]
enum Op {
    Batch(Vec<(Vec<u8>, Option<i64>)>),
    Freeze,
    Flush,
    Merge {
        all: bool,
    },
    Pin,
    Release(usize),
    Read {
        pinned: Option<usize>,
        lower: Bound<Vec<u8>>,
        upper: Bound<Vec<u8>>,
        direction: Direction,
        read_before_seek: usize,
        seek: Option<(Vec<u8>, bool)>,
    },
    Get(Vec<u8>, Option<usize>),
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    // A small alphabet, so keys repeat and get many versions.
    prop::collection::vec(
        prop_oneof![Just(0u8), Just(1u8), Just(7u8), Just(0xFFu8)],
        1..3,
    )
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        2 => Just(Bound::Unbounded),
        1 => key().prop_map(Bound::Included),
        1 => key().prop_map(Bound::Excluded),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((key(), prop::option::weighted(0.75, 0i64..100)), 1..5)
            .prop_map(Op::Batch),
        1 => Just(Op::Freeze),
        1 => Just(Op::Flush),
        1 => any::<bool>().prop_map(|all| Op::Merge { all }),
        1 => Just(Op::Pin),
        1 => (0usize..4).prop_map(Op::Release),
        4 => (
            prop::option::of(0usize..4),
            bound(),
            bound(),
            prop_oneof![Just(Direction::Asc), Just(Direction::Desc)],
            0usize..4,
            prop::option::of((key(), any::<bool>())),
        )
            .prop_map(|(pinned, lower, upper, direction, read_before_seek, seek)| Op::Read {
                pinned,
                lower,
                upper,
                direction,
                read_before_seek,
                seek,
            }),
        2 => (key(), prop::option::of(0usize..4)).prop_map(|(k, p)| Op::Get(k, p)),
    ]
}

fn slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v),
        Bound::Excluded(v) => Bound::Excluded(v),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn within(k: &[u8], lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    let lo = match lower {
        Bound::Included(l) => k >= l.as_slice(),
        Bound::Excluded(l) => k > l.as_slice(),
        Bound::Unbounded => true,
    };
    let hi = match upper {
        Bound::Included(u) => k <= u.as_slice(),
        Bound::Excluded(u) => k < u.as_slice(),
        Bound::Unbounded => true,
    };
    lo && hi
}

/// The model's visible rows at `seq`, ascending.
fn visible(model: &Model, seq: Seq) -> Vec<(Vec<u8>, i64)> {
    let mut out: BTreeMap<Vec<u8>, (Seq, Option<i64>)> = BTreeMap::new();
    for ((k, s), v) in model {
        if *s <= seq && out.get(k).is_none_or(|(best, _)| s > best) {
            out.insert(k.clone(), (*s, *v));
        }
    }
    out.into_iter()
        .filter_map(|(k, (_, v))| v.map(|v| (k, v)))
        .collect()
}

fn value_of(row: &Row) -> i64 {
    match row.get(0) {
        Some(Value::Int(v)) => *v,
        other => panic!("unexpected row {other:?}"),
    }
}

struct Harness {
    map: VersionedMap,
    model: Model,
    seq: Seq,
    pins: Vec<Seq>,
}

impl Harness {
    /// The `seq`s a reader may still ask for: the pins and the current one.
    fn live(&self) -> Vec<Seq> {
        let mut live = self.pins.clone();
        live.push(self.seq);
        live.sort_unstable();
        live.dedup();
        live
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Batch(writes) => {
                self.seq += 1;
                for (k, v) in writes {
                    let entry = v.map(|v| Arc::new(Row::new(vec![Value::Int(v)])));
                    self.map.insert(Bytes::from(k.clone()), self.seq, entry);
                    self.model.insert((k.clone(), self.seq), *v);
                }
            }
            Op::Freeze => {
                if !self.map.active().is_empty() {
                    self.map = self.map.frozen_copy();
                }
            }
            Op::Flush => {
                if let Some(m) = self.map.oldest_frozen().cloned() {
                    let bottom = self.map.runs().is_empty();
                    let out = compaction::flush(&m, &self.live(), bottom);
                    self.map = self
                        .map
                        .with_flushed(m.id(), Some(out.run))
                        .expect("oldest frozen");
                }
            }
            Op::Merge { all } => {
                let runs = self.map.runs().to_vec();
                let span = if *all {
                    (!runs.is_empty()).then_some(0..runs.len())
                } else {
                    pick_merge(&runs)
                };
                if let Some(span) = span {
                    let picked = &runs[span.clone()];
                    let out = compaction::merge(picked, &self.live(), span.end == runs.len());
                    let ids: Vec<u64> = picked.iter().map(|r| r.id()).collect();
                    self.map = self
                        .map
                        .with_merged(&ids, Some(out.run))
                        .expect("runs present");
                }
            }
            Op::Pin => self.pins.push(self.seq),
            Op::Release(i) => {
                if !self.pins.is_empty() {
                    let at = i % self.pins.len();
                    self.pins.remove(at);
                }
            }
            Op::Read {
                pinned,
                lower,
                upper,
                direction,
                read_before_seek,
                seek,
            } => {
                let seq = self.view(*pinned);
                let mut expected: Vec<(Vec<u8>, i64)> = visible(&self.model, seq)
                    .into_iter()
                    .filter(|(k, _)| within(k, lower, upper))
                    .collect();
                if *direction == Direction::Desc {
                    expected.reverse();
                }
                let mut cursor = self.map.cursor(seq, slice(lower), slice(upper), *direction);
                let mut got = Vec::new();
                for _ in 0..*read_before_seek {
                    if let Some((k, row)) = cursor.next_entry() {
                        got.push((k.to_vec(), value_of(&row)));
                    }
                }
                let consumed = got.len();
                prop_assert_eq!(&got[..], &expected[..consumed]);
                let mut rest_expected: Vec<(Vec<u8>, i64)> = expected[consumed..].to_vec();
                if let Some((target, inclusive)) = seek {
                    cursor.seek(target, *inclusive);
                    rest_expected.retain(|(k, _)| match (direction, inclusive) {
                        (Direction::Asc, true) => k >= target,
                        (Direction::Asc, false) => k > target,
                        (Direction::Desc, true) => k <= target,
                        (Direction::Desc, false) => k < target,
                    });
                }
                // The rest through the borrowing visit, so both ways of
                // stepping are checked against the model.
                let rest: Vec<(Vec<u8>, i64)> =
                    std::iter::from_fn(|| cursor.next_visit(|k, row| (k.to_vec(), value_of(row))))
                        .collect();
                prop_assert_eq!(rest, rest_expected, "view seq {} of {}", seq, self.seq);
            }
            Op::Get(k, pinned) => {
                let seq = self.view(*pinned);
                let expected = visible(&self.model, seq)
                    .into_iter()
                    .find(|(mk, _)| mk == k)
                    .map(|(_, v)| v);
                prop_assert_eq!(self.map.get(k, seq).map(|r| value_of(&r)), expected);
            }
        }
        Ok(())
    }

    /// The `seq` of the current view, or of pin `i` when one exists.
    fn view(&self, pinned: Option<usize>) -> Seq {
        match pinned {
            Some(i) if !self.pins.is_empty() => self.pins[i % self.pins.len()],
            _ => self.seq,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(256)))]

    #[test]
    fn every_read_at_every_live_view_equals_the_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut h = Harness { map: VersionedMap::new(), model: Model::new(), seq: 0, pins: Vec::new() };
        for op in &ops {
            h.apply(op)?;
        }
        // Everything flushed and merged into one run: the current view and
        // every pin still read the same, and without pins only one version
        // per key is left, with no tombstone.
        h.apply(&Op::Freeze)?;
        while h.map.oldest_frozen().is_some() {
            h.apply(&Op::Flush)?;
        }
        h.apply(&Op::Merge { all: true })?;
        for pinned in [None, Some(0), Some(1), Some(2)] {
            h.apply(&Op::Read {
                pinned,
                lower: Bound::Unbounded,
                upper: Bound::Unbounded,
                direction: Direction::Asc,
                read_before_seek: 0,
                seek: None,
            })?;
        }
        // Without pins only one version per live row is left, and no
        // tombstone.
        h.pins.clear();
        h.apply(&Op::Merge { all: true })?;
        let live = visible(&h.model, h.seq).len();
        prop_assert_eq!(h.map.counts().versions, live, "only live rows are left");
    }
}
