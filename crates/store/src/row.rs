//! Rows: kept decoded and shared (`Arc<Row>`) in memory; encoded only for
//! the WAL and snapshots.

use std::sync::Arc;

use crate::bin::{read_bytes, read_varint, write_bytes, write_varint, Reader};
use crate::codec::CodecError;
use crate::value::Value;

/// Largest encoded row, in bytes.
pub const MAX_ROW_BYTES: usize = 16 << 20;

/// One stored row: its values in the table's column order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    values: Box<[Value]>,
}

/// A shared row, as held by data maps and index entries.
pub type RowRef = Arc<Row>;

impl Row {
    pub fn new(values: Vec<Value>) -> Row {
        Row {
            values: values.into_boxed_slice(),
        }
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn get(&self, column: usize) -> Option<&Value> {
        self.values.get(column)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The size of the row's encoded form.
    pub fn encoded_len(&self) -> usize {
        encoded_row_len(&self.values)
    }
}

const ROW_NULL: u8 = 0;
const ROW_FALSE: u8 = 1;
const ROW_TRUE: u8 = 2;
const ROW_INT: u8 = 3;
const ROW_FLOAT: u8 = 4;
const ROW_TEXT: u8 = 5;
const ROW_BYTES: u8 = 6;

/// Appends the encoded form of a row (count, then each value).
pub fn encode_row(values: &[Value], out: &mut Vec<u8>) {
    write_varint(values.len() as u64, out);
    for v in values {
        match v {
            Value::Null => out.push(ROW_NULL),
            Value::Bool(false) => out.push(ROW_FALSE),
            Value::Bool(true) => out.push(ROW_TRUE),
            Value::Int(i) => {
                out.push(ROW_INT);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Float(f) => {
                out.push(ROW_FLOAT);
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            Value::Text(s) => {
                out.push(ROW_TEXT);
                write_bytes(s.as_bytes(), out);
            }
            Value::Bytes(b) => {
                out.push(ROW_BYTES);
                write_bytes(b, out);
            }
        }
    }
}

/// The encoded length of a row, without encoding it.
pub fn encoded_row_len(values: &[Value]) -> usize {
    let mut len = crate::bin::varint_len(values.len() as u64);
    for v in values {
        len += 1 + match v {
            Value::Null | Value::Bool(_) => 0,
            Value::Int(_) | Value::Float(_) => 8,
            Value::Text(s) => crate::bin::varint_len(s.len() as u64) + s.len(),
            Value::Bytes(b) => crate::bin::varint_len(b.len() as u64) + b.len(),
        };
    }
    len
}

/// Decodes one row written by [`encode_row`].
pub fn decode_row(reader: &mut Reader<'_>) -> Result<Vec<Value>, CodecError> {
    let count = read_varint(reader)?;
    if count > reader.remaining() as u64 {
        return Err(reader.error("row has more values than bytes"));
    }
    let mut values = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let tag = reader.byte()?;
        values.push(match tag {
            ROW_NULL => Value::Null,
            ROW_FALSE => Value::Bool(false),
            ROW_TRUE => Value::Bool(true),
            ROW_INT => Value::Int(i64::from_le_bytes(reader.array()?)),
            ROW_FLOAT => {
                let f = f64::from_bits(u64::from_le_bytes(reader.array()?));
                if f.is_nan() {
                    return Err(reader.error("row holds a NaN float"));
                }
                Value::Float(f)
            }
            ROW_TEXT => {
                let bytes = read_bytes(reader)?;
                Value::Text(
                    String::from_utf8(bytes.to_vec())
                        .map_err(|_| reader.error("row text is not UTF-8"))?,
                )
            }
            ROW_BYTES => Value::Bytes(read_bytes(reader)?.to_vec()),
            _ => return Err(reader.error("unknown row value tag")),
        });
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip() {
        let values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-7),
            Value::Float(1.25),
            Value::from("héllo"),
            Value::Bytes(vec![0, 255]),
        ];
        let mut out = Vec::new();
        encode_row(&values, &mut out);
        assert_eq!(out.len(), encoded_row_len(&values));
        let mut reader = Reader::new(&out);
        assert_eq!(decode_row(&mut reader).unwrap(), values);
        assert_eq!(reader.remaining(), 0);
        let mut short = Reader::new(&out[..out.len() - 1]);
        assert!(decode_row(&mut short).is_err());
    }
}
