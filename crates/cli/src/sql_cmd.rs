//! `keyset sql`: one statement (optionally resuming a SELECT from a cursor
//! token), or a script with `--file` where each statement is its own commit.
//! Results go to stdout in the chosen format; the first failing statement of
//! a script stops it (the ones before it stay committed).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use keyset::{Cursor, Db, Page};
use keyset_sql::SourceStatement;

use crate::database::{self, Ran};
use crate::error::CliError;
use crate::output::{self, Format};
use crate::params;
use crate::runner::Runner;
use crate::DbArg;

/// Largest script `--file` reads, in bytes.
pub const MAX_SCRIPT_BYTES: u64 = 64 * 1024 * 1024;

/// Arguments of `keyset sql`.
#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Resume the SELECT from this cursor token (from a previous page's
    /// `next_cursor` or `prev_cursor`).
    #[arg(long, value_name = "TOKEN", conflicts_with = "file")]
    pub cursor: Option<String>,
    /// How results are printed.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// A value for the statement's next placeholder (`?`, `?N`), or
    /// `name=VALUE` for `:name`; read as the type of the column it binds
    /// to. Repeatable.
    #[arg(long = "param", value_name = "VALUE", conflicts_with = "file")]
    pub params: Vec<String>,
    /// Run the statements of a script file (`-` reads stdin), each its own commit.
    #[arg(long, value_name = "FILE", conflicts_with = "statement")]
    pub file: Option<PathBuf>,
    /// The statement to run.
    #[arg(value_name = "STATEMENT", required_unless_present = "file")]
    pub statement: Option<String>,
    /// Create the data directory, with a new empty database, if it does
    /// not exist (a statement that creates a table or index does anyway).
    #[arg(long)]
    pub create: bool,
    /// With --format csv: write NULL as TEXT (bare) instead of an empty
    /// field; a value spelled TEXT is then quoted.
    #[arg(long, value_name = "TEXT")]
    pub null_text: Option<String>,
}

pub fn run(args: &SqlArgs) -> Result<ExitCode, CliError> {
    let cursor = args
        .cursor
        .as_deref()
        .map(str::parse::<Cursor>)
        .transpose()?;
    let script = match &args.file {
        Some(path) => Some(read_script(path)?),
        None => None,
    };
    let text = script
        .as_deref()
        .or(args.statement.as_deref())
        .unwrap_or("");
    // Parsing the text again is needed only when the directory is missing.
    let may_create = args.create
        || ((args.db.cluster.is_some() || !args.db.db.exists())
            && database::creates_something(text));
    let missing = if may_create {
        database::Missing::Create
    } else {
        database::Missing::Refuse
    };
    let db = database::open(&args.db, missing)?;
    let rendering = Rendering {
        format: args.format,
        null_text: args.null_text.clone(),
    };
    let mut out = std::io::stdout().lock();
    match (&script, &args.statement) {
        (Some(text), _) => run_script(&db, text, &rendering, &mut out)?,
        (None, Some(sql)) if !args.params.is_empty() => {
            let ran = params::run_with_params(&db, sql, &args.params, cursor.as_ref())?;
            print(&mut out, &ran, &rendering)?;
        }
        (None, Some(sql)) => {
            let ran = database::run_statement(&db, sql, cursor.as_ref())?;
            print(&mut out, &ran, &rendering)?;
        }
        (None, None) => {
            return Err(CliError::Usage(
                "give a statement to run, or --file with a script".into(),
            ))
        }
    }
    out.flush()?;
    db.close()?;
    Ok(ExitCode::SUCCESS)
}

fn read_script(path: &PathBuf) -> Result<String, CliError> {
    let mut text = String::new();
    let limited =
        |r: &mut dyn Read, text: &mut String| r.take(MAX_SCRIPT_BYTES + 1).read_to_string(text);
    if path.as_os_str() == "-" {
        limited(&mut std::io::stdin().lock(), &mut text)
            .map_err(|e| CliError::file("<stdin>", e))?;
    } else {
        let mut file = std::fs::File::open(path).map_err(|e| CliError::file(path, e))?;
        limited(&mut file, &mut text).map_err(|e| CliError::file(path, e))?;
    }
    if text.len() as u64 > MAX_SCRIPT_BYTES {
        return Err(CliError::Usage(format!(
            "the script is larger than {MAX_SCRIPT_BYTES} bytes; split it or use `keyset import` for data"
        )));
    }
    Ok(text)
}

/// Runs every statement of `text` in order, printing each result; stops at
/// the first failure.
pub fn run_script(
    db: &Db,
    text: &str,
    rendering: &Rendering,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let statements =
        keyset_sql::split_statements_with_positions(text).map_err(keyset::Error::from)?;
    if statements.is_empty() {
        return Err(CliError::Usage("the script holds no statement".into()));
    }
    let mut runner = Runner::new(db.clone());
    for (at, statement) in statements.iter().enumerate() {
        let ran = runner
            .run(&statement.text, None)
            .map_err(|e| script_error(at + 1, statement, e))?;
        print(out, &ran, rendering)?;
    }
    if runner.roll_back() {
        eprintln!(
            "warning: the script ended inside a transaction (BEGIN without COMMIT); \
             it was rolled back and none of its changes were written"
        );
    }
    Ok(())
}

/// The error of statement `number` of a script, with one position counted
/// in the script: a SQL error's own, moved from the statement to the
/// script, or else where the statement starts.
fn script_error(number: usize, statement: &SourceStatement, e: CliError) -> CliError {
    match e {
        CliError::Db(keyset::Error::Sql(sql)) if sql.position().is_some() => CliError::Script {
            number,
            at: None,
            source: Box::new(CliError::Db(keyset::Error::Sql(
                sql.located_in_script(statement.line, statement.column),
            ))),
        },
        other => CliError::Script {
            number,
            at: Some((statement.line, statement.column)),
            source: Box::new(other),
        },
    }
}

/// How results are printed: the format, and for CSV how NULL is spelled.
#[derive(Debug)]
pub struct Rendering {
    pub format: Format,
    pub null_text: Option<String>,
}

fn print(out: &mut dyn Write, ran: &Ran, rendering: &Rendering) -> Result<(), CliError> {
    if let (Ran::Page(page), Format::Csv) = (ran, rendering.format) {
        output::write_page_csv(out, page, rendering.null_text.as_deref())?;
        cursors_to_stderr(page)?;
    } else {
        output::write_ran(out, ran, rendering.format)?;
    }
    Ok(())
}

/// CSV output holds only rows; the cursors, which a script needs to page
/// on, are reported on stderr, and so is a budget that stopped the page.
fn cursors_to_stderr(page: &Page) -> Result<(), CliError> {
    let mut err = std::io::stderr().lock();
    if page.stop().is_budget() {
        writeln!(err, "stop: {}", page.stop())?;
    }
    if let Some(next) = page.next_cursor() {
        writeln!(err, "next_cursor: {next}")?;
    }
    if let Some(prev) = page.prev_cursor() {
        writeln!(err, "prev_cursor: {prev}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(script: &str) -> String {
        let db = Db::memory().expect("memory db");
        let rendering = Rendering {
            format: Format::Json,
            null_text: None,
        };
        let err = run_script(&db, script, &rendering, &mut Vec::new()).expect_err("fails");
        err.to_string()
    }

    #[test]
    fn a_failing_statement_is_located_once_in_the_script() {
        let cases = [
            // A syntax error on the third line of the second statement.
            (
                "CREATE TABLE t (id INT PRIMARY KEY);\n\nSELECT *\n  FROM t\n  WHERE id = = 1;",
                "statement 2 failed: syntax error at line 5, column",
            ),
            // A SQL error on the first line of a statement that starts mid-line.
            (
                "CREATE TABLE t (id INT PRIMARY KEY);  INSERT INTO t VALUES (1e400);",
                "statement 2 failed: invalid literal `1e400` at line 1, column 61",
            ),
            // An error with no position of its own: where the statement starts.
            (
                "CREATE TABLE t (id INT PRIMARY KEY);\n  SELECT * FROM nowhere;",
                "statement 2 (line 2, column 3) failed: no table named `nowhere`",
            ),
        ];
        for (script, expected) in cases {
            let message = failure(script);
            assert!(message.starts_with(expected), "{message}");
        }
    }
}
