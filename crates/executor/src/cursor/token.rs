//! The token's bytes: the envelope layout, the anchor encoding, the keyed
//! BLAKE3 MAC and the base64url text. This file knows nothing about plans:
//! it checks size, alphabet, magic, version and MAC, and decodes an anchor's
//! structure; whether the anchor fits the query is `validate.rs`'s job.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use keyset_plan::CursorKind;
use keyset_store::bin::{read_varint, write_varint, Reader};
use keyset_store::codec::{decode_component, encode_component, CodecError};
use keyset_store::{Direction, Value, MAX_KEY_BYTES};

use super::collecting::{decode_collecting, encode_collecting};
use super::pass::{decode_pass, encode_pass};
use super::{
    Anchor, CursorError, CursorState, MacKey, ShardPosition, CURSOR_VERSION, MAX_CURSOR_BYTES,
};

/// The two bytes every token starts with.
pub(super) const MAGIC: [u8; 2] = *b"KS";
/// Bytes of the MAC at the end of a token.
pub(super) const MAC_LEN: usize = 16;
/// Bytes before the anchor: magic, version, kind, direction, flags,
/// signature (16), database id (8).
pub(super) const HEADER_LEN: usize = 2 + 1 + 1 + 1 + 1 + 16 + 8;
/// Flag bit 0: a backward (`prev`) cursor.
pub(super) const FLAG_BACKWARD: u8 = 0b0000_0001;
/// Flag bit 1: a snapshot traversal; the header is followed by the
/// snapshot's `seq` (8 bytes, big-endian), under the MAC.
pub(super) const FLAG_SNAPSHOT: u8 = 0b0000_0010;
/// Flag bit 2: the anchor is a top-k pass cut short
/// (`Anchor::SortedPass`; `Sorted` kind only).
pub(super) const FLAG_PASS: u8 = 0b0000_0100;
/// Flag bit 3: the anchor is followed by the OFFSET rows still to skip
/// (`Anchor::KeySkip`, `Anchor::FrontierSkip`).
pub(super) const FLAG_SKIP: u8 = 0b0000_1000;
/// Flag bit 4: the anchor is the progress of a page's sort buffers
/// (`Anchor::Collecting`; `DataKey` kind only).
pub(super) const FLAG_COLLECTING: u8 = 0b0001_0000;
/// Every flag bit a token may set.
pub(super) const KNOWN_FLAGS: u8 =
    FLAG_BACKWARD | FLAG_SNAPSHOT | FLAG_PASS | FLAG_SKIP | FLAG_COLLECTING;
/// Bytes of a snapshot token's `seq`.
const SNAPSHOT_SEQ_LEN: usize = 8;

const FRONTIER_NOT_STARTED: u8 = 0;
const FRONTIER_AFTER: u8 = 1;
const FRONTIER_FINISHED: u8 = 2;

/// An opaque continuation token: base64url text (no padding) of a signed
/// binary envelope. Parsing checks only its size and alphabet; everything
/// else is checked by [`super::open_cursor`] against the query it resumes.
#[derive(Clone, PartialEq, Eq, Debug, Hash)]
pub struct Cursor {
    text: String,
}

impl Cursor {
    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The token text, by value.
    pub fn into_string(self) -> String {
        self.text
    }

    /// The token's bytes (check 1 of DESIGN.md section 6: size, base64url).
    pub(super) fn decode_bytes(&self) -> Result<Vec<u8>, CursorError> {
        decode_text(&self.text)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Cursor {
    type Err = CursorError;

    fn from_str(text: &str) -> Result<Cursor, CursorError> {
        decode_text(text)?;
        Ok(Cursor {
            text: text.to_owned(),
        })
    }
}

fn decode_text(text: &str) -> Result<Vec<u8>, CursorError> {
    if text.is_empty() {
        return Err(CursorError::Empty);
    }
    if text.len() > MAX_CURSOR_BYTES {
        return Err(CursorError::TooLarge {
            len: text.len(),
            max: MAX_CURSOR_BYTES,
        });
    }
    // URL_SAFE_NO_PAD refuses padding and non-zero trailing bits, so each
    // byte string has exactly one accepted text.
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| CursorError::NotBase64)
}

/// The fixed fields of a token whose magic, version and MAC were checked.
#[derive(Debug)]
pub(super) struct Envelope<'a> {
    pub kind: u8,
    pub direction: u8,
    pub flags: u8,
    pub signature: [u8; 16],
    pub database: [u8; 8],
    /// The snapshot's `seq` of a snapshot traversal's token.
    pub snapshot: Option<u64>,
    /// The anchor's bytes, between the header (and `seq`) and the MAC.
    pub anchor: &'a [u8],
}

/// Checks 2 and 3 of DESIGN.md section 6: magic and version, then the MAC
/// over the raw bytes (against `keys` in order, with no early exit).
pub(super) fn open_envelope<'a>(
    bytes: &'a [u8],
    keys: impl Iterator<Item = &'a MacKey>,
) -> Result<Envelope<'a>, CursorError> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(CursorError::BadMagic);
    }
    let version = *bytes.get(MAGIC.len()).ok_or(CursorError::Truncated)?;
    if version != CURSOR_VERSION {
        return Err(CursorError::UnsupportedVersion { found: version });
    }
    if bytes.len() < HEADER_LEN + MAC_LEN {
        return Err(CursorError::Truncated);
    }
    let (signed, mac) = bytes.split_at(bytes.len() - MAC_LEN);
    let mut matched = false;
    for key in keys {
        matched |= macs_equal(&compute_mac(key, signed), mac);
    }
    if !matched {
        return Err(CursorError::BadMac);
    }
    let mut signature = [0u8; 16];
    signature.copy_from_slice(&signed[6..22]);
    let mut database = [0u8; 8];
    database.copy_from_slice(&signed[22..30]);
    let flags = signed[5];
    let (snapshot, anchor) = if flags & FLAG_SNAPSHOT != 0 {
        let seq = signed
            .get(HEADER_LEN..HEADER_LEN + SNAPSHOT_SEQ_LEN)
            .ok_or(CursorError::Truncated)?;
        let mut be = [0u8; SNAPSHOT_SEQ_LEN];
        be.copy_from_slice(seq);
        (
            Some(u64::from_be_bytes(be)),
            &signed[HEADER_LEN + SNAPSHOT_SEQ_LEN..],
        )
    } else {
        (None, &signed[HEADER_LEN..])
    };
    Ok(Envelope {
        kind: signed[3],
        direction: signed[4],
        flags,
        signature,
        database,
        snapshot,
        anchor,
    })
}

/// Encodes and signs `state` with `key`.
pub(super) fn seal(state: &CursorState, key: &MacKey) -> Cursor {
    let mut out = Vec::with_capacity(HEADER_LEN + 64 + MAC_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(CURSOR_VERSION);
    out.push(state.kind.code());
    out.push(direction_code(state.direction));
    let backward = if state.backward { FLAG_BACKWARD } else { 0 };
    let snapshot = if state.snapshot.is_some() {
        FLAG_SNAPSHOT
    } else {
        0
    };
    out.push(backward | snapshot | anchor_flags(&state.anchor));
    out.extend_from_slice(&state.signature.0);
    out.extend_from_slice(&state.database);
    if let Some(seq) = state.snapshot {
        out.extend_from_slice(&seq.to_be_bytes());
    }
    encode_anchor(&state.anchor, &mut out);
    let mac = compute_mac(key, &out);
    out.extend_from_slice(&mac);
    Cursor {
        text: URL_SAFE_NO_PAD.encode(&out),
    }
}

pub(super) fn direction_code(direction: Direction) -> u8 {
    match direction {
        Direction::Asc => 0,
        Direction::Desc => 1,
    }
}

pub(super) fn direction_from_code(code: u8) -> Option<Direction> {
    match code {
        0 => Some(Direction::Asc),
        1 => Some(Direction::Desc),
        _ => None,
    }
}

fn compute_mac(key: &MacKey, signed: &[u8]) -> [u8; MAC_LEN] {
    let hash = blake3::keyed_hash(&key.0, signed);
    let mut mac = [0u8; MAC_LEN];
    mac.copy_from_slice(&hash.as_bytes()[..MAC_LEN]);
    mac
}

/// Compares every byte whatever the first difference (constant time).
fn macs_equal(expected: &[u8; MAC_LEN], found: &[u8]) -> bool {
    if found.len() != MAC_LEN {
        return false;
    }
    let mut diff = 0u8;
    for (a, b) in expected.iter().zip(found) {
        diff |= a ^ b;
    }
    std::hint::black_box(diff) == 0
}

/// The flag bits that say which shape an anchor has.
pub(super) fn anchor_flags(anchor: &Anchor) -> u8 {
    match anchor {
        Anchor::Key(_) | Anchor::Sorted { .. } | Anchor::Frontier(_) => 0,
        Anchor::KeySkip { .. } | Anchor::FrontierSkip { .. } => FLAG_SKIP,
        Anchor::SortedPass(_) => FLAG_PASS,
        Anchor::Collecting(_) => FLAG_COLLECTING,
    }
}

fn encode_anchor(anchor: &Anchor, out: &mut Vec<u8>) {
    match anchor {
        Anchor::Key(key) => write_key(key, out),
        Anchor::KeySkip { key, offset_left } => {
            write_key(key, out);
            write_varint(*offset_left, out);
        }
        Anchor::FrontierSkip {
            positions,
            offset_left,
        } => {
            encode_frontier(positions, out);
            write_varint(*offset_left, out);
        }
        Anchor::SortedPass(pass) => encode_pass(pass, out),
        Anchor::Collecting(state) => encode_collecting(state, out),
        Anchor::Sorted { values, key } => {
            write_varint(values.len() as u64, out);
            for value in values {
                encode_component(value, out);
            }
            write_key(key, out);
        }
        Anchor::Frontier(positions) => encode_frontier(positions, out),
    }
}

pub(super) fn encode_frontier(positions: &[ShardPosition], out: &mut Vec<u8>) {
    write_varint(positions.len() as u64, out);
    for position in positions {
        match position {
            ShardPosition::NotStarted => out.push(FRONTIER_NOT_STARTED),
            ShardPosition::After(key) => {
                out.push(FRONTIER_AFTER);
                write_key(key, out);
            }
            ShardPosition::Finished => out.push(FRONTIER_FINISHED),
        }
    }
}

pub(super) fn write_key(key: &[u8], out: &mut Vec<u8>) {
    write_varint(key.len() as u64, out);
    out.extend_from_slice(key);
}

/// Decodes the anchor's structure for a cursor of `kind` whose flags are
/// `flags`. Whether its keys and values belong to the query is checked by
/// the caller.
pub(super) fn decode_anchor(
    kind: CursorKind,
    flags: u8,
    bytes: &[u8],
) -> Result<Anchor, CursorError> {
    let mut reader = Reader::new(bytes);
    let pass = flags & FLAG_PASS != 0;
    let skip = flags & FLAG_SKIP != 0;
    if flags & FLAG_COLLECTING != 0 {
        if !matches!(kind, CursorKind::DataKey | CursorKind::ShardFrontier) || pass || skip {
            return Err(CursorError::Malformed {
                reason: format!(
                    "flag bits {flags:#010b} do not apply to a cursor of kind {}",
                    kind.name()
                ),
            });
        }
        let state = decode_collecting(&mut reader, kind)?;
        if !reader.is_empty() {
            return Err(CursorError::AnchorMalformed {
                reason: format!("{} trailing bytes after the position", reader.remaining()),
            });
        }
        return Ok(Anchor::Collecting(Box::new(state)));
    }
    let anchor = match (kind, pass, skip) {
        (CursorKind::IndexRange | CursorKind::DataKey, false, false) => {
            Anchor::Key(read_key(&mut reader)?)
        }
        (CursorKind::IndexRange | CursorKind::DataKey, false, true) => {
            let key = read_key(&mut reader)?;
            let offset_left = read_varint(&mut reader).map_err(malformed)?;
            Anchor::KeySkip { key, offset_left }
        }
        (CursorKind::Sorted, false, false) => {
            let count = read_count(&mut reader, "ORDER BY values")?;
            let values = read_values(&mut reader, bytes, count)?;
            let key = read_key(&mut reader)?;
            Anchor::Sorted { values, key }
        }
        (CursorKind::Sorted, true, false) => {
            Anchor::SortedPass(Box::new(decode_pass(&mut reader, bytes)?))
        }
        (CursorKind::ShardFrontier, false, false) => {
            Anchor::Frontier(decode_frontier(&mut reader)?)
        }
        (CursorKind::ShardFrontier, false, true) => {
            let positions = decode_frontier(&mut reader)?;
            let offset_left = read_varint(&mut reader).map_err(malformed)?;
            Anchor::FrontierSkip {
                positions,
                offset_left,
            }
        }
        _ => {
            return Err(CursorError::Malformed {
                reason: format!(
                    "flag bits {flags:#010b} do not apply to a cursor of kind {}",
                    kind.name()
                ),
            })
        }
    };
    if !reader.is_empty() {
        return Err(CursorError::AnchorMalformed {
            reason: format!("{} trailing bytes after the position", reader.remaining()),
        });
    }
    Ok(anchor)
}

pub(super) fn decode_frontier(reader: &mut Reader<'_>) -> Result<Vec<ShardPosition>, CursorError> {
    let count = read_count(reader, "shard positions")?;
    let mut positions = Vec::with_capacity(count);
    for _ in 0..count {
        positions.push(match reader.byte().map_err(malformed)? {
            FRONTIER_NOT_STARTED => ShardPosition::NotStarted,
            FRONTIER_AFTER => ShardPosition::After(read_key(reader)?),
            FRONTIER_FINISHED => ShardPosition::Finished,
            tag => {
                return Err(CursorError::AnchorMalformed {
                    reason: format!("unknown shard position tag {tag}"),
                })
            }
        });
    }
    Ok(positions)
}

/// Reads `count` values in the key codec's encoding.
pub(super) fn read_values(
    reader: &mut Reader<'_>,
    bytes: &[u8],
    count: usize,
) -> Result<Vec<Value>, CursorError> {
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        let mut pos = reader.position();
        let value = decode_component(bytes, &mut pos).map_err(malformed)?;
        reader.take(pos - reader.position()).map_err(malformed)?;
        values.push(value);
    }
    Ok(values)
}

pub(super) fn read_key(reader: &mut Reader<'_>) -> Result<Bytes, CursorError> {
    let len = read_varint(reader).map_err(malformed)?;
    if len > MAX_KEY_BYTES as u64 {
        return Err(CursorError::AnchorMalformed {
            reason: format!("a key of {len} bytes is longer than any key ({MAX_KEY_BYTES})"),
        });
    }
    let key = reader.take(len as usize).map_err(malformed)?;
    Ok(Bytes::copy_from_slice(key))
}

/// Reads a count of items that take at least one byte each, so a forged
/// count can never make us allocate more than the token's size.
pub(super) fn read_count(reader: &mut Reader<'_>, what: &str) -> Result<usize, CursorError> {
    let count = read_varint(reader).map_err(malformed)?;
    if count > reader.remaining() as u64 {
        return Err(CursorError::AnchorMalformed {
            reason: format!("it claims {count} {what}, more than its bytes can hold"),
        });
    }
    Ok(count as usize)
}

pub(super) fn malformed(error: CodecError) -> CursorError {
    CursorError::AnchorMalformed {
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use keyset_store::Value;

    use super::*;
    use crate::cursor::{SortedPass, SortedRow};

    fn round_trip(kind: CursorKind, anchor: Anchor) {
        let mut out = Vec::new();
        encode_anchor(&anchor, &mut out);
        let flags = anchor_flags(&anchor);
        assert_eq!(decode_anchor(kind, flags, &out).unwrap(), anchor);
        // Every strict prefix is refused, never a panic.
        for cut in 0..out.len() {
            assert!(
                matches!(
                    decode_anchor(kind, flags, &out[..cut]),
                    Err(CursorError::AnchorMalformed { .. })
                ),
                "prefix of {cut} bytes accepted"
            );
        }
        out.push(0);
        assert!(matches!(
            decode_anchor(kind, flags, &out),
            Err(CursorError::AnchorMalformed { .. })
        ));
    }

    #[test]
    fn anchors_round_trip_and_refuse_prefixes_and_trailing_bytes() {
        round_trip(
            CursorKind::DataKey,
            Anchor::Key(Bytes::from_static(b"\0\0\0\x07abc")),
        );
        round_trip(
            CursorKind::Sorted,
            Anchor::Sorted {
                values: vec![Value::Null, Value::from("a\0b"), Value::Float(-2.5)],
                key: Bytes::from_static(b"\0\0\0\x07\x04"),
            },
        );
        round_trip(
            CursorKind::ShardFrontier,
            Anchor::Frontier(vec![
                ShardPosition::Finished,
                ShardPosition::After(Bytes::from_static(b"xyz")),
                ShardPosition::NotStarted,
            ]),
        );
        round_trip(
            CursorKind::IndexRange,
            Anchor::KeySkip {
                key: Bytes::from_static(b"I\0\0\0\x07"),
                offset_left: 300,
            },
        );
        round_trip(
            CursorKind::ShardFrontier,
            Anchor::FrontierSkip {
                positions: vec![ShardPosition::After(Bytes::from_static(b"k"))],
                offset_left: 1,
            },
        );
        round_trip(
            CursorKind::Sorted,
            Anchor::SortedPass(Box::new(SortedPass {
                collecting: Vec::new(),
                after: Some(SortedRow {
                    values: vec![Value::Null, Value::Int(4)],
                    key: Bytes::from_static(b"\0\0\0\x07\x04"),
                }),
                scan: Some(Bytes::from_static(b"\0\0\0\x07\x09")),
                best: vec![SortedRow {
                    values: vec![Value::Int(1), Value::Int(9)],
                    key: Bytes::from_static(b"\0\0\0\x07\x09"),
                }],
                more: true,
                offset_left: 0,
            })),
        );
    }

    #[test]
    fn shape_flags_that_do_not_fit_the_kind_are_malformed() {
        for (kind, flags) in [
            (CursorKind::DataKey, FLAG_PASS),
            (CursorKind::Sorted, FLAG_SKIP),
            (CursorKind::ShardFrontier, FLAG_PASS),
            (CursorKind::IndexRange, FLAG_PASS | FLAG_SKIP),
        ] {
            assert!(matches!(
                decode_anchor(kind, flags, &[1, 0]),
                Err(CursorError::Malformed { reason }) if reason.contains("flag")
            ));
        }
    }

    #[test]
    fn forged_counts_and_lengths_are_refused_before_allocating() {
        let mut huge = Vec::new();
        write_varint(u64::MAX, &mut huge);
        for kind in [
            CursorKind::DataKey,
            CursorKind::Sorted,
            CursorKind::ShardFrontier,
        ] {
            assert!(matches!(
                decode_anchor(kind, 0, &huge),
                Err(CursorError::AnchorMalformed { .. })
            ));
        }
        let frontier_with_bad_tag = [1u8, 9];
        assert!(matches!(
            decode_anchor(CursorKind::ShardFrontier, 0, &frontier_with_bad_tag),
            Err(CursorError::AnchorMalformed { reason }) if reason.contains("tag 9")
        ));
    }

    #[test]
    fn mac_comparison_needs_every_byte() {
        let key = MacKey([7; 32]);
        let mac = compute_mac(&key, b"payload");
        assert!(macs_equal(&mac, &mac));
        for i in 0..MAC_LEN {
            let mut other = mac;
            other[i] ^= 1;
            assert!(!macs_equal(&mac, &other));
        }
        assert!(!macs_equal(&mac, &mac[..MAC_LEN - 1]));
        assert_ne!(compute_mac(&MacKey([8; 32]), b"payload"), mac);
    }

    #[test]
    fn text_checks_come_before_bytes() {
        assert_eq!("".parse::<Cursor>(), Err(CursorError::Empty));
        assert_eq!("a+b".parse::<Cursor>(), Err(CursorError::NotBase64));
        assert_eq!("S1M=".parse::<Cursor>(), Err(CursorError::NotBase64));
        // "S1N" decodes but has non-zero trailing bits: refused, so that
        // one byte string has exactly one text.
        assert_eq!("S1N".parse::<Cursor>(), Err(CursorError::NotBase64));
        assert!("S1M".parse::<Cursor>().is_ok());
        let long = "A".repeat(MAX_CURSOR_BYTES + 1);
        assert_eq!(
            long.parse::<Cursor>(),
            Err(CursorError::TooLarge {
                len: MAX_CURSOR_BYTES + 1,
                max: MAX_CURSOR_BYTES
            })
        );
    }
}
