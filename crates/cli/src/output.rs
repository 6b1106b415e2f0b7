//! Rendering results for people and for scripts: pages as comfy-table
//! tables, as one JSON object per line (DESIGN.md section 8), or as CSV;
//! other outcomes as a sentence or a JSON acknowledgement. This module
//! writes to the writer it is given and never runs a statement.

use std::io::Write;
use std::time::Duration;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use keyset::{Outcome, Page, Value};
use serde::Serialize;

use crate::database::Ran;
use crate::error::CliError;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables drawn for a person, with the cursors below.
    Table,
    /// One JSON object per statement, one per line.
    Json,
    /// A header row and the rows (RFC 4180); cursors go to stderr.
    Csv,
}

/// A value as text, for tables and CSV. NULL is `None` so each format can
/// spell it (`NULL` in a table, an empty field in CSV).
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(float_text(*f)),
        Value::Text(s) => Some(s.clone()),
        Value::Bytes(b) => Some(hex(b)),
    }
}

/// A float the way Rust's `Debug` spells it: always with a decimal point or
/// an exponent (`3.0`, `0.1`, `1e300`), `inf` and `-inf` for infinities.
pub fn float_text(f: f64) -> String {
    format!("{f:?}")
}

/// Lowercase hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A value as JSON: numbers, strings, booleans and null as themselves,
/// BYTES as a hex string, non-finite floats as strings (`"inf"`, `"-inf"`).
pub fn value_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| serde_json::Value::String(float_text(*f))),
        Value::Text(s) => serde_json::Value::String(s.clone()),
        Value::Bytes(b) => serde_json::Value::String(hex(b)),
    }
}

/// The JSON shape of a page (field order as in DESIGN.md section 8).
#[derive(Debug, Serialize)]
pub struct PageJson<'a> {
    pub columns: &'a [String],
    pub rows: Vec<Vec<serde_json::Value>>,
    pub next_cursor: Option<String>,
    pub prev_cursor: Option<String>,
    pub stop: &'static str,
}

impl<'a> PageJson<'a> {
    pub fn of(page: &'a Page) -> PageJson<'a> {
        PageJson {
            columns: page.columns(),
            rows: page
                .rows()
                .iter()
                .map(|r| r.values().iter().map(value_json).collect())
                .collect(),
            next_cursor: page.next_cursor().map(|c| c.to_string()),
            prev_cursor: page.prev_cursor().map(|c| c.to_string()),
            stop: page.stop().name(),
        }
    }
}

/// The JSON line of an outcome that is not a page.
fn outcome_json(outcome: &Outcome) -> serde_json::Value {
    match outcome {
        Outcome::Schema(message) => serde_json::json!({"ok": true, "message": message}),
        Outcome::Changed(n) => serde_json::json!({"ok": true, "changed": n}),
        Outcome::Explain(plan) => serde_json::json!({"ok": true, "plan": plan}),
        Outcome::Page(page) => serde_json::to_value(PageJson::of(page))
            .unwrap_or_else(|e| serde_json::json!({"ok": false, "error": e.to_string()})),
    }
}

/// A page drawn as a table, numbers right-aligned.
pub fn page_table(page: &Page) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(page.columns().iter().map(|c| escape_controls(c)));
    for row in page.rows() {
        table.add_row(
            row.values()
                .iter()
                .map(|v| match v {
                    Value::Bytes(b) => format!("x'{}'", hex(b)),
                    Value::Text(t) => escape_controls(t),
                    other => value_text(other).unwrap_or_else(|| "NULL".to_owned()),
                })
                .collect::<Vec<_>>(),
        );
    }
    for (at, column) in table.column_iter_mut().enumerate() {
        let numeric = page.rows().iter().all(|r| {
            matches!(
                r.values().get(at),
                Some(Value::Int(_) | Value::Float(_) | Value::Null)
            )
        });
        if numeric {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// Text for a terminal: control characters (ESC, line breaks, tabs, DEL,
/// the C1 range) are shown escaped (`\u{1b}`, `\n`), so a stored value
/// cannot move the cursor, recolour or retitle the terminal, or break the
/// table's lines. JSON and CSV keep the bytes.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `1 row` / `3 rows`.
pub fn rows_word(n: usize) -> String {
    if n == 1 {
        "1 row".to_owned()
    } else {
        format!("{n} rows")
    }
}

/// A duration for people: µs below a millisecond, ms below a second, s above.
pub fn duration_text(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        format!("{micros} µs")
    } else if micros < 1_000_000 {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// A page as a table followed by its stop reason and cursors.
pub fn write_page_table(out: &mut dyn Write, page: &Page) -> Result<(), CliError> {
    write_table_and_summary(out, page)?;
    if let Some(next) = page.next_cursor() {
        writeln!(out, "next cursor: {next}")?;
    }
    if let Some(prev) = page.prev_cursor() {
        writeln!(out, "prev cursor: {prev}")?;
    }
    Ok(())
}

/// A page as a table and one line saying how many rows, why the page ended
/// and what it cost (no cursors).
pub fn write_table_and_summary(out: &mut dyn Write, page: &Page) -> Result<(), CliError> {
    if page.columns().is_empty() {
        writeln!(out, "(no columns)")?;
    } else {
        writeln!(out, "{}", page_table(page))?;
    }
    let stats = page.stats();
    writeln!(
        out,
        "{} · stop: {} · {} keys examined, {} rows fetched",
        rows_word(page.len()),
        page.stop().name(),
        stats.keys_examined,
        stats.rows_fetched
    )?;
    Ok(())
}

/// A page as CSV: a header row, then the rows. NULL is an empty field (or
/// `null_text`, bare), the empty string a quoted `""`, and a value spelled
/// like `null_text` is quoted, so NULL and text read back apart (as
/// `keyset import` reads them); BYTES are hex.
pub fn write_page_csv(
    out: &mut dyn Write,
    page: &Page,
    null_text: Option<&str>,
) -> Result<(), CliError> {
    let null = null_text.unwrap_or("");
    let header: Vec<String> = page
        .columns()
        .iter()
        .map(|c| csv_field(Some(c), null))
        .collect();
    writeln!(out, "{}", header.join(","))?;
    for row in page.rows() {
        let fields: Vec<String> = row
            .values()
            .iter()
            .map(|v| csv_field(value_text(v).as_deref(), null))
            .collect();
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
}

/// One CSV field (RFC 4180): quoted when empty, when spelled like `null`,
/// or when it holds a comma, a quote or a line break, with quotes doubled;
/// NULL (`None`) is `null` bare.
fn csv_field(text: Option<&str>, null: &str) -> String {
    match text {
        None => null.to_owned(),
        Some(t) if t.is_empty() || t == null || t.contains([',', '"', '\n', '\r']) => {
            format!("\"{}\"", t.replace('"', "\"\""))
        }
        Some(t) => t.to_owned(),
    }
}

/// One JSON line.
pub fn write_json_line(out: &mut dyn Write, value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string(value)
        .map_err(|e| CliError::Output(std::io::Error::other(e.to_string())))?;
    writeln!(out, "{text}")?;
    Ok(())
}

/// The result of one statement in the chosen format.
pub fn write_ran(out: &mut dyn Write, ran: &Ran, format: Format) -> Result<(), CliError> {
    match (ran, format) {
        (Ran::Page(page), Format::Table) => write_page_table(out, page),
        (Ran::Page(page), Format::Json) => write_json_line(out, &PageJson::of(page)),
        (Ran::Page(page), Format::Csv) => write_page_csv(out, page, None),
        (Ran::Outcome(outcome), Format::Json) => write_json_line(out, &outcome_json(outcome)),
        (Ran::Outcome(outcome), Format::Table | Format::Csv) => write_outcome_text(out, outcome),
    }
}

/// An outcome that is not a page, as text for a person.
pub fn write_outcome_text(out: &mut dyn Write, outcome: &Outcome) -> Result<(), CliError> {
    match outcome {
        Outcome::Schema(message) => writeln!(out, "{message}")?,
        Outcome::Changed(n) => writeln!(
            out,
            "{} changed",
            rows_word(usize::try_from(*n).unwrap_or(usize::MAX))
        )?,
        Outcome::Explain(plan) => write!(out, "{}", with_newline(plan))?,
        Outcome::Page(page) => write_page_table(out, page)?,
    }
    Ok(())
}

/// The text with exactly one line break at its end.
pub fn with_newline(text: &str) -> String {
    format!("{}\n", text.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_json() {
        assert_eq!(value_json(&Value::Null), serde_json::Value::Null);
        assert_eq!(value_json(&Value::Int(-3)), serde_json::json!(-3));
        assert_eq!(value_json(&Value::Float(1.5)), serde_json::json!(1.5));
        assert_eq!(
            value_json(&Value::Float(f64::INFINITY)),
            serde_json::json!("inf")
        );
        assert_eq!(
            value_json(&Value::Float(f64::NEG_INFINITY)),
            serde_json::json!("-inf")
        );
        assert_eq!(value_json(&Value::Bool(true)), serde_json::json!(true));
        assert_eq!(value_json(&Value::from("a\"b")), serde_json::json!("a\"b"));
        assert_eq!(
            value_json(&Value::Bytes(vec![0, 0xab, 0x10])),
            serde_json::json!("00ab10")
        );
    }

    #[test]
    fn values_as_text() {
        assert_eq!(value_text(&Value::Null), None);
        assert_eq!(value_text(&Value::Float(3.0)).as_deref(), Some("3.0"));
        assert_eq!(value_text(&Value::Float(0.1)).as_deref(), Some("0.1"));
        assert_eq!(
            value_text(&Value::Bytes(vec![1, 255])).as_deref(),
            Some("01ff")
        );
    }

    #[test]
    fn tables_escape_control_characters_and_csv_quotes_empty_strings() {
        let db = keyset::Db::memory().expect("memory db");
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, s TEXT)")
            .expect("create");
        let mut batch = db.batch();
        for (id, s) in [
            (1, Some("\u{1b}]0;owned\u{7}\u{1b}[2J")),
            (2, Some("")),
            (3, None),
        ] {
            batch = batch.put(
                "t",
                vec![Value::Int(id), s.map_or(Value::Null, Value::from)],
            );
        }
        batch.commit().expect("rows");
        let page = db.query("SELECT * FROM t ORDER BY id", None).expect("page");
        let drawn = page_table(&page).to_string();
        assert!(
            !drawn.contains('\u{1b}') && !drawn.contains('\u{7}'),
            "{drawn:?}"
        );
        assert!(drawn.contains("\\u{1b}]0;owned\\u{7}\\u{1b}[2J"), "{drawn}");
        let mut csv = Vec::new();
        write_page_csv(&mut csv, &page, None).expect("csv");
        assert_eq!(
            String::from_utf8(csv).expect("utf-8"),
            "id,s\n1,\u{1b}]0;owned\u{7}\u{1b}[2J\n2,\"\"\n3,\n"
        );
        let json = serde_json::to_string(&PageJson::of(&page)).expect("json");
        assert!(
            json.contains("\\u001b]0;owned"),
            "JSON escapes by its own rules: {json}"
        );
        let mut spelled = Vec::new();
        let db = keyset::Db::memory().expect("memory db");
        db.execute("CREATE TABLE n (id INT PRIMARY KEY, s TEXT)")
            .expect("create");
        db.execute("INSERT INTO n VALUES (1, NULL), (2, 'NULL'), (3, '')")
            .expect("rows");
        let page = db.query("SELECT * FROM n ORDER BY id", None).expect("page");
        write_page_csv(&mut spelled, &page, Some("NULL")).expect("csv");
        assert_eq!(
            String::from_utf8(spelled).expect("utf-8"),
            "id,s\n1,NULL\n2,\"NULL\"\n3,\"\"\n",
            "with --null-text, text spelled like it is quoted"
        );
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration_text(Duration::from_micros(850)), "850 µs");
        assert_eq!(duration_text(Duration::from_micros(1_500)), "1.50 ms");
        assert_eq!(duration_text(Duration::from_millis(2_500)), "2.50 s");
    }

    #[test]
    fn page_json_has_the_documented_fields_in_order() {
        let db = keyset::Db::memory().expect("memory db");
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, b BYTES)")
            .expect("create");
        db.execute("INSERT INTO t VALUES (1, NULL), (2, NULL)")
            .expect("insert");
        let page = db.query("SELECT * FROM t LIMIT 1", None).expect("page");
        let text = serde_json::to_string(&PageJson::of(&page)).expect("json");
        let order: Vec<usize> = [
            "\"columns\"",
            "\"rows\"",
            "\"next_cursor\"",
            "\"prev_cursor\"",
            "\"stop\"",
        ]
        .iter()
        .map(|k| text.find(k).expect("key present"))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("\"rows\":[[1,null]]"), "{text}");
        assert!(text.contains("\"stop\":\"Limit\""), "{text}");
    }
}
