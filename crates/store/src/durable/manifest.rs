//! The manifest: one generation of the durable state. It names the run
//! files of every map (per table, shard and map, newest first), holds the
//! catalog, and says which WAL position (`seq`) they cover: the state
//! after commit `seq` is exactly those runs, and the WAL from `seq` on
//! holds the rest. Written atomically (temporary file, fsync, rename,
//! fsync of the directory) and closed by a CRC-32C over every byte.
//!
//! This module encodes and decodes one manifest; choosing a generation and
//! removing old files belongs to recovery and the checkpoint.

use std::fs;
use std::path::{Path, PathBuf};

use super::layer::FileLayer;
use crate::bin::{read_varint, write_varint, Reader};
use crate::catalog::Catalog;
use crate::error::{Result, StoreError};
use crate::key::TableId;
use crate::table::MapId;

const MANIFEST_MAGIC: [u8; 8] = *b"KSMANIF\x01";
const CRC_LEN: usize = 4;
/// Most maps and files a manifest may declare (a bound on what a damaged
/// count can make a reader allocate).
const MAX_ENTRIES: u64 = 1 << 24;

/// The run files of one map, newest first, by file number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MapFiles {
    pub table: TableId,
    pub shard: usize,
    pub map: MapId,
    pub files: Vec<u64>,
}

/// One generation: the catalog and run files covering commits `..=seq`.
#[derive(Clone, Debug)]
pub(crate) struct Manifest {
    pub seq: u64,
    pub catalog: Catalog,
    pub maps: Vec<MapFiles>,
}

impl Manifest {
    /// Every run file number it names.
    pub fn files(&self) -> impl Iterator<Item = u64> + '_ {
        self.maps.iter().flat_map(|m| m.files.iter().copied())
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MANIFEST_MAGIC);
        out.extend_from_slice(&self.seq.to_le_bytes());
        let mut catalog = Vec::new();
        self.catalog.encode(&mut catalog);
        write_varint(catalog.len() as u64, &mut out);
        out.extend_from_slice(&catalog);
        write_varint(self.maps.len() as u64, &mut out);
        for m in &self.maps {
            write_varint(u64::from(m.table), &mut out);
            write_varint(m.shard as u64, &mut out);
            write_varint(
                match m.map {
                    MapId::Data => 0,
                    MapId::Index(i) => u64::from(i) + 1,
                },
                &mut out,
            );
            write_varint(m.files.len() as u64, &mut out);
            for f in &m.files {
                write_varint(*f, &mut out);
            }
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes a manifest, checking its checksum before anything else.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        let bad = |offset: usize, reason: String| StoreError::Corrupted {
            file: path.to_path_buf(),
            offset: offset as u64,
            reason,
        };
        if bytes.len() < MANIFEST_MAGIC.len() + 8 + CRC_LEN {
            return Err(bad(
                0,
                format!("a manifest of {} bytes is cut short", bytes.len()),
            ));
        }
        if bytes[..MANIFEST_MAGIC.len()] != MANIFEST_MAGIC {
            return Err(bad(0, "not a keyset manifest (bad magic)".into()));
        }
        let body_len = bytes.len() - CRC_LEN;
        let (body, crc) = bytes.split_at(body_len);
        if crc32c::crc32c(body).to_le_bytes() != crc {
            return Err(bad(body_len, "the manifest fails its checksum".into()));
        }
        let mut r = Reader::new(&body[MANIFEST_MAGIC.len()..]);
        let at = |r: &Reader<'_>| MANIFEST_MAGIC.len() + r.position();
        let codec = |r: &Reader<'_>, e: crate::codec::CodecError| {
            bad(at(r), format!("the manifest does not decode: {}", e.reason))
        };
        let seq = r.u64_le().map_err(|e| codec(&r, e))?;
        let catalog_len = read_varint(&mut r).map_err(|e| codec(&r, e))?;
        let catalog_bytes = r
            .take(usize::try_from(catalog_len).unwrap_or(usize::MAX))
            .map_err(|e| codec(&r, e))?;
        let mut cr = Reader::new(catalog_bytes);
        let catalog = Catalog::decode(&mut cr).map_err(|e| codec(&r, e))?;
        let count = read_varint(&mut r).map_err(|e| codec(&r, e))?;
        if count > MAX_ENTRIES {
            return Err(bad(at(&r), format!("{count} maps is over the limit")));
        }
        let mut maps = Vec::new();
        for _ in 0..count {
            let mut next = || read_varint(&mut r);
            let (Ok(table), Ok(shard), Ok(map), Ok(files)) = (next(), next(), next(), next())
            else {
                return Err(bad(at(&r), "a map entry does not decode".into()));
            };
            if files > MAX_ENTRIES {
                return Err(bad(at(&r), format!("{files} files is over the limit")));
            }
            let mut numbers = Vec::new();
            for _ in 0..files {
                numbers.push(read_varint(&mut r).map_err(|e| codec(&r, e))?);
            }
            let (Ok(table), Ok(shard)) = (TableId::try_from(table), usize::try_from(shard)) else {
                return Err(bad(at(&r), "a map entry is out of range".into()));
            };
            let map = match map {
                0 => MapId::Data,
                i => match u32::try_from(i - 1) {
                    Ok(i) => MapId::Index(i),
                    Err(_) => return Err(bad(at(&r), "an index id is out of range".into())),
                },
            };
            maps.push(MapFiles {
                table,
                shard,
                map,
                files: numbers,
            });
        }
        if !r.is_empty() {
            return Err(bad(at(&r), "bytes follow the last map entry".into()));
        }
        Ok(Manifest { seq, catalog, maps })
    }
}

/// Reads and decodes the manifest at `path`.
pub(crate) fn read(path: &Path) -> Result<Manifest> {
    let bytes = fs::read(path).map_err(|e| StoreError::io(path, e))?;
    Manifest::decode(path, &bytes)
}

/// Writes `manifest-<seq>.mf` atomically; returns its path.
pub(crate) fn write(layer: &dyn FileLayer, dir: &Path, manifest: &Manifest) -> Result<PathBuf> {
    let path = super::files::manifest_path(dir, manifest.seq);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    super::files::write_atomic(layer, dir, &name, &manifest.encode(), false)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_and_any_damaged_byte_is_caught() {
        let m = Manifest {
            seq: 77,
            catalog: Catalog::default(),
            maps: vec![
                MapFiles {
                    table: 3,
                    shard: 1,
                    map: MapId::Index(4),
                    files: vec![9, 2],
                },
                MapFiles {
                    table: 3,
                    shard: 0,
                    map: MapId::Data,
                    files: vec![],
                },
            ],
        };
        let bytes = m.encode();
        let back = Manifest::decode(Path::new("m"), &bytes).unwrap();
        assert_eq!((back.seq, back.maps.clone()), (77, m.maps.clone()));
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(matches!(
                Manifest::decode(Path::new("m"), &damaged),
                Err(StoreError::Corrupted { .. })
            ));
        }
        for cut in 0..bytes.len() {
            assert!(Manifest::decode(Path::new("m"), &bytes[..cut]).is_err());
        }
    }
}
