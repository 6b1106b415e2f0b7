//! Every error the SQL front end reports, each with the position (1-based
//! line and column, counted in characters) of what it is about.
//!
//! This module owns the error type and the conversion of sqlparser's
//! errors; it does not decide what is supported (see `statement.rs`).

use sqlparser::ast::Spanned;
use sqlparser::parser::ParserError;
use sqlparser::tokenizer::{Location, TokenizerError};

/// A position in the SQL text: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl Pos {
    pub(crate) fn of(location: Location) -> Option<Pos> {
        (location.line > 0).then_some(Pos {
            line: location.line,
            column: location.column,
        })
    }

    /// The start of `node`, or `fallback` when sqlparser knows no position
    /// for it.
    pub(crate) fn at(node: &impl Spanned, fallback: Pos) -> Pos {
        Pos::of(node.span().start).unwrap_or(fallback)
    }
}

/// Why a SQL text could not be turned into statements.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// The text is not SQL that sqlparser can read.
    #[error("syntax error at line {line}, column {column}: {message}")]
    Syntax {
        message: String,
        line: u64,
        column: u64,
    },
    /// Valid SQL, but outside keyset's subset (see docs/sql.md).
    #[error("unsupported: {construct} at line {line}, column {column} (keyset reads a SQL subset, see docs/sql.md)")]
    Unsupported {
        construct: String,
        line: u64,
        column: u64,
    },
    /// A literal keyset cannot represent (an integer over 64 bits, a bad
    /// hex blob, a float that is not finite, ...).
    #[error("invalid literal `{literal}` at line {line}, column {column}: {reason}")]
    InvalidLiteral {
        literal: String,
        reason: String,
        line: u64,
        column: u64,
    },
    /// A `WITH (...)` option of a SELECT or CREATE TABLE with a bad value.
    #[error("invalid option `{option}` at line {line}, column {column}: {reason}")]
    InvalidOption {
        option: String,
        reason: String,
        line: u64,
        column: u64,
    },
    /// A statement of the subset that contradicts itself (two primary
    /// keys, a column declared both NULL and NOT NULL, ...).
    #[error("invalid statement at line {line}, column {column}: {reason}")]
    Invalid {
        reason: String,
        line: u64,
        column: u64,
    },
    /// An expression longer or deeper than keyset accepts.
    #[error("statement too complex at line {line}, column {column}: {reason}")]
    TooComplex {
        reason: String,
        line: u64,
        column: u64,
    },
    /// The text holds no statement (only whitespace, comments or `;`).
    #[error("no SQL statement in the input")]
    Empty,
    /// `parse_one` was given several statements.
    #[error("expected one SQL statement, found {count} (the second starts at line {line}, column {column})")]
    MultipleStatements {
        count: usize,
        line: u64,
        column: u64,
    },
    /// A statement with placeholders given where no values can be bound.
    #[error("the statement has placeholders (the first is {first}); pass their values with execute_params, query_params or a prepared statement")]
    Unbound { first: String },
    /// sqlparser itself failed unexpectedly; the input was not accepted.
    #[error("internal error of the SQL parser at line {line}, column {column}: {message}")]
    Internal {
        message: String,
        line: u64,
        column: u64,
    },
}

impl SqlError {
    /// The line and column the error is about, when it has one.
    pub fn position(&self) -> Option<(u64, u64)> {
        match self {
            SqlError::Syntax { line, column, .. }
            | SqlError::Unsupported { line, column, .. }
            | SqlError::InvalidLiteral { line, column, .. }
            | SqlError::InvalidOption { line, column, .. }
            | SqlError::Invalid { line, column, .. }
            | SqlError::TooComplex { line, column, .. }
            | SqlError::MultipleStatements { line, column, .. }
            | SqlError::Internal { line, column, .. } => Some((*line, *column)),
            SqlError::Empty | SqlError::Unbound { .. } => None,
        }
    }

    /// Moves the position of an error found in one statement of a script
    /// (parsed on its own) to its place in the script, given where the
    /// statement starts there (see `split_statements_with_positions`).
    pub fn located_in_script(mut self, start_line: u64, start_column: u64) -> SqlError {
        if let SqlError::Syntax { line, column, .. }
        | SqlError::Unsupported { line, column, .. }
        | SqlError::InvalidLiteral { line, column, .. }
        | SqlError::InvalidOption { line, column, .. }
        | SqlError::Invalid { line, column, .. }
        | SqlError::TooComplex { line, column, .. }
        | SqlError::MultipleStatements { line, column, .. }
        | SqlError::Internal { line, column, .. } = &mut self
        {
            if *line == 1 {
                *column = column.saturating_add(start_column.saturating_sub(1));
            }
            *line = line.saturating_add(start_line.saturating_sub(1));
        }
        self
    }

    pub(crate) fn syntax(message: impl Into<String>, pos: Pos) -> SqlError {
        SqlError::Syntax {
            message: message.into(),
            line: pos.line,
            column: pos.column,
        }
    }

    pub(crate) fn unsupported(construct: impl Into<String>, pos: Pos) -> SqlError {
        SqlError::Unsupported {
            construct: construct.into(),
            line: pos.line,
            column: pos.column,
        }
    }

    pub(crate) fn invalid_literal(
        literal: impl Into<String>,
        reason: impl Into<String>,
        pos: Pos,
    ) -> SqlError {
        SqlError::InvalidLiteral {
            literal: literal.into(),
            reason: reason.into(),
            line: pos.line,
            column: pos.column,
        }
    }

    pub(crate) fn invalid_option(
        option: impl Into<String>,
        reason: impl Into<String>,
        pos: Pos,
    ) -> SqlError {
        SqlError::InvalidOption {
            option: option.into(),
            reason: reason.into(),
            line: pos.line,
            column: pos.column,
        }
    }

    pub(crate) fn invalid(reason: impl Into<String>, pos: Pos) -> SqlError {
        SqlError::Invalid {
            reason: reason.into(),
            line: pos.line,
            column: pos.column,
        }
    }

    pub(crate) fn too_complex(reason: impl Into<String>, pos: Pos) -> SqlError {
        SqlError::TooComplex {
            reason: reason.into(),
            line: pos.line,
            column: pos.column,
        }
    }

    /// Converts a tokenizer error (its location is exact).
    pub(crate) fn from_tokenizer(err: TokenizerError) -> SqlError {
        let pos = Pos::of(err.location).unwrap_or(Pos { line: 1, column: 1 });
        SqlError::syntax(err.message, pos)
    }

    /// Converts a parser error. sqlparser puts the position at the end of
    /// its message ("... at Line: 3, Column: 7"); it is moved into the
    /// fields. An error at the end of the input has no position: `end` is
    /// used. `start` is where the statement begins.
    pub(crate) fn from_parser(err: ParserError, start: Pos, end: Pos) -> SqlError {
        match err {
            ParserError::RecursionLimitExceeded => SqlError::too_complex(
                "expressions or parentheses nested deeper than the parser's limit",
                start,
            ),
            ParserError::TokenizerError(message) | ParserError::ParserError(message) => {
                let (message, pos) = split_position(&message);
                SqlError::syntax(message, pos.unwrap_or(end))
            }
        }
    }
}

/// Splits "message at Line: L, Column: C" into the message and position.
fn split_position(message: &str) -> (String, Option<Pos>) {
    const MARK: &str = " at Line: ";
    let Some(at) = message.rfind(MARK) else {
        return (message.to_owned(), None);
    };
    let tail = &message[at + MARK.len()..];
    let mut parts = tail.splitn(2, ", Column: ");
    let line = parts.next().and_then(|l| l.trim().parse::<u64>().ok());
    let column = parts.next().and_then(|c| c.trim().parse::<u64>().ok());
    match (line, column) {
        (Some(line), Some(column)) if line > 0 => {
            (message[..at].to_owned(), Some(Pos { line, column }))
        }
        _ => (message.to_owned(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_position_moves_line_and_column_out_of_the_message() {
        let (msg, pos) =
            split_position("Expected: an expression, found: FROM at Line: 3, Column: 17");
        assert_eq!(msg, "Expected: an expression, found: FROM");
        assert_eq!(
            pos,
            Some(Pos {
                line: 3,
                column: 17
            })
        );
    }

    #[test]
    fn split_position_leaves_messages_without_a_position_alone() {
        let (msg, pos) = split_position("Expected: ), found: EOF");
        assert_eq!(msg, "Expected: ), found: EOF");
        assert_eq!(pos, None);
        let (_, pos) = split_position("odd at Line: x, Column: 2");
        assert_eq!(pos, None);
    }
}
