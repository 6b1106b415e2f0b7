//! Point templates: a prepared SELECT whose filter fixes each primary-key
//! column by one equality (`id = ?`, `region = ? AND id = 7`) reads the one
//! row at the key its values make, whatever the values. Its plan's shape
//! (a by-keys lookup of one key, no cursor to mint) never depends on them,
//! so a run needs neither binding of the whole statement nor planning:
//! [`PointTemplate::key`] turns the run's values into the key, checked and
//! normalized per column as [`crate::bind_params`] does them. Anything the
//! template cannot decide alone (a missing, misnamed or ill-typed value, a
//! NULL) returns `None`, and the caller binds and plans in full, which
//! reports the error. This module does not read the store.

use keyset_store::codec::{encode_component, encoded_len};
use keyset_store::key::DATA_HEADER_LEN;
use keyset_store::{RawDataKey, TableDef, Value};

use crate::access::AccessPath;
use crate::expr::{CmpOp, Predicate};
use crate::param::{ParamSlots, Params};
use crate::plan::{CursorKind, OrderStrategy, Plan};
use crate::query::{Budget, Consistency, Statement};
use crate::visit::{visit_values_mut, ValueSite};

/// Where a prepared point get finds each primary-key value.
#[derive(Clone, Debug, PartialEq)]
pub struct PointTemplate {
    /// One part per primary-key column, in key order.
    parts: Vec<KeyPart>,
    /// The statement's largest parameter number.
    count: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum KeyPart {
    /// Parameter `number` gives the value of `column`.
    Param { number: usize, column: usize },
    /// The statement's literal, as the planner normalized it.
    Fixed(Value),
}

impl PointTemplate {
    /// The point template of `template` (a SELECT with its placeholders
    /// standing), given `plan`, the plan of `template` bound to some
    /// values; `None` unless every run of the template, with any values,
    /// is a lookup of one key: a by-keys plan of one key whose filter is an
    /// AND of one equality per primary-key column, each from its own value
    /// site, streaming, live, with no budget, OFFSET, LIMIT 0 or LIMIT /
    /// OFFSET placeholder.
    pub fn derive(template: &Statement, slots: &ParamSlots, plan: &Plan) -> Option<PointTemplate> {
        let Statement::Select(_) = template else {
            return None;
        };
        let table = &plan.table;
        let primary_key = &table.primary_key;
        let shaped = slots.limit.is_none()
            && slots.offset.is_none()
            && plan.limit != Some(0)
            && plan.offset == 0
            && plan.budget == Budget::default()
            && plan.consistency == Consistency::Live
            && !plan.is_count()
            && plan.cursor_kind != CursorKind::ShardFrontier
            && matches!(plan.strategy, OrderStrategy::Stream(_));
        let AccessPath::ByKeys(keys) = &plan.access else {
            return None;
        };
        let [key] = keys.as_slice() else {
            return None;
        };
        if !shaped
            || key.len() != primary_key.len()
            || !fixes_primary_key(plan.filter.as_ref()?, primary_key)
        {
            return None;
        }
        // The column of each value site, by ordinal: exactly one site per
        // primary-key column, and no other.
        let mut site_columns = Vec::new();
        visit_values_mut(&mut template.clone(), &mut |site, _, _| {
            site_columns.push(match site {
                ValueSite::Column(name) => table.column_index(name),
                ValueSite::Position(_) => None,
            });
        });
        if site_columns.len() != primary_key.len() {
            return None;
        }
        let parts = primary_key
            .iter()
            .zip(key)
            .map(|(&column, planned)| {
                let ordinal = site_columns.iter().position(|c| *c == Some(column))?;
                Some(match slots.sites.iter().find(|(at, _)| *at == ordinal) {
                    Some(&(_, number)) => KeyPart::Param { number, column },
                    None => KeyPart::Fixed(planned.clone()),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(PointTemplate {
            parts,
            count: slots.count,
        })
    }

    /// The data key `params` make, each value checked and normalized for
    /// its column as binding does (`table` is the plan's), encoded at its
    /// exact length; `None` when the values need the full binding: named
    /// values, too few or too many, one the column cannot take, or a NULL.
    pub fn key(&self, table: &TableDef, params: &Params) -> Option<RawDataKey> {
        if !params.named.is_empty() || params.positional.len() != self.count {
            return None;
        }
        let value = |part: &'_ KeyPart| -> Option<Value> {
            match part {
                KeyPart::Fixed(value) => Some(value.clone()),
                KeyPart::Param { number, column } => {
                    let ty = table.columns.get(*column)?.ty;
                    let given = params.positional.get(number.checked_sub(1)?)?;
                    given
                        .clone()
                        .normalize_for(ty, true)
                        .ok()
                        .filter(|v| !v.is_null())
                }
            }
        };
        // Normalizing never changes an encoded length (INT to FLOAT is 9
        // bytes either way), so the given values size the buffer.
        let len = DATA_HEADER_LEN
            + self
                .parts
                .iter()
                .map(|part| match part {
                    KeyPart::Fixed(v) => encoded_len(v),
                    KeyPart::Param { number, .. } => number
                        .checked_sub(1)
                        .and_then(|at| params.positional.get(at))
                        .map_or(0, encoded_len),
                })
                .sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&table.id.to_be_bytes());
        for part in &self.parts {
            encode_component(&value(part)?, &mut out);
        }
        debug_assert_eq!(out.len(), len, "normalizing kept every encoded length");
        Some(RawDataKey::from_bytes(out.into()))
    }
}

/// Whether a bound filter is an AND of `column = value` (value not NULL),
/// one term for each primary-key column and no other term.
fn fixes_primary_key(filter: &Predicate, primary_key: &[usize]) -> bool {
    let terms = match filter {
        Predicate::And(children) => children.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut columns = Vec::with_capacity(terms.len());
    for term in terms {
        match term {
            Predicate::Cmp {
                column,
                op: CmpOp::Eq,
                value,
            } if !value.is_null() => columns.push(*column),
            _ => return false,
        }
    }
    columns.sort_unstable();
    let mut wanted = primary_key.to_vec();
    wanted.sort_unstable();
    columns == wanted
}
