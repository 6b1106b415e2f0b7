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
    let parsed: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let serde_json::Value::Object(object) = parsed else {
        return Err("not a JSON object (expected {\"column\": value, ...})".into());
    };
    let mut slots: Vec<Option<Value>> = vec![None; table.columns.len()];
    for (name, json) in object {
        let at = table
            .column_index(&name)
            .ok_or_else(|| unknown_column(table, &name))?;
        if slots[at].is_some() {
            return Err(format!("column `{name}` is given twice"));
        }
        slots[at] = Some(json_value(
            &table.columns[at].name,
            table.columns[at].ty,
            &json,
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

/// One JSON value for a column of type `ty`. No coercion between kinds
/// except an integer into a FLOAT column and a hex string into BYTES.
fn json_value(column: &str, ty: ColumnType, json: &serde_json::Value) -> Result<Value, Rejection> {
    use serde_json::Value as J;
    let wrong = |what: &str| format!("column `{column}` is {}, not {what}", ty.name());
    match (json, ty) {
        (J::Null, _) => Ok(Value::Null),
        (J::Bool(b), ColumnType::Bool) => Ok(Value::Bool(*b)),
        (J::Number(n), ColumnType::Int) => n
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| format!("column `{column}` is INT, and {n} is not a 64-bit integer")),
        (J::Number(n), ColumnType::Float) => n
            .as_f64()
            .map(Value::Float)
            .ok_or_else(|| wrong("this number")),
        (J::String(s), ColumnType::Text) => Ok(Value::Text(s.clone())),
        (J::String(s), ColumnType::Bytes) => {
            unhex(s).ok_or_else(|| format!("column `{column}` is BYTES: {} is not hex", quoted(s)))
        }
        (J::Bool(_), _) => Err(wrong("a boolean")),
        (J::Number(_), _) => Err(wrong("a number")),
        (J::String(s), _) => Err(wrong(&format!("the string {}", quoted(s)))),
        (J::Array(_), _) => Err(wrong("an array")),
        (J::Object(_), _) => Err(wrong("an object")),
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

/// One CSV record as a row; an empty field is NULL.
pub fn csv_row(
    table: &TableDef,
    header: &[usize],
    fields: &[&[u8]],
) -> Result<Vec<Value>, Rejection> {
    if fields.len() != header.len() {
        return Err(format!(
            "{} fields, but the header has {}",
            fields.len(),
            header.len()
        ));
    }
    let mut slots: Vec<Option<Value>> = vec![None; table.columns.len()];
    for (&at, raw) in header.iter().zip(fields) {
        let column = &table.columns[at];
        let text = std::str::from_utf8(raw)
            .map_err(|_| format!("column `{}`: the field is not UTF-8 text", column.name))?;
        slots[at] = Some(csv_value(&column.name, column.ty, text)?);
    }
    finish(table, slots)
}

/// One CSV field for a column of type `ty`.
fn csv_value(column: &str, ty: ColumnType, text: &str) -> Result<Value, Rejection> {
    if text.is_empty() {
        return Ok(Value::Null);
    }
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
        ColumnType::Float => trimmed
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| bad("a number")),
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
        let cases: [(&[u8], &str); 7] = [
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
        ];
        for (line, expected) in cases {
            let err = json_row(&t, line).expect_err("rejected");
            assert!(err.contains(expected), "{err} / {expected}");
        }
    }

    #[test]
    fn csv_fields_convert_to_column_types() {
        let t = table();
        let header = csv_header(&t, &["raw", "ok", "score", "name", "id"]).expect("header");
        let row = csv_row(&t, &header, &[b"0a", b"yes", b" 1e3 ", b" spaced ", b"3"]).expect("row");
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
        let row = csv_row(&t, &header, &[b"", b"", b"", b"x", b"4"]).expect("nulls");
        assert_eq!(row[2], Value::Null);
        assert!(csv_row(&t, &header, &[b"", b"", b"NaN", b"x", b"4"])
            .expect_err("NaN")
            .contains("NaN"));
        assert!(csv_row(&t, &header, &[b"", b"maybe", b"", b"x", b"4"])
            .expect_err("bool")
            .contains("boolean"));
        assert!(csv_row(&t, &header, &[b"x", b"4"])
            .expect_err("short")
            .contains("2 fields"));
        assert!(csv_header(&t, &["id", "id"])
            .expect_err("twice")
            .contains("twice"));
        assert!(csv_header(&t, &["id", "nope"])
            .expect_err("unknown")
            .contains("nope"));
    }
}
