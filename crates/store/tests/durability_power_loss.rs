//! Power loss, simulated: the directory is written through
//! `PowerLossFiles`, which records what each fsync made durable and takes
//! a crash image at a random operation (inside commits, checkpoints,
//! run-file writes, manifest renames and removals alike). The image keeps
//! only fsynced bytes and directory entries made durable by a directory
//! fsync, with a random part of each file's unsynced tail. Reopened from
//! it, the store must hold every batch acknowledged under
//! `SyncMode::Always` before the crash, no batch in part, and a prefix of
//! the batches made; with one byte of one file damaged, `repair` must
//! open it with the losses it reports only.
#![allow(clippy::unwrap_used)]

mod durability_support;

use std::fs;
use std::sync::Arc;

use durability_support::*;
use keyset_store::durable::layer::PowerLossFiles;
use keyset_store::durable::{Files, Options};
use keyset_store::StoreOptions;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Step {
    Batch,
    Checkpoint,
    Compact,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => Just(Step::Batch),
        2 => Just(Step::Checkpoint),
        1 => Just(Step::Compact),
    ]
}

fn options(layer: &Arc<PowerLossFiles>) -> Options {
    Options {
        files: Files(layer.clone()),
        // Manual checkpoints only, and small memtables, so flushes and
        // merges happen between them.
        checkpoint_wal_bytes: 0,
        store: StoreOptions {
            memtable_bytes: 1024,
            ..StoreOptions::default()
        },
        ..Options::default()
    }
}

/// Runs `steps` against a fresh directory with the crash image taken
/// before operation `crash_at`; returns the directory, the layer and how
/// many batches were acknowledged before the crash.
fn run(steps: &[Step], crash_at: u64) -> (tempfile::TempDir, Arc<PowerLossFiles>, i64) {
    let dir = tempfile::tempdir().unwrap();
    let layer = Arc::new(PowerLossFiles::new(dir.path()).unwrap());
    let (db, _) = open(dir.path(), options(&layer));
    create_items(db.store());
    layer.crash_before(crash_at);
    let (mut made, mut acknowledged) = (0i64, 0i64);
    for s in steps {
        match s {
            Step::Batch => {
                write_batch(db.store(), made);
                made += 1;
                if !layer.crashed() {
                    acknowledged = made;
                }
            }
            Step::Checkpoint => {
                db.checkpoint().unwrap();
            }
            Step::Compact => db.store().compact(),
        }
    }
    drop(db);
    (dir, layer, acknowledged)
}

/// The batch numbers present; asserts each is whole and they are a prefix.
fn present(store: &keyset_store::Store) -> i64 {
    let found = batches(store);
    let count = found.len() as i64;
    assert_batches(store, count);
    count
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if long_tests() { 512 } else { 48 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn acknowledged_batches_survive_power_loss_whole(
        steps in proptest::collection::vec(step(), 1..40),
        crash in 0.0f64..1.0,
        tear in 0.0f64..1.0,
    ) {
        // How many operations a full run makes, to crash within it.
        let (_, probe, _) = run(&steps, u64::MAX);
        let total = probe.operations();
        let crash_at = (crash * total as f64) as u64;
        let (dir, layer, acknowledged) = run(&steps, crash_at);
        layer
            .power_loss(|len| (tear * len as f64) as usize)
            .unwrap();
        let (db, report) = keyset_store::DurableStore::open(dir.path(), options(&layer))
            .unwrap_or_else(|e| panic!("crash at {crash_at} of {total}: {e}"));
        let count = present(db.store());
        prop_assert!(
            count >= acknowledged,
            "crash at {crash_at}/{total}: {count} batches present, {acknowledged} acknowledged ({report:?})"
        );
    }

    #[test]
    fn repair_after_power_loss_and_one_damaged_byte_reports_its_losses(
        steps in proptest::collection::vec(step(), 1..30),
        crash in 0.0f64..1.0,
        victim in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
    ) {
        let (_, probe, _) = run(&steps, u64::MAX);
        let crash_at = (crash * probe.operations() as f64) as u64;
        let (dir, layer, acknowledged) = run(&steps, crash_at);
        layer.power_loss(|_| 0).unwrap();
        let mut files: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().is_some_and(|n| n != "LOCK"))
            .filter(|p| fs::metadata(p).unwrap().len() > 0)
            .collect();
        files.sort();
        let file = victim.get(&files).clone();
        let mut bytes = fs::read(&file).unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= 0x5a;
        fs::write(&file, &bytes).unwrap();
        let repair = Options { repair: true, ..options(&layer) };
        match keyset_store::DurableStore::open(dir.path(), repair) {
            Ok((db, report)) => {
                // Repair may have cut the schema itself (a damaged DDL
                // record): then the index, or the table, is a reported
                // loss too.
                let found = batches(db.store());
                let count = found.len() as i64;
                for (n, rows) in &found {
                    prop_assert!(*n < count && *rows == ROWS_PER_BATCH, "{found:?}");
                }
                let view = db.store().read();
                let indexed = view
                    .table("items")
                    .is_some_and(|t| t.def().index_by_name("by_batch").is_some());
                if indexed {
                    assert_batches(db.store(), count);
                } else {
                    prop_assert!(report.lost_anything(), "{report:?}");
                }
                // Whatever is missing was reported.
                if count < acknowledged {
                    prop_assert!(
                        report.lost_anything(),
                        "{} of {acknowledged} batches back after damaging {} at {i}, and nothing reported: {report:?}",
                        count,
                        file.display()
                    );
                }
            }
            // A damaged id or key file of the wrong length, or a damaged
            // generation with no complete log behind it, is refused with
            // a typed error naming a file, never opened wrongly.
            Err(keyset_store::StoreError::Corrupted { .. }) => {}
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
