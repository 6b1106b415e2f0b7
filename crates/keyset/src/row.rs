//! Rows as the application sees them: the projected columns of one result
//! row, with typed getters and serde deserialization into a user struct.

use std::fmt;
use std::sync::Arc;

use keyset_store::Value;

use crate::error::{Error, Result};

/// One result row: the query's projected columns, in order.
#[derive(Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Values,
}

/// A row's values: the stored row itself, shared, when the query projects
/// every column in table order (no copy), or the projected values.
#[derive(Clone)]
enum Values {
    Shared(keyset_store::RowRef),
    Owned(Vec<Value>),
}

impl Values {
    fn as_slice(&self) -> &[Value] {
        match self {
            Values::Shared(row) => row.values(),
            Values::Owned(values) => values,
        }
    }
}

impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.columns == other.columns && self.values() == other.values()
    }
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (c, v) in self.columns.iter().zip(self.values.as_slice()) {
            map.entry(c, v);
        }
        map.finish()
    }
}

impl Row {
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        Row {
            columns,
            values: Values::Owned(values),
        }
    }

    /// A row that shares the stored row (every column, in table order).
    pub(crate) fn shared(columns: Arc<[String]>, row: keyset_store::RowRef) -> Row {
        Row {
            columns,
            values: Values::Shared(row),
        }
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        self.values.as_slice()
    }

    /// Consumes the row, returning its values.
    pub fn into_values(self) -> Vec<Value> {
        match self.values {
            Values::Shared(row) => row.values().to_vec(),
            Values::Owned(values) => values,
        }
    }

    /// The raw value of a column (case-insensitive name).
    pub fn value(&self, column: &str) -> Result<&Value> {
        let at = self
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))
            .ok_or_else(|| Error::NoSuchColumn {
                column: column.to_owned(),
                available: self.columns.to_vec(),
            })?;
        Ok(&self.values.as_slice()[at])
    }

    /// A column converted to a Rust type.
    ///
    /// ```
    /// # fn main() -> keyset::Result<()> {
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY, name TEXT, score FLOAT)")?;
    /// db.execute("INSERT INTO t VALUES (1, 'ada', 9.5), (2, NULL, 7.0)")?;
    /// let page = db.query("SELECT * FROM t ORDER BY id", None)?;
    /// let first = &page.rows()[0];
    /// assert_eq!(first.get::<i64>("id")?, 1);
    /// assert_eq!(first.get::<String>("name")?, "ada");
    /// assert_eq!(page.rows()[1].get::<Option<String>>("name")?, None);
    /// assert!(first.get::<i64>("name").is_err()); // a type mismatch is an error
    /// # Ok(()) }
    /// ```
    pub fn get<T: FromValue>(&self, column: &str) -> Result<T> {
        let value = self.value(column)?;
        T::from_value(value).ok_or_else(|| Error::ColumnType {
            column: column.to_owned(),
            expected: T::EXPECTED,
            found: value.kind(),
        })
    }

    /// Deserializes the row into any `serde::Deserialize` type, matching
    /// struct fields to column names.
    ///
    /// ```
    /// # fn main() -> keyset::Result<()> {
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct User { id: i64, city: Option<String> }
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE users (id INT PRIMARY KEY, city TEXT)")?;
    /// db.execute("INSERT INTO users VALUES (7, 'Oslo')")?;
    /// let page = db.query("SELECT * FROM users", None)?;
    /// let user: User = page.rows()[0].deserialize()?;
    /// assert_eq!(user, User { id: 7, city: Some("Oslo".into()) });
    /// # Ok(()) }
    /// ```
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        crate::de::from_row(self).map_err(|e| Error::Deserialize(e.to_string()))
    }
}

/// A Rust type a column value converts to.
pub trait FromValue: Sized {
    /// The SQL type named in the error when the conversion fails.
    const EXPECTED: &'static str;
    /// The value as `Self`, or `None` if it is of another kind.
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    const EXPECTED: &'static str = "INT";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "FLOAT";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "BOOL";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "TEXT";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const EXPECTED: &'static str = "BYTES";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bytes(b) => Some(b.clone()),
            _ => None,
        }
    }
}

impl FromValue for Value {
    const EXPECTED: &'static str = "any value";
    fn from_value(value: &Value) -> Option<Self> {
        Some(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}
