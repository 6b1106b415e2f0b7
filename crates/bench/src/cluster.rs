//! `keyset-bench --cluster URL`: the shard-merge and first-page workloads
//! on a table held in a Redis Cluster, beside the same table in an embedded
//! (in-memory) keyset, with the round trips each page took. The rows are
//! the benchmark's rows (`data::BenchRow`); the cluster database is a fresh
//! one (`bench_<random>`) dropped at the end. Both sides must return the
//! same rows, or the run stops.

use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use keyset::{ClusterOptions, Cursor, Db, Options};

use crate::error::{BenchError, Result};
use crate::keyset_side::{create_table, load};

/// One workload's figures.
#[derive(Debug, Clone)]
pub struct ClusterFigure {
    pub workload: &'static str,
    pub sql: String,
    /// Pages one run reads.
    pub pages: usize,
    /// Median time of one run, embedded and in the cluster.
    pub embedded: Duration,
    pub cluster: Duration,
    /// Cluster round trips per page: chunk reads, and catalog checks.
    pub chunk_trips_per_page: f64,
    pub catalog_trips_per_page: f64,
}

/// The workloads: (name, SQL, page size for a drain or 0 for one page).
fn workloads(rows: usize) -> Vec<(&'static str, String, bool)> {
    let mid = rows as i64 / 2;
    vec![
        (
            "first_page_asc",
            "SELECT * FROM t ORDER BY id LIMIT 100".into(),
            false,
        ),
        (
            "first_page_desc",
            "SELECT * FROM t ORDER BY id DESC LIMIT 100".into(),
            false,
        ),
        (
            "first_page_index",
            format!("SELECT * FROM t WHERE a >= {mid} ORDER BY a LIMIT 100"),
            false,
        ),
        ("point", format!("SELECT * FROM t WHERE id = {mid}"), false),
        ("shards_ordered", "SELECT * FROM t LIMIT 1000".into(), true),
        (
            "shards_unordered",
            "SELECT * FROM t LIMIT 1000 WITH (merge = 'unordered')".into(),
            true,
        ),
        (
            "shards_eager",
            "SELECT * FROM t WHERE id < 20000 LIMIT 1000 WITH (merge = 'eager')".into(),
            true,
        ),
    ]
}

/// Runs `sql` (every page when `drain`); returns the ids read and pages.
fn run_once(db: &Db, sql: &str, drain: bool) -> Result<(Vec<i64>, usize)> {
    let mut ids = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = db.query(sql, cursor.as_ref())?;
        pages += 1;
        for row in page.rows() {
            ids.push(row.get::<i64>("id")?);
        }
        cursor = page.next_cursor().cloned();
        if cursor.is_none() || !drain {
            return Ok((ids, pages));
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Loads `rows` rows into a 16-shard table in the cluster at `url` and in
/// memory, and times every workload `rounds` times on each.
pub fn run(url: &str, rows: usize, rounds: usize, progress: bool) -> Result<Vec<ClusterFigure>> {
    let mut name = [0u8; 4];
    getrandom::fill(&mut name).map_err(|e| BenchError::Io {
        action: "reading",
        path: "<random source>".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let options = ClusterOptions {
        database: format!("bench_{}", u32::from_le_bytes(name)),
        create: true,
        ..ClusterOptions::default()
    };
    let remote = Db::connect_with(&[url], Options::default(), &options)?;
    let local = Db::memory()?;
    let bar = if progress {
        ProgressBar::new(2 * rows as u64)
    } else {
        ProgressBar::hidden()
    };
    for db in [&remote, &local] {
        create_table(db, "t", 16, true)?;
        load(db, "t", 0..rows as i64, 1000, &bar)?;
    }
    bar.finish_and_clear();
    let cluster = remote.cluster().cloned().ok_or_else(|| BenchError::Io {
        action: "connecting to",
        path: url.into(),
        source: std::io::Error::other("not a cluster database"),
    })?;
    let mut out = Vec::new();
    for (workload, sql, drain) in workloads(rows) {
        let (expected, pages) = run_once(&local, &sql, drain)?;
        let (got, _) = run_once(&remote, &sql, drain)?;
        let (mut a, mut b) = (expected.clone(), got.clone());
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            return Err(BenchError::Mismatch {
                workload: workload.into(),
                side: "the cluster",
                detail: format!("{} rows embedded, {} in the cluster", a.len(), b.len()),
            });
        }
        let mut embedded = Vec::new();
        let mut remote_times = Vec::new();
        let (trips0, catalog0) = (cluster.round_trips(), cluster.catalog_reads());
        for _ in 0..rounds.max(1) {
            let start = Instant::now();
            run_once(&local, &sql, drain)?;
            embedded.push(start.elapsed());
            let start = Instant::now();
            run_once(&remote, &sql, drain)?;
            remote_times.push(start.elapsed());
        }
        let runs = rounds.max(1) as f64 * pages as f64;
        let catalog = (cluster.catalog_reads() - catalog0) as f64;
        let trips = (cluster.round_trips() - trips0) as f64;
        out.push(ClusterFigure {
            workload,
            sql,
            pages,
            embedded: median(embedded),
            cluster: median(remote_times),
            chunk_trips_per_page: (trips - catalog) / runs,
            catalog_trips_per_page: catalog / runs,
        });
    }
    remote.execute("DROP TABLE t")?;
    Ok(out)
}

/// The figures as a text table.
pub fn table(figures: &[ClusterFigure]) -> String {
    let mut out = format!(
        "{:<18} {:>6} {:>14} {:>14} {:>16} {:>16}\n",
        "workload", "pages", "embedded", "cluster", "chunk trips/page", "catalog/page"
    );
    for f in figures {
        out.push_str(&format!(
            "{:<18} {:>6} {:>11.3} ms {:>11.3} ms {:>16.2} {:>16.2}\n",
            f.workload,
            f.pages,
            f.embedded.as_secs_f64() * 1e3,
            f.cluster.as_secs_f64() * 1e3,
            f.chunk_trips_per_page,
            f.catalog_trips_per_page
        ));
    }
    out
}
