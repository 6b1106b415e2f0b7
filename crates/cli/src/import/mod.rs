//! `keyset import`: loads a JSON Lines or CSV file into an existing table
//! in batches. Each record is converted and checked before it joins a batch,
//! so a bad line is reported (with its number) and skipped alone. Rows are
//! inserted, never silently replaced (`--upsert` replaces). A batch the
//! store refuses (a taken key, a unique violation, a row or key over the
//! size limits) is split until the refused lines are found: each is
//! reported by its number and the others are committed.

mod convert;
mod csv_quotes;
mod json;
mod source;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use keyset::{Db, StoreError, Value};

use crate::database;
use crate::error::CliError;
use crate::output::{duration_text, rows_word};
use crate::DbArg;

use source::{FileFormat, Source};

/// Rows per commit unless `--batch` says otherwise.
pub const DEFAULT_BATCH_ROWS: usize = 1000;
/// Most rows `--batch` accepts (a batch is held in memory and validated whole).
pub const MAX_BATCH_ROWS: usize = 100_000;

/// Arguments of `keyset import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The table to load into (it must exist).
    #[arg(long)]
    pub table: String,
    /// Rows per commit.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BATCH_ROWS)]
    pub batch: usize,
    /// Replace a row whose primary key exists instead of refusing the line.
    #[arg(long)]
    pub upsert: bool,
    /// CSV: an unquoted field equal to TEXT is NULL (by default an unquoted
    /// empty field is NULL and a quoted "" is the empty string).
    #[arg(long, value_name = "TEXT")]
    pub null_text: Option<String>,
    /// A JSON Lines file (*.jsonl: one object per line, keys are column
    /// names) or a CSV file (*.csv: a header row naming the columns).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// What an import did so far.
#[derive(Debug, Default)]
struct Tally {
    records: u64,
    imported: u64,
    rejected: u64,
}

/// Rows waiting for their commit, with the line each came from.
#[derive(Debug, Default)]
struct PendingBatch {
    rows: Vec<(u64, Vec<Value>)>,
}

pub fn run(args: &ImportArgs) -> Result<ExitCode, CliError> {
    if args.batch == 0 || args.batch > MAX_BATCH_ROWS {
        return Err(CliError::Usage(format!(
            "--batch must be between 1 and {MAX_BATCH_ROWS}"
        )));
    }
    let format = FileFormat::of(&args.file)?;
    if args.null_text.is_some() && format != FileFormat::Csv {
        return Err(CliError::Usage(
            "--null-text spells NULL in a CSV file; JSON Lines write null".into(),
        ));
    }
    let db = database::open(&args.db, database::Missing::Create)?;
    let table = db.table(&args.table).ok_or_else(|| {
        CliError::Usage(format!(
            "no table named `{}`; create it first (keyset sql \"CREATE TABLE ...\")",
            args.table
        ))
    })?;
    let total_bytes = std::fs::metadata(&args.file)
        .map_err(|e| CliError::file(&args.file, e))?
        .len();
    let mut source = Source::open(&args.file, format, table.clone(), args.null_text.clone())?;
    let bar = progress_bar(total_bytes);
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut pending = PendingBatch::default();
    while let Some(record) = source.next_record(&args.file)? {
        tally.records += 1;
        match record.row {
            Ok(row) => pending.rows.push((record.line, row)),
            Err(why) => {
                tally.rejected += 1;
                report(&bar, &format!("line {}: {why}", record.line))?;
            }
        }
        if pending.rows.len() >= args.batch {
            commit(
                &db,
                &table.name,
                args.upsert,
                &mut pending,
                &mut tally,
                &bar,
            )?;
        }
        bar.set_position(source.bytes_read());
    }
    commit(
        &db,
        &table.name,
        args.upsert,
        &mut pending,
        &mut tally,
        &bar,
    )?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "imported {} into `{}` from {} in {}; {} rejected",
        rows_word(usize::try_from(tally.imported).unwrap_or(usize::MAX)),
        table.name,
        args.file.display(),
        duration_text(started.elapsed()),
        if tally.rejected == 1 {
            "1 line".to_owned()
        } else {
            format!("{} lines", tally.rejected)
        }
    )?;
    out.flush()?;
    db.close()?;
    if tally.rejected > 0 {
        return Err(CliError::Rejected {
            rejected: tally.rejected,
            lines: tally.records,
            imported: tally.imported,
        });
    }
    Ok(ExitCode::SUCCESS)
}

/// Commits the pending rows. A batch the store refuses is split in halves
/// until each refused line stands alone; every refused line is reported by
/// its number and counted, every other row is committed (in file order, so
/// a later line repeating an earlier key is the one refused). A failure of
/// the storage itself (I/O) stops the import.
fn commit(
    db: &Db,
    table: &str,
    upsert: bool,
    pending: &mut PendingBatch,
    tally: &mut Tally,
    bar: &ProgressBar,
) -> Result<(), CliError> {
    let rows = std::mem::take(&mut pending.rows);
    commit_rows(db, table, upsert, &rows, tally, bar)
}

fn commit_rows(
    db: &Db,
    table: &str,
    upsert: bool,
    rows: &[(u64, Vec<Value>)],
    tally: &mut Tally,
    bar: &ProgressBar,
) -> Result<(), CliError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut batch = db.batch();
    for (_, row) in rows {
        batch = if upsert {
            batch.put(table, row.clone())
        } else {
            batch.insert(table, row.clone())
        };
    }
    match batch.commit() {
        Ok(_) => tally.imported += rows.len() as u64,
        Err(e @ keyset::Error::Store(StoreError::Io { .. } | StoreError::Poisoned)) => {
            return Err(e.into())
        }
        Err(e) => match rows {
            [(line, _)] => {
                tally.rejected += 1;
                report(bar, &format!("line {line}: {}", crate::error::one_line(&e)))?;
            }
            _ => {
                let (first, second) = rows.split_at(rows.len() / 2);
                commit_rows(db, table, upsert, first, tally, bar)?;
                commit_rows(db, table, upsert, second, tally, bar)?;
            }
        },
    }
    Ok(())
}

fn progress_bar(total_bytes: u64) -> ProgressBar {
    let bar = ProgressBar::new(total_bytes);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// A message on stderr that does not tear the progress bar.
fn report(bar: &ProgressBar, message: &str) -> Result<(), CliError> {
    bar.suspend(|| writeln!(std::io::stderr(), "{message}"))?;
    Ok(())
}
