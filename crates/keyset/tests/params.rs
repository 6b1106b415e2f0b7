//! Parameters and prepared statements through the facade: placeholders in
//! every clause that takes a value, the errors that name a placeholder,
//! replanning after a schema change, and cursors bound to their values.

use keyset::{named_params, params, Db, Error, Outcome, ParamError, PlanError, SqlError, Value};

fn db() -> Db {
    let db = Db::memory().expect("memory db");
    db.execute("CREATE TABLE users (id INT PRIMARY KEY, city TEXT, age INT, score FLOAT)")
        .expect("create");
    for (id, city, age) in [
        (1, "Oslo", 30),
        (2, "Bergen", 41),
        (3, "Oslo", 52),
        (4, "Oslo", 19),
    ] {
        db.execute_params(
            "INSERT INTO users VALUES (?1, ?2, ?3, ?4)",
            params![id, city, age, f64::from(age) / 2.0],
        )
        .expect("insert");
    }
    db
}

fn ids(page: &keyset::Page) -> Vec<i64> {
    page.rows()
        .iter()
        .map(|r| r.get::<i64>("id").expect("id"))
        .collect()
}

#[test]
fn placeholders_bind_in_where_values_set_limit_and_offset() {
    let db = db();
    let page = db
        .query_params(
            "SELECT * FROM users WHERE city = ? AND age BETWEEN ? AND ? ORDER BY age LIMIT ? OFFSET ?",
            params!["Oslo", 19, 60, 2, 1],
            None,
        )
        .expect("query");
    assert_eq!(ids(&page), vec![1, 3]);
    db.execute_params(
        "UPDATE users SET city = :city, age = age + :years WHERE id IN (:a, :b)",
        named_params! { ":city" => "Tromsø", ":years" => 1, "a" => 1, ":b" => 2 },
    )
    .expect("update");
    let page = db
        .query_params(
            "SELECT * FROM users WHERE city = ?1 ORDER BY id",
            params!["Tromsø"],
            None,
        )
        .expect("query");
    assert_eq!(ids(&page), vec![1, 2]);
    let ages: Vec<i64> = page
        .rows()
        .iter()
        .map(|r| r.get("age").expect("age"))
        .collect();
    assert_eq!(ages, vec![31, 42]);
    let Outcome::Changed(n) = db
        .execute_params("DELETE FROM users WHERE age < ?", params![20])
        .expect("delete")
    else {
        panic!("DELETE changes rows")
    };
    assert_eq!(n, 1);
}

#[test]
fn a_prepared_statement_runs_with_many_values() {
    let db = db();
    let stmt = db
        .prepare("SELECT id FROM users WHERE city = ? AND age >= ? ORDER BY age LIMIT 50")
        .expect("prepare");
    assert_eq!(stmt.parameter_count(), 2);
    assert_eq!(stmt.parameter_names(), vec!["?1", "?2"]);
    assert_eq!(
        stmt.parameter_types(),
        vec![
            Some(keyset::ColumnType::Text),
            Some(keyset::ColumnType::Int)
        ]
    );
    assert_eq!(
        ids(&stmt.query(params!["Oslo", 20], None).expect("q")),
        vec![1, 3]
    );
    assert_eq!(
        ids(&stmt.query(params!["Oslo", 40], None).expect("q")),
        vec![3]
    );
    assert_eq!(
        ids(&stmt.query(params!["Bergen", 0], None).expect("q")),
        vec![2]
    );
    let all: Vec<i64> = stmt
        .stream(params!["Oslo", 0])
        .expect("stream")
        .map(|r| r.and_then(|r| r.get("id")))
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(all, vec![4, 1, 3]);
    let insert = db
        .prepare("INSERT INTO users (id, city) VALUES (:id, :city)")
        .expect("prepare");
    insert
        .execute(named_params! { ":id" => 9, ":city" => None::<String> })
        .expect("insert");
    let page = db
        .query_params("SELECT * FROM users WHERE id = ?", params![9], None)
        .expect("q");
    assert_eq!(
        page.rows()[0].get::<Option<String>>("city").expect("city"),
        None
    );
}

#[test]
fn a_cursor_is_bound_to_the_values_of_its_page() {
    let db = db();
    let stmt = db
        .prepare("SELECT id FROM users WHERE id > ? ORDER BY id LIMIT 1")
        .expect("prepare");
    let first = stmt.query(params![1], None).expect("first");
    let cursor = first.next_cursor().expect("more rows");
    assert_eq!(
        ids(&stmt.query(params![1], Some(cursor)).expect("same values")),
        vec![3]
    );
    let err = stmt
        .query(params![2], Some(cursor))
        .expect_err("other values");
    assert!(matches!(err, Error::InvalidCursor(_)), "{err:?}");
}

#[test]
fn a_prepared_statement_replans_after_a_schema_change() {
    let db = db();
    let stmt = db
        .prepare("SELECT id FROM users WHERE age = 41")
        .expect("prepare");
    let before = stmt.plan(params![]).expect("plan");
    assert_eq!(before.access, keyset::AccessPath::FullScan);
    db.execute("CREATE INDEX by_age ON users (age)")
        .expect("index");
    let after = stmt.plan(params![]).expect("plan");
    assert!(
        matches!(after.access, keyset::AccessPath::IndexRange { .. }),
        "{after:?}"
    );
    assert_eq!(ids(&stmt.query(params![], None).expect("query")), vec![2]);
    db.execute("DROP INDEX by_age").expect("drop");
    assert_eq!(
        stmt.plan(params![]).expect("plan").access,
        keyset::AccessPath::FullScan
    );
    db.execute("DROP TABLE users").expect("drop table");
    let err = stmt.query(params![], None).expect_err("table gone");
    assert!(
        matches!(err, Error::Plan(PlanError::UnknownTable { .. })),
        "{err:?}"
    );
}

/// Each placeholder error, provoked, with the words its message must hold.
#[test]
fn every_placeholder_error_names_the_placeholder() {
    let db = db();
    let select = "SELECT * FROM users WHERE id = ?1 AND city = ?2";
    let cases: Vec<(&str, keyset::Params, &str)> = vec![
        (select, params![1], "missing value for ?2"),
        (select, params![1, "Oslo", 3], "3 positional values given"),
        (
            select,
            params!["one", "Oslo"],
            "expected INT for ?1, got TEXT",
        ),
        (select, params![1, 2], "expected TEXT for ?2, got INT"),
        (
            "SELECT * FROM users WHERE city = :town",
            named_params! { ":city" => "Oslo" },
            "no placeholder named :city",
        ),
        (
            "SELECT * FROM users WHERE city = :town",
            params![],
            "missing value for :town",
        ),
        (
            "SELECT * FROM users LIMIT ?",
            params![-1],
            "?1 gives the LIMIT",
        ),
        (
            "SELECT * FROM users LIMIT 1 OFFSET ?",
            params!["x"],
            "?1 gives the OFFSET",
        ),
        (
            "INSERT INTO users VALUES (?, ?, ?, ?)",
            params![5, "a", 1.5, 1.0],
            "expected INT for ?3, got FLOAT",
        ),
        (
            "UPDATE users SET age = ? WHERE id = 1",
            params![true],
            "expected INT for ?1, got BOOL",
        ),
    ];
    for (sql, values, words) in cases {
        let err = db.execute_params(sql, values).err();
        let err = err.unwrap_or_else(|| panic!("{sql}: no error"));
        assert!(
            matches!(err, Error::Plan(PlanError::Param(_))),
            "{sql}: {err:?}"
        );
        assert!(
            err.to_string().contains(words),
            "{sql}: `{err}` lacks `{words}`"
        );
    }
    let missing = db
        .query_params(select, params![1], None)
        .expect_err("missing");
    assert!(matches!(
        missing,
        Error::Plan(PlanError::Param(ParamError::Missing { .. }))
    ));
}

#[test]
fn placeholders_without_values_or_where_none_may_stand_are_refused() {
    let db = db();
    let err = db
        .execute("SELECT * FROM users WHERE id = ?")
        .expect_err("unbound");
    assert!(matches!(err, Error::Sql(SqlError::Unbound { .. })), "{err}");
    assert!(err.to_string().contains("the first is ?1"), "{err}");
    for (sql, words) in [
        ("SELECT * FROM users WHERE id = ?0", "numbered from 1"),
        ("SELECT * FROM users WHERE id = ?1000", "at most 999"),
        (
            "SELECT * FROM users WHERE city LIKE ?",
            "placeholder `?` here",
        ),
        (
            "CREATE TABLE t (id INT PRIMARY KEY) WITH (shards = ?)",
            "found `?`",
        ),
    ] {
        let err = db.execute_params(sql, params![1]).expect_err(sql);
        assert!(matches!(err, Error::Sql(_)), "{sql}: {err:?}");
        assert!(
            err.to_string().contains(words),
            "{sql}: `{err}` lacks `{words}`"
        );
    }
}

#[test]
fn parameter_values_are_stored_verbatim() {
    let db = db();
    let nasty = [
        "'; DROP TABLE users; --",
        "Robert'); DELETE FROM users WHERE ('1' = '1",
        "?1 :city $1",
        "\0\u{1F600}\\'\"",
    ];
    for (i, text) in nasty.iter().enumerate() {
        db.execute_params(
            "INSERT INTO users (id, city) VALUES (?, ?)",
            params![100 + i as i64, *text],
        )
        .expect("insert");
        let page = db
            .query_params(
                "SELECT city FROM users WHERE city = ?",
                params![*text],
                None,
            )
            .expect("query");
        assert_eq!(page.rows()[0].get::<String>("city").expect("city"), *text);
    }
    assert_eq!(db.table_names(), vec!["users"]);
    assert_eq!(
        db.query("SELECT * FROM users", None).expect("all").len(),
        4 + nasty.len()
    );
    let blob = vec![0u8, 39, 59, 255];
    db.execute("CREATE TABLE b (id INT PRIMARY KEY, v BYTES)")
        .expect("create");
    db.execute_params("INSERT INTO b VALUES (?, ?)", params![1, blob.clone()])
        .expect("insert");
    let page = db.query("SELECT v FROM b", None).expect("query");
    assert_eq!(page.rows()[0].values()[0], Value::Bytes(blob));
}

#[test]
fn set_arithmetic_on_ints_floats_columns_and_parameters() {
    let db = db();
    db.execute("UPDATE users SET age = age + 1, score = score * 2 - age WHERE city = 'Oslo'")
        .expect("update");
    let page = db
        .query("SELECT id, age, score FROM users ORDER BY id", None)
        .expect("q");
    let got: Vec<(i64, i64, f64)> = page
        .rows()
        .iter()
        .map(|r| {
            (
                r.get("id").expect("id"),
                r.get("age").expect("age"),
                r.get("score").expect("s"),
            )
        })
        .collect();
    // Every SET value computes from the row as it was before the update.
    assert_eq!(
        got,
        vec![(1, 31, 0.0), (2, 41, 20.5), (3, 53, 0.0), (4, 20, 0.0)]
    );
    db.execute_params(
        "UPDATE users SET age = ? * (age - ?) WHERE id = 2",
        params![2, 1],
    )
    .expect("update");
    let page = db
        .query("SELECT age FROM users WHERE id = 2", None)
        .expect("q");
    assert_eq!(page.rows()[0].get::<i64>("age").expect("age"), 80);
}

#[test]
fn an_overflow_names_the_column_and_row_and_changes_nothing() {
    let db = db();
    db.execute_params("UPDATE users SET age = ? WHERE id = 3", params![i64::MAX])
        .expect("set");
    let err = db
        .execute("UPDATE users SET age = age + 1")
        .expect_err("overflow");
    assert!(
        matches!(err, Error::Plan(PlanError::Arithmetic { .. })),
        "{err:?}"
    );
    let text = err.to_string();
    for words in [
        "column `age`",
        "key (3)",
        "overflows INT",
        "nothing was updated",
    ] {
        assert!(text.contains(words), "`{text}` lacks `{words}`");
    }
    let page = db
        .query("SELECT age FROM users ORDER BY id", None)
        .expect("q");
    let ages: Vec<i64> = page
        .rows()
        .iter()
        .map(|r| r.get("age").expect("age"))
        .collect();
    assert_eq!(ages, vec![30, 41, i64::MAX, 19]);
    let err = db
        .execute("UPDATE users SET age = city + 1")
        .expect_err("text");
    assert!(err.to_string().contains("got TEXT"), "{err}");
}

/// A statement of equalities keeps its plan and rewrites only the values:
/// each run must match the literal query's rows and plan signature.
#[test]
fn an_equality_statement_reuses_its_plan_for_new_values() {
    let db = Db::memory().expect("memory db");
    db.execute("CREATE TABLE u (id INT PRIMARY KEY, city TEXT, age INT) WITH (shards = 4)")
        .expect("create");
    db.execute("CREATE INDEX by_city ON u (city)")
        .expect("index");
    db.execute("CREATE INDEX by_age ON u (age)").expect("index");
    for id in 0..200i64 {
        db.execute_params(
            "INSERT INTO u VALUES (?, ?, ?)",
            params![id, ["Oslo", "Bergen", "Rome"][(id % 3) as usize], id % 7],
        )
        .expect("insert");
    }
    for sql in [
        "SELECT id FROM u WHERE id = ?1",
        "SELECT id FROM u WHERE city = ?2 ORDER BY id DESC",
        "SELECT id FROM u WHERE city = ?2 AND age = ?3",
        "SELECT id FROM u WHERE age = ?3 AND id = ?1",
    ] {
        let stmt = db.prepare(sql).expect("prepare");
        for (id, city, age) in [
            (5, "Oslo", 5),
            (7, "Rome", 0),
            (300, "Nowhere", 99),
            (9, "Bergen", 2),
        ] {
            let values = params![id, city, age];
            let literal = sql
                .replace("?1", &id.to_string())
                .replace("?2", &format!("'{city}'"))
                .replace("?3", &age.to_string());
            let used: Vec<Value> = values.positional[..stmt.parameter_count()].to_vec();
            let bound = keyset::Params::positional(used);
            let got = stmt.query(bound.clone(), None).expect("prepared");
            let want = db.query(&literal, None).expect("literal");
            assert_eq!(ids(&got), ids(&want), "{literal}");
            assert_eq!(
                stmt.plan(bound).expect("plan").signature,
                db.plan(&match keyset_sql_select(&literal) {
                    Some(q) => q,
                    None => panic!("{literal} is a SELECT"),
                })
                .expect("plan")
                .signature,
                "{literal}"
            );
        }
    }
}

fn keyset_sql_select(sql: &str) -> Option<keyset::Query> {
    match keyset_sql::parse_one(sql).ok()? {
        keyset::Statement::Select(q) => Some(q),
        _ => None,
    }
}
