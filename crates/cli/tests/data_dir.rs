//! Opening the data directory from the command line: a `--db` that is a
//! file, a `--db` that does not exist (a typo must not give a new empty
//! database), a directory another process holds (`--busy-timeout`, the
//! holder's pid), and what recovery cut off, told on stderr.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{keyset, numbers, setup, sql, text};

#[test]
fn a_db_that_is_a_file_is_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "x").unwrap();
    for command in ["sql", "shell", "explain", "import"] {
        let mut cmd = keyset();
        cmd.arg(command).arg("--db").arg(&file);
        match command {
            "sql" | "explain" => cmd.arg("SELECT * FROM t"),
            "import" => cmd.args(["--table", "t", "rows.jsonl"]),
            _ => &mut cmd,
        };
        let out = cmd.output().unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{command}");
        assert!(err.contains("is not a directory"), "{command}: {err}");
        assert!(!err.contains("os error 17"), "{command}: {err}");
    }
}

#[test]
fn a_missing_db_is_created_only_by_commands_that_create() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo");
    for args in [
        vec!["sql", "SELECT * FROM t"],
        vec!["sql", "INSERT INTO t VALUES (1)"],
        vec!["shell"],
        vec!["explain", "SELECT * FROM t"],
    ] {
        let out = keyset()
            .arg(args[0])
            .arg("--db")
            .arg(&typo)
            .args(&args[1..])
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains("no database at"), "{args:?}: {err}");
        assert!(err.contains("--create"), "{args:?}: {err}");
        assert!(!typo.exists(), "{args:?} created the directory");
    }
    // A statement that creates something may create the directory, and so
    // may --create.
    let out = sql(&typo, &["CREATE TABLE t (id INT PRIMARY KEY)"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let other = dir.path().join("other");
    let out = keyset()
        .arg("shell")
        .arg("--db")
        .arg(&other)
        .arg("--create")
        .write_stdin(".tables\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(other.is_dir());
}

#[test]
fn a_held_directory_names_its_holder_and_busy_timeout_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    numbers(dir.path(), 3);
    let mut holder = Command::new(assert_cmd::cargo::cargo_bin("keyset"))
        .arg("shell")
        .arg("--db")
        .arg(dir.path())
        // The probes below hold the directory for a moment each: the shell
        // waits for them rather than losing the race and exiting.
        .args(["--busy-timeout", "10000"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The shell holds the directory once it answers a statement.
    let pid = holder.id();
    let mut stdin = holder.stdin.take().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The shell writes its pid just after it takes the lock: wait for both.
    let holder_named = format!("in use by another opener (process {pid})");
    loop {
        let out = sql(dir.path(), &["SELECT * FROM t"]).output().unwrap();
        let err = text(&out.stderr);
        if err.contains(&holder_named) {
            assert!(!out.status.success());
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the shell never took the lock, or is not named: {err}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // With --busy-timeout the second opener waits until the shell ends.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        writeln!(stdin, ".quit").unwrap();
        drop(stdin);
    });
    let out = sql(dir.path(), &["--busy-timeout", "20000", "SELECT id FROM t"])
        .output()
        .unwrap();
    release.join().unwrap();
    holder.wait().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_commit_cut_off_by_recovery_is_told_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    setup(
        dir.path(),
        "CREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);",
    );
    // Tear the last WAL record: cut its last bytes off.
    let wal = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .max()
        .unwrap();
    let len = std::fs::metadata(&wal).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&wal).unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);
    let out = sql(dir.path(), &["--format", "csv", "SELECT id FROM t"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "id\n1\n");
    let err = text(&out.stderr);
    assert!(
        err.starts_with("warning: recovery cut an incomplete last record"),
        "{err}"
    );
    // Once cut, the next open has nothing more to say.
    let out = sql(dir.path(), &["SELECT id FROM t"]).output().unwrap();
    assert_eq!(text(&out.stderr), "");
}

/// `keyset checkpoint` flushes: the next open starts from the manifest it
/// wrote. A damaged manifest is an error naming the file, the offset and
/// `--repair`; `--repair` on sql, shell and import falls back to the
/// generation before, says so on stderr, and loses no row.
#[test]
fn checkpoint_then_damage_then_repair_from_every_command() {
    let manifests = |dir: &std::path::Path| {
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "mf"))
            .collect();
        found.sort();
        found
    };
    for command in ["sql", "shell", "import"] {
        let dir = tempfile::tempdir().unwrap();
        numbers(dir.path(), 20);
        let out = keyset()
            .args(["checkpoint", "--db"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        setup(dir.path(), "INSERT INTO t VALUES (21, 0, 'n21', 1.5);");
        let out = keyset()
            .args(["checkpoint", "--db"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let newest = manifests(dir.path()).pop().unwrap();
        let mut bytes = std::fs::read(&newest).unwrap();
        bytes[10] ^= 0x01;
        std::fs::write(&newest, &bytes).unwrap();

        let out = sql(dir.path(), &["SELECT id FROM t"]).output().unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains(newest.file_name().unwrap().to_str().unwrap())
                && err.contains("at byte offset")
                && err.contains("--repair"),
            "{err}"
        );

        let rows = dir.path().join("rows.jsonl");
        std::fs::write(
            &rows,
            "{\"id\": 22, \"grp\": 1, \"name\": \"n22\", \"score\": 2.5}\n",
        )
        .unwrap();
        let mut cmd = keyset();
        cmd.arg(command).arg("--db").arg(dir.path()).arg("--repair");
        match command {
            "sql" => {
                cmd.arg("SELECT id FROM t");
            }
            "shell" => {
                cmd.write_stdin("SELECT id FROM t;\n");
            }
            _ => {
                cmd.args(["--table", "t"]).arg(&rows);
            }
        }
        let out = cmd.output().unwrap();
        let err = text(&out.stderr);
        assert!(out.status.success(), "{command}: {err}");
        assert!(
            err.contains("warning: repair set aside"),
            "{command}: {err}"
        );
        let expected = if command == "import" { 22 } else { 21 };
        let out = sql(dir.path(), &["--format", "csv", "SELECT id FROM t"])
            .output()
            .unwrap();
        assert_eq!(text(&out.stderr), "", "{command}: the repair is done");
        assert_eq!(text(&out.stdout).lines().count(), expected + 1, "{command}");
    }
}
