//! Values and column types: the ordering rules every other layer relies on.
//!
//! `Value` is totally ordered: NULL first, then booleans, numbers (compared
//! numerically across `Int` and `Float`), text and bytes (by bytes). Floats are
//! never NaN once stored and `-0.0` is normalized to `0.0` (see [`Value::normalize_for`]).

use std::cmp::Ordering;
use std::fmt;

/// The type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ColumnType {
    Bool,
    Int,
    Float,
    Text,
    Bytes,
}

impl ColumnType {
    /// The SQL spelling of the type.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Bool => "BOOL",
            ColumnType::Int => "INT",
            ColumnType::Float => "FLOAT",
            ColumnType::Text => "TEXT",
            ColumnType::Bytes => "BYTES",
        }
    }

    /// A stable one-byte code, used in the catalog encoding.
    pub fn code(self) -> u8 {
        match self {
            ColumnType::Bool => 1,
            ColumnType::Int => 2,
            ColumnType::Float => 3,
            ColumnType::Text => 4,
            ColumnType::Bytes => 5,
        }
    }

    /// The inverse of [`ColumnType::code`].
    pub fn from_code(code: u8) -> Option<ColumnType> {
        Some(match code {
            1 => ColumnType::Bool,
            2 => ColumnType::Int,
            3 => ColumnType::Float,
            4 => ColumnType::Text,
            5 => ColumnType::Bytes,
            _ => return None,
        })
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value of a row or of a key component.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// Why a value cannot be stored in a column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueRejection {
    /// The value's type is not the column's.
    TypeMismatch { found: &'static str },
    /// NULL in a `NOT NULL` column.
    Null,
    /// A float that is NaN.
    NaN,
}

impl Value {
    /// The name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "BOOL",
            Value::Int(_) => "INT",
            Value::Float(_) => "FLOAT",
            Value::Text(_) => "TEXT",
            Value::Bytes(_) => "BYTES",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Checks that `self` can be stored in a column of type `ty` and returns
    /// the stored form: an `Int` written to a `FLOAT` column becomes a float,
    /// `-0.0` becomes `0.0`, NaN and NULL in a `NOT NULL` column are rejected.
    pub fn normalize_for(self, ty: ColumnType, nullable: bool) -> Result<Value, ValueRejection> {
        match (self, ty) {
            (Value::Null, _) if nullable => Ok(Value::Null),
            (Value::Null, _) => Err(ValueRejection::Null),
            (Value::Bool(b), ColumnType::Bool) => Ok(Value::Bool(b)),
            (Value::Int(i), ColumnType::Int) => Ok(Value::Int(i)),
            (Value::Int(i), ColumnType::Float) => Ok(Value::Float(i as f64)),
            (Value::Float(f), ColumnType::Float) => normalize_float(f),
            (Value::Text(s), ColumnType::Text) => Ok(Value::Text(s)),
            (Value::Bytes(b), ColumnType::Bytes) => Ok(Value::Bytes(b)),
            (other, _) => Err(ValueRejection::TypeMismatch {
                found: other.kind(),
            }),
        }
    }

    /// The total order of DESIGN.md section 2 (ascending).
    pub fn compare(&self, other: &Value) -> Ordering {
        use Value::*;
        match (self, other) {
            (Null, Null) => Ordering::Equal,
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Int(a), Float(b)) => compare_int_float(*a, *b),
            (Float(a), Int(b)) => compare_int_float(*b, *a).reverse(),
            (Text(a), Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    /// SQL comparison: `None` when either side is NULL (unknown), otherwise
    /// the ordering. Values of unrelated kinds compare by kind rank.
    pub fn sql_compare(&self, other: &Value) -> Option<Ordering> {
        if self.is_null() || other.is_null() {
            None
        } else {
            Some(self.compare(other))
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) | Value::Float(_) => 2,
            Value::Text(_) => 3,
            Value::Bytes(_) => 4,
        }
    }
}

fn normalize_float(f: f64) -> Result<Value, ValueRejection> {
    if f.is_nan() {
        Err(ValueRejection::NaN)
    } else if f == 0.0 {
        Ok(Value::Float(0.0))
    } else {
        Ok(Value::Float(f))
    }
}

/// Compares an integer with a float numerically, exactly (no rounding of
/// large integers).
fn compare_int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    // 2^63 as f64 is exact; every f64 >= it is above every i64.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let truncated = f.trunc();
    // In range, so the conversion is exact.
    let t = truncated as i64;
    match i.cmp(&t) {
        Ordering::Equal => {
            let frac = f - truncated;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        other => other,
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        self.compare(other)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{}", if *b { "TRUE" } else { "FALSE" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => {
                if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
                    write!(f, "{x:.1}")
                } else {
                    write!(f, "{x}")
                }
            }
            Value::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Value::Bytes(b) => {
                f.write_str("X'")?;
                for byte in b {
                    write!(f, "{byte:02X}")?;
                }
                f.write_str("'")
            }
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_sorts_first_and_numbers_compare_across_kinds() {
        assert!(Value::Null < Value::Bool(false));
        assert!(Value::Int(2) > Value::Float(1.5));
        assert!(Value::Int(1) < Value::Float(1.5));
        assert_eq!(Value::Int(3), Value::Float(3.0));
        assert!(Value::Int(i64::MAX) < Value::Float(9.3e18));
        assert!(Value::Text("a".into()) < Value::Text("b".into()));
    }

    #[test]
    fn normalization_rejects_nan_and_fixes_negative_zero() {
        assert_eq!(
            Value::Float(f64::NAN).normalize_for(ColumnType::Float, true),
            Err(ValueRejection::NaN)
        );
        let zero = Value::Float(-0.0)
            .normalize_for(ColumnType::Float, true)
            .unwrap();
        assert!(matches!(zero, Value::Float(z) if z.is_sign_positive()));
        assert_eq!(
            Value::Null.normalize_for(ColumnType::Int, false),
            Err(ValueRejection::Null)
        );
        assert_eq!(
            Value::Text("x".into()).normalize_for(ColumnType::Int, true),
            Err(ValueRejection::TypeMismatch { found: "TEXT" })
        );
        assert_eq!(
            Value::Int(2).normalize_for(ColumnType::Float, true),
            Ok(Value::Float(2.0))
        );
    }
}
