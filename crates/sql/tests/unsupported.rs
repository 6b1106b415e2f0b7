//! Everything outside the subset is an `Unsupported` error that names the
//! construct and points at it (1-based line and column). Positions come
//! from sqlparser's spans: for some constructs (JOIN, DEFAULT, CHECK, ...)
//! they point at the construct's first operand rather than its keyword.

use keyset_sql::{parse, parse_one, SqlError};

/// (SQL, a piece of the construct's name, line, column)
const CASES: &[(&str, &str, u64, u64)] = &[
    // Queries
    ("SELECT * FROM a JOIN b ON a.x = b.y", "JOIN", 1, 22),
    ("SELECT * FROM a, b", "several tables", 1, 18),
    ("SELECT city FROM t GROUP BY city", "GROUP BY", 1, 29),
    ("SELECT count(a) FROM t", "function call `count`", 1, 8),
    (
        "SELECT city, COUNT(*) FROM t GROUP BY city",
        "function call `count`",
        1,
        14,
    ),
    ("SELECT * FROM t HAVING a > 1", "HAVING", 1, 24),
    ("SELECT DISTINCT a FROM t", "DISTINCT", 1, 1),
    ("SELECT a + 1 FROM t", "expression `a + 1`", 1, 8),
    ("SELECT a AS b FROM t", "column alias", 1, 8),
    ("SELECT t.a FROM t", "qualified column name", 1, 8),
    ("SELECT t.* FROM t", "qualified wildcard", 1, 8),
    (
        "SELECT *, a FROM t",
        "`*` together with other columns",
        1,
        8,
    ),
    ("SELECT a", "SELECT without FROM", 1, 1),
    ("SELECT 1", "literal `1` in the select list", 1, 8),
    ("SELECT * FROM t AS x", "table alias", 1, 15),
    ("SELECT * FROM (SELECT * FROM t)", "subquery in FROM", 1, 16),
    (
        "SELECT * FROM t WHERE a IN (SELECT b FROM u)",
        "subquery",
        1,
        23,
    ),
    ("SELECT * FROM t WHERE EXISTS (SELECT 1)", "subquery", 1, 31),
    (
        "WITH x AS (SELECT * FROM t) SELECT * FROM x",
        "WITH (common table expression)",
        1,
        1,
    ),
    ("SELECT * FROM t UNION SELECT * FROM u", "UNION", 1, 23),
    ("SELECT * FROM t EXCEPT SELECT * FROM u", "EXCEPT", 1, 24),
    (
        "SELECT * FROM t WHERE a = b",
        "comparison between two columns",
        1,
        23,
    ),
    (
        "SELECT * FROM t WHERE 1 = 1",
        "comparison between two literals",
        1,
        23,
    ),
    (
        "SELECT * FROM t WHERE a + 1 = 2",
        "arithmetic operator `+`",
        1,
        23,
    ),
    (
        "SELECT * FROM t WHERE a = 1 * 2",
        "arithmetic operator `*`",
        1,
        27,
    ),
    (
        "SELECT * FROM t WHERE a = lower('x')",
        "function call `lower`",
        1,
        27,
    ),
    (
        "SELECT * FROM t WHERE a LIKE ?",
        "placeholder `?` here",
        1,
        30,
    ),
    (
        "SELECT * FROM t ORDER BY ?",
        "ORDER BY a position or literal",
        1,
        26,
    ),
    ("SELECT * FROM t WHERE a = CAST(1 AS TEXT)", "CAST", 1, 32),
    (
        "SELECT * FROM t WHERE a = CASE WHEN b = 1 THEN 2 END",
        "CASE",
        1,
        27,
    ),
    (
        "SELECT * FROM t WHERE a LIKE '%x'",
        "LIKE pattern `'%x'`",
        1,
        30,
    ),
    (
        "SELECT * FROM t WHERE a LIKE 'a_b%'",
        "only 'prefix%' is supported",
        1,
        30,
    ),
    (
        "SELECT * FROM t WHERE a LIKE 'a%b%'",
        "only 'prefix%' is supported",
        1,
        30,
    ),
    (
        "SELECT * FROM t WHERE a LIKE 'x%' ESCAPE '!'",
        "ESCAPE",
        1,
        23,
    ),
    ("SELECT * FROM t WHERE a ILIKE 'x%'", "ILIKE", 1, 23),
    ("SELECT * FROM t WHERE a", "bare column `a`", 1, 23),
    ("SELECT * FROM t WHERE TRUE", "constant condition", 1, 23),
    ("SELECT * FROM t WHERE a IS TRUE", "IS [NOT] TRUE", 1, 23),
    (
        "SELECT * FROM t WHERE lower(a) = 'x'",
        "function call `lower`",
        1,
        23,
    ),
    (
        "SELECT * FROM t WHERE a = 0x1F",
        "hexadecimal number `0x1F`",
        1,
        27,
    ),
    ("SELECT * FROM t WHERE a = N'x'", "literal `N'x'`", 1, 27),
    ("SELECT * FROM t ORDER BY 1", "ORDER BY a position", 1, 26),
    (
        "SELECT * FROM t ORDER BY a + 1",
        "ORDER BY arithmetic",
        1,
        26,
    ),
    (
        "SELECT * FROM t ORDER BY a NULLS LAST",
        "NULLS LAST with ASC",
        1,
        26,
    ),
    (
        "SELECT * FROM t ORDER BY a DESC NULLS FIRST",
        "NULLS FIRST with DESC",
        1,
        26,
    ),
    ("SELECT * FROM t LIMIT a", "LIMIT with a non-literal", 1, 23),
    ("SELECT * FROM t LIMIT 5, 10", "LIMIT offset, count", 1, 23),
    ("SELECT * FROM t FOR UPDATE", "FOR UPDATE", 1, 1),
    ("EXPLAIN ANALYZE SELECT * FROM t", "EXPLAIN ANALYZE", 1, 1),
    (
        "EXPLAIN DELETE FROM t",
        "EXPLAIN of a statement other than SELECT",
        1,
        1,
    ),
    ("DESCRIBE t", "DESCRIBE", 1, 1),
    // Writes
    ("INSERT INTO t SELECT * FROM u", "INSERT ... SELECT", 1, 15),
    (
        "INSERT INTO t VALUES (1 + 1)",
        "arithmetic operator `+`",
        1,
        23,
    ),
    ("INSERT INTO t VALUES (a)", "column reference `a`", 1, 23),
    ("INSERT INTO t VALUES (now())", "function call `now`", 1, 23),
    (
        "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING",
        "ON CONFLICT",
        1,
        1,
    ),
    ("INSERT INTO t VALUES (1) RETURNING *", "RETURNING", 1, 1),
    ("INSERT INTO t DEFAULT VALUES", "DEFAULT VALUES", 1, 1),
    (
        "INSERT OR REPLACE INTO t VALUES (1)",
        "INSERT OR REPLACE",
        1,
        1,
    ),
    (
        "UPDATE t SET a = -b",
        "arithmetic on a non-number `-b`",
        1,
        19,
    ),
    (
        "UPDATE t SET a = a / 2 WHERE id = 1",
        "arithmetic operator `/`",
        1,
        18,
    ),
    ("UPDATE t SET (a, b) = (1, 2)", "tuple assignment", 1, 15),
    ("UPDATE t SET a = 1 FROM u", "UPDATE ... FROM", 1, 1),
    ("DELETE FROM t USING u", "DELETE ... USING", 1, 1),
    ("DELETE FROM t WHERE a = 1 RETURNING a", "RETURNING", 1, 1),
    // Schema
    ("CREATE TABLE t (a INT DEFAULT 5)", "DEFAULT", 1, 31),
    ("CREATE TABLE t (a INT CHECK (a > 0))", "CHECK", 1, 30),
    (
        "CREATE TABLE t (a INT REFERENCES u (x))",
        "FOREIGN KEY",
        1,
        34,
    ),
    (
        "CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES u (x))",
        "FOREIGN KEY",
        1,
        37,
    ),
    ("CREATE TABLE t (a INT, CHECK (a > 0))", "CHECK", 1, 31),
    (
        "CREATE TABLE t (a INT UNIQUE)",
        "UNIQUE column constraint",
        1,
        17,
    ),
    (
        "CREATE TABLE t (a INT, UNIQUE (a))",
        "UNIQUE table constraint",
        1,
        32,
    ),
    (
        "CREATE TABLE t (a INT CONSTRAINT pk PRIMARY KEY)",
        "named constraint",
        1,
        34,
    ),
    (
        "CREATE TABLE t (a DECIMAL(10, 2))",
        "column type `DECIMAL(10,2)`",
        1,
        17,
    ),
    ("CREATE TABLE t (a DATE)", "column type `DATE`", 1, 17),
    ("CREATE TABLE t (a INT(11))", "column type `INT(11)`", 1, 17),
    (
        "CREATE TABLE IF NOT EXISTS t (a INT PRIMARY KEY)",
        "IF NOT EXISTS",
        1,
        1,
    ),
    (
        "CREATE TEMPORARY TABLE t (a INT PRIMARY KEY)",
        "CREATE TEMPORARY TABLE",
        1,
        1,
    ),
    ("CREATE TABLE t AS SELECT * FROM u", "AS SELECT", 1, 1),
    (
        "CREATE TABLE s.t (a INT PRIMARY KEY)",
        "qualified name `s.t`",
        1,
        14,
    ),
    (
        "CREATE TABLE t (a INT PRIMARY KEY) WITH (color = 'red')",
        "table option `color`",
        1,
        42,
    ),
    (
        "CREATE TABLE t (a INT PRIMARY KEY) ENGINE = InnoDB",
        "table options",
        1,
        1,
    ),
    (
        "CREATE TABLE t (a INT PRIMARY KEY) PARTITION BY (a)",
        "PARTITION BY",
        1,
        1,
    ),
    ("CREATE INDEX ON t (a)", "without a name", 1, 1),
    ("CREATE INDEX i ON t (a DESC)", "DESC", 1, 22),
    (
        "CREATE INDEX i ON t (lower(a))",
        "expression in index",
        1,
        22,
    ),
    ("CREATE INDEX i ON t (a) WHERE a > 1", "partial index", 1, 1),
    (
        "CREATE INDEX IF NOT EXISTS i ON t (a)",
        "IF NOT EXISTS",
        1,
        1,
    ),
    ("DROP VIEW v", "DROP VIEW", 1, 1),
    ("DROP TABLE a, b", "several objects", 1, 15),
    ("DROP TABLE t CASCADE", "CASCADE", 1, 1),
    // Other statements
    ("BEGIN", "statement `BEGIN`", 1, 1),
    ("START TRANSACTION", "statement `START TRANSACTION`", 1, 1),
    ("COMMIT", "statement `COMMIT`", 1, 1),
    ("ROLLBACK", "statement `ROLLBACK`", 1, 1),
    (
        "ALTER TABLE t ADD COLUMN x INT",
        "statement `ALTER TABLE`",
        1,
        1,
    ),
    (
        "CREATE VIEW v AS SELECT * FROM t",
        "statement `CREATE VIEW`",
        1,
        1,
    ),
    ("TRUNCATE TABLE t", "statement `TRUNCATE TABLE`", 1, 1),
    ("SHOW TABLES", "statement `SHOW TABLES`", 1, 1),
    // Query options
    (
        "SELECT * FROM t WITH (nolock)",
        "query option `nolock`",
        1,
        23,
    ),
    (
        "SELECT * FROM t WITH (merge = 'eager', speed = 1)",
        "query option `speed`",
        1,
        40,
    ),
];

#[test]
fn each_unsupported_construct_is_named_with_its_position() {
    let mut failures = Vec::new();
    for &(sql, construct, line, column) in CASES {
        match parse_one(sql) {
            Err(SqlError::Unsupported {
                construct: got,
                line: l,
                column: c,
            }) if got.contains(construct) && (l, c) == (line, column) => {}
            other => failures.push(format!(
                "{sql}\n  expected Unsupported `{construct}` at {line}:{column}\n  got {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_message_names_the_construct_and_the_position() {
    let err = parse_one("SELECT *\nFROM t\n  JOIN u ON t.a = u.a").expect_err("a join");
    assert_eq!(
        err.to_string(),
        "unsupported: JOIN at line 3, column 8 (keyset reads a SQL subset, see docs/sql.md)"
    );
    assert_eq!(err.position(), Some((3, 8)));
}

#[test]
fn positions_count_from_the_start_of_a_script() {
    let script = "SELECT * FROM t;\n\nDELETE FROM t;\n  SELECT * FROM a\n    JOIN b ON a.x = b.x;";
    match parse(script) {
        Err(SqlError::Unsupported {
            construct,
            line,
            column,
        }) => {
            assert_eq!(construct, "JOIN");
            assert_eq!((line, column), (5, 10));
        }
        other => panic!("expected an Unsupported JOIN, got {other:?}"),
    }
}

#[test]
fn positions_count_characters_not_bytes() {
    match parse_one("SELECT * FROM t WHERE a = 'ø' AND b + 1 = 2") {
        Err(SqlError::Unsupported { line, column, .. }) => assert_eq!((line, column), (1, 35)),
        other => panic!("expected Unsupported, got {other:?}"),
    }
}
