//! The `recovery` fixture: a real data directory written once (DDL and
//! batches, a checkpoint, more batches), taken apart into its WAL records
//! and its generation (manifest and run files), with the store's state
//! after every commit; plus an
//! independent reader of the WAL framing that says which leading records
//! are intact (complete, CRC-32C valid, sequence numbers in order).
//!
//! The formats are those of `docs/durability.md`; this module re-implements
//! the framing on purpose, so the fuzz target does not trust the reader it
//! checks.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use keyset_store::durable::{DurableStore, Options, SyncMode};
use keyset_store::row::encode_row;
use keyset_store::{Batch, ColumnDef, ColumnType, IndexSpec, Store, TableSpec, Value};

/// The first bytes of every WAL file.
pub const WAL_MAGIC: [u8; 8] = *b"KSWAL\0\0\x01";
/// `[len u32][crc32c u32][seq u64]`, little-endian.
pub const RECORD_HEADER_LEN: usize = 16;
/// Bytes of the CRC-32C that ends a manifest.
pub const MANIFEST_CRC_LEN: usize = 4;
/// Database id and MAC key written into every fuzzed directory, so that
/// opening does not have to create them.
pub const DATABASE_ID: [u8; 8] = *b"fuzz-db!";
pub const MAC_KEY: [u8; 32] = [0x4b; 32];

/// `wal-<start, 20 digits>.log`, as `crates/store/src/durable/files.rs` names it.
pub fn wal_name(start: u64) -> String {
    format!("wal-{start:020}.log")
}

/// `manifest-<seq, 20 digits>.mf`.
pub fn manifest_name(seq: u64) -> String {
    format!("manifest-{seq:020}.mf")
}

/// The CRC of a record: over the length field, the seq field and the
/// payload, in that order.
pub fn record_crc(len: u32, seq: u64, payload: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&len.to_le_bytes());
    let crc = crc32c::crc32c_append(crc, &seq.to_le_bytes());
    crc32c::crc32c_append(crc, payload)
}

/// Appends one framed record.
pub fn push_record(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let len = u32::try_from(payload.len()).expect("fuzz payloads are small");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&record_crc(len, seq, payload).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(payload);
}

/// The intact records at the front of a WAL file's bytes whose records must
/// be `start + 1, start + 2, ...`: how many, and where each one ends.
pub fn intact_prefix(bytes: &[u8], start: u64) -> Vec<usize> {
    let mut ends = Vec::new();
    if bytes.len() < WAL_MAGIC.len() || bytes[..WAL_MAGIC.len()] != WAL_MAGIC {
        return ends;
    }
    let mut offset = WAL_MAGIC.len();
    let mut expected = start + 1;
    while let Some(header) = bytes.get(offset..offset + RECORD_HEADER_LEN) {
        let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
        let seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
        let body = offset + RECORD_HEADER_LEN;
        let Some(payload) = bytes.get(body..body + len as usize) else {
            break;
        };
        if record_crc(len, seq, payload) != crc || seq != expected {
            break;
        }
        offset = body + len as usize;
        ends.push(offset);
        expected += 1;
    }
    ends
}

/// What a store holds, comparable: the catalog's encoding, and per table
/// (by id) the data entries (key, encoded row) and the index keys of every
/// shard, in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump {
    pub catalog: Vec<u8>,
    pub tables: Vec<TableDump>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDump {
    pub id: u32,
    pub shards: Vec<ShardDump>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardDump {
    /// (data key, encoded row), in key order.
    pub data: Vec<(Vec<u8>, Vec<u8>)>,
    /// The keys of every index map, index by index.
    pub index_keys: Vec<Vec<u8>>,
}

/// Reads everything a store holds.
pub fn dump(store: &Store) -> Dump {
    let view = store.read();
    let mut catalog = Vec::new();
    view.catalog().encode(&mut catalog);
    let tables = view
        .tables()
        .map(|table| {
            let def = table.def();
            let shards = table
                .shard_views()
                .iter()
                .map(|shard| {
                    let data = shard
                        .data()
                        .iter()
                        .map(|(key, row)| {
                            let mut encoded = Vec::new();
                            encode_row(row.values(), &mut encoded);
                            (key.to_vec(), encoded)
                        })
                        .collect();
                    let mut index_keys = Vec::new();
                    for index in &def.indexes {
                        if let Some(map) = shard.index(index.id) {
                            index_keys.extend(map.iter().map(|(key, _)| key.to_vec()));
                        }
                    }
                    ShardDump { data, index_keys }
                })
                .collect();
            TableDump { id: def.id, shards }
        })
        .collect();
    Dump { catalog, tables }
}

/// The real directory, taken apart.
#[derive(Debug)]
pub struct WalFixture {
    /// The first log: `wal-0.log`, records 1..=n.
    pub log: Vec<u8>,
    /// `states[k]`: the store after commit `k` (`states[0]` is empty).
    pub states: Vec<Dump>,
    /// The manifest written after commit `snapshot_seq`.
    pub manifest: Vec<u8>,
    /// The run files it names: file name and bytes.
    pub runs: Vec<(String, Vec<u8>)>,
    pub snapshot_seq: u64,
    /// The log that follows the manifest: `wal-<snapshot_seq>.log`.
    pub log_after_snapshot: Vec<u8>,
    /// The payloads of every record of both logs, in sequence order.
    pub payloads: Vec<Vec<u8>>,
}

/// Where fuzzed directories go: tmpfs when there is one (fsync is free).
pub fn scratch_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// The fixture, built on first use.
pub fn wal_fixture() -> &'static WalFixture {
    static FIXTURE: OnceLock<WalFixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

fn options() -> Options {
    Options {
        sync: SyncMode::Never,
        checkpoint_wal_bytes: 0,
        ..Options::default()
    }
}

fn commits_before_snapshot(store: &Store, states: &mut Vec<Dump>) {
    let columns = vec![
        ColumnDef::new("id", ColumnType::Int).not_null(),
        ColumnDef::new("name", ColumnType::Text),
        ColumnDef::new("n", ColumnType::Int),
        ColumnDef::new("x", ColumnType::Float),
    ];
    let spec = TableSpec::new("t", columns, &["id"]).shards(2);
    store.create_table(&spec).expect("create table");
    states.push(dump(store));
    store
        .create_index(&IndexSpec::new("t_n", "t", &["n", "name"]))
        .expect("create index");
    states.push(dump(store));
    for round in 0..4i64 {
        let mut batch = Batch::new();
        for i in 0..3 {
            let id = round * 2 + i;
            batch.put(
                "t",
                vec![
                    Value::Int(id),
                    Value::from(format!("row\0{id}")),
                    if id % 3 == 0 {
                        Value::Null
                    } else {
                        Value::Int(id % 4)
                    },
                    Value::Float(id as f64 / 4.0 - 1.0),
                ],
            );
        }
        if round > 1 {
            batch.delete("t", vec![Value::Int(round - 2)]);
        }
        store.commit(&batch).expect("commit");
        states.push(dump(store));
    }
    let spec = TableSpec::new(
        "u",
        vec![ColumnDef::new("k", ColumnType::Bytes).not_null()],
        &["k"],
    );
    store.create_table(&spec).expect("create table u");
    states.push(dump(store));
    let mut batch = Batch::new();
    batch.put("u", vec![Value::Bytes(vec![0, 1, 0xFF])]);
    batch.put(
        "t",
        vec![Value::Int(99), Value::Null, Value::Int(1), Value::Null],
    );
    store.commit(&batch).expect("commit");
    states.push(dump(store));
}

fn commits_after_snapshot(store: &Store, states: &mut Vec<Dump>) {
    store.drop_index("t", "t_n").expect("drop index");
    states.push(dump(store));
    let mut batch = Batch::new();
    batch.put(
        "t",
        vec![
            Value::Int(7),
            Value::from("after"),
            Value::Int(2),
            Value::Float(0.5),
        ],
    );
    batch.delete("u", vec![Value::Bytes(vec![0, 1, 0xFF])]);
    store.commit(&batch).expect("commit");
    states.push(dump(store));
    store.drop_table("u").expect("drop table");
    states.push(dump(store));
}

/// Runs every commit in a new directory, checkpointing after the first
/// part when `checkpoint` is set; returns the directory, the states after
/// each commit and the checkpoint's seq.
fn write_directory(checkpoint: bool) -> (tempfile::TempDir, Vec<Dump>, u64) {
    let dir = tempfile::tempdir_in(scratch_root()).expect("scratch directory");
    let mut states = vec![dump(&Store::new())];
    let (db, _) = DurableStore::open(dir.path(), options()).expect("open a new directory");
    commits_before_snapshot(db.store(), &mut states);
    let seq = if checkpoint {
        db.checkpoint().expect("checkpoint").seq
    } else {
        0
    };
    commits_after_snapshot(db.store(), &mut states);
    db.close().expect("close");
    (dir, states, seq)
}

fn build() -> WalFixture {
    let (plain, states, _) = write_directory(false);
    let (checkpointed, states_again, snapshot_seq) = write_directory(true);
    assert_eq!(
        states, states_again,
        "the fixture's commits are deterministic"
    );
    let read = |dir: &Path, name: String| std::fs::read(dir.join(&name)).expect("fixture file");
    let log = read(plain.path(), wal_name(0));
    let manifest = read(checkpointed.path(), manifest_name(snapshot_seq));
    let mut runs: Vec<(String, Vec<u8>)> = std::fs::read_dir(checkpointed.path())
        .expect("list the fixture")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("run-"))
        .map(|name| {
            let bytes = read(checkpointed.path(), name.clone());
            (name, bytes)
        })
        .collect();
    runs.sort();
    assert!(!runs.is_empty(), "the checkpoint wrote run files");
    let log_after_snapshot = read(checkpointed.path(), wal_name(snapshot_seq));

    let ends = intact_prefix(&log, 0);
    assert_eq!(ends.len() + 1, states.len(), "one record per commit");
    assert_eq!(ends.last().copied(), Some(log.len()), "the log has no tail");
    let mut payloads = Vec::new();
    let mut start = WAL_MAGIC.len();
    for end in ends {
        payloads.push(log[start + RECORD_HEADER_LEN..end].to_vec());
        start = end;
    }
    assert_eq!(
        intact_prefix(&log_after_snapshot, snapshot_seq).len() as u64,
        states.len() as u64 - 1 - snapshot_seq,
        "the log after the snapshot holds the later commits"
    );
    WalFixture {
        log,
        states,
        manifest,
        runs,
        snapshot_seq,
        log_after_snapshot,
        payloads,
    }
}
