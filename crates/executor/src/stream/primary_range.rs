//! Primary-range and full-scan leaves: a range of one shard's data map, in
//! primary-key order. They yield encoded primary keys (the `RawDataKey`
//! without its table id) so that every stream in primary-key order shares
//! one key space; they compute bounds only and leave reading to
//! `MapRangeStream`.

use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use keyset_store::key::range_bounds;
use keyset_store::{Direction, RawDataKey, ShardView, TableId, Value};

use super::budget::Meter;
use super::map_range::{Chunking, MapRangeStream};

/// The byte bounds of a primary range: data keys of `table` whose primary
/// key starts with `prefix` and whose next component lies in `lower..upper`.
pub fn primary_range_bounds(
    table: TableId,
    prefix: &[Value],
    lower: Bound<&Value>,
    upper: Bound<&Value>,
) -> (Bound<Bytes>, Bound<Bytes>) {
    range_bounds(&RawDataKey::table_prefix(table), prefix, lower, upper)
}

/// A primary range of one shard, yielding encoded primary keys.
#[allow(clippy::too_many_arguments)]
pub fn primary_range_leaf(
    shard: &ShardView,
    table: TableId,
    prefix: &[Value],
    lower: Bound<&Value>,
    upper: Bound<&Value>,
    direction: Direction,
    chunking: Chunking,
    meter: Arc<Meter>,
) -> MapRangeStream {
    MapRangeStream::new(
        shard.data().clone(),
        direction,
        primary_range_bounds(table, prefix, lower, upper),
        Bytes::copy_from_slice(&RawDataKey::table_prefix(table)),
        chunking,
        meter,
    )
}

/// Every row of one shard, yielding encoded primary keys.
pub fn full_scan_leaf(
    shard: &ShardView,
    table: TableId,
    direction: Direction,
    chunking: Chunking,
    meter: Arc<Meter>,
) -> MapRangeStream {
    primary_range_leaf(
        shard,
        table,
        &[],
        Bound::Unbounded,
        Bound::Unbounded,
        direction,
        chunking,
        meter,
    )
}
