//! The state of a top-k pass carried by a cursor (`Anchor::SortedPass`):
//! its fields, their bytes, and how many carried rows fit in a token. This
//! file owns the layout only; whether a pass fits the query it resumes is
//! `pass_checks.rs`'s job, and what a page does with it is `crate::page::topk`'s.

use bytes::Bytes;
use keyset_store::bin::{read_varint, varint_len, write_varint, Reader};
use keyset_store::codec::{encode_component, encoded_len};
use keyset_store::Value;

use super::collecting::{buffer_len, decode_buffers, encode_buffer, shrink_buffers};
use super::token::{malformed, read_count, read_key, read_values, write_key, HEADER_LEN, MAC_LEN};
use super::{CarriedBuffer, CursorError, MAX_CURSOR_BYTES};

/// Most bytes an anchor may take for its token text to stay within
/// [`MAX_CURSOR_BYTES`] (base64 turns 3 bytes into 4 characters).
const MAX_ANCHOR_BYTES: usize = MAX_CURSOR_BYTES / 4 * 3 - HEADER_LEN - MAC_LEN;

const HAS_AFTER: u8 = 0b001;
const HAS_SCAN: u8 = 0b010;
const MORE: u8 = 0b100;
const COLLECTING: u8 = 0b1000;

/// One row of a top-k order as a cursor carries it: its ORDER BY values
/// (one per `Plan::order` term) and its `RawDataKey`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortedRow {
    pub values: Vec<Value>,
    pub key: Bytes,
}

/// The progress of a top-k pass, carried from page to page.
///
/// A top-k page is one pass over the access path keeping the best rows
/// after its anchor. A pass that a budget, the deadline or a cancellation
/// cuts cannot know which rows come next, so its page returns the rows it
/// has and hands the pass to the next page, which continues it from `scan`
/// instead of starting again. A pass that finished over several pages may
/// know more rows than one page returns: the next pages return them without
/// a pass. See `docs/pagination.md`, "Budgets on top-k pages".
///
/// Three states: a pass in progress (`scan` set, or `collecting` not
/// empty); the rows a finished pass knows to come next (neither, `best` not
/// empty); a pass not begun that still has OFFSET rows to skip (neither,
/// no `best`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortedPass {
    /// The last row returned or skipped before the pass: the pass looks
    /// only at rows strictly after it (in the page's traversal order).
    /// `None`: from the first row of the result (a first page's pass).
    pub after: Option<SortedRow>,
    /// Where the pass stopped in its access path's key stream, resumed
    /// strictly after: a `RawIndexKey` when the plan reads an index range
    /// in index order, a `RawDataKey` otherwise. `None`: no pass is in
    /// progress.
    pub scan: Option<Bytes>,
    /// The best rows the pass met so far (all of them strictly after
    /// `after`, in traversal order): the first rows of the result after
    /// `after` among those the pass has read, as many as a token holds.
    pub best: Vec<SortedRow>,
    /// Whether the pass met rows after the last of `best` that the cursor
    /// does not carry.
    pub more: bool,
    /// OFFSET rows still to skip (only a first page's pass skips any).
    pub offset_left: u64,
    /// The progress of the access path's sort buffers when a budget cut
    /// their collection before the pass consumed a key after `scan` (see
    /// [`super::Collecting`]; their keys lie after `scan`). Empty otherwise.
    pub collecting: Vec<CarriedBuffer>,
}

pub(super) fn encode_pass(pass: &SortedPass, out: &mut Vec<u8>) {
    encode_fixed(pass, out);
    write_varint(pass.best.len() as u64, out);
    for row in &pass.best {
        encode_row(row, out);
    }
}

/// Everything but the carried rows and their count.
fn encode_fixed(pass: &SortedPass, out: &mut Vec<u8>) {
    let mut shape = 0;
    if pass.after.is_some() {
        shape |= HAS_AFTER;
    }
    if pass.scan.is_some() {
        shape |= HAS_SCAN;
    }
    if pass.more {
        shape |= MORE;
    }
    if !pass.collecting.is_empty() {
        shape |= COLLECTING;
    }
    out.push(shape);
    write_varint(pass.offset_left, out);
    let width = pass
        .after
        .as_ref()
        .or(pass.best.first())
        .map_or(0, |row| row.values.len());
    write_varint(width as u64, out);
    if let Some(after) = &pass.after {
        encode_row(after, out);
    }
    if let Some(scan) = &pass.scan {
        write_key(scan, out);
    }
    if !pass.collecting.is_empty() {
        write_varint(pass.collecting.len() as u64, out);
        for buffer in &pass.collecting {
            encode_buffer(buffer, out);
        }
    }
}

/// A row's values (their count is the pass's width, written once) and key.
fn encode_row(row: &SortedRow, out: &mut Vec<u8>) {
    for value in &row.values {
        encode_component(value, out);
    }
    write_key(&row.key, out);
}

fn row_len(row: &SortedRow) -> usize {
    row.values.iter().map(encoded_len).sum::<usize>()
        + varint_len(row.key.len() as u64)
        + row.key.len()
}

pub(super) fn decode_pass(
    reader: &mut Reader<'_>,
    bytes: &[u8],
) -> Result<SortedPass, CursorError> {
    let shape = reader.byte().map_err(malformed)?;
    if shape & !(HAS_AFTER | HAS_SCAN | MORE | COLLECTING) != 0 {
        return Err(CursorError::AnchorMalformed {
            reason: format!("unknown top-k pass shape bits {shape:#010b}"),
        });
    }
    let offset_left = read_varint(reader).map_err(malformed)?;
    let width = read_count(reader, "ORDER BY values per row")?;
    let after = if shape & HAS_AFTER != 0 {
        Some(decode_row(reader, bytes, width)?)
    } else {
        None
    };
    let scan = if shape & HAS_SCAN != 0 {
        Some(read_key(reader)?)
    } else {
        None
    };
    let collecting = if shape & COLLECTING != 0 {
        let buffers = decode_buffers(reader)?;
        if buffers.is_empty() {
            return Err(CursorError::AnchorMalformed {
                reason: "a top-k pass says its sort buffers follow, and none do".into(),
            });
        }
        buffers
    } else {
        Vec::new()
    };
    let count = read_count(reader, "carried rows")?;
    let mut best = Vec::with_capacity(count);
    for _ in 0..count {
        best.push(decode_row(reader, bytes, width)?);
    }
    Ok(SortedPass {
        after,
        scan,
        best,
        more: shape & MORE != 0,
        offset_left,
        collecting,
    })
}

fn decode_row(
    reader: &mut Reader<'_>,
    bytes: &[u8],
    width: usize,
) -> Result<SortedRow, CursorError> {
    let values = read_values(reader, bytes, width)?;
    let key = read_key(reader)?;
    Ok(SortedRow { values, key })
}

/// Drops carried rows from the end of `pass.best` until its token fits in
/// [`MAX_CURSOR_BYTES`], marking `more` when it drops any. A pass that
/// cannot carry even one row while rows remain (or whose anchor and scan
/// position alone are too long) is refused with `TooLarge`.
pub(crate) fn fit_pass(pass: &mut SortedPass) -> Result<(), CursorError> {
    // The buffers' progress takes at most half of the token; the rows get
    // the rest.
    let buffers = pass.collecting.iter().map(buffer_len).sum::<usize>();
    if buffers > MAX_ANCHOR_BYTES / 2 {
        shrink_buffers(&mut pass.collecting, MAX_ANCHOR_BYTES / 2)?;
    }
    let mut fixed = Vec::new();
    encode_fixed(pass, &mut fixed);
    let first = pass.best.first().map_or(0, row_len);
    let mut total = fixed.len();
    let mut kept = 0;
    for row in &pass.best {
        let grown = total + row_len(row);
        if grown + varint_len(kept as u64 + 1) > MAX_ANCHOR_BYTES {
            break;
        }
        total = grown;
        kept += 1;
    }
    if kept < pass.best.len() {
        pass.best.truncate(kept);
        pass.more = true;
    }
    // Rows remain after the scanned part's best, so at least one must be
    // carried: without it the next page would know nothing of that part.
    let needed = if pass.more && kept == 0 {
        fixed.len() + first + 1
    } else {
        total + varint_len(kept as u64)
    };
    if needed > MAX_ANCHOR_BYTES || (pass.more && kept == 0) {
        return Err(CursorError::TooLarge {
            len: (HEADER_LEN + needed + MAC_LEN).div_ceil(3) * 4,
            max: MAX_CURSOR_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(v: i64, text: &str) -> SortedRow {
        SortedRow {
            values: vec![Value::Int(v), Value::from(text)],
            key: Bytes::from(format!("\0\0\0\x07{v}")),
        }
    }

    fn pass(best: Vec<SortedRow>) -> SortedPass {
        SortedPass {
            after: Some(row(1, "a")),
            scan: Some(Bytes::from_static(b"\0\0\0\x07scan")),
            best,
            more: false,
            offset_left: 3,
            collecting: Vec::new(),
        }
    }

    fn encoded(pass: &SortedPass) -> Vec<u8> {
        let mut out = Vec::new();
        encode_pass(pass, &mut out);
        out
    }

    #[test]
    fn a_pass_round_trips_and_refuses_every_prefix() {
        for p in [
            pass(vec![row(2, "b"), row(3, "")]),
            pass(Vec::new()),
            SortedPass {
                after: None,
                scan: None,
                ..pass(vec![row(5, "x")])
            },
            SortedPass {
                collecting: vec![CarriedBuffer {
                    ordinal: 1 << 32,
                    scan: Some(Bytes::from_static(b"\x02scan")),
                    keys: vec![Bytes::from_static(b"\0\0\0\x07k")],
                    more: true,
                }],
                ..pass(vec![row(6, "y")])
            },
        ] {
            let bytes = encoded(&p);
            let mut reader = Reader::new(&bytes);
            assert_eq!(decode_pass(&mut reader, &bytes).unwrap(), p);
            assert!(reader.is_empty());
            for cut in 0..bytes.len() {
                let mut reader = Reader::new(&bytes[..cut]);
                assert!(
                    decode_pass(&mut reader, &bytes[..cut]).is_err(),
                    "a prefix of {cut} bytes decoded"
                );
            }
        }
    }

    #[test]
    fn unknown_shape_bits_are_refused() {
        let mut bytes = encoded(&pass(Vec::new()));
        bytes[0] |= 0b1_0000;
        let mut reader = Reader::new(&bytes);
        assert!(matches!(
            decode_pass(&mut reader, &bytes),
            Err(CursorError::AnchorMalformed { reason }) if reason.contains("shape")
        ));
    }

    #[test]
    fn fitting_drops_rows_from_the_end_and_marks_more() {
        let many: Vec<SortedRow> = (0..2000).map(|v| row(v, "some text")).collect();
        let mut p = pass(many.clone());
        fit_pass(&mut p).unwrap();
        assert!(p.more);
        assert!(!p.best.is_empty() && p.best.len() < many.len());
        assert_eq!(p.best[..], many[..p.best.len()]);
        let len = HEADER_LEN + encoded(&p).len() + MAC_LEN;
        assert!(len.div_ceil(3) * 4 <= MAX_CURSOR_BYTES, "{len}");
        // One more row would not have fitted.
        let mut one_more = p.clone();
        one_more.best.push(many[p.best.len()].clone());
        let len = HEADER_LEN + encoded(&one_more).len() + MAC_LEN;
        assert!(len.div_ceil(3) * 4 > MAX_CURSOR_BYTES, "{len}");

        let mut small = pass(many[..3].to_vec());
        fit_pass(&mut small).unwrap();
        assert!(!small.more);
        assert_eq!(small.best.len(), 3);
    }

    #[test]
    fn a_pass_that_cannot_carry_one_row_is_too_large() {
        let huge = "x".repeat(5000);
        let mut p = pass(vec![row(2, &huge), row(3, &huge)]);
        p.after = Some(row(1, &huge));
        assert!(matches!(
            fit_pass(&mut p),
            Err(CursorError::TooLarge { len, max }) if len > max
        ));
        // Without rows to carry, nothing is lost: the pass fits.
        let mut empty = pass(Vec::new());
        empty.after = Some(row(1, &huge));
        assert!(fit_pass(&mut empty).is_ok());
    }
}
