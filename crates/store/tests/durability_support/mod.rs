//! Helpers shared by the durability suites: a small schema, numbered
//! batches whose rows can be checked whole, and a reader of WAL record
//! offsets so tests can damage exactly the bytes they mean to.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use keyset_store::durable::{Options, RecoveryReport, SyncMode};
use keyset_store::{
    Batch, ColumnDef, ColumnType, DurableStore, IndexSpec, Store, StoreError, TableSpec, Value,
};

/// Rows each numbered batch writes.
pub const ROWS_PER_BATCH: i64 = 3;

pub fn options(sync: SyncMode) -> Options {
    Options {
        sync,
        ..Options::default()
    }
}

pub fn open(dir: &Path, options: Options) -> (DurableStore, RecoveryReport) {
    DurableStore::open(dir, options).unwrap()
}

pub fn open_err(dir: &Path, options: Options) -> StoreError {
    match DurableStore::open(dir, options) {
        Ok(_) => panic!("{} opened, but an error was expected", dir.display()),
        Err(e) => e,
    }
}

/// `items (id INT PRIMARY KEY, batch INT, label TEXT)` with an index on
/// `batch`, over two shards.
pub fn create_items(store: &Store) {
    let spec = TableSpec::new(
        "items",
        vec![
            ColumnDef::new("id", ColumnType::Int),
            ColumnDef::new("batch", ColumnType::Int),
            ColumnDef::new("label", ColumnType::Text),
        ],
        &["id"],
    )
    .shards(2);
    store.create_table(&spec).unwrap();
    store
        .create_index(&IndexSpec::new("by_batch", "items", &["batch"]))
        .unwrap();
}

/// Batch `n` puts rows `n * ROWS_PER_BATCH ..` into `items`.
pub fn write_batch(store: &Store, n: i64) -> u64 {
    let mut batch = Batch::new();
    for i in 0..ROWS_PER_BATCH {
        batch.put(
            "items",
            vec![
                Value::Int(n * ROWS_PER_BATCH + i),
                Value::Int(n),
                Value::from(format!("batch {n} row {i}")),
            ],
        );
    }
    store.commit(&batch).unwrap().seq
}

/// Rows of `items` per batch number.
pub fn batches(store: &Store) -> BTreeMap<i64, i64> {
    let view = store.read();
    let Some(table) = view.table("items") else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for shard in table.shard_views() {
        for (_, row) in shard.data().iter() {
            let Some(Value::Int(batch)) = row.get(1) else {
                panic!("row without a batch number: {row:?}");
            };
            *out.entry(*batch).or_insert(0) += 1;
        }
    }
    out
}

/// Asserts that exactly batches `0..count` are present, each whole, and
/// that the index agrees with the data.
pub fn assert_batches(store: &Store, count: i64) {
    let found = batches(store);
    let expected: BTreeMap<i64, i64> = (0..count).map(|n| (n, ROWS_PER_BATCH)).collect();
    assert_eq!(found, expected, "batches present (number -> rows)");
    let view = store.read();
    if let Some(table) = view.table("items") {
        let index = table.def().index_by_name("by_batch").unwrap().id;
        let entries: usize = table
            .shard_views()
            .iter()
            .map(|s| s.index(index).unwrap().len())
            .sum();
        assert_eq!(entries, table.len(), "index entries match rows");
    }
}

/// Files of `dir` whose names start with `prefix`, sorted.
pub fn files_with_prefix(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    out.sort();
    out
}

pub fn wal_files(dir: &Path) -> Vec<PathBuf> {
    files_with_prefix(dir, "wal-")
}

pub fn snapshot_files(dir: &Path) -> Vec<PathBuf> {
    files_with_prefix(dir, "snapshot-")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "snap"))
        .collect()
}

pub fn manifest_files(dir: &Path) -> Vec<PathBuf> {
    files_with_prefix(dir, "manifest-")
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mf"))
        .collect()
}

pub fn run_files(dir: &Path) -> Vec<PathBuf> {
    files_with_prefix(dir, "run-")
}

/// The one WAL file of `dir`.
pub fn only_wal(dir: &Path) -> PathBuf {
    let wals = wal_files(dir);
    assert_eq!(wals.len(), 1, "expected one WAL file: {wals:?}");
    wals.into_iter().next().unwrap()
}

/// `(offset, length)` of every record of a WAL file, read from the bytes
/// with the documented layout (8-byte magic, then `[len u32][crc u32][seq
/// u64][payload]` records).
pub fn record_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(&bytes[..8], b"KSWAL\0\0\x01");
    let mut out = Vec::new();
    let mut at = 8;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        out.push((at, 16 + len));
        at += 16 + len;
    }
    assert_eq!(at, bytes.len(), "the WAL ends on a record boundary");
    out
}

pub fn long_tests() -> bool {
    std::env::var_os("KEYSET_LONG_TESTS").is_some()
}
