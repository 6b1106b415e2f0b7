//! Decimal text to a FLOAT: the one conversion that SQL literals, CSV
//! fields and JSON numbers share, so `1e400` is refused the same way on
//! every path instead of becoming `inf` on one of them. It knows text and
//! `f64` only, not columns or statements.

/// Why a text is not a FLOAT keyset stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FloatError {
    /// Not digits with an optional sign, fraction and exponent (this
    /// includes `inf` and `NaN`, which Rust's own parser would accept).
    #[error("not a decimal number keyset reads (digits, an optional fraction and exponent)")]
    NotDecimal,
    /// A decimal number whose magnitude is beyond `f64::MAX`.
    #[error("the number is too large for a 64-bit float")]
    OutOfRange,
}

/// Parses decimal text (`-1.5`, `2e10`, `.5`) as a finite 64-bit float.
///
/// ```
/// use keyset_sql::{parse_float, FloatError};
/// assert_eq!(parse_float("-2.5e1"), Ok(-25.0));
/// assert_eq!(parse_float("1e400"), Err(FloatError::OutOfRange));
/// assert_eq!(parse_float("inf"), Err(FloatError::NotDecimal));
/// ```
pub fn parse_float(text: &str) -> Result<f64, FloatError> {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let decimal = unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !decimal {
        return Err(FloatError::NotDecimal);
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(f),
        Ok(_) => Err(FloatError::OutOfRange),
        Err(_) => Err(FloatError::NotDecimal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_becomes_a_finite_float_or_a_named_refusal() {
        let cases: [(&str, Result<f64, FloatError>); 10] = [
            ("1", Ok(1.0)),
            ("-1.5", Ok(-1.5)),
            ("+.5", Ok(0.5)),
            ("2E3", Ok(2000.0)),
            ("1e-400", Ok(0.0)),
            ("1e400", Err(FloatError::OutOfRange)),
            ("-1e400", Err(FloatError::OutOfRange)),
            ("inf", Err(FloatError::NotDecimal)),
            ("NaN", Err(FloatError::NotDecimal)),
            ("1.2.3", Err(FloatError::NotDecimal)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_float(text), expected, "{text}");
        }
    }
}
