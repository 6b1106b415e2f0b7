//! The trailing `WITH (...)` query options clause of SELECT and EXPLAIN
//! SELECT: merge mode and page budgets, and the errors for bad options.

use std::time::{Duration, Instant};

use keyset_plan::{col, MergeMode, Query, SortDirection, Statement};
use keyset_sql::{parse_one, SqlError};

fn query(sql: &str) -> Query {
    match parse_one(sql) {
        Ok(Statement::Select(q)) | Ok(Statement::Explain(q)) => q,
        other => panic!("`{sql}`: expected a query, got {other:?}"),
    }
}

#[test]
fn every_option_maps_to_the_query() {
    let before = Instant::now();
    let q = query(
        "SELECT * FROM users WHERE city = 'Oslo' ORDER BY age LIMIT 20 OFFSET 5 \
         WITH (merge = 'eager', max_examined = 1000, max_bytes = 65536, timeout_ms = 250)",
    );
    let after = Instant::now();
    let deadline = q.budget.deadline.expect("timeout_ms sets a deadline");
    assert!(deadline >= before + Duration::from_millis(250));
    assert!(deadline <= after + Duration::from_millis(250));
    let mut expected = Query::table("users")
        .filter(col("city").eq("Oslo"))
        .order_by("age", SortDirection::Asc)
        .limit(20)
        .offset(5)
        .max_examined(1000)
        .max_bytes(65536)
        .merge(MergeMode::OrderedEager);
    expected.budget.deadline = Some(deadline);
    assert_eq!(q, expected);
}

/// An unordered merge returns rows in arrival order: with an ORDER BY the
/// order would be dropped in silence, so the combination is refused
/// (issue 16). Without an ORDER BY it is the merge's purpose.
#[test]
fn an_unordered_merge_with_an_order_by_is_refused() {
    for sql in [
        "SELECT * FROM t ORDER BY a WITH (merge = 'unordered')",
        "EXPLAIN SELECT * FROM t ORDER BY a DESC LIMIT 5 WITH (merge = 'unordered')",
    ] {
        match parse_one(sql) {
            Err(SqlError::InvalidOption { option, reason, .. }) => {
                assert_eq!(option, "merge", "{sql}");
                assert!(
                    reason.contains("contradicts the ORDER BY"),
                    "{sql}: {reason}"
                );
            }
            other => panic!("`{sql}`: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(
        query("SELECT * FROM t WHERE a > 1 LIMIT 5 WITH (merge = 'unordered')").merge,
        MergeMode::UnorderedStreaming
    );
}

#[test]
fn merge_modes_by_name_quoted_or_not_in_any_case() {
    let cases = [
        ("'ordered'", MergeMode::OrderedStreaming),
        ("'unordered'", MergeMode::UnorderedStreaming),
        ("'eager'", MergeMode::OrderedEager),
        ("EAGER", MergeMode::OrderedEager),
        ("'Unordered'", MergeMode::UnorderedStreaming),
    ];
    for (written, mode) in cases {
        let q = query(&format!("SELECT * FROM t WITH (merge = {written})"));
        assert_eq!(q.merge, mode, "{written}");
    }
}

#[test]
fn options_apply_to_explain_and_leave_the_rest_of_the_query_alone() {
    let q = query("EXPLAIN SELECT a FROM t WHERE a IN (1, 2) WITH (max_examined = 7)");
    let expected = Query::table("t")
        .columns(&["a"])
        .filter(col("a").is_in([1, 2]))
        .max_examined(7);
    assert_eq!(q, expected);
}

#[test]
fn without_the_clause_the_defaults_hold() {
    let q = query("SELECT * FROM t LIMIT 3");
    assert_eq!(q.merge, MergeMode::OrderedStreaming);
    assert_eq!(q.budget, Default::default());
}

#[test]
fn the_clause_is_recognized_across_lines_and_comments() {
    let q = query("SELECT * FROM t\n  LIMIT 3 -- page\n  WITH ( /* budget */ max_bytes = 10 )\n");
    assert_eq!(q.budget.max_bytes, Some(10));
    assert_eq!(q.limit, Some(3));
}

#[test]
fn bad_option_values_are_invalid_option_errors() {
    let cases: &[(&str, &str, u64, u64)] = &[
        ("merge = 'fast'", "merge", 1, 31),
        ("merge = 3", "merge", 1, 31),
        ("max_examined = 0", "max_examined", 1, 38),
        ("max_bytes = -5", "max_bytes", 1, 35),
        ("max_bytes = 1.5", "max_bytes", 1, 35),
        ("max_bytes = 'ten'", "max_bytes", 1, 35),
        ("timeout_ms = 99999999999999999999999", "timeout_ms", 1, 36),
        ("max_bytes = 1, max_bytes = 2", "max_bytes", 1, 38),
    ];
    for &(options, option, line, column) in cases {
        let sql = format!("SELECT * FROM t WITH ({options})");
        match parse_one(&sql) {
            Err(SqlError::InvalidOption {
                option: got,
                line: l,
                column: c,
                ..
            }) => {
                assert_eq!(got, option, "{sql}");
                assert_eq!((l, c), (line, column), "{sql}");
            }
            other => panic!("`{sql}`: expected InvalidOption, got {other:?}"),
        }
    }
}

#[test]
fn unknown_options_are_unsupported_and_malformed_clauses_are_syntax_errors() {
    match parse_one("SELECT * FROM t WITH (Speed = 3)") {
        Err(SqlError::Unsupported { construct, .. }) => {
            assert!(construct.contains("query option `speed`"), "{construct}")
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    for sql in [
        "SELECT * FROM t WITH ()",
        "SELECT * FROM t WITH (merge)",
        "SELECT * FROM t WITH (merge 'eager')",
        "SELECT * FROM t WITH (= 3)",
        "SELECT * FROM t WITH (merge = 'eager',)",
    ] {
        assert!(
            matches!(parse_one(sql), Err(SqlError::Syntax { .. })),
            "`{sql}`: {:?}",
            parse_one(sql)
        );
    }
}

#[test]
fn the_clause_must_end_the_statement() {
    // Not at the end, sqlparser reads `WITH (...)` as table hints.
    match parse_one("SELECT * FROM t WITH (max_bytes = 5) LIMIT 3") {
        Err(SqlError::Unsupported { construct, .. }) => {
            assert!(
                construct.contains("query options go at the very end"),
                "{construct}"
            )
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    let got = parse_one("SELECT * FROM t WHERE a = 1 WITH (max_bytes = 5) ORDER BY a");
    assert!(matches!(got, Err(SqlError::Syntax { .. })), "{got:?}");
}

#[test]
fn the_clause_is_only_read_after_a_select() {
    // On CREATE TABLE, `WITH (...)` is sqlparser's table options clause.
    let got = parse_one("CREATE TABLE t (a INT PRIMARY KEY) WITH (merge = 'eager')");
    match got {
        Err(SqlError::Unsupported { construct, .. }) => {
            assert!(construct.contains("table option `merge`"), "{construct}")
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    // A DELETE does not take it at all.
    let got = parse_one("DELETE FROM t WITH (merge = 'eager')");
    assert!(got.is_err(), "{got:?}");
}
