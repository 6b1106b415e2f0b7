//! Every read sees whole batches (DESIGN section 3; guarantee 6).
//!
//! Writer threads move money between accounts in two-row batches, so the
//! total never changes in any committed state. Reader threads read the
//! whole table in one page, by primary key and through an index on the
//! moving balance column, and every single read must show the exact total
//! and every account exactly once. Memtables are tiny, so the run crosses
//! many freezes, flushes and merges; it runs with 1 and 4 shards.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use keyset::{Db, Options, StoreOptions, Value};

const ACCOUNTS: i64 = 500;
const START: i64 = 1_000;
const WRITERS: i64 = 2;

fn long() -> bool {
    std::env::var_os("KEYSET_LONG_TESTS").is_some()
}

/// A small deterministic generator, one per thread.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn check_read(db: &Db, sql: &str, what: &str) -> Result<(), String> {
    let page = db.query(sql, None).map_err(|e| format!("{what}: {e}"))?;
    if page.next_cursor().is_some() {
        return Err(format!("{what}: the whole table did not fit one page"));
    }
    let mut seen = HashSet::new();
    let mut total = 0i64;
    for row in page.rows() {
        let id: i64 = row.get("id").map_err(|e| e.to_string())?;
        if !seen.insert(id) {
            return Err(format!("{what}: account {id} appeared twice"));
        }
        total += row.get::<i64>("bal").map_err(|e| e.to_string())?;
    }
    if seen.len() as i64 != ACCOUNTS {
        return Err(format!(
            "{what}: {} accounts instead of {ACCOUNTS}",
            seen.len()
        ));
    }
    if total != ACCOUNTS * START {
        return Err(format!(
            "{what}: total {total} instead of {}",
            ACCOUNTS * START
        ));
    }
    Ok(())
}

fn run(shards: u32) {
    let options = Options {
        store: StoreOptions {
            memtable_bytes: 16 << 10,
            ..StoreOptions::default()
        },
        ..Options::default()
    };
    let db = Db::memory_with(options).expect("memory db");
    db.execute(&format!(
        "CREATE TABLE acct (id INT PRIMARY KEY, bal INT NOT NULL) WITH (shards = {shards})"
    ))
    .expect("create");
    db.execute("CREATE INDEX by_bal ON acct (bal)")
        .expect("index");
    let rows: Vec<String> = (0..ACCOUNTS).map(|id| format!("({id}, {START})")).collect();
    db.execute(&format!("INSERT INTO acct VALUES {}", rows.join(", ")))
        .expect("load");

    let stop = Arc::new(AtomicBool::new(false));
    let transfers = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (db, stop, transfers) = (db.clone(), stop.clone(), transfers.clone());
        writers.push(thread::spawn(move || {
            // Each writer owns the accounts congruent to it, so no update of
            // one writer is lost to another (there are no transactions here).
            let mine: Vec<i64> = (0..ACCOUNTS).filter(|id| id % WRITERS == w).collect();
            let mut bal: Vec<i64> = vec![START; mine.len()];
            let mut rng = Lcg(w as u64 + 7);
            while !stop.load(Ordering::Relaxed) {
                let a = rng.next(mine.len() as u64) as usize;
                let b = rng.next(mine.len() as u64) as usize;
                if a == b {
                    continue;
                }
                let amount = rng.next(50) as i64 + 1;
                bal[a] -= amount;
                bal[b] += amount;
                db.batch()
                    .put("acct", vec![Value::Int(mine[a]), Value::Int(bal[a])])
                    .put("acct", vec![Value::Int(mine[b]), Value::Int(bal[b])])
                    .commit()
                    .expect("transfer");
                transfers.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    let queries = [
        (
            "by primary key",
            "SELECT * FROM acct LIMIT 1000".to_string(),
        ),
        (
            "through the balance index",
            "SELECT * FROM acct WHERE bal >= -1000000 ORDER BY bal LIMIT 1000".to_string(),
        ),
        (
            "through the balance index, descending",
            "SELECT * FROM acct WHERE bal <= 1000000 ORDER BY bal DESC LIMIT 1000".to_string(),
        ),
    ];
    let reads_each = if long() { 3_000 } else { 250 };
    let deadline = Instant::now() + Duration::from_secs(if long() { 120 } else { 20 });
    let mut readers = Vec::new();
    for r in 0..2 {
        let (db, queries) = (db.clone(), queries.clone());
        readers.push(thread::spawn(move || -> Result<u64, String> {
            let mut reads = 0;
            for i in 0..reads_each {
                if Instant::now() > deadline {
                    break;
                }
                let (what, sql) = &queries[(i + r) % queries.len()];
                check_read(&db, sql, what)?;
                reads += 1;
            }
            Ok(reads)
        }));
    }
    let mut reads = 0;
    let mut failures = Vec::new();
    for reader in readers {
        match reader.join().expect("reader thread") {
            Ok(n) => reads += n,
            Err(e) => failures.push(e),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("writer thread");
    }
    assert!(failures.is_empty(), "{shards} shard(s): {failures:?}");
    let stats = db.store_stats();
    let transfers = transfers.load(Ordering::Relaxed);
    assert!(reads >= 50, "{shards} shard(s): only {reads} reads ran");
    assert!(
        transfers > 100,
        "{shards} shard(s): only {transfers} transfers ran"
    );
    assert!(
        stats.flushes > 0 && stats.merges > 0,
        "{shards} shard(s): the run never crossed a flush and a merge: {stats:?}"
    );
    check_read(&db, &queries[0].1, "after the writers stopped").expect("final read");
}

#[test]
fn every_read_sees_whole_transfers_one_shard() {
    run(1);
}

#[test]
fn every_read_sees_whole_transfers_four_shards() {
    run(4);
}
