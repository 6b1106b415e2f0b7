//! A SQL text as sqlparser's tokenizer sees it: tokenized once, cut into
//! statements at `;` tokens (a `;` inside a string or a comment is part of
//! that token, so it never cuts), each statement with its tokens, its
//! position and its source text. This module does not parse statements.

use sqlparser::dialect::GenericDialect;
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::error::{Pos, SqlError};

/// Most tokens one expression may span, counted along its nesting (commas
/// start a new expression, each parenthesis level adds its own). It bounds
/// the depth of the syntax tree sqlparser builds for long operator chains
/// (`a = 1 OR a = 2 OR ...`), which sqlparser walks recursively.
pub const MAX_EXPRESSION_TOKENS: usize = 2048;

/// One statement of a script, still as tokens.
#[derive(Debug)]
pub(crate) struct StatementTokens {
    /// The statement's tokens without the `;`, trimmed of surrounding
    /// whitespace and comments (comments inside are kept).
    pub tokens: Vec<TokenWithSpan>,
    /// Where its first token starts.
    pub start: Pos,
    /// Where its last token ends (just past it).
    pub end: Pos,
}

/// Tokenizes `text` with the dialect the parser uses.
pub(crate) fn tokenize(text: &str) -> Result<Vec<TokenWithSpan>, SqlError> {
    Tokenizer::new(&GenericDialect {}, text)
        .tokenize_with_location()
        .map_err(SqlError::from_tokenizer)
}

pub(crate) fn is_trivia(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_) | Token::EOF)
}

/// Cuts the tokens into statements at `;`; pieces holding only whitespace
/// and comments are dropped.
pub(crate) fn split_tokens(tokens: Vec<TokenWithSpan>) -> Vec<StatementTokens> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for token in tokens {
        if token.token == Token::SemiColon {
            push_statement(&mut out, std::mem::take(&mut current));
        } else {
            current.push(token);
        }
    }
    push_statement(&mut out, current);
    out
}

fn push_statement(out: &mut Vec<StatementTokens>, mut tokens: Vec<TokenWithSpan>) {
    let Some(first) = tokens.iter().position(|t| !is_trivia(&t.token)) else {
        return;
    };
    let last = tokens
        .iter()
        .rposition(|t| !is_trivia(&t.token))
        .unwrap_or(first);
    tokens.truncate(last + 1);
    tokens.drain(..first);
    let fallback = Pos { line: 1, column: 1 };
    let start = tokens
        .first()
        .and_then(|t| Pos::of(t.span.start))
        .unwrap_or(fallback);
    let end = tokens
        .last()
        .and_then(|t| Pos::of(t.span.end))
        .unwrap_or(start);
    out.push(StatementTokens { tokens, start, end });
}

/// Refuses a statement whose expressions are too long to be walked safely
/// (see [`MAX_EXPRESSION_TOKENS`]). Each parenthesis level keeps the token
/// count of its current comma-separated element and the deepest group
/// inside it; a closed group adds its own depth to the enclosing element.
pub(crate) fn check_expression_size(stmt: &StatementTokens) -> Result<(), SqlError> {
    /// One parenthesis level: `base` is the depth of the levels around it.
    #[derive(Default)]
    struct Level {
        base: usize,
        tokens: usize,
        deepest_group: usize,
        widest_element: usize,
    }
    impl Level {
        fn depth(&self) -> usize {
            self.base + self.tokens + self.deepest_group + 1
        }
    }
    let mut levels = vec![Level::default()];
    for t in &stmt.tokens {
        let Some(top) = levels.last_mut() else {
            break;
        };
        match &t.token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::Comma => {
                top.widest_element = top.widest_element.max(top.tokens + top.deepest_group);
                top.tokens = 0;
                top.deepest_group = 0;
            }
            Token::LParen | Token::LBracket | Token::LBrace => {
                let base = top.depth();
                levels.push(Level {
                    base,
                    ..Level::default()
                });
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                if levels.len() > 1 {
                    if let (Some(inner), Some(outer)) = (levels.pop(), levels.last_mut()) {
                        let own = inner.widest_element.max(inner.tokens + inner.deepest_group) + 1;
                        outer.deepest_group = outer.deepest_group.max(own);
                    }
                }
            }
            _ => top.tokens += 1,
        }
        let depth = levels.last().map_or(0, Level::depth);
        if depth > MAX_EXPRESSION_TOKENS {
            let pos = Pos::of(t.span.start).unwrap_or(stmt.start);
            return Err(SqlError::too_complex(
                format!(
                    "an expression spans more than {MAX_EXPRESSION_TOKENS} tokens \
                     (write long lists of alternatives as `column IN (...)`)"
                ),
                pos,
            ));
        }
    }
    Ok(())
}

/// Whether `text` ends a statement: its last token that is not whitespace
/// or a comment is a `;`. A `;` inside a string, a quoted name or a comment
/// is part of that token, and a line comment still open at the end of the
/// text holds everything after `--` (so `DELETE FROM t -- old rows;` is not
/// complete: the `;` is the comment's). Text that does not tokenize yet (an
/// unterminated string or block comment) is not complete either.
pub fn is_complete(text: &str) -> bool {
    let Ok(tokens) = tokenize(text) else {
        return false;
    };
    tokens
        .iter()
        .rev()
        .find(|t| !is_trivia(&t.token))
        .is_some_and(|t| t.token == Token::SemiColon)
}

/// The byte offset just past the first `;` token of `text` (where its
/// first statement ends), or `None` if it has none. Only text that cannot
/// be tokenized is an error.
pub fn first_statement_end(text: &str) -> Result<Option<usize>, SqlError> {
    let tokens = tokenize(text)?;
    let Some(semicolon) = tokens.iter().find(|t| t.token == Token::SemiColon) else {
        return Ok(None);
    };
    Ok(Some(Locator::new(text).offset_of(semicolon.span.end)))
}

/// One statement's source text and where it starts in the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceStatement {
    /// The statement as written, without the `;` and without the
    /// whitespace and comments around it.
    pub text: String,
    pub line: u64,
    pub column: u64,
}

/// Maps token locations (line, column in characters) to byte offsets by
/// walking the text forward once; locations must be asked in order.
struct Locator<'a> {
    text: &'a str,
    offset: usize,
    line: u64,
    column: u64,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Locator<'a> {
        Locator {
            text,
            offset: 0,
            line: 1,
            column: 1,
        }
    }

    fn offset_of(&mut self, target: Location) -> usize {
        let rest = self.text.get(self.offset..).unwrap_or("");
        for (i, c) in rest.char_indices() {
            if (self.line, self.column) >= (target.line, target.column) {
                self.offset += i;
                return self.offset;
            }
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.offset = self.text.len();
        self.offset
    }
}

/// The source text of each statement of `text`.
pub(crate) fn source_statements(text: &str) -> Result<Vec<SourceStatement>, SqlError> {
    let statements = split_tokens(tokenize(text)?);
    let mut locator = Locator::new(text);
    let mut out = Vec::with_capacity(statements.len());
    for stmt in statements {
        let (Some(first), Some(last)) = (stmt.tokens.first(), stmt.tokens.last()) else {
            continue;
        };
        let from = locator.offset_of(first.span.start);
        let to = locator.offset_of(last.span.end).max(from);
        out.push(SourceStatement {
            text: text.get(from..to).unwrap_or("").to_owned(),
            line: stmt.start.line,
            column: stmt.start.column,
        });
    }
    Ok(out)
}
