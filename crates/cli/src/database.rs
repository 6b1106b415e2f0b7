//! Opening the data directory a command works on, and running one statement
//! the way every command does (a SELECT yields a page, anything else an
//! outcome). Rendering is `output`'s job; this module never prints.

use std::path::Path;

use keyset::{Cursor, Db, Options, Outcome, Page, Statement, SyncMode};

use crate::error::CliError;

/// Opens (creating it if missing) the database in `dir` with every commit
/// synced to disk before it returns.
pub fn open(dir: &Path) -> Result<Db, CliError> {
    open_with_sync(dir, SyncMode::Always)
}

/// Opens `dir` with a chosen sync mode (the demo loads with `Never` and
/// checkpoints at the end).
pub fn open_with_sync(dir: &Path, sync: SyncMode) -> Result<Db, CliError> {
    let options = Options {
        sync,
        ..Options::default()
    };
    Ok(Db::open_with(dir, options)?)
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
    fn a_select_gives_a_page_and_others_an_outcome() {
        let db = Db::memory().expect("memory db");
        let ran = run_statement(&db, "CREATE TABLE t (id INT PRIMARY KEY)", None).expect("create");
        assert!(matches!(ran, Ran::Outcome(Outcome::Schema(_))), "{ran:?}");
        let ran = run_statement(&db, "SELECT * FROM t", None).expect("select");
        assert!(matches!(ran, Ran::Page(_)), "{ran:?}");
    }
}
