//! `CliError`: everything a command can fail with, worded for the person at
//! the terminal. It wraps the database's own error unchanged and adds the
//! command line's facts (which file, which statement of a script).
//! Printing is `main`'s job; this module only shapes the message.

use std::io;
use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The database refused or failed (SQL, plan, store, cursor...).
    #[error(transparent)]
    Db(#[from] keyset::Error),
    /// A cursor token given on the command line is not a keyset cursor.
    #[error("invalid cursor: {0}")]
    Cursor(#[from] keyset::CursorError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File { path: PathBuf, source: io::Error },
    /// Writing to stdout or stderr failed for a reason other than a closed pipe.
    #[error("cannot write the output: {0}")]
    Output(io::Error),
    /// The reader of our output went away (`| head`): end quietly.
    #[error("the output pipe was closed")]
    BrokenPipe,
    /// `--db` names something that is not a directory.
    #[error("{}: --db names a data directory, and this is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    /// `--db` names a directory that does not exist, for a command that
    /// does not create one.
    #[error(
        "no database at {}: the directory does not exist (check --db, or pass --create to make a new one)",
        dir.display()
    )]
    NoDatabase { dir: PathBuf },
    /// The arguments make no sense together.
    #[error("{0}")]
    Usage(String),
    /// A statement of a script failed; the statements before it are
    /// committed. One position is given, counted in the script: the
    /// error's own when it has one (a SQL error), else where the statement
    /// starts (`at`).
    #[error(
        "statement {number}{} failed: {source}",
        at.map(|(line, column)| format!(" (line {line}, column {column})")).unwrap_or_default()
    )]
    Script {
        number: usize,
        at: Option<(u64, u64)>,
        source: Box<CliError>,
    },
    /// `import` rejected some lines; `imported` rows were written.
    #[error(
        "{rejected} of {lines} lines were rejected (see the messages above); {}",
        imported_text(*imported)
    )]
    Rejected {
        rejected: u64,
        lines: u64,
        imported: u64,
    },
    /// The demo found a result that contradicts keyset's guarantees.
    #[error("the demo found {0} check(s) that failed (see the output above)")]
    DemoCheck(usize),
}

impl From<io::Error> for CliError {
    /// Only for errors of writing the output: reading files goes through
    /// [`CliError::File`], which names the file.
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Output(e)
        }
    }
}

/// What an import with rejected lines still wrote, said truly.
fn imported_text(imported: u64) -> String {
    match imported {
        0 => "nothing was imported".to_owned(),
        1 => "1 row was imported".to_owned(),
        n => format!("{n} rows were imported"),
    }
}

impl CliError {
    /// A file error with the path it concerns.
    pub fn file(path: impl Into<PathBuf>, source: io::Error) -> CliError {
        CliError::File {
            path: path.into(),
            source,
        }
    }
}

/// The message on one line: line breaks inside a message (a plan, a
/// multi-line parser message) become "; ".
pub fn one_line(e: &impl std::fmt::Display) -> String {
    let text = e.to_string();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_is_its_own_variant() {
        let e = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(matches!(e, CliError::BrokenPipe));
        let e = CliError::from(io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(matches!(e, CliError::Output(_)));
    }

    #[test]
    fn the_import_summary_says_what_was_written() {
        let cases = [
            (
                0,
                "2 of 2 lines were rejected (see the messages above); nothing was imported",
            ),
            (
                1,
                "1 of 2 lines were rejected (see the messages above); 1 row was imported",
            ),
        ];
        for (imported, expected) in cases {
            let e = CliError::Rejected {
                rejected: 2 - imported,
                lines: 2,
                imported,
            };
            assert_eq!(e.to_string(), expected);
        }
    }

    #[test]
    fn messages_fold_to_one_line() {
        let e = CliError::Usage("first\n  second\n\nthird".into());
        assert_eq!(one_line(&e), "first; second; third");
    }
}
