//! Raw keys: the byte layouts of data keys and index keys, their decoders,
//! and the byte bounds of a key range.
//!
//! `RawDataKey` = table id (u32 BE) + encoded primary-key components.
//! `RawIndexKey` = namespace byte + table id (u32 BE) + index id (u32 BE) +
//! arity (u8) + encoded index components + encoded primary key.
//! Keys are compared as bytes; nothing here decodes to compare.

use std::fmt;
use std::ops::Bound;

use bytes::Bytes;

use crate::codec::{
    decode_component, decode_tuple, encode_tuple, encoded_len, prefix_successor, CodecError,
};
use crate::value::Value;

/// Identifies a table (collection). Never reused.
pub type TableId = u32;
/// Identifies a secondary index. Never reused, even after a drop.
pub type IndexId = u32;

/// Longest encoded key, data or index, in bytes.
pub const MAX_KEY_BYTES: usize = 4096;
/// Most columns in one secondary index.
pub const MAX_INDEX_COLUMNS: usize = 16;
/// The namespace byte that starts every index key.
pub const INDEX_NAMESPACE: u8 = 0x49;
/// Bytes before the first index component.
pub const INDEX_HEADER_LEN: usize = 1 + 4 + 4 + 1;
/// Bytes before the first primary-key component of a data key.
pub const DATA_HEADER_LEN: usize = 4;

/// The encoded key of a row in its table's data map.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawDataKey(Bytes);

/// The identity of a data key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedDataKey {
    pub table: TableId,
    pub primary_key: Vec<Value>,
}

impl RawDataKey {
    /// Encodes a data key. Length limits are checked by the writer, not here.
    pub fn encode(table: TableId, primary_key: &[Value]) -> RawDataKey {
        // Exactly the encoded length: `Bytes` then takes the buffer as it
        // is, without a second allocation for a shared header (a point get
        // encodes one key per call).
        let len = DATA_HEADER_LEN + primary_key.iter().map(encoded_len).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&table.to_be_bytes());
        encode_tuple(primary_key, &mut out);
        debug_assert_eq!(out.len(), len, "encoded_len is the encoding's length");
        RawDataKey(Bytes::from(out))
    }

    /// Wraps bytes known to be a data key (for example read back from a map).
    pub fn from_bytes(bytes: Bytes) -> RawDataKey {
        RawDataKey(bytes)
    }

    /// Decodes and checks a data key of a table whose primary key has
    /// `pk_arity` columns. Trailing bytes are an error.
    pub fn decode(bytes: &[u8], pk_arity: usize) -> Result<DecodedDataKey, CodecError> {
        let table = read_u32(bytes, 0, "a data key is shorter than its table id")?;
        let mut pos = DATA_HEADER_LEN;
        let primary_key = decode_tuple(bytes, &mut pos, pk_arity)?;
        expect_end(bytes, pos)?;
        Ok(DecodedDataKey { table, primary_key })
    }

    /// The bytes that start every data key of `table`.
    pub fn table_prefix(table: TableId) -> [u8; DATA_HEADER_LEN] {
        table.to_be_bytes()
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The encoded primary key without the table id (a zero-copy slice).
    pub fn primary_key_bytes(&self) -> Bytes {
        self.0.slice(DATA_HEADER_LEN.min(self.0.len())..)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RawDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawDataKey({})", hex(&self.0))
    }
}

/// The fixed fields at the front of an index key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexKeyHeader {
    pub namespace: u8,
    pub table: TableId,
    pub index: IndexId,
    pub arity: u8,
}

impl IndexKeyHeader {
    pub fn new(table: TableId, index: IndexId, arity: u8) -> IndexKeyHeader {
        IndexKeyHeader {
            namespace: INDEX_NAMESPACE,
            table,
            index,
            arity,
        }
    }

    /// The header's bytes.
    pub fn to_bytes(self) -> [u8; INDEX_HEADER_LEN] {
        let mut out = [0u8; INDEX_HEADER_LEN];
        out[0] = self.namespace;
        out[1..5].copy_from_slice(&self.table.to_be_bytes());
        out[5..9].copy_from_slice(&self.index.to_be_bytes());
        out[9] = self.arity;
        out
    }
}

/// The encoded key of one entry of a secondary index.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawIndexKey(Bytes);

/// An index key taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedIndexKey {
    pub header: IndexKeyHeader,
    pub components: Vec<Value>,
    pub primary_key: Vec<Value>,
}

impl RawIndexKey {
    /// Encodes an index key; the arity is `components.len()`.
    pub fn encode(
        table: TableId,
        index: IndexId,
        components: &[Value],
        primary_key: &[Value],
    ) -> RawIndexKey {
        let arity = u8::try_from(components.len()).unwrap_or(u8::MAX);
        let mut out = Vec::with_capacity(INDEX_HEADER_LEN + 16 * (components.len() + 1));
        out.extend_from_slice(&IndexKeyHeader::new(table, index, arity).to_bytes());
        encode_tuple(components, &mut out);
        encode_tuple(primary_key, &mut out);
        RawIndexKey(Bytes::from(out))
    }

    /// Wraps bytes known to be an index key (for example read from a map).
    pub fn from_bytes(bytes: Bytes) -> RawIndexKey {
        RawIndexKey(bytes)
    }

    /// Reads the fixed header: which namespace, table, index and arity the
    /// key belongs to. Checks only the header.
    pub fn decode_header(bytes: &[u8]) -> Result<IndexKeyHeader, CodecError> {
        let namespace = *bytes.first().ok_or(CodecError {
            offset: 0,
            reason: "an index key is empty",
        })?;
        if namespace != INDEX_NAMESPACE {
            return Err(CodecError {
                offset: 0,
                reason: "not an index key: wrong namespace byte",
            });
        }
        let table = read_u32(bytes, 1, "an index key is shorter than its header")?;
        let index = read_u32(bytes, 5, "an index key is shorter than its header")?;
        let arity = *bytes.get(9).ok_or(CodecError {
            offset: 9,
            reason: "an index key is shorter than its header",
        })?;
        Ok(IndexKeyHeader {
            namespace,
            table,
            index,
            arity,
        })
    }

    /// Decodes a whole index key of an index whose table has a primary key of
    /// `pk_arity` columns. Trailing bytes are an error.
    pub fn decode(bytes: &[u8], pk_arity: usize) -> Result<DecodedIndexKey, CodecError> {
        let header = Self::decode_header(bytes)?;
        let mut pos = INDEX_HEADER_LEN;
        let components = decode_tuple(bytes, &mut pos, header.arity as usize)?;
        let primary_key = decode_tuple(bytes, &mut pos, pk_arity)?;
        expect_end(bytes, pos)?;
        Ok(DecodedIndexKey {
            header,
            components,
            primary_key,
        })
    }

    /// The offset where the encoded primary key starts.
    pub fn primary_key_offset(bytes: &[u8]) -> Result<usize, CodecError> {
        let header = Self::decode_header(bytes)?;
        let mut pos = INDEX_HEADER_LEN;
        for _ in 0..header.arity {
            decode_component(bytes, &mut pos)?;
        }
        Ok(pos)
    }

    /// The data key of the row this entry points to.
    pub fn data_key(&self) -> Result<RawDataKey, CodecError> {
        let header = Self::decode_header(&self.0)?;
        let offset = Self::primary_key_offset(&self.0)?;
        let mut out = Vec::with_capacity(DATA_HEADER_LEN + self.0.len() - offset);
        out.extend_from_slice(&header.table.to_be_bytes());
        out.extend_from_slice(&self.0[offset..]);
        Ok(RawDataKey(Bytes::from(out)))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RawIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawIndexKey({})", hex(&self.0))
    }
}

/// The byte bounds of the keys that start with `head` followed by a component
/// prefix and, for the next component, a value range.
///
/// `head` is the fixed front of every key in the range (an index header or a
/// table id), `prefix` the equality components, `lower` and `upper` bounds on
/// the component after them. Every key in the returned range starts with
/// `head + encode(prefix)`, so a range never escapes its prefix.
pub fn range_bounds(
    head: &[u8],
    prefix: &[Value],
    lower: Bound<&Value>,
    upper: Bound<&Value>,
) -> (Bound<Bytes>, Bound<Bytes>) {
    let mut base = head.to_vec();
    encode_tuple(prefix, &mut base);
    let with = |v: &Value| {
        let mut b = base.clone();
        crate::codec::encode_component(v, &mut b);
        b
    };
    let after = |bytes: Vec<u8>| match prefix_successor(&bytes) {
        Some(s) => Bound::Excluded(Bytes::from(s)),
        None => Bound::Unbounded,
    };
    let start = match lower {
        Bound::Unbounded => Bound::Included(Bytes::from(base.clone())),
        Bound::Included(v) => Bound::Included(Bytes::from(with(v))),
        Bound::Excluded(v) => match after(with(v)) {
            Bound::Excluded(b) => Bound::Included(b),
            other => other,
        },
    };
    let end = match upper {
        Bound::Unbounded => after(base.clone()),
        Bound::Included(v) => after(with(v)),
        Bound::Excluded(v) => Bound::Excluded(Bytes::from(with(v))),
    };
    (start, end)
}

/// Whether `key` lies inside the byte range `(lower, upper)`.
pub fn within(key: &[u8], lower: &Bound<Bytes>, upper: &Bound<Bytes>) -> bool {
    let above = match lower {
        Bound::Unbounded => true,
        Bound::Included(b) => key >= &b[..],
        Bound::Excluded(b) => key > &b[..],
    };
    let below = match upper {
        Bound::Unbounded => true,
        Bound::Included(b) => key <= &b[..],
        Bound::Excluded(b) => key < &b[..],
    };
    above && below
}

fn read_u32(bytes: &[u8], at: usize, reason: &'static str) -> Result<u32, CodecError> {
    let slice = bytes
        .get(at..at + 4)
        .ok_or(CodecError { offset: at, reason })?;
    let mut buf = [0u8; 4];
    buf.copy_from_slice(slice);
    Ok(u32::from_be_bytes(buf))
}

fn expect_end(bytes: &[u8], pos: usize) -> Result<(), CodecError> {
    if pos == bytes.len() {
        Ok(())
    } else {
        Err(CodecError {
            offset: pos,
            reason: "trailing bytes after the last key component",
        })
    }
}

/// Lower-case hex of `bytes`, for debug output.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_key_round_trips_and_names_its_identity() {
        let key = RawIndexKey::encode(
            7,
            9,
            &[Value::from("Oslo"), Value::Int(3)],
            &[Value::Int(42)],
        );
        let header = RawIndexKey::decode_header(key.as_bytes()).unwrap();
        assert_eq!(header, IndexKeyHeader::new(7, 9, 2));
        let decoded = RawIndexKey::decode(key.as_bytes(), 1).unwrap();
        assert_eq!(decoded.components, vec![Value::from("Oslo"), Value::Int(3)]);
        assert_eq!(decoded.primary_key, vec![Value::Int(42)]);
        assert_eq!(
            key.data_key().unwrap(),
            RawDataKey::encode(7, &[Value::Int(42)])
        );
        assert!(RawIndexKey::decode(key.as_bytes(), 2).is_err());
        assert!(RawIndexKey::decode(&key.as_bytes()[..12], 1).is_err());
    }

    #[test]
    fn data_key_rejects_trailing_bytes() {
        let key = RawDataKey::encode(1, &[Value::Int(5)]);
        assert!(RawDataKey::decode(key.as_bytes(), 1).is_ok());
        let mut longer = key.as_bytes().to_vec();
        longer.push(1);
        assert!(RawDataKey::decode(&longer, 1).is_err());
    }

    #[test]
    fn range_bounds_cover_exactly_the_prefix_and_range() {
        let head = IndexKeyHeader::new(1, 2, 2).to_bytes();
        let key = |a: i64, b: i64, pk: i64| {
            RawIndexKey::encode(1, 2, &[Value::Int(a), Value::Int(b)], &[Value::Int(pk)])
        };
        let (lo, hi) = range_bounds(
            &head,
            &[Value::Int(7)],
            Bound::Excluded(&Value::Int(10)),
            Bound::Included(&Value::Int(20)),
        );
        assert!(!within(key(7, 10, 99).as_bytes(), &lo, &hi));
        assert!(within(key(7, 11, 0).as_bytes(), &lo, &hi));
        assert!(within(key(7, 20, i64::MAX).as_bytes(), &lo, &hi));
        assert!(!within(key(7, 21, 0).as_bytes(), &lo, &hi));
        assert!(!within(key(8, 15, 0).as_bytes(), &lo, &hi));
        let (lo, hi) = range_bounds(&head, &[Value::Int(7)], Bound::Unbounded, Bound::Unbounded);
        assert!(within(key(7, i64::MIN, 0).as_bytes(), &lo, &hi));
        assert!(!within(key(6, i64::MAX, 0).as_bytes(), &lo, &hi));
    }
}
