//! Where the shell's lines come from and how they become statements: a
//! rustyline editor with history when stdin is a terminal, plain lines from
//! stdin otherwise; lines gather until sqlparser's tokenizer (the one the
//! parser uses) sees a statement end with a `;` token. This module never
//! runs anything.

use std::io::BufRead;
use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::error::CliError;

/// Longest statement the shell gathers, in bytes; a longer one is dropped
/// with an error instead of growing without bound.
pub const MAX_STATEMENT_BYTES: usize = 16 * 1024 * 1024;

/// One line of input, or why there is none.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(String),
    /// Ctrl-C: drop what was typed so far.
    Interrupted,
    /// Ctrl-D or the end of the piped input.
    End,
}

/// A source of lines.
pub enum Lines {
    /// An interactive terminal: line editing, history kept in a file.
    Editor {
        editor: Box<DefaultEditor>,
        history: Option<PathBuf>,
    },
    /// A pipe or a file on stdin: no prompts, no history.
    Piped(Box<dyn BufRead>),
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lines::Editor { history, .. } => {
                f.debug_struct("Editor").field("history", history).finish()
            }
            Lines::Piped(_) => f.write_str("Piped"),
        }
    }
}

impl Lines {
    /// An editor, loading the history file if there is one.
    pub fn editor(history: Option<PathBuf>) -> Result<Lines, CliError> {
        let mut editor = DefaultEditor::new()
            .map_err(|e| CliError::Usage(format!("cannot start the line editor: {e}")))?;
        if let Some(path) = &history {
            // A missing or unreadable history file only means no history.
            let _ = editor.load_history(path);
        }
        Ok(Lines::Editor {
            editor: Box::new(editor),
            history,
        })
    }

    /// Whether prompts and a banner make sense.
    pub fn is_interactive(&self) -> bool {
        matches!(self, Lines::Editor { .. })
    }

    /// The next line, prompting with `prompt` when interactive.
    pub fn read(&mut self, prompt: &str) -> Result<Line, CliError> {
        match self {
            Lines::Editor { editor, .. } => match editor.readline(prompt) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    Ok(Line::Text(line))
                }
                Err(ReadlineError::Interrupted) => Ok(Line::Interrupted),
                Err(ReadlineError::Eof) => Ok(Line::End),
                Err(e) => Err(CliError::Usage(format!("cannot read input: {e}"))),
            },
            Lines::Piped(reader) => {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) => Ok(Line::End),
                    Ok(_) => {
                        let trimmed = line.trim_end_matches(['\n', '\r']).len();
                        line.truncate(trimmed);
                        Ok(Line::Text(line))
                    }
                    Err(e) => Err(CliError::file("<stdin>", e)),
                }
            }
        }
    }

    /// Saves the history (interactive only); failures are not fatal.
    pub fn save_history(&mut self) -> Option<String> {
        if let Lines::Editor {
            editor,
            history: Some(path),
        } = self
        {
            if let Err(e) = editor.save_history(path) {
                return Some(format!("could not save history to {}: {e}", path.display()));
            }
        }
        None
    }
}

/// Lines gathered into statements.
#[derive(Debug, Default)]
pub struct Pending {
    buffer: String,
    /// While the rest of an over-long statement is being dropped: the text
    /// that puts the tokenizer back where the dropped text left it (see
    /// [`REOPEN`]).
    dropping: Option<&'static str>,
}

/// What a cut text can be inside when it ends, as (opener, closer): the
/// opener puts the tokenizer back inside it, the closer closes it. A line
/// comment needs neither: the next line starts after its end.
const REOPEN: [(&str, &str); 5] = [("", ""), ("'", "'"), ("\"", "\""), ("`", "`"), ("/*", "*/")];

/// Where the first statement of a cut `text` ends, if it does, and the
/// opener that continues `text` in its next piece.
fn cut_state(text: &str) -> (Option<usize>, &'static str) {
    for (opener, closer) in REOPEN {
        if let Ok(end) = keyset_sql::first_statement_end(&format!("{text}{closer}")) {
            return (end, opener);
        }
    }
    (None, "")
}

/// What a line added to the pending text amounts to.
#[derive(Debug, PartialEq, Eq)]
pub enum Gathered {
    /// More lines are needed.
    More,
    /// A dot-command (only at the start of a statement).
    Command(String),
    /// One or more complete statements.
    Statements(String),
    /// The statement grew past `MAX_STATEMENT_BYTES` and was dropped.
    TooLong,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.buffer.trim().is_empty()
    }

    /// Drops what was gathered.
    pub fn clear(&mut self) {
        self.buffer.clear();
        self.dropping = None;
    }

    /// What was gathered, leaving nothing (for the end of input).
    pub fn take(&mut self) -> Option<String> {
        let text = std::mem::take(&mut self.buffer);
        (!text.trim().is_empty()).then_some(text)
    }

    /// Adds one line.
    pub fn push(&mut self, line: &str) -> Gathered {
        if let Some(opener) = self.dropping {
            return self.drop_through(opener, line);
        }
        if self.is_empty() {
            self.buffer.clear();
            if line.trim_start().starts_with('.') {
                return Gathered::Command(line.trim().to_owned());
            }
        }
        if self.buffer.len() + line.len() >= MAX_STATEMENT_BYTES {
            let mut dropped = std::mem::take(&mut self.buffer);
            dropped.push('\n');
            dropped.push_str(line);
            if !keyset_sql::is_complete(&dropped) {
                // The statement goes on: drop the lines up to its end too,
                // or its tail would be run as a statement of its own.
                let (_, opener) = cut_state(&dropped);
                self.dropping = Some(opener);
            }
            return Gathered::TooLong;
        }
        if !self.buffer.is_empty() {
            self.buffer.push('\n');
        }
        self.buffer.push_str(line);
        if ends_statement(&self.buffer) {
            Gathered::Statements(std::mem::take(&mut self.buffer))
        } else {
            Gathered::More
        }
    }
}

impl Pending {
    /// One line of an over-long statement being dropped: when the
    /// statement ends in it, what follows its `;` is gathered as usual.
    fn drop_through(&mut self, opener: &'static str, line: &str) -> Gathered {
        let text = format!("{opener}{line}");
        match cut_state(&text) {
            (Some(end), _) => {
                self.dropping = None;
                let rest = text.get(end..).unwrap_or("").trim_start();
                if rest.trim().is_empty() {
                    Gathered::More
                } else {
                    self.push(rest)
                }
            }
            (None, next) => {
                self.dropping = Some(next);
                Gathered::More
            }
        }
    }
}

/// Whether `text` ends a statement, decided by the parser's own tokenizer.
fn ends_statement(text: &str) -> bool {
    keyset_sql::is_complete(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_gather_until_a_semicolon() {
        let mut p = Pending::default();
        assert_eq!(p.push("SELECT *"), Gathered::More);
        assert_eq!(p.push("FROM t"), Gathered::More);
        assert_eq!(
            p.push("WHERE a = 1;"),
            Gathered::Statements("SELECT *\nFROM t\nWHERE a = 1;".into())
        );
        assert!(p.is_empty());
    }

    #[test]
    fn a_semicolon_inside_a_string_does_not_end_it() {
        let mut p = Pending::default();
        assert_eq!(p.push("INSERT INTO t VALUES ('a;"), Gathered::More);
        assert_eq!(
            p.push("b');"),
            Gathered::Statements("INSERT INTO t VALUES ('a;\nb');".into())
        );
    }

    #[test]
    fn dot_commands_only_start_a_statement() {
        let mut p = Pending::default();
        assert_eq!(p.push("  .tables  "), Gathered::Command(".tables".into()));
        assert_eq!(p.push("SELECT"), Gathered::More);
        assert_eq!(
            p.push(".5 AS x;"),
            Gathered::Statements("SELECT\n.5 AS x;".into())
        );
        assert_eq!(p.push(""), Gathered::More);
        assert_eq!(p.take(), None);
    }

    #[test]
    fn a_semicolon_inside_a_line_comment_does_not_end_it() {
        let mut p = Pending::default();
        assert_eq!(
            p.push("DELETE FROM t -- only the old rows;"),
            Gathered::More
        );
        assert_eq!(
            p.push("WHERE id < 5;"),
            Gathered::Statements("DELETE FROM t -- only the old rows;\nWHERE id < 5;".into())
        );
        assert_eq!(
            p.push("SELECT 1; -- done"),
            Gathered::Statements("SELECT 1; -- done".into())
        );
    }

    #[test]
    fn an_over_long_statement_is_dropped_through_its_end() {
        let big = "x".repeat(MAX_STATEMENT_BYTES / 2);
        // (lines after the drop, what each gathers to): the dropped
        // statement's own lines gather to nothing.
        let more = || Gathered::More;
        let cases: [(&[&str], Vec<Gathered>); 4] = [
            // The statement ends on a later line; what follows its `;` is new.
            (
                &["more,", "1);", "SELECT 2;"],
                vec![more(), more(), Gathered::Statements("SELECT 2;".into())],
            ),
            (
                &["more, 1); SELECT 3;"],
                vec![Gathered::Statements("SELECT 3;".into())],
            ),
            // The cut fell inside a string holding a `;`: that is not the end.
            (
                &["still ; in the string');", "SELECT 4;"],
                vec![more(), Gathered::Statements("SELECT 4;".into())],
            ),
            // Nor is a `;` in a comment.
            (&["-- a comment;", "1);"], vec![more(), more()]),
        ];
        for (at, (after, expected)) in cases.into_iter().enumerate() {
            let mut p = Pending::default();
            let opening = if at == 2 {
                "INSERT INTO t VALUES ('"
            } else {
                "INSERT INTO t VALUES ("
            };
            assert_eq!(p.push(opening), Gathered::More);
            assert_eq!(p.push(&big), Gathered::More);
            assert_eq!(p.push(&big), Gathered::TooLong);
            let got: Vec<Gathered> = after.iter().map(|line| p.push(line)).collect();
            assert_eq!(got, expected, "case {at}");
            assert!(p.is_empty(), "case {at}");
        }
        // A statement whose over-long line ends it drops nothing more.
        let mut p = Pending::default();
        assert_eq!(p.push(&big), Gathered::More);
        assert_eq!(p.push(&format!("{big};")), Gathered::TooLong);
        assert_eq!(
            p.push("SELECT 5;"),
            Gathered::Statements("SELECT 5;".into())
        );
    }

    #[test]
    fn piped_lines_lose_their_line_ends() {
        let mut lines = Lines::Piped(Box::new(std::io::Cursor::new("a\r\nb\n\nc")));
        let got: Vec<Line> = (0..5).map(|_| lines.read("> ").expect("read")).collect();
        assert_eq!(
            got,
            vec![
                Line::Text("a".into()),
                Line::Text("b".into()),
                Line::Text(String::new()),
                Line::Text("c".into()),
                Line::End
            ]
        );
    }
}
