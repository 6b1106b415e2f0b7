//! Which fields of a CSV record were written in quotes. The `csv` crate
//! returns a field's text only, and an empty field reads the same whether
//! it was written `,,` (NULL) or `,"",` (the empty string); so the bytes the
//! reader consumed are kept ([`Tee`]) and the start of each record is
//! scanned again here, with the same rules (`,` separates, `"` quotes, `""`
//! inside quotes is one quote). It does not convert values.

use std::io::{self, Read};

/// A reader that keeps what it has read since the last [`Tee::forget_before`].
#[derive(Debug)]
pub struct Tee<R> {
    inner: R,
    kept: Vec<u8>,
    /// The offset in the stream of `kept[0]`.
    base: u64,
}

impl<R> Tee<R> {
    pub fn new(inner: R) -> Tee<R> {
        Tee {
            inner,
            kept: Vec::new(),
            base: 0,
        }
    }

    /// The bytes from stream offset `at` on that are still kept.
    pub fn from(&self, at: u64) -> &[u8] {
        let skip = usize::try_from(at.saturating_sub(self.base)).unwrap_or(usize::MAX);
        self.kept.get(skip..).unwrap_or(&[])
    }

    /// Drops the bytes before stream offset `at` (memory stays bounded by
    /// the reader's buffer and one record).
    pub fn forget_before(&mut self, at: u64) {
        let drop = usize::try_from(at.saturating_sub(self.base))
            .unwrap_or(usize::MAX)
            .min(self.kept.len());
        self.kept.drain(..drop);
        self.base += drop as u64;
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.kept.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// For each of the first `count` fields of the record that `raw` starts
/// with, whether it was written in quotes.
pub fn quoted_fields(raw: &[u8], count: usize) -> Vec<bool> {
    let mut out = Vec::with_capacity(count);
    let mut at = 0;
    while out.len() < count {
        let quoted = raw.get(at) == Some(&b'"');
        out.push(quoted);
        if quoted {
            at += 1;
            while at < raw.len() {
                if raw[at] == b'"' {
                    if raw.get(at + 1) == Some(&b'"') {
                        at += 2;
                        continue;
                    }
                    at += 1;
                    break;
                }
                at += 1;
            }
        }
        while at < raw.len() && !matches!(raw[at], b',' | b'\n' | b'\r') {
            at += 1;
        }
        if raw.get(at) != Some(&b',') {
            break;
        }
        at += 1;
    }
    out.resize(count, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_are_told_from_bare_ones() {
        let cases: [(&[u8], usize, Vec<bool>); 6] = [
            (b"1,,\"\"\n2,x,y\n", 3, vec![false, false, true]),
            (
                b"\"a,b\",\"say \"\"hi\"\"\",c\r\n",
                3,
                vec![true, true, false],
            ),
            (b"\"multi\nline\",2\n", 2, vec![true, false]),
            (b"x", 1, vec![false]),
            (b"\"\"", 1, vec![true]),
            // Fewer fields on the line than asked: the rest are bare.
            (b"a\nb,c", 2, vec![false, false]),
        ];
        for (raw, count, expected) in cases {
            assert_eq!(quoted_fields(raw, count), expected, "{raw:?}");
        }
    }

    #[test]
    fn the_tee_keeps_what_was_read_until_told_to_forget() {
        let mut tee = Tee::new(io::Cursor::new(b"abcdef".to_vec()));
        let mut buf = [0u8; 4];
        assert_eq!(tee.read(&mut buf).expect("read"), 4);
        assert_eq!(tee.from(1), b"bcd");
        tee.forget_before(2);
        assert_eq!(tee.from(2), b"cd");
        assert_eq!(tee.from(0), b"cd", "forgotten bytes are gone");
        assert_eq!(tee.read(&mut buf).expect("read"), 2);
        assert_eq!(tee.from(3), b"def");
    }
}
