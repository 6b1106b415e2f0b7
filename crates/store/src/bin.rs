//! Small binary helpers shared by the row, catalog, WAL and snapshot
//! encodings: varints, length-prefixed bytes, and a bounds-checked reader
//! that returns errors instead of panicking.

use crate::codec::CodecError;

/// Appends `v` as an unsigned LEB128 varint.
pub fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The number of bytes [`write_varint`] writes for `v`.
pub fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Appends a varint length and the bytes.
pub fn write_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    write_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Appends a length-prefixed UTF-8 string.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    write_bytes(s.as_bytes(), out);
}

/// A cursor over a byte slice whose reads fail cleanly at the end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error at the current position.
    pub fn error(&self, reason: &'static str) -> CodecError {
        CodecError {
            offset: self.pos,
            reason,
        }
    }

    pub fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end of data"))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn take(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        if len > self.remaining() {
            return Err(self.error("a length runs past the end of data"));
        }
        let out = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    pub fn u32_le(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64_le(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// Reads a varint written by [`write_varint`].
pub fn read_varint(reader: &mut Reader<'_>) -> Result<u64, CodecError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = reader.byte()?;
        value |= u64::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(reader.error("varint longer than 10 bytes"))
}

/// Reads a varint length and that many bytes.
pub fn read_bytes<'a>(reader: &mut Reader<'a>) -> Result<&'a [u8], CodecError> {
    let len = read_varint(reader)?;
    let len = usize::try_from(len).map_err(|_| reader.error("length does not fit in memory"))?;
    reader.take(len)
}

/// Reads a length-prefixed UTF-8 string.
pub fn read_str(reader: &mut Reader<'_>) -> Result<String, CodecError> {
    let bytes = read_bytes(reader)?;
    String::from_utf8(bytes.to_vec()).map_err(|_| reader.error("a name is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_truncation_is_an_error() {
        for v in [0, 1, 127, 128, 300, u64::MAX] {
            let mut out = Vec::new();
            write_varint(v, &mut out);
            assert_eq!(out.len(), varint_len(v));
            assert_eq!(read_varint(&mut Reader::new(&out)).unwrap(), v);
            assert!(read_varint(&mut Reader::new(&out[..out.len() - 1])).is_err());
        }
        assert!(read_varint(&mut Reader::new(&[0xFF; 11])).is_err());
    }
}
