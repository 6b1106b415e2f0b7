//! `keyset demo`: builds the sample database (`data`) in a fresh directory
//! and walks a newcomer through paging, cursors, plans, budgets, the
//! sharded merges and their statistics (`tour`, `composite`, `shards`,
//! `observed`), printing through `show`. Every claim the walk makes is
//! checked; a failed check makes the demo exit 1.

mod cluster;
mod composite;
mod consistency;
mod data;
mod observed;
mod shards;
mod show;
mod tour;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use keyset::{Db, SyncMode};

use crate::database;
use crate::error::CliError;
use crate::output::duration_text;

use show::Show;

/// Rows the demo loads unless `--rows` says otherwise.
pub const DEFAULT_ROWS: u64 = 200_000;
/// Fewest rows the walk needs to have something to show on every step.
pub const MIN_ROWS: u64 = 1_000;
/// Most rows `--rows` accepts (the demo loads them in one process, in memory).
pub const MAX_ROWS: u64 = 10_000_000;

/// Arguments of `keyset demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How many orders to load.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ROWS)]
    pub rows: u64,
    /// Build the database in this directory (it must not hold an `orders`
    /// table yet). By default a fresh temporary directory, removed at the end.
    #[arg(long, value_name = "DIR")]
    pub db: Option<PathBuf>,
    /// Keep the temporary database directory instead of removing it.
    #[arg(long)]
    pub keep: bool,
    /// Instead: a traversal over a Redis Cluster this demo starts, with a
    /// master killed in the middle (needs redis-server; see docs/cluster.md).
    #[arg(long)]
    pub cluster: bool,
}

pub fn run(args: &DemoArgs) -> Result<ExitCode, CliError> {
    if args.cluster {
        let mut out = std::io::stdout().lock();
        return cluster::run(&mut out);
    }
    if !(MIN_ROWS..=MAX_ROWS).contains(&args.rows) {
        return Err(CliError::Usage(format!(
            "--rows must be between {MIN_ROWS} and {MAX_ROWS}"
        )));
    }
    let started = Instant::now();
    let temp = match &args.db {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("keyset-demo-")
                .tempdir()
                .map_err(|e| CliError::file(std::env::temp_dir(), e))?,
        ),
    };
    let dir: PathBuf = match (&args.db, &temp) {
        (Some(dir), _) => dir.clone(),
        (None, Some(temp)) => temp.path().to_path_buf(),
        (None, None) => return Err(CliError::Usage("no directory for the demo database".into())),
    };
    let db = database::open_with_sync(&dir, SyncMode::Never, database::Missing::Create, 0)?;
    if db.table(data::TABLE).is_some() {
        return Err(CliError::Usage(format!(
            "{} already holds an `{}` table; give the demo a fresh --db directory",
            dir.display(),
            data::TABLE
        )));
    }
    let mut out = std::io::stdout().lock();
    let failures = walk(&db, &dir, args.rows, &mut out, started)?;
    db.close()?;
    match temp {
        Some(temp) if args.keep => {
            let kept = temp.keep();
            writeln!(out, "\nThe demo database is kept in {}.", kept.display())?;
            writeln!(out, "Try: keyset shell --db {}", kept.display())?;
        }
        Some(temp) => temp.close().map_err(|e| CliError::file(&dir, e))?,
        None => {
            writeln!(out, "\nThe demo database is in {}.", dir.display())?;
            writeln!(out, "Try: keyset shell --db {}", dir.display())?;
        }
    }
    out.flush()?;
    if failures > 0 {
        return Err(CliError::DemoCheck(failures));
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the data and runs every step; returns how many checks failed.
fn walk(
    db: &Db,
    dir: &Path,
    rows: u64,
    out: &mut dyn Write,
    started: Instant,
) -> Result<usize, CliError> {
    writeln!(
        out,
        "keyset demo: pages, cursors and plans on {rows} orders"
    )?;
    writeln!(out, "database directory: {}", dir.display())?;
    writeln!(out)?;
    for statement in data::SCHEMA {
        writeln!(out, "  {statement}")?;
    }
    out.flush()?;
    let load_time = data::load(db, rows)?;
    let checkpoint_started = Instant::now();
    db.checkpoint()?;
    writeln!(
        out,
        "loaded {rows} rows in batches of {} in {} ({:.0} rows/s), checkpoint in {}",
        data::BATCH_ROWS,
        duration_text(load_time),
        rows as f64 / load_time.as_secs_f64().max(1e-9),
        duration_text(checkpoint_started.elapsed())
    )?;

    let mut show = Show::new(db, out);
    let first_page = tour::paging(&mut show)?;
    let picks = composite::Picks::choose(&mut show)?;
    composite::union(&mut show, &picks)?;
    composite::intersection(&mut show, &picks)?;
    composite::budget(&mut show)?;
    composite::top_k(&mut show)?;
    shards::merge(&mut show)?;
    shards::routing(&mut show)?;
    observed::statistics(&mut show, rows)?;
    consistency::snapshot_beside_live(&mut show)?;
    consistency::conflict_and_retry(&mut show)?;
    composite::forged(&mut show, &first_page)?;
    show.heading(
        "Timings",
        "Each page above, timed on this machine (the load and the checks are not included).",
    )?;
    show.timings(started.elapsed())?;
    let failures = show.failures();
    if failures == 0 {
        show.say("\nEvery check of the walk passed.")?;
    }
    show.say(
        "\nThe same traversal over shards held in a Redis Cluster, with a master killed in \
         the middle: `keyset demo --cluster` (needs redis-server: apt-get install -y redis-server).",
    )?;
    Ok(failures)
}
