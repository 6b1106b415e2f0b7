//! Each statement form of the subset parses to exactly the expected
//! `Statement`.

use keyset_plan::{col, CmpOp, Expr, MergeMode, Projection, Query, SortDirection, Statement};
use keyset_sql::{parse, parse_one};
use keyset_store::{ColumnDef, ColumnType, IndexSpec, TableSpec, Value};

/// Equality that also tells `Int(1)` from `Float(1.0)` (which `Value`'s
/// own `==` treats as equal numbers): the Debug forms must match.
#[track_caller]
fn exact<T: std::fmt::Debug + PartialEq>(got: T, expected: T) {
    assert_eq!(format!("{got:?}"), format!("{expected:?}"));
}

fn stmt(sql: &str) -> Statement {
    match parse_one(sql) {
        Ok(s) => s,
        Err(e) => panic!("`{sql}` should parse: {e}"),
    }
}

fn select(sql: &str) -> Query {
    match stmt(sql) {
        Statement::Select(q) => q,
        other => panic!("`{sql}` is not a SELECT: {other:?}"),
    }
}

fn filter(sql_where: &str) -> Expr {
    select(&format!("SELECT * FROM t WHERE {sql_where}"))
        .filter
        .expect("a WHERE clause gives a filter")
}

#[test]
fn create_table_with_types_not_null_primary_key_and_options() {
    let got = stmt(
        "CREATE TABLE Users (id INT PRIMARY KEY, City TEXT NOT NULL, age INTEGER, \
         big BIGINT, f FLOAT, r REAL, d DOUBLE, v VARCHAR(20), s STRING, \
         b BYTES, bl BLOB, ba BYTEA, ok BOOL, ok2 BOOLEAN) WITH (shards = 4, partition_by = ID)",
    );
    let columns = vec![
        ColumnDef::new("id", ColumnType::Int),
        ColumnDef::new("city", ColumnType::Text).not_null(),
        ColumnDef::new("age", ColumnType::Int),
        ColumnDef::new("big", ColumnType::Int),
        ColumnDef::new("f", ColumnType::Float),
        ColumnDef::new("r", ColumnType::Float),
        ColumnDef::new("d", ColumnType::Float),
        ColumnDef::new("v", ColumnType::Text),
        ColumnDef::new("s", ColumnType::Text),
        ColumnDef::new("b", ColumnType::Bytes),
        ColumnDef::new("bl", ColumnType::Bytes),
        ColumnDef::new("ba", ColumnType::Bytes),
        ColumnDef::new("ok", ColumnType::Bool),
        ColumnDef::new("ok2", ColumnType::Bool),
    ];
    let expected = TableSpec::new("users", columns, &["id"])
        .shards(4)
        .partition_by("id");
    exact(got, Statement::CreateTable(expected));
}

#[test]
fn create_table_with_a_composite_primary_key_constraint() {
    let got = stmt("CREATE TABLE events (tenant TEXT, seq INT NOT NULL, body BYTES, PRIMARY KEY (tenant, seq))");
    let expected = TableSpec::new(
        "events",
        vec![
            ColumnDef::new("tenant", ColumnType::Text),
            ColumnDef::new("seq", ColumnType::Int).not_null(),
            ColumnDef::new("body", ColumnType::Bytes),
        ],
        &["tenant", "seq"],
    );
    exact(got, Statement::CreateTable(expected));
}

#[test]
fn create_table_partition_by_may_be_a_string_and_defaults_apply() {
    let got = stmt("CREATE TABLE t (a INT PRIMARY KEY) WITH (partition_by = 'A')");
    let expected =
        TableSpec::new("t", vec![ColumnDef::new("a", ColumnType::Int)], &["a"]).partition_by("a");
    exact(got, Statement::CreateTable(expected));
    let plain = stmt("CREATE TABLE t (a INT PRIMARY KEY)");
    let Statement::CreateTable(spec) = plain else {
        panic!("not a CREATE TABLE");
    };
    exact((spec.shards, spec.partition_by), (1, None));
}

#[test]
fn create_table_without_a_key_is_left_to_the_catalog() {
    // The catalog reports a missing PRIMARY KEY; the parser passes it on.
    let got = stmt("CREATE TABLE t (a INT)");
    let expected = TableSpec::new("t", vec![ColumnDef::new("a", ColumnType::Int)], &[]);
    exact(got, Statement::CreateTable(expected));
}

#[test]
fn create_index_plain_and_unique() {
    exact(
        stmt("CREATE INDEX By_City_Age ON Users (City, age)"),
        Statement::CreateIndex(IndexSpec::new("by_city_age", "users", &["city", "age"])),
    );
    exact(
        stmt("CREATE UNIQUE INDEX by_email ON users (email ASC)"),
        Statement::CreateIndex(IndexSpec::new("by_email", "users", &["email"]).unique()),
    );
}

#[test]
fn drop_table_and_drop_index() {
    exact(
        stmt("DROP TABLE Users"),
        Statement::DropTable {
            table: "users".into(),
            if_exists: false,
        },
    );
    exact(
        stmt("DROP TABLE IF EXISTS users"),
        Statement::DropTable {
            table: "users".into(),
            if_exists: true,
        },
    );
    exact(
        stmt("DROP INDEX by_city"),
        Statement::DropIndex {
            index: "by_city".into(),
            table: None,
            if_exists: false,
        },
    );
    exact(
        stmt("DROP INDEX IF EXISTS by_city ON Users"),
        Statement::DropIndex {
            index: "by_city".into(),
            table: Some("users".into()),
            if_exists: true,
        },
    );
}

#[test]
fn insert_many_rows_of_every_literal_kind() {
    let got = stmt(
        "INSERT INTO T VALUES (1, 'it''s', X'0aFF', -9223372036854775808, 9223372036854775807, \
         1.5, -2.5e3, TRUE, false, NULL), (+7, '', x'', 0, -0, .5, 1e-3, true, FALSE, null)",
    );
    let expected = Statement::Insert {
        table: "t".into(),
        columns: None,
        rows: vec![
            vec![
                Value::Int(1),
                Value::Text("it's".into()),
                Value::Bytes(vec![0x0a, 0xff]),
                Value::Int(i64::MIN),
                Value::Int(i64::MAX),
                Value::Float(1.5),
                Value::Float(-2500.0),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null,
            ],
            vec![
                Value::Int(7),
                Value::Text(String::new()),
                Value::Bytes(vec![]),
                Value::Int(0),
                Value::Int(0),
                Value::Float(0.5),
                Value::Float(0.001),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null,
            ],
        ],
    };
    exact(got, expected);
}

#[test]
fn insert_with_a_column_list() {
    exact(
        stmt("INSERT INTO users (ID, city) VALUES (1, 'Oslo'), (2, 'Bergen')"),
        Statement::Insert {
            table: "users".into(),
            columns: Some(vec!["id".into(), "city".into()]),
            rows: vec![
                vec![Value::Int(1), Value::Text("Oslo".into())],
                vec![Value::Int(2), Value::Text("Bergen".into())],
            ],
        },
    );
}

#[test]
fn update_with_and_without_where() {
    exact(
        stmt("UPDATE users SET City = 'Oslo', age = NULL WHERE id = 3"),
        Statement::Update {
            table: "users".into(),
            assignments: vec![
                ("city".into(), Value::Text("Oslo".into()).into()),
                ("age".into(), Value::Null.into()),
            ],
            filter: Some(col("id").eq(3)),
        },
    );
    exact(
        stmt("UPDATE users SET age = -1"),
        Statement::Update {
            table: "users".into(),
            assignments: vec![("age".into(), Value::Int(-1).into())],
            filter: None,
        },
    );
}

#[test]
fn delete_with_and_without_where() {
    exact(
        stmt("DELETE FROM users WHERE age < 18"),
        Statement::Delete {
            table: "users".into(),
            filter: Some(col("age").lt(18)),
        },
    );
    exact(
        stmt("DELETE FROM users"),
        Statement::Delete {
            table: "users".into(),
            filter: None,
        },
    );
}

#[test]
fn select_star_and_columns() {
    exact(select("SELECT * FROM Users"), Query::table("users"));
    exact(
        select("SELECT Name, age FROM users").projection,
        Projection::Columns(vec!["name".into(), "age".into()]),
    );
}

#[test]
fn select_with_every_clause() {
    let got = select(
        "SELECT id, city FROM users WHERE city = 'Oslo' AND age >= 30 \
         ORDER BY age DESC, id ASC LIMIT 50 OFFSET 10",
    );
    let expected = Query::table("users")
        .columns(&["id", "city"])
        .filter(col("city").eq("Oslo").and(col("age").ge(30)))
        .order_by("age", SortDirection::Desc)
        .order_by("id", SortDirection::Asc)
        .limit(50)
        .offset(10);
    exact(got, expected);
}

#[test]
fn explain_select() {
    exact(
        stmt("EXPLAIN SELECT * FROM users WHERE id IN (1, 2) ORDER BY id"),
        Statement::Explain(
            Query::table("users")
                .filter(col("id").is_in([1, 2]))
                .order_by("id", SortDirection::Asc),
        ),
    );
}

#[test]
fn order_by_accepts_the_null_order_keyset_has() {
    let q = select("SELECT * FROM t ORDER BY a ASC NULLS FIRST, b DESC NULLS LAST");
    let expected = Query::table("t")
        .order_by("a", SortDirection::Asc)
        .order_by("b", SortDirection::Desc);
    exact(q, expected);
}

#[test]
fn every_comparison_operator() {
    let cases = [
        ("a = 1", CmpOp::Eq),
        ("a <> 1", CmpOp::Ne),
        ("a != 1", CmpOp::Ne),
        ("a < 1", CmpOp::Lt),
        ("a <= 1", CmpOp::Le),
        ("a > 1", CmpOp::Gt),
        ("a >= 1", CmpOp::Ge),
    ];
    for (sql, op) in cases {
        let expected = Expr::Cmp {
            column: "a".into(),
            op,
            value: Value::Int(1),
        };
        assert_eq!(
            format!("{:?}", filter(sql)),
            format!("{expected:?}"),
            "{sql}"
        );
    }
}

#[test]
fn literal_on_the_left_flips_the_operator() {
    let cases = [
        ("1 = a", CmpOp::Eq),
        ("1 <> a", CmpOp::Ne),
        ("1 < a", CmpOp::Gt),
        ("1 <= a", CmpOp::Ge),
        ("1 > a", CmpOp::Lt),
        ("1 >= a", CmpOp::Le),
    ];
    for (sql, op) in cases {
        let expected = Expr::Cmp {
            column: "a".into(),
            op,
            value: Value::Int(1),
        };
        assert_eq!(
            format!("{:?}", filter(sql)),
            format!("{expected:?}"),
            "{sql}"
        );
    }
}

#[test]
fn between_in_is_null_and_their_negations() {
    exact(filter("a BETWEEN 1 AND 5"), col("a").between(1, 5));
    exact(
        filter("a NOT BETWEEN 1 AND 5"),
        Expr::Between {
            column: "a".into(),
            low: Value::Int(1),
            high: Value::Int(5),
            negated: true,
        },
    );
    exact(
        filter("a IN ('x', NULL)"),
        Expr::In {
            column: "a".into(),
            values: vec![Value::Text("x".into()), Value::Null],
            negated: false,
        },
    );
    exact(
        filter("a NOT IN (1)"),
        Expr::In {
            column: "a".into(),
            values: vec![Value::Int(1)],
            negated: true,
        },
    );
    exact(filter("a IS NULL"), col("a").is_null());
    exact(filter("a IS NOT NULL"), col("a").is_not_null());
}

#[test]
fn like_prefix_and_like_without_wildcards() {
    exact(filter("name LIKE 'Os%'"), col("name").starts_with("Os"));
    exact(
        filter("name NOT LIKE 'Os%'"),
        Expr::LikePrefix {
            column: "name".into(),
            prefix: "Os".into(),
            negated: true,
        },
    );
    exact(filter("name LIKE '%'"), col("name").starts_with(""));
    exact(filter("name LIKE 'Oslo'"), col("name").eq("Oslo"));
    exact(filter("name NOT LIKE 'Oslo'"), col("name").ne("Oslo"));
}

#[test]
fn and_or_chains_are_flat_and_keep_precedence() {
    exact(
        filter("a = 1 AND b = 2 AND (c = 3 AND d = 4)"),
        Expr::And(vec![
            col("a").eq(1),
            col("b").eq(2),
            col("c").eq(3),
            col("d").eq(4),
        ]),
    );
    exact(
        filter("a = 1 OR b = 2 AND c = 3 OR d = 4"),
        Expr::Or(vec![
            col("a").eq(1),
            Expr::And(vec![col("b").eq(2), col("c").eq(3)]),
            col("d").eq(4),
        ]),
    );
    exact(
        filter("NOT (a = 1 OR b IS NULL)"),
        Expr::Or(vec![col("a").eq(1), col("b").is_null()]).not(),
    );
    exact(filter("((a = 1))"), col("a").eq(1));
}

#[test]
fn comparisons_with_null_and_floats_and_booleans_keep_their_literal() {
    exact(
        filter("a = NULL"),
        Expr::Cmp {
            column: "a".into(),
            op: CmpOp::Eq,
            value: Value::Null,
        },
    );
    exact(filter("a > -1.25"), col("a").gt(-1.25));
    exact(filter("a = TRUE"), col("a").eq(true));
    exact(filter("a = X'00'"), col("a").eq(Value::Bytes(vec![0])));
}

#[test]
fn names_are_case_insensitive_and_quoted_names_are_lowered_too() {
    exact(filter("\"Age\" = 1"), col("age").eq(1));
    exact(select("SELECT * FROM \"Users\"").table.as_str(), "users");
}

#[test]
fn several_statements_in_one_text() {
    let got = parse("DELETE FROM a; SELECT * FROM b;\n-- done\n").expect("parses");
    exact(
        got,
        vec![
            Statement::Delete {
                table: "a".into(),
                filter: None,
            },
            Statement::Select(Query::table("b")),
        ],
    );
}

#[test]
fn a_trailing_semicolon_is_still_one_statement() {
    exact(select("SELECT * FROM t;"), Query::table("t"));
    exact(
        select("SELECT * FROM t WITH (merge = 'unordered');").merge,
        MergeMode::UnorderedStreaming,
    );
}

#[test]
fn backslash_is_an_ordinary_character_in_strings() {
    exact(filter(r"a = 'a\'"), col("a").eq(r"a\"));
    exact(filter(r"a = '\n'"), col("a").eq(r"\n"));
}
