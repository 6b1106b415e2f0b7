//! Parameter values from Rust values, in rusqlite's manner: a [`ToValue`]
//! trait with conversions from the usual types, and the [`params!`] and
//! [`named_params!`] macros that build a [`Params`].
//!
//! [`params!`]: crate::params
//! [`named_params!`]: crate::named_params

pub use keyset_plan::Params;
use keyset_store::Value;

/// A Rust value that can be bound to a placeholder.
///
/// ```
/// use keyset::{ToValue, Value};
/// assert_eq!(7i64.to_value(), Value::Int(7));
/// assert_eq!("Oslo".to_value(), Value::Text("Oslo".into()));
/// assert_eq!(None::<i64>.to_value(), Value::Null);
/// assert_eq!(vec![1u8, 2].to_value(), Value::Bytes(vec![1, 2]));
/// ```
pub trait ToValue {
    /// The value stored for `self`.
    fn to_value(&self) -> Value;
}

macro_rules! to_value_via {
    ($($ty:ty => $variant:ident as $target:ty),* $(,)?) => {
        $(impl ToValue for $ty {
            fn to_value(&self) -> Value {
                Value::$variant(<$target>::from(*self))
            }
        })*
    };
}

to_value_via! {
    i8 => Int as i64,
    i16 => Int as i64,
    i32 => Int as i64,
    i64 => Int as i64,
    u8 => Int as i64,
    u16 => Int as i64,
    u32 => Int as i64,
    f32 => Float as f64,
    f64 => Float as f64,
    bool => Bool as bool,
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// Positional parameter values: the first binds `?1` (or the first `?`).
///
/// ```
/// let db = keyset::Db::memory()?;
/// db.execute("CREATE TABLE t (id INT PRIMARY KEY, city TEXT, note TEXT)")?;
/// db.execute_params("INSERT INTO t VALUES (?, ?, ?)", keyset::params![1, "Oslo", None::<String>])?;
/// let page = db.query_params("SELECT * FROM t WHERE city = ?", keyset::params!["Oslo"], None)?;
/// assert_eq!(page.len(), 1);
/// # Ok::<(), keyset::Error>(())
/// ```
#[macro_export]
macro_rules! params {
    () => {
        $crate::Params::new()
    };
    ($($value:expr),+ $(,)?) => {
        $crate::Params::positional(vec![$($crate::ToValue::to_value(&$value)),+])
    };
}

/// Named parameter values: `":name" => value` binds `:name`.
///
/// ```
/// let db = keyset::Db::memory()?;
/// db.execute("CREATE TABLE t (id INT PRIMARY KEY, city TEXT)")?;
/// db.execute_params(
///     "INSERT INTO t VALUES (:id, :city)",
///     keyset::named_params! { ":id" => 1, ":city" => "Oslo" },
/// )?;
/// assert_eq!(db.query("SELECT * FROM t", None)?.len(), 1);
/// # Ok::<(), keyset::Error>(())
/// ```
#[macro_export]
macro_rules! named_params {
    () => {
        $crate::Params::new()
    };
    ($($name:expr => $value:expr),+ $(,)?) => {
        $crate::Params::new()$(.named($name, $crate::ToValue::to_value(&$value)))+
    };
}
