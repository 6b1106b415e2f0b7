//! `OrderedMap` ranges in both directions from every kind of bound agree
//! with a `BTreeMap` model.

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;

use bytes::Bytes;
use keyset_store::{Direction, OrderedMap};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(0u8), Just(1u8), Just(0xFFu8), any::<u8>()],
        0..4,
    )
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        Just(Bound::Unbounded),
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
    ]
}

fn as_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn model_range(
    model: &BTreeMap<Vec<u8>, u32>,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
    direction: Direction,
) -> Vec<(Vec<u8>, u32)> {
    let mut out: Vec<(Vec<u8>, u32)> = model
        .iter()
        .filter(|(k, _)| keyset_store::key::within(k, &to_bytes(lower), &to_bytes(upper)))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    if direction == Direction::Desc {
        out.reverse();
    }
    out
}

fn to_bytes(b: &Bound<Vec<u8>>) -> Bound<Bytes> {
    match b {
        Bound::Included(v) => Bound::Included(Bytes::from(v.clone())),
        Bound::Excluded(v) => Bound::Excluded(Bytes::from(v.clone())),
        Bound::Unbounded => Bound::Unbounded,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(256)))]

    #[test]
    fn ranges_match_a_btreemap_model(
        inserts in prop::collection::vec((key(), any::<u32>()), 0..40),
        removes in prop::collection::vec(key(), 0..10),
        lower in bound(),
        upper in bound(),
        chunk in 1usize..5,
    ) {
        let map = OrderedMap::new();
        let mut model = BTreeMap::new();
        for (k, v) in &inserts {
            map.insert(Bytes::from(k.clone()), *v);
            model.insert(k.clone(), *v);
        }
        for k in &removes {
            prop_assert_eq!(map.remove(k), model.remove(k));
        }
        prop_assert_eq!(map.len(), model.len());
        for direction in [Direction::Asc, Direction::Desc] {
            let expected = model_range(&model, &lower, &upper, direction);
            let got: Vec<(Vec<u8>, u32)> = map
                .range(as_slice(&lower), as_slice(&upper), direction)
                .map(|(k, v)| (k.to_vec(), v))
                .collect();
            prop_assert_eq!(&got, &expected);
            let first = map.first(as_slice(&lower), as_slice(&upper), direction);
            prop_assert_eq!(first.map(|(k, v)| (k.to_vec(), v)), expected.first().cloned());
            let mut chunked = Vec::new();
            let n = map.read_chunk(as_slice(&lower), as_slice(&upper), direction, chunk, &mut chunked);
            prop_assert_eq!(n, expected.len().min(chunk));
            let chunked: Vec<(Vec<u8>, u32)> = chunked.into_iter().map(|(k, v)| (k.to_vec(), v)).collect();
            prop_assert_eq!(&chunked[..], &expected[..n]);
        }
        for k in model.keys() {
            prop_assert_eq!(map.get(k), model.get(k).copied());
        }
    }
}
