//! keyset's query options clause: a trailing `WITH (merge = 'ordered',
//! max_examined = N, max_bytes = N, timeout_ms = N)` after a SELECT (or
//! EXPLAIN SELECT). sqlparser cannot read it, so it is cut off the token
//! stream before parsing and read here from the tokens; the rest of the
//! statement is left to sqlparser. Nothing else is parsed by hand.

use std::time::{Duration, Instant};

use keyset_plan::{Consistency, MergeMode, Query};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::{Pos, SqlError};
use crate::literal::shorten;
use crate::script::is_trivia;

/// The names of the query options.
const QUERY_OPTIONS: [&str; 5] = [
    "merge",
    "max_examined",
    "max_bytes",
    "timeout_ms",
    "consistency",
];

/// The options of one query, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueryOptions {
    pub merge: Option<MergeMode>,
    pub max_examined: Option<u64>,
    pub max_bytes: Option<u64>,
    pub timeout: Option<Duration>,
    pub consistency: Option<Consistency>,
    /// Where the clause's `WITH` is (for errors found later).
    pub pos: Option<Pos>,
}

impl QueryOptions {
    /// Applies the options to a query; the deadline is counted from now.
    ///
    /// `merge = 'unordered'` with an ORDER BY is refused: across shards the
    /// unordered merge returns rows in arrival order, so the ORDER BY would
    /// be dropped in silence while EXPLAIN still showed it.
    pub fn apply(&self, query: &mut Query) -> Result<(), SqlError> {
        if let Some(merge) = self.merge {
            if merge == MergeMode::UnorderedStreaming && !query.order_by.is_empty() {
                return Err(SqlError::invalid_option(
                    "merge",
                    "merge = 'unordered' returns rows in arrival order, which contradicts the \
                     ORDER BY: drop the ORDER BY, or use merge = 'ordered' (the default) or 'eager'",
                    self.pos.unwrap_or(Pos { line: 1, column: 1 }),
                ));
            }
            query.merge = merge;
        }
        if let Some(consistency) = self.consistency {
            query.consistency = consistency;
        }
        if self.max_examined.is_some() {
            query.budget.max_examined = self.max_examined;
        }
        if self.max_bytes.is_some() {
            query.budget.max_bytes = self.max_bytes;
        }
        if let Some(timeout) = self.timeout {
            let deadline = Instant::now().checked_add(timeout).ok_or_else(|| {
                SqlError::invalid_option(
                    "timeout_ms",
                    "the timeout is too large",
                    self.pos.unwrap_or(Pos { line: 1, column: 1 }),
                )
            })?;
            query.budget.deadline = Some(deadline);
        }
        Ok(())
    }
}

/// If the statement is a SELECT (or EXPLAIN SELECT) ending in `WITH ( ...
/// )`, removes that clause from `tokens` and returns its options.
pub(crate) fn take_query_options(
    tokens: &mut Vec<TokenWithSpan>,
) -> Result<Option<QueryOptions>, SqlError> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !is_trivia(&tokens[i].token))
        .collect();
    let keyword_at = |n: usize| match significant.get(n).map(|&i| &tokens[i].token) {
        Some(Token::Word(w)) => Some(w.keyword),
        _ => None,
    };
    let is_select = match keyword_at(0) {
        Some(Keyword::SELECT) => true,
        Some(Keyword::EXPLAIN) => keyword_at(1) == Some(Keyword::SELECT),
        _ => false,
    };
    let Some(&close) = significant.last() else {
        return Ok(None);
    };
    if !is_select || tokens[close].token != Token::RParen {
        return Ok(None);
    }
    // Find the `(` matching the final `)`.
    let mut depth = 0usize;
    let mut open = None;
    for (n, &i) in significant.iter().enumerate().rev() {
        match tokens[i].token {
            Token::RParen => depth += 1,
            Token::LParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    open = Some(n);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(open) = open else {
        return Ok(None);
    };
    let Some(with_n) = open.checked_sub(1) else {
        return Ok(None);
    };
    if keyword_at(with_n) != Some(Keyword::WITH) {
        return Ok(None);
    }
    let with_at = significant[with_n];
    let with_pos = Pos::of(tokens[with_at].span.start).unwrap_or(Pos { line: 1, column: 1 });
    let inner: Vec<&TokenWithSpan> = significant[open + 1..significant.len() - 1]
        .iter()
        .map(|&i| &tokens[i])
        .collect();
    let options = read_options(&inner, with_pos)?;
    tokens.truncate(with_at);
    Ok(Some(options))
}

/// Reads `name = value, ...` from the tokens between the parentheses.
fn read_options(tokens: &[&TokenWithSpan], with_pos: Pos) -> Result<QueryOptions, SqlError> {
    let mut options = QueryOptions {
        pos: Some(with_pos),
        ..QueryOptions::default()
    };
    if tokens.is_empty() {
        return Err(SqlError::syntax(
            "the query options clause `WITH ()` is empty",
            with_pos,
        ));
    }
    for entry in tokens.split(|t| t.token == Token::Comma) {
        let pos =
            |t: Option<&&TokenWithSpan>| t.and_then(|t| Pos::of(t.span.start)).unwrap_or(with_pos);
        let Some(Token::Word(word)) = entry.first().map(|t| &t.token) else {
            return Err(SqlError::syntax(
                "expected `name = value` in the query options",
                pos(entry.first()),
            ));
        };
        let name_pos = pos(entry.first());
        let option = word.value.to_ascii_lowercase();
        if !QUERY_OPTIONS.contains(&option.as_str()) {
            return Err(SqlError::unsupported(
                format!(
                    "query option `{option}` (known: {})",
                    QUERY_OPTIONS.join(", ")
                ),
                name_pos,
            ));
        }
        let value = match entry {
            [_, eq, value] if eq.token == Token::Eq => value,
            [_, eq, first, ..] if eq.token == Token::Eq => {
                let written: String = entry[2..].iter().map(|t| t.token.to_string()).collect();
                return Err(SqlError::invalid_option(
                    option,
                    format!("expected a single value, found `{}`", shorten(&written)),
                    pos(Some(first)),
                ));
            }
            _ => {
                return Err(SqlError::syntax(
                    format!("expected `{option} = value` in the query options"),
                    name_pos,
                ))
            }
        };
        let value_pos = pos(Some(value));
        let already = match option.as_str() {
            "merge" => options
                .merge
                .replace(merge_mode(&value.token, value_pos)?)
                .is_some(),
            "max_examined" => options
                .max_examined
                .replace(positive(&option, &value.token, value_pos)?)
                .is_some(),
            "max_bytes" => options
                .max_bytes
                .replace(positive(&option, &value.token, value_pos)?)
                .is_some(),
            "timeout_ms" => options
                .timeout
                .replace(Duration::from_millis(positive(
                    &option,
                    &value.token,
                    value_pos,
                )?))
                .is_some(),
            "consistency" => options
                .consistency
                .replace(consistency(&value.token, value_pos)?)
                .is_some(),
            _ => false,
        };
        if already {
            return Err(SqlError::invalid_option(option, "given twice", name_pos));
        }
    }
    Ok(options)
}

fn consistency(token: &Token, pos: Pos) -> Result<Consistency, SqlError> {
    let text = match token {
        Token::SingleQuotedString(s) => s.as_str(),
        Token::Word(w) if w.quote_style.is_none() => w.value.as_str(),
        other => {
            return Err(SqlError::invalid_option(
                "consistency",
                format!("expected 'live' or 'snapshot', found {other}"),
                pos,
            ))
        }
    };
    [Consistency::Live, Consistency::Snapshot]
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            SqlError::invalid_option(
                "consistency",
                format!("'{text}' is not a consistency (use 'live' or 'snapshot')"),
                pos,
            )
        })
}

fn merge_mode(token: &Token, pos: Pos) -> Result<MergeMode, SqlError> {
    let text = match token {
        Token::SingleQuotedString(s) => s.as_str(),
        Token::Word(w) if w.quote_style.is_none() => w.value.as_str(),
        other => {
            return Err(SqlError::invalid_option(
                "merge",
                format!("expected 'ordered', 'unordered' or 'eager', found {other}"),
                pos,
            ))
        }
    };
    [
        MergeMode::OrderedStreaming,
        MergeMode::UnorderedStreaming,
        MergeMode::OrderedEager,
    ]
    .into_iter()
    .find(|m| m.name().eq_ignore_ascii_case(text))
    .ok_or_else(|| {
        SqlError::invalid_option(
            "merge",
            format!("'{text}' is not a merge mode (use 'ordered', 'unordered' or 'eager')"),
            pos,
        )
    })
}

fn positive(option: &str, token: &Token, pos: Pos) -> Result<u64, SqlError> {
    let bad = |found: String| {
        SqlError::invalid_option(
            option,
            format!(
                "expected a whole number from 1 to {}, found {found}",
                u64::MAX
            ),
            pos,
        )
    };
    match token {
        Token::Number(digits, false) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            match digits.parse::<u64>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(bad(digits.clone())),
            }
        }
        other => Err(bad(other.to_string())),
    }
}
