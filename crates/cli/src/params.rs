//! `keyset sql --param`: parameter values given as text on the command
//! line, each read as the type of the column its placeholder binds to.
//! `--param VALUE` binds the next placeholder that has no name (`?1`, `?2`,
//! ... in the order given); `--param name=VALUE` binds `:name` when the
//! statement has a placeholder of that name (otherwise the whole text is a
//! positional value). `NULL` is NULL for every type but TEXT; BYTES are
//! written in hex. This module only converts; running is `database`'s job.

use keyset::{ColumnType, Cursor, Db, Params, PreparedStatement, Value};

use crate::database::Ran;
use crate::error::CliError;

/// Runs `sql` with the `--param` values bound.
pub fn run_with_params(
    db: &Db,
    sql: &str,
    texts: &[String],
    cursor: Option<&Cursor>,
) -> Result<Ran, CliError> {
    let stmt = db.prepare(sql)?;
    let params = params_of(&stmt, texts)?;
    if stmt.is_query() {
        return Ok(Ran::Page(stmt.query(params, cursor)?));
    }
    if cursor.is_some() {
        return Err(CliError::Usage(
            "a cursor continues a SELECT; this statement is not one".into(),
        ));
    }
    Ok(Ran::Outcome(stmt.execute(params)?))
}

/// The values of the `--param` texts, typed by their placeholders.
pub fn params_of(stmt: &PreparedStatement, texts: &[String]) -> Result<Params, CliError> {
    let names = stmt.parameter_names();
    let types = stmt.parameter_types();
    let mut params = Params::new();
    let mut unnamed = (0..names.len()).filter(|&n| !names[n].starts_with(':'));
    for (at, text) in texts.iter().enumerate() {
        let named = text.split_once('=').and_then(|(name, value)| {
            let bare = name.trim_start_matches(':');
            let number = names.iter().position(|n| *n == format!(":{bare}"))?;
            Some((bare.to_owned(), number, value))
        });
        let (number, value_text) = match &named {
            Some((_, number, value)) => (*number, *value),
            None => match unnamed.next() {
                Some(number) => (number, text.as_str()),
                None => {
                    return Err(CliError::Usage(format!(
                    "--param {}: the statement has no more placeholders without a name (it has {})",
                    at + 1,
                    names.join(", ")
                )))
                }
            },
        };
        let placeholder = names
            .get(number)
            .cloned()
            .unwrap_or_else(|| format!("?{}", number + 1));
        let ty = types.get(number).copied().flatten();
        let value = typed(value_text, ty).map_err(|expected| {
            CliError::Usage(format!(
                "--param {}: `{value_text}` is not {expected} (for {placeholder})",
                at + 1
            ))
        })?;
        params = params.named(&placeholder, value);
    }
    Ok(params)
}

/// Reads `text` as a value of `ty` (TEXT when no column decides); the
/// error names what was expected.
fn typed(text: &str, ty: Option<ColumnType>) -> Result<Value, &'static str> {
    let ty = ty.unwrap_or(ColumnType::Text);
    if text == "NULL" && ty != ColumnType::Text {
        return Ok(Value::Null);
    }
    match ty {
        ColumnType::Text => Ok(Value::Text(text.to_owned())),
        ColumnType::Int => text.parse().map(Value::Int).map_err(|_| "an INT"),
        ColumnType::Float => match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err("a finite FLOAT"),
        },
        ColumnType::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err("a BOOL (true or false)"),
        },
        ColumnType::Bytes => hex_bytes(text).map(Value::Bytes).ok_or("BYTES in hex"),
    }
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_as_their_column_types() {
        let cases: Vec<(&str, Option<ColumnType>, Result<Value, &str>)> = vec![
            ("42", Some(ColumnType::Int), Ok(Value::Int(42))),
            ("-7", Some(ColumnType::Int), Ok(Value::Int(-7))),
            ("4x", Some(ColumnType::Int), Err("an INT")),
            ("2.5", Some(ColumnType::Float), Ok(Value::Float(2.5))),
            ("inf", Some(ColumnType::Float), Err("a finite FLOAT")),
            ("true", Some(ColumnType::Bool), Ok(Value::Bool(true))),
            ("yes", Some(ColumnType::Bool), Err("a BOOL (true or false)")),
            (
                "0aff",
                Some(ColumnType::Bytes),
                Ok(Value::Bytes(vec![10, 255])),
            ),
            ("0af", Some(ColumnType::Bytes), Err("BYTES in hex")),
            ("NULL", Some(ColumnType::Int), Ok(Value::Null)),
            (
                "NULL",
                Some(ColumnType::Text),
                Ok(Value::Text("NULL".into())),
            ),
            ("a=b", None, Ok(Value::Text("a=b".into()))),
        ];
        for (text, ty, expected) in cases {
            assert_eq!(typed(text, ty), expected, "{text} as {ty:?}");
        }
    }

    #[test]
    fn named_and_positional_params_bind_by_their_placeholders() {
        let db = Db::memory().expect("memory db");
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, city TEXT)")
            .expect("create");
        let stmt = db
            .prepare("INSERT INTO t VALUES (?, :city)")
            .expect("prepare");
        let texts = vec!["city=Oslo=North".to_owned(), "7".to_owned()];
        let params = params_of(&stmt, &texts).expect("params");
        assert_eq!(
            params.named,
            vec![
                (":city".to_owned(), Value::Text("Oslo=North".into())),
                ("?1".to_owned(), Value::Int(7))
            ]
        );
        let err = params_of(&stmt, &["x".to_owned()]).expect_err("not an int");
        assert!(
            err.to_string()
                .contains("--param 1: `x` is not an INT (for ?1)"),
            "{err}"
        );
    }
}
