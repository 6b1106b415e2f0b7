//! Opening the data directory a command works on, and running one statement
//! the way every command does (a SELECT yields a page, anything else an
//! outcome). Opening refuses a `--db` that is a file, creates a missing
//! directory only when the command may ([`Missing`]), waits `--busy-timeout`
//! for a held lock, and has what recovery cut or repaired told on stderr
//! (`recovery`). Rendering results is `output`'s job.

use std::path::Path;
use std::time::Duration;

use keyset::{Cursor, Db, Options, Outcome, Page, Statement, SyncMode};

use crate::error::CliError;
use crate::DbArg;

/// What opening does when the `--db` directory does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Create it, with a new empty database (demo, import, `--create`, a
    /// statement that creates a table or an index).
    Create,
    /// Refuse, naming `--create`: a typo in `--db` must not give a new,
    /// empty database that answers every query with nothing.
    Refuse,
}

/// Opens the database `--db` names with every commit synced to disk
/// before it returns.
pub fn open(arg: &DbArg, missing: Missing) -> Result<Db, CliError> {
    if let Some(url) = &arg.cluster {
        return connect(url, &arg.cluster_db, missing);
    }
    check_dir(&arg.db, missing)?;
    let options = Options {
        sync: SyncMode::Always,
        busy_timeout: Duration::from_millis(arg.busy_timeout),
        repair: arg.repair,
        ..Options::default()
    };
    open_checked(&arg.db, options)
}

/// Connects to the database `name` held in the cluster at `url`, creating
/// it when the command may.
pub fn connect(url: &str, name: &str, missing: Missing) -> Result<Db, CliError> {
    let cluster = keyset::ClusterOptions {
        database: name.to_owned(),
        create: missing == Missing::Create,
        ..keyset::ClusterOptions::default()
    };
    Ok(Db::connect_with(&[url], Options::default(), &cluster)?)
}

/// Opens `dir` with a chosen sync mode (the demo loads with `Never` and
/// checkpoints at the end), waiting up to `busy_timeout_ms` for its lock.
pub fn open_with_sync(
    dir: &Path,
    sync: SyncMode,
    missing: Missing,
    busy_timeout_ms: u64,
) -> Result<Db, CliError> {
    check_dir(dir, missing)?;
    let options = Options {
        sync,
        busy_timeout: Duration::from_millis(busy_timeout_ms),
        ..Options::default()
    };
    open_checked(dir, options)
}

/// Opens a directory `check_dir` accepted and tells on stderr what
/// recovery cut or repaired.
fn open_checked(dir: &Path, options: Options) -> Result<Db, CliError> {
    let db = Db::open_with(dir, options)?;
    if let Some(report) = db.recovery_report() {
        crate::recovery::warn(&mut std::io::stderr().lock(), report)?;
    }
    Ok(db)
}

/// Refuses a `--db` that is not a directory, or that is missing when the
/// command may not create it.
fn check_dir(dir: &Path, missing: Missing) -> Result<(), CliError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(CliError::NotADirectory {
            path: dir.to_path_buf(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match missing {
            Missing::Create => Ok(()),
            Missing::Refuse => Err(CliError::NoDatabase {
                dir: dir.to_path_buf(),
            }),
        },
        Err(e) => Err(CliError::file(dir, e)),
    }
}

/// Whether any statement of `sql` creates something (a table or an index):
/// only such text may create a missing data directory. Text that does not
/// parse creates nothing.
pub fn creates_something(sql: &str) -> bool {
    keyset_sql::parse(sql).is_ok_and(|statements| {
        statements
            .iter()
            .any(|s| matches!(s, Statement::CreateTable(_) | Statement::CreateIndex(_)))
    })
}

/// What one statement gave back.
#[derive(Debug)]
pub enum Ran {
    /// A SELECT: one page.
    Page(Page),
    /// Anything else.
    Outcome(Outcome),
}

/// Runs one statement. `cursor` resumes a SELECT; given with any other
/// statement it is a usage error (a cursor only continues a query).
pub fn run_statement(db: &Db, sql: &str, cursor: Option<&Cursor>) -> Result<Ran, CliError> {
    let statement = keyset_sql::parse_one(sql).map_err(keyset::Error::from)?;
    match statement {
        Statement::Select(query) => Ok(Ran::Page(db.query_with(&query, cursor)?)),
        _ if cursor.is_some() => Err(CliError::Usage(
            "a cursor continues a SELECT; this statement is not one".into(),
        )),
        other => Ok(Ran::Outcome(db.run(other)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_with_a_write_is_a_usage_error() {
        let db = Db::memory().expect("memory db");
        db.execute("CREATE TABLE t (id INT PRIMARY KEY)")
            .expect("create");
        db.execute("INSERT INTO t VALUES (1), (2)").expect("insert");
        let Ran::Page(page) = run_statement(&db, "SELECT * FROM t LIMIT 1", None).expect("select")
        else {
            panic!("a SELECT gives a page");
        };
        let cursor = page.next_cursor().expect("a second row follows");
        let err = run_statement(&db, "DELETE FROM t", Some(cursor)).expect_err("refused");
        assert!(matches!(err, CliError::Usage(_)), "{err:?}");
        assert_eq!(db.query("SELECT * FROM t", None).expect("rows").len(), 2);
    }

    #[test]
    fn only_creating_text_may_create_a_directory() {
        let cases = [
            ("CREATE TABLE t (id INT PRIMARY KEY)", true),
            ("SELECT * FROM t; CREATE INDEX i ON t (v)", true),
            ("SELECT * FROM t", false),
            ("INSERT INTO t VALUES (1)", false),
            ("CREATE TABLE (", false),
        ];
        for (sql, creates) in cases {
            assert_eq!(creates_something(sql), creates, "{sql}");
        }
    }

    #[test]
    fn a_missing_directory_is_created_only_when_allowed_and_a_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("typo");
        let err =
            open_with_sync(&missing, SyncMode::Never, Missing::Refuse, 0).expect_err("refused");
        assert!(matches!(err, CliError::NoDatabase { .. }), "{err:?}");
        assert!(err.to_string().contains("--create"), "{err}");
        assert!(!missing.exists(), "nothing created");
        open_with_sync(&missing, SyncMode::Never, Missing::Create, 0)
            .expect("created")
            .close()
            .expect("closed");
        let file = dir.path().join("plain.txt");
        std::fs::write(&file, "x").expect("file");
        let err = open_with_sync(&file, SyncMode::Never, Missing::Create, 0).expect_err("a file");
        assert!(err.to_string().ends_with("is not a directory"), "{err}");
    }

    #[test]
    fn a_select_gives_a_page_and_others_an_outcome() {
        let db = Db::memory().expect("memory db");
        let ran = run_statement(&db, "CREATE TABLE t (id INT PRIMARY KEY)", None).expect("create");
        assert!(matches!(ran, Ran::Outcome(Outcome::Schema(_))), "{ran:?}");
        let ran = run_statement(&db, "SELECT * FROM t", None).expect("select");
        assert!(matches!(ran, Ran::Page(_)), "{ran:?}");
    }
}
