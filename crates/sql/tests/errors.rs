//! Syntax errors, bad literals, self-contradicting statements, empty and
//! over-long input: each a typed error with the position it is about.

use keyset_sql::{parse, parse_one, SqlError, MAX_EXPRESSION_TOKENS};

fn syntax_at(sql: &str) -> (String, u64, u64) {
    match parse(sql) {
        Err(SqlError::Syntax {
            message,
            line,
            column,
        }) => (message, line, column),
        other => panic!("`{sql}`: expected a syntax error, got {other:?}"),
    }
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let cases: &[(&str, &str, u64, u64)] = &[
        ("SELEC * FROM t", "SELEC", 1, 1),
        ("SELECT * FROM t WHERE", "EOF", 1, 22),
        ("SELECT * FROM t WHERE a = = 1", "=", 1, 27),
        ("SELECT *\nFROM t\nWHERE a IN ()", ")", 3, 13),
        ("INSERT INTO t VALUES (1,", "EOF", 1, 25),
        ("CREATE TABLE t (a INT,,)", ",", 1, 23),
        (
            "SELECT * FROM t;\n  SELECT * FROM t ORDER a",
            "ORDER",
            2,
            19,
        ),
        (
            "SELECT * FROM t WHERE a = 'open",
            "Unterminated string",
            1,
            27,
        ),
        ("SELECT * /* never closed", "multi-line comment", 1, 25),
    ];
    for &(sql, mention, line, column) in cases {
        let (message, l, c) = syntax_at(sql);
        assert!(
            message.contains(mention),
            "`{sql}`: message `{message}` should mention `{mention}`"
        );
        assert_eq!((l, c), (line, column), "`{sql}`: {message}");
        assert!(
            !message.contains("Line:"),
            "the position is moved out of `{message}`"
        );
    }
}

#[test]
fn the_syntax_message_reads_well() {
    let err = parse_one("SELECT * FROM t WHERE").expect_err("incomplete");
    assert_eq!(
        err.to_string(),
        "syntax error at line 1, column 22: Expected: an expression, found: EOF"
    );
}

#[test]
fn out_of_range_and_malformed_literals_are_invalid_literal_errors() {
    let cases: &[(&str, &str, u64, u64)] = &[
        (
            "SELECT * FROM t WHERE a = 9223372036854775808",
            "9223372036854775808",
            1,
            27,
        ),
        (
            "SELECT * FROM t WHERE a = -9223372036854775809",
            "-9223372036854775809",
            1,
            28,
        ),
        (
            "SELECT * FROM t WHERE a = 99999999999999999999999999999999",
            "999",
            1,
            27,
        ),
        ("SELECT * FROM t WHERE a = 1e400", "1e400", 1, 27),
        ("INSERT INTO t VALUES (X'ABC')", "X'ABC'", 1, 23),
        ("INSERT INTO t VALUES (X'ZZ')", "X'ZZ'", 1, 23),
        ("SELECT * FROM t LIMIT -1", "-1", 1, 24),
        ("SELECT * FROM t LIMIT 1.5", "1.5", 1, 23),
        ("SELECT * FROM t OFFSET 'x'", "'x'", 1, 24),
    ];
    // A negative number's position is that of its digits (sqlparser's span).
    for &(sql, literal, line, column) in cases {
        match parse_one(sql) {
            Err(SqlError::InvalidLiteral {
                literal: got,
                line: l,
                column: c,
                ..
            }) => {
                assert!(got.contains(literal), "`{sql}`: literal `{got}`");
                assert_eq!((l, c), (line, column), "`{sql}`");
            }
            other => panic!("`{sql}`: expected InvalidLiteral, got {other:?}"),
        }
    }
}

#[test]
fn statements_that_contradict_themselves_are_invalid() {
    let cases: &[(&str, &str)] = &[
        (
            "CREATE TABLE t (a INT PRIMARY KEY, b INT PRIMARY KEY)",
            "one PRIMARY KEY",
        ),
        (
            "CREATE TABLE t (a INT PRIMARY KEY, PRIMARY KEY (a))",
            "one PRIMARY KEY",
        ),
        ("CREATE TABLE t (a INT, PRIMARY KEY (a, a))", "twice"),
        (
            "CREATE TABLE t (a INT NULL NOT NULL)",
            "both NULL and NOT NULL",
        ),
        (
            "CREATE TABLE t (a INT NULL, PRIMARY KEY (a))",
            "cannot be declared NULL",
        ),
        (
            "INSERT INTO t (a, b) VALUES (1, 2), (3)",
            "1 value(s) but 2 column(s)",
        ),
        ("INSERT INTO t (a, A) VALUES (1, 2)", "named twice"),
        ("UPDATE t SET a = 1, A = 2", "assigned twice"),
        (
            "CREATE TABLE \"\" (a INT PRIMARY KEY)",
            "a table name must not be empty or only spaces",
        ),
        (
            "CREATE TABLE \"   \" (a INT PRIMARY KEY)",
            "a table name must not be empty",
        ),
        (
            "CREATE TABLE t (\" \" INT PRIMARY KEY)",
            "a column name must not be empty",
        ),
        (
            "CREATE INDEX \" \" ON t (a)",
            "an index name must not be empty",
        ),
    ];
    for &(sql, reason) in cases {
        match parse_one(sql) {
            Err(SqlError::Invalid { reason: got, .. }) => {
                assert!(got.contains(reason), "`{sql}`: reason `{got}`")
            }
            other => panic!("`{sql}`: expected Invalid, got {other:?}"),
        }
    }
}

#[test]
fn create_table_options_are_checked() {
    let bad: &[(&str, &str)] = &[
        ("WITH (shards = 0)", "shards"),
        ("WITH (shards = 257)", "shards"),
        ("WITH (shards = -1)", "shards"),
        ("WITH (shards = 'four')", "shards"),
        ("WITH (shards = 2, shards = 3)", "shards"),
        ("WITH (partition_by = 3)", "partition_by"),
    ];
    for &(options, option) in bad {
        let sql = format!("CREATE TABLE t (a INT PRIMARY KEY) {options}");
        match parse_one(&sql) {
            Err(SqlError::InvalidOption { option: got, .. }) => assert_eq!(got, option, "{sql}"),
            other => panic!("`{sql}`: expected InvalidOption, got {other:?}"),
        }
    }
    let max = parse_one("CREATE TABLE t (a INT PRIMARY KEY) WITH (shards = 256)");
    assert!(max.is_ok(), "{max:?}");
}

#[test]
fn empty_input_and_several_statements() {
    assert_eq!(parse(""), Err(SqlError::Empty));
    assert_eq!(
        parse("  ;; -- nothing\n /* at all */ ;"),
        Err(SqlError::Empty)
    );
    assert_eq!(parse_one("\n\t"), Err(SqlError::Empty));
    assert_eq!(
        parse_one("SELECT * FROM a;\n SELECT * FROM b"),
        Err(SqlError::MultipleStatements {
            count: 2,
            line: 2,
            column: 2
        })
    );
}

#[test]
fn an_overlong_expression_is_refused_before_parsing() {
    let terms = MAX_EXPRESSION_TOKENS / 4 + 10;
    let sql = format!("SELECT * FROM t WHERE {}a = 0", "a = 1 OR ".repeat(terms));
    match parse_one(&sql) {
        Err(SqlError::TooComplex { line, .. }) => assert_eq!(line, 1),
        other => panic!("expected TooComplex, got {other:?}"),
    }
    // The same number of values fits in an IN list, whatever its length.
    let list: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let sql = format!("SELECT * FROM t WHERE a IN ({})", list.join(", "));
    assert!(parse_one(&sql).is_ok());
    // And a long chain under the limit is accepted, as one flat OR.
    let sql = format!("SELECT * FROM t WHERE {}a = 0", "a = 1 OR ".repeat(400));
    assert!(parse_one(&sql).is_ok());
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let parens = format!(
        "SELECT * FROM t WHERE {}a = 1{}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert!(matches!(
        parse_one(&parens),
        Err(SqlError::TooComplex { .. })
    ));
    let nots = format!("SELECT * FROM t WHERE {}a = 1", "NOT ".repeat(500));
    assert!(parse_one(&nots).is_err());
    let minus = format!("SELECT * FROM t WHERE a = {}1", "- ".repeat(500));
    assert!(parse_one(&minus).is_err());
    let is_null = format!("SELECT * FROM t WHERE a{}", " IS NULL".repeat(5000));
    assert!(parse_one(&is_null).is_err());
}

#[test]
fn many_rows_in_one_insert_are_fine() {
    let rows: Vec<String> = (0..20_000)
        .map(|i| format!("({i}, -{i}, 'r{i}')"))
        .collect();
    let sql = format!("INSERT INTO t VALUES {}", rows.join(", "));
    match parse_one(&sql) {
        Ok(keyset_plan::Statement::Insert { rows, .. }) => assert_eq!(rows.len(), 20_000),
        other => panic!("expected an INSERT, got {other:?}"),
    }
}
