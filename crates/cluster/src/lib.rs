//! keyset-cluster: a database's tables held in a Redis Cluster (DESIGN.md
//! section 10). Shard `s` of table `t` is pinned to one hash slot by the
//! tag `{ks:<db>:<t>:<s>}`; each map (data, every index) is a sorted set of
//! raw keys at score 0, whose `BYLEX` order is keyset's memcmp order; rows
//! sit in a hash of the shard. [`ClusterSource`] reads chunks for the
//! executor (one round trip each); [`Cluster`] keeps the catalog in the
//! cluster, serializes schema changes through it and commits batches
//! atomically per shard. Key names: `docs/cluster.md`.

mod error;
pub mod layout;
mod router;
mod scripts;
pub mod slot;
mod source;
pub mod write;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use keyset_store::bin::Reader;
use keyset_store::{
    Batch, Catalog, ChunkSource, IndexDef, IndexSpec, MapId, ReadView, StoreError, StoreState,
    TableDef, TableSpec,
};
use redis::Value;

pub use error::ClusterError;
pub use router::Resend;
pub use source::ClusterSource;
pub use write::{BatchFailure, ShardRef};

use layout::{catalog_key, ShardKeys};
use router::Router;
use scripts::{Lua, CATALOG_CAS, DROP, WRITE};

/// Schema changes tried before giving up on contention.
const DDL_ATTEMPTS: u32 = 64;

/// How to open a database held in a cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// The database's name: several databases may share a cluster.
    pub database: String,
    /// Create the database (its catalog) when the cluster has none.
    pub create: bool,
    /// The cursor MAC key of a database created now (random when `None`);
    /// an existing database keeps the key stored with its catalog.
    pub mac_key: Option<[u8; 32]>,
    /// How long to wait for a node to accept a connection.
    pub connect_timeout: Duration,
    /// How long a command keeps being retried through redirects, refused
    /// connections and failovers before it fails naming the node.
    pub retry_window: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            database: "keyset".into(),
            create: false,
            mac_key: None,
            connect_timeout: Duration::from_secs(2),
            retry_window: Duration::from_secs(30),
        }
    }
}

/// The catalog as last read, with its version.
#[derive(Debug)]
struct Loaded {
    catalog: Catalog,
    version: u64,
}

/// An open database in a cluster. `Send + Sync`.
#[derive(Debug)]
pub struct Cluster {
    router: Arc<Router>,
    source: Arc<ClusterSource>,
    database: String,
    id: [u8; 8],
    mac: [u8; 32],
    loaded: RwLock<Loaded>,
    write: Lua,
    cas: Lua,
    drop: Lua,
    catalog_reads: std::sync::atomic::AtomicU64,
}

/// `host:port` of a `redis://host:port` URL.
pub fn parse_url(url: &str) -> Result<String, ClusterError> {
    let bad = |why: &str| ClusterError::BadUrl {
        url: url.to_owned(),
        why: why.to_owned(),
    };
    let rest = url
        .strip_prefix("redis://")
        .ok_or_else(|| bad("it does not start with redis://"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| bad("it names no port"))?;
    if host.is_empty() || host.contains('/') || host.contains('@') {
        return Err(bad("its host is empty or not a plain host name"));
    }
    port.parse::<u16>()
        .map_err(|_| bad("its port is not a number from 0 to 65535"))?;
    Ok(format!("{host}:{port}"))
}

fn random<const N: usize>() -> Result<[u8; N], ClusterError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| ClusterError::Unsupported(format!("no random source for the keys: {e}")))?;
    Ok(out)
}

impl Cluster {
    /// Connects to the cluster at `urls` (any of its nodes) and opens the
    /// database `options.database`, creating it if `options.create`.
    pub fn connect(urls: &[&str], options: &ClusterOptions) -> Result<Cluster, ClusterError> {
        let seeds = urls
            .iter()
            .map(|u| parse_url(u))
            .collect::<Result<Vec<_>, _>>()?;
        if seeds.is_empty() {
            return Err(ClusterError::BadUrl {
                url: String::new(),
                why: "no address given".into(),
            });
        }
        let router = Arc::new(Router::connect(
            seeds,
            options.connect_timeout,
            options.retry_window,
        )?);
        let database = options.database.clone();
        let cas = Lua::new(CATALOG_CAS);
        let key = catalog_key(&database);
        let mut stored = read_catalog(&router, &database)?;
        if stored.is_none() && options.create {
            let mac = match options.mac_key {
                Some(k) => k,
                None => random()?,
            };
            let id: [u8; 8] = random()?;
            let mut bytes = Vec::new();
            Catalog::new().encode(&mut bytes);
            // Whoever creates it first wins; the others read theirs.
            run_cas(&router, &cas, &key, "", &bytes, 1, &mac, &id)?;
            stored = read_catalog(&router, &database)?;
        }
        let Some(stored) = stored else {
            return Err(ClusterError::NoDatabase {
                database,
                key: String::from_utf8_lossy(&key).into_owned(),
            });
        };
        Ok(Cluster {
            source: Arc::new(ClusterSource::new(router.clone(), &database)),
            router,
            database,
            id: stored.id,
            mac: stored.mac,
            loaded: RwLock::new(Loaded {
                catalog: stored.catalog,
                version: stored.version,
            }),
            write: Lua::new(WRITE),
            cas,
            drop: Lua::new(DROP),
            catalog_reads: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The database id cursors are bound to (stored with the catalog).
    pub fn database_id(&self) -> [u8; 8] {
        self.id
    }

    /// The cursor MAC key stored with the catalog.
    pub fn mac_key(&self) -> [u8; 32] {
        self.mac
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// Commands sent to the cluster so far (each one round trip).
    pub fn round_trips(&self) -> u64 {
        self.router.round_trips()
    }

    /// Round trips spent reading the catalog (every statement checks it,
    /// so that schema changes of other connections are seen).
    pub fn catalog_reads(&self) -> u64 {
        self.catalog_reads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Tries made again after a redirect or a failure.
    pub fn retries(&self) -> u64 {
        self.router.retries()
    }

    /// The slot and the node (as the slot map knows it now) of a shard.
    pub fn placement(&self, table: u32, shard: usize) -> (u16, Option<String>) {
        let slot = ShardKeys::new(&self.database, table, shard).slot();
        (slot, self.router.owner(slot))
    }

    /// The catalog as last read.
    pub fn catalog(&self) -> Catalog {
        self.loaded
            .read()
            .map(|l| l.catalog.clone())
            .unwrap_or_default()
    }

    /// Reads the catalog again (another connection may have changed it).
    pub fn refresh(&self) -> Result<(), ClusterError> {
        self.catalog_reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The version alone first: the catalog is read whole only when
        // another connection changed it.
        let key = catalog_key(&self.database);
        let mut cmd = redis::cmd("HGET");
        cmd.arg(&key).arg("version");
        let version = match self
            .router
            .call(slot::slot_of(&key), &cmd, None, Resend::Always)?
        {
            Value::BulkString(v) => std::str::from_utf8(&v).ok().and_then(|v| v.parse().ok()),
            _ => None,
        };
        let current = self.loaded.read().map(|l| l.version).ok();
        if version.is_some() && version == current {
            return Ok(());
        }
        let stored = read_catalog(&self.router, &self.database)?.ok_or_else(|| {
            ClusterError::NoDatabase {
                database: self.database.clone(),
                key: String::from_utf8_lossy(&catalog_key(&self.database)).into_owned(),
            }
        })?;
        if let Ok(mut loaded) = self.loaded.write() {
            if stored.version != loaded.version {
                *loaded = Loaded {
                    catalog: stored.catalog,
                    version: stored.version,
                };
            }
        }
        Ok(())
    }

    /// A read view of the tables as the catalog knows them now: every map
    /// is read from the cluster through its source.
    pub fn read_view(&self) -> Result<ReadView, ClusterError> {
        self.refresh()?;
        let source: Arc<dyn ChunkSource> = self.source.clone();
        Ok(Arc::new(StoreState::remote(self.catalog(), source)))
    }

    /// The source the executor reads the shards through.
    pub fn source(&self) -> &Arc<ClusterSource> {
        &self.source
    }

    /// Applies `change` to the catalog as stored now and stores the result
    /// if no one changed it meanwhile; tries again otherwise.
    fn change_catalog<R>(
        &self,
        mut change: impl FnMut(&mut Catalog) -> Result<R, ClusterError>,
    ) -> Result<R, ClusterError> {
        let key = catalog_key(&self.database);
        for _ in 0..DDL_ATTEMPTS {
            self.refresh()?;
            let (mut catalog, version) = match self.loaded.read() {
                Ok(l) => (l.catalog.clone(), l.version),
                Err(_) => (self.catalog(), 0),
            };
            let result = change(&mut catalog)?;
            let mut bytes = Vec::new();
            catalog.encode(&mut bytes);
            let set = run_cas(
                &self.router,
                &self.cas,
                &key,
                &version.to_string(),
                &bytes,
                version + 1,
                &self.mac,
                &self.id,
            )?;
            if set {
                if let Ok(mut loaded) = self.loaded.write() {
                    *loaded = Loaded {
                        catalog,
                        version: version + 1,
                    };
                }
                return Ok(result);
            }
        }
        Err(ClusterError::DdlContention {
            attempts: DDL_ATTEMPTS,
        })
    }

    /// Creates a table.
    pub fn create_table(&self, spec: &TableSpec) -> Result<Arc<TableDef>, ClusterError> {
        self.change_catalog(|catalog| {
            let def = catalog.resolve_table(spec)?;
            let name = def.name.clone();
            catalog.add_table(def);
            catalog
                .table(&name)
                .cloned()
                .ok_or_else(|| StoreError::UnknownTable { table: name }.into())
        })
    }

    /// Drops a table and deletes its keys from every shard.
    pub fn drop_table(&self, name: &str) -> Result<(), ClusterError> {
        let def = self.change_catalog(|catalog| {
            let def = catalog
                .table(name)
                .cloned()
                .ok_or_else(|| StoreError::UnknownTable {
                    table: name.to_owned(),
                })?;
            catalog.remove_table(def.id);
            Ok(def)
        })?;
        for shard in 0..def.shards as usize {
            let keys = ShardKeys::new(&self.database, def.id, shard);
            let mut doomed = vec![keys.refs(), keys.data(), keys.rows()];
            for index in &def.indexes {
                doomed.push(keys.index(index.id));
                doomed.push(keys.index_of_row(index.id));
            }
            self.run_drop(&keys, doomed, false)?;
        }
        Ok(())
    }

    /// Creates a secondary index and builds it over the rows present. A
    /// unique index must start with the table's partition column (so one
    /// shard decides it); one that rows already break is refused and
    /// removed again.
    pub fn create_index(&self, spec: &IndexSpec) -> Result<IndexDef, ClusterError> {
        let (def, index) = self.change_catalog(|catalog| {
            let (def, index) = catalog.resolve_index(spec)?;
            if index.unique && index.columns.first() != Some(&def.partition_column) {
                return Err(ClusterError::Unsupported(format!(
                    "unique index `{}` on cluster table `{}` must start with the partition \
                     column `{}`: only then does one shard (one atomic script) see every row \
                     that could hold the same value",
                    index.name,
                    def.name,
                    def.columns
                        .get(def.partition_column)
                        .map_or("?", |c| c.name.as_str())
                )));
            }
            let table = catalog.add_index(def.id, index.clone()).ok_or_else(|| {
                StoreError::UnknownTable {
                    table: def.name.clone(),
                }
            })?;
            Ok((table, index))
        })?;
        if let Err(e) = self.backfill(&def) {
            let _ = self.drop_index(&def.name, &index.name);
            return Err(e);
        }
        Ok(index)
    }

    /// Puts every row of `def` again, which writes its entries in the
    /// table's indexes (and checks unique ones).
    fn backfill(&self, def: &Arc<TableDef>) -> Result<(), ClusterError> {
        let catalog = self.catalog();
        for shard in 0..def.shards as usize {
            let at = keyset_store::MapAt {
                table: def.id,
                shard,
                map: MapId::Data,
            };
            let mut from: Option<bytes::Bytes> = None;
            loop {
                let lower = match &from {
                    Some(k) => std::ops::Bound::Excluded(&k[..]),
                    None => std::ops::Bound::Unbounded,
                };
                let chunk = self.source.chunk(
                    at,
                    lower,
                    std::ops::Bound::Unbounded,
                    keyset_store::Direction::Asc,
                    1000,
                )?;
                let Some((last, _)) = chunk.last() else {
                    break;
                };
                from = Some(last.clone());
                let mut batch = Batch::new();
                for (_, row) in &chunk {
                    batch.put(&def.name, row.values().to_vec());
                }
                write::commit(&self.router, &self.database, &self.write, &catalog, &batch)?;
                if chunk.len() < 1000 {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Drops a secondary index and deletes its entries.
    pub fn drop_index(&self, table: &str, index: &str) -> Result<(), ClusterError> {
        let (def, dropped) = self.change_catalog(|catalog| {
            let def = catalog
                .table(table)
                .cloned()
                .ok_or_else(|| StoreError::UnknownTable {
                    table: table.to_owned(),
                })?;
            let dropped =
                def.index_by_name(index)
                    .cloned()
                    .ok_or_else(|| StoreError::UnknownIndex {
                        table: def.name.clone(),
                        index: index.to_owned(),
                    })?;
            catalog.remove_index(def.id, dropped.id);
            Ok((def, dropped))
        })?;
        for shard in 0..def.shards as usize {
            let keys = ShardKeys::new(&self.database, def.id, shard);
            let doomed = vec![
                keys.refs(),
                keys.index(dropped.id),
                keys.index_of_row(dropped.id),
            ];
            self.run_drop(&keys, doomed, true)?;
        }
        Ok(())
    }

    fn run_drop(
        &self,
        keys: &ShardKeys,
        doomed: Vec<Vec<u8>>,
        index: bool,
    ) -> Result<(), ClusterError> {
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(&self.drop.sha);
        let mut eval = redis::cmd("EVAL");
        eval.arg(self.drop.text);
        for cmd in [&mut evalsha, &mut eval] {
            cmd.arg(doomed.len())
                .arg(&doomed)
                .arg(if index { "1" } else { "0" });
        }
        self.router
            .call(keys.slot(), &evalsha, Some(&eval), Resend::Always)?;
        Ok(())
    }

    /// Commits a batch: atomic per shard (see [`write`]). Returns the rows
    /// changed.
    pub fn commit(&self, batch: &Batch) -> Result<u64, ClusterError> {
        self.refresh()?;
        let catalog = self.catalog();
        write::commit(&self.router, &self.database, &self.write, &catalog, batch)
    }
}

/// A catalog as stored in the cluster.
struct Stored {
    catalog: Catalog,
    version: u64,
    mac: [u8; 32],
    id: [u8; 8],
}

fn read_catalog(router: &Router, database: &str) -> Result<Option<Stored>, ClusterError> {
    let key = catalog_key(database);
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(&key)
        .arg("catalog")
        .arg("version")
        .arg("mac")
        .arg("id");
    let answer = router.call(slot::slot_of(&key), &cmd, None, Resend::Always)?;
    let bad = |detail: &str| ClusterError::BadCatalog {
        database: database.to_owned(),
        detail: detail.to_owned(),
    };
    let Value::Array(fields) = answer else {
        return Err(bad("HMGET answered something that is not a list"));
    };
    let bytes = |v: Option<&Value>| match v {
        Some(Value::BulkString(b)) => Some(b.clone()),
        _ => None,
    };
    let (catalog, version, mac, id) = (
        bytes(fields.first()),
        bytes(fields.get(1)),
        bytes(fields.get(2)),
        bytes(fields.get(3)),
    );
    let (Some(catalog), Some(version)) = (catalog, version) else {
        return Ok(None);
    };
    let catalog = Catalog::decode(&mut Reader::new(&catalog))
        .map_err(|e| bad(&format!("the catalog does not decode: {e}")))?;
    let version = std::str::from_utf8(&version)
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("its version is not a number"))?;
    let mac: [u8; 32] = mac
        .and_then(|m| m.try_into().ok())
        .ok_or_else(|| bad("its MAC key is not 32 bytes"))?;
    let id: [u8; 8] = id
        .and_then(|m| m.try_into().ok())
        .ok_or_else(|| bad("its database id is not 8 bytes"))?;
    Ok(Some(Stored {
        catalog,
        version,
        mac,
        id,
    }))
}

#[allow(clippy::too_many_arguments)]
fn run_cas(
    router: &Router,
    script: &Lua,
    key: &[u8],
    expected: &str,
    catalog: &[u8],
    version: u64,
    mac: &[u8; 32],
    id: &[u8; 8],
) -> Result<bool, ClusterError> {
    let mut evalsha = redis::cmd("EVALSHA");
    evalsha.arg(&script.sha);
    let mut eval = redis::cmd("EVAL");
    eval.arg(script.text);
    for cmd in [&mut evalsha, &mut eval] {
        cmd.arg(1)
            .arg(key)
            .arg(expected)
            .arg(catalog)
            .arg(version.to_string())
            .arg(&mac[..])
            .arg(&id[..]);
    }
    let answer = router.call(slot::slot_of(key), &evalsha, Some(&eval), Resend::IfNotRun)?;
    Ok(matches!(answer, Value::Int(1)))
}
