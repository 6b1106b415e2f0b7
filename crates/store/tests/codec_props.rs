//! The key codec's laws: byte order equals logical order, decode inverts
//! encode, and arbitrary bytes decode to a value or an error, never a panic.

mod common;

use std::cmp::Ordering;

use keyset_store::codec::{decode_all, decode_tuple, encode_tuple};
use keyset_store::{ColumnType, RawDataKey, RawIndexKey, Value};
use proptest::prelude::*;

fn bytes_with_escapes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(0x00u8), Just(0xFFu8), Just(0x01u8), any::<u8>()],
        0..12,
    )
}

fn text_with_escapes() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just('\0'),
            Just('\u{FF}'),
            Just('a'),
            Just('é'),
            any::<char>()
        ],
        0..10,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE),
        Just(-f64::MIN_POSITIVE),
        any::<f64>().prop_filter("not NaN", |f| !f.is_nan()),
    ]
    .prop_map(|f| if f == 0.0 { 0.0 } else { f })
}

fn value_of(ty: ColumnType) -> BoxedStrategy<Value> {
    let non_null = match ty {
        ColumnType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        ColumnType::Int => prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0i64),
            Just(-1i64),
            any::<i64>()
        ]
        .prop_map(Value::Int)
        .boxed(),
        ColumnType::Float => float().prop_map(Value::Float).boxed(),
        ColumnType::Text => text_with_escapes().prop_map(Value::Text).boxed(),
        ColumnType::Bytes => bytes_with_escapes().prop_map(Value::Bytes).boxed(),
    };
    prop_oneof![1 => Just(Value::Null), 6 => non_null].boxed()
}

fn column_type() -> impl Strategy<Value = ColumnType> {
    prop_oneof![
        Just(ColumnType::Bool),
        Just(ColumnType::Int),
        Just(ColumnType::Float),
        Just(ColumnType::Text),
        Just(ColumnType::Bytes),
    ]
}

/// A schema and two tuples that conform to it.
fn two_tuples() -> impl Strategy<Value = (Vec<Value>, Vec<Value>)> {
    prop::collection::vec(column_type(), 1..5).prop_flat_map(|types| {
        let tuple = types.iter().map(|t| value_of(*t)).collect::<Vec<_>>();
        (tuple.clone(), tuple)
    })
}

fn logical_cmp(a: &[Value], b: &[Value]) -> Ordering {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.compare(y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn encode(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_tuple(values, &mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(common::cases(512)))]

    #[test]
    fn byte_order_equals_logical_order((a, b) in two_tuples()) {
        prop_assert_eq!(encode(&a).cmp(&encode(&b)), logical_cmp(&a, &b));
    }

    #[test]
    fn decode_inverts_encode((a, _) in two_tuples()) {
        let bytes = encode(&a);
        let mut pos = 0;
        let decoded = decode_tuple(&bytes, &mut pos, a.len()).unwrap();
        prop_assert_eq!(pos, bytes.len());
        prop_assert_eq!(decoded.len(), a.len());
        for (x, y) in decoded.iter().zip(&a) {
            // Bit-exact, not just equal: floats keep their bits.
            prop_assert_eq!(format!("{x:?}"), format!("{y:?}"));
        }
    }

    #[test]
    fn raw_keys_round_trip((a, b) in two_tuples(), table in any::<u32>(), index in any::<u32>()) {
        let key = RawIndexKey::encode(table, index, &a, &b);
        let decoded = RawIndexKey::decode(key.as_bytes(), b.len()).unwrap();
        prop_assert_eq!(decoded.header.table, table);
        prop_assert_eq!(decoded.header.index, index);
        prop_assert_eq!(decoded.header.arity as usize, a.len());
        prop_assert_eq!(&decoded.components, &a);
        prop_assert_eq!(&decoded.primary_key, &b);
        prop_assert_eq!(key.data_key().unwrap(), RawDataKey::encode(table, &b));
        let data = RawDataKey::encode(table, &a);
        prop_assert_eq!(RawDataKey::decode(data.as_bytes(), a.len()).unwrap().primary_key, a);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), arity in 0usize..4) {
        let _ = decode_all(&bytes);
        let _ = RawIndexKey::decode_header(&bytes);
        let _ = RawIndexKey::decode(&bytes, arity);
        let _ = RawIndexKey::primary_key_offset(&bytes);
        let _ = RawIndexKey::from_bytes(bytes.clone().into()).data_key();
        let _ = RawDataKey::decode(&bytes, arity);
        let mut reader = keyset_store::bin::Reader::new(&bytes);
        let _ = keyset_store::row::decode_row(&mut reader);
        let mut reader = keyset_store::bin::Reader::new(&bytes);
        let _ = keyset_store::Catalog::decode(&mut reader);
    }

    #[test]
    fn decoded_garbage_reencodes_to_itself(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        // Whatever decodes must be the canonical encoding of what it decoded to.
        if let Ok(values) = decode_all(&bytes) {
            prop_assert_eq!(encode(&values), bytes);
        }
    }
}

#[test]
fn escapes_of_zero_and_ff_are_exercised() {
    let tricky = [
        Value::Bytes(vec![]),
        Value::Bytes(vec![0]),
        Value::Bytes(vec![0, 0]),
        Value::Bytes(vec![0, 0xFF]),
        Value::Bytes(vec![0xFF]),
        Value::Bytes(vec![0xFF, 0]),
    ];
    let encoded: Vec<Vec<u8>> = tricky
        .iter()
        .map(|v| encode(std::slice::from_ref(v)))
        .collect();
    for w in encoded.windows(2) {
        assert!(w[0] < w[1]);
    }
    assert_eq!(encoded[3], vec![0x07, 0x00, 0xFF, 0xFF, 0x00, 0x00]);
    assert_eq!(decode_all(&encoded[3]).unwrap(), vec![tricky[3].clone()]);
}
