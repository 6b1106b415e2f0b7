//! One statement: cut off the query options clause, parse the rest with
//! sqlparser, and convert the syntax tree into a keyset [`Statement`], or
//! name the statement kind that is outside the subset. The supported forms
//! are converted by `ddl.rs`, `dml.rs` and `select.rs`.

use keyset_plan::visit::visit_values_mut;
use keyset_plan::{ParamSlots, Statement};
use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::error::SqlError;
use crate::options::take_query_options;
use crate::params::Collector;
use crate::script::{check_expression_size, is_trivia, StatementTokens};
use crate::{ddl, dml, select};

/// Parses and converts the statement held by `stmt`, with the placeholders
/// it holds.
pub(crate) fn convert_statement(
    mut stmt: StatementTokens,
) -> Result<(Statement, ParamSlots), SqlError> {
    check_expression_size(&stmt)?;
    let options = take_query_options(&mut stmt.tokens)?;
    let lead = leading_keywords(&stmt);
    let (start, end) = (stmt.start, stmt.end);
    let mut parser = Parser::new(&GenericDialect {}).with_tokens_with_locations(stmt.tokens);
    let parsed = parser
        .parse_statements()
        .map_err(|e| SqlError::from_parser(e, start, end))?;
    let tree = match parsed.as_slice() {
        [tree] => tree,
        _ => return Err(SqlError::syntax("expected one statement", start)),
    };
    let mut params = Collector::default();
    let mut converted = match tree {
        ast::Statement::Query(q) => Statement::Select(select::query(q, start, &mut params)?),
        ast::Statement::Explain { .. } => {
            Statement::Explain(select::explain(tree, start, &mut params)?)
        }
        ast::Statement::Insert(insert) => dml::insert(insert, start, &mut params)?,
        ast::Statement::Update { .. } => dml::update(tree, start, &mut params)?,
        ast::Statement::Delete(delete) => dml::delete(delete, start, &mut params)?,
        ast::Statement::CreateTable(create) => ddl::create_table(create, start)?,
        ast::Statement::CreateIndex(create) => ddl::create_index(create, start)?,
        ast::Statement::Drop { .. } => ddl::drop(tree, start)?,
        _ => return Err(SqlError::unsupported(format!("statement `{lead}`"), start)),
    };
    if let Some(options) = options {
        match &mut converted {
            Statement::Select(query) | Statement::Explain(query) => options.apply(query)?,
            _ => {
                return Err(SqlError::unsupported(
                    "query options clause on a statement other than SELECT",
                    start,
                ))
            }
        }
    }
    let sites = visit_values_mut(&mut converted, &mut |_, _, _| {});
    let slots = params.finish(sites, start)?;
    Ok((converted, slots))
}

/// The first keywords of a statement ("ALTER TABLE", "BEGIN"), to name a
/// statement kind outside the subset.
fn leading_keywords(stmt: &StatementTokens) -> String {
    const MAX_WORDS: usize = 2;
    let words: Vec<String> = stmt
        .tokens
        .iter()
        .filter(|t| !is_trivia(&t.token))
        .take(MAX_WORDS)
        .enumerate()
        .map_while(|(n, t)| match &t.token {
            Token::Word(w)
                if w.quote_style.is_none() && (n == 0 || w.keyword != Keyword::NoKeyword) =>
            {
                Some(w.value.to_ascii_uppercase())
            }
            _ => None,
        })
        .collect();
    if words.is_empty() {
        "?".to_owned()
    } else {
        words.join(" ")
    }
}
