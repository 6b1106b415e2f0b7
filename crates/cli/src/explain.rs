//! `keyset explain`: prints the plan of one SELECT (or `EXPLAIN SELECT`)
//! without running it. The plan text is the planner's own; this module adds
//! nothing to it.

use std::io::Write;
use std::process::ExitCode;

use crate::database;
use crate::error::CliError;
use crate::output::with_newline;
use crate::DbArg;

/// Arguments of `keyset explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The SELECT to plan.
    #[arg(value_name = "SELECT")]
    pub sql: String,
}

pub fn run(args: &ExplainArgs) -> Result<ExitCode, CliError> {
    let db = database::open(&args.db.db)?;
    let plan = db.explain(&args.sql)?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", with_newline(&plan))?;
    out.flush()?;
    db.close()?;
    Ok(ExitCode::SUCCESS)
}
