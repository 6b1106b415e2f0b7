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
fn a_refused_line_is_found_in_its_batch_and_the_others_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let file = dir.path().join("dups.jsonl");
    // Batches of 2: lines 1-2, 3-4 (line 4 breaks the unique index on
    // `name`), 5. Only line 4 is refused; line 3 of its batch is applied.
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
        err.contains("line 4: unique index `by_name` on `people` already holds"),
        "{err}"
    );
    assert!(
        err.contains(
            "error: 1 of 5 lines were rejected (see the messages above); 4 rows were imported"
        ),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("imported 4 rows"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(ids(dir.path()), vec![1, 2, 3, 5]);
}

fn ids(dir: &std::path::Path) -> Vec<i64> {
    rows(dir)
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_i64().unwrap())
        .collect()
}

#[test]
fn an_existing_or_repeated_key_is_refused_line_by_line_unless_upsert() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    setup(
        dir.path(),
        "INSERT INTO people (id, name) VALUES (1, 'kept');",
    );
    let file = dir.path().join("keys.jsonl");
    // Line 1 takes an existing key, line 3 repeats line 2's key.
    std::fs::write(
        &file,
        "{\"id\": 1, \"name\": \"new\"}\n{\"id\": 2, \"name\": \"b\"}\n\
         {\"id\": 2, \"name\": \"c\"}\n{\"id\": 3, \"name\": \"d\"}\n",
    )
    .unwrap();
    let out = import(dir.path(), &file, "1000");
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "refused lines make the status non-zero"
    );
    assert!(
        err.contains("line 1: table `people` already has a row with primary key (id) = (1)"),
        "{err}"
    );
    assert!(
        err.contains("line 3: table `people` already has a row with primary key (id) = (2)"),
        "{err}"
    );
    assert!(err.contains("error: 2 of 4 lines were rejected"), "{err}");
    assert!(
        text(&out.stdout).contains("imported 2 rows"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        rows(dir.path()),
        json!([
            [1, "kept", null, null, null, null],
            [2, "b", null, null, null, null],
            [3, "d", null, null, null, null]
        ])
    );

    let upsert = keyset()
        .arg("import")
        .arg("--db")
        .arg(dir.path())
        .args(["--table", "people", "--upsert"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(upsert.status.success(), "{}", text(&upsert.stderr));
    let names: Vec<String> = rows(dir.path())
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[1].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["new", "c", "d"]);
}

#[test]
fn a_row_over_the_size_limits_is_refused_alone() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let file = dir.path().join("big.csv");
    // `name` is indexed: a 5000-byte name makes an index key over 4 KiB.
    let long = "n".repeat(5000);
    std::fs::write(&file, format!("id,name\n1,a\n2,{long}\n3,c\n")).unwrap();
    let out = import(dir.path(), &file, "1000");
    let err = text(&out.stderr);
    assert!(
        err.contains("line 3: a key of `people` encodes to"),
        "{err}"
    );
    assert!(err.contains("1 of 3 lines were rejected"), "{err}");
    assert_eq!(ids(dir.path()), vec![1, 3]);

    // Every line refused: the summary must not claim the others went in.
    let all_bad = dir.path().join("all_bad.csv");
    std::fs::write(&all_bad, format!("id,name\n7,{long}\n")).unwrap();
    let out = import(dir.path(), &all_bad, "1000");
    let err = text(&out.stderr);
    assert!(
        err.contains("1 of 1 lines were rejected (see the messages above); nothing was imported"),
        "{err}"
    );
}

#[test]
fn a_json_key_written_twice_refuses_its_line() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let file = dir.path().join("twice.jsonl");
    std::fs::write(&file, "{\"id\":52,\"name\":\"x\",\"name\":\"y\"}\n").unwrap();
    let out = import(dir.path(), &file, "10");
    let err = text(&out.stderr);
    assert!(err.contains("line 1: key `name` is given twice"), "{err}");
    assert_eq!(rows(dir.path()), json!([]));
}

#[test]
fn csv_floats_out_of_range_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    let file = dir.path().join("big.csv");
    std::fs::write(&file, "id,name,score\n1,a,1e400\n2,b,2.5\n").unwrap();
    let out = import(dir.path(), &file, "10");
    let err = text(&out.stderr);
    assert!(
        err.contains("line 2: column `score` is FLOAT: \"1e400\": the number is too large"),
        "{err}"
    );
    assert_eq!(ids(dir.path()), vec![2]);
}

#[test]
fn csv_empty_strings_and_nulls_round_trip_through_export() {
    let dir = tempfile::tempdir().unwrap();
    people(dir.path());
    setup(
        dir.path(),
        "INSERT INTO people (id, name, tag) VALUES (1, '', X''), (2, 'b', NULL);",
    );
    let out = sql(
        dir.path(),
        &[
            "--format",
            "csv",
            "SELECT id, name, tag FROM people ORDER BY id",
        ],
    )
    .output()
    .unwrap();
    let exported = text(&out.stdout);
    assert_eq!(exported, "id,name,tag\n1,\"\",\"\"\n2,b,\n", "{exported}");
    let before = rows(dir.path());
    setup(dir.path(), "DELETE FROM people;");
    let file = dir.path().join("again.csv");
    std::fs::write(&file, &exported).unwrap();
    let out = import(dir.path(), &file, "10");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        before,
        json!([
            [1, "", null, null, null, ""],
            [2, "b", null, null, null, null]
        ])
    );
    assert_eq!(rows(dir.path()), before, "the export reads back the same");

    let spelled = dir.path().join("spelled.csv");
    // With --null-text an empty field is the empty string: `tag` reads as
    // X'' and `age` spelled NULL is NULL.
    std::fs::write(&spelled, "id,name,age,tag\n21,c,NULL,\n").unwrap();
    let out = keyset()
        .arg("import")
        .arg("--db")
        .arg(dir.path())
        .args(["--table", "people", "--null-text", "NULL"])
        .arg(&spelled)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let last = rows(dir.path())
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(last, json!([21, "c", null, null, null, ""]));

    // The same spelling round-trips through export: NULL bare, the text
    // "NULL" quoted.
    setup(
        dir.path(),
        "INSERT INTO people (id, name, tag) VALUES (22, 'NULL', NULL);",
    );
    let out = sql(
        dir.path(),
        &[
            "--format",
            "csv",
            "--null-text",
            "NULL",
            "SELECT id, name, tag FROM people WHERE id >= 21 ORDER BY id",
        ],
    )
    .output()
    .unwrap();
    let exported = text(&out.stdout);
    assert_eq!(exported, "id,name,tag\n21,c,\"\"\n22,\"NULL\",NULL\n");
    setup(dir.path(), "DELETE FROM people WHERE id >= 21;");
    std::fs::write(&spelled, &exported).unwrap();
    let out = keyset()
        .arg("import")
        .arg("--db")
        .arg(dir.path())
        .args(["--table", "people", "--null-text", "NULL"])
        .arg(&spelled)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let back: Vec<serde_json::Value> = rows(dir.path()).as_array().unwrap()[2..].to_vec();
    assert_eq!(
        back,
        vec![
            json!([21, "c", null, null, null, ""]),
            json!([22, "NULL", null, null, null, null])
        ]
    );

    // JSON Lines spell NULL as null: --null-text there is a usage error.
    let jsonl = dir.path().join("rows.jsonl");
    std::fs::write(&jsonl, "{\"id\": 30, \"name\": \"x\"}\n").unwrap();
    let out = keyset()
        .arg("import")
        .arg("--db")
        .arg(dir.path())
        .args(["--table", "people", "--null-text", "NULL"])
        .arg(&jsonl)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--null-text spells NULL in a CSV file"));
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
