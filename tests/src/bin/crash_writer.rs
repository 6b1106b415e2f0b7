//! The child process of the crash test: opens a data directory with
//! `SyncMode::Always`, then commits numbered batches forever and prints
//! each batch number on stdout once its commit has returned.
//!
//! Batch `n` writes `ALPHA_ROWS` rows to `alpha`, `BETA_ROWS` rows to
//! `beta` and sets `progress.last = n`, all in one commit, so a recovered
//! directory must hold every batch whole or not at all. It prints `ready
//! <next>` after recovery. It never exits on its own; the parent kills it.

use std::error::Error;
use std::io::{self, Write};
use std::path::PathBuf;

use keyset_store::durable::{Options, SyncMode};
use keyset_store::{
    Batch, ColumnDef, ColumnType, DurableStore, IndexSpec, Store, TableSpec, Value,
};

const ALPHA_ROWS: i64 = 3;
const BETA_ROWS: i64 = 2;
/// Small, so that checkpoints happen (and get killed) during the test.
const CHECKPOINT_WAL_BYTES: u64 = 8 << 10;

/// Creates whatever part of the schema is missing (a kill may have
/// interrupted an earlier run between two of these commits).
fn create_schema(store: &Store) -> Result<(), Box<dyn Error>> {
    let part = |name: &str| {
        TableSpec::new(
            name,
            vec![
                ColumnDef::new("batch", ColumnType::Int),
                ColumnDef::new("part", ColumnType::Int),
                ColumnDef::new("note", ColumnType::Text),
            ],
            &["batch", "part"],
        )
    };
    let has = |name: &str| store.read().table(name).is_some();
    if !has("alpha") {
        store.create_table(&part("alpha").shards(3))?;
    }
    if !has("beta") {
        store.create_table(&part("beta"))?;
    }
    let indexed = store
        .read()
        .table("beta")
        .is_some_and(|t| t.def().index_by_name("beta_by_note").is_some());
    if !indexed {
        store.create_index(&IndexSpec::new("beta_by_note", "beta", &["note"]).unique())?;
    }
    if !has("progress") {
        store.create_table(&TableSpec::new(
            "progress",
            vec![
                ColumnDef::new("k", ColumnType::Int),
                ColumnDef::new("last", ColumnType::Int),
            ],
            &["k"],
        ))?;
    }
    Ok(())
}

/// The batch after the last one whose progress row was committed.
fn next_batch(store: &Store) -> i64 {
    let view = store.read();
    let Some(progress) = view.table("progress") else {
        return 0;
    };
    let key = keyset_store::RawDataKey::encode(progress.def().id, &[Value::Int(0)]);
    match progress.get(&key).and_then(|row| row.get(1).cloned()) {
        Some(Value::Int(last)) => last + 1,
        _ => 0,
    }
}

fn batch(n: i64) -> Batch {
    let mut batch = Batch::new();
    for part in 0..ALPHA_ROWS {
        batch.put(
            "alpha",
            vec![
                Value::Int(n),
                Value::Int(part),
                Value::from(format!("a{n}.{part}")),
            ],
        );
    }
    for part in 0..BETA_ROWS {
        batch.put(
            "beta",
            vec![
                Value::Int(n),
                Value::Int(part),
                Value::from(format!("b{n}.{part}")),
            ],
        );
    }
    batch.put("progress", vec![Value::Int(0), Value::Int(n)]);
    batch
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .ok_or("usage: crash_writer DIR")?,
    );
    let options = Options {
        sync: SyncMode::Always,
        checkpoint_wal_bytes: CHECKPOINT_WAL_BYTES,
        ..Options::default()
    };
    let (db, _) = DurableStore::open(&dir, options)?;
    let store = db.store();
    create_schema(store)?;
    let mut n = next_batch(store);
    let mut out = io::stdout().lock();
    writeln!(out, "ready {n}")?;
    out.flush()?;
    loop {
        store.commit(&batch(n))?;
        writeln!(out, "{n}")?;
        out.flush()?;
        n += 1;
    }
}
