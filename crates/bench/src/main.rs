//! The `keyset-bench` binary: parses arguments, runs the workloads, prints
//! the table and writes the JSON. All measuring lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use keyset_bench::sqlite_side::Layout;
use keyset_bench::timing::Side;
use keyset_bench::{report, run, Config};

/// keyset beside SQLite (in memory, prepared statements, hand-written
/// keyset pagination) and the raw store map, on the same rows.
#[derive(Debug, Parser)]
#[command(name = "keyset-bench", version)]
struct Args {
    /// Rows in the benchmark table.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run only these workload groups (pk, pk_sql, first_page_asc,
    /// first_page_desc, depth,
    /// drain, union, intersection, topk, shards, insert_memory,
    /// insert_durable, recovery).
    #[arg(long, num_args = 1..)]
    only: Vec<String>,
    /// Milliseconds each side of a workload is timed for.
    #[arg(long, default_value_t = 500)]
    time_ms: u64,
    /// Rounds the timing is split into (the median round is reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Print keyset's and SQLite's plan of each workload.
    #[arg(long)]
    explain: bool,
    /// SQLite's table layout: `clustered` (WITHOUT ROWID, indexes ending in
    /// id: row values seek) or `rowid` (INTEGER PRIMARY KEY).
    #[arg(long, default_value = "clustered", value_parser = ["clustered", "rowid"])]
    sqlite_layout: String,
    /// Time only this side (keyset, sqlite or raw), for a profiler; the
    /// agreement check still runs every side.
    #[arg(long, value_parser = ["keyset", "sqlite", "raw"])]
    profile: Option<String>,
    /// No progress bars or status lines.
    #[arg(long)]
    quiet: bool,
    /// Run the first-page and shard-merge workloads on a 16-shard table in
    /// the Redis Cluster at this node (redis://HOST:PORT), beside the same
    /// table embedded, with the round trips per page (docs/cluster.md).
    #[arg(long, value_name = "URL")]
    cluster: Option<String>,
    /// Internal: load `--rows` rows into a fresh keyset or SQLite database
    /// in this process and print the RSS growth in bytes (the memory
    /// workload runs each side in a child process of its own).
    #[arg(long, hide = true, value_parser = ["keyset", "sqlite"])]
    memory_child: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(side) = &args.memory_child {
        return match keyset_bench::memory_child(side, args.rows) {
            Ok(bytes) => {
                println!("{bytes}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("keyset-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(url) = &args.cluster {
        return match keyset_bench::cluster::run(url, args.rows, args.rounds, !args.quiet) {
            Ok(figures) => {
                print!("{}", keyset_bench::cluster::table(&figures));
                println!(
                    "{} rows, 16 shards; median of {} runs",
                    args.rows, args.rounds
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("keyset-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let mut config = Config::new(args.rows);
    config.only = args.only;
    config.time.per_side = Duration::from_millis(args.time_ms);
    config.time.rounds = args.rounds;
    config.explain = args.explain;
    config.progress = !args.quiet;
    config.time.only = match args.profile.as_deref() {
        Some("keyset") => Some(Side::Keyset),
        Some("sqlite") => Some(Side::Sqlite),
        Some("raw") => Some(Side::Raw),
        _ => None,
    };
    if args.sqlite_layout == "rowid" {
        config.sqlite_layout = Layout::Rowid;
    }
    let start = Instant::now();
    let results = match run(config) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("keyset-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", report::table(&results));
    println!(
        "{} rows; every figure is a cost (lower is better); ran in {:.1} s",
        args.rows,
        start.elapsed().as_secs_f64()
    );
    if let Some(path) = args.json {
        if let Err(e) = report::write_json(&path, args.rows, &results) {
            eprintln!("keyset-bench: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
