//! Batches of puts and deletes, and their validation.
//!
//! A batch is validated whole (types, limits, unique constraints, also
//! between rows of the same batch) against one read view before anything is
//! applied; validation turns it into the resolved [`WriteOp`]s that the
//! commit path logs and applies. Nothing here mutates a map.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::catalog::TableDef;
use crate::codec::{encode_tuple, prefix_successor};
use crate::error::{Result, StoreError};
use crate::key::{IndexKeyHeader, RawDataKey, TableId, INDEX_HEADER_LEN, MAX_KEY_BYTES};
use crate::row::{Row, RowRef, MAX_ROW_BYTES};
use crate::store::StoreState;
use crate::table::TableStore;
use crate::value::{Value, ValueRejection};
use crate::view::TableView;

/// The values of a row to put, by position or by column name.
#[derive(Clone, Debug, PartialEq)]
pub enum RowInput {
    /// One value per column, in the table's column order.
    Positional(Vec<Value>),
    /// Some columns by name; the others are NULL.
    Named(Vec<(String, Value)>),
}

/// One operation of a batch, as the caller wrote it.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchOp {
    Put {
        table: String,
        row: RowInput,
    },
    /// Like `Put`, but refused (`StoreError::DuplicateKey`) when a row with
    /// the same primary key exists at that point of the batch: SQL INSERT.
    Insert {
        table: String,
        row: RowInput,
    },
    Delete {
        table: String,
        key: Vec<Value>,
    },
}

/// A group of writes committed together, all or nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Inserts or replaces a row given as one value per column.
    pub fn put(&mut self, table: &str, row: Vec<Value>) -> &mut Batch {
        self.ops.push(BatchOp::Put {
            table: table.to_owned(),
            row: RowInput::Positional(row),
        });
        self
    }

    /// Inserts a row that must not exist yet (SQL `INSERT`): the batch fails
    /// with `StoreError::DuplicateKey` if its key is present in the store
    /// or was put earlier in the batch (and not deleted since).
    pub fn insert(&mut self, table: &str, row: RowInput) -> &mut Batch {
        self.ops.push(BatchOp::Insert {
            table: table.to_owned(),
            row,
        });
        self
    }

    /// Inserts or replaces a row given by column names; missing columns are NULL.
    pub fn put_named(&mut self, table: &str, row: Vec<(String, Value)>) -> &mut Batch {
        self.ops.push(BatchOp::Put {
            table: table.to_owned(),
            row: RowInput::Named(row),
        });
        self
    }

    /// Deletes the row with this primary key (nothing if there is none).
    pub fn delete(&mut self, table: &str, key: Vec<Value>) -> &mut Batch {
        self.ops.push(BatchOp::Delete {
            table: table.to_owned(),
            key,
        });
        self
    }

    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A validated write: the final state of one key after the batch.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    Put { table: TableId, row: RowRef },
    Delete { table: TableId, key: Vec<Value> },
}

/// Validates a whole batch against `state`; returns one op per distinct key,
/// in the order keys were first written.
pub(crate) fn validate(state: &StoreState, batch: &Batch) -> Result<Vec<WriteOp>> {
    let mut ops: Vec<(TableView, RawDataKey, WriteOp)> = Vec::with_capacity(batch.len());
    let mut position: HashMap<RawDataKey, usize> = HashMap::with_capacity(batch.len());
    for op in batch.ops() {
        let (table, key, write) = match op {
            BatchOp::Put { table, row } | BatchOp::Insert { table, row } => {
                let table = lookup(state, table)?;
                let row = Arc::new(Row::new(resolve_row(table.def(), row)?));
                check_row_limits(&table, &row)?;
                let key = table.data_key_of(&row);
                if matches!(op, BatchOp::Insert { .. }) {
                    let exists = match position.get(&key) {
                        Some(&at) => matches!(ops[at].2, WriteOp::Put { .. }),
                        None => table.get(&key).is_some(),
                    };
                    if exists {
                        let def = table.def();
                        return Err(StoreError::DuplicateKey {
                            table: def.name.clone(),
                            key: describe(def, &def.primary_key, &table.primary_key_of(&row)),
                        });
                    }
                }
                let write = WriteOp::Put {
                    table: table.def().id,
                    row,
                };
                (table, key, write)
            }
            BatchOp::Delete { table, key } => {
                let table = lookup(state, table)?;
                let key_values = resolve_key(table.def(), key)?;
                let raw = RawDataKey::encode(table.def().id, &key_values);
                check_key_len(table.def(), raw.len())?;
                let write = WriteOp::Delete {
                    table: table.def().id,
                    key: key_values,
                };
                (table, raw, write)
            }
        };
        match position.get(&key) {
            Some(&at) => ops[at].2 = write,
            None => {
                position.insert(key.clone(), ops.len());
                ops.push((table, key, write));
            }
        }
    }
    check_unique(&ops, &position)?;
    Ok(ops.into_iter().map(|(_, _, w)| w).collect())
}

/// A row as a put of `input` into `table` would store it: type-checked,
/// normalized and within the size limits (a transaction checks its writes
/// with this before it buffers them; the commit validates them again).
pub fn resolve_put(table: &TableView, input: &RowInput) -> Result<RowRef> {
    let row = Row::new(resolve_row(table.def(), input)?);
    check_row_limits(table, &row)?;
    Ok(Arc::new(row))
}

/// A primary key as a delete from `table` would use it: type-checked and
/// encoded.
pub fn resolve_delete(table: &TableView, key: &[Value]) -> Result<RawDataKey> {
    let values = resolve_key(table.def(), key)?;
    let raw = RawDataKey::encode(table.def().id, &values);
    check_key_len(table.def(), raw.len())?;
    Ok(raw)
}

fn lookup(state: &StoreState, table: &str) -> Result<TableView> {
    state.table(table).ok_or_else(|| StoreError::UnknownTable {
        table: table.to_owned(),
    })
}

fn reject(def: &TableDef, column: usize, why: ValueRejection) -> StoreError {
    let table = def.name.clone();
    let col = &def.columns[column];
    match why {
        ValueRejection::TypeMismatch { found } => StoreError::TypeMismatch {
            table,
            column: col.name.clone(),
            expected: col.ty,
            found,
        },
        ValueRejection::Null => StoreError::NullNotAllowed {
            table,
            column: col.name.clone(),
        },
        ValueRejection::NaN => StoreError::NotANumber {
            table,
            column: col.name.clone(),
        },
    }
}

/// Checks and normalizes a row against its table's columns.
pub(crate) fn resolve_row(def: &TableDef, input: &RowInput) -> Result<Vec<Value>> {
    let raw: Vec<Value> = match input {
        RowInput::Positional(values) => {
            if values.len() != def.columns.len() {
                return Err(StoreError::RowArity {
                    table: def.name.clone(),
                    expected: def.columns.len(),
                    found: values.len(),
                });
            }
            values.clone()
        }
        RowInput::Named(pairs) => {
            let mut values = vec![None; def.columns.len()];
            for (name, value) in pairs {
                let column = def
                    .column_index(name)
                    .ok_or_else(|| StoreError::UnknownColumn {
                        table: def.name.clone(),
                        column: name.clone(),
                    })?;
                if values[column].replace(value.clone()).is_some() {
                    return Err(StoreError::DuplicateColumn {
                        table: def.name.clone(),
                        column: name.clone(),
                    });
                }
            }
            values
                .into_iter()
                .map(|v| v.unwrap_or(Value::Null))
                .collect()
        }
    };
    raw.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let col = &def.columns[i];
            v.normalize_for(col.ty, col.nullable)
                .map_err(|why| reject(def, i, why))
        })
        .collect()
}

/// Checks and normalizes a primary key against its table.
pub(crate) fn resolve_key(def: &TableDef, key: &[Value]) -> Result<Vec<Value>> {
    if key.len() != def.primary_key.len() {
        return Err(StoreError::KeyArity {
            table: def.name.clone(),
            expected: def.primary_key.len(),
            found: key.len(),
        });
    }
    key.iter()
        .zip(&def.primary_key)
        .map(|(v, &c)| {
            let col = &def.columns[c];
            v.clone()
                .normalize_for(col.ty, false)
                .map_err(|why| reject(def, c, why))
        })
        .collect()
}

fn check_key_len(def: &TableDef, len: usize) -> Result<()> {
    if len > MAX_KEY_BYTES {
        return Err(StoreError::KeyTooLong {
            table: def.name.clone(),
            len,
            max: MAX_KEY_BYTES,
        });
    }
    Ok(())
}

fn check_row_limits(table: &TableStore, row: &Row) -> Result<()> {
    let def = table.def();
    let len = row.encoded_len();
    if len > MAX_ROW_BYTES {
        return Err(StoreError::RowTooLarge {
            table: def.name.clone(),
            len,
            max: MAX_ROW_BYTES,
        });
    }
    let pk_len: usize = def
        .primary_key
        .iter()
        .map(|&c| row.get(c).map_or(1, crate::codec::encoded_len))
        .sum();
    check_key_len(def, 4 + pk_len)?;
    for index in &def.indexes {
        let comps: usize = index
            .columns
            .iter()
            .map(|&c| row.get(c).map_or(1, crate::codec::encoded_len))
            .sum();
        check_key_len(def, INDEX_HEADER_LEN + comps + pk_len)?;
    }
    Ok(())
}

/// Unique indexes: no two final rows of the batch share a non-NULL prefix,
/// and no row outside the batch's changes holds one the batch claims.
fn check_unique(
    ops: &[(TableView, RawDataKey, WriteOp)],
    changed: &HashMap<RawDataKey, usize>,
) -> Result<()> {
    let mut claimed: HashMap<Vec<u8>, &RawDataKey> = HashMap::new();
    for (table, key, op) in ops {
        let WriteOp::Put { row, .. } = op else {
            continue;
        };
        let def = table.def();
        for index in def.indexes.iter().filter(|i| i.unique) {
            let components: Vec<Value> = index
                .columns
                .iter()
                .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
                .collect();
            if components.iter().any(Value::is_null) {
                continue;
            }
            let arity = components.len() as u8;
            let mut prefix = IndexKeyHeader::new(def.id, index.id, arity)
                .to_bytes()
                .to_vec();
            encode_tuple(&components, &mut prefix);
            let violation = || StoreError::UniqueViolation {
                table: def.name.clone(),
                index: index.name.clone(),
                key: describe(def, &index.columns, &components),
            };
            if let Some(other) = claimed.insert(prefix.clone(), key) {
                if other != key {
                    return Err(violation());
                }
            }
            let upper = prefix_successor(&prefix).map(Bytes::from);
            for shard in 0..table.shards().len() {
                let Some(map) = table.index_map(shard, index.id) else {
                    continue;
                };
                let upper_bound = match &upper {
                    Some(u) => std::ops::Bound::Excluded(&u[..]),
                    None => std::ops::Bound::Unbounded,
                };
                let lower = std::ops::Bound::Included(&prefix[..]);
                let mut cursor = map.cursor(lower, upper_bound, crate::map::Direction::Asc);
                while let Some((_, existing)) = cursor.next_entry() {
                    let existing_key = table.data_key_of(&existing);
                    if existing_key != *key && !changed.contains_key(&existing_key) {
                        return Err(violation());
                    }
                }
            }
        }
    }
    Ok(())
}

/// `(col, col) = (value, value)`, for error messages.
pub(crate) fn describe(def: &TableDef, columns: &[usize], values: &[Value]) -> String {
    let names: Vec<&str> = columns
        .iter()
        .map(|&c| def.columns[c].name.as_str())
        .collect();
    let vals: Vec<String> = values.iter().map(ToString::to_string).collect();
    format!("({}) = ({})", names.join(", "), vals.join(", "))
}
