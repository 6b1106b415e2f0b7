//! The workloads: each group builds its queries once per side, checks the
//! sides agree, then times them. This module owns the run configuration,
//! the shared environment (the `bench` table loaded into keyset and SQLite)
//! and the registry `--only` selects from. Groups never share timings.

mod composite;
mod drains;
mod layout;
pub use layout::memory_child;
mod pages;
mod point;
mod recovery;
mod shard_observer;
mod shards;
mod topk;
mod writes;

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keyset::{Db, Plan};
use rusqlite::Connection;

use crate::data::Rng;
use crate::error::{BenchError, Result};
use crate::raw_side::RawTable;
use crate::report::{Measurement, Unit};
use crate::timing::{self, RowOrder, Sides, TimeBox};
use crate::{keyset_side, sqlite_side};

/// The table every read workload queries.
pub const TABLE: &str = "bench";
/// Rows per page.
pub const PAGE: usize = 100;
/// The fewest rows a run accepts (every workload needs rows to agree on).
pub const MIN_ROWS: usize = 1_000;

/// What to run and how long to time it.
#[derive(Clone, Debug)]
pub struct Config {
    /// Rows of the `bench` table.
    pub rows: usize,
    pub time: TimeBox,
    /// Group names to run; empty: all.
    pub only: Vec<String>,
    pub progress: bool,
    /// Print keyset's and SQLite's plan of every workload.
    pub explain: bool,
    /// Rows inserted by the in-memory insert workload.
    pub insert_rows: usize,
    /// Rows inserted by the durable insert workload (each batch fsyncs).
    pub durable_rows: usize,
    /// Single-row commits written before the recovery workload reopens.
    pub recovery_rows: usize,
    /// Seed of the workload parameters.
    pub seed: u64,
    /// How SQLite lays out its tables.
    pub sqlite_layout: sqlite_side::Layout,
}

impl Config {
    /// The defaults for `rows` rows: inserts capped at 200,000 in memory
    /// and 20,000 durable, recovery over `rows` single-row commits.
    pub fn new(rows: usize) -> Config {
        Config {
            rows,
            time: TimeBox {
                per_side: Duration::from_millis(500),
                rounds: 5,
                only: None,
            },
            only: Vec::new(),
            progress: true,
            explain: false,
            insert_rows: rows.min(200_000),
            durable_rows: rows.min(20_000),
            recovery_rows: rows,
            seed: 0x6b65_7973_6574,
            sqlite_layout: sqlite_side::Layout::default(),
        }
    }
}

type GroupFn = fn(&Env) -> Result<Vec<Measurement>>;

/// A named group of workloads and whether it reads the shared table.
struct Group {
    name: &'static str,
    reads_bench: bool,
    run: GroupFn,
}

const fn group(name: &'static str, reads_bench: bool, run: GroupFn) -> Group {
    Group {
        name,
        reads_bench,
        run,
    }
}

const GROUPS: [Group; 18] = [
    group("scan", true, layout::scan),
    group("pk", true, point::pk_get),
    group("pk_param", true, point::pk_get_param),
    group("pk_sql", true, point::pk_get_sql),
    group("first_page_asc", true, pages::first_page_asc),
    group("first_page_params", true, pages::first_page_params),
    group("first_page_desc", true, pages::first_page_desc),
    group("depth", true, pages::depth),
    group("drain", true, drains::drain_range),
    group("union", true, composite::union),
    group("intersection", true, composite::intersection),
    group("topk", true, topk::top_k),
    group("shards", true, shards::shard_merge),
    group("insert_memory", false, writes::insert_memory),
    group("insert_durable", false, writes::insert_durable),
    group("recovery", false, recovery::recovery),
    group("page_under_writes", true, layout::page_under_writes),
    group("memory", false, layout::memory),
];

/// The group names `--only` accepts, in run order.
pub fn group_names() -> Vec<&'static str> {
    GROUPS.iter().map(|g| g.name).collect()
}

/// Everything a group may use: the configuration and the loaded table in
/// keyset (in memory), SQLite (in memory) and as raw maps.
#[derive(Debug)]
pub struct Env {
    pub config: Config,
    pub db: Db,
    pub sqlite: Connection,
    pub raw: Option<RawTable>,
}

impl Env {
    /// A progress bar for loading `len` rows (hidden unless asked for).
    pub fn progress(&self, what: &str, len: usize) -> ProgressBar {
        if !self.config.progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:32} [{bar:40}] {human_pos}/{human_len} rows ({per_sec}, {eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }

    /// The raw maps of the shared table.
    pub fn raw(&self) -> Result<&RawTable> {
        self.raw
            .as_ref()
            .ok_or_else(|| BenchError::Raw("the bench table was not loaded".into()))
    }

    /// A generator for one group's parameters (same on every run).
    pub fn rng(&self, stream: u64) -> Rng {
        Rng::new(self.config.seed ^ stream.wrapping_mul(0x9e37_79b9))
    }

    /// Prints both sides' plans when `--explain` was given.
    pub fn explain(&self, workload: &str, plan: &Plan, sql: &str) -> Result<()> {
        if self.config.explain {
            println!("== {workload}\nkeyset:\n{}", keyset_plan::explain(plan));
            println!(
                "SQLite: {sql}\n  {}\n",
                sqlite_side::query_plan(&self.sqlite, sql)?
            );
        }
        Ok(())
    }

    /// Checks the sides agree on the first iterations, then times them.
    pub fn measure(
        &self,
        workload: &str,
        unit: Unit,
        sides: &mut Sides<'_>,
        check_iterations: u64,
        note: String,
    ) -> Result<Measurement> {
        self.measure_rows(
            workload,
            unit,
            sides,
            check_iterations,
            note,
            RowOrder::Same,
        )
    }

    /// [`Env::measure`], with the order the sides' rows must agree in.
    pub fn measure_rows(
        &self,
        workload: &str,
        unit: Unit,
        sides: &mut Sides<'_>,
        check_iterations: u64,
        note: String,
        order: RowOrder,
    ) -> Result<Measurement> {
        let iterations: Vec<u64> = (0..check_iterations.max(1)).collect();
        let seen = timing::check_rows(workload, sides, &iterations, order)?;
        let timing = timing::measure(sides, self.config.time)?;
        let mut full = format!(
            "{} rows/op; keyset examined {} keys",
            seen.rows, seen.keyset_examined
        );
        // `PageStats::peak_buffered` counts sort buffers and top-k heaps;
        // shard merges report theirs through the observer instead.
        if seen.keyset_peak_buffered > 0 {
            full.push_str(&format!(", peak buffered {}", seen.keyset_peak_buffered));
        }
        if !note.is_empty() {
            full.push_str("; ");
            full.push_str(&note);
        }
        Ok(Measurement::new(workload, unit, timing, full))
    }
}

fn load_bench(config: &Config, env: &mut Env) -> Result<()> {
    keyset_side::create_table(&env.db, TABLE, 1, true)?;
    sqlite_side::create_table(&env.sqlite, TABLE, config.sqlite_layout, true)?;
    let ids = || 1..=config.rows as i64;
    let bar = env.progress("keyset: loading bench", config.rows);
    keyset_side::load(&env.db, TABLE, ids(), keyset_side::LOAD_BATCH_ROWS, &bar)?;
    bar.finish();
    let bar = env.progress("SQLite: loading bench", config.rows);
    sqlite_side::load(
        &env.sqlite,
        TABLE,
        ids(),
        sqlite_side::LOAD_TRANSACTION_ROWS,
        &bar,
    )?;
    bar.finish();
    // Let the background thread turn what the load froze into runs, as it
    // would between a load and the first queries.
    env.db.store().maintain();
    env.raw = Some(RawTable::open(&env.db, TABLE)?);
    Ok(())
}

/// Runs the selected groups and returns their measurements in run order.
pub fn run(config: Config) -> Result<Vec<Measurement>> {
    if config.rows < MIN_ROWS {
        return Err(BenchError::TooFewRows {
            rows: config.rows,
            min: MIN_ROWS,
        });
    }
    for name in &config.only {
        if !GROUPS.iter().any(|g| g.name == name) {
            return Err(BenchError::UnknownWorkload {
                name: name.clone(),
                valid: group_names().join(", "),
            });
        }
    }
    let selected: Vec<&Group> = GROUPS
        .iter()
        .filter(|g| config.only.is_empty() || config.only.iter().any(|n| n == g.name))
        .collect();
    let mut env = Env {
        config: config.clone(),
        db: Db::memory()?,
        sqlite: sqlite_side::open_memory()?,
        raw: None,
    };
    if selected.iter().any(|g| g.reads_bench) {
        load_bench(&config, &mut env)?;
    }
    let mut results = Vec::new();
    for group in selected {
        if config.progress {
            eprintln!("running {}...", group.name);
        }
        results.extend((group.run)(&env)?);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every workload at a tiny size, one iteration per side: the sides
    /// agree (or `run` fails) and every group reports what it claims.
    #[test]
    fn every_workload_runs_and_the_sides_agree() {
        for layout in [sqlite_side::Layout::Clustered, sqlite_side::Layout::Rowid] {
            every_workload_agrees(layout);
        }
    }

    fn every_workload_agrees(layout: sqlite_side::Layout) {
        let mut config = Config::new(2_000);
        config.time = TimeBox {
            per_side: Duration::ZERO,
            rounds: 1,
            only: None,
        };
        config.progress = false;
        config.sqlite_layout = layout;
        let results = run(config).expect("every workload runs and agrees");
        let names: Vec<&str> = results.iter().map(|m| m.name.as_str()).collect();
        for expected in [
            "pk get (prepared)",
            "pk get (SQL text each call)",
            "primary-key get, prepared with a parameter",
            "first page, prepared with parameters",
            "first page, index range, ASC",
            "first page, index range, DESC",
            "page at 90% depth, keyset pagination",
            "page at 90% depth, OFFSET",
            "drain ~100k-row index range, pages of 100",
            "union of 4 equalities, drain",
            "intersection a = x AND b = y, first page",
            "top-k: ORDER BY unindexed c LIMIT 100",
            "ordered shard merge, 16 shard(s), drain 2000 rows",
            "unordered shard merge, 4 shard(s), drain 2000 rows",
            "ordered shard merge, 4 shard(s), drain 500 rows",
            "eager shard merge, 4 shard(s), drain 500 rows",
            "insert, batches of 100, 2 indexes, in memory",
            "recovery: reopen after a flush of 2000 rows",
            "recovery: reopen after a flush of 2000 rows with a 10% WAL tail",
            "layout scan, data map, ASC",
            "layout scan, data map, DESC",
            "first page, index range, ASC, while a writer commits batches of 100",
        ] {
            assert!(
                names.contains(&expected),
                "no result named {expected:?} in {names:#?}"
            );
        }
        // The memory row is measured in child processes of the bench binary,
        // which a test harness is not: it is absent here.
        assert_eq!(results.len(), 30, "{names:#?}");
        for m in results.iter().filter(|m| m.name.contains("shard merge")) {
            assert!(
                m.note.contains("observer (one more drain, untimed): peak ")
                    && m.note.contains(" by 4 shard(s)") == m.name.contains(" 4 shard(s)"),
                "{m:?}"
            );
        }
        let unordered = results
            .iter()
            .find(|m| m.name.starts_with("unordered shard merge"))
            .expect("an unordered merge row");
        assert!(
            unordered.note.contains("backpressure waits")
                && unordered
                    .note
                    .contains("the ordered merge of the same range"),
            "{unordered:?}"
        );
        // RSS growth at 2,000 rows can be zero (the allocator reuses
        // freed memory); every timed figure must be positive.
        for m in results.iter().filter(|m| m.unit != "B/row") {
            assert!(m.keyset > 0.0 && m.sqlite > 0.0, "{m:?}");
            assert_eq!(m.raw.is_some(), m.raw_ratio.is_some(), "{m:?}");
        }
    }

    #[test]
    fn unknown_groups_and_tiny_tables_are_refused() {
        let mut config = Config::new(2_000);
        config.only = vec!["nope".into()];
        let err = run(config).unwrap_err().to_string();
        assert!(
            err.contains("unknown workload `nope`") && err.contains("recovery"),
            "{err}"
        );
        assert!(matches!(
            run(Config::new(10)),
            Err(BenchError::TooFewRows { .. })
        ));
    }
}
