//! A real Redis Cluster for one test: 3 masters and 3 replicas on loopback
//! ports from `scripts/cluster.sh`, stopped (its processes killed, its
//! directory removed) when the handle drops, a failing test's unwinding
//! included. Each test takes its own port base, so test binaries and tests
//! running in parallel never share a node.
//!
//! Without `redis-server` on the PATH a cluster test is skipped with one
//! line saying why, except under `CI=true`, where it fails: CI installs
//! Redis (`.ci/run`), so a missing server there is a broken CI.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Nodes of a test cluster: ports `base..base + NODES`.
pub const NODES: u16 = 6;

/// A running test cluster.
#[derive(Debug)]
pub struct TestCluster {
    pub base: u16,
    dir: PathBuf,
    script: PathBuf,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("cluster.sh")
}

/// Whether `redis-server` and `redis-cli` can be run.
pub fn redis_installed() -> bool {
    ["redis-server", "redis-cli"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

impl TestCluster {
    /// Starts a cluster on ports `base..base + 6`, or returns `None` (after
    /// printing why) when Redis is not installed outside CI.
    ///
    /// # Panics
    /// When Redis is missing under `CI=true`, or the cluster does not come
    /// up (its script's output is in the message).
    pub fn start(test: &str, base: u16) -> Option<TestCluster> {
        if !redis_installed() {
            let why = "redis-server is not installed (apt-get install -y redis-server)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{test}: {why}; CI must install it (see .ci/run)");
            }
            println!("{test}: skipped: {why}");
            return None;
        }
        let dir =
            std::env::temp_dir().join(format!("keyset-test-cluster-{base}-{}", std::process::id()));
        let cluster = TestCluster {
            base,
            dir,
            script: script(),
        };
        // A cluster left on these ports by a killed earlier run goes first.
        let _ = cluster.run("stop");
        let out = cluster.run("start");
        match out {
            Ok(out) if out.status.success() => Some(cluster),
            Ok(out) => panic!(
                "{test}: the cluster on ports {base}.. did not start:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => panic!("{test}: cannot run {}: {e}", cluster.script.display()),
        }
    }

    fn run(&self, action: &str) -> std::io::Result<std::process::Output> {
        Command::new("bash")
            .arg(&self.script)
            .arg(action)
            .env("KEYSET_CLUSTER_PORT", self.base.to_string())
            .env("KEYSET_CLUSTER_DIR", &self.dir)
            .env("KEYSET_CLUSTER_WAIT", "180")
            .output()
    }

    /// `redis://127.0.0.1:<first port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.base)
    }

    /// Every node's port.
    pub fn ports(&self) -> Vec<u16> {
        (self.base..self.base + NODES).collect()
    }

    /// `redis-cli -p port args...`, its output as text.
    pub fn cli(&self, port: u16, args: &[&str]) -> String {
        Command::new("redis-cli")
            .arg("-p")
            .arg(port.to_string())
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The pid of the node on `port`.
    pub fn pid(&self, port: u16) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(port.to_string()).join("redis.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    }

    /// The port of the master serving `slot`, as node `ask` sees it.
    pub fn master_of_slot(&self, slot: u16) -> Option<u16> {
        let nodes = self.cli(self.base, &["cluster", "nodes"]);
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let port = fields[1]
                .split('@')
                .next()
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| p.parse().ok());
            for range in &fields[8..] {
                let (lo, hi) = match range.split_once('-') {
                    Some((lo, hi)) => (lo.parse().ok(), hi.parse().ok()),
                    None => (range.parse().ok(), range.parse().ok()),
                };
                if let (Some(lo), Some(hi)) = (lo, hi) {
                    if (lo..=hi).contains(&slot) {
                        return port;
                    }
                }
            }
        }
        None
    }

    /// The node id of the node on `port`.
    pub fn node_id(&self, port: u16) -> String {
        self.cli(port, &["cluster", "myid"]).trim().to_owned()
    }

    /// The ports of the masters, as node `base` sees them.
    pub fn masters(&self) -> Vec<u16> {
        self.nodes_where(|flags, _| flags.contains("master") && !flags.contains("fail"))
    }

    /// The ports of the replicas of the master on `port`.
    pub fn replicas_of(&self, port: u16) -> Vec<u16> {
        let id = self.node_id(port);
        self.nodes_where(|flags, master| flags.contains("slave") && master == id)
    }

    fn nodes_where(&self, keep: impl Fn(&str, &str) -> bool) -> Vec<u16> {
        self.cli(self.base, &["cluster", "nodes"])
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() < 8 || !keep(fields[2], fields[3]) {
                    return None;
                }
                fields[1]
                    .split('@')
                    .next()
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.parse().ok())
            })
            .collect()
    }

    /// Polls `check` every 50 ms until it holds or `cap` passes.
    pub fn wait_until(&self, what: &str, cap: Duration, mut check: impl FnMut() -> bool) {
        let start = Instant::now();
        while !check() {
            assert!(
                start.elapsed() < cap,
                "gave up after {cap:?} waiting until {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every replica is linked to its master and has its
    /// master's whole replication stream.
    pub fn wait_replicated(&self) {
        for port in self.ports() {
            self.wait_until(
                &format!("node {port}'s replicas have caught up"),
                Duration::from_secs(120),
                || {
                    let info = self.cli(port, &["info", "replication"]);
                    if info.contains("role:slave") {
                        return info.contains("master_link_status:up");
                    }
                    let offset = field(&info, "master_repl_offset");
                    let replicas: Vec<&str> =
                        info.lines().filter(|l| l.starts_with("slave")).collect();
                    !replicas.is_empty()
                        && replicas.iter().all(|l| {
                            l.split(',')
                                .find_map(|kv| kv.strip_prefix("offset="))
                                .map(str::to_owned)
                                == offset
                        })
                },
            );
        }
    }

    /// Kills the node on `port` with SIGKILL.
    pub fn kill(&self, port: u16) {
        let pid = self.pid(port).expect("the node has a pid file");
        let status = Command::new("kill")
            .arg("-9")
            .arg(pid.to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -9 {pid} failed");
    }
}

fn field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let _ = self.run("stop");
    }
}
