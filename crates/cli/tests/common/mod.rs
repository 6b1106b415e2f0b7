//! Helpers shared by the CLI tests: the `keyset` binary as a command, a
//! fresh data directory, and a small table to page through.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::Command;

/// The `keyset` binary, with no inherited stdin.
pub fn keyset() -> Command {
    let mut cmd = Command::cargo_bin("keyset").expect("the keyset binary is built");
    cmd.write_stdin("");
    cmd
}

/// `keyset sql --db DIR ARGS...`
pub fn sql(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = keyset();
    cmd.arg("sql").arg("--db").arg(dir).args(args);
    cmd
}

/// Runs a script of statements against `dir` and asserts it succeeded.
/// `keyset shell --db DIR` with `input` piped on stdin.
pub fn shell(dir: &Path, input: &str) -> std::process::Output {
    keyset()
        .arg("shell")
        .arg("--db")
        .arg(dir)
        .write_stdin(input)
        .output()
        .unwrap_or_else(|e| panic!("running keyset shell: {e}"))
}

pub fn setup(dir: &Path, script: &str) {
    let output = keyset()
        .arg("sql")
        .arg("--db")
        .arg(dir)
        .args(["--file", "-"])
        .write_stdin(script)
        .output()
        .expect("keyset runs");
    assert!(
        output.status.success(),
        "setup failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A table `t` of `n` rows: id 1..=n, `grp` = id % 3, `name` = 'n<id>',
/// with an index on grp.
pub fn numbers(dir: &Path, n: i64) {
    let mut script = String::from(
        "CREATE TABLE t (id INT PRIMARY KEY, grp INT NOT NULL, name TEXT, score FLOAT) WITH (shards = 2);\n\
         CREATE INDEX by_grp ON t (grp);\n",
    );
    let values: Vec<String> = (1..=n)
        .map(|i| format!("({i}, {}, 'n{i}', {}.5)", i % 3, i))
        .collect();
    script.push_str(&format!("INSERT INTO t VALUES {};\n", values.join(", ")));
    setup(dir, &script);
}

/// Parses every stdout line as JSON.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("`{l}` is not JSON: {e}")))
        .collect()
}

/// stderr as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
