//! keyset-sql: keyset's SQL subset, parsed with the `sqlparser` crate into
//! `keyset_plan::Statement`s. Statements outside the subset are refused
//! with an error that names the construct and its line and column; no input
//! makes this crate panic. The subset is described in `docs/sql.md`.
//!
//! This crate reads text only: it never looks at a catalog (unknown tables
//! and columns, type mismatches are the planner's and the store's errors).
//!
//! ```
//! use keyset_plan::{col, Query, SortDirection, Statement};
//!
//! let stmt = keyset_sql::parse_one(
//!     "SELECT * FROM users WHERE city = 'Oslo' ORDER BY age DESC LIMIT 50",
//! )?;
//! let expected = Query::table("users")
//!     .filter(col("city").eq("Oslo"))
//!     .order_by("age", SortDirection::Desc)
//!     .limit(50);
//! assert_eq!(stmt, Statement::Select(expected));
//! # Ok::<(), keyset_sql::SqlError>(())
//! ```

mod assign;
mod control;
mod ddl;
mod dml;
mod error;
mod filter;
mod literal;
mod names;
mod number;
mod options;
mod params;
mod script;
mod select;
mod statement;

use std::panic::{catch_unwind, AssertUnwindSafe};

use keyset_plan::{ParamSlots, Statement};

pub use control::{transaction_control, TransactionControl};
pub use error::SqlError;
pub use number::{parse_float, FloatError};
pub use script::{first_statement_end, is_complete, SourceStatement, MAX_EXPRESSION_TOKENS};

use script::{split_tokens, tokenize, StatementTokens};

/// Parses one or more statements separated by `;`. Input holding no
/// statement (only whitespace, comments and `;`) is [`SqlError::Empty`].
/// Positions in errors are counted from the start of `sql`. A statement
/// with placeholders is [`SqlError::Unbound`] (see [`parse_params`]).
pub fn parse(sql: &str) -> Result<Vec<Statement>, SqlError> {
    let statements = split_tokens(tokenize(sql)?);
    if statements.is_empty() {
        return Err(SqlError::Empty);
    }
    statements
        .into_iter()
        .map(|s| convert_guarded(s).and_then(without_params))
        .collect()
}

/// Parses exactly one statement (a trailing `;` is allowed). Empty input
/// and several statements are errors, and so are placeholders
/// ([`SqlError::Unbound`]; see [`parse_params`]).
pub fn parse_one(sql: &str) -> Result<Statement, SqlError> {
    parse_params(sql).and_then(without_params)
}

/// Parses exactly one statement that may hold placeholders (`?`, `?N`,
/// `:name`) in WHERE, VALUES, SET, LIMIT and OFFSET. A placeholder stands
/// in the statement as NULL (LIMIT and OFFSET: unset) until
/// `keyset_plan::bind_params` puts the caller's values in.
///
/// ```
/// let (stmt, slots) = keyset_sql::parse_params("SELECT * FROM t WHERE a = ? AND b > :low")?;
/// assert_eq!(slots.count, 2);
/// assert_eq!(slots.placeholder(2).to_string(), ":low");
/// # let _ = stmt;
/// # Ok::<(), keyset_sql::SqlError>(())
/// ```
pub fn parse_params(sql: &str) -> Result<(Statement, ParamSlots), SqlError> {
    let mut statements = split_tokens(tokenize(sql)?);
    if statements.len() > 1 {
        let second = &statements[1];
        return Err(SqlError::MultipleStatements {
            count: statements.len(),
            line: second.start.line,
            column: second.start.column,
        });
    }
    match statements.pop() {
        Some(stmt) => convert_guarded(stmt),
        None => Err(SqlError::Empty),
    }
}

/// Splits a script into the source text of its statements, at `;` tokens
/// of sqlparser's tokenizer (a `;` inside a string, a quoted name or a
/// comment does not split). Each piece is trimmed of the whitespace and
/// comments around it and has no `;`; empty pieces are dropped. Only text
/// that cannot be tokenized (an unterminated string or comment) is an error.
pub fn split_statements(text: &str) -> Result<Vec<String>, SqlError> {
    Ok(script::source_statements(text)?
        .into_iter()
        .map(|s| s.text)
        .collect())
}

/// Like [`split_statements`], with the line and column where each
/// statement starts in `text` (to report errors against the script).
pub fn split_statements_with_positions(text: &str) -> Result<Vec<SourceStatement>, SqlError> {
    script::source_statements(text)
}

/// The statement, refused if it holds placeholders.
fn without_params((statement, slots): (Statement, ParamSlots)) -> Result<Statement, SqlError> {
    match slots.used().first() {
        None => Ok(statement),
        Some(&first) => Err(SqlError::Unbound {
            first: slots.placeholder(first).to_string(),
        }),
    }
}

/// Converts one statement. sqlparser is a third-party parser: should it
/// ever panic on some input, the panic becomes [`SqlError::Internal`]
/// instead of unwinding through the caller.
fn convert_guarded(stmt: StatementTokens) -> Result<(Statement, ParamSlots), SqlError> {
    let start = stmt.start;
    catch_unwind(AssertUnwindSafe(|| statement::convert_statement(stmt))).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the parser panicked".to_owned());
        Err(SqlError::Internal {
            message,
            line: start.line,
            column: start.column,
        })
    })
}
