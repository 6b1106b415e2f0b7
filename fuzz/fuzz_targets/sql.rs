//! Fuzz target `sql`: arbitrary text to the SQL front end, and what parses
//! run against a small in-memory database.
//!
//! Asserts: `keyset_sql::parse` and `split_statements` never panic and never
//! report `SqlError::Internal` (a panic of sqlparser caught underneath);
//! a script that parses splits into as many pieces as it has statements,
//! and each piece parses alone to the same statement; running the
//! statements (following a few cursors of each SELECT) never panics and
//! never fails with an internal executor error.
#![no_main]

use keyset::{Db, Error, ExecError, Outcome};
use keyset_sql::SqlError;
use libfuzzer_sys::fuzz_target;

/// Statements run per input, and pages followed per SELECT.
const MAX_STATEMENTS: usize = 8;
const MAX_PAGES: usize = 8;

const SETUP: &[&str] = &[
    "CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT, f FLOAT) WITH (shards = 2)",
    "CREATE INDEX t_a ON t (a, b)",
    "INSERT INTO t VALUES (1, 10, 'x', 1.5), (2, NULL, 'y', -0.0), (3, 10, NULL, NULL), \
     (4, 7, 'x', 2.0), (5, 12, 'z''q', 1e300)",
];

fn not_internal(error: &Error) {
    assert!(
        !matches!(error, Error::Exec(ExecError::Internal { .. })),
        "internal executor error: {error}"
    );
    assert!(
        !matches!(error, Error::Sql(SqlError::Internal { .. })),
        "the SQL parser panicked: {error}"
    );
}

fn fresh_db() -> Db {
    let db = Db::memory().expect("in-memory database");
    for statement in SETUP {
        db.execute(statement).expect("setup statement");
    }
    db
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = keyset_sql::parse(text);
    if let Err(error) = &parsed {
        assert!(
            !matches!(error, SqlError::Internal { .. }),
            "the SQL parser panicked: {error}"
        );
    }
    let split = keyset_sql::split_statements(text);
    let Ok(statements) = parsed else {
        return;
    };
    let pieces = split.expect("text that parses also splits");
    assert_eq!(
        pieces.len(),
        statements.len(),
        "split and parse disagree: {pieces:?}"
    );
    for (piece, statement) in pieces.iter().zip(&statements) {
        let alone = keyset_sql::parse_one(piece);
        assert!(
            alone.as_ref() == Ok(statement),
            "the piece {piece:?} parses alone to {alone:?}, in the script to {statement:?}"
        );
    }

    let db = fresh_db();
    for statement in statements.into_iter().take(MAX_STATEMENTS) {
        let query = match &statement {
            keyset::Statement::Select(q) => Some(q.clone()),
            _ => None,
        };
        match db.run(statement) {
            Err(error) => not_internal(&error),
            Ok(Outcome::Page(page)) => {
                let query = query.expect("a page comes from a SELECT");
                let mut next = page.next_cursor().cloned();
                for _ in 0..MAX_PAGES {
                    let Some(cursor) = next.take() else { break };
                    match db.query_with(&query, Some(&cursor)) {
                        Ok(page) => next = page.next_cursor().cloned(),
                        Err(error) => {
                            not_internal(&error);
                            break;
                        }
                    }
                }
            }
            Ok(_) => {}
        }
    }
});
