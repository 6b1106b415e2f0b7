//! `keyset demo --cluster`: the same traversal over shards held in a Redis
//! Cluster, with a failover in the middle. It starts its own cluster (3
//! masters, 3 replicas) with `scripts/cluster.sh` on ports from
//! `KEYSET_DEMO_CLUSTER_PORT` (default 7700), pages through a table,
//! SIGKILLs the master of a shard between two pages, and checks that the
//! traversal still reads every row exactly once. Without `redis-server` it
//! says how to install it and stops.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use keyset::{ClusterOptions, Cursor, Db, Options};

use super::show::Show;
use crate::error::CliError;

const ROWS: i64 = 2_000;
const PAGE: usize = 250;

fn installed() -> bool {
    ["redis-server", "redis-cli"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The demo's cluster, stopped when dropped.
struct Nodes {
    script: PathBuf,
    port: u16,
    dir: PathBuf,
}

impl Nodes {
    fn run(&self, action: &str) -> Result<std::process::Output, CliError> {
        Command::new("bash")
            .arg(&self.script)
            .arg(action)
            .env("KEYSET_CLUSTER_PORT", self.port.to_string())
            .env("KEYSET_CLUSTER_DIR", &self.dir)
            .output()
            .map_err(|e| CliError::file(&self.script, e))
    }

    fn cli(&self, port: u16, args: &[&str]) -> String {
        Command::new("redis-cli")
            .arg("-p")
            .arg(port.to_string())
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The port of the master serving `slot`.
    fn master_of(&self, slot: u16) -> Option<u16> {
        self.cli(self.port, &["cluster", "nodes"]).lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                return None;
            }
            let serves = fields[8..].iter().any(|range| {
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                matches!((lo.parse::<u16>(), hi.parse::<u16>()), (Ok(lo), Ok(hi)) if (lo..=hi).contains(&slot))
            });
            if !serves {
                return None;
            }
            fields[1].split('@').next()?.rsplit(':').next()?.parse().ok()
        })
    }

    /// Waits until every replica holds its master's whole stream.
    fn wait_replicated(&self) -> Result<(), CliError> {
        let started = Instant::now();
        for port in self.port..self.port + 6 {
            loop {
                let info = self.cli(port, &["info", "replication"]);
                let offset = info
                    .lines()
                    .find_map(|l| l.strip_prefix("master_repl_offset:"))
                    .map(str::trim);
                let replicas: Vec<&str> = info.lines().filter(|l| l.starts_with("slave")).collect();
                let done = info.contains("role:slave")
                    || (!replicas.is_empty()
                        && replicas.iter().all(|l| {
                            l.split(',').find_map(|kv| kv.strip_prefix("offset=")) == offset
                        }));
                if done {
                    break;
                }
                if started.elapsed() > Duration::from_secs(120) {
                    return Err(CliError::Usage(
                        "the demo cluster's replicas did not catch up within 120 s".into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let _ = self.run("stop");
    }
}

pub fn run(out: &mut dyn Write) -> Result<ExitCode, CliError> {
    writeln!(
        out,
        "keyset demo --cluster: a traversal over a Redis Cluster, with a failover in the middle"
    )?;
    if !installed() {
        writeln!(
            out,
            "redis-server is not installed, so there is no cluster to show. Install it \
             (Debian: apt-get install -y redis-server) and run `keyset demo --cluster` again."
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cluster.sh");
    if !script.exists() {
        return Err(CliError::Usage(format!(
            "the demo starts its cluster with {}, which is not there (run it from a keyset checkout)",
            script.display()
        )));
    }
    let port: u16 = std::env::var("KEYSET_DEMO_CLUSTER_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(7700);
    let nodes = Nodes {
        script,
        port,
        dir: std::env::temp_dir()
            .join(format!("keyset-demo-cluster-{port}-{}", std::process::id())),
    };
    let _ = nodes.run("stop");
    let started = nodes.run("start")?;
    if !started.status.success() {
        return Err(CliError::Usage(format!(
            "the demo cluster did not start: {}",
            String::from_utf8_lossy(&started.stderr).trim()
        )));
    }
    let url = format!("redis://127.0.0.1:{port}");
    writeln!(
        out,
        "started 3 masters + 3 replicas: {url} (ports {port}-{})",
        port + 5
    )?;
    let cluster = ClusterOptions {
        create: true,
        ..ClusterOptions::default()
    };
    let db = Db::connect_with(&[&url], Options::default(), &cluster)?;
    let mut show = Show::new(&db, out);
    show.heading(
        "A table in the cluster",
        "8 shards, each pinned to one hash slot; the cluster spreads the slots over its masters.",
    )?;
    let create = "CREATE TABLE orders (id INT PRIMARY KEY, note TEXT) WITH (shards = 8)";
    show.sql(create)?;
    db.execute(create)?;
    let mut batch = db.batch();
    for id in 0..ROWS {
        batch = batch.put("orders", vec![id.into(), format!("order {id}").into()]);
    }
    batch.commit()?;
    show.say(&format!(
        "  loaded {ROWS} rows (each shard's part of the batch atomic)"
    ))?;
    let sql = format!("SELECT * FROM orders ORDER BY id LIMIT {PAGE}");
    show.plan(&sql)?;
    nodes.wait_replicated()?;

    show.heading(
        "A failover in the middle of a traversal",
        "Two pages, then the master holding shard 0 is killed with SIGKILL; the traversal \
         goes on with the cursor it holds, riding out the failover until the replica is promoted.",
    )?;
    let handle = db
        .cluster()
        .cloned()
        .ok_or_else(|| CliError::Usage("the demo database is not held in the cluster".into()))?;
    let def = db
        .table("orders")
        .ok_or_else(|| CliError::Usage("the orders table vanished".into()))?;
    let (slot, _) = handle.placement(def.id, 0);
    let mut seen: Vec<i64> = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    let mut killed = None;
    loop {
        if pages == 2 && killed.is_none() {
            let victim = nodes
                .master_of(slot)
                .ok_or_else(|| CliError::Usage(format!("no master serves slot {slot}")))?;
            let pid = std::fs::read_to_string(nodes.dir.join(victim.to_string()).join("redis.pid"))
                .map_err(|e| CliError::file(nodes.dir.join(victim.to_string()), e))?;
            Command::new("kill")
                .args(["-9", pid.trim()])
                .status()
                .map_err(|e| CliError::file("kill", e))?;
            show.say(&format!(
                "  killed the master of slot {slot} (port {victim}, pid {})",
                pid.trim()
            ))?;
            killed = Some((victim, Instant::now()));
        }
        let started = Instant::now();
        let page = db.query(&sql, cursor.as_ref())?;
        pages += 1;
        let ids: Vec<i64> = page
            .rows()
            .iter()
            .map(|r| r.get::<i64>("id"))
            .collect::<Result<_, _>>()?;
        show.say(&format!(
            "  page {pages}: ids {}..={} ({} rows) in {:.1} ms",
            ids.first().copied().unwrap_or(-1),
            ids.last().copied().unwrap_or(-1),
            ids.len(),
            started.elapsed().as_secs_f64() * 1e3
        ))?;
        seen.extend(ids);
        cursor = page.next_cursor().cloned();
        if cursor.is_none() {
            break;
        }
    }
    let expected: Vec<i64> = (0..ROWS).collect();
    show.check(
        seen == expected,
        "every row exactly once, in order, across the failover",
    )?;
    if let Some((victim, at)) = killed {
        let now = nodes.master_of(slot);
        show.check(
            now.is_some() && now != Some(victim),
            &format!(
                "a replica serves slot {slot} now (port {}), {:.1} s after the kill; {} commands were retried",
                now.map_or_else(|| "?".into(), |p| p.to_string()),
                at.elapsed().as_secs_f64(),
                handle.retries()
            ),
        )?;
    }
    let failures = show.failures();
    drop(nodes);
    if failures > 0 {
        return Err(CliError::DemoCheck(failures));
    }
    Ok(ExitCode::SUCCESS)
}
