//! `keyset shell`: the read-run-print loop. `input` turns lines into
//! statements and dot-commands, `session` runs them and keeps the last
//! query's cursors. Interactive on a terminal (rustyline, history in the
//! data directory); from a pipe it reads lines silently and exits non-zero
//! if any statement failed.

mod input;
mod session;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use crate::database;
use crate::error::CliError;
use crate::DbArg;

use input::{Gathered, Line, Lines, Pending};
use session::{Control, Session};

/// The history file's name inside the data directory.
pub const HISTORY_FILE: &str = "shell_history.txt";

/// Arguments of `keyset shell`.
#[derive(Debug, clap::Args)]
pub struct ShellArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Create the data directory, with a new empty database, if it does
    /// not exist.
    #[arg(long)]
    pub create: bool,
}

pub fn run(args: &ShellArgs) -> Result<ExitCode, CliError> {
    let missing = if args.create {
        database::Missing::Create
    } else {
        database::Missing::Refuse
    };
    let db = database::open(&args.db, missing)?;
    let mut lines = if std::io::stdin().is_terminal() {
        Lines::editor(Some(args.db.db.join(HISTORY_FILE)))?
    } else {
        Lines::Piped(Box::new(std::io::stdin().lock()))
    };
    let mut session = Session::new(db);
    let result = repl(&mut lines, &mut session, &args.db.db.display().to_string());
    if let Some(warning) = lines.save_history() {
        let _ = writeln!(std::io::stderr(), "warning: {warning}");
    }
    let interactive = lines.is_interactive();
    let errors = session.errors();
    session.into_db(&mut std::io::stderr()).close()?;
    result?;
    if errors > 0 && !interactive {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn repl(lines: &mut Lines, session: &mut Session, dir: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    if lines.is_interactive() {
        writeln!(
            out,
            "keyset shell on {dir}. Statements end with ';'. .help lists the commands."
        )?;
    }
    let mut pending = Pending::default();
    loop {
        let prompt = if pending.is_empty() {
            "keyset> "
        } else {
            "   ...> "
        };
        let line = match lines.read(prompt)? {
            Line::Text(line) => line,
            Line::Interrupted => {
                pending.clear();
                continue;
            }
            Line::End => break,
        };
        match pending.push(&line) {
            Gathered::More => {}
            Gathered::Command(command) => {
                let control = session.dot(&command, &mut out, &mut err)?;
                out.flush()?;
                if control == Control::Quit {
                    return Ok(());
                }
            }
            Gathered::Statements(text) => {
                session.statements(&text, &mut out, &mut err)?;
                out.flush()?;
            }
            Gathered::TooLong => {
                let too_long = CliError::Usage(format!(
                    "the statement is longer than {} bytes and was dropped",
                    input::MAX_STATEMENT_BYTES
                ));
                session.report(&mut err, &too_long)?;
            }
        }
    }
    // The input ended in the middle of a statement without its `;`: run it
    // anyway, as a script runner would.
    if let Some(text) = pending.take() {
        session.statements(&text, &mut out, &mut err)?;
    }
    out.flush()?;
    Ok(())
}
