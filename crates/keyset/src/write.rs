//! INSERT, UPDATE and DELETE on top of batches and transactions. UPDATE
//! and DELETE read the matching rows with the ordinary planner and executor
//! (page by page) in a transaction's view and buffer their writes in it:
//! inside `BEGIN ... COMMIT` that is the caller's transaction; outside, the
//! statement runs as a transaction of its own, retried a bounded number of
//! times when a concurrent commit wrote the same rows, so no update is
//! lost. A SET value may compute from the row (`n = n + 1`); a value that
//! cannot be computed (an INT overflow) fails the whole statement, naming
//! the column and the row, before anything is written.

use std::collections::HashMap;

use keyset_plan::{BoundSet, Expr, PlanError, Query, SetExpr};
use keyset_store::{Batch, RawDataKey, RowInput, TableDef, Value};

use crate::error::{Error, Result};
use crate::transaction::Transaction;

/// Rows read per page while collecting the targets of UPDATE or DELETE.
const TARGET_PAGE: usize = 1024;

pub(crate) fn insert(
    batch: &mut Batch,
    table: &str,
    columns: Option<&[String]>,
    rows: Vec<Vec<Value>>,
) -> Result<()> {
    for (n, row) in rows.into_iter().enumerate() {
        match columns {
            None => {
                batch.insert(table, RowInput::Positional(row));
            }
            Some(columns) if columns.len() == row.len() => {
                batch.insert(
                    table,
                    RowInput::Named(columns.iter().cloned().zip(row).collect()),
                );
            }
            Some(columns) => {
                return Err(Error::WrongStatement(format!(
                    "INSERT names {} columns but row {} has {} values",
                    columns.len(),
                    n + 1,
                    row.len()
                )))
            }
        }
    }
    Ok(())
}

/// Refuses an INSERT that gives two of its own rows one primary key: the
/// store would report the second as a row that "already has" the key,
/// which sends the user looking in the table for a row that is not there.
pub(crate) fn refuse_repeated_keys(
    def: &TableDef,
    columns: Option<&[String]>,
    rows: &[Vec<Value>],
) -> Result<()> {
    let positions: Option<Vec<usize>> = match columns {
        None => Some(def.primary_key.clone()),
        Some(names) => def
            .primary_key
            .iter()
            .map(|&pk| names.iter().position(|n| def.column_index(n) == Some(pk)))
            .collect(),
    };
    // A key column left out is the store's refusal to make.
    let Some(positions) = positions else {
        return Ok(());
    };
    let mut seen: HashMap<RawDataKey, usize> = HashMap::with_capacity(rows.len());
    for (n, row) in rows.iter().enumerate() {
        let key: Option<Vec<Value>> = positions
            .iter()
            .zip(&def.primary_key)
            .map(|(&at, &pk)| {
                let value = row.get(at)?.clone();
                value.normalize_for(def.columns[pk].ty, false).ok()
            })
            .collect();
        // A value the column refuses is the store's refusal to make too.
        let Some(key) = key else {
            continue;
        };
        if let Some(first) = seen.insert(RawDataKey::encode(def.id, &key), n) {
            let names: Vec<&str> = def
                .primary_key
                .iter()
                .map(|&c| def.columns[c].name.as_str())
                .collect();
            let values: Vec<String> = key.iter().map(ToString::to_string).collect();
            return Err(Error::WrongStatement(format!(
                "INSERT gives rows {} and {} the same primary key ({}) = ({}) of `{}`",
                first + 1,
                n + 1,
                names.join(", "),
                values.join(", "),
                def.name
            )));
        }
    }
    Ok(())
}

/// The primary-key values of a full row.
fn primary_key(def: &TableDef, row: &[Value]) -> Vec<Value> {
    def.primary_key.iter().map(|&c| row[c].clone()).collect()
}

/// A primary key as a person reads it: `(1, 'a')`.
fn key_text(key: &[Value]) -> String {
    let parts: Vec<String> = key.iter().map(ToString::to_string).collect();
    format!("({})", parts.join(", "))
}

/// Every full row the filter accepts (values in column order), read in
/// the transaction's view.
fn targets(tx: &Transaction, table: &str, filter: Option<Expr>) -> Result<Vec<Vec<Value>>> {
    let mut query = Query::table(table).limit(TARGET_PAGE);
    query.filter = filter;
    let plan = tx.db().plan(&query)?;
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = tx.page(&plan, cursor.as_ref())?;
        out.extend(page.rows.into_iter().map(|r| r.into_values()));
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// The definition of `table`, or the planner's error naming it.
fn table_def(tx: &Transaction, table: &str) -> Result<std::sync::Arc<TableDef>> {
    Ok(tx
        .db()
        .table(table)
        .ok_or_else(|| PlanError::UnknownTable {
            table: table.to_owned(),
        })?)
}

/// The columns an UPDATE's `SET` assigns, with their values bound to the
/// table.
fn bind_assignments(
    def: &TableDef,
    assignments: &[(String, SetExpr)],
) -> Result<Vec<(usize, BoundSet)>> {
    let mut positions = Vec::with_capacity(assignments.len());
    for (column, value) in assignments {
        let at = def
            .column_index(column)
            .ok_or_else(|| PlanError::UnknownColumn {
                table: def.name.clone(),
                column: column.clone(),
            })?;
        positions.push((at, value.bind(def)?));
    }
    Ok(positions)
}

/// Row `old` after the assignments `set`; every SET value computes from
/// the row as it was. An arithmetic error names the column and the row.
fn updated(def: &TableDef, set: &[(usize, BoundSet)], old: &[Value]) -> Result<Vec<Value>> {
    let mut new = old.to_vec();
    for (at, value) in set {
        new[*at] = value.eval(old).map_err(|source| PlanError::Arithmetic {
            table: def.name.clone(),
            column: def.columns[*at].name.clone(),
            key: key_text(&primary_key(def, old)),
            source: Box::new(source),
        })?;
    }
    Ok(new)
}

/// UPDATE inside `tx`: reads the targets in its view and buffers the new
/// rows in it.
pub(crate) fn update(
    tx: &mut Transaction,
    table: &str,
    assignments: &[(String, SetExpr)],
    filter: Option<Expr>,
) -> Result<u64> {
    let def = table_def(tx, table)?;
    let set = bind_assignments(&def, assignments)?;
    let rows = targets(tx, table, filter)?;
    let mut changes = Vec::with_capacity(rows.len());
    for old in &rows {
        changes.push((primary_key(&def, old), updated(&def, &set, old)?));
    }
    // Keys that move are deleted first, so that two rows may swap keys
    // and a new key is refused only if a row that stays holds it.
    for (old_key, new) in &changes {
        if *old_key != primary_key(&def, new) {
            tx.delete(table, old_key.clone())?;
        }
    }
    for (old_key, new) in changes {
        if old_key == primary_key(&def, &new) {
            tx.put(table, new)?;
        } else {
            // A new key must be free: SQL refuses an UPDATE that would
            // overwrite another row or give two rows one key.
            tx.insert(table, new)?;
        }
    }
    Ok(rows.len() as u64)
}

/// DELETE inside `tx`.
pub(crate) fn delete(tx: &mut Transaction, table: &str, filter: Option<Expr>) -> Result<u64> {
    let def = table_def(tx, table)?;
    let rows = targets(tx, table, filter)?;
    let mut deleted = 0;
    for row in &rows {
        deleted += u64::from(tx.delete(table, primary_key(&def, row))?);
    }
    Ok(deleted)
}

/// Every full row the filter accepts, read live through `db` (a database
/// held in a cluster, which has no transactions).
fn live_targets(db: &crate::Db, table: &str, filter: Option<Expr>) -> Result<Vec<Vec<Value>>> {
    let mut query = Query::table(table).limit(TARGET_PAGE);
    query.filter = filter;
    let plan = db.plan(&query)?;
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = db.page(&plan, cursor.as_ref())?;
        out.extend(page.rows().iter().map(|r| r.values().to_vec()));
        match page.next_cursor() {
            Some(next) => cursor = Some(next.clone()),
            None => return Ok(out),
        }
    }
}

/// UPDATE on a database held in a cluster, as one batch: the rows the
/// filter accepts now, with the new values (rows whose key moves are
/// deleted and inserted anew). Atomic per shard, not across shards, and
/// not isolated from a concurrent writer of the same rows (see
/// `docs/cluster.md`).
pub(crate) fn planned_update(
    db: &crate::Db,
    table: &str,
    assignments: &[(String, SetExpr)],
    filter: Option<Expr>,
) -> Result<Batch> {
    let def = db.table(table).ok_or_else(|| PlanError::UnknownTable {
        table: table.to_owned(),
    })?;
    let set = bind_assignments(&def, assignments)?;
    let rows = live_targets(db, table, filter)?;
    let mut moved = Batch::new();
    let mut kept = Vec::new();
    let mut inserted = Vec::new();
    for old in &rows {
        let new = updated(&def, &set, old)?;
        let old_key = primary_key(&def, old);
        if old_key == primary_key(&def, &new) {
            kept.push(new);
        } else {
            moved.delete(table, old_key);
            inserted.push(new);
        }
    }
    for new in inserted {
        moved.insert(table, RowInput::Positional(new));
    }
    for new in kept {
        moved.put(table, new);
    }
    Ok(moved)
}

/// DELETE on a database held in a cluster, as one batch of the keys the
/// filter accepts now.
pub(crate) fn planned_delete(db: &crate::Db, table: &str, filter: Option<Expr>) -> Result<Batch> {
    let def = db.table(table).ok_or_else(|| PlanError::UnknownTable {
        table: table.to_owned(),
    })?;
    let mut batch = Batch::new();
    for row in live_targets(db, table, filter)? {
        batch.delete(table, primary_key(&def, &row));
    }
    Ok(batch)
}
