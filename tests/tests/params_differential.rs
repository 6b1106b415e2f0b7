//! Parameters and COUNT(*) against the differential suite's random
//! databases and queries (`differential/`):
//!
//! - the same random SELECT, run with its literals in the text and with
//!   every literal a placeholder bound to the same value, gives the same
//!   pages, the same stop reasons and the same cursors (a plan's signature
//!   is computed with its values bound);
//! - `SELECT COUNT(*)` over random filters equals SQLite's count, and with
//!   a scan budget the partial counts, followed through their cursors, add
//!   up to it.
//!
//! `KEYSET_DIFF_SEED=<seed>` replays one database, as in differential.rs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "differential/oracle.rs"]
mod oracle;
#[allow(dead_code)]
#[path = "differential/query.rs"]
mod query;
#[allow(dead_code)]
#[path = "differential/rng.rs"]
mod rng;
#[allow(dead_code)]
#[path = "differential/schema.rs"]
mod schema;
#[allow(dead_code)]
#[path = "differential/walk.rs"]
mod walk;

use keyset::{Cursor, Db, ExecOptions, Params, StopReason, Value};
use oracle::{keyset_cell, Engines, Rows};
use query::Select;
use rng::Rng;
use schema::Schema;

/// Databases per suite, and statements on each.
const DATABASES: u64 = 40;
const QUERIES_PER_DATABASE: usize = 16;
/// Most pages a walk may take before it counts as a hang.
const MAX_PAGES: usize = 20_000;

fn seeds(salt: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("KEYSET_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let mut rng = Rng::new(0x7061_7261_6d73 ^ salt);
    (0..DATABASES).map(|_| rng.next_u64()).collect()
}

/// Both engines with a random schema and 20-80 rows, inserted with fresh
/// keys (a statement a unique index refuses is refused by both).
fn engines(seed: u64) -> (Rng, Engines) {
    let mut rng = Rng::new(seed);
    let schema = Schema::random(&mut rng);
    let engines = Engines::new(schema, ExecOptions::default());
    let target = 20 + rng.below(60);
    for _ in 0..target {
        let schema = &engines.schema;
        let row: Vec<Value> = (0..schema.columns.len())
            .map(|c| schema.value(&mut rng, c))
            .collect();
        let sql = query::insert(&mut rng, schema, &[row]);
        match engines.write(&sql) {
            (Ok(k), Ok(s)) if k == s => {}
            (Err(_), Err(_)) => {}
            (k, s) => panic!("seed {seed}: `{sql}` disagrees: keyset {k:?}, SQLite {s:?}"),
        }
    }
    (rng, engines)
}

/// The statement with each literal replaced by a placeholder, and the
/// values in placeholder order. Left as text: NULL, LIKE patterns, and
/// everything in the trailing `WITH (...)` options clause.
fn parameterize(sql: &str) -> (String, Vec<Value>) {
    let (body, options) = match sql.find(" WITH (") {
        Some(at) => sql.split_at(at),
        None => (sql, ""),
    };
    let chars: Vec<char> = body.chars().collect();
    let mut out = String::new();
    let mut values = Vec::new();
    let mut last_word = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let quoted_at = |at: usize| chars.get(at) == Some(&'\'');
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if (word == "X" || word == "x") && quoted_at(i) {
                let end = closing_quote(&chars, i + 1);
                let hex: String = chars[i + 1..end].iter().collect();
                values.push(Value::Bytes(hex_bytes(&hex)));
                out.push('?');
                i = end + 1;
                continue;
            }
            match word.to_ascii_uppercase().as_str() {
                "TRUE" | "FALSE" => {
                    values.push(Value::Bool(word.eq_ignore_ascii_case("TRUE")));
                    out.push('?');
                }
                _ => out.push_str(&word),
            }
            last_word = word.to_ascii_uppercase();
            continue;
        }
        if c == '\'' {
            let end = closing_quote(&chars, i + 1);
            let text: String = chars[i + 1..end]
                .iter()
                .collect::<String>()
                .replace("''", "'");
            if last_word == "LIKE" {
                out.extend(&chars[i..=end]);
            } else {
                values.push(Value::Text(text));
                out.push('?');
            }
            i = end + 1;
            continue;
        }
        let negative = c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() || negative {
            let start = i;
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                let exponent_sign = (d == '+' || d == '-') && matches!(chars[i - 1], 'e' | 'E');
                if d.is_ascii_digit() || d == '.' || d == 'e' || d == 'E' || exponent_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            let number: String = chars[start..i].iter().collect();
            let value = match number.parse::<i64>() {
                Ok(n) => Value::Int(n),
                Err(_) => Value::Float(number.parse().expect("a number literal")),
            };
            values.push(value);
            out.push('?');
            continue;
        }
        if !c.is_whitespace() && c != '(' {
            last_word.clear();
        }
        out.push(c);
        i += 1;
    }
    out.push_str(options);
    (out, values)
}

/// Where the string opened before `from` ends (`''` is a quote inside it).
fn closing_quote(chars: &[char], mut from: usize) -> usize {
    while from < chars.len() {
        if chars[from] == '\'' {
            if chars.get(from + 1) == Some(&'\'') {
                from += 2;
                continue;
            }
            return from;
        }
        from += 1;
    }
    panic!("unterminated string in generated SQL")
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// One walked page: rows, stop, and the next cursor's token.
type Walk = Vec<(Rows, StopReason, Option<String>)>;

/// Every page of a query, following `next_cursor` (`run` runs one page).
fn walk(run: &dyn Fn(Option<&Cursor>) -> keyset::Result<keyset::Page>) -> Result<Walk, String> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..MAX_PAGES {
        let page = run(cursor.as_ref()).map_err(|e| e.to_string())?;
        let rows = page
            .rows()
            .iter()
            .map(|r| r.values().iter().map(keyset_cell).collect())
            .collect();
        let next = page.next_cursor().cloned();
        out.push((rows, page.stop(), next.as_ref().map(ToString::to_string)));
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
    Err(format!("no end within {MAX_PAGES} pages"))
}

/// Every row of a walk, sorted.
fn sorted_rows(walk: &Walk) -> Rows {
    let mut rows: Rows = walk.iter().flat_map(|(rows, _, _)| rows.clone()).collect();
    rows.sort();
    rows
}

#[test]
fn literal_and_parameter_queries_give_the_same_pages() {
    let (mut compared, mut with_values, mut failed_alike) = (0, 0, 0);
    for seed in seeds(1) {
        let (mut rng, engines) = engines(seed);
        let db: &Db = &engines.keyset;
        for _ in 0..QUERIES_PER_DATABASE {
            let select = Select::random(&mut rng, &engines.schema);
            let literal = select.keyset_sql(&engines.schema);
            let (text, values) = parameterize(&literal);
            let context = || format!("seed {seed}\nliteral: {literal}\nparams: {text} {values:?}");
            let by_literal = walk(&|c| db.query(&literal, c));
            let by_params =
                walk(&|c| db.query_params(&text, Params::positional(values.clone()), c));
            match (&by_literal, &by_params) {
                // Shards merged unordered arrive in thread order: the same
                // rows, but not always on the same pages, and OFFSET skips
                // whichever rows come first (docs/shards.md).
                (Ok(a), Ok(b)) if select.merge == query::Merge::Unordered => {
                    let (a, b) = (sorted_rows(a), sorted_rows(b));
                    if select.offset > 0 {
                        assert_eq!(a.len(), b.len(), "{}", context());
                    } else {
                        assert_eq!(a, b, "{}", context());
                    }
                }
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{}", context()),
                (Err(_), Err(_)) => failed_alike += 1,
                _ => panic!(
                    "{}\nliteral: {by_literal:?}\nparams: {by_params:?}",
                    context()
                ),
            }
            compared += 1;
            with_values += usize::from(!values.is_empty());
        }
    }
    assert!(
        with_values * 10 > compared * 7,
        "{with_values} of {compared} had values"
    );
    assert!(
        failed_alike * 4 < compared,
        "{failed_alike} of {compared} failed"
    );
}

#[test]
fn parameterizing_keeps_like_patterns_null_and_options() {
    let (text, values) = parameterize(
        "SELECT * FROM t WHERE (a = 'it''s') AND (b LIKE 'x%') AND (c IS NULL) AND (d IN (-3, 2.5, TRUE, X'0AFF')) ORDER BY a LIMIT 3 OFFSET 1 WITH (max_examined = 5)",
    );
    assert_eq!(
        text,
        "SELECT * FROM t WHERE (a = ?) AND (b LIKE 'x%') AND (c IS NULL) AND (d IN (?, ?, ?, ?)) ORDER BY a LIMIT ? OFFSET ? WITH (max_examined = 5)"
    );
    assert_eq!(
        values,
        vec![
            Value::Text("it's".into()),
            Value::Int(-3),
            Value::Float(2.5),
            Value::Bool(true),
            Value::Bytes(vec![10, 255]),
            Value::Int(3),
            Value::Int(1),
        ]
    );
}

#[test]
fn counts_match_sqlite_and_budget_stopped_counts_add_up() {
    let (mut counted, mut stopped) = (0, 0);
    for seed in seeds(2) {
        let (mut rng, engines) = engines(seed);
        let table = &engines.schema.table;
        for _ in 0..QUERIES_PER_DATABASE {
            let filter = query::predicate(&mut rng, &engines.schema, 0);
            let sqlite: i64 = engines
                .sqlite
                .query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE {filter}"),
                    [],
                    |r| r.get(0),
                )
                .expect("SQLite counts");
            let budget = rng.chance(60).then(|| 1 + rng.below(12));
            let sql = match budget {
                Some(n) => {
                    format!("SELECT COUNT(*) FROM {table} WHERE {filter} WITH (max_examined = {n})")
                }
                None => format!("SELECT COUNT(*) FROM {table} WHERE {filter}"),
            };
            let context = || format!("seed {seed}\n{sql}");
            let pages = walk(&|c| engines.keyset.query(&sql, c))
                .unwrap_or_else(|e| panic!("{}\n{e}", context()));
            let mut total = 0;
            for (rows, stop, next) in &pages {
                assert_eq!(rows.len(), 1, "{}", context());
                let oracle::Cell::Int(n) = rows[0][0] else {
                    panic!("{}: a count is an INT, got {rows:?}", context())
                };
                total += n;
                match next {
                    Some(_) => assert_eq!(*stop, StopReason::ScanBudget, "{}", context()),
                    None => assert_eq!(*stop, StopReason::Exhausted, "{}", context()),
                }
            }
            assert_eq!(total, sqlite, "{}\n{pages:?}", context());
            counted += 1;
            stopped += usize::from(pages.len() > 1);
        }
    }
    assert!(
        stopped * 5 > counted,
        "{stopped} of {counted} counts were stopped by a budget"
    );
}

/// Injection attempts bound as values are stored and matched verbatim, as
/// SQLite stores them, and nothing else happens.
#[test]
fn injection_attempts_as_values_are_stored_verbatim() {
    let attempts = [
        "'; DROP TABLE t; --",
        "x' OR '1'='1",
        "1); DELETE FROM t; --",
        "?1 :name $1 @x",
        "\\'; SELECT * FROM t WHERE 'a' = 'a",
        "COUNT(*)",
        "\u{0}\u{1F600}'\"`",
    ];
    let db = Db::memory().expect("db");
    let sqlite = rusqlite::Connection::open_in_memory().expect("sqlite");
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, s TEXT)")
        .expect("create");
    sqlite
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)")
        .expect("create");
    for (id, text) in attempts.iter().enumerate() {
        let id = id as i64;
        db.execute_params(
            "INSERT INTO t VALUES (?, ?)",
            Params::positional(vec![Value::Int(id), Value::Text((*text).to_owned())]),
        )
        .expect("insert");
        sqlite
            .execute("INSERT INTO t VALUES (?1, ?2)", rusqlite::params![id, text])
            .expect("insert");
        db.execute_params(
            "UPDATE t SET s = :s WHERE s = :s",
            Params::new().named(":s", Value::Text((*text).to_owned())),
        )
        .expect("update");
    }
    let keyset_rows: Vec<(i64, String)> = db
        .query("SELECT id, s FROM t ORDER BY id", None)
        .expect("rows")
        .rows()
        .iter()
        .map(|r| (r.get("id").expect("id"), r.get("s").expect("s")))
        .collect();
    let mut stmt = sqlite
        .prepare("SELECT id, s FROM t ORDER BY id")
        .expect("prepare");
    let sqlite_rows: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(keyset_rows, sqlite_rows);
    assert_eq!(keyset_rows.len(), attempts.len());
    for (id, text) in attempts.iter().enumerate() {
        let page = db
            .query_params(
                "SELECT id FROM t WHERE s = ?",
                Params::positional(vec![Value::Text((*text).to_owned())]),
                None,
            )
            .expect("query");
        assert_eq!(page.len(), 1, "{text}");
        assert_eq!(page.rows()[0].get::<i64>("id").expect("id"), id as i64);
    }
    assert_eq!(db.table_names(), vec!["t"]);
}
