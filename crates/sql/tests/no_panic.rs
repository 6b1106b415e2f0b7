//! Property: no input makes the SQL front end panic. Arbitrary strings,
//! soups of SQL keywords, names, literals and punctuation, and valid
//! statements with random damage all give `Ok` or a typed error, and never
//! `SqlError::Internal` (which would mean sqlparser panicked underneath).

use keyset_sql::{parse, parse_one, split_statements, SqlError};
use proptest::prelude::*;

fn cases() -> u32 {
    if std::env::var_os("KEYSET_LONG_TESTS").is_some() {
        4096
    } else {
        128
    }
}

const WORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "IS",
    "NULL",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "LIMIT",
    "OFFSET",
    "WITH",
    "AS",
    "CREATE",
    "TABLE",
    "INDEX",
    "UNIQUE",
    "ON",
    "DROP",
    "IF",
    "EXISTS",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "EXPLAIN",
    "ANALYZE",
    "PRIMARY",
    "KEY",
    "INT",
    "INTEGER",
    "BIGINT",
    "FLOAT",
    "REAL",
    "DOUBLE",
    "TEXT",
    "VARCHAR",
    "STRING",
    "BYTES",
    "BLOB",
    "BOOL",
    "BOOLEAN",
    "DEFAULT",
    "CHECK",
    "REFERENCES",
    "CONSTRAINT",
    "JOIN",
    "LEFT",
    "GROUP",
    "HAVING",
    "UNION",
    "ALL",
    "DISTINCT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "TRUE",
    "FALSE",
    "BEGIN",
    "COMMIT",
    "ALTER",
    "RETURNING",
    "CONFLICT",
    "DO",
    "NOTHING",
    "ESCAPE",
    "merge",
    "shards",
    "partition_by",
    "max_examined",
    "max_bytes",
    "timeout_ms",
    "ordered",
    "unordered",
    "eager",
    "count",
    "t",
    "users",
    "a",
    "b",
    "city",
    "\"Quoted\"",
    "`tick`",
    "[bracket]",
];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "-1",
    "42",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "99999999999999999999999999",
    "1.5",
    "-0.0",
    ".5",
    "1.",
    "1e308",
    "1e309",
    "1e-400",
    "0x1F",
    "0x",
    "X'0AFF'",
    "X'ABC'",
    "x''",
    "'text'",
    "'it''s'",
    "''",
    "'%'",
    "'a%'",
    "'_%'",
    "'unterminated",
    "N'x'",
    "E'\\n'",
    "$$dollar$$",
    "$1",
    "?",
    ":name",
    "@var",
    "1_000",
];

const PUNCTUATION: &[&str] = &[
    "(", ")", ",", ";", "=", "<>", "!=", "<", "<=", ">", ">=", "*", "+", "-", "/", "%", ".", "||",
    "::", "[", "]", "{", "}", "'", "\"", "--", "/*", "*/", "\n", "\t", "\\", "->", "=>", "~", "!",
    "^", "&", "|", "#", "é", "\u{0}",
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_owned),
        2 => prop::sample::select(LITERALS).prop_map(str::to_owned),
        3 => prop::sample::select(PUNCTUATION).prop_map(str::to_owned),
        1 => "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
    ]
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (token(), prop::sample::select(&[" ", " ", "", "\n"][..])),
        0..48,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .map(|(t, sep)| format!("{t}{sep}"))
            .collect()
    })
}

const VALID: &[&str] = &[
    "CREATE TABLE users (id INT PRIMARY KEY, city TEXT NOT NULL, age INT) WITH (shards = 4, partition_by = id)",
    "CREATE UNIQUE INDEX by_city ON users (city, age)",
    "INSERT INTO users (id, city) VALUES (1, 'Oslo'), (-2, X'00'), (3.5, NULL)",
    "UPDATE users SET age = 3, city = 'x' WHERE id BETWEEN 1 AND 5 OR city LIKE 'O%'",
    "DELETE FROM users WHERE NOT (age IS NULL) AND id IN (1, 2, 3)",
    "SELECT id, city FROM users WHERE city = 'Oslo' ORDER BY age DESC LIMIT 50 OFFSET 3 WITH (merge = 'eager', max_examined = 10)",
    "EXPLAIN SELECT * FROM users WHERE age >= 30",
    "DROP INDEX IF EXISTS by_city ON users",
];

/// A valid statement with a random edit: a cut, an insertion or a deletion.
fn damaged() -> impl Strategy<Value = String> {
    (
        prop::sample::select(VALID),
        any::<prop::sample::Index>(),
        0usize..3,
        token(),
        0usize..8,
    )
        .prop_map(|(sql, at, kind, insert, width)| {
            let chars: Vec<char> = sql.chars().collect();
            let i = at.index(chars.len() + 1);
            let (head, tail) = chars.split_at(i);
            let head: String = head.iter().collect();
            let tail: String = tail.iter().collect();
            match kind {
                0 => head,
                1 => format!("{head}{insert}{tail}"),
                _ => format!("{head}{}", tail.chars().skip(width).collect::<String>()),
            }
        })
}

/// Runs every entry point; fails the property if sqlparser panicked.
fn exercise(sql: &str) -> Result<(), TestCaseError> {
    for result in [parse(sql).map(|_| ()), parse_one(sql).map(|_| ())] {
        if let Err(SqlError::Internal { message, .. }) = result {
            return Err(TestCaseError::fail(format!(
                "internal error `{message}` on {sql:?}"
            )));
        }
    }
    if let Ok(pieces) = split_statements(sql) {
        for piece in pieces {
            if let Err(SqlError::Internal { message, .. }) = parse_one(&piece) {
                return Err(TestCaseError::fail(format!(
                    "internal error `{message}` on {piece:?}"
                )));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_strings_never_panic(sql in any::<String>()) {
        exercise(&sql)?;
    }

    #[test]
    fn sql_like_strings_never_panic(sql in "[ -~\n]{0,80}") {
        exercise(&sql)?;
    }

    #[test]
    fn token_soups_never_panic(sql in soup()) {
        exercise(&sql)?;
    }

    #[test]
    fn damaged_statements_never_panic(sql in damaged()) {
        exercise(&sql)?;
    }

    #[test]
    fn valid_prefixes_with_a_query_options_tail_never_panic(
        sql in damaged(),
        tail in prop::collection::vec(token(), 0..8),
    ) {
        exercise(&format!("{sql} WITH ({})", tail.join(" ")))?;
    }
}

#[test]
fn the_valid_statements_the_damage_starts_from_are_valid() {
    for sql in VALID {
        assert!(parse_one(sql).is_ok(), "{sql}: {:?}", parse_one(sql));
    }
}
