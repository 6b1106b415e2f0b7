//! `keyset import`: good lines are imported, a bad line is reported by its
//! number and skipped, a batch the store refuses is reported by its line
//! range and not applied at all, and the exit status says whether anything
//! was rejected.
#![allow(clippy::unwrap_used)]

mod common;

use common::{json_lines, keyset, setup, sql, text};
use serde_json::json;

fn people(dir: &std::path::Path) {
    setup(
        dir,
        "CREATE TABLE people (id INT PRIMARY KEY, name TEXT NOT NULL, age INT, score FLOAT, \
         active BOOL, tag BYTES);
         CREATE UNIQUE INDEX by_name ON people (name);",
    );
}

fn import(dir: &std::path::Path, file: &std::path::Path, batch: &str) -> std::process::Output {
    keyset()
        .arg("import")
        .arg("--db")
        .arg(dir)
        .args(["--table", "people", "--batch", batch])
        .arg(file)
        .output()
        .unwrap()
}

fn rows(dir: &std::path::Path) -> serde_json::Value {
    let out = sql(
        dir,
        &["--format", "json", "SELECT * FROM people ORDER BY id"],
    )
    .output()
    .unwrap();
    json_lines(&out.stdout).remove(0)["rows"].clone()
}

#[test]
fn jsonl_with_one_bad_line_imports_the_others() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let file = dir.path().join("people.jsonl");
    std::fs::write(
        &file,
        "{\"id\": 1, \"name\": \"ada\", \"age\": 36, \"score\": 9.5, \"active\": true, \"tag\": \"0aff\"}\n\
         \n\
         {\"id\": 2, \"name\": \"bob\", \"age\": \"old\"}\n\
         {\"id\": 3, \"name\": \"cy\", \"score\": 7}\n",
    )
    .unwrap();
    let out = import(dir.path(), &file, "1000");
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "a rejected line makes the status non-zero"
    );
    assert!(err.contains("line 3: column `age` is INT"), "{err}");
    assert!(err.contains("error: 1 of 3 lines were rejected"), "{err}");
    assert!(
        text(&out.stdout).contains("imported 2 rows"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        rows(dir.path()),
        json!([
            [1, "ada", 36, 9.5, true, "0aff"],
            [3, "cy", null, 7.0, null, null]
        ])
    );
}

#[test]
fn csv_with_one_bad_line_imports_the_others() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "name,id,age,active\n\
         ada,1,36,true\n\
         \"multi\nline\",2,,false\n\
         bob,x3,40,\n\
         cy,4,,\n",
    )
    .unwrap();
    let out = import(dir.path(), &file, "2");
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("line 5: column `id` is INT: \"x3\""), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("line ")).count(),
        1,
        "{err}"
    );
    assert_eq!(
        rows(dir.path()),
        json!([
            [1, "ada", 36, null, true, null],
            [2, "multi\nline", null, null, false, null],
            [4, "cy", null, null, null, null]
        ])
    );
}

#[test]
fn a_clean_file_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let file = dir.path().join("ok.csv");
    let mut body = String::from("id,name\n");
    for i in 1..=250 {
        body.push_str(&format!("{i},p{i}\n"));
    }
    std::fs::write(&file, body).unwrap();
    let out = import(dir.path(), &file, "64");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("imported 250 rows"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(rows(dir.path()).as_array().unwrap().len(), 250);
}

#[test]
fn a_batch_the_store_refuses_is_not_applied_at_all() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let file = dir.path().join("dups.jsonl");
    // Batches of 2: lines 1-2, 3-4 (a unique violation on `name`), 5.
    std::fs::write(
        &file,
        "{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2, \"name\": \"b\"}\n\
         {\"id\": 3, \"name\": \"c\"}\n{\"id\": 4, \"name\": \"a\"}\n\
         {\"id\": 5, \"name\": \"e\"}\n",
    )
    .unwrap();
    let out = import(dir.path(), &file, "2");
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("lines 3-4: this batch of 2 rows was not applied"),
        "{err}"
    );
    assert!(err.contains("error: 2 of 5 lines were rejected"), "{err}");
    let ids: Vec<i64> = rows(dir.path())
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2, 5], "nothing of lines 3-4 applied");
}

#[test]
fn unusable_files_and_tables_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let header = dir.path().join("bad_header.csv");
    std::fs::write(&header, "id,colour\n1,red\n").unwrap();
    let out = import(dir.path(), &header, "10");
    assert!(
        text(&out.stderr).contains("unknown column `colour`"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out.status.success());

    let other = dir.path().join("data.txt");
    std::fs::write(&other, "x").unwrap();
    let out = import(dir.path(), &other, "10");
    assert!(
        text(&out.stderr).contains("*.jsonl"),
        "{}",
        text(&out.stderr)
    );

    let file = dir.path().join("ok.jsonl");
    std::fs::write(&file, "{\"id\": 1, \"name\": \"a\"}\n").unwrap();
    let out = keyset()
        .arg("import")
        .arg("--db")
        .arg(dir.path())
        .args(["--table", "nope"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("no table named `nope`"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out.status.success());
}
