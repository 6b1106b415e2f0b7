//! Column constraints: what the simple conjuncts of one AND say about each
//! column (a set of allowed values, or a range), folded together, with
//! contradictions detected. It reads bound predicates only; choosing an
//! access path from the constraints belongs to `choose`. NOT, `<>` and the
//! negated forms say nothing here: they are only checked by the filter.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use keyset_store::{TableDef, Value};

use crate::canonical::{range_is_empty, sorted_values};
use crate::expr::{CmpOp, Predicate};

/// What the conjuncts allow for one column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ColumnConstraint {
    /// One of these values (sorted, deduplicated, never empty). `[NULL]`
    /// for `IS NULL`: NULL is a key component like any other.
    Eq(Vec<Value>),
    /// A non-empty range; at least one side bounded.
    Range {
        lower: Bound<Value>,
        upper: Bound<Value>,
    },
}

/// No row can satisfy the conjuncts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Contradiction;

/// The folded constraints of one conjunction, by column position.
#[derive(Clone, Debug, Default)]
pub(crate) struct Constraints {
    columns: BTreeMap<usize, ColumnConstraint>,
}

/// What one conjunct says about one column.
enum Atom {
    Eq(usize, Vec<Value>),
    Range(usize, Bound<Value>, Bound<Value>),
    /// The conjunct is never true (a comparison with NULL, `IN ()`, ...).
    Never,
}

#[derive(Default)]
struct Fold {
    eq: Option<Vec<Value>>,
    lower: Option<Bound<Value>>,
    upper: Option<Bound<Value>>,
}

impl Constraints {
    /// Folds the conjuncts of an AND. Conjuncts that constrain no single
    /// column (OR, NOT, `<>`, negated forms) are skipped.
    pub(crate) fn from_conjuncts(
        conjuncts: &[&Predicate],
        table: &TableDef,
    ) -> Result<Constraints, Contradiction> {
        let mut folds: BTreeMap<usize, Fold> = BTreeMap::new();
        for conjunct in conjuncts {
            match atom(conjunct, table) {
                None => {}
                Some(Atom::Never) => return Err(Contradiction),
                Some(Atom::Eq(column, values)) => {
                    let fold = folds.entry(column).or_default();
                    fold.eq = Some(match fold.eq.take() {
                        None => values,
                        Some(existing) => existing
                            .into_iter()
                            .filter(|v| values.contains(v))
                            .collect(),
                    });
                }
                Some(Atom::Range(column, lower, upper)) => {
                    let fold = folds.entry(column).or_default();
                    fold.lower = Some(match fold.lower.take() {
                        None => lower,
                        Some(existing) => tighter_lower(existing, lower),
                    });
                    fold.upper = Some(match fold.upper.take() {
                        None => upper,
                        Some(existing) => tighter_upper(existing, upper),
                    });
                }
            }
        }
        let mut columns = BTreeMap::new();
        for (column, fold) in folds {
            if let Some(constraint) = finish(fold)? {
                columns.insert(column, constraint);
            }
        }
        Ok(Constraints { columns })
    }

    pub(crate) fn get(&self, column: usize) -> Option<&ColumnConstraint> {
        self.columns.get(&column)
    }

    /// How many columns the conjuncts constrain.
    pub(crate) fn len(&self) -> usize {
        self.columns.len()
    }

    /// Columns fixed to a single value (constant for every matching row).
    pub(crate) fn constants(&self) -> BTreeSet<usize> {
        self.columns
            .iter()
            .filter(|(_, c)| matches!(c, ColumnConstraint::Eq(v) if v.len() == 1))
            .map(|(column, _)| *column)
            .collect()
    }
}

fn finish(fold: Fold) -> Result<Option<ColumnConstraint>, Contradiction> {
    let lower = fold.lower.unwrap_or(Bound::Unbounded);
    let upper = fold.upper.unwrap_or(Bound::Unbounded);
    if let Some(values) = fold.eq {
        let kept: Vec<Value> = values
            .into_iter()
            .filter(|v| within(v, &lower, &upper))
            .collect();
        return if kept.is_empty() {
            Err(Contradiction)
        } else {
            Ok(Some(ColumnConstraint::Eq(kept)))
        };
    }
    if range_is_empty(&lower, &upper) {
        return Err(Contradiction);
    }
    Ok(match (lower, upper) {
        (Bound::Unbounded, Bound::Unbounded) => None,
        (Bound::Included(l), Bound::Included(u)) if l == u => Some(ColumnConstraint::Eq(vec![l])),
        (lower, upper) => Some(ColumnConstraint::Range { lower, upper }),
    })
}

/// Whether `value` lies between the bounds (NULL sorts first).
pub(crate) fn within(value: &Value, lower: &Bound<Value>, upper: &Bound<Value>) -> bool {
    let above = match lower {
        Bound::Unbounded => true,
        Bound::Included(l) => value >= l,
        Bound::Excluded(l) => value > l,
    };
    let below = match upper {
        Bound::Unbounded => true,
        Bound::Included(u) => value <= u,
        Bound::Excluded(u) => value < u,
    };
    above && below
}

fn tighter_lower(a: Bound<Value>, b: Bound<Value>) -> Bound<Value> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x > y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

fn tighter_upper(a: Bound<Value>, b: Bound<Value>) -> Bound<Value> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x < y || (x == y && matches!(a, Bound::Excluded(_))) {
                a
            } else {
                b
            }
        }
    }
}

/// Whether `predicate` says exactly one thing about one column (an
/// equality with one value, a range): folding such conjuncts loses nothing.
pub(crate) fn is_column_atom(predicate: &Predicate, table: &TableDef) -> bool {
    match atom(predicate, table) {
        Some(Atom::Eq(_, values)) => values.len() == 1,
        Some(Atom::Range(..)) => true,
        Some(Atom::Never) | None => false,
    }
}

/// What a conjunct says about its column, if anything.
fn atom(predicate: &Predicate, table: &TableDef) -> Option<Atom> {
    let nullable = |column: usize| table.columns.get(column).is_some_and(|c| c.nullable);
    // The lower bound that excludes NULL (which sorts first) when the
    // column can hold NULL at all.
    let not_null = |column: usize| {
        if nullable(column) {
            Bound::Excluded(Value::Null)
        } else {
            Bound::Unbounded
        }
    };
    match predicate {
        Predicate::Cmp { value, .. } if value.is_null() => Some(Atom::Never),
        Predicate::Cmp { column, op, value } => {
            let (c, v) = (*column, value.clone());
            match op {
                CmpOp::Eq => Some(Atom::Eq(c, vec![v])),
                CmpOp::Ne => None,
                CmpOp::Lt => Some(Atom::Range(c, not_null(c), Bound::Excluded(v))),
                CmpOp::Le => Some(Atom::Range(c, not_null(c), Bound::Included(v))),
                CmpOp::Gt => Some(Atom::Range(c, Bound::Excluded(v), Bound::Unbounded)),
                CmpOp::Ge => Some(Atom::Range(c, Bound::Included(v), Bound::Unbounded)),
            }
        }
        Predicate::Between {
            column,
            low,
            high,
            negated: false,
        } => {
            if low.is_null() || high.is_null() {
                Some(Atom::Never)
            } else {
                Some(Atom::Range(
                    *column,
                    Bound::Included(low.clone()),
                    Bound::Included(high.clone()),
                ))
            }
        }
        Predicate::In {
            column,
            values,
            negated: false,
        } => {
            let values = sorted_values(values.iter().filter(|v| !v.is_null()).cloned().collect());
            if values.is_empty() {
                Some(Atom::Never)
            } else {
                Some(Atom::Eq(*column, values))
            }
        }
        Predicate::IsNull {
            column,
            negated: false,
        } => {
            if nullable(*column) {
                Some(Atom::Eq(*column, vec![Value::Null]))
            } else {
                Some(Atom::Never)
            }
        }
        Predicate::IsNull {
            column,
            negated: true,
        } if nullable(*column) => Some(Atom::Range(
            *column,
            Bound::Excluded(Value::Null),
            Bound::Unbounded,
        )),
        Predicate::LikePrefix {
            column,
            prefix,
            negated: false,
        } => Some(Atom::Range(
            *column,
            Bound::Included(Value::Text(prefix.clone())),
            match text_prefix_successor(prefix) {
                Some(next) => Bound::Excluded(Value::Text(next)),
                None => Bound::Unbounded,
            },
        )),
        _ => None,
    }
}

/// The smallest string greater than every string that starts with
/// `prefix`: the prefix with its last character replaced by the next code
/// point (trailing `char::MAX` characters dropped first). `None` when no
/// such string exists (empty prefix, or only `char::MAX`). UTF-8 preserves
/// code-point order bytewise, so this is also the byte-order successor
/// among valid strings.
pub(crate) fn text_prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = next_char(last) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn next_char(c: char) -> Option<char> {
    let mut code = u32::from(c) + 1;
    if (0xD800..=0xDFFF).contains(&code) {
        code = 0xE000;
    }
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_is_the_next_code_point() {
        assert_eq!(text_prefix_successor("abc").as_deref(), Some("abd"));
        assert_eq!(text_prefix_successor(""), None);
        assert_eq!(text_prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(text_prefix_successor("\u{10FFFF}"), None);
        assert_eq!(
            text_prefix_successor("x\u{D7FF}").as_deref(),
            Some("x\u{E000}")
        );
        for s in ["abc", "abc\u{0}", "abczzz", "abc\u{10FFFF}\u{10FFFF}"] {
            let next = text_prefix_successor("abc").unwrap_or_default();
            assert!(s.as_bytes() < next.as_bytes(), "{s:?}");
        }
        assert!("abd".as_bytes() >= text_prefix_successor("abc").unwrap_or_default().as_bytes());
    }

    #[test]
    fn bounds_tighten_towards_the_narrower_side() {
        let inc = |v| Bound::Included(Value::Int(v));
        let exc = |v| Bound::Excluded(Value::Int(v));
        assert_eq!(tighter_lower(inc(3), exc(3)), exc(3));
        assert_eq!(tighter_lower(inc(5), exc(3)), inc(5));
        assert_eq!(tighter_upper(inc(3), exc(3)), exc(3));
        assert_eq!(tighter_upper(Bound::Unbounded, inc(1)), inc(1));
        assert!(within(&Value::Int(3), &inc(3), &Bound::Unbounded));
        assert!(!within(&Value::Null, &exc_null(), &Bound::Unbounded));
    }

    fn exc_null() -> Bound<Value> {
        Bound::Excluded(Value::Null)
    }
}
