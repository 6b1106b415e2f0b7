//! Strict equality of values: same kind and same bits. `Value`'s own
//! `PartialEq` follows the SQL order (`Int(3) == Float(3.0)`), which is too
//! lenient for round-trip checks.

use keyset_store::Value;

/// Same kind and same contents (floats compared by bits).
pub fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        _ => false,
    }
}

/// Element-wise [`value_eq`] of two tuples.
pub fn tuple_eq(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| value_eq(x, y))
}
