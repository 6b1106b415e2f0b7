//! Reading one WAL file back: records in order, each checked (length,
//! CRC-32C, expected sequence number) before it is handed on, and the
//! verdict on the first bad spot: a torn tail or damage before the tail.
//!
//! The rule: a bad record is a torn tail when no intact record starts
//! anywhere after it (or everything after it is zero bytes); otherwise it is
//! damage. A record whose CRC fails is never handed on. Nothing is changed
//! on disk here.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::wal::{record_crc, MAX_RECORD_BYTES, RECORD_HEADER_LEN, WAL_MAGIC};
use crate::error::{Result, StoreError};

const READ_BUFFER_BYTES: usize = 1 << 18;

/// What was wrong at the first bad spot of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Damage {
    /// Where the bad record (or header) starts.
    pub offset: u64,
    pub reason: String,
    /// Nothing intact follows: an interrupted append.
    pub torn: bool,
    /// Intact records found after the bad spot.
    pub records_after: u64,
}

/// The result of reading one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileScan {
    /// Sequence number of the last good record (the file's start if none).
    pub last_seq: u64,
    pub records: u64,
    /// File size on disk.
    pub file_len: u64,
    /// The first bad spot, if any; the intact part ends at its offset.
    pub damage: Option<Damage>,
}

impl FileScan {
    /// Where the intact part of the file ends.
    pub fn intact_len(&self) -> u64 {
        self.damage.as_ref().map_or(self.file_len, |d| d.offset)
    }
}

struct Header {
    len: u32,
    crc: u32,
    seq: u64,
}

fn parse_header(bytes: &[u8; RECORD_HEADER_LEN]) -> Header {
    let [l0, l1, l2, l3, c0, c1, c2, c3, s0, s1, s2, s3, s4, s5, s6, s7] = *bytes;
    Header {
        len: u32::from_le_bytes([l0, l1, l2, l3]),
        crc: u32::from_le_bytes([c0, c1, c2, c3]),
        seq: u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]),
    }
}

/// Reads `path`, whose records must be `start + 1, start + 2, ...`, and
/// calls `apply(seq, payload)` on each intact one in order. `apply` may
/// refuse a record (it does not decode or does not fit the state): that is
/// damage too, at the record's offset.
pub(crate) fn scan_file(
    path: &Path,
    start: u64,
    mut apply: impl FnMut(u64, &[u8]) -> Result<(), String>,
) -> Result<FileScan> {
    let io_err = |e| StoreError::io(path, e);
    let file = File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    let mut reader = BufReader::with_capacity(READ_BUFFER_BYTES, file);
    let mut scan = FileScan {
        last_seq: start,
        records: 0,
        file_len,
        damage: None,
    };
    if file_len < WAL_MAGIC.len() as u64 {
        scan.damage = Some(classify(
            path,
            0,
            start,
            "the file header is incomplete",
            true,
        )?);
        return Ok(scan);
    }
    let mut magic = [0u8; WAL_MAGIC.len()];
    reader.read_exact(&mut magic).map_err(io_err)?;
    if magic != WAL_MAGIC {
        // Zeros where the header should be: a file created by a cut whose
        // header never reached the disk. Anything else is not ours.
        let unwritten = magic == [0; WAL_MAGIC.len()];
        let reason = "not a keyset WAL file (bad magic)";
        scan.damage = Some(classify(path, 0, start, reason, unwritten)?);
        return Ok(scan);
    }
    let mut offset = WAL_MAGIC.len() as u64;
    let mut payload = Vec::new();
    while offset < file_len {
        let remaining = file_len - offset;
        let expected = scan.last_seq + 1;
        let bad = |reason: String, maybe_torn: bool| {
            classify(path, offset, scan.last_seq, &reason, maybe_torn)
        };
        if remaining < RECORD_HEADER_LEN as u64 {
            scan.damage = Some(bad("the record header is incomplete".into(), true)?);
            break;
        }
        let mut header = [0u8; RECORD_HEADER_LEN];
        reader.read_exact(&mut header).map_err(io_err)?;
        let header = parse_header(&header);
        let record_len = RECORD_HEADER_LEN as u64 + u64::from(header.len);
        if header.len as usize > MAX_RECORD_BYTES {
            let reason = format!(
                "the record declares {} payload bytes, over the limit",
                header.len
            );
            scan.damage = Some(bad(reason, true)?);
            break;
        }
        if record_len > remaining {
            let reason =
                format!("the record declares {record_len} bytes but only {remaining} remain");
            scan.damage = Some(bad(reason, true)?);
            break;
        }
        payload.resize(header.len as usize, 0);
        reader.read_exact(&mut payload).map_err(io_err)?;
        if record_crc(header.len, header.seq, &payload) != header.crc {
            scan.damage = Some(bad("the record fails its CRC-32C check".into(), true)?);
            break;
        }
        if header.seq != expected {
            let reason = format!(
                "the record has sequence number {} where {expected} was expected",
                header.seq
            );
            scan.damage = Some(bad(reason, false)?);
            break;
        }
        if let Err(reason) = apply(header.seq, &payload) {
            scan.damage = Some(bad(
                format!("record {} cannot be replayed: {reason}", header.seq),
                false,
            )?);
            break;
        }
        scan.last_seq = header.seq;
        scan.records += 1;
        offset += record_len;
    }
    Ok(scan)
}

/// Decides whether the bad spot at `offset` is a torn tail: only a spot
/// that could be an interrupted append (`maybe_torn`) and that nothing
/// intact follows.
fn classify(
    path: &Path,
    offset: u64,
    last_seq: u64,
    reason: &str,
    maybe_torn: bool,
) -> Result<Damage> {
    let mut file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut rest = Vec::new();
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_to_end(&mut rest))
        .map_err(|e| StoreError::io(path, e))?;
    let records_after = count_intact(&rest, 1, last_seq);
    let all_zero = rest.iter().all(|b| *b == 0);
    Ok(Damage {
        offset,
        reason: reason.to_owned(),
        torn: maybe_torn && (records_after == 0 || all_zero),
        records_after,
    })
}

/// The length of an intact record at `bytes[at..]` whose sequence number
/// follows `after_seq` plausibly, if there is one.
fn intact_at(bytes: &[u8], at: usize, after_seq: u64) -> Option<usize> {
    let header: &[u8; RECORD_HEADER_LEN] =
        bytes.get(at..at + RECORD_HEADER_LEN)?.try_into().ok()?;
    let header = parse_header(header);
    let most_records = (bytes.len() / RECORD_HEADER_LEN) as u64 + 1;
    if header.seq <= after_seq || header.seq - after_seq > most_records {
        return None;
    }
    let end = at + RECORD_HEADER_LEN + header.len as usize;
    let payload = bytes.get(at + RECORD_HEADER_LEN..end)?;
    (record_crc(header.len, header.seq, payload) == header.crc).then_some(end - at)
}

/// Intact records in `bytes`, searched from every position from `from` on:
/// a record found is skipped whole, anything else one byte at a time.
fn count_intact(bytes: &[u8], from: usize, after_seq: u64) -> u64 {
    let mut count = 0;
    let mut at = from;
    while at + RECORD_HEADER_LEN <= bytes.len() {
        match intact_at(bytes, at, after_seq) {
            Some(len) => {
                count += 1;
                at += len;
            }
            None => at += 1,
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut out = len.to_le_bytes().to_vec();
        out.extend_from_slice(&record_crc(len, seq, payload).to_le_bytes());
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(payload);
        out
    }

    fn scan_bytes(bytes: &[u8]) -> FileScan {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal");
        std::fs::write(&path, bytes).unwrap();
        scan_file(&path, 0, |_, _| Ok(())).unwrap()
    }

    fn wal(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = WAL_MAGIC.to_vec();
        for r in records {
            out.extend_from_slice(r);
        }
        out
    }

    #[test]
    fn a_length_field_damaged_to_run_past_the_end_is_damage_not_a_torn_tail() {
        let records: Vec<_> = (1..=3).map(|s| record(s, b"abcdefgh")).collect();
        let mut bytes = wal(&records);
        let second = WAL_MAGIC.len() + records[0].len();
        bytes[second + 3] = 0x7f; // length now far past the end
        let scan = scan_bytes(&bytes);
        let damage = scan.damage.unwrap();
        assert_eq!(damage.offset, second as u64);
        assert!(!damage.torn, "{damage:?}");
        assert_eq!(damage.records_after, 1);
        assert_eq!(scan.records, 1);
    }

    #[test]
    fn zeros_after_the_last_record_are_a_torn_tail() {
        let mut bytes = wal(&[record(1, b"abc")]);
        bytes.extend_from_slice(&[0; 100]);
        let damage = scan_bytes(&bytes).damage.unwrap();
        assert!(damage.torn);
    }

    #[test]
    fn a_header_of_zeros_is_torn_but_a_foreign_header_is_damage() {
        let zeros = scan_bytes(&[0; 40]).damage.unwrap();
        assert!(zeros.torn && zeros.offset == 0);
        let mut foreign = wal(&[record(1, b"abc")]);
        foreign[..8].copy_from_slice(b"NOTAWAL!");
        assert!(!scan_bytes(&foreign).damage.unwrap().torn);
    }

    #[test]
    fn a_valid_record_with_the_wrong_sequence_number_is_damage() {
        let bytes = wal(&[record(1, b"a"), record(3, b"b")]);
        let damage = scan_bytes(&bytes).damage.unwrap();
        assert!(!damage.torn);
        assert!(damage.reason.contains("expected"), "{}", damage.reason);
    }
}
