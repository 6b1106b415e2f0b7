//! Batches written to the cluster. Each op is checked as the local store
//! checks it (types, limits), then the ops are grouped by shard, keeping
//! their order, and each shard's group runs as one write script: atomic per
//! shard. A batch over several shards is not atomic across them (as with
//! DynamoDB's batch writes): when a shard refuses its part, the others
//! still apply theirs, and the error says which shards committed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use keyset_store::codec::encode_tuple;
use keyset_store::key::IndexKeyHeader;
use keyset_store::row::encode_row;
use keyset_store::{
    resolve_delete, resolve_put, Batch, BatchOp, Catalog, RawDataKey, RowRef, StoreError, TableDef,
    TableStore, TableView, Value,
};

use crate::error::ClusterError;
use crate::layout::ShardKeys;
use crate::router::{Resend, Router};
use crate::scripts::Lua;

/// One shard of one table, as a batch result names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShardRef {
    pub table: String,
    pub shard: usize,
}

impl fmt::Display for ShardRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` shard {}", self.table, self.shard)
    }
}

/// A batch that some shards refused: what committed and what did not.
#[derive(Debug)]
pub struct BatchFailure {
    /// Shards whose part of the batch applied, whole.
    pub committed: Vec<ShardRef>,
    /// Shards whose part did not apply (nothing of it), and why.
    pub failed: Vec<(ShardRef, ClusterError)>,
}

impl fmt::Display for BatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed: Vec<String> = self
            .failed
            .iter()
            .map(|(shard, why)| format!("{shard}: {why}"))
            .collect();
        let committed: Vec<String> = self.committed.iter().map(ToString::to_string).collect();
        write!(
            f,
            "a batch over several shards applied in part (cluster batches are atomic per \
             shard only): not applied in {}; applied in {}",
            failed.join("; "),
            if committed.is_empty() {
                "no shard".to_owned()
            } else {
                committed.join(", ")
            }
        )
    }
}

/// One op of a shard's group, with what its messages need.
struct Op {
    kind: u8,
    key: RawDataKey,
    row: Option<RowRef>,
    table: Arc<TableDef>,
}

/// The ops of one shard of one table.
struct Group {
    table: Arc<TableDef>,
    shard: usize,
    ops: Vec<Op>,
}

/// Validates `batch` against `catalog` and groups its ops by shard.
fn group(catalog: &Catalog, batch: &Batch) -> Result<Vec<Group>, ClusterError> {
    let mut views: BTreeMap<String, TableView> = BTreeMap::new();
    let mut groups: BTreeMap<(u32, usize), Group> = BTreeMap::new();
    for op in batch.ops() {
        let (name, kind) = match op {
            BatchOp::Put { table, .. } => (table, b'P'),
            BatchOp::Insert { table, .. } => (table, b'I'),
            BatchOp::Delete { table, .. } => (table, b'D'),
        };
        let view = match views.get(name) {
            Some(view) => view.clone(),
            None => {
                let def = catalog
                    .table(name)
                    .ok_or_else(|| StoreError::UnknownTable {
                        table: name.clone(),
                    })?;
                let view = TableView::new(Arc::new(TableStore::new(def.clone())), 0);
                views.insert(name.clone(), view.clone());
                view
            }
        };
        let (key, row) = match op {
            BatchOp::Put { row, .. } | BatchOp::Insert { row, .. } => {
                let row = resolve_put(&view, row)?;
                (view.data_key_of(&row), Some(row))
            }
            BatchOp::Delete { key, .. } => (resolve_delete(&view, key)?, None),
        };
        let shard = view.shard_for_key(&key).map_err(StoreError::from)?;
        let def = view.def().clone();
        groups
            .entry((def.id, shard))
            .or_insert_with(|| Group {
                table: def.clone(),
                shard,
                ops: Vec::new(),
            })
            .ops
            .push(Op {
                kind,
                key,
                row,
                table: def,
            });
    }
    Ok(groups.into_values().collect())
}

/// The `ZRANGE BYLEX` range of every index key that starts with `prefix`.
fn prefix_range(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let low = [b"[".as_slice(), prefix].concat();
    let mut next = prefix.to_vec();
    while let Some(last) = next.pop() {
        if last < u8::MAX {
            next.push(last + 1);
            return (low, [b"(".as_slice(), &next].concat());
        }
    }
    (low, b"+".to_vec())
}

/// Runs `batch`: every shard's group as one script. Returns the rows
/// changed.
pub(crate) fn commit(
    router: &Router,
    database: &str,
    script: &Lua,
    catalog: &Catalog,
    batch: &Batch,
) -> Result<u64, ClusterError> {
    let groups = group(catalog, batch)?;
    let single = groups.len() == 1;
    let mut changed = 0;
    let mut committed = Vec::new();
    let mut failed = Vec::new();
    for group in groups {
        let shard = ShardRef {
            table: group.table.name.clone(),
            shard: group.shard,
        };
        match run_group(router, database, script, &group) {
            Ok(n) => {
                changed += n;
                committed.push(shard);
            }
            Err(e) if single => return Err(e),
            Err(e) => failed.push((shard, e)),
        }
    }
    if failed.is_empty() {
        Ok(changed)
    } else {
        Err(ClusterError::Batch(BatchFailure { committed, failed }))
    }
}

fn run_group(
    router: &Router,
    database: &str,
    script: &Lua,
    group: &Group,
) -> Result<u64, ClusterError> {
    let def = &group.table;
    let view = TableView::new(Arc::new(TableStore::new(def.clone())), 0);
    let keys = ShardKeys::new(database, def.id, group.shard);
    let mut script_keys = vec![keys.data(), keys.rows(), keys.refs()];
    for index in &def.indexes {
        script_keys.push(keys.index(index.id));
        script_keys.push(keys.index_of_row(index.id));
    }
    let mut args: Vec<Vec<u8>> = vec![def.indexes.len().to_string().into_bytes()];
    for index in &def.indexes {
        args.push(if index.unique {
            b"1".to_vec()
        } else {
            b"0".to_vec()
        });
    }
    for op in &group.ops {
        args.push(vec![op.kind]);
        args.push(op.key.as_bytes().to_vec());
        let Some(row) = &op.row else {
            continue;
        };
        let mut encoded = Vec::new();
        encode_row(row.values(), &mut encoded);
        args.push(encoded);
        for index in &def.indexes {
            args.push(view.index_key_of(index, row).as_bytes().to_vec());
            let components: Vec<Value> = index
                .columns
                .iter()
                .map(|&c| row.get(c).cloned().unwrap_or(Value::Null))
                .collect();
            if index.unique && !components.iter().any(Value::is_null) {
                let arity = u8::try_from(index.columns.len()).unwrap_or(u8::MAX);
                let mut prefix = IndexKeyHeader::new(def.id, index.id, arity)
                    .to_bytes()
                    .to_vec();
                encode_tuple(&components, &mut prefix);
                let (low, high) = prefix_range(&prefix);
                args.push(low);
                args.push(high);
            } else {
                args.push(Vec::new());
                args.push(Vec::new());
            }
        }
    }
    let mut evalsha = redis::cmd("EVALSHA");
    evalsha.arg(&script.sha);
    let mut eval = redis::cmd("EVAL");
    eval.arg(script.text);
    for cmd in [&mut evalsha, &mut eval] {
        cmd.arg(script_keys.len()).arg(&script_keys).arg(&args);
    }
    let answer = router.call(keys.slot(), &evalsha, Some(&eval), Resend::IfNotRun)?;
    let codes: Vec<i64> = redis::from_redis_value(&answer).map_err(|e| {
        keyset_store::SourceError::Corrupt(format!("the write script answered {answer:?}: {e}"))
    })?;
    let op_at = |n: i64| {
        usize::try_from(n - 1)
            .ok()
            .and_then(|i| group.ops.get(i))
            .ok_or_else(|| {
                keyset_store::SourceError::Corrupt(format!("the write script named op {n}"))
            })
    };
    match codes.as_slice() {
        [0, changed] => Ok(u64::try_from(*changed).unwrap_or(0)),
        [1, n] => {
            let op = op_at(*n)?;
            Err(StoreError::DuplicateKey {
                table: op.table.name.clone(),
                key: describe(&op.table, &op.table.primary_key, op.row.as_deref()),
            }
            .into())
        }
        [2, n, j] => {
            let op = op_at(*n)?;
            let index = usize::try_from(*j - 1)
                .ok()
                .and_then(|j| op.table.indexes.get(j))
                .ok_or_else(|| {
                    keyset_store::SourceError::Corrupt(format!("the write script named index {j}"))
                })?;
            Err(StoreError::UniqueViolation {
                table: op.table.name.clone(),
                index: index.name.clone(),
                key: describe(&op.table, &index.columns, op.row.as_deref()),
            }
            .into())
        }
        other => Err(keyset_store::SourceError::Corrupt(format!(
            "the write script answered {other:?}"
        ))
        .into()),
    }
}

/// `(col, col) = (value, value)` of a row, for messages.
fn describe(def: &TableDef, columns: &[usize], row: Option<&keyset_store::Row>) -> String {
    let names: Vec<&str> = columns
        .iter()
        .filter_map(|&c| def.columns.get(c).map(|col| col.name.as_str()))
        .collect();
    let values: Vec<String> = columns
        .iter()
        .map(|&c| {
            row.and_then(|r| r.get(c))
                .map_or_else(|| "?".to_owned(), ToString::to_string)
        })
        .collect();
    format!("({}) = ({})", names.join(", "), values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_covers_exactly_the_keys_with_the_prefix() {
        assert_eq!(prefix_range(b"ab"), (b"[ab".to_vec(), b"(ac".to_vec()));
        assert_eq!(prefix_range(b"a\xff"), (b"[a\xff".to_vec(), b"(b".to_vec()));
        assert_eq!(prefix_range(b"\xff"), (b"[\xff".to_vec(), b"+".to_vec()));
    }
}
