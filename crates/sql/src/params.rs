//! Placeholders (`?`, `?N`, `$N`, `:name`, `@name`) met while converting a
//! statement. Every value site of the statement goes through
//! [`Collector::value`] (or [`Collector::literal_site`] for a value the
//! converter makes itself), in the order `keyset_plan::visit` walks them,
//! so a placeholder is recorded against its site's ordinal. A placeholder
//! stands in the statement as NULL until values are bound.

use keyset_plan::{ParamSlots, MAX_PARAMS};
use keyset_store::Value;
use sqlparser::ast::{self, Value as SqlValue};

use crate::error::{Pos, SqlError};
use crate::literal::literal;

/// What a placeholder token stands for.
enum Written<'a> {
    /// `?`: the next number.
    Next,
    /// `?N`, `$N`.
    Number(&'a str),
    /// `:name`, `@name`, `$name`.
    Name(&'a str),
}

/// Records the placeholders of one statement.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    slots: ParamSlots,
    /// Value sites seen so far.
    sites: usize,
}

impl Collector {
    /// The value of a literal, or NULL for a placeholder (recorded); either
    /// way one value site.
    pub(crate) fn value(&mut self, expr: &ast::Expr, fallback: Pos) -> Result<Value, SqlError> {
        if let Some(number) = self.placeholder(expr, fallback)? {
            self.slots.sites.push((self.sites, number));
            self.sites += 1;
            return Ok(Value::Null);
        }
        let value = literal(expr, fallback)?;
        self.sites += 1;
        Ok(value)
    }

    /// Counts a value site the converter fills itself (no placeholder).
    pub(crate) fn literal_site(&mut self) {
        self.sites += 1;
    }

    /// The parameter number of a placeholder in LIMIT or OFFSET, if `expr`
    /// is one.
    pub(crate) fn count(
        &mut self,
        expr: &ast::Expr,
        is_limit: bool,
        fallback: Pos,
    ) -> Result<bool, SqlError> {
        let Some(number) = self.placeholder(expr, fallback)? else {
            return Ok(false);
        };
        if is_limit {
            self.slots.limit = Some(number);
        } else {
            self.slots.offset = Some(number);
        }
        Ok(true)
    }

    /// The slots, after checking that the statement holds exactly the value
    /// sites counted here (`total`, from `keyset_plan::visit`).
    pub(crate) fn finish(self, total: usize, pos: Pos) -> Result<ParamSlots, SqlError> {
        if total != self.sites {
            return Err(SqlError::Internal {
                message: format!(
                    "placeholder bookkeeping: {} value sites converted, {total} in the statement",
                    self.sites
                ),
                line: pos.line,
                column: pos.column,
            });
        }
        Ok(self.slots)
    }

    /// The parameter number of `expr` if it is a placeholder.
    fn placeholder(&mut self, expr: &ast::Expr, fallback: Pos) -> Result<Option<usize>, SqlError> {
        let ast::Expr::Value(v) = expr else {
            return Ok(None);
        };
        let SqlValue::Placeholder(text) = &v.value else {
            return Ok(None);
        };
        let pos = Pos::at(expr, fallback);
        let written = match text.as_str() {
            "?" => Written::Next,
            t => {
                let (sigil, rest) = t.split_at(1);
                match sigil {
                    "?" | "$" if rest.bytes().all(|b| b.is_ascii_digit()) => Written::Number(rest),
                    ":" | "@" | "$" if !rest.is_empty() => Written::Name(rest),
                    _ => {
                        return Err(SqlError::invalid(
                            format!("placeholder `{t}` (write ?, ?N or :name)"),
                            pos,
                        ))
                    }
                }
            }
        };
        let number = match written {
            Written::Next => self.slots.count + 1,
            Written::Number(digits) => match digits.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(SqlError::invalid(
                        format!("placeholder `{text}`: parameters are numbered from 1"),
                        pos,
                    ))
                }
            },
            Written::Name(name) => {
                let name = name.to_owned();
                match self.slots.names.iter().find(|(n, _)| *n == name) {
                    Some((_, number)) => *number,
                    None => {
                        let number = self.slots.count + 1;
                        self.slots.names.push((name, number));
                        number
                    }
                }
            }
        };
        if number > MAX_PARAMS {
            return Err(SqlError::invalid(
                format!("placeholder `{text}`: at most {MAX_PARAMS} parameters"),
                pos,
            ));
        }
        if let Some((name, _)) = self.slots.names.iter().find(|(_, n)| *n == number) {
            if !matches!(written, Written::Name(n) if n == name) {
                return Err(SqlError::invalid(
                    format!("placeholder `{text}` is parameter {number}, already named :{name}"),
                    pos,
                ));
            }
        }
        self.slots.count = self.slots.count.max(number);
        Ok(Some(number))
    }
}
