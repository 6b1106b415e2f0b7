//! Snapshot files, the format of older versions (manifests and run files
//! replace them): the catalog and every row of every table after one
//! commit, closed by a BLAKE3 checksum over all bytes before it. Still
//! read on open; written only by tests. A snapshot is checked whole before
//! any of it is used.
//!
//! This module writes and reads one file; choosing which snapshot to use
//! and removing old ones belongs to recovery and the checkpoint.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
#[cfg(test)]
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[cfg(test)]
use super::files::{self, snapshot_path, temp_path};
#[cfg(test)]
use crate::bin::write_varint;
use crate::bin::Reader;
use crate::catalog::Catalog;
use crate::error::{Result, StoreError};
use crate::key::TableId;
#[cfg(test)]
use crate::row::encode_row;
use crate::row::{decode_row, Row, RowRef, MAX_ROW_BYTES};
use crate::store::Store;
#[cfg(test)]
use crate::store::StoreState;

const SNAPSHOT_MAGIC: [u8; 8] = *b"KSSNAP\0\x01";
const HEADER_LEN: u64 = 16;
const CHECKSUM_LEN: u64 = 32;
/// Largest encoded catalog a snapshot may declare.
const MAX_CATALOG_BYTES: u64 = 64 << 20;
const IO_BUFFER_BYTES: usize = 1 << 18;

#[cfg(test)]
/// What a snapshot holds, collected with writers paused.
#[derive(Debug)]
pub(crate) struct SnapshotContent {
    pub seq: u64,
    pub catalog: Catalog,
    pub tables: Vec<(TableId, Vec<RowRef>)>,
}

#[cfg(test)]
impl SnapshotContent {
    /// Takes the catalog and shares every row (no encoding: that happens
    /// after writers resume).
    pub fn collect(seq: u64, state: &StoreState) -> SnapshotContent {
        let tables = state
            .tables()
            .map(|table| {
                let mut rows = Vec::new();
                for shard in 0..table.shards().len() {
                    if let Some(map) = table.data_map(shard) {
                        map.map()
                            .for_each(table.seq(), |_, row| rows.push(row.clone()));
                    }
                }
                (table.def().id, rows)
            })
            .collect();
        SnapshotContent {
            seq,
            catalog: state.catalog().clone(),
            tables,
        }
    }
}

#[cfg(test)]
/// A writer that hashes and counts what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: blake3::Hasher,
    written: u64,
}

#[cfg(test)]
impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
fn write_body(content: &SnapshotContent, out: &mut impl Write) -> io::Result<()> {
    let mut scratch = Vec::new();
    out.write_all(&SNAPSHOT_MAGIC)?;
    out.write_all(&content.seq.to_le_bytes())?;
    let mut catalog = Vec::new();
    content.catalog.encode(&mut catalog);
    write_varint(catalog.len() as u64, &mut scratch);
    scratch.extend_from_slice(&catalog);
    write_varint(content.tables.len() as u64, &mut scratch);
    out.write_all(&scratch)?;
    let mut row = Vec::new();
    for (table, rows) in &content.tables {
        scratch.clear();
        write_varint(u64::from(*table), &mut scratch);
        write_varint(rows.len() as u64, &mut scratch);
        out.write_all(&scratch)?;
        for r in rows {
            row.clear();
            encode_row(r.values(), &mut row);
            scratch.clear();
            write_varint(row.len() as u64, &mut scratch);
            out.write_all(&scratch)?;
            out.write_all(&row)?;
        }
    }
    Ok(())
}

#[cfg(test)]
/// Writes the whole file at `temp` and fsyncs it; returns its size.
fn write_file(content: &SnapshotContent, temp: &Path) -> io::Result<u64> {
    let file = files::create_file(&super::layer::RealFiles, temp, false)?;
    let mut out = HashingWriter {
        inner: BufWriter::with_capacity(IO_BUFFER_BYTES, file),
        hasher: blake3::Hasher::new(),
        written: 0,
    };
    write_body(content, &mut out)?;
    let HashingWriter {
        mut inner,
        hasher,
        written,
    } = out;
    inner.write_all(hasher.finalize().as_bytes())?;
    let file = inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(written + CHECKSUM_LEN)
}

#[cfg(test)]
/// Writes `snapshot-<seq>.snap` atomically (temporary file, fsync, rename,
/// fsync the directory); returns its path and size.
pub(crate) fn write(dir: &Path, content: &SnapshotContent) -> Result<(PathBuf, u64)> {
    let path = snapshot_path(dir, content.seq);
    let temp = temp_path(&path);
    let bytes = write_file(content, &temp).map_err(|e| {
        let _ = fs::remove_file(&temp);
        StoreError::io(&temp, e)
    })?;
    fs::rename(&temp, &path).map_err(|e| StoreError::io(&path, e))?;
    files::sync_dir(&super::layer::RealFiles, dir)?;
    Ok((path, bytes))
}

/// A reader that counts its position, for offsets in error messages.
struct CountingReader<R: Read> {
    inner: R,
    pos: u64,
    path: PathBuf,
}

impl<R: Read> CountingReader<R> {
    fn corrupted(&self, offset: u64, reason: impl Into<String>) -> StoreError {
        StoreError::Corrupted {
            file: self.path.clone(),
            offset,
            reason: reason.into(),
        }
    }

    fn exact(&mut self, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => {
                    self.corrupted(self.pos, "the file ends inside an item")
                }
                _ => StoreError::io(&self.path, e),
            })?;
        self.pos += len as u64;
        Ok(buf)
    }

    fn varint(&mut self) -> Result<u64> {
        let at = self.pos;
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let [b] = <[u8; 1]>::try_from(self.exact(1)?.as_slice())
                .map_err(|_| self.corrupted(at, "short read"))?;
            value |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.corrupted(at, "a varint is longer than 10 bytes"))
    }

    fn u64_le(&mut self) -> Result<u64> {
        let bytes = self.exact(8)?;
        let array = <[u8; 8]>::try_from(bytes.as_slice())
            .map_err(|_| self.corrupted(self.pos, "short read"))?;
        Ok(u64::from_le_bytes(array))
    }
}

/// Checks the whole file against its trailing checksum.
fn verify_checksum(path: &Path, file_len: u64) -> Result<()> {
    let io_err = |e| StoreError::io(path, e);
    let corrupted = |offset, reason: String| StoreError::Corrupted {
        file: path.to_path_buf(),
        offset,
        reason,
    };
    if file_len < HEADER_LEN + CHECKSUM_LEN {
        return Err(corrupted(
            0,
            format!("the file is {file_len} bytes, too short for a snapshot"),
        ));
    }
    let body_len = file_len - CHECKSUM_LEN;
    let mut reader = BufReader::with_capacity(IO_BUFFER_BYTES, File::open(path).map_err(io_err)?);
    let mut hasher = blake3::Hasher::new();
    let copied = io::copy(&mut (&mut reader).take(body_len), &mut hasher).map_err(io_err)?;
    let mut stored = [0u8; CHECKSUM_LEN as usize];
    reader.read_exact(&mut stored).map_err(io_err)?;
    if copied != body_len || hasher.finalize().as_bytes() != &stored {
        return Err(corrupted(
            body_len,
            format!("the BLAKE3 checksum stored at byte {body_len} does not match bytes 0..{body_len}; the damage may be anywhere before it"),
        ));
    }
    Ok(())
}

/// Loads a snapshot into a fresh store after checking its checksum; `seq`
/// is the sequence number its file name promises.
pub(crate) fn load(
    path: &Path,
    seq: u64,
    options: &crate::maintenance::StoreOptions,
) -> Result<Arc<Store>> {
    let file_len = fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .len();
    verify_checksum(path, file_len)?;
    let file = File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut input = CountingReader {
        inner: BufReader::with_capacity(IO_BUFFER_BYTES, file.take(file_len - CHECKSUM_LEN)),
        pos: 0,
        path: path.to_path_buf(),
    };
    if input.exact(SNAPSHOT_MAGIC.len())? != SNAPSHOT_MAGIC {
        return Err(input.corrupted(0, "not a keyset snapshot (bad magic)"));
    }
    let header_seq = input.u64_le()?;
    if header_seq != seq {
        return Err(input.corrupted(
            8,
            format!("the header says seq {header_seq} but the file name says {seq}"),
        ));
    }
    let at = input.pos;
    let catalog_len = input.varint()?;
    if catalog_len > MAX_CATALOG_BYTES {
        return Err(input.corrupted(
            at,
            format!("the catalog declares {catalog_len} bytes, over the limit"),
        ));
    }
    let at = input.pos;
    let bytes = input.exact(catalog_len as usize)?;
    let mut reader = Reader::new(&bytes);
    let catalog = Catalog::decode(&mut reader).map_err(|e| {
        input.corrupted(
            at + e.offset as u64,
            format!("the catalog does not decode: {}", e.reason),
        )
    })?;
    if !reader.is_empty() {
        return Err(input.corrupted(at, "bytes left over after the catalog"));
    }
    let store = Arc::new(Store::with_options(options.clone()));
    let table_count = catalog.tables().count() as u64;
    let mut restored: HashMap<TableId, Vec<RowRef>> = HashMap::new();
    let declared = input.varint()?;
    if declared != table_count {
        return Err(input.corrupted(
            input.pos,
            format!("{declared} table sections for {table_count} tables"),
        ));
    }
    for _ in 0..table_count {
        let at = input.pos;
        let id = u32::try_from(input.varint()?)
            .map_err(|_| input.corrupted(at, "table id over 32 bits"))?;
        let def = catalog.table_by_id(id).cloned().ok_or_else(|| {
            input.corrupted(
                at,
                format!("rows for table id {id}, which the catalog lacks"),
            )
        })?;
        let rows = input.varint()?;
        for _ in 0..rows {
            let at = input.pos;
            let len = input.varint()?;
            if len > MAX_ROW_BYTES as u64 {
                return Err(
                    input.corrupted(at, format!("a row declares {len} bytes, over the limit"))
                );
            }
            let bytes = input.exact(len as usize)?;
            let mut reader = Reader::new(&bytes);
            let values = decode_row(&mut reader).map_err(|e| {
                input.corrupted(
                    at + e.offset as u64,
                    format!("a row does not decode: {}", e.reason),
                )
            })?;
            if values.len() != def.columns.len() || !reader.is_empty() {
                return Err(input.corrupted(at, format!("a row does not fit table `{}`", def.name)));
            }
            restored
                .entry(id)
                .or_default()
                .push(Arc::new(Row::new(values)));
        }
    }
    let end = input.pos;
    store
        .restore(catalog, restored, seq)
        .map_err(|e| input.corrupted(end, format!("a row's key does not encode: {}", e.reason)))?;
    if input.pos != file_len - CHECKSUM_LEN {
        return Err(input.corrupted(input.pos, "bytes left over after the last table"));
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Batch;
    use crate::catalog::{ColumnDef, IndexSpec, TableSpec};
    use crate::value::{ColumnType, Value};

    #[test]
    fn a_snapshot_round_trips_rows_indexes_and_the_id_counter() {
        let store = Store::new();
        let spec = TableSpec::new(
            "t",
            vec![
                ColumnDef::new("id", ColumnType::Int),
                ColumnDef::new("v", ColumnType::Text),
            ],
            &["id"],
        )
        .shards(3);
        store.create_table(&spec).unwrap();
        store
            .create_index(&IndexSpec::new("by_v", "t", &["v"]))
            .unwrap();
        store
            .create_index(&IndexSpec::new("gone", "t", &["v"]))
            .unwrap();
        store.drop_index("t", "gone").unwrap();
        let mut batch = Batch::new();
        for i in 0..50 {
            batch.put("t", vec![Value::Int(i), Value::from(format!("v{}", i % 7))]);
        }
        store.commit(&batch).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let content = store.with_writers_paused(SnapshotContent::collect);
        let (path, bytes) = write(dir.path(), &content).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), bytes);
        let loaded = load(&path, content.seq, &Default::default()).unwrap();
        assert_eq!(loaded.last_seq(), store.last_seq());
        let (a, b) = (store.read(), loaded.read());
        assert_eq!(a.catalog(), b.catalog());
        assert_eq!(b.catalog().next_id(), a.catalog().next_id());
        let (ta, tb) = (a.table("t").unwrap(), b.table("t").unwrap());
        assert_eq!(tb.len(), 50);
        let index = tb.def().index_by_name("by_v").unwrap().id;
        for (sa, sb) in ta.shard_views().iter().zip(tb.shard_views()) {
            let keys = |m: &crate::view::MapView| m.iter().map(|(k, _)| k).collect::<Vec<_>>();
            assert_eq!(keys(sa.data()), keys(sb.data()));
            assert_eq!(
                keys(sa.index(index).unwrap()),
                keys(sb.index(index).unwrap())
            );
        }
    }
}
