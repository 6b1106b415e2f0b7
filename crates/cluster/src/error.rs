//! `ClusterError`: every way opening, changing or writing a database held
//! in a Redis Cluster can fail, each naming what to fix.

use keyset_store::{SourceError, StoreError};

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The address is not a `redis://host:port` URL.
    #[error("`{url}` is not a cluster address: {why} (expected redis://HOST:PORT)")]
    BadUrl { url: String, why: String },
    /// No node answered at the address.
    #[error("cannot reach cluster node {node}: {detail}")]
    Unreachable { node: String, detail: String },
    /// The node answered but runs without `cluster-enabled yes`.
    #[error(
        "{node} is a Redis server but not a cluster node (it runs without cluster-enabled yes): \
         keyset's cluster tables need a Redis Cluster (scripts/cluster.sh start makes one)"
    )]
    NotCluster { node: String },
    /// The cluster holds no catalog for the database.
    #[error(
        "the cluster holds no keyset database `{database}` (no key {key}): create it with \
         ClusterOptions {{ create: true, .. }} (`keyset sql --cluster URL --create`)"
    )]
    NoDatabase { database: String, key: String },
    /// The catalog key exists but does not decode.
    #[error("the catalog of database `{database}` in the cluster is damaged: {detail}")]
    BadCatalog { database: String, detail: String },
    /// A schema change other connections kept overtaking.
    #[error(
        "the schema change kept meeting concurrent schema changes from other connections \
         ({attempts} attempts): run it again"
    )]
    DdlContention { attempts: u32 },
    /// What a cluster table cannot do, and why.
    #[error("{0}")]
    Unsupported(String),
    /// The cluster could not be read or written.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The schema or a row was refused (the same checks as the local store).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A batch over several shards failed in some of them; the others
    /// committed (atomic per shard, not across shards).
    #[error("{0}")]
    Batch(crate::write::BatchFailure),
}
