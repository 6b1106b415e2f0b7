//! Fuzz target `key_codec`: the order-preserving key codec and the binary
//! decoders of the store.
//!
//! Mode 0 hands arbitrary bytes to every decoder (components, data keys,
//! index keys and their headers, rows, catalogs): none may panic, and what
//! decodes must encode back to the same bytes (the key codec is canonical)
//! or at least to the same values (rows and catalogs).
//! Mode 1 builds tuples of one random schema (values normalized as the
//! store stores them: no NaN, no -0.0) and checks round trips, that byte
//! order equals the logical order, and that `range_bounds` holds exactly
//! the keys whose values lie in the range.
#![no_main]

use std::cmp::Ordering;
use std::ops::Bound;

use arbitrary::{Result, Unstructured};
use keyset_fuzz::strict::tuple_eq;
use keyset_store::bin::Reader;
use keyset_store::catalog::{decode_index, decode_table};
use keyset_store::codec::{decode_all, decode_tuple, encode_tuple, encoded_len, skip_component};
use keyset_store::key::{range_bounds, within};
use keyset_store::row::{decode_row, encode_row, encoded_row_len};
use keyset_store::{Catalog, ColumnType, RawDataKey, RawIndexKey, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keyset_fuzz::seeds::write_if_asked("key_codec");
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        decode_arbitrary_bytes(rest);
    } else {
        let _ = check_tuples(&mut Unstructured::new(rest));
    }
});

fn decode_arbitrary_bytes(data: &[u8]) {
    let Some((&arity, bytes)) = data.split_first() else {
        return;
    };
    let pk_arity = usize::from(arity % 5);

    if let Ok(values) = decode_all(bytes) {
        let mut again = Vec::new();
        encode_tuple(&values, &mut again);
        assert_eq!(again, bytes, "decode_all accepted a non-canonical encoding");
        let lens: usize = values.iter().map(encoded_len).sum();
        assert_eq!(lens, bytes.len(), "encoded_len disagrees with the encoding");
    }
    if let Ok(end) = skip_component(bytes, 0) {
        assert!(end <= bytes.len());
    }

    if let Ok(key) = RawDataKey::decode(bytes, pk_arity) {
        let again = RawDataKey::encode(key.table, &key.primary_key);
        assert_eq!(again.as_bytes(), bytes, "data key does not re-encode");
    }

    let header = RawIndexKey::decode_header(bytes);
    if let Ok(h) = &header {
        assert_eq!(
            &h.to_bytes()[..],
            &bytes[..10],
            "index key header does not re-encode"
        );
    }
    let pk_offset = RawIndexKey::primary_key_offset(bytes);
    let data_key = RawIndexKey::from_bytes(bytes::Bytes::copy_from_slice(bytes)).data_key();
    if let Ok(key) = RawIndexKey::decode(bytes, pk_arity) {
        assert!(header.is_ok() && pk_offset.is_ok());
        let again = RawIndexKey::encode(
            key.header.table,
            key.header.index,
            &key.components,
            &key.primary_key,
        );
        assert_eq!(again.as_bytes(), bytes, "index key does not re-encode");
        let expected = RawDataKey::encode(key.header.table, &key.primary_key);
        assert_eq!(
            data_key.ok(),
            Some(expected),
            "index key points to the wrong row"
        );
    }

    let mut reader = Reader::new(bytes);
    if let Ok(values) = decode_row(&mut reader) {
        assert!(reader.position() <= bytes.len());
        let mut encoded = Vec::new();
        encode_row(&values, &mut encoded);
        assert_eq!(encoded.len(), encoded_row_len(&values));
        let back = decode_row(&mut Reader::new(&encoded)).expect("an encoded row decodes");
        assert!(tuple_eq(&back, &values), "row round trip changed values");
    }

    if let Ok(catalog) = Catalog::decode(&mut Reader::new(bytes)) {
        let mut once = Vec::new();
        catalog.encode(&mut once);
        let again = Catalog::decode(&mut Reader::new(&once)).expect("an encoded catalog decodes");
        let mut twice = Vec::new();
        again.encode(&mut twice);
        assert_eq!(once, twice, "catalog round trip is not stable");
    }
    let _ = decode_table(&mut Reader::new(bytes));
    let _ = decode_index(&mut Reader::new(bytes), pk_arity + 1);
}

#[derive(Clone, Copy, Debug)]
struct Column {
    ty: ColumnType,
    nullable: bool,
}

const TYPES: [ColumnType; 5] = [
    ColumnType::Bool,
    ColumnType::Int,
    ColumnType::Float,
    ColumnType::Text,
    ColumnType::Bytes,
];

fn schema(u: &mut Unstructured<'_>) -> Result<Vec<Column>> {
    let n = u.int_in_range(1..=4)?;
    (0..n)
        .map(|_| {
            Ok(Column {
                ty: *u.choose(&TYPES)?,
                nullable: u.arbitrary()?,
            })
        })
        .collect()
}

/// A value for `column`, often from a small domain so that ties, shared
/// prefixes and escape bytes are common; normalized as the store does.
fn value(u: &mut Unstructured<'_>, column: Column) -> Result<Value> {
    if column.nullable && u.ratio(1, 5)? {
        return Ok(Value::Null);
    }
    let small = u.arbitrary::<bool>()?;
    let raw = match column.ty {
        ColumnType::Bool => Value::Bool(u.arbitrary()?),
        ColumnType::Int if small => Value::Int(u.int_in_range(-3..=3)?),
        ColumnType::Int => Value::Int(u.arbitrary()?),
        ColumnType::Float if small => {
            Value::Float(*u.choose(&[-1.5, -0.0, 0.0, 0.5, f64::INFINITY, f64::NEG_INFINITY])?)
        }
        ColumnType::Float => Value::Float(f64::from_bits(u.arbitrary()?)),
        ColumnType::Text if small => Value::Text(
            ["", "a", "a\0", "a\0b", "ab", "b", "\u{ff}", "é"][u.int_in_range(0..=7)?].to_owned(),
        ),
        ColumnType::Text => Value::Text(u.arbitrary()?),
        ColumnType::Bytes if small => {
            let len = u.int_in_range(0..=3)?;
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                bytes.push(*u.choose(&[0u8, 1, 0xFF])?);
            }
            Value::Bytes(bytes)
        }
        ColumnType::Bytes => Value::Bytes(u.arbitrary()?),
    };
    Ok(raw
        .normalize_for(column.ty, column.nullable)
        .unwrap_or(Value::Float(1.0)))
}

fn tuple(u: &mut Unstructured<'_>, columns: &[Column]) -> Result<Vec<Value>> {
    columns.iter().map(|c| value(u, *c)).collect()
}

/// A tuple that shares a prefix of random length with `like`.
fn tuple_near(u: &mut Unstructured<'_>, columns: &[Column], like: &[Value]) -> Result<Vec<Value>> {
    let shared = u.int_in_range(0..=columns.len())?;
    let mut out = like[..shared].to_vec();
    for c in &columns[shared..] {
        out.push(value(u, *c)?);
    }
    Ok(out)
}

fn logical(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.compare(y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    a.len().cmp(&b.len())
}

fn encode(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_tuple(values, &mut out);
    out
}

fn check_tuples(u: &mut Unstructured<'_>) -> Result<()> {
    let columns = schema(u)?;
    let n = columns.len();
    let a = tuple(u, &columns)?;
    let b = tuple_near(u, &columns, &a)?;

    let (ea, eb) = (encode(&a), encode(&b));
    let mut pos = 0;
    let back = decode_tuple(&ea, &mut pos, n).expect("an encoded tuple decodes");
    assert!(
        tuple_eq(&back, &a),
        "tuple round trip: {a:?} came back as {back:?}"
    );
    assert_eq!(pos, ea.len());
    let all = decode_all(&ea).expect("an encoded tuple decodes");
    assert!(tuple_eq(&all, &a));
    assert_eq!(a.iter().map(encoded_len).sum::<usize>(), ea.len());
    assert_eq!(
        ea.cmp(&eb),
        logical(&a, &b),
        "byte order differs from logical order: {a:?} vs {b:?}"
    );

    // Index and data keys of the same tuples.
    let (table, index) = (u.arbitrary::<u32>()?, u.arbitrary::<u32>()?);
    let split = u.int_in_range(0..=n - 1)?;
    let key_a = RawIndexKey::encode(table, index, &a[..split], &a[split..]);
    let key_b = RawIndexKey::encode(table, index, &b[..split], &b[split..]);
    let decoded = RawIndexKey::decode(key_a.as_bytes(), n - split).expect("index key decodes");
    assert!(tuple_eq(&decoded.components, &a[..split]));
    assert!(tuple_eq(&decoded.primary_key, &a[split..]));
    assert_eq!(key_a.cmp(&key_b), logical(&a, &b), "index key order");
    let data_a = RawDataKey::encode(table, &a[split..]);
    assert_eq!(key_a.data_key().ok(), Some(data_a));
    let full_a = RawDataKey::encode(table, &a);
    let full_b = RawDataKey::encode(table, &b);
    assert_eq!(full_a.cmp(&full_b), logical(&a, &b), "data key order");
    let decoded = RawDataKey::decode(full_a.as_bytes(), n).expect("data key decodes");
    assert!(tuple_eq(&decoded.primary_key, &a));

    // range_bounds holds exactly the keys inside (prefix, lower, upper).
    let c = tuple_near(u, &columns, &a)?;
    let p = u.int_in_range(0..=n)?;
    let (lower, upper) = if p < n {
        let candidates = [a[p].clone(), b[p].clone(), c[p].clone()];
        (bound(u, &candidates)?, bound(u, &candidates)?)
    } else {
        (Bound::Unbounded, Bound::Unbounded)
    };
    let head = RawDataKey::table_prefix(table);
    let (lo, hi) = range_bounds(&head, &c[..p], as_ref(&lower), as_ref(&upper));
    let inside = logical(&a[..p], &c[..p]).is_eq()
        && (p == n || (above(&a[p], &lower) && below(&a[p], &upper)));
    assert_eq!(
        within(full_a.as_bytes(), &lo, &hi),
        inside,
        "range_bounds(prefix {:?}, {lower:?}, {upper:?}) misjudges {a:?}",
        &c[..p]
    );
    Ok(())
}

fn bound(u: &mut Unstructured<'_>, candidates: &[Value]) -> Result<Bound<Value>> {
    let v = u.choose(candidates)?.clone();
    Ok(match u.int_in_range(0..=2)? {
        0 => Bound::Unbounded,
        1 => Bound::Included(v),
        _ => Bound::Excluded(v),
    })
}

fn as_ref(b: &Bound<Value>) -> Bound<&Value> {
    match b {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(v) => Bound::Included(v),
        Bound::Excluded(v) => Bound::Excluded(v),
    }
}

fn above(v: &Value, lower: &Bound<Value>) -> bool {
    match lower {
        Bound::Unbounded => true,
        Bound::Included(l) => v.compare(l).is_ge(),
        Bound::Excluded(l) => v.compare(l).is_gt(),
    }
}

fn below(v: &Value, upper: &Bound<Value>) -> bool {
    match upper {
        Bound::Unbounded => true,
        Bound::Included(h) => v.compare(h).is_le(),
        Bound::Excluded(h) => v.compare(h).is_lt(),
    }
}
