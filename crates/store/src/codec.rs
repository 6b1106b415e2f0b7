//! The order-preserving (memcomparable) component codec.
//!
//! Each component is a tag byte and a payload. The bytes of two encoded
//! tuples compare with `memcmp` exactly as the tuples compare logically
//! (ascending, [`Value::compare`] within one column type). Decoding never
//! panics: malformed bytes are a [`CodecError`].

use crate::value::Value;

pub(crate) const TAG_NULL: u8 = 0x01;
pub(crate) const TAG_FALSE: u8 = 0x02;
pub(crate) const TAG_TRUE: u8 = 0x03;
pub(crate) const TAG_INT: u8 = 0x04;
pub(crate) const TAG_FLOAT: u8 = 0x05;
pub(crate) const TAG_TEXT: u8 = 0x06;
pub(crate) const TAG_BYTES: u8 = 0x07;

const ESCAPE: u8 = 0x00;
const ESCAPED_ZERO: u8 = 0xFF;
const TERMINATOR: u8 = 0x00;

/// A malformed encoded key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed key at byte {offset}: {reason}")]
pub struct CodecError {
    pub offset: usize,
    pub reason: &'static str,
}

/// Appends the encoding of one component to `out`.
pub fn encode_component(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(TAG_NULL),
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Int(i) => {
            out.push(TAG_INT);
            out.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Float(f) => {
            out.push(TAG_FLOAT);
            out.extend_from_slice(&float_order_bits(*f).to_be_bytes());
        }
        Value::Text(s) => {
            out.push(TAG_TEXT);
            encode_escaped(s.as_bytes(), out);
        }
        Value::Bytes(b) => {
            out.push(TAG_BYTES);
            encode_escaped(b, out);
        }
    }
}

/// Appends the encodings of all components of a tuple.
pub fn encode_tuple(values: &[Value], out: &mut Vec<u8>) {
    for v in values {
        encode_component(v, out);
    }
}

/// The encoded length of one component, without encoding it.
pub fn encoded_len(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) => 9,
        Value::Text(s) => escaped_len(s.as_bytes()),
        Value::Bytes(b) => escaped_len(b),
    }
}

fn escaped_len(bytes: &[u8]) -> usize {
    1 + bytes.len() + bytes.iter().filter(|b| **b == ESCAPE).count() + 2
}

fn float_order_bits(f: f64) -> u64 {
    let bits = f.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits ^ (1 << 63)
    }
}

fn float_from_order_bits(bits: u64) -> f64 {
    if bits >> 63 == 1 {
        f64::from_bits(bits ^ (1 << 63))
    } else {
        f64::from_bits(!bits)
    }
}

fn encode_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        out.push(b);
        if b == ESCAPE {
            out.push(ESCAPED_ZERO);
        }
    }
    out.push(ESCAPE);
    out.push(TERMINATOR);
}

/// Decodes one component starting at `*pos`, advancing `*pos` past it.
pub fn decode_component(bytes: &[u8], pos: &mut usize) -> Result<Value, CodecError> {
    let start = *pos;
    let tag = *bytes.get(start).ok_or(CodecError {
        offset: start,
        reason: "expected a component, found the end of the key",
    })?;
    *pos += 1;
    match tag {
        TAG_NULL => Ok(Value::Null),
        TAG_FALSE => Ok(Value::Bool(false)),
        TAG_TRUE => Ok(Value::Bool(true)),
        TAG_INT => {
            let raw = read_u64(bytes, pos)?;
            Ok(Value::Int((raw ^ (1 << 63)) as i64))
        }
        TAG_FLOAT => {
            let at = *pos;
            let f = float_from_order_bits(read_u64(bytes, pos)?);
            if f.is_nan() {
                return Err(CodecError {
                    offset: at,
                    reason: "a float component is NaN, which is never stored",
                });
            }
            if f == 0.0 && f.is_sign_negative() {
                return Err(CodecError {
                    offset: at,
                    reason: "a float component is -0.0, which is stored as 0.0",
                });
            }
            Ok(Value::Float(f))
        }
        TAG_TEXT => {
            let at = *pos;
            let raw = decode_escaped(bytes, pos)?;
            String::from_utf8(raw)
                .map(Value::Text)
                .map_err(|_| CodecError {
                    offset: at,
                    reason: "a text component is not valid UTF-8",
                })
        }
        TAG_BYTES => decode_escaped(bytes, pos).map(Value::Bytes),
        _ => Err(CodecError {
            offset: start,
            reason: "unknown component tag",
        }),
    }
}

/// Decodes exactly `count` components starting at `*pos`.
pub fn decode_tuple(bytes: &[u8], pos: &mut usize, count: usize) -> Result<Vec<Value>, CodecError> {
    let mut out = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        out.push(decode_component(bytes, pos)?);
    }
    Ok(out)
}

/// Decodes components until the end of `bytes`.
pub fn decode_all(bytes: &[u8]) -> Result<Vec<Value>, CodecError> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < bytes.len() {
        out.push(decode_component(bytes, &mut pos)?);
    }
    Ok(out)
}

/// Skips one component without building its value; returns its end offset.
pub fn skip_component(bytes: &[u8], pos: usize) -> Result<usize, CodecError> {
    let mut p = pos;
    decode_component(bytes, &mut p)?;
    Ok(p)
}

fn read_u64(bytes: &[u8], pos: &mut usize) -> Result<u64, CodecError> {
    let end = *pos + 8;
    let slice = bytes.get(*pos..end).ok_or(CodecError {
        offset: *pos,
        reason: "a numeric component is cut short",
    })?;
    let mut buf = [0u8; 8];
    buf.copy_from_slice(slice);
    *pos = end;
    Ok(u64::from_be_bytes(buf))
}

fn decode_escaped(bytes: &[u8], pos: &mut usize) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    loop {
        let b = *bytes.get(*pos).ok_or(CodecError {
            offset: *pos,
            reason: "a text or bytes component has no terminator",
        })?;
        *pos += 1;
        if b != ESCAPE {
            out.push(b);
            continue;
        }
        let next = *bytes.get(*pos).ok_or(CodecError {
            offset: *pos,
            reason: "a text or bytes component ends inside an escape",
        })?;
        *pos += 1;
        match next {
            TERMINATOR => return Ok(out),
            ESCAPED_ZERO => out.push(0),
            _ => {
                return Err(CodecError {
                    offset: *pos - 1,
                    reason: "invalid escape: 00 must be followed by 00 or FF",
                })
            }
        }
    }
}

/// The smallest byte string greater than every string that starts with
/// `prefix`, or `None` when no such string exists (all bytes 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last != 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode_component(v, &mut out);
        out
    }

    #[test]
    fn escape_rule_keeps_order_for_zero_and_ff_bytes() {
        let a = enc(&Value::Bytes(vec![1]));
        let b = enc(&Value::Bytes(vec![1, 0]));
        let c = enc(&Value::Bytes(vec![1, 0, 0xFF]));
        let d = enc(&Value::Bytes(vec![1, 0xFF]));
        assert!(a < b && b < c && c < d);
        assert_eq!(b, vec![TAG_BYTES, 1, 0, 0xFF, 0, 0]);
    }

    #[test]
    fn encoded_len_matches_encoding() {
        for v in [
            Value::Null,
            Value::Bool(true),
            Value::Int(-5),
            Value::Float(2.5),
            Value::Text("a\0b".into()),
            Value::Bytes(vec![0, 0, 255]),
        ] {
            assert_eq!(encoded_len(&v), enc(&v).len(), "{v:?}");
        }
    }

    #[test]
    fn malformed_bytes_are_errors() {
        assert!(decode_all(&[0x99]).is_err());
        assert!(decode_all(&[TAG_INT, 1, 2]).is_err());
        assert!(decode_all(&[TAG_TEXT, b'a', 0, 7]).is_err());
        assert!(decode_all(&[TAG_TEXT, 0xC3, 0, 0]).is_err());
        assert!(decode_all(&[TAG_TEXT, b'a']).is_err());
    }

    #[test]
    fn prefix_successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    }
}
