//! keyset over a real Redis Cluster (3 masters, 3 replicas on loopback, one
//! cluster per test, each on its own ports): the same pages as the local
//! store on 1, 4 and 16 shards, round trips per page, two handles in
//! threads, a master killed in the middle of a traversal, bad input, and
//! what a cluster table refuses. Skipped (one line) without redis-server,
//! failed without it under CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::time::Duration;

use keyset::{Cursor, Db, Error, ExecError, Options, Outcome, Page};
use keyset_cluster::{ClusterError, ClusterOptions};
use keyset_store::SourceError;
use keyset_tests::redis_cluster::TestCluster;

/// Ports of this binary's clusters: 21000 + 10 per test.
const BASE: u16 = 21000;

fn create(url: &str) -> Db {
    let options = ClusterOptions {
        create: true,
        ..ClusterOptions::default()
    };
    Db::connect_with(&[url], Options::default(), &options).expect("the database is created")
}

/// A row of the test table: deterministic, with duplicates and NULLs.
fn row(id: i64) -> String {
    let city = if id % 11 == 0 {
        "NULL".to_owned()
    } else {
        format!("'c{}'", (id * 7) % 5)
    };
    let tag = ["red", "green", "blue"][(id % 3) as usize];
    format!("({id}, {city}, {}, '{tag}')", (id * 13) % 70)
}

fn fill(db: &Db, table: &str, shards: u32, rows: i64) {
    db.execute(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, city TEXT, age INT, tag TEXT) \
         WITH (shards = {shards})"
    ))
    .unwrap();
    for ddl in [
        "CREATE INDEX {t}_city ON {t} (city)",
        "CREATE INDEX {t}_age ON {t} (age)",
        "CREATE INDEX {t}_tag ON {t} (tag)",
        "CREATE INDEX {t}_city_age ON {t} (city, age)",
    ] {
        db.execute(&ddl.replace("{t}", table)).unwrap();
    }
    let ids: Vec<i64> = (0..rows).collect();
    for chunk in ids.chunks(50) {
        let values: Vec<String> = chunk.iter().map(|&id| row(id)).collect();
        db.execute(&format!("INSERT INTO {table} VALUES {}", values.join(", ")))
            .unwrap();
    }
}

fn queries(t: &str) -> Vec<String> {
    [
        "SELECT * FROM {t} ORDER BY id LIMIT 7",
        "SELECT * FROM {t} ORDER BY id DESC LIMIT 10",
        "SELECT * FROM {t} WHERE city = 'c3' ORDER BY age LIMIT 5",
        "SELECT * FROM {t} WHERE city = 'c3' ORDER BY age DESC LIMIT 4",
        "SELECT * FROM {t} WHERE age >= 20 AND age < 60 ORDER BY age DESC LIMIT 9",
        "SELECT * FROM {t} WHERE city = 'c1' OR city = 'c2' LIMIT 8",
        "SELECT * FROM {t} WHERE tag = 'red' AND age = 26 LIMIT 3",
        "SELECT * FROM {t} WHERE tag = 'red' AND city = 'c4' LIMIT 6",
        "SELECT * FROM {t} WHERE age > 10 ORDER BY id LIMIT 12 WITH (merge = 'eager')",
        "SELECT * FROM {t} ORDER BY id LIMIT 12 WITH (max_examined = 5)",
        "SELECT * FROM {t} WHERE age > 10 ORDER BY id LIMIT 12 WITH (max_examined = 5)",
        "SELECT * FROM {t} WHERE city = 'c2' ORDER BY tag DESC, age LIMIT 8",
        "SELECT * FROM {t} WHERE city = 'c1' OR tag = 'red' LIMIT 9 WITH (max_examined = 4)",
        "SELECT * FROM {t} WHERE id > 40 ORDER BY id DESC LIMIT 11 OFFSET 3",
        // Primary-key gets: the embedded point path must not serve them.
        "SELECT * FROM {t} WHERE id = 17",
        "SELECT * FROM {t} WHERE id = 99999",
    ]
    .iter()
    .map(|q| q.replace("{t}", t))
    .collect()
}

fn ids(page: &Page) -> Vec<i64> {
    page.rows()
        .iter()
        .map(|r| r.get::<i64>("id").unwrap())
        .collect()
}

/// Every page of `sql` forward, then back from the last page with `prev`
/// cursors: the ids of each page, in order.
fn walk(db: &Db, sql: &str) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let mut forward = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut last: Option<Page> = None;
    let mut last_with_rows: Option<Page> = None;
    for _ in 0..10_000 {
        let page = db.query(sql, cursor.as_ref()).unwrap();
        forward.push(ids(&page));
        cursor = page.next_cursor().cloned();
        if !page.is_empty() {
            last_with_rows = Some(page.clone());
        }
        last = Some(page);
        if cursor.is_none() {
            break;
        }
    }
    let mut backward = Vec::new();
    // A budget may end a traversal with an empty page, which has no row
    // to go back from: go back from the last page that has rows.
    let _ = last;
    let mut prev = last_with_rows.and_then(|p| p.prev_cursor().cloned());
    for _ in 0..10_000 {
        let Some(c) = prev else { break };
        let page = db.query(sql, Some(&c)).unwrap();
        backward.push(ids(&page));
        prev = page.prev_cursor().cloned();
    }
    (forward, backward)
}

#[test]
fn cluster_pages_match_the_local_store_on_1_4_and_16_shards() {
    let Some(cluster) = TestCluster::start("cluster_pages_match", BASE) else {
        return;
    };
    let remote = create(&cluster.url());
    let local = Db::memory().unwrap();
    let mut pages = 0;
    for shards in [1, 4, 16] {
        let table = format!("t{shards}");
        fill(&remote, &table, shards, 300);
        fill(&local, &table, shards, 300);
        for sql in queries(&table) {
            let (fwd_remote, back_remote) = walk(&remote, &sql);
            let (fwd_local, back_local) = walk(&local, &sql);
            if sql.contains("max_examined") {
                // A budget may cut pages at other places (a remote range
                // learns it is drained one chunk later); the rows are the
                // same, in the same order.
                let flat = |p: &Vec<Vec<i64>>| p.iter().flatten().copied().collect::<Vec<_>>();
                assert_eq!(flat(&fwd_remote), flat(&fwd_local), "forward rows of {sql}");
                // Going back from the last page with rows gives every row
                // before it, once, in order.
                for (forward, backward) in [(&fwd_remote, &back_remote), (&fwd_local, &back_local)]
                {
                    let mut pages = backward.clone();
                    pages.reverse();
                    pages.extend(forward.iter().rev().find(|p| !p.is_empty()).cloned());
                    assert_eq!(flat(&pages), flat(forward), "backward rows of {sql}");
                }
            } else {
                assert_eq!(fwd_remote, fwd_local, "forward pages of {sql}");
                assert_eq!(back_remote, back_local, "backward pages of {sql}");
            }
            let all: Vec<i64> = fwd_remote.iter().flatten().copied().collect();
            let distinct: HashSet<i64> = all.iter().copied().collect();
            assert_eq!(all.len(), distinct.len(), "no row twice in {sql}");
            pages += fwd_remote.len();
        }
        // The unordered merge promises no order: the same rows, each once.
        let sql =
            format!("SELECT * FROM {table} WHERE age > 10 LIMIT 13 WITH (merge = 'unordered')");
        let (remote_pages, _) = walk(&remote, &sql);
        let (local_pages, _) = walk(&local, &sql);
        let mut a: Vec<i64> = remote_pages.into_iter().flatten().collect();
        let mut b: Vec<i64> = local_pages.into_iter().flatten().collect();
        assert_eq!(a.len(), a.iter().collect::<HashSet<_>>().len());
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "the unordered merge's rows on {shards} shards");
        // Writes through SQL change both alike.
        for db in [&remote, &local] {
            db.execute(&format!(
                "UPDATE {table} SET age = age + 1 WHERE city = 'c2'"
            ))
            .unwrap();
            db.execute(&format!(
                "DELETE FROM {table} WHERE tag = 'blue' AND age < 30"
            ))
            .unwrap();
        }
        let all = format!("SELECT * FROM {table} ORDER BY id LIMIT 50");
        assert_eq!(
            walk(&remote, &all),
            walk(&local, &all),
            "after UPDATE and DELETE"
        );
    }
    assert!(pages > 100, "the walks were not trivial: {pages} pages");
}

#[test]
fn an_ordered_page_of_100_over_16_shards_needs_at_most_2_round_trips_per_shard() {
    let Some(cluster) = TestCluster::start("round_trips", BASE + 10) else {
        return;
    };
    let db = create(&cluster.url());
    fill(&db, "t", 16, 3000);
    let handle = db.cluster().unwrap().clone();
    let sql = "SELECT * FROM t ORDER BY id LIMIT 100";
    // The first run loads the scripts on the nodes.
    let first = db.query(sql, None).unwrap();
    let mut cursor = first.next_cursor().cloned();
    for _ in 0..5 {
        let before = handle.round_trips() - handle.catalog_reads();
        let page = db.query(sql, cursor.as_ref()).unwrap();
        let trips = handle.round_trips() - handle.catalog_reads() - before;
        assert_eq!(page.len(), 100);
        // Besides reading the catalog, only chunks.
        assert!(
            trips <= 2 * 16,
            "a page of 100 over 16 shards took {trips} round trips"
        );
        cursor = page.next_cursor().cloned();
    }
    // EXPLAIN names the slots and nodes: one for partition equality.
    let one = db.explain("SELECT * FROM t WHERE id = 77").unwrap();
    assert!(one.contains("cluster: 1 slot(s) on 1 node(s)"), "{one}");
    let all = db.explain("SELECT * FROM t ORDER BY id LIMIT 100").unwrap();
    assert!(all.contains("cluster: 16 slot(s) on 3 node(s)"), "{all}");
    // A partition-equality query touches one shard: one chunk.
    let before = handle.round_trips() - handle.catalog_reads();
    let page = db.query("SELECT * FROM t WHERE id = 77", None).unwrap();
    assert_eq!(ids(&page), vec![77]);
    assert_eq!(handle.round_trips() - handle.catalog_reads() - before, 1);
    // So does a prepared get with a parameter (never the local maps).
    let get = db.prepare("SELECT * FROM t WHERE id = ?").unwrap();
    let page = get.query(keyset::params![78], None).unwrap();
    assert_eq!(ids(&page), vec![78]);
}

fn message(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[test]
fn bad_input_gives_clear_errors() {
    let Some(cluster) = TestCluster::start("bad_input", BASE + 20) else {
        return;
    };
    // Not a URL keyset takes.
    let e = Db::connect("http://127.0.0.1:1").unwrap_err();
    assert!(
        matches!(e, Error::Cluster(ClusterError::BadUrl { .. })),
        "{e}"
    );
    assert!(message(&e).contains("redis://"), "{e}");
    let e = Db::connect("redis://127.0.0.1:notaport").unwrap_err();
    assert!(message(&e).contains("port"), "{e}");
    // Nothing listens there.
    let e = Db::connect("redis://127.0.0.1:1").unwrap_err();
    assert!(
        matches!(e, Error::Cluster(ClusterError::Unreachable { .. })),
        "{e}"
    );
    assert!(message(&e).contains("127.0.0.1:1"), "{e}");
    // A Redis server that is not a cluster node.
    let plain = BASE + 29;
    let dir = std::env::temp_dir().join(format!("keyset-plain-{plain}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Kill(
        std::process::Command::new("redis-server")
            .args(["--port", &plain.to_string(), "--save", "", "--dir"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    cluster.wait_until("the plain server answers", Duration::from_secs(60), || {
        cluster.cli(plain, &["ping"]).contains("PONG")
    });
    let e = Db::connect(&format!("redis://127.0.0.1:{plain}")).unwrap_err();
    assert!(
        matches!(e, Error::Cluster(ClusterError::NotCluster { .. })),
        "{e}"
    );
    assert!(message(&e).contains("not a cluster node"), "{e}");
    // A cluster without the database's catalog.
    let e = Db::connect(&cluster.url()).unwrap_err();
    assert!(
        matches!(e, Error::Cluster(ClusterError::NoDatabase { .. })),
        "{e}"
    );
    assert!(message(&e).contains("create"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_a_cluster_table_refuses_it_refuses_with_the_reason() {
    let Some(cluster) = TestCluster::start("refusals", BASE + 50) else {
        return;
    };
    let db = create(&cluster.url());
    db.execute("CREATE TABLE u (region TEXT, id INT, email TEXT, PRIMARY KEY (region, id)) WITH (shards = 8)")
        .unwrap();
    // A unique index that does not start with the partition column.
    let e = db
        .execute("CREATE UNIQUE INDEX by_email ON u (email)")
        .unwrap_err();
    assert!(message(&e).contains("partition column"), "{e}");
    db.execute("CREATE UNIQUE INDEX by_region_email ON u (region, email)")
        .unwrap();
    db.execute("INSERT INTO u VALUES ('eu', 1, 'a@x'), ('eu', 2, 'b@x'), ('us', 3, 'a@x')")
        .unwrap();
    let e = db
        .execute("INSERT INTO u VALUES ('eu', 9, 'a@x')")
        .unwrap_err();
    assert!(message(&e).contains("by_region_email"), "{e}");
    // INSERT of an existing key is refused, and nothing of its shard applies.
    let e = db
        .execute("INSERT INTO u VALUES ('eu', 5, 'c@x'), ('eu', 1, 'z@x')")
        .unwrap_err();
    assert!(message(&e).contains("already has a row"), "{e}");
    let page = db
        .query("SELECT * FROM u WHERE region = 'eu' AND id = 5", None)
        .unwrap();
    assert!(
        page.is_empty(),
        "the shard's part of a refused batch applied"
    );
    // A batch over shards: the shards that could, committed, and it says so.
    let e = db
        .execute("INSERT INTO u VALUES ('zz', 7, 'q@x'), ('eu', 2, 'dup@x')")
        .unwrap_err();
    let text = message(&e);
    assert!(
        text.contains("applied in part") && text.contains("already has a row"),
        "{text}"
    );
    // Snapshots and transactions.
    let e = db
        .query(
            "SELECT * FROM u LIMIT 2 WITH (consistency = 'snapshot')",
            None,
        )
        .unwrap_err();
    assert!(message(&e).contains("Redis keeps no old versions"), "{e}");
    assert!(db.snapshot().query("SELECT * FROM u", None).is_err());
    assert!(message(db.begin().unwrap_err()).contains("transaction"));
    // Another handle sees the schema the first one made.
    let other = Db::connect(&cluster.url()).unwrap();
    assert_eq!(other.table_names(), vec!["u".to_owned()]);
    let Outcome::Changed(n) = other.execute("DELETE FROM u WHERE region = 'us'").unwrap() else {
        panic!("DELETE changes rows")
    };
    assert_eq!(n, 1);
}

#[test]
fn two_handles_in_threads_write_and_page_the_same_table() {
    let Some(cluster) = TestCluster::start("two_handles", BASE + 30) else {
        return;
    };
    let first = create(&cluster.url());
    first
        .execute("CREATE TABLE t (id INT PRIMARY KEY, w INT) WITH (shards = 4)")
        .unwrap();
    let url = cluster.url();
    let writers: Vec<_> = (0..2i64)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let db = Db::connect(&url).unwrap();
                let mut acknowledged = Vec::new();
                for n in 0..150i64 {
                    let id = n * 2 + w;
                    db.execute(&format!("INSERT INTO t VALUES ({id}, {w})"))
                        .unwrap();
                    acknowledged.push(id);
                    if n % 25 == 0 {
                        // Page while the other writes: no duplicate within a
                        // traversal, anchors strictly increasing.
                        let mut seen = HashSet::new();
                        let mut last = -1;
                        let mut cursor: Option<Cursor> = None;
                        loop {
                            let page = db
                                .query("SELECT * FROM t ORDER BY id LIMIT 17", cursor.as_ref())
                                .unwrap();
                            for id in ids(&page) {
                                assert!(id > last, "anchors advance: {id} after {last}");
                                assert!(seen.insert(id), "{id} twice in one traversal");
                                last = id;
                            }
                            cursor = page.next_cursor().cloned();
                            if cursor.is_none() {
                                break;
                            }
                        }
                        for id in &acknowledged {
                            assert!(seen.contains(id), "acknowledged {id} not seen");
                        }
                    }
                }
                acknowledged
            })
        })
        .collect();
    let mut all: Vec<i64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    all.sort_unstable();
    let (pages, _) = walk(&first, "SELECT * FROM t ORDER BY id LIMIT 40");
    let seen: Vec<i64> = pages.into_iter().flatten().collect();
    assert_eq!(seen, all, "every acknowledged write is visible afterwards");
}

#[test]
fn a_traversal_survives_a_master_killed_in_the_middle() {
    let Some(cluster) = TestCluster::start("failover", BASE + 40) else {
        return;
    };
    let db = create(&cluster.url());
    fill(&db, "t", 16, 600);
    cluster.wait_replicated();
    let handle = db.cluster().unwrap().clone();
    let def = db.table("t").unwrap();
    let sql = "SELECT * FROM t ORDER BY id LIMIT 40";
    let mut seen = Vec::new();
    let first = db.query(sql, None).unwrap();
    seen.extend(ids(&first));
    let cursor = first.next_cursor().cloned().unwrap();
    // Kill the master of shard 0 (SIGKILL): its replica takes over.
    let (slot, _) = handle.placement(def.id, 0);
    let victim = cluster.master_of_slot(slot).expect("the slot has a master");
    cluster.kill(victim);
    let mut cursor = Some(cursor);
    while let Some(c) = cursor {
        let page = db.query(sql, Some(&c)).unwrap();
        seen.extend(ids(&page));
        cursor = page.next_cursor().cloned();
    }
    let expected: Vec<i64> = (0..600).collect();
    assert_eq!(
        seen, expected,
        "no duplicates and no omissions across the failover"
    );
    assert_ne!(
        cluster.master_of_slot(slot),
        Some(victim),
        "a replica serves the slot now"
    );
    assert!(
        handle.retries() > 0,
        "the reads were retried through the failover"
    );
    // Writes go on against the promoted replica.
    db.execute("INSERT INTO t VALUES (1000, 'c1', 1, 'red')")
        .unwrap();
    let page = db.query("SELECT * FROM t WHERE id = 1000", None).unwrap();
    assert_eq!(ids(&page), vec![1000]);
}

#[test]
fn a_node_that_stays_down_is_a_typed_error_naming_it() {
    let Some(cluster) = TestCluster::start("node_down", BASE + 60) else {
        return;
    };
    let setup = create(&cluster.url());
    fill(&setup, "t", 4, 200);
    let def = setup.table("t").unwrap();
    let options = ClusterOptions {
        retry_window: Duration::from_secs(3),
        ..ClusterOptions::default()
    };
    let db = Db::connect_with(&[&cluster.url()], Options::default(), &options).unwrap();
    let (slot, _) = db.cluster().unwrap().placement(def.id, 0);
    let victim = cluster.master_of_slot(slot).unwrap();
    cluster.wait_replicated();
    let replicas = cluster.replicas_of(victim);
    assert!(!replicas.is_empty(), "the master has a replica");
    for port in replicas.iter().copied().chain([victim]) {
        cluster.kill(port);
    }
    let e = db
        .query("SELECT * FROM t ORDER BY id LIMIT 500", None)
        .expect_err("a page never comes back short of a shard that is down");
    let Error::Exec(ExecError::Source(SourceError::NodeDown { node, .. })) = &e else {
        panic!("expected a NodeDown error, got {e:?}");
    };
    let port: u16 = node.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        cluster.ports().contains(&port),
        "{node} is a node of the cluster"
    );
    assert!(e.to_string().contains("unavailable"), "{e}");
}

#[test]
fn moved_and_ask_redirects_are_followed_in_the_middle_of_a_traversal() {
    let Some(cluster) = TestCluster::start("redirects", BASE + 70) else {
        return;
    };
    let db = create(&cluster.url());
    fill(&db, "t", 4, 300);
    let def = db.table("t").unwrap();
    let handle = db.cluster().unwrap().clone();
    let (slot, _) = handle.placement(def.id, 1);
    let source = cluster.master_of_slot(slot).unwrap();
    let target = cluster
        .masters()
        .into_iter()
        .find(|&p| p != source)
        .unwrap();
    let (source_id, target_id) = (cluster.node_id(source), cluster.node_id(target));
    let slot_text = slot.to_string();
    let sql = "SELECT * FROM t ORDER BY id LIMIT 30";
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let next = |seen: &mut Vec<i64>, cursor: &mut Option<Cursor>| {
        let page = db.query(sql, cursor.as_ref()).unwrap();
        seen.extend(ids(&page));
        *cursor = page.next_cursor().cloned();
    };
    next(&mut seen, &mut cursor);
    // The slot starts to move: the source still serves it.
    cluster.cli(
        target,
        &["cluster", "setslot", &slot_text, "importing", &source_id],
    );
    cluster.cli(
        source,
        &["cluster", "setslot", &slot_text, "migrating", &target_id],
    );
    next(&mut seen, &mut cursor);
    // Its keys move: the source answers ASK for them.
    let keys = cluster.cli(source, &["cluster", "getkeysinslot", &slot_text, "100"]);
    let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
    assert!(!keys.is_empty(), "shard 1 has keys in slot {slot}");
    let mut migrate = vec![
        "migrate".to_owned(),
        "127.0.0.1".to_owned(),
        target.to_string(),
        String::new(),
        "0".to_owned(),
        "10000".to_owned(),
        "KEYS".to_owned(),
    ];
    migrate.extend(keys.iter().map(|k| (*k).to_owned()));
    let args: Vec<&str> = migrate.iter().map(String::as_str).collect();
    assert!(
        cluster.cli(source, &args).contains("OK"),
        "MIGRATE moved the keys"
    );
    let before = handle.retries();
    next(&mut seen, &mut cursor);
    assert!(
        handle.retries() > before,
        "the page followed an ASK redirect"
    );
    // The slot is the target's now: a stale slot map meets MOVED.
    for port in cluster.masters() {
        cluster.cli(
            port,
            &["cluster", "setslot", &slot_text, "node", &target_id],
        );
    }
    let before = handle.retries();
    while cursor.is_some() {
        next(&mut seen, &mut cursor);
    }
    assert!(
        handle.retries() > before,
        "a page followed a MOVED redirect"
    );
    assert_eq!(
        seen,
        (0..300).collect::<Vec<_>>(),
        "every row once, in order"
    );
    // Writes to the moved shard go to its new node.
    db.execute("INSERT INTO t VALUES (5000, 'c1', 3, 'red')")
        .unwrap();
    assert_eq!(
        ids(&db.query("SELECT * FROM t WHERE id = 5000", None).unwrap()),
        vec![5000]
    );
}

#[test]
fn schema_changes_from_several_connections_are_serialized_through_the_cluster() {
    let Some(cluster) = TestCluster::start("ddl", BASE + 80) else {
        return;
    };
    let url = cluster.url();
    let _first = create(&url);
    let makers: Vec<_> = (0..3)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let db = Db::connect(&url).unwrap();
                for n in 0..6 {
                    let table = format!("w{w}_{n}");
                    db.execute(&format!(
                        "CREATE TABLE {table} (id INT PRIMARY KEY, v INT) WITH (shards = 2)"
                    ))
                    .unwrap();
                    db.execute(&format!("CREATE INDEX {table}_v ON {table} (v)"))
                        .unwrap();
                    db.execute(&format!("INSERT INTO {table} VALUES ({n}, {w})"))
                        .unwrap();
                }
            })
        })
        .collect();
    for maker in makers {
        maker.join().unwrap();
    }
    let db = Db::connect(&url).unwrap();
    let names = db.table_names();
    assert_eq!(names.len(), 18, "no schema change was lost: {names:?}");
    let mut ids = HashSet::new();
    for name in &names {
        let def = db.table(name).unwrap();
        assert!(ids.insert(def.id), "table ids are unique");
        assert_eq!(def.indexes.len(), 1, "{name} kept its index");
        assert!(ids.insert(def.indexes[0].id), "index ids are unique");
        let page = db
            .query(&format!("SELECT * FROM {name} WHERE v >= 0"), None)
            .unwrap();
        assert_eq!(
            page.len(),
            1,
            "{name} holds its row, found through its index"
        );
    }
    // A table another connection dropped is gone for this one too.
    let other = Db::connect(&url).unwrap();
    other.execute("DROP TABLE w0_0").unwrap();
    let e = db.query("SELECT * FROM w0_0", None).unwrap_err();
    assert!(message(&e).contains("w0_0"), "{e}");
}
