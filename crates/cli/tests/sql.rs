//! `keyset sql` and `keyset explain` driven as a user's script would: the
//! JSON shape of DESIGN.md section 8, paging to the end with `--cursor`,
//! refused cursors, SQL errors as one line on stderr, scripts, CSV.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json_lines, keyset, numbers, setup, sql, text};
use serde_json::json;

#[test]
fn a_query_prints_one_json_object_with_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        "CREATE TABLE v (id INT PRIMARY KEY, f FLOAT, s TEXT, b BOOL, raw BYTES, n INT);
         INSERT INTO v VALUES (1, 1.5, 'x', TRUE, NULL, NULL), (2, 2.0, 'y', FALSE, NULL, 7);",
    );
    let out = sql(
        dir.path(),
        &["--format", "json", "SELECT * FROM v ORDER BY id LIMIT 1"],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "one JSON object per query");
    let page = lines[0].as_object().unwrap();
    let mut keys: Vec<&str> = page.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["columns", "next_cursor", "prev_cursor", "rows", "stop"]
    );
    assert_eq!(page["columns"], json!(["id", "f", "s", "b", "raw", "n"]));
    assert_eq!(page["rows"], json!([[1, 1.5, "x", true, null, null]]));
    assert!(page["next_cursor"].is_string());
    assert_eq!(page["prev_cursor"], json!(null));
    assert_eq!(page["stop"], json!("Limit"));

    let token = page["next_cursor"].as_str().unwrap();
    let out = sql(
        dir.path(),
        &[
            "--format",
            "json",
            "--cursor",
            token,
            "SELECT * FROM v ORDER BY id LIMIT 1",
        ],
    )
    .output()
    .unwrap();
    let last = &json_lines(&out.stdout)[0];
    assert_eq!(last["rows"], json!([[2, 2.0, "y", false, null, 7]]));
    assert_eq!(last["next_cursor"], json!(null));
    assert!(last["prev_cursor"].is_string());
    assert_eq!(last["stop"], json!("Exhausted"));
}

#[test]
fn statements_that_are_not_queries_acknowledge_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let run = |statement: &str| {
        let out = sql(dir.path(), &["--format", "json", statement])
            .output()
            .unwrap();
        assert!(out.status.success(), "{statement}: {}", text(&out.stderr));
        json_lines(&out.stdout).remove(0)
    };
    assert_eq!(
        run("CREATE TABLE t (id INT PRIMARY KEY)"),
        json!({"ok": true, "message": "created table t"})
    );
    assert_eq!(
        run("INSERT INTO t VALUES (1), (2), (3)"),
        json!({"ok": true, "changed": 3})
    );
    assert_eq!(
        run("DELETE FROM t WHERE id >= 2"),
        json!({"ok": true, "changed": 2})
    );
    let explained = run("EXPLAIN SELECT * FROM t WHERE id = 1");
    assert_eq!(explained["ok"], json!(true));
    assert!(
        explained["plan"].as_str().unwrap().contains("ByKeys"),
        "{explained}"
    );
}

/// Follows `next_cursor` from the first page to the end.
fn pages(dir: &std::path::Path, query: &str) -> (Vec<serde_json::Value>, usize) {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    for count in 1..=1000 {
        let mut args = vec!["--format", "json"];
        if let Some(c) = cursor.as_deref() {
            args.extend(["--cursor", c]);
        }
        args.push(query);
        let out = sql(dir, &args).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let page = json_lines(&out.stdout).remove(0);
        rows.extend(page["rows"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (rows, count),
        }
    }
    panic!("more than 1000 pages");
}

#[test]
fn paging_with_cursor_to_the_end_gives_the_unpaged_result() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 47);
    for (paged, unpaged) in [
        (
            "SELECT id, name FROM t WHERE grp = 1 ORDER BY id LIMIT 4",
            "SELECT id, name FROM t WHERE grp = 1 ORDER BY id",
        ),
        (
            "SELECT id, score FROM t ORDER BY score DESC LIMIT 5",
            "SELECT id, score FROM t ORDER BY score DESC",
        ),
        (
            "SELECT name FROM t WHERE grp = 0 OR grp = 2 ORDER BY id DESC LIMIT 6",
            "SELECT name FROM t WHERE grp = 0 OR grp = 2 ORDER BY id DESC",
        ),
    ] {
        let (rows, count) = pages(dir.path(), paged);
        let out = sql(dir.path(), &["--format", "json", unpaged])
            .output()
            .unwrap();
        let whole = json_lines(&out.stdout).remove(0);
        assert_eq!(&serde_json::Value::Array(rows), &whole["rows"], "{paged}");
        assert!(count > 2, "{paged} took {count} pages");
    }
}

/// Asserts a failed run: non-zero status, nothing on stdout, one line
/// `error: ...` on stderr containing `needle`.
fn assert_one_line_error(out: &std::process::Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "expected a failure, stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "`{needle}` not in: {err}");
}

#[test]
fn a_forged_cursor_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 10);
    let query = "SELECT id FROM t ORDER BY id LIMIT 3";
    let out = sql(dir.path(), &["--format", "json", query])
        .output()
        .unwrap();
    let token = json_lines(&out.stdout)[0]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut forged: Vec<char> = token.chars().collect();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let out = sql(dir.path(), &["--cursor", &forged, query])
        .output()
        .unwrap();
    assert_one_line_error(&out, "invalid cursor");
    let out = sql(dir.path(), &["--cursor", "not a cursor!", query])
        .output()
        .unwrap();
    assert_one_line_error(&out, "invalid cursor");
    let out = sql(
        dir.path(),
        &[
            "--cursor",
            &token,
            "SELECT id FROM t ORDER BY id DESC LIMIT 3",
        ],
    )
    .output()
    .unwrap();
    assert_one_line_error(&out, "invalid cursor");
}

#[test]
fn sql_errors_are_one_line_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 3);
    let out = sql(dir.path(), &["SELEC * FROM t"]).output().unwrap();
    assert_one_line_error(&out, "syntax error");
    let out = sql(dir.path(), &["SELECT * FROM nowhere"])
        .output()
        .unwrap();
    assert_one_line_error(&out, "nowhere");
    let out = sql(dir.path(), &["SELECT colour FROM t"]).output().unwrap();
    assert_one_line_error(&out, "colour");
    let out = sql(
        dir.path(),
        &[
            "--format",
            "json",
            "INSERT INTO t VALUES (1, 1, 'dup', 1.0), (99, 'x', 'y', 1.0)",
        ],
    )
    .output()
    .unwrap();
    assert_one_line_error(&out, "primary key");
    let count = sql(dir.path(), &["--format", "json", "SELECT id FROM t"])
        .output()
        .unwrap();
    assert_eq!(
        json_lines(&count.stdout)[0]["rows"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_script_runs_each_statement_and_stops_at_the_first_error() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "-- a comment; with a semicolon\n\
         CREATE TABLE s (id INT PRIMARY KEY, note TEXT);\n\
         INSERT INTO s VALUES (1, 'a;b'), (2, 'c');\n\
         SELECT * FROM s ORDER BY id;\n\
         UPDATE s SET note = 'z' WHERE id = 2;\n",
    )
    .unwrap();
    let db = dir.path().join("db");
    let out = keyset()
        .arg("sql")
        .arg("--db")
        .arg(&db)
        .args(["--format", "json", "--file"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 4, "one line per statement");
    assert_eq!(lines[0]["message"], json!("created table s"));
    assert_eq!(lines[1]["changed"], json!(2));
    assert_eq!(lines[2]["rows"], json!([[1, "a;b"], [2, "c"]]));
    assert_eq!(lines[3]["changed"], json!(1));

    let out = keyset()
        .arg("sql")
        .arg("--db")
        .arg(&db)
        .args(["--format", "json", "--file", "-"])
        .write_stdin(
            "INSERT INTO s VALUES (3, 'kept');\nSELEC oops;\nINSERT INTO s VALUES (4, 'never');",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        json_lines(&out.stdout),
        vec![json!({"ok": true, "changed": 1})]
    );
    let err = text(&out.stderr);
    // One position, counted in the script (issue 16).
    assert!(
        err.starts_with("error: statement 2 failed: syntax error at line 2, column 1"),
        "{err}"
    );
    let ids = sql(&db, &["--format", "json", "SELECT id FROM s ORDER BY id"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&ids.stdout)[0]["rows"], json!([[1], [2], [3]]));
}

#[test]
fn table_and_csv_formats() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 5);
    let out = sql(dir.path(), &["SELECT id, name FROM t ORDER BY id LIMIT 2"])
        .output()
        .unwrap();
    let table = text(&out.stdout);
    assert!(
        table.contains("n2") && table.contains("2 rows · stop: Limit"),
        "{table}"
    );
    assert!(table.contains("next cursor: "), "{table}");

    setup(
        dir.path(),
        "INSERT INTO t VALUES (6, 0, 'with, comma \"q\"', NULL);",
    );
    let out = sql(
        dir.path(),
        &[
            "--format",
            "csv",
            "SELECT id, name, score FROM t WHERE id >= 5 ORDER BY id LIMIT 1",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(text(&out.stdout), "id,name,score\n5,n5,5.5\n");
    assert!(
        text(&out.stderr).starts_with("next_cursor: "),
        "{}",
        text(&out.stderr)
    );
    let out = sql(
        dir.path(),
        &[
            "--format",
            "csv",
            "SELECT id, name, score FROM t WHERE id = 6",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(
        text(&out.stdout),
        "id,name,score\n6,\"with, comma \"\"q\"\"\",\n"
    );
}

#[test]
fn explain_prints_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 5);
    let out = keyset()
        .arg("explain")
        .arg("--db")
        .arg(dir.path())
        .arg("SELECT * FROM t WHERE grp = 1 OR grp = 2")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(plan.contains("Union") && plan.contains("by_grp"), "{plan}");
    let out = keyset()
        .arg("explain")
        .arg("--db")
        .arg(dir.path())
        .arg("DELETE FROM t")
        .output()
        .unwrap();
    // The refusal names the statement given, not an internal function.
    assert_one_line_error(
        &out,
        "only a SELECT has a plan to explain, and this statement is DELETE",
    );
    assert!(!text(&out.stderr).contains("explain()"));
}

#[test]
fn db_is_created_when_missing_and_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new").join("nested");
    numbers(&db, 5000);
    assert!(db.is_dir());
    // `head -n 1` closes the pipe long before the table of 5000 rows is written.
    let bin = assert_cmd::cargo::cargo_bin("keyset");
    let err = dir.path().join("err");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' sql --db '{}' 'SELECT * FROM t' 2>'{}' | head -n 1; cat '{}'",
            bin.display(),
            db.display(),
            err.display(),
            err.display()
        ))
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert_eq!(
        shown.lines().count(),
        1,
        "the first line and an empty stderr: {shown}"
    );
    assert!(shown.starts_with('┌'), "{shown}");
}
