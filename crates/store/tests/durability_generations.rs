//! Generations under random work: puts that move rows between index
//! values, deletes, checkpoints (flushes to run files and a manifest),
//! merges and reopens (with and without a log tail), in any order. After
//! every reopen the store must equal a model of every committed batch, the
//! index must agree with the data, and repair after a damaged newest
//! generation must lose nothing the log still covers.
#![allow(clippy::unwrap_used)]

mod durability_support;

use std::collections::BTreeMap;
use std::fs;

use durability_support::*;
use keyset_store::durable::Options;
use keyset_store::{Batch, Store, StoreOptions, Value};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    /// Put row `id` with batch value `v` (moves its index entry).
    Put(i64, i64),
    Delete(i64),
    Checkpoint,
    Maintain,
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..40i64, 0..5i64).prop_map(|(id, v)| Step::Put(id, v)),
        2 => (0..40i64).prop_map(Step::Delete),
        1 => Just(Step::Checkpoint),
        1 => Just(Step::Maintain),
        1 => Just(Step::Reopen),
    ]
}

fn options() -> Options {
    Options {
        // Small memtables: flushes and merges happen between checkpoints.
        store: StoreOptions {
            memtable_bytes: 512,
            ..StoreOptions::default()
        },
        ..Options::default()
    }
}

/// Every row of `items` as (id, batch value), and the index's view of
/// the same rows.
fn contents(store: &Store) -> (BTreeMap<i64, i64>, BTreeMap<i64, i64>) {
    let view = store.read();
    let table = view.table("items").unwrap();
    let index = table.def().index_by_name("by_batch").unwrap().id;
    let (mut data, mut indexed) = (BTreeMap::new(), BTreeMap::new());
    let int = |v: Option<&Value>| match v {
        Some(Value::Int(i)) => *i,
        other => panic!("not an int: {other:?}"),
    };
    for shard in table.shard_views() {
        for (_, row) in shard.data().iter() {
            assert!(data.insert(int(row.get(0)), int(row.get(1))).is_none());
        }
        for (_, row) in shard.index(index).unwrap().iter() {
            assert!(
                indexed.insert(int(row.get(0)), int(row.get(1))).is_none(),
                "one index entry per row"
            );
        }
    }
    (data, indexed)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if long_tests() { 256 } else { 24 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn reopen_always_equals_every_committed_batch(steps in proptest::collection::vec(step(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut db, _) = open(dir.path(), options());
        create_items(db.store());
        let mut model: BTreeMap<i64, i64> = BTreeMap::new();
        for s in &steps {
            match s {
                Step::Put(id, v) => {
                    let mut b = Batch::new();
                    b.put("items", vec![Value::Int(*id), Value::Int(*v), Value::from("x")]);
                    db.store().commit(&b).unwrap();
                    model.insert(*id, *v);
                }
                Step::Delete(id) => {
                    let mut b = Batch::new();
                    b.delete("items", vec![Value::Int(*id)]);
                    db.store().commit(&b).unwrap();
                    model.remove(id);
                }
                Step::Checkpoint => {
                    db.checkpoint().unwrap();
                }
                Step::Maintain => db.store().compact(),
                Step::Reopen => {
                    drop(db);
                    db = open(dir.path(), options()).0;
                    let (data, indexed) = contents(db.store());
                    prop_assert_eq!(&data, &model);
                    prop_assert_eq!(&indexed, &model);
                }
            }
        }
        drop(db);
        let (db, _) = open(dir.path(), options());
        let (data, indexed) = contents(db.store());
        prop_assert_eq!(&data, &model);
        prop_assert_eq!(&indexed, &model);
        // Damage the newest manifest: with two generations and the log
        // from the older one, repair rebuilds everything.
        db.checkpoint().unwrap();
        db.checkpoint().unwrap();
        drop(db);
        let newest = manifest_files(dir.path()).pop().unwrap();
        let mut bytes = fs::read(&newest).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x20;
        fs::write(&newest, &bytes).unwrap();
        prop_assert!(keyset_store::DurableStore::open(dir.path(), options()).is_err());
        let repair = Options { repair: true, ..options() };
        let (db, report) = open(dir.path(), repair);
        prop_assert_eq!(report.skipped_snapshots.len(), 1);
        let (data, indexed) = contents(db.store());
        prop_assert_eq!(&data, &model);
        prop_assert_eq!(&indexed, &model);
    }
}
