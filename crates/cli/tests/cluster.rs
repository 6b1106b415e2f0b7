//! `keyset sql --cluster URL` against a real Redis Cluster: the database is
//! created by the first CREATE, rows go in, a SELECT pages to the end with
//! `--cursor`, and a cluster without the database is a clear one-line
//! error. Skipped (one line) without redis-server, failed under CI=true.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json_lines, keyset, text};
use keyset_tests::redis_cluster::TestCluster;

fn sql(url: &str, args: &[&str]) -> std::process::Output {
    keyset()
        .arg("sql")
        .arg("--cluster")
        .arg(url)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn sql_takes_a_cluster_url_wherever_it_takes_a_data_directory() {
    let Some(cluster) = TestCluster::start("cli_cluster", 22000) else {
        return;
    };
    let url = cluster.url();
    let out = sql(&url, &["SELECT * FROM t"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no keyset database"),
        "{}",
        text(&out.stderr)
    );
    let create = "CREATE TABLE t (id INT PRIMARY KEY, v TEXT) WITH (shards = 4)";
    let out = sql(&url, &[create]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = sql(
        &url,
        &["INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["--format", "json"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        args.push("SELECT id FROM t ORDER BY id LIMIT 2");
        let out = sql(&url, &args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let page = json_lines(&out.stdout).remove(0);
        for row in page["rows"].as_array().unwrap() {
            seen.push(row[0].as_i64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec![1, 2, 3, 4, 5],
        "every row once, in order, across processes"
    );
}

#[test]
fn the_cluster_demo_pages_through_a_failover_or_says_how_to_install_redis() {
    let out = keyset()
        .args(["demo", "--cluster"])
        .env("KEYSET_DEMO_CLUSTER_PORT", "22010")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    if !keyset_tests::redis_cluster::redis_installed() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is missing under CI=true"
        );
        assert!(
            stdout.contains("apt-get install -y redis-server"),
            "{stdout}"
        );
        return;
    }
    assert!(
        stdout.contains("verified: every row exactly once, in order, across the failover"),
        "{stdout}"
    );
    assert!(
        stdout.contains("verified: a replica serves slot"),
        "{stdout}"
    );
    assert!(!stdout.contains("CHECK FAILED"), "{stdout}");
}
