//! Fuzz target `recovery`: damaged and arbitrary WAL files, manifests and
//! run files in a fresh data directory, opened with
//! `keyset_store::durable::DurableStore::open`.
//!
//! Asserts: open never panics; when it succeeds, the recovered `last_seq`
//! never goes past the intact records at the front of the log (complete,
//! CRC valid, in sequence), so no record whose CRC fails is ever applied;
//! when the log is an unaltered prefix of the real one, the state is
//! exactly the real state after that many commits, and a plain truncation
//! (a torn tail) always opens without `repair`; a successful open leaves a
//! directory that opens again, without `repair`, to the same state; a
//! failed open changes no file. A damaged generation (manifest or run
//! file) is never used: it is a typed error, or under `repair` the start
//! falls back to the empty state and the log, which the fixture's
//! directory does not hold, so the open fails with `Corrupted`.
#![no_main]

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use arbitrary::Arbitrary;
use keyset_fuzz::wal_fixture::{
    dump, intact_prefix, manifest_name, push_record, scratch_root, wal_fixture, wal_name,
    DATABASE_ID, MAC_KEY, MANIFEST_CRC_LEN, WAL_MAGIC,
};
use keyset_store::durable::{DurableStore, Options, SyncMode};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    repair: bool,
    scenario: Scenario,
}

#[derive(Arbitrary, Debug)]
enum Scenario {
    /// The real first log (commits 1..=n, no snapshot), damaged.
    Log { damage: Vec<Damage> },
    /// A log framed here from real and made-up records.
    Built {
        records: Vec<RecordSpec>,
        damage: Vec<Damage>,
    },
    /// The real generation (manifest and run files) and the log after
    /// it, each damaged; the manifest's checksum may be recomputed so that
    /// its decoder sees the damage.
    Generation {
        manifest_damage: Vec<Damage>,
        fix_checksum: bool,
        run: u8,
        run_damage: Vec<Damage>,
        log_damage: Vec<Damage>,
    },
    /// Arbitrary bytes as a WAL file, after the magic or not.
    RawWal { magic: bool, bytes: Vec<u8> },
    /// Arbitrary bytes as a manifest, with a valid checksum or not, alone
    /// or followed by the real log after the real manifest, with the real
    /// run files.
    RawManifest {
        seq: u8,
        fix_checksum: bool,
        with_log: bool,
        bytes: Vec<u8>,
    },
    /// Arbitrary bytes as one run file of the real generation.
    RawRun { run: u8, bytes: Vec<u8> },
}

#[derive(Arbitrary, Debug)]
enum RecordSpec {
    /// A real payload with the next sequence number and a valid CRC.
    Real { index: u8 },
    /// Made-up payload bytes, framed with a valid CRC.
    Made { payload: Vec<u8> },
    /// A real payload whose CRC field is wrong.
    BadCrc { index: u8, xor: u32 },
    /// A real payload with a valid CRC but a wrong sequence number.
    BadSeq { index: u8, skew: i8 },
}

#[derive(Arbitrary, Debug)]
enum Damage {
    Truncate { at: u16 },
    FlipBit { at: u16, bit: u8 },
    SetByte { at: u16, value: u8 },
    Zero { at: u16, len: u8 },
    Insert { at: u16, bytes: Vec<u8> },
}

const MAX_EDITS: usize = 6;

fn apply(bytes: &mut Vec<u8>, damage: &[Damage]) {
    for d in damage.iter().take(MAX_EDITS) {
        let len = bytes.len();
        let pos = |at: u16| usize::from(at) % (len + 1);
        match d {
            Damage::Truncate { at } => bytes.truncate(pos(*at)),
            Damage::FlipBit { at, bit } => {
                if let Some(b) = bytes.get_mut(pos(*at)) {
                    *b ^= 1 << (bit % 8);
                }
            }
            Damage::SetByte { at, value } => {
                if let Some(b) = bytes.get_mut(pos(*at)) {
                    *b = *value;
                }
            }
            Damage::Zero { at, len } => {
                let start = pos(*at);
                let end = (start + usize::from(*len)).min(bytes.len());
                bytes[start..end].fill(0);
            }
            Damage::Insert { at, bytes: extra } => {
                let start = pos(*at);
                bytes.splice(start..start, extra.iter().copied());
            }
        }
    }
}

fn build_log(records: &[RecordSpec]) -> Vec<u8> {
    let payloads = &wal_fixture().payloads;
    let real = |index: u8| &payloads[usize::from(index) % payloads.len()];
    let mut out = WAL_MAGIC.to_vec();
    for (i, spec) in records.iter().take(16).enumerate() {
        let seq = i as u64 + 1;
        match spec {
            RecordSpec::Real { index } => push_record(&mut out, seq, real(*index)),
            RecordSpec::Made { payload } => push_record(&mut out, seq, payload),
            RecordSpec::BadCrc { index, xor } => {
                let at = out.len() + 4;
                push_record(&mut out, seq, real(*index));
                let crc = &mut out[at..at + 4];
                let value = u32::from_le_bytes(crc.try_into().expect("4 bytes")) ^ xor.max(&1);
                crc.copy_from_slice(&value.to_le_bytes());
            }
            RecordSpec::BadSeq { index, skew } => {
                let skew = if *skew == 0 { 1 } else { i64::from(*skew) };
                push_record(&mut out, seq.wrapping_add_signed(skew), real(*index));
            }
        }
    }
    out
}

fn fix_checksum(bytes: &mut Vec<u8>) {
    if bytes.len() < MANIFEST_CRC_LEN {
        let crc = crc32c::crc32c(bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        return;
    }
    let body = bytes.len() - MANIFEST_CRC_LEN;
    let crc = crc32c::crc32c(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
}

/// The files of one fuzzed directory.
struct Case {
    /// The WAL file: its start seq and bytes.
    wal: Option<(u64, Vec<u8>)>,
    /// The manifest: its seq and bytes.
    manifest: Option<(u64, Vec<u8>)>,
    /// Run files: name and bytes.
    runs: Vec<(String, Vec<u8>)>,
    /// The real log this WAL should be a damaged copy of, with the real
    /// generation intact, if that is so.
    reference: Option<&'static [u8]>,
}

fn case(scenario: &Scenario) -> Case {
    let fx = wal_fixture();
    match scenario {
        Scenario::Log { damage } => {
            let mut log = fx.log.clone();
            apply(&mut log, damage);
            Case {
                wal: Some((0, log)),
                manifest: None,
                runs: Vec::new(),
                reference: Some(&fx.log),
            }
        }
        Scenario::Built { records, damage } => {
            let mut log = build_log(records);
            apply(&mut log, damage);
            Case {
                wal: Some((0, log)),
                manifest: None,
                runs: Vec::new(),
                reference: Some(&fx.log),
            }
        }
        Scenario::Generation {
            manifest_damage,
            fix_checksum: fix,
            run,
            run_damage,
            log_damage,
        } => {
            let mut manifest = fx.manifest.clone();
            apply(&mut manifest, manifest_damage);
            if *fix {
                fix_checksum(&mut manifest);
            }
            let mut runs = fx.runs.clone();
            let victim = usize::from(*run) % runs.len();
            apply(&mut runs[victim].1, run_damage);
            let intact = manifest == fx.manifest && runs == fx.runs;
            let mut log = fx.log_after_snapshot.clone();
            apply(&mut log, log_damage);
            Case {
                wal: Some((fx.snapshot_seq, log)),
                manifest: Some((fx.snapshot_seq, manifest)),
                runs,
                reference: intact.then_some(&fx.log_after_snapshot[..]),
            }
        }
        Scenario::RawWal { magic, bytes } => {
            let mut log = if *magic {
                WAL_MAGIC.to_vec()
            } else {
                Vec::new()
            };
            log.extend_from_slice(bytes);
            Case {
                wal: Some((0, log)),
                manifest: None,
                runs: Vec::new(),
                reference: Some(&fx.log),
            }
        }
        Scenario::RawManifest {
            seq,
            fix_checksum: fix,
            with_log,
            bytes,
        } => {
            let mut manifest = bytes.clone();
            if *fix {
                fix_checksum(&mut manifest);
            }
            let seq = u64::from(*seq);
            let wal = with_log.then(|| (seq, fx.log_after_snapshot.clone()));
            Case {
                wal,
                manifest: Some((seq, manifest)),
                runs: fx.runs.clone(),
                reference: None,
            }
        }
        Scenario::RawRun { run, bytes } => {
            let mut runs = fx.runs.clone();
            let victim = usize::from(*run) % runs.len();
            runs[victim].1 = bytes.clone();
            let intact = runs == fx.runs;
            Case {
                wal: Some((fx.snapshot_seq, fx.log_after_snapshot.clone())),
                manifest: Some((fx.snapshot_seq, fx.manifest.clone())),
                runs,
                reference: intact.then_some(&fx.log_after_snapshot[..]),
            }
        }
    }
}

/// Every file of the directory and its bytes; the lock file's bytes are
/// left out: an opener records its pid in it (so that a second opener can
/// name the holder), which is not a change to the database.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .expect("list the directory")
        .map(|e| {
            let e = e.expect("directory entry");
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = if name == "LOCK" {
                Vec::new()
            } else {
                fs::read(e.path()).expect("read a file")
            };
            (name, bytes)
        })
        .collect()
}

fn options(repair: bool) -> Options {
    Options {
        sync: SyncMode::Never,
        checkpoint_wal_bytes: 0,
        repair,
        ..Options::default()
    }
}

fuzz_target!(|input: Input| {
    let fx = wal_fixture();
    let case = case(&input.scenario);
    let dir = tempfile::tempdir_in(scratch_root()).expect("scratch directory");
    let path = dir.path();
    fs::write(path.join("database.id"), DATABASE_ID).expect("write id");
    fs::write(path.join("mac.key"), MAC_KEY).expect("write key");
    fs::write(path.join("LOCK"), b"").expect("write lock file");
    if let Some((seq, bytes)) = &case.manifest {
        fs::write(path.join(manifest_name(*seq)), bytes).expect("write manifest");
    }
    for (name, bytes) in &case.runs {
        fs::write(path.join(name), bytes).expect("write run file");
    }
    if let Some((start, bytes)) = &case.wal {
        fs::write(path.join(wal_name(*start)), bytes).expect("write log");
    }
    let before = files(path);

    // What the log's framing allows, by an independent reader.
    let (start, intact_ends, wal_bytes) = match &case.wal {
        Some((start, bytes)) => (*start, intact_prefix(bytes, *start), &bytes[..]),
        // No log: a generation alone ends at its own position.
        None => (
            case.manifest.as_ref().map_or(0, |(seq, _)| *seq),
            Vec::new(),
            &[][..],
        ),
    };
    let reference_ends = case.reference.map(|r| intact_prefix(r, start));
    // A plain cut of the real log (with its real generation, if any): a torn
    // tail at worst, which must open without repair.
    let truncated_copy = case
        .reference
        .filter(|r| r.starts_with(wal_bytes) && case.wal.is_some());

    let opened = DurableStore::open(path, options(input.repair));
    let (db, report) = match opened {
        Ok(ok) => ok,
        Err(error) => {
            assert!(
                truncated_copy.is_none(),
                "a log cut at byte {} of the real one must open: {error}",
                wal_bytes.len()
            );
            assert_eq!(before, files(path), "a failed open changed files ({error})");
            return;
        }
    };
    let last = report.last_seq;
    assert!(
        last >= start && last - start <= intact_ends.len() as u64,
        "recovered up to commit {last}, but only {} records after {start} are intact: \
         a record that fails its CRC or sequence check was applied ({report:?})",
        intact_ends.len()
    );
    let applied = (last - start) as usize;
    if let (Some(reference), Some(ref_ends)) = (case.reference, &reference_ends) {
        let end = if applied == 0 {
            WAL_MAGIC.len()
        } else {
            intact_ends[applied - 1]
        };
        let same_records = applied <= ref_ends.len()
            && wal_bytes.len() >= end
            && reference.len() >= end
            && wal_bytes[..end] == reference[..end];
        if same_records {
            assert!(
                dump(db.store()) == fx.states[last as usize],
                "the state recovered from {applied} real records differs from the real state \
                 after commit {last}"
            );
        }
        if truncated_copy.is_some() {
            let complete = ref_ends.iter().filter(|e| **e <= wal_bytes.len()).count();
            assert_eq!(
                applied,
                complete,
                "a log cut at byte {} holds {complete} complete records",
                wal_bytes.len()
            );
        }
    }

    let state = dump(db.store());
    db.close().expect("close after recovery");
    let (again, report_again) =
        DurableStore::open(path, options(false)).expect("a recovered directory opens again");
    assert_eq!(
        report_again.last_seq, last,
        "reopening changed the last commit"
    );
    assert!(dump(again.store()) == state, "reopening changed the state");
    drop(again);
});
