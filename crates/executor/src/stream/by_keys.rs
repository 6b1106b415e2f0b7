//! The by-keys leaf: point lookups of exact primary keys, in key order. Each
//! key is looked up in the shard that owns it (shards outside the plan's
//! shard set are skipped). It yields encoded primary keys, like every stream
//! in primary-key order; a key with no row is reported as `Passed`.

use std::sync::Arc;

use bytes::Bytes;
use keyset_store::key::DATA_HEADER_LEN;
use keyset_store::{Direction, RawDataKey, TableView, Value};

use super::budget::Meter;
use super::{reaches, KeyItem, OrderedKeyStream, Step};
use crate::error::ExecError;

/// Point lookups of a sorted list of data keys.
#[derive(Debug)]
pub struct ByKeysStream {
    table: TableView,
    direction: Direction,
    /// Whole `RawDataKey`s, sorted into `direction`, deduplicated.
    keys: Vec<Bytes>,
    next: usize,
    meter: Arc<Meter>,
}

impl ByKeysStream {
    /// Looks up `primary_keys` (full keys) of `table`, keeping those whose
    /// shard is in `shards`.
    pub fn new(
        table: TableView,
        primary_keys: &[Vec<Value>],
        shards: &[usize],
        direction: Direction,
        meter: Arc<Meter>,
    ) -> ByKeysStream {
        let id = table.def().id;
        let mut keys: Vec<Bytes> = primary_keys
            .iter()
            .map(|pk| RawDataKey::encode(id, pk))
            .filter(|key| {
                table
                    .shard_for_key(key)
                    .is_ok_and(|shard| shards.contains(&shard))
            })
            .map(RawDataKey::into_bytes)
            .collect();
        keys.sort_unstable_by(|a, b| direction.order(a, b));
        keys.dedup();
        ByKeysStream {
            table,
            direction,
            keys,
            next: 0,
            meter,
        }
    }
}

impl OrderedKeyStream for ByKeysStream {
    fn direction(&self) -> Direction {
        self.direction
    }

    fn next_key(&mut self) -> Result<Option<Step>, ExecError> {
        let Some(key) = self.keys.get(self.next).cloned() else {
            return Ok(None);
        };
        self.next += 1;
        self.meter.count(1);
        let primary_key = key.slice(DATA_HEADER_LEN.min(key.len())..);
        let row = self.table.try_get(&RawDataKey::from_bytes(key))?;
        Ok(Some(match row {
            Some(row) => Step::Key(KeyItem {
                key: primary_key,
                row,
            }),
            None => Step::Passed(primary_key),
        }))
    }

    fn seek(&mut self, target: &Bytes, inclusive: bool) -> Result<(), ExecError> {
        let rest = self.keys.get(self.next..).unwrap_or_default();
        let behind = rest.partition_point(|key| {
            let pk = key.get(DATA_HEADER_LEN..).unwrap_or_default();
            !reaches(self.direction, pk, target, inclusive)
        });
        self.next += behind;
        Ok(())
    }
}
