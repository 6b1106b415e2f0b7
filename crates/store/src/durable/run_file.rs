//! Run files: one immutable sorted run on disk, in checksummed blocks
//! (CRC-32C) closed by a footer that states the versions held and the
//! `seq` range they cover. A run is read back whole and checked block by
//! block before any of it is used; a block whose checksum fails is never
//! decoded.
//!
//! This module writes and reads one file; which files are live belongs to
//! the manifest and the checkpoint.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use super::layer::FileLayer;
use crate::bin::{read_varint, write_varint, Reader};
use crate::error::{Result, StoreError};
use crate::lsm::{Run, RunBuilder};
use crate::row::{decode_row, encode_row, Row};

const RUN_MAGIC: [u8; 8] = *b"KSRUN\0\0\x01";
const FOOTER_MAGIC: [u8; 8] = *b"KSRUNEND";
/// versions, min seq, max seq, block count, blocks end (u64 each), crc
/// (u32), magic.
const FOOTER_LEN: usize = 5 * 8 + 4 + 8;
const BLOCK_HEADER_LEN: usize = 8;
/// A block is cut once its payload passes this many bytes.
pub(crate) const BLOCK_TARGET_BYTES: usize = 64 << 10;
/// Largest block payload a reader accepts.
const MAX_BLOCK_BYTES: usize = 1 << 30;
const TAG_TOMBSTONE: u8 = 0;
const TAG_ROW: u8 = 1;

fn corrupted(path: &Path, offset: usize, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupted {
        file: path.to_path_buf(),
        offset: offset as u64,
        reason: reason.into(),
    }
}

fn write_block(out: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    out.write_all(&(payload.len() as u32).to_le_bytes())?;
    out.write_all(&crc32c::crc32c(payload).to_le_bytes())?;
    out.write_all(payload)
}

/// The bytes of `run` as a file.
pub(crate) fn encode_run(run: &Run, out: &mut impl Write) -> std::io::Result<u64> {
    out.write_all(&RUN_MAGIC)?;
    let mut written = RUN_MAGIC.len();
    let mut block = Vec::with_capacity(BLOCK_TARGET_BYTES + 1024);
    let mut blocks = 0u64;
    for i in 0..run.len() {
        let key = run.key(i);
        write_varint(key.len() as u64, &mut block);
        block.extend_from_slice(key);
        block.extend_from_slice(&run.seq(i).to_le_bytes());
        match run.entry(i) {
            None => block.push(TAG_TOMBSTONE),
            Some(row) => {
                block.push(TAG_ROW);
                let mut encoded = Vec::with_capacity(row.encoded_len());
                encode_row(row.values(), &mut encoded);
                write_varint(encoded.len() as u64, &mut block);
                block.extend_from_slice(&encoded);
            }
        }
        if block.len() >= BLOCK_TARGET_BYTES {
            write_block(out, &block)?;
            written += BLOCK_HEADER_LEN + block.len();
            blocks += 1;
            block.clear();
        }
    }
    if !block.is_empty() {
        write_block(out, &block)?;
        written += BLOCK_HEADER_LEN + block.len();
        blocks += 1;
    }
    let mut footer = Vec::with_capacity(FOOTER_LEN);
    for v in [
        run.len() as u64,
        run.min_seq(),
        run.max_seq(),
        blocks,
        written as u64,
    ] {
        footer.extend_from_slice(&v.to_le_bytes());
    }
    let crc = crc32c::crc32c(&footer);
    footer.extend_from_slice(&crc.to_le_bytes());
    footer.extend_from_slice(&FOOTER_MAGIC);
    out.write_all(&footer)?;
    Ok((written + FOOTER_LEN) as u64)
}

/// Writes `run` to `path` and fsyncs it; returns the file's size. The
/// file becomes live only when a manifest naming it is durable.
pub(crate) fn write_run(layer: &dyn FileLayer, path: &Path, run: &Run) -> Result<u64> {
    let file =
        super::files::create_file(layer, path, false).map_err(|e| StoreError::io(path, e))?;
    let mut out = BufWriter::with_capacity(1 << 18, file);
    let bytes = encode_run(run, &mut out).map_err(|e| StoreError::io(path, e))?;
    let file = out
        .into_inner()
        .map_err(|e| StoreError::io(path, e.into_error()))?;
    layer
        .sync(&file, path)
        .map_err(|e| StoreError::io(path, e))?;
    Ok(bytes)
}

/// Reads the run file at `path`.
pub(crate) fn read_run(path: &Path) -> Result<Arc<Run>> {
    let bytes = fs::read(path).map_err(|e| StoreError::io(path, e))?;
    decode_run(path, &bytes).map(Arc::new)
}

struct Footer {
    versions: u64,
    min_seq: u64,
    max_seq: u64,
    blocks: u64,
    blocks_end: usize,
}

fn read_footer(path: &Path, bytes: &[u8]) -> Result<Footer> {
    if bytes.len() < RUN_MAGIC.len() + FOOTER_LEN {
        return Err(corrupted(
            path,
            0,
            format!(
                "a run file needs at least {} bytes, this one has {}",
                RUN_MAGIC.len() + FOOTER_LEN,
                bytes.len()
            ),
        ));
    }
    if bytes[..RUN_MAGIC.len()] != RUN_MAGIC {
        return Err(corrupted(path, 0, "not a keyset run file (bad magic)"));
    }
    let at = bytes.len() - FOOTER_LEN;
    let footer = &bytes[at..];
    if footer[FOOTER_LEN - 8..] != FOOTER_MAGIC {
        return Err(corrupted(
            path,
            at,
            "the footer is missing (file cut short?)",
        ));
    }
    let body = &footer[..40];
    let stored = u32::from_le_bytes([footer[40], footer[41], footer[42], footer[43]]);
    if crc32c::crc32c(body) != stored {
        return Err(corrupted(path, at, "the footer fails its checksum"));
    }
    let mut r = Reader::new(body);
    let mut next = || r.u64_le().map_err(|_| corrupted(path, at, "short footer"));
    let footer = Footer {
        versions: next()?,
        min_seq: next()?,
        max_seq: next()?,
        blocks: next()?,
        blocks_end: usize::try_from(next()?).unwrap_or(usize::MAX),
    };
    if footer.blocks_end != at {
        return Err(corrupted(
            path,
            at,
            format!(
                "the footer says the blocks end at byte {}, but the footer starts at {at}",
                footer.blocks_end
            ),
        ));
    }
    Ok(footer)
}

/// Decodes a whole run file, checking every block's checksum, the order
/// of its versions and the footer's counts.
pub(crate) fn decode_run(path: &Path, bytes: &[u8]) -> Result<Run> {
    let footer = read_footer(path, bytes)?;
    let mut builder = RunBuilder::with_capacity(
        usize::try_from(footer.versions.min(bytes.len() as u64)).unwrap_or(0),
        bytes.len() / 2,
    );
    let mut pos = RUN_MAGIC.len();
    let mut blocks = 0u64;
    let mut last: Option<(Vec<u8>, u64)> = None;
    while pos < footer.blocks_end {
        let block_at = pos;
        if footer.blocks_end - pos < BLOCK_HEADER_LEN {
            return Err(corrupted(path, block_at, "a block header is cut short"));
        }
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        let crc = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        pos += BLOCK_HEADER_LEN;
        if len > MAX_BLOCK_BYTES || len > footer.blocks_end - pos {
            return Err(corrupted(
                path,
                block_at,
                format!("a block of {len} bytes runs past the end of the blocks"),
            ));
        }
        let payload = &bytes[pos..pos + len];
        if crc32c::crc32c(payload) != crc {
            return Err(corrupted(path, block_at, "a block fails its checksum"));
        }
        decode_block(path, block_at, payload, &mut builder, &mut last)?;
        pos += len;
        blocks += 1;
    }
    let run = builder.finish();
    if blocks != footer.blocks
        || run.len() as u64 != footer.versions
        || (!run.is_empty() && (run.min_seq() != footer.min_seq || run.max_seq() != footer.max_seq))
    {
        return Err(corrupted(
            path,
            footer.blocks_end,
            format!(
                "the footer says {} versions in {} blocks with seqs {}..={}, the blocks hold {} in {blocks}",
                footer.versions,
                footer.blocks,
                footer.min_seq,
                footer.max_seq,
                run.len()
            ),
        ));
    }
    Ok(run)
}

fn decode_block(
    path: &Path,
    block_at: usize,
    payload: &[u8],
    builder: &mut RunBuilder,
    last: &mut Option<(Vec<u8>, u64)>,
) -> Result<()> {
    let mut r = Reader::new(payload);
    let at = |r: &Reader<'_>| block_at + BLOCK_HEADER_LEN + r.position();
    let bad = |r: &Reader<'_>, e: crate::codec::CodecError| {
        corrupted(
            path,
            at(r),
            format!("a version does not decode: {}", e.reason),
        )
    };
    while !r.is_empty() {
        let start = at(&r);
        let key_len = read_varint(&mut r).map_err(|e| bad(&r, e))?;
        let key = r
            .take(usize::try_from(key_len).unwrap_or(usize::MAX))
            .map_err(|e| bad(&r, e))?;
        let seq = r.u64_le().map_err(|e| bad(&r, e))?;
        let entry = match r.byte().map_err(|e| bad(&r, e))? {
            TAG_TOMBSTONE => None,
            TAG_ROW => {
                let row_len = read_varint(&mut r).map_err(|e| bad(&r, e))?;
                let row_bytes = r
                    .take(usize::try_from(row_len).unwrap_or(usize::MAX))
                    .map_err(|e| bad(&r, e))?;
                let mut row_reader = Reader::new(row_bytes);
                let values = decode_row(&mut row_reader).map_err(|e| bad(&r, e))?;
                if !row_reader.is_empty() {
                    return Err(corrupted(path, start, "a row has bytes after its values"));
                }
                Some(Arc::new(Row::new(values)))
            }
            tag => return Err(corrupted(path, start, format!("unknown entry tag {tag}"))),
        };
        let in_order = last.as_ref().is_none_or(|(k, s)| {
            let order = k.as_slice().cmp(key);
            order.is_lt() || (order.is_eq() && *s > seq)
        });
        if !in_order {
            return Err(corrupted(path, start, "versions out of order"));
        }
        builder.push(key, seq, entry);
        *last = Some((key.to_vec(), seq));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn sample(n: u32) -> Run {
        let mut b = RunBuilder::new();
        for k in 0..n {
            let entry = (k % 7 != 3).then(|| Arc::new(Row::new(vec![Value::Int(i64::from(k))])));
            b.push(&k.to_be_bytes(), u64::from(k % 5) + 1, entry);
        }
        b.finish()
    }

    fn versions(run: &Run) -> Vec<(Vec<u8>, u64, Option<Vec<Value>>)> {
        (0..run.len())
            .map(|i| {
                (
                    run.key(i).to_vec(),
                    run.seq(i),
                    run.entry(i).as_ref().map(|r| r.values().to_vec()),
                )
            })
            .collect()
    }

    #[test]
    fn a_run_round_trips_through_its_file_across_blocks() {
        for n in [0, 1, 10, 20_000] {
            let run = sample(n);
            let mut bytes = Vec::new();
            encode_run(&run, &mut bytes).unwrap();
            let back = decode_run(Path::new("r"), &bytes).unwrap();
            assert_eq!(versions(&back), versions(&run), "n={n}");
            assert_eq!(
                (back.min_seq(), back.max_seq()),
                (run.min_seq(), run.max_seq())
            );
        }
    }

    #[test]
    fn every_damaged_byte_is_a_typed_error_naming_the_file() {
        let run = sample(40);
        let mut bytes = Vec::new();
        encode_run(&run, &mut bytes).unwrap();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x41;
            match decode_run(Path::new("run-1.run"), &damaged) {
                Err(StoreError::Corrupted { file, offset, .. }) => {
                    assert_eq!(file, Path::new("run-1.run"));
                    assert!(offset as usize <= bytes.len());
                }
                other => panic!("byte {at}: {other:?}"),
            }
        }
        for cut in 0..bytes.len() {
            assert!(
                decode_run(Path::new("r"), &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
    }
}
