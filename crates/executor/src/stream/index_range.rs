//! Index-range leaves: a range of one shard's index map. Read alone they
//! yield whole `RawIndexKey`s in index order (the `IndexRange` cursor
//! anchors on them); when the range fixes every index column by equality
//! they can instead yield the primary-key suffix of each entry, which is then
//! in primary-key order and can join a composite. Bounds only; reading is
//! `MapRangeStream`'s.

use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use keyset_store::codec::encode_tuple;
use keyset_store::key::range_bounds;
use keyset_store::{Direction, IndexDef, IndexKeyHeader, ShardView, TableDef, Value};

use super::budget::Meter;
use super::map_range::{Chunking, MapRangeStream};
use crate::error::ExecError;

/// Which part of each index entry the leaf yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKeys {
    /// The whole `RawIndexKey`, in index order.
    Raw,
    /// The encoded primary key after the index components, in primary-key
    /// order. Only for ranges with equality on every index column.
    PrimaryKey,
}

/// The header of `index`'s keys.
pub fn index_head(table: &TableDef, index: &IndexDef) -> [u8; keyset_store::key::INDEX_HEADER_LEN] {
    let arity = u8::try_from(index.columns.len()).unwrap_or(u8::MAX);
    IndexKeyHeader::new(table.id, index.id, arity).to_bytes()
}

/// An index range of one shard.
#[allow(clippy::too_many_arguments)]
pub fn index_range_leaf(
    shard: &ShardView,
    table: &TableDef,
    index: &IndexDef,
    (prefix, lower, upper): (&[Value], Bound<&Value>, Bound<&Value>),
    keys: IndexKeys,
    direction: Direction,
    chunking: Chunking,
    meter: Arc<Meter>,
) -> Result<MapRangeStream, ExecError> {
    let map = shard.index(index.id).ok_or_else(|| {
        ExecError::internal(format!(
            "index `{}` (id {}) of table `{}` has no map in a shard",
            index.name, index.id, table.name
        ))
    })?;
    let head = index_head(table, index);
    let base = match keys {
        IndexKeys::Raw => Bytes::new(),
        IndexKeys::PrimaryKey => {
            let fixed = prefix.len() == index.columns.len()
                && matches!(lower, Bound::Unbounded)
                && matches!(upper, Bound::Unbounded);
            if !fixed {
                return Err(ExecError::internal(format!(
                    "index `{}` was read in primary-key order, but the range does not fix \
                     every index column",
                    index.name
                )));
            }
            let mut base = head.to_vec();
            encode_tuple(prefix, &mut base);
            Bytes::from(base)
        }
    };
    Ok(MapRangeStream::new(
        map.clone(),
        direction,
        range_bounds(&head, prefix, lower, upper),
        base,
        chunking,
        meter,
    ))
}
