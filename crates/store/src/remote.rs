//! Shards held outside this process. A [`ChunkSource`] reads ordered chunks
//! of one map of one shard, from a bound, in either direction, with their
//! rows: the one thing the executor needs from wherever shards live. The
//! local store implements it (`StoreState`), and so does the Redis Cluster
//! backend (`keyset-cluster`). A read view built with
//! [`StoreState::remote`](crate::StoreState::remote) carries a source down
//! to every `TableView` and `MapView` it hands out; the executor's leaves
//! then read through it one chunk per call (one round trip for a remote
//! source) instead of walking an in-memory cursor.

use std::fmt;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;

use crate::key::TableId;
use crate::map::Direction;
use crate::row::RowRef;
use crate::table::MapId;

/// Which map of which shard of which table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MapAt {
    pub table: TableId,
    pub shard: usize,
    pub map: MapId,
}

/// Why a source could not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// A node holding the shard did not answer within the query's time
    /// (after redirects and failovers were retried).
    #[error("cluster node {node} is unavailable (slot {slot}): {detail}")]
    NodeDown {
        node: String,
        slot: u16,
        detail: String,
    },
    /// The source answered with something that is not a keyset shard (a
    /// damaged or foreign key, a row that does not decode).
    #[error("shard data in the cluster is not keyset's: {0}")]
    Corrupt(String),
    /// Any other refusal of the source, as it worded it.
    #[error("{0}")]
    Other(String),
}

/// Ordered chunks of shard maps, with rows.
pub trait ChunkSource: Send + Sync + fmt::Debug {
    /// Up to `limit` keys of the map `at` between `lower` and `upper`, from
    /// the near end of `direction` (the lower bound ascending, the upper
    /// bound descending), each with its row, in `direction`. Fewer than
    /// `limit` keys means the range holds no more.
    fn chunk(
        &self,
        at: MapAt,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(Bytes, RowRef)>, SourceError>;

    /// The row under a raw data key of shard `shard` of `table`.
    fn get(&self, table: TableId, shard: usize, key: &[u8]) -> Result<Option<RowRef>, SourceError>;
}

/// A source and the map it reads: what a remote `MapView` carries.
#[derive(Clone)]
pub struct RemoteMap {
    pub source: Arc<dyn ChunkSource>,
    pub at: MapAt,
}

impl fmt::Debug for RemoteMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteMap").field("at", &self.at).finish()
    }
}

impl RemoteMap {
    /// One chunk of this map (see [`ChunkSource::chunk`]).
    pub fn chunk(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(Bytes, RowRef)>, SourceError> {
        self.source.chunk(self.at, lower, upper, direction, limit)
    }
}
