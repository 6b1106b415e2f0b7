//! `split_statements` cuts scripts at `;` tokens only: never inside a
//! string, a quoted name or a comment; pieces are trimmed and empty ones
//! dropped.

use keyset_sql::{parse_one, split_statements, split_statements_with_positions, SqlError};

#[test]
fn semicolons_inside_strings_names_and_comments_do_not_split() {
    let script = "INSERT INTO t VALUES ('a;b', 'it''s; fine');\n\
                  SELECT \"odd;name\" FROM t -- a comment; with a semicolon\n\
                  WHERE a = 1 /* block; comment */ ;\n";
    let got = split_statements(script).expect("splits");
    assert_eq!(
        got,
        vec![
            "INSERT INTO t VALUES ('a;b', 'it''s; fine')".to_owned(),
            // The comment inside stays; the one before the `;` is trimmed.
            "SELECT \"odd;name\" FROM t -- a comment; with a semicolon\nWHERE a = 1".to_owned(),
        ]
    );
}

#[test]
fn surrounding_whitespace_comments_and_empty_statements_are_dropped() {
    let script = "\n  -- header comment\n/* licence */ SELECT * FROM a ;;  ; \n\tSELECT * FROM b\n  -- trailing\n  ";
    let got = split_statements(script).expect("splits");
    assert_eq!(
        got,
        vec!["SELECT * FROM a".to_owned(), "SELECT * FROM b".to_owned()]
    );
    assert_eq!(split_statements("").expect("empty"), Vec::<String>::new());
    assert_eq!(
        split_statements(" ;\n-- only\n;").expect("only comments"),
        Vec::<String>::new()
    );
}

#[test]
fn each_piece_parses_on_its_own() {
    let script = "CREATE TABLE t (a INT PRIMARY KEY, b TEXT);\nINSERT INTO t VALUES (1, ';');\nSELECT * FROM t WHERE b = ';' WITH (max_bytes = 9);";
    for piece in split_statements(script).expect("splits") {
        assert!(parse_one(&piece).is_ok(), "`{piece}` parses");
    }
}

#[test]
fn positions_are_where_each_statement_starts() {
    let script = "SELECT 1;\n\n   SELECT 'é';  SELECT 3";
    let got = split_statements_with_positions(script).expect("splits");
    let starts: Vec<(u64, u64, &str)> = got
        .iter()
        .map(|s| (s.line, s.column, s.text.as_str()))
        .collect();
    assert_eq!(
        starts,
        vec![
            (1, 1, "SELECT 1"),
            (3, 4, "SELECT 'é'"),
            (3, 17, "SELECT 3")
        ]
    );
}

#[test]
fn multibyte_text_and_crlf_line_ends_keep_pieces_intact() {
    let script = "SELECT 'ø;å' FROM t;\r\nSELECT 'ü'\r\n;";
    let got = split_statements(script).expect("splits");
    assert_eq!(
        got,
        vec!["SELECT 'ø;å' FROM t".to_owned(), "SELECT 'ü'".to_owned()]
    );
}

#[test]
fn text_that_cannot_be_tokenized_is_a_syntax_error_with_its_position() {
    match split_statements("SELECT 1;\nSELECT 'open") {
        Err(SqlError::Syntax { line, column, .. }) => assert_eq!((line, column), (2, 8)),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert!(matches!(
        split_statements("SELECT 1 /* open"),
        Err(SqlError::Syntax { .. })
    ));
}

#[test]
fn errors_in_one_piece_can_be_reported_against_the_script() {
    let script =
        "SELECT * FROM t;\n\n  SELECT * FROM t JOIN u ON t.a = u.a;\n  DELETE FROM t WHERE a =";
    let pieces = split_statements_with_positions(script).expect("splits");
    let errors: Vec<Option<(u64, u64)>> = pieces
        .iter()
        .map(|p| {
            parse_one(&p.text)
                .err()
                .map(|e| e.located_in_script(p.line, p.column))
                .and_then(|e| e.position())
        })
        .collect();
    // The same positions `parse` reports for the whole script.
    assert_eq!(errors, vec![None, Some((3, 24)), Some((4, 26))]);
    let whole = keyset_sql::parse(script).expect_err("the join").position();
    assert_eq!(whole, Some((3, 24)));
}

#[test]
fn a_statement_is_complete_only_when_its_last_real_token_is_a_semicolon() {
    use keyset_sql::is_complete;
    let cases: [(&str, bool); 10] = [
        ("SELECT 1;", true),
        ("SELECT 1", false),
        // The `;` belongs to the line comment, which runs to the end.
        ("DELETE FROM t -- only the old rows;", false),
        ("DELETE FROM t -- only the old rows;\nWHERE id < 5;", true),
        ("SELECT 1; -- a note after the end", true),
        ("SELECT 1 /* ; */", false),
        ("SELECT 1 /* open ;", false),
        ("INSERT INTO t VALUES ('a;", false),
        ("INSERT INTO t VALUES ('a;\nb');", true),
        ("  -- only a comment;", false),
    ];
    for (text, complete) in cases {
        assert_eq!(is_complete(text), complete, "{text:?}");
    }
}

#[test]
fn the_first_statement_ends_just_past_its_semicolon_token() {
    use keyset_sql::first_statement_end;
    let cases: [(&str, Option<usize>); 5] = [
        ("SELECT 1; SELECT 2;", Some(9)),
        ("'a;b'); SELECT 2", Some(7)),
        ("SELECT 'é'; x", Some(12)),
        ("-- a; b\nSELECT 1", None),
        ("no end here", None),
    ];
    for (text, end) in cases {
        assert_eq!(
            first_statement_end(text).expect("tokenizes"),
            end,
            "{text:?}"
        );
    }
    assert!(first_statement_end("SELECT 'open").is_err());
}
