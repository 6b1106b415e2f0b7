//! `BEGIN`, `COMMIT` and `ROLLBACK` in the shell and in `--file` scripts,
//! a script that ends inside a transaction (rolled back, and said), and
//! `.snapshot on|off` in the shell.
#![allow(clippy::unwrap_used)]

mod common;

use common::{keyset, numbers, shell, text};

/// The numeric cells of the tables in `out`, in order.
fn cells(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with('│'))
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .filter(|c| c.parse::<i64>().is_ok())
        .collect()
}

fn count(dir: &std::path::Path) -> String {
    let out = keyset()
        .args(["sql", "--format", "csv", "--db"])
        .arg(dir)
        .arg("SELECT COUNT(*) FROM t")
        .output()
        .unwrap();
    text(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn the_shell_commits_and_rolls_back_transactions() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 3);
    let out = shell(
        dir.path(),
        "BEGIN;\nINSERT INTO t VALUES (10, 1, 'x', 1.0);\nSELECT COUNT(*) FROM t;\nROLLBACK;\n\
         BEGIN;\nDELETE FROM t WHERE id = 1;\nUPDATE t SET grp = grp + 5 WHERE id = 2;\nCOMMIT;\n",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("began a transaction"), "{stdout}");
    assert!(stdout.contains("rolled back"), "{stdout}");
    assert!(stdout.contains("committed (2 row changes)"), "{stdout}");
    // Inside the first transaction its own insert was counted.
    assert_eq!(cells(&stdout), vec!["4"], "{stdout}");
    assert_eq!(count(dir.path()), "2");
}

#[test]
fn a_script_ending_inside_a_transaction_is_rolled_back_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 3);
    let script = dir.path().join("s.sql");
    std::fs::write(&script, "BEGIN;\nDELETE FROM t;\nSELECT COUNT(*) FROM t;\n").unwrap();
    let out = keyset()
        .args(["sql", "--format", "csv", "--db"])
        .arg(dir.path())
        .arg("--file")
        .arg(&script)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("ended inside a transaction") && stderr.contains("rolled back"),
        "{stderr}"
    );
    assert_eq!(count(dir.path()), "3");
    // A COMMIT without BEGIN is an error naming it.
    std::fs::write(&script, "COMMIT;\n").unwrap();
    let out = keyset()
        .args(["sql", "--db"])
        .arg(dir.path())
        .arg("--file")
        .arg(&script)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("COMMIT with no open transaction"));
}

#[test]
fn snapshot_on_reads_one_moment_until_off() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 3);
    let out = shell(
        dir.path(),
        ".snapshot on\nINSERT INTO t VALUES (10, 1, 'x', 1.0);\nSELECT COUNT(*) FROM t;\n\
         .snapshot off\nSELECT COUNT(*) FROM t;\n.snapshot maybe\n",
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("snapshot on: queries read the database as of seq"),
        "{stdout}"
    );
    assert!(stdout.contains("snapshot off"), "{stdout}");
    assert_eq!(cells(&stdout), vec!["3", "4"], "{stdout}");
    assert!(text(&out.stderr).contains("`.snapshot maybe`"));
}
