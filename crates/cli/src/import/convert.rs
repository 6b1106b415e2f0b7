//! Turning one input record into one row of the target table: a JSON
//! object by column names, or CSV fields by the header's columns, each
//! value converted to its column's type and checked the way the store will
//! check it (`Value::normalize_for`). It never touches the database.

use keyset::{ColumnType, TableDef, Value};

/// Why one record cannot become a row (shown after `line N: `).
pub type Rejection = String;

/// Longest value quoted back in a message, in characters.
const MAX_QUOTED_CHARS: usize = 40;

fn quoted(text: &str) -> String {
    let mut short: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    format!("{short:?}")
}

/// Checks a converted value against its column (NOT NULL, NaN, type) and
/// returns the form the store keeps (the store runs the same check again
/// when the batch commits).
fn checked(table: &TableDef, at: usize, value: Value) -> Result<Value, Rejection> {
    let column = &table.columns[at];
    match &value {
        Value::Null if !column.nullable => {
            return Err(format!("column `{}` is NOT NULL", column.name))
        }
        Value::Float(f) if f.is_nan() => {
            return Err(format!("column `{}`: NaN cannot be stored", column.name))
        }
        _ => {}
    }
    let found = value.kind();
    value
        .normalize_for(column.ty, column.nullable)
        .map_err(|_| {
            format!(
                "column `{}` is {}, not {found}",
                column.name,
                column.ty.name()
            )
        })
}

/// Fills the columns a record did not name with NULL and checks them.
fn finish(table: &TableDef, slots: Vec<Option<Value>>) -> Result<Vec<Value>, Rejection> {
    slots
        .into_iter()
        .enumerate()
        .map(|(at, slot)| checked(table, at, slot.unwrap_or(Value::Null)))
        .collect()
}

/// A JSON object (one line of JSON Lines) as a row.
pub fn json_row(table: &TableDef, line: &[u8]) -> Result<Vec<Value>, Rejection> {
    let fields = super::json::object_fields(line)?;
    let mut slots: Vec<Option<Value>> = vec![None; table.columns.len()];
    for (name, raw) in &fields.entries {
        let at = table
            .column_index(name)
            .ok_or_else(|| unknown_column(table, name))?;
        if slots[at].is_some() {
            return Err(format!("column `{name}` is given twice"));
        }
        slots[at] = Some(json_value(
            &table.columns[at].name,
            table.columns[at].ty,
            raw.get(),
        )?);
    }
    finish(table, slots)
}

fn unknown_column(table: &TableDef, name: &str) -> Rejection {
    let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    format!(
        "unknown column `{name}` (table `{}` has: {})",
        table.name,
        known.join(", ")
    )
}

/// One JSON value, given as the raw JSON text written, for a column of
/// type `ty`. No coercion between kinds except an integer into a FLOAT
/// column and a hex string into BYTES. Numbers go through the conversions
/// CSV fields and SQL literals use.
fn json_value(column: &str, ty: ColumnType, raw: &str) -> Result<Value, Rejection> {
    let wrong = |what: &str| format!("column `{column}` is {}, not {what}", ty.name());
    let parsed = || -> Result<serde_json::Value, Rejection> {
        serde_json::from_str(raw).map_err(|e| format!("column `{column}`: {e}"))
    };
    match raw.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => match ty {
            ColumnType::Int => raw.parse::<i64>().map(Value::Int).map_err(|_| {
                format!("column `{column}` is INT, and {raw} is not a 64-bit integer")
            }),
            ColumnType::Float => keyset_sql::parse_float(raw)
                .map(Value::Float)
                .map_err(|why| format!("column `{column}` is FLOAT: {}: {why}", quoted(raw))),
            _ => Err(wrong("a number")),
        },
        Some(b'"') => {
            let serde_json::Value::String(s) = parsed()? else {
                return Err(wrong("a string"));
            };
            match ty {
                ColumnType::Text => Ok(Value::Text(s)),
                ColumnType::Bytes => unhex(&s).ok_or_else(|| {
                    format!("column `{column}` is BYTES: {} is not hex", quoted(&s))
                }),
                _ => Err(wrong(&format!("the string {}", quoted(&s)))),
            }
        }
        _ => match (parsed()?, ty) {
            (serde_json::Value::Null, _) => Ok(Value::Null),
            (serde_json::Value::Bool(b), ColumnType::Bool) => Ok(Value::Bool(b)),
            (serde_json::Value::Bool(_), _) => Err(wrong("a boolean")),
            (serde_json::Value::Array(_), _) => Err(wrong("an array")),
            (_, _) => Err(wrong("an object")),
        },
    }
}

/// Even-length hex text (either case) as bytes.
pub fn unhex(text: &str) -> Option<Value> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect::<Option<Vec<u8>>>()
        .map(Value::Bytes)
}

/// The table positions of a CSV header's columns. A header naming an
/// unknown column or one column twice makes the whole file unreadable.
pub fn csv_header(table: &TableDef, header: &[&str]) -> Result<Vec<usize>, Rejection> {
    let mut positions = Vec::with_capacity(header.len());
    for name in header {
        let at = table
            .column_index(name.trim())
            .ok_or_else(|| unknown_column(table, name.trim()))?;
        if positions.contains(&at) {
            return Err(format!("column `{}` is named twice", name.trim()));
        }
        positions.push(at);
    }
    Ok(positions)
}

/// How NULL is spelled in a CSV file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvNull<'a> {
    /// The common convention: an unquoted empty field is NULL, a quoted
    /// `""` is the empty string (and `X''` for BYTES).
    EmptyUnquoted,
    /// `--null-text TEXT`: an unquoted field equal to TEXT is NULL; every
    /// other field, empty ones too, is a value.
    Text(&'a str),
}

impl CsvNull<'_> {
    fn is_null(self, text: &str, quoted: bool) -> bool {
        match self {
            CsvNull::EmptyUnquoted => !quoted && text.is_empty(),
            CsvNull::Text(null) => !quoted && text == null,
        }
    }
}

/// One CSV field as read, with whether it was written in quotes.
#[derive(Clone, Copy, Debug)]
pub struct CsvField<'a> {
    pub raw: &'a [u8],
    pub quoted: bool,
}

/// One CSV record as a row.
pub fn csv_row(
    table: &TableDef,
    header: &[usize],
    fields: &[CsvField<'_>],
    null: CsvNull<'_>,
) -> Result<Vec<Value>, Rejection> {
    if fields.len() != header.len() {
        return Err(format!(
            "{} fields, but the header has {}",
            fields.len(),
            header.len()
        ));
    }
    let mut slots: Vec<Option<Value>> = vec![None; table.columns.len()];
    for (&at, field) in header.iter().zip(fields) {
        let column = &table.columns[at];
        let text = std::str::from_utf8(field.raw)
            .map_err(|_| format!("column `{}`: the field is not UTF-8 text", column.name))?;
        slots[at] = Some(if null.is_null(text, field.quoted) {
            Value::Null
        } else {
            csv_value(&column.name, column.ty, text)?
        });
    }
    finish(table, slots)
}

/// One CSV field that is not NULL, for a column of type `ty`.
fn csv_value(column: &str, ty: ColumnType, text: &str) -> Result<Value, Rejection> {
    let bad = |what: &str| {
        format!(
            "column `{column}` is {}: {} is not {what}",
            ty.name(),
            quoted(text)
        )
    };
    let trimmed = text.trim();
    match ty {
        ColumnType::Text => Ok(Value::Text(text.to_owned())),
        ColumnType::Int => trimmed
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| bad("a 64-bit integer")),
        ColumnType::Float => keyset_sql::parse_float(trimmed)
            .map(Value::Float)
            .map_err(|why| format!("column `{column}` is FLOAT: {}: {why}", quoted(text))),
        ColumnType::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "f" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(bad("a boolean (true/false)")),
        },
        ColumnType::Bytes => unhex(trimmed).ok_or_else(|| bad("hex")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> std::sync::Arc<TableDef> {
        let db = keyset::Db::memory().expect("memory db");
        db.execute(
            "CREATE TABLE t (id INT PRIMARY KEY, name TEXT NOT NULL, score FLOAT, ok BOOL, raw BYTES)",
        )
        .expect("create");
        db.table("t").expect("t")
    }

    fn plain(raw: &[u8]) -> CsvField<'_> {
        CsvField { raw, quoted: false }
    }

    fn fields<'a>(raws: &[&'a [u8]]) -> Vec<CsvField<'a>> {
        raws.iter().map(|r| plain(r)).collect()
    }

    #[test]
    fn json_objects_become_rows_in_column_order() {
        let t = table();
        let row = json_row(
            &t,
            br#"{"name": "ada", "id": 7, "score": 2, "raw": "00ff"}"#,
        )
        .expect("row");
        assert_eq!(
            row,
            vec![
                Value::Int(7),
                Value::from("ada"),
                Value::Float(2.0),
                Value::Null,
                Value::Bytes(vec![0, 255])
            ]
        );
    }

    #[test]
    fn json_rejections_name_the_problem() {
        let t = table();
        let cases: [(&[u8], &str); 11] = [
            (b"{\"id\": 1", "not valid JSON"),
            (b"[1, 2]", "not a JSON object"),
            (
                br#"{"id": 1, "name": "a", "colour": 3}"#,
                "unknown column `colour`",
            ),
            (
                br#"{"id": "1", "name": "a"}"#,
                "column `id` is INT, not the string \"1\"",
            ),
            (br#"{"id": 1.5, "name": "a"}"#, "not a 64-bit integer"),
            (br#"{"id": 1}"#, "column `name` is NOT NULL"),
            (br#"{"id": 1, "name": "a", "raw": "xyz"}"#, "is not hex"),
            (
                br#"{"id": 52, "name": "x", "name": "y"}"#,
                "key `name` is given twice",
            ),
            (
                br#"{"id": 52, "name": "x", "NAME": "y"}"#,
                "column `NAME` is given twice",
            ),
            (
                br#"{"id": 1, "name": "a", "score": 1e400}"#,
                "too large for a 64-bit float",
            ),
            (br#"{"id": 1, "name": "a", "ok": [true]}"#, "not an array"),
        ];
        for (line, expected) in cases {
            let err = json_row(&t, line).expect_err("rejected");
            assert!(err.contains(expected), "{err} / {expected}");
        }
    }

    #[test]
    fn a_float_out_of_range_is_refused_on_every_path() {
        let t = table();
        let header = csv_header(&t, &["id", "name", "score"]).expect("header");
        let csv = csv_row(
            &t,
            &header,
            &fields(&[b"1", b"a", b"1e400"]),
            CsvNull::EmptyUnquoted,
        )
        .expect_err("csv");
        let json = json_row(&t, br#"{"id": 1, "name": "a", "score": 1e400}"#).expect_err("json");
        let sql = keyset_sql::parse_one("INSERT INTO t VALUES (1, 'a', 1e400)")
            .expect_err("sql")
            .to_string();
        for err in [csv, json, sql] {
            assert!(err.contains("too large for a 64-bit float"), "{err}");
        }
    }

    #[test]
    fn csv_fields_convert_to_column_types() {
        let t = table();
        let header = csv_header(&t, &["raw", "ok", "score", "name", "id"]).expect("header");
        let null = CsvNull::EmptyUnquoted;
        let row = csv_row(
            &t,
            &header,
            &fields(&[b"0a", b"yes", b" 1e3 ", b" spaced ", b"3"]),
            null,
        )
        .expect("row");
        assert_eq!(
            row,
            vec![
                Value::Int(3),
                Value::from(" spaced "),
                Value::Float(1000.0),
                Value::Bool(true),
                Value::Bytes(vec![10])
            ]
        );
        let row = csv_row(&t, &header, &fields(&[b"", b"", b"", b"x", b"4"]), null).expect("nulls");
        assert_eq!(row[2], Value::Null);
        assert!(
            csv_row(&t, &header, &fields(&[b"", b"", b"NaN", b"x", b"4"]), null)
                .expect_err("NaN")
                .contains("NaN")
        );
        assert!(csv_row(
            &t,
            &header,
            &fields(&[b"", b"maybe", b"", b"x", b"4"]),
            null
        )
        .expect_err("bool")
        .contains("boolean"));
        assert!(csv_row(&t, &header, &fields(&[b"x", b"4"]), null)
            .expect_err("short")
            .contains("2 fields"));
        assert!(csv_header(&t, &["id", "id"])
            .expect_err("twice")
            .contains("twice"));
        assert!(csv_header(&t, &["id", "nope"])
            .expect_err("unknown")
            .contains("nope"));
    }

    #[test]
    fn csv_tells_an_empty_string_from_null() {
        let t = table();
        let header = csv_header(&t, &["id", "name", "raw"]).expect("header");
        let quoted = |raw: &'static [u8]| CsvField { raw, quoted: true };
        // (fields, null spelling, name, raw)
        let cases: [([CsvField<'static>; 3], CsvNull<'static>, Value, Value); 4] = [
            (
                [plain(b"1"), quoted(b""), quoted(b"")],
                CsvNull::EmptyUnquoted,
                Value::from(""),
                Value::Bytes(vec![]),
            ),
            (
                [plain(b"2"), plain(b"a"), plain(b"")],
                CsvNull::EmptyUnquoted,
                Value::from("a"),
                Value::Null,
            ),
            (
                [plain(b"3"), plain(b""), plain(b"\\N")],
                CsvNull::Text("\\N"),
                Value::from(""),
                Value::Null,
            ),
            (
                [plain(b"4"), quoted(b"\\N"), plain(b"")],
                CsvNull::Text("\\N"),
                Value::from("\\N"),
                Value::Bytes(vec![]),
            ),
        ];
        for (fields, null, name, raw) in cases {
            let row = csv_row(&t, &header, &fields, null).expect("row");
            assert_eq!((&row[1], &row[4]), (&name, &raw), "{fields:?} {null:?}");
        }
    }
}
