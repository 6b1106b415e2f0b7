//! Where the shell's lines come from and how they become statements: a
//! rustyline editor with history when stdin is a terminal, plain lines from
//! stdin otherwise; lines gather until a statement ends with `;`. This
//! module never runs anything.

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
    }

    /// What was gathered, leaving nothing (for the end of input).
    pub fn take(&mut self) -> Option<String> {
        let text = std::mem::take(&mut self.buffer);
        (!text.trim().is_empty()).then_some(text)
    }

    /// Adds one line.
    pub fn push(&mut self, line: &str) -> Gathered {
        if self.is_empty() {
            self.buffer.clear();
            if line.trim_start().starts_with('.') {
                return Gathered::Command(line.trim().to_owned());
            }
        }
        if self.buffer.len() + line.len() >= MAX_STATEMENT_BYTES {
            self.buffer.clear();
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

/// Whether `text` ends with a `;` that is not inside a string or a comment
/// that is still open (text that does not tokenize yet needs more lines).
fn ends_statement(text: &str) -> bool {
    text.trim_end().ends_with(';') && keyset_sql::split_statements(text).is_ok()
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
