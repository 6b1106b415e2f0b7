//! Transaction control statements: `BEGIN`, `COMMIT` and `ROLLBACK` (with
//! their `TRANSACTION`/`WORK` and `START TRANSACTION`/`END` spellings).
//! They are not plan statements: the shell and scripts act on them with a
//! `keyset::Transaction`, so they are recognized here from the tokens,
//! whitespace and comments aside.

use sqlparser::tokenizer::Token;

use crate::script::{is_trivia, tokenize};

/// A transaction control statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionControl {
    Begin,
    Commit,
    Rollback,
}

/// The control statement `sql` is, if it is one.
pub fn transaction_control(sql: &str) -> Option<TransactionControl> {
    let tokens = tokenize(sql).ok()?;
    let mut words = Vec::new();
    for t in tokens {
        match &t.token {
            token if is_trivia(token) => {}
            Token::SemiColon => {}
            Token::Word(w) if w.quote_style.is_none() => words.push(w.value.to_ascii_uppercase()),
            _ => return None,
        }
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    Some(match words.as_slice() {
        ["BEGIN"] | ["BEGIN", "TRANSACTION" | "WORK"] | ["START", "TRANSACTION"] => {
            TransactionControl::Begin
        }
        ["COMMIT"] | ["COMMIT", "TRANSACTION" | "WORK"] | ["END"] | ["END", "TRANSACTION"] => {
            TransactionControl::Commit
        }
        ["ROLLBACK"] | ["ROLLBACK", "TRANSACTION" | "WORK"] => TransactionControl::Rollback,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_statements_are_told_apart_from_everything_else() {
        use TransactionControl::*;
        for (sql, expected) in [
            ("BEGIN", Some(Begin)),
            ("begin transaction;", Some(Begin)),
            ("START TRANSACTION", Some(Begin)),
            ("-- go\nCOMMIT /* now */", Some(Commit)),
            ("end", Some(Commit)),
            ("ROLLBACK WORK", Some(Rollback)),
            ("SELECT * FROM begin", None),
            ("\"BEGIN\"", None),
            ("ROLLBACK TO x", None),
            ("", None),
        ] {
            assert_eq!(transaction_control(sql), expected, "{sql}");
        }
    }
}
