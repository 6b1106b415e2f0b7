//! `keyset shell` with statements piped on stdin (no terminal): statements
//! over several lines, `.next`, `.prev`, `.tables`, `.schema`, `.explain`,
//! errors that do not stop the session, and the exit status.
#![allow(clippy::unwrap_used)]

mod common;

use common::{numbers, shell, text};

/// The ids shown in the first column of the tables of `out`, in order.
fn ids(out: &str) -> Vec<i64> {
    out.lines()
        .filter_map(|l| l.strip_prefix('│'))
        .filter_map(|l| l.split(['┆', '│']).next())
        .filter_map(|cell| cell.trim().parse().ok())
        .collect()
}

#[test]
fn a_piped_session_pages_with_next_and_prev() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 10);
    let out = shell(
        dir.path(),
        "SELECT id, name\n  FROM t\n  WHERE grp = 1\n  ORDER BY id LIMIT 2;\n\
         .next\n.prev\n.prev\n",
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    // grp = 1: ids 1, 4, 7, 10 in pages of 2; `.prev` from page 1 has nothing.
    assert_eq!(ids(&stdout), vec![1, 4, 7, 10, 1, 4], "{stdout}");
    assert!(stdout.contains("page 1 · .next for more\n"), "{stdout}");
    assert!(stdout.contains("page 2 · .prev to go back\n"), "{stdout}");
    assert!(
        !stdout.contains("keyset>"),
        "no prompt when piped: {stdout}"
    );
    assert_eq!(stderr, "error: no previous page: this is the first page\n");
    assert!(
        !out.status.success(),
        "a piped session with an error exits non-zero"
    );
}

#[test]
fn tables_schema_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 3);
    let out = shell(
        dir.path(),
        "CREATE TABLE other (k TEXT PRIMARY KEY, v BYTES);\n.tables\n.schema t\n\
         .explain SELECT * FROM t WHERE grp = 2\n.timer on\nINSERT INTO other VALUES ('a', NULL);\n.quit\nSELECT 'never run';\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("created table other"), "{stdout}");
    assert!(
        stdout.contains("other  (2 columns, 1 shard, no index)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("t  (4 columns, 2 shards, indexes: by_grp)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("CREATE TABLE t (\n  id INT NOT NULL,"),
        "{stdout}"
    );
    assert!(stdout.contains(") WITH (shards = 2);"), "{stdout}");
    assert!(
        stdout.contains("CREATE INDEX by_grp ON t (grp);"),
        "{stdout}"
    );
    assert!(stdout.contains("IndexRange by_grp"), "{stdout}");
    assert!(stdout.contains("1 row changed\ntime: "), "{stdout}");
    assert!(!stdout.contains("never run"), "{stdout}");
}

#[test]
fn errors_are_reported_and_the_session_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 3);
    let out = shell(
        dir.path(),
        "SELEC 1;\nSELECT * FROM nowhere;\n.bogus\n.next\nSELECT id FROM t WHERE id = 2;\nSELECT id FROM t WHERE id = 3",
    );
    let stderr = text(&out.stderr);
    let stdout = text(&out.stdout);
    assert_eq!(stderr.lines().count(), 4, "{stderr}");
    assert!(stderr.lines().all(|l| l.starts_with("error: ")), "{stderr}");
    // The last statement has no `;`: it runs when the input ends.
    assert_eq!(ids(&stdout), vec![2, 3], "{stdout}");
    assert!(
        !out.status.success(),
        "a piped session with errors exits non-zero"
    );
}

#[test]
fn a_semicolon_in_a_comment_does_not_end_a_delete() {
    // Issue 16 item 1: the shell cut the DELETE at the comment's `;` and
    // deleted every row; `--file` gives the same text the same meaning.
    for via_file in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        numbers(dir.path(), 10);
        let script = "DELETE FROM t -- only the old rows;\nWHERE id < 5;\n";
        let out = if via_file {
            common::sql(dir.path(), &["--file", "-"])
                .write_stdin(script)
                .output()
                .unwrap()
        } else {
            shell(dir.path(), script)
        };
        assert!(out.status.success(), "{}", text(&out.stderr));
        let left = common::sql(dir.path(), &["--format", "csv", "SELECT id FROM t"])
            .output()
            .unwrap();
        assert_eq!(
            text(&left.stdout).lines().skip(1).count(),
            6,
            "via file: {via_file}"
        );
    }
}
