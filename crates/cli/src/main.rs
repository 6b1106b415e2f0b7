//! The `keyset` command line: argument parsing and dispatch to one module
//! per command (`demo`, `shell`, `sql_cmd`, `import`, `explain`,
//! `checkpoint`).
//!
//! Every error reaches `main` as a `CliError` and is printed as one line
//! `error: ...` on stderr with a non-zero status; a closed output pipe ends
//! the program quietly. Nothing here prints query results itself.

mod checkpoint;
mod database;
mod demo;
mod error;
mod explain;
mod import;
mod output;
mod params;
mod recovery;
mod runner;
mod schema;
mod shell;
mod sql_cmd;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Where `--db` points when it is not given.
pub const DEFAULT_DB_DIR: &str = "./keyset-data";

#[derive(Debug, Parser)]
#[command(
    name = "keyset",
    version,
    about = "keyset: an embedded ordered database whose queries page correctly",
    long_about = "keyset: an embedded ordered database whose queries page correctly.\n\n\
                  Start with `keyset demo`, then `keyset shell`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a sample database and walk through pages, cursors and plans.
    Demo(demo::DemoArgs),
    /// An interactive SQL shell (also reads statements from a pipe).
    Shell(shell::ShellArgs),
    /// Run one statement, or a script with --file.
    Sql(sql_cmd::SqlArgs),
    /// Load rows from a JSON Lines or CSV file into a table.
    Import(import::ImportArgs),
    /// Print the plan of a SELECT.
    Explain(explain::ExplainArgs),
    /// Flush now: write the data to run files and a manifest, and cut the
    /// log, so the next open replays nothing.
    Checkpoint(checkpoint::CheckpointArgs),
}

/// The `--db` and `--busy-timeout` options shared by the commands that
/// open a database.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArg {
    /// The data directory.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_DB_DIR)]
    pub db: PathBuf,
    /// How long to wait, in milliseconds, for a data directory another
    /// process holds before giving up (0: give up at once).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub busy_timeout: u64,
    /// Open a damaged data directory by dropping what the damage makes
    /// unusable (falling back to the previous generation and the log where
    /// that covers it); what was dropped is printed on stderr.
    #[arg(long)]
    pub repair: bool,
    /// Use the database held in the Redis Cluster at this node
    /// (`redis://HOST:PORT`) instead of a data directory; `--db` is then
    /// ignored. See docs/cluster.md.
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,
    /// The name of the database in the cluster (with `--cluster`).
    #[arg(long, value_name = "NAME", default_value = "keyset")]
    pub cluster_db: String,
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Shell(args) => shell::run(&args),
        Command::Sql(args) => sql_cmd::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Checkpoint(args) => checkpoint::run(&args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(CliError::BrokenPipe) => ExitCode::SUCCESS,
        Err(e) => {
            // stderr itself may be closed; there is nowhere left to report that.
            let _ = writeln!(std::io::stderr(), "error: {}", error::one_line(&e));
            ExitCode::FAILURE
        }
    }
}
