//! Damage on disk: a WAL cut at every byte of its last record, bytes
//! flipped in the middle of the WAL (with and without `repair`), a broken
//! chain of WAL files, and snapshots that fail their checksum.
#![allow(clippy::unwrap_used)]

mod durability_support;

use std::fs;
use std::path::{Path, PathBuf};

use durability_support::*;
use keyset_store::durable::{Options, TornTail};
use keyset_store::StoreError;

fn repair() -> Options {
    Options {
        repair: true,
        ..Options::default()
    }
}

/// A directory with the items table and `batches` batches, closed; returns
/// the WAL path and bytes. Record 1 and 2 are the DDL, batch n is record n + 3.
fn written(dir: &Path, batches: i64) -> (PathBuf, Vec<u8>) {
    let (db, _) = open(dir, Options::default());
    create_items(db.store());
    for n in 0..batches {
        write_batch(db.store(), n);
    }
    db.close().unwrap();
    let wal = only_wal(dir);
    let bytes = fs::read(&wal).unwrap();
    (wal, bytes)
}

fn expect_corrupted(err: StoreError) -> (PathBuf, u64, String) {
    match err {
        StoreError::Corrupted {
            file,
            offset,
            reason,
        } => (file, offset, reason),
        other => panic!("expected Corrupted, got {other}"),
    }
}

#[test]
fn a_wal_cut_at_every_byte_of_its_last_record_reopens_with_the_complete_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, bytes) = written(dir.path(), 5);
    let spans = record_spans(&bytes);
    let (last_at, last_len) = *spans.last().unwrap();
    for cut in last_at..last_at + last_len {
        fs::write(&wal, &bytes[..cut]).unwrap();
        let (db, report) = open(dir.path(), Options::default());
        assert_batches(db.store(), 4);
        let expected = (cut > last_at).then(|| TornTail {
            file: wal.clone(),
            offset: last_at as u64,
            bytes_dropped: (cut - last_at) as u64,
        });
        assert_eq!(report.torn_tail, expected, "cut at {cut}");
        assert_eq!(report.repaired, None);
        assert_eq!(fs::metadata(&wal).unwrap().len(), last_at as u64);
        // The truncated log takes new commits and replays them.
        if cut == last_at + 1 || cut == last_at + last_len - 1 {
            write_batch(db.store(), 4);
            drop(db);
            let (db, report) = open(dir.path(), Options::default());
            assert_eq!(report.torn_tail, None);
            assert_batches(db.store(), 5);
        }
    }
}

/// A byte flipped in any field of a record in the middle (length, CRC,
/// sequence number, payload) is damage at that record's offset; nothing
/// after it is applied, and the directory is left untouched.
#[test]
fn a_flipped_byte_in_the_middle_of_the_wal_is_corruption_at_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, bytes) = written(dir.path(), 6);
    let spans = record_spans(&bytes);
    let (at, len) = spans[4]; // batch 2
    for (field, position, flip) in [
        ("length, smaller", at, 0x01),
        ("length, past the end", at + 3, 0x40),
        ("crc", at + 5, 0xFF),
        ("sequence number", at + 8, 0x01),
        ("payload", at + len / 2 + 8, 0x20),
    ] {
        let mut damaged = bytes.clone();
        damaged[position] ^= flip;
        fs::write(&wal, &damaged).unwrap();
        let (file, offset, reason) = expect_corrupted(open_err(dir.path(), Options::default()));
        assert_eq!(
            (file.as_path(), offset),
            (wal.as_path(), at as u64),
            "{field}: {reason}"
        );
        assert!(
            reason.contains("repair"),
            "the message names the way out: {reason}"
        );
        assert_eq!(
            fs::read(&wal).unwrap(),
            damaged,
            "{field}: nothing changed on disk"
        );
    }
}

#[test]
fn repair_cuts_the_wal_at_the_damage_and_reports_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, mut bytes) = written(dir.path(), 6);
    let spans = record_spans(&bytes);
    let (at, len) = spans[4]; // batch 2; batches 3, 4, 5 follow
    bytes[at + len - 1] ^= 0x55;
    fs::write(&wal, &bytes).unwrap();

    let (db, report) = open(dir.path(), repair());
    assert_batches(db.store(), 2);
    let repaired = report.repaired.expect("a repair report");
    assert_eq!(repaired.file, wal);
    assert_eq!(repaired.offset, at as u64);
    assert_eq!(repaired.bytes_dropped, (bytes.len() - at) as u64);
    assert_eq!(
        repaired.records_dropped, 3,
        "the intact records after the damage"
    );
    assert!(repaired.files_dropped.is_empty());
    assert_eq!(report.torn_tail, None);
    // The log is usable again, without repair.
    write_batch(db.store(), 2);
    drop(db);
    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(report.repaired, None);
    assert_batches(db.store(), 3);
}

/// Damage in a WAL file that is not the last one is never a torn tail.
#[test]
fn a_torn_record_before_a_later_log_file_is_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let (first, bytes) = written(dir.path(), 4);
    let spans = record_spans(&bytes);
    let (last_at, _) = *spans.last().unwrap();
    let cut = spans.len() as u64; // last seq in the first file
    let second = dir.path().join(format!("wal-{cut:020}.log"));
    fs::write(&second, b"KSWAL\0\0\x01").unwrap();
    {
        let (db, _) = open(dir.path(), Options::default());
        write_batch(db.store(), 4);
    }
    fs::write(&first, &bytes[..last_at + 10]).unwrap();

    let (file, offset, _) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!((file, offset), (first.clone(), last_at as u64));

    let (db, report) = open(dir.path(), repair());
    assert_batches(db.store(), 3);
    let repaired = report.repaired.unwrap();
    assert_eq!(repaired.files_dropped, vec![second.clone()]);
    assert_eq!(repaired.records_dropped, 1, "batch 4 in the dropped file");
    assert!(!second.exists());
}

/// A log file that does not continue where the state ends is a gap.
#[test]
fn a_missing_log_file_is_a_gap_not_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = written(dir.path(), 3);
    let later = dir.path().join(format!("wal-{:020}.log", 40));
    fs::write(&later, b"KSWAL\0\0\x01").unwrap();
    let (file, offset, reason) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!((file, offset), (later.clone(), 0), "{reason}");
    let (db, report) = open(dir.path(), repair());
    assert_batches(db.store(), 3);
    assert_eq!(report.repaired.unwrap().files_dropped, vec![later]);
    assert!(first.exists());
}

/// A directory with two generations (manifests after batches 0..5 and
/// 0..10) and batch 10 in the log; returns the two checkpoints.
fn two_generations(
    dir: &Path,
) -> (
    keyset_store::durable::CheckpointInfo,
    keyset_store::durable::CheckpointInfo,
) {
    let (db, _) = open(dir, Options::default());
    create_items(db.store());
    for n in 0..5 {
        write_batch(db.store(), n);
    }
    let older = db.checkpoint().unwrap();
    for n in 5..10 {
        write_batch(db.store(), n);
    }
    let newer = db.checkpoint().unwrap();
    write_batch(db.store(), 10);
    drop(db);
    (older, newer)
}

/// The run files the newer generation wrote (not shared with the older).
fn newer_runs(dir: &Path, older: &keyset_store::durable::CheckpointInfo) -> Vec<PathBuf> {
    let all = run_files(dir);
    all.into_iter().skip(older.runs_written as usize).collect()
}

#[test]
fn a_damaged_manifest_is_an_error_naming_it_and_repair_falls_back_a_generation() {
    let dir = tempfile::tempdir().unwrap();
    let (older, newer) = two_generations(dir.path());
    let mut bytes = fs::read(&newer.manifest).unwrap();
    bytes[12] ^= 0x01;
    fs::write(&newer.manifest, &bytes).unwrap();

    let (file, offset, reason) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!(file, newer.manifest);
    assert!(offset > 0, "{offset}");
    assert!(
        reason.contains("checksum") && reason.contains("repair"),
        "{reason}"
    );
    assert!(newer.manifest.exists(), "a failed open changes nothing");

    let (db, report) = open(dir.path(), repair());
    assert_eq!(report.snapshot_seq, Some(older.seq));
    assert_eq!(report.skipped_snapshots.len(), 1);
    assert_eq!(report.skipped_snapshots[0].file, newer.manifest);
    assert!(report.lost_anything());
    assert!(
        !newer.manifest.exists(),
        "the damaged manifest is set aside"
    );
    assert_batches(db.store(), 11);
    drop(db);
    let (db, report) = open(dir.path(), Options::default());
    assert_eq!(report.snapshot_seq, Some(older.seq));
    assert_batches(db.store(), 11);
}

/// Damage in a run file (a flipped byte in a block, or the file cut short)
/// is `Corrupted` naming the run file and an offset; repair falls back to
/// the previous generation and the log, and loses nothing.
#[test]
fn a_damaged_run_file_names_the_file_and_offset_and_repair_loses_nothing() {
    for cut in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (older, newer) = two_generations(dir.path());
        let victim = newer_runs(dir.path(), &older)
            .into_iter()
            .next()
            .expect("the newer generation wrote run files");
        let mut bytes = fs::read(&victim).unwrap();
        if cut {
            bytes.truncate(bytes.len() - 3);
        } else {
            bytes[20] ^= 0x40;
        }
        fs::write(&victim, &bytes).unwrap();

        let (file, offset, reason) = expect_corrupted(open_err(dir.path(), Options::default()));
        assert_eq!(file, victim, "{reason}");
        assert!(offset <= bytes.len() as u64);
        assert!(reason.contains("repair"), "{reason}");

        let (db, report) = open(dir.path(), repair());
        assert_eq!(report.snapshot_seq, Some(older.seq), "cut={cut}");
        let skipped = &report.skipped_snapshots[0];
        assert_eq!(skipped.file, newer.manifest);
        assert!(
            skipped
                .reason
                .contains(victim.file_name().unwrap().to_str().unwrap()),
            "{}",
            skipped.reason
        );
        assert_batches(db.store(), 11);
    }
}

/// A run file the manifest names that is gone is an error naming it.
#[test]
fn a_missing_run_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (older, _) = two_generations(dir.path());
    let victim = newer_runs(dir.path(), &older).pop().unwrap();
    fs::remove_file(&victim).unwrap();
    let (file, _, reason) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!(file, victim);
    assert!(reason.contains("missing"), "{reason}");
    let (db, _) = open(dir.path(), repair());
    assert_batches(db.store(), 11);
}

/// Without a previous generation whose log reaches past it, a damaged
/// manifest cannot be repaired: the error says so and nothing changes.
#[test]
fn repair_refuses_when_no_older_generation_has_a_complete_log() {
    let dir = tempfile::tempdir().unwrap();
    let (_, newer) = two_generations(dir.path());
    // A third checkpoint removes the log before the second generation.
    let (db, _) = open(dir.path(), Options::default());
    write_batch(db.store(), 11);
    let third = db.checkpoint().unwrap();
    drop(db);
    fs::remove_file(&newer.manifest).unwrap();
    let mut bytes = fs::read(&third.manifest).unwrap();
    bytes[9] ^= 0x02;
    fs::write(&third.manifest, &bytes).unwrap();
    let (file, _, reason) = expect_corrupted(open_err(dir.path(), repair()));
    assert_eq!(file, third.manifest);
    assert!(reason.contains("no older snapshot"), "{reason}");
    assert!(third.manifest.exists(), "a failed repair changes nothing");
}

/// A deleted WAL file is an error naming it, never a silently empty (or
/// silently shorter) database.
#[test]
fn a_missing_wal_is_an_error_not_an_empty_database() {
    // Without any checkpoint: the only log file.
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = written(dir.path(), 3);
    fs::remove_file(&wal).unwrap();
    let (file, offset, reason) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!((file, offset), (wal.clone(), 0));
    assert!(
        reason.contains("missing") && reason.contains("repair"),
        "{reason}"
    );
    let (_, report) = open(dir.path(), repair());
    assert_eq!(report.repaired.unwrap().file, wal);

    // After a checkpoint: the log the manifest's position needs.
    let dir = tempfile::tempdir().unwrap();
    let (_, newer) = two_generations(dir.path());
    let wanted = dir.path().join(format!("wal-{:020}.log", newer.seq));
    fs::remove_file(&wanted).unwrap();
    let (file, _, _) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!(file, wanted);
}

/// A missing cursor key or database id is an error naming it; repair
/// makes a new one and says so.
#[test]
fn a_missing_key_file_is_an_error_naming_it() {
    for name in ["mac.key", "database.id"] {
        let dir = tempfile::tempdir().unwrap();
        written(dir.path(), 1);
        let path = dir.path().join(name);
        fs::remove_file(&path).unwrap();
        let (file, _, reason) = expect_corrupted(open_err(dir.path(), Options::default()));
        assert_eq!(file, path);
        assert!(reason.contains("missing"), "{reason}");
        let (db, report) = open(dir.path(), repair());
        assert_eq!(report.recreated, vec![path.clone()]);
        assert!(report.lost_anything());
        assert_batches(db.store(), 1);
    }
}

#[test]
fn a_file_that_is_not_a_wal_is_corruption_at_offset_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, mut bytes) = written(dir.path(), 2);
    bytes[0] = b'X';
    fs::write(&wal, &bytes).unwrap();
    let (file, offset, reason) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!((file, offset), (wal, 0));
    assert!(reason.contains("magic"), "{reason}");
}

/// A crash while a database is being created leaves some of its files and
/// no database id (written last). No commit was ever acknowledged there,
/// so the next open creates the database afresh, whatever the crash left:
/// the cursor key alone, a log cut inside its header, or a whole empty log.
/// Once the id exists, a missing log is an error again.
#[test]
fn a_creation_cut_short_by_a_crash_is_created_afresh() {
    let fresh = tempfile::tempdir().unwrap();
    drop(open(fresh.path(), Options::default()));
    let header = fs::read(fresh.path().join(format!("wal-{:020}.log", 0))).unwrap();
    assert_eq!(header.len(), 8, "a new log holds its header only");
    let leftovers: [&[(&str, &[u8])]; 4] = [
        &[("mac.key", &[7; 32])],
        &[("wal-00000000000000000000.log", &header[..3])],
        &[("wal-00000000000000000000.log", &header)],
        &[
            ("wal-00000000000000000000.log", &header),
            ("mac.key", &[7; 32]),
        ],
    ];
    for files in leftovers {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in files {
            fs::write(dir.path().join(name), bytes).unwrap();
        }
        let (db, report) = open(dir.path(), Options::default());
        assert!(report.created, "{files:?}");
        assert!(dir.path().join("database.id").exists());
        create_items(db.store());
        write_batch(db.store(), 0);
        db.close().unwrap();
        let (db, report) = open(dir.path(), Options::default());
        assert!(!report.created);
        assert_batches(db.store(), 1);
    }

    // A log with a record is a database, not a creation cut short: without
    // its id it is an error naming the id file.
    let dir = tempfile::tempdir().unwrap();
    written(dir.path(), 1);
    fs::remove_file(dir.path().join("database.id")).unwrap();
    let (file, _, _) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!(file, dir.path().join("database.id"));
    // With its id, an empty database whose log is gone is an error too.
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), Options::default()));
    let wal = dir.path().join(format!("wal-{:020}.log", 0));
    fs::remove_file(&wal).unwrap();
    let (file, _, _) = expect_corrupted(open_err(dir.path(), Options::default()));
    assert_eq!(file, wal);
}
