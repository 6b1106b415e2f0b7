//! `keyset checkpoint --db DIR`: flush now. Writes every table to run
//! files and a manifest and cuts the log, so the next open loads runs in
//! bulk and replays nothing. It refuses a missing directory like `sql`.

use std::process::ExitCode;

use crate::database::{self, Missing};
use crate::error::CliError;
use crate::DbArg;

#[derive(Debug, clap::Args)]
pub struct CheckpointArgs {
    #[command(flatten)]
    pub db: DbArg,
}

pub fn run(args: &CheckpointArgs) -> Result<ExitCode, CliError> {
    let db = database::open(&args.db, Missing::Refuse)?;
    db.checkpoint()?;
    db.close()?;
    Ok(ExitCode::SUCCESS)
}
