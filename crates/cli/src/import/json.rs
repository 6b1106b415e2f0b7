//! One JSON Lines record read as the fields it holds, in order, each value
//! kept as the raw JSON text written. A key written twice (exactly) is
//! caught here, while parsing: serde_json's own maps keep the last value in
//! silence. Numbers stay text so the column conversion reads them with the
//! same rules as CSV fields and SQL literals. It knows JSON, not tables.

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::convert::Rejection;

/// The fields of one JSON object, in the order written.
#[derive(Debug)]
pub struct Fields<'a> {
    pub entries: Vec<(String, &'a RawValue)>,
    /// The first key written a second time, if any.
    repeated: Option<String>,
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let mut seen = HashSet::new();
        let mut fields = Fields {
            entries: Vec::new(),
            repeated: None,
        };
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<&'de RawValue>()?;
            if !seen.insert(key.clone()) && fields.repeated.is_none() {
                fields.repeated = Some(key.clone());
            }
            fields.entries.push((key, value));
        }
        Ok(fields)
    }
}

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// The fields of the JSON object on `line`, or why it is not one.
pub fn object_fields(line: &[u8]) -> Result<Fields<'_>, Rejection> {
    let opens_object = line.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !opens_object {
        return Err(match serde_json::from_slice::<IgnoredAny>(line) {
            Ok(_) => "not a JSON object (expected {\"column\": value, ...})".into(),
            Err(e) => format!("not valid JSON: {e}"),
        });
    }
    let fields: Fields<'_> =
        serde_json::from_slice(line).map_err(|e| format!("not valid JSON: {e}"))?;
    if let Some(key) = fields.repeated {
        return Err(format!(
            "key `{key}` is given twice in one object (which value is meant?)"
        ));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_written_twice_is_refused_even_when_written_exactly_alike() {
        let err = object_fields(br#"{"id":52,"name":"x","name":"y"}"#).expect_err("twice");
        assert!(err.contains("key `name` is given twice"), "{err}");
        let fields = object_fields(br#"{"id": 1e400, "name": "a\"b"}"#).expect("raw values");
        let raw: Vec<(&str, &str)> = fields
            .entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.get()))
            .collect();
        assert_eq!(raw, vec![("id", "1e400"), ("name", r#""a\"b""#)]);
    }

    #[test]
    fn other_text_is_not_an_object_or_not_json() {
        let cases: [(&[u8], &str); 4] = [
            (b"[1, 2]", "not a JSON object"),
            (b"  7", "not a JSON object"),
            (b"{\"id\": 1", "not valid JSON"),
            (b"{\"id\": 1} x", "not valid JSON"),
        ];
        for (line, expected) in cases {
            let err = object_fields(line).expect_err("refused");
            assert!(err.contains(expected), "{err} / {expected}");
        }
    }
}
