//! Statement parameters: the placeholders (`?`, `?N`, `:name`) the SQL
//! crate finds and where they occur ([`ParamSlots`]), the values a caller
//! supplies ([`Params`]), and [`bind_params`], which checks every value
//! against the column it lands in and substitutes it into a copy of the
//! statement. A value is never spliced into SQL text.
//!
//! Numbering follows SQLite: `?N` is parameter N, `?` is one more than the
//! largest number so far, and a `:name` gets the next number the first time
//! it appears and the same number after that.

use std::fmt;

use keyset_store::{Catalog, ColumnType, TableDef, Value};

use crate::error::PlanError;
use crate::query::Statement;
use crate::visit::{visit_values_mut, ValueSite};

/// Highest parameter number a statement may use (SQLite's default limit).
pub const MAX_PARAMS: usize = 999;

/// One placeholder of a statement: its number and, for `:name`, its name
/// (without the `:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    pub number: usize,
    pub name: Option<String>,
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, ":{name}"),
            None => write!(f, "?{}", self.number),
        }
    }
}

/// Where the placeholders of one statement occur.
///
/// A *value site* is a place in a [`Statement`] that holds a value (a
/// comparison's literal, an INSERT value, an operand in SET), counted in
/// the order [`visit_values_mut`] walks them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParamSlots {
    /// `(value site, parameter number)`, in site order.
    pub sites: Vec<(usize, usize)>,
    /// The parameter that gives the LIMIT, if a placeholder does.
    pub limit: Option<usize>,
    /// The parameter that gives the OFFSET, if a placeholder does.
    pub offset: Option<usize>,
    /// Named parameters: name (without `:`) and number.
    pub names: Vec<(String, usize)>,
    /// The largest parameter number (0: no placeholder).
    pub count: usize,
}

impl ParamSlots {
    /// Whether the statement has no placeholder at all.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The placeholder of parameter `number`, as the statement writes it.
    pub fn placeholder(&self, number: usize) -> Placeholder {
        Placeholder {
            number,
            name: self
                .names
                .iter()
                .find(|(_, n)| *n == number)
                .map(|(name, _)| name.clone()),
        }
    }

    /// Every parameter number some placeholder uses, ascending.
    pub fn used(&self) -> Vec<usize> {
        let mut used: Vec<usize> = self
            .sites
            .iter()
            .map(|(_, p)| *p)
            .chain(self.limit)
            .chain(self.offset)
            .collect();
        used.sort_unstable();
        used.dedup();
        used
    }

    /// The type each parameter must have, by the column it binds to
    /// (`INT` for LIMIT and OFFSET); index 0 is parameter 1. `None` for a
    /// number no placeholder uses or a column the catalog does not know.
    pub fn types(&self, statement: &Statement, catalog: &Catalog) -> Vec<Option<ColumnType>> {
        let mut out = vec![None; self.count];
        let table = statement_table(statement).and_then(|t| catalog.table(t));
        if let Some(table) = table {
            let mut next = self.sites.iter().peekable();
            let mut statement = statement.clone();
            visit_values_mut(&mut statement, &mut |site, ordinal, _| {
                if let Some(&&(at, param)) = next.peek() {
                    if at == ordinal {
                        next.next();
                        if let Some(slot) = out.get_mut(param - 1) {
                            if slot.is_none() {
                                *slot = site_column(table, &site).map(|c| table.columns[c].ty);
                            }
                        }
                    }
                }
            });
        }
        for param in self.limit.iter().chain(&self.offset) {
            if let Some(slot) = out.get_mut(param - 1) {
                *slot = Some(ColumnType::Int);
            }
        }
        out
    }
}

/// The values bound to a statement's placeholders: by position (the first
/// value is `?1`) and by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    pub positional: Vec<Value>,
    /// `(name, value)`; the name may be written with or without its `:`,
    /// and `?N` names parameter N.
    pub named: Vec<(String, Value)>,
}

impl Params {
    /// No values.
    pub fn new() -> Params {
        Params::default()
    }

    /// Values by position: the first is `?1`.
    pub fn positional(values: Vec<Value>) -> Params {
        Params {
            positional: values,
            named: Vec::new(),
        }
    }

    /// Adds the next positional value.
    pub fn push(mut self, value: impl Into<Value>) -> Params {
        self.positional.push(value.into());
        self
    }

    /// Adds a value for `:name` (written `":name"` or `"name"`).
    pub fn named(mut self, name: &str, value: impl Into<Value>) -> Params {
        self.named.push((name.to_owned(), value.into()));
        self
    }

    /// Whether no value is given.
    pub fn is_empty(&self) -> bool {
        self.positional.is_empty() && self.named.is_empty()
    }
}

/// A parameter that cannot be bound.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("missing value for {placeholder}")]
    Missing { placeholder: Placeholder },
    #[error("no placeholder named :{name}")]
    UnknownName { name: String },
    #[error("{given} positional values given, but the statement's placeholders go up to ?{count}")]
    TooMany { given: usize, count: usize },
    #[error("expected {expected} for {placeholder}, got {found} (column `{column}`)")]
    Type {
        placeholder: Placeholder,
        expected: ColumnType,
        found: &'static str,
        column: String,
    },
    #[error("{placeholder} gives the {clause}, which takes a whole number >= 0, got {found}")]
    Count {
        placeholder: Placeholder,
        clause: &'static str,
        found: String,
    },
}

/// The table a statement works on, if it works on one.
pub fn statement_table(statement: &Statement) -> Option<&str> {
    match statement {
        Statement::Insert { table, .. }
        | Statement::Update { table, .. }
        | Statement::Delete { table, .. } => Some(table),
        Statement::Select(q) | Statement::Explain(q) => Some(&q.table),
        _ => None,
    }
}

/// The column a value site binds to.
fn site_column(table: &TableDef, site: &ValueSite<'_>) -> Option<usize> {
    match site {
        ValueSite::Column(name) => table.column_index(name),
        ValueSite::Position(at) => (*at < table.columns.len()).then_some(*at),
    }
}

/// The value of each parameter number (index 0 is parameter 1), from the
/// positional and the named values; checks counts and names.
fn resolve<'p>(
    slots: &ParamSlots,
    params: &'p Params,
) -> Result<Vec<Option<&'p Value>>, ParamError> {
    if params.positional.len() > slots.count {
        return Err(ParamError::TooMany {
            given: params.positional.len(),
            count: slots.count,
        });
    }
    let mut values: Vec<Option<&Value>> = vec![None; slots.count];
    for (i, v) in params.positional.iter().enumerate() {
        values[i] = Some(v);
    }
    for (name, v) in &params.named {
        let bare = name.trim_start_matches([':', '@', '$']);
        // `?N` names parameter N, as in SQLite.
        let by_number = name
            .strip_prefix('?')
            .and_then(|digits| digits.parse::<usize>().ok())
            .filter(|n| (1..=slots.count).contains(n));
        let number = by_number
            .or_else(|| {
                slots
                    .names
                    .iter()
                    .find(|(n, _)| n == bare)
                    .map(|(_, number)| *number)
            })
            .ok_or_else(|| ParamError::UnknownName {
                name: bare.to_owned(),
            })?;
        values[number - 1] = Some(v);
    }
    Ok(values)
}

/// The LIMIT and OFFSET that placeholders give (`None`: no placeholder
/// gives it), after checking that `params` fit `slots`: no value missing,
/// no name unknown, not too many values.
pub fn bind_window(
    slots: &ParamSlots,
    params: &Params,
) -> Result<(Option<usize>, Option<usize>), ParamError> {
    let values = resolve(slots, params)?;
    let limit = window_value(slots, &values, slots.limit, "LIMIT")?;
    let offset = window_value(slots, &values, slots.offset, "OFFSET")?;
    Ok((limit, offset))
}

fn window_value(
    slots: &ParamSlots,
    values: &[Option<&Value>],
    number: Option<usize>,
    clause: &'static str,
) -> Result<Option<usize>, ParamError> {
    number
        .map(|n| count_value(slots, n, value_or_missing(slots, values, n)?, clause))
        .transpose()
}

fn value_or_missing<'p>(
    slots: &ParamSlots,
    values: &[Option<&'p Value>],
    number: usize,
) -> Result<&'p Value, ParamError> {
    values[number - 1].ok_or_else(|| ParamError::Missing {
        placeholder: slots.placeholder(number),
    })
}

/// A copy of `template` with every placeholder replaced by its value,
/// each value checked against (and normalized for) the column it binds to.
/// Errors name the placeholder.
pub fn bind_params(
    template: &Statement,
    slots: &ParamSlots,
    params: &Params,
    catalog: &Catalog,
) -> Result<Statement, PlanError> {
    let values = resolve(slots, params)?;
    for number in slots.used() {
        value_or_missing(slots, &values, number)?;
    }
    let mut statement = template.clone();
    if let Statement::Select(query) | Statement::Explain(query) = &mut statement {
        if let Some(limit) = window_value(slots, &values, slots.limit, "LIMIT")? {
            query.limit = Some(limit);
        }
        if let Some(offset) = window_value(slots, &values, slots.offset, "OFFSET")? {
            query.offset = offset;
        }
    }
    if slots.sites.is_empty() {
        return Ok(statement);
    }
    let name = statement_table(&statement).unwrap_or_default().to_owned();
    let table = catalog
        .table(&name)
        .ok_or(PlanError::UnknownTable { table: name })?;
    let mut next = slots.sites.iter().peekable();
    let mut failure: Option<PlanError> = None;
    visit_values_mut(&mut statement, &mut |site, ordinal, slot| {
        let Some(&&(at, number)) = next.peek() else {
            return;
        };
        if at != ordinal || failure.is_some() {
            return;
        }
        next.next();
        let Some(value) = values[number - 1] else {
            return;
        };
        let Some(column) = site_column(table, &site) else {
            // An unknown column: bind as given; the planner or the store
            // names the column.
            *slot = value.clone();
            return;
        };
        let def = &table.columns[column];
        match value.clone().normalize_for(def.ty, true) {
            Ok(v) => *slot = v,
            Err(_) => {
                failure = Some(
                    ParamError::Type {
                        placeholder: slots.placeholder(number),
                        expected: def.ty,
                        found: value.kind(),
                        column: def.name.clone(),
                    }
                    .into(),
                )
            }
        }
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(statement),
    }
}

fn count_value(
    slots: &ParamSlots,
    number: usize,
    value: &Value,
    clause: &'static str,
) -> Result<usize, ParamError> {
    match value {
        Value::Int(n) => usize::try_from(*n).ok(),
        _ => None,
    }
    .ok_or_else(|| ParamError::Count {
        placeholder: slots.placeholder(number),
        clause,
        found: value.to_string(),
    })
}
