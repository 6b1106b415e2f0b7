//! Sends commands to the node that owns a slot. Keeps the slot map (from
//! `CLUSTER SLOTS`) and a small pool of connections per node, follows
//! `MOVED` and `ASK` redirects, and rides out a failover: while a node
//! refuses connections or the cluster says it is down, the map is reloaded
//! and the command tried again with a growing pause, until the retry window
//! ends. Then the command fails with `SourceError::NodeDown` naming the
//! node. Every command sent counts as one round trip.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use keyset_store::SourceError;
use redis::{Cmd, ErrorKind, RedisError, Value};

use crate::error::ClusterError;
use crate::slot::SLOTS;

/// Most idle connections kept per node.
const POOL_PER_NODE: usize = 16;
/// The first pause between two tries while a slot has no reachable owner.
const FIRST_PAUSE: Duration = Duration::from_millis(25);
/// The longest pause between two tries.
const MAX_PAUSE: Duration = Duration::from_millis(500);
/// Redirects followed for one command before it is refused (a slot that
/// moves this often is being resharded in a loop).
const MAX_REDIRECTS: usize = 16;

/// Whether a command may be sent again after a failure whose outcome is
/// unknown (the connection broke after it was sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend {
    /// Reads: sending again changes nothing.
    Always,
    /// Writes: only when the command surely did not run (a refused
    /// connection, a redirect, `TRYAGAIN`, `CLUSTERDOWN`).
    IfNotRun,
}

/// The slot map: which node serves each slot.
#[derive(Debug, Default)]
struct Topology {
    nodes: Vec<String>,
    /// Index into `nodes` per slot (`u16::MAX`: no owner known).
    owners: Vec<u16>,
}

impl Topology {
    fn owner(&self, slot: u16) -> Option<&str> {
        let at = *self.owners.get(usize::from(slot))?;
        self.nodes.get(usize::from(at)).map(String::as_str)
    }
}

/// Connections, slot map and counters of one cluster.
pub struct Router {
    seeds: Vec<String>,
    topology: RwLock<Topology>,
    pool: Mutex<HashMap<String, Vec<redis::Connection>>>,
    connect_timeout: Duration,
    io_timeout: Duration,
    retry_window: Duration,
    round_trips: AtomicU64,
    retries: AtomicU64,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("seeds", &self.seeds)
            .field("round_trips", &self.round_trips())
            .finish()
    }
}

/// How one try ended.
enum Failure {
    /// Sent elsewhere now (MOVED, or ASK for this one command).
    Redirect { node: String, ask: bool },
    /// The node could not be reached, or the cluster cannot serve the slot
    /// right now: try again after a pause. `ran` says whether the command
    /// may have run.
    Transient { detail: String, ran: bool },
    /// The node refused the command: no retry helps.
    Fatal(RedisError),
}

impl Router {
    /// A router over the nodes `seeds` (`host:port`), with the slot map
    /// loaded from the first that answers.
    pub fn connect(
        seeds: Vec<String>,
        connect_timeout: Duration,
        retry_window: Duration,
    ) -> Result<Router, ClusterError> {
        let router = Router {
            seeds,
            topology: RwLock::new(Topology::default()),
            pool: Mutex::new(HashMap::new()),
            connect_timeout,
            io_timeout: connect_timeout.max(Duration::from_secs(2)),
            retry_window,
            round_trips: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        };
        router.refresh_strict()?;
        Ok(router)
    }

    /// Commands sent so far (each one round trip).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Tries that failed and were made again (redirects, failovers).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// The node serving `slot` now, as far as the map knows.
    pub fn owner(&self, slot: u16) -> Option<String> {
        self.topology
            .read()
            .ok()
            .and_then(|t| t.owner(slot).map(str::to_owned))
    }

    /// Loads the slot map from the seeds, failing with the reason the
    /// first seed gave when none can serve it (not a cluster, unreachable).
    fn refresh_strict(&self) -> Result<(), ClusterError> {
        let mut first: Option<ClusterError> = None;
        for seed in &self.seeds {
            match self.load_slots(seed) {
                Ok(topology) => {
                    self.install(topology);
                    return Ok(());
                }
                Err(e) => {
                    if first.is_none() {
                        first = Some(e);
                    }
                }
            }
        }
        Err(first.unwrap_or_else(|| ClusterError::BadUrl {
            url: String::new(),
            why: "no node address given".into(),
        }))
    }

    /// Reloads the slot map from any node that answers (known nodes first,
    /// then the seeds); keeps the old map when none does.
    fn refresh(&self) {
        let mut candidates: Vec<String> = self
            .topology
            .read()
            .map(|t| t.nodes.clone())
            .unwrap_or_default();
        candidates.extend(self.seeds.iter().cloned());
        for node in candidates {
            if let Ok(topology) = self.load_slots(&node) {
                self.install(topology);
                return;
            }
        }
    }

    fn install(&self, topology: Topology) {
        if let Ok(mut current) = self.topology.write() {
            *current = topology;
        }
    }

    fn load_slots(&self, node: &str) -> Result<Topology, ClusterError> {
        let mut conn = self.open(node).map_err(|e| ClusterError::Unreachable {
            node: node.to_owned(),
            detail: e.to_string(),
        })?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let answer: Value = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query(&mut conn)
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("cluster support disabled") {
                    ClusterError::NotCluster {
                        node: node.to_owned(),
                    }
                } else {
                    ClusterError::Unreachable {
                        node: node.to_owned(),
                        detail: text,
                    }
                }
            })?;
        let topology = parse_slots(&answer, node)?;
        self.give_back(node, conn);
        Ok(topology)
    }

    fn open(&self, node: &str) -> Result<redis::Connection, RedisError> {
        let client = redis::Client::open(format!("redis://{node}/"))?;
        let conn = client.get_connection_with_timeout(self.connect_timeout)?;
        conn.set_read_timeout(Some(self.io_timeout))?;
        conn.set_write_timeout(Some(self.io_timeout))?;
        Ok(conn)
    }

    fn take(&self, node: &str) -> Result<redis::Connection, RedisError> {
        let pooled = self
            .pool
            .lock()
            .ok()
            .and_then(|mut pool| pool.get_mut(node).and_then(Vec::pop));
        match pooled {
            Some(conn) => Ok(conn),
            None => self.open(node),
        }
    }

    fn give_back(&self, node: &str, conn: redis::Connection) {
        if let Ok(mut pool) = self.pool.lock() {
            let idle = pool.entry(node.to_owned()).or_default();
            if idle.len() < POOL_PER_NODE {
                idle.push(conn);
            }
        }
    }

    /// Drops every idle connection to `node` (it failed: they are stale).
    fn forget(&self, node: &str) {
        if let Ok(mut pool) = self.pool.lock() {
            pool.remove(node);
        }
    }

    /// One try of `cmd` on `node`.
    fn try_once(&self, node: &str, cmd: &Cmd, ask: bool) -> Result<Value, Failure> {
        let mut conn = self.take(node).map_err(|e| Failure::Transient {
            detail: e.to_string(),
            ran: false,
        })?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let result = if ask {
            let mut pipe = redis::pipe();
            pipe.cmd("ASKING").ignore().add_command(cmd.clone());
            pipe.query::<Vec<Value>>(&mut conn)
                .map(|mut values| values.pop().unwrap_or(Value::Nil))
        } else {
            cmd.query::<Value>(&mut conn)
        };
        match result {
            Ok(value) => {
                self.give_back(node, conn);
                Ok(value)
            }
            Err(e) => {
                let failure = classify(e);
                match &failure {
                    Failure::Transient { ran: true, .. } => self.forget(node),
                    _ => self.give_back(node, conn),
                }
                Err(failure)
            }
        }
    }

    /// Sends `cmd` (whose keys are in `slot`) to the slot's owner,
    /// following redirects and riding out failovers for the retry window.
    ///
    /// `fallback` replaces `cmd` when the node does not know the script
    /// `cmd` runs by its SHA (`NOSCRIPT`): the same script sent whole.
    pub fn call(
        &self,
        slot: u16,
        cmd: &Cmd,
        fallback: Option<&Cmd>,
        resend: Resend,
    ) -> Result<Value, SourceError> {
        let mut cmd = cmd;
        let deadline = Instant::now() + self.retry_window;
        let mut pause = FIRST_PAUSE;
        let mut redirects = 0;
        let mut ask: Option<String> = None;
        loop {
            let node = match ask.clone().or_else(|| self.owner(slot)) {
                Some(node) => node,
                None => {
                    self.refresh();
                    match self.owner(slot) {
                        Some(node) => node,
                        None => {
                            return Err(SourceError::NodeDown {
                                node: "<no node serves the slot>".into(),
                                slot,
                                detail: "the cluster's slot map has no owner for it".into(),
                            })
                        }
                    }
                }
            };
            let asking = ask.take().is_some();
            let failure = match self.try_once(&node, cmd, asking) {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            self.retries.fetch_add(1, Ordering::Relaxed);
            match failure {
                Failure::Redirect {
                    node: to,
                    ask: true,
                } => {
                    redirects += 1;
                    ask = Some(to);
                }
                Failure::Redirect { .. } => {
                    redirects += 1;
                    self.refresh();
                }
                Failure::Transient { detail, ran } => {
                    if ran && resend == Resend::IfNotRun {
                        return Err(SourceError::Other(format!(
                            "the connection to cluster node {node} broke after a write was \
                             sent to it (slot {slot}): whether it applied is unknown ({detail})"
                        )));
                    }
                    if Instant::now() + pause > deadline {
                        return Err(SourceError::NodeDown { node, slot, detail });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(MAX_PAUSE);
                    self.refresh();
                }
                Failure::Fatal(e) if e.kind() == ErrorKind::NoScriptError && fallback.is_some() => {
                    if let Some(whole) = fallback {
                        cmd = whole;
                    }
                }
                Failure::Fatal(e) => {
                    return Err(SourceError::Other(format!(
                        "cluster node {node} refused a command for slot {slot}: {e}"
                    )))
                }
            }
            if redirects > MAX_REDIRECTS {
                return Err(SourceError::Other(format!(
                    "slot {slot} was redirected more than {MAX_REDIRECTS} times in a row"
                )));
            }
        }
    }
}

fn classify(e: RedisError) -> Failure {
    match e.kind() {
        ErrorKind::Moved | ErrorKind::Ask => match e.redirect_node() {
            Some((to, _)) => Failure::Redirect {
                node: to.to_owned(),
                ask: e.kind() == ErrorKind::Ask,
            },
            None => Failure::Fatal(e),
        },
        ErrorKind::TryAgain
        | ErrorKind::ClusterDown
        | ErrorKind::MasterDown
        | ErrorKind::BusyLoadingError
        | ErrorKind::ReadOnly => Failure::Transient {
            detail: e.to_string(),
            ran: false,
        },
        _ if e.is_connection_refusal() => Failure::Transient {
            detail: e.to_string(),
            ran: false,
        },
        _ if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => Failure::Transient {
            detail: e.to_string(),
            ran: true,
        },
        _ => Failure::Fatal(e),
    }
}

/// The slot map of a `CLUSTER SLOTS` answer.
fn parse_slots(answer: &Value, node: &str) -> Result<Topology, ClusterError> {
    let bad = |why: &str| ClusterError::NotCluster {
        node: format!("{node} ({why})"),
    };
    let Value::Array(ranges) = answer else {
        return Err(bad("CLUSTER SLOTS answered something that is not a list"));
    };
    let mut topology = Topology {
        nodes: Vec::new(),
        owners: vec![u16::MAX; usize::from(SLOTS)],
    };
    for range in ranges {
        let Value::Array(parts) = range else {
            return Err(bad("a slot range is not a list"));
        };
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
            (parts.first(), parts.get(1), parts.get(2))
        else {
            return Err(bad("a slot range lacks its bounds or master"));
        };
        let host = match master.first() {
            Some(Value::BulkString(b)) if !b.is_empty() => String::from_utf8_lossy(b).into_owned(),
            // An empty host means "the address you reached me at".
            _ => node.rsplit_once(':').map_or(node, |(h, _)| h).to_owned(),
        };
        let Some(Value::Int(port)) = master.get(1) else {
            return Err(bad("a master without a port"));
        };
        let address = format!("{host}:{port}");
        let at = match topology.nodes.iter().position(|n| *n == address) {
            Some(at) => at,
            None => {
                topology.nodes.push(address);
                topology.nodes.len() - 1
            }
        };
        let at = u16::try_from(at).map_err(|_| bad("more nodes than slots"))?;
        let (Ok(start), Ok(end)) = (usize::try_from(*start), usize::try_from(*end)) else {
            return Err(bad("a negative slot"));
        };
        for slot in start..=end.min(usize::from(SLOTS) - 1) {
            if let Some(owner) = topology.owners.get_mut(slot) {
                *owner = at;
            }
        }
    }
    Ok(topology)
}
