//! `keyset sql --param` (positional and `name=VALUE`, typed by the column
//! each binds to) and COUNT(*) output: the count, the stop reason and a
//! cursor to go on counting.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json_lines, setup, sql, text};
use serde_json::json;

#[test]
fn params_bind_positionally_and_by_name_typed_by_their_column() {
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        "CREATE TABLE t (id INT PRIMARY KEY, city TEXT, score FLOAT);",
    );
    for args in [
        ["--param", "1", "--param", "Oslo", "--param", "2.5"],
        ["--param", "2", "--param", "x' OR '1'='1", "--param", "NULL"],
    ] {
        let mut all = args.to_vec();
        all.push("INSERT INTO t VALUES (?, ?, ?)");
        let out = sql(dir.path(), &all).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = sql(
        dir.path(),
        &[
            "--format",
            "json",
            "--param",
            "city=x' OR '1'='1",
            "--param",
            "0",
            "SELECT id, city, score FROM t WHERE city = :city AND id > ?",
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        json_lines(&out.stdout)[0]["rows"],
        json!([[2, "x' OR '1'='1", null]])
    );
    let out = sql(
        dir.path(),
        &["--param", "one", "SELECT * FROM t WHERE id = ?"],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("--param 1: `one` is not an INT (for ?1)"),
        "{err}"
    );
    let out = sql(
        dir.path(),
        &[
            "--param",
            "1",
            "--param",
            "2",
            "SELECT * FROM t WHERE id = ?",
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--param 2: the statement has no more placeholders"),
        "{}",
        text(&out.stderr)
    );
    let out = sql(dir.path(), &["SELECT * FROM t WHERE id = ?"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("placeholders"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_count_shows_its_rows_stop_and_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let mut script =
        String::from("CREATE TABLE t (id INT PRIMARY KEY, a INT);\nINSERT INTO t VALUES ");
    let rows: Vec<String> = (0..300).map(|i| format!("({i}, {})", i % 3)).collect();
    script.push_str(&rows.join(", "));
    script.push(';');
    setup(dir.path(), &script);
    let query = "SELECT COUNT(*) FROM t WHERE a = 1 WITH (max_examined = 100)";
    let (mut total, mut cursor, mut parts) = (0, None::<String>, 0);
    loop {
        let mut args = vec!["--format", "json"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        args.push(query);
        let out = sql(dir.path(), &args).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let page = &json_lines(&out.stdout)[0];
        assert_eq!(page["columns"], json!(["count"]));
        total += page["rows"][0][0].as_i64().unwrap();
        parts += 1;
        match page["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(page["stop"], json!("ScanBudget"));
                cursor = Some(next.to_owned());
            }
            None => {
                assert_eq!(page["stop"], json!("Exhausted"));
                break;
            }
        }
    }
    assert!(parts > 1, "the budget stopped the count");
    assert_eq!(total, 100);
    let out = sql(dir.path(), &[query]).output().unwrap();
    let table = text(&out.stdout);
    assert!(table.contains("count"), "{table}");
    assert!(table.contains("stop: ScanBudget"), "{table}");
    assert!(table.contains("next cursor: "), "{table}");
}
