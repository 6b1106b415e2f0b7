//! Canonical form and the canonical byte encoding of access paths and bound
//! filters. Every permutation of the AND/OR children of a query maps to one
//! canonical shape, so it plans, pages and signs the same way. This module
//! only reshapes; it never changes which rows a path reaches or a filter
//! accepts.

use std::cmp::Ordering;
use std::ops::Bound;

use keyset_store::bin::{write_str, write_varint};
use keyset_store::codec::{encode_component, encode_tuple};
use keyset_store::Value;

use crate::access::AccessPath;
use crate::expr::{CmpOp, Predicate};

/// Puts an access path in canonical form: nested unions and intersections
/// are flattened, children sorted by their canonical encoding and
/// deduplicated, a composite of one child collapses to the child. A union
/// drops `Empty` children and is `FullScan` if any child is; an
/// intersection with an `Empty` child is `Empty` and drops `FullScan`
/// children. By-keys lists are sorted and deduplicated; a range that no
/// value can satisfy is `Empty`.
pub fn canonicalize(path: AccessPath) -> AccessPath {
    match path {
        AccessPath::ByKeys(keys) => {
            let mut keyed: Vec<(Vec<u8>, Vec<Value>)> = keys
                .into_iter()
                .map(|k| {
                    let mut bytes = Vec::new();
                    encode_tuple(&k, &mut bytes);
                    (bytes, k)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
            keyed.dedup_by(|a, b| a.0 == b.0);
            if keyed.is_empty() {
                AccessPath::Empty
            } else {
                AccessPath::ByKeys(keyed.into_iter().map(|(_, k)| k).collect())
            }
        }
        AccessPath::PrimaryRange { lower, upper, .. }
        | AccessPath::IndexRange { lower, upper, .. }
            if range_is_empty(&lower, &upper) =>
        {
            AccessPath::Empty
        }
        AccessPath::Union(children) => {
            let mut flat = Vec::with_capacity(children.len());
            for child in children {
                match canonicalize(child) {
                    AccessPath::Union(inner) => flat.extend(inner),
                    AccessPath::Empty => {}
                    AccessPath::FullScan => return AccessPath::FullScan,
                    other => flat.push(other),
                }
            }
            finish_composite(flat, AccessPath::Union, AccessPath::Empty)
        }
        AccessPath::Intersection(children) => {
            let mut flat = Vec::with_capacity(children.len());
            for child in children {
                match canonicalize(child) {
                    AccessPath::Intersection(inner) => flat.extend(inner),
                    AccessPath::Empty => return AccessPath::Empty,
                    AccessPath::FullScan => {}
                    other => flat.push(other),
                }
            }
            finish_composite(flat, AccessPath::Intersection, AccessPath::FullScan)
        }
        other => other,
    }
}

/// Sorts and deduplicates the (already canonical, flat) children of a
/// composite; none becomes `identity`, one becomes the child itself.
fn finish_composite(
    children: Vec<AccessPath>,
    build: fn(Vec<AccessPath>) -> AccessPath,
    identity: AccessPath,
) -> AccessPath {
    let mut keyed: Vec<(Vec<u8>, AccessPath)> =
        children.into_iter().map(|c| (path_bytes(&c), c)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    let mut children: Vec<AccessPath> = keyed.into_iter().map(|(_, c)| c).collect();
    match children.len() {
        0 => identity,
        1 => children.pop().unwrap_or(identity),
        _ => build(children),
    }
}

/// Whether no value lies between `lower` and `upper`.
pub fn range_is_empty(lower: &Bound<Value>, upper: &Bound<Value>) -> bool {
    match (lower, upper) {
        (Bound::Included(l), Bound::Included(u)) => l.cmp(u) == Ordering::Greater,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => {
            l.cmp(u) != Ordering::Less
        }
        _ => false,
    }
}

/// Puts a bound filter in canonical form: nested ANDs and ORs flattened,
/// their children sorted by canonical encoding and deduplicated, a
/// one-child AND/OR collapsed, `NOT NOT p` reduced to `p` (exact in
/// three-valued logic), IN lists sorted and deduplicated.
pub fn canonical_predicate(predicate: Predicate) -> Predicate {
    match predicate {
        Predicate::And(children) => finish_connective(children, true),
        Predicate::Or(children) => finish_connective(children, false),
        Predicate::Not(inner) => match canonical_predicate(*inner) {
            Predicate::Not(twice) => *twice,
            other => Predicate::Not(Box::new(other)),
        },
        Predicate::In {
            column,
            values,
            negated,
        } => Predicate::In {
            column,
            values: sorted_values(values),
            negated,
        },
        other => other,
    }
}

fn finish_connective(children: Vec<Predicate>, is_and: bool) -> Predicate {
    let mut flat = Vec::with_capacity(children.len());
    for child in children {
        match (canonical_predicate(child), is_and) {
            (Predicate::And(inner), true) | (Predicate::Or(inner), false) => flat.extend(inner),
            (other, _) => flat.push(other),
        }
    }
    let mut keyed: Vec<(Vec<u8>, Predicate)> = flat
        .into_iter()
        .map(|p| {
            let mut bytes = Vec::new();
            encode_predicate(&p, &mut bytes);
            (bytes, p)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    let mut children: Vec<Predicate> = keyed.into_iter().map(|(_, p)| p).collect();
    if children.len() == 1 {
        if let Some(only) = children.pop() {
            return only;
        }
    }
    if is_and {
        Predicate::And(children)
    } else {
        Predicate::Or(children)
    }
}

/// Values sorted by their key encoding, duplicates removed.
pub fn sorted_values(values: Vec<Value>) -> Vec<Value> {
    let mut keyed: Vec<(Vec<u8>, Value)> = values
        .into_iter()
        .map(|v| {
            let mut bytes = Vec::new();
            encode_component(&v, &mut bytes);
            (bytes, v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    keyed.into_iter().map(|(_, v)| v).collect()
}

/// The canonical encoding of an access path, as a new buffer.
pub fn path_bytes(path: &AccessPath) -> Vec<u8> {
    let mut out = Vec::new();
    encode_path(path, &mut out);
    out
}

/// Appends the canonical encoding of an access path. The encoding is
/// self-delimiting: tags, counts and memcomparable components.
pub fn encode_path(path: &AccessPath, out: &mut Vec<u8>) {
    match path {
        AccessPath::Empty => out.push(0x00),
        AccessPath::ByKeys(keys) => {
            out.push(0x01);
            write_varint(keys.len() as u64, out);
            for key in keys {
                encode_values(key, out);
            }
        }
        AccessPath::PrimaryRange {
            prefix,
            lower,
            upper,
        } => {
            out.push(0x02);
            encode_values(prefix, out);
            encode_bound(lower, out);
            encode_bound(upper, out);
        }
        AccessPath::IndexRange {
            index,
            prefix,
            lower,
            upper,
        } => {
            out.push(0x03);
            out.extend_from_slice(&index.to_be_bytes());
            encode_values(prefix, out);
            encode_bound(lower, out);
            encode_bound(upper, out);
        }
        AccessPath::Union(children) | AccessPath::Intersection(children) => {
            out.push(if matches!(path, AccessPath::Union(_)) {
                0x04
            } else {
                0x05
            });
            write_varint(children.len() as u64, out);
            for child in children {
                encode_path(child, out);
            }
        }
        AccessPath::FullScan => out.push(0x06),
    }
}

/// Appends a count and the memcomparable encoding of each value.
pub fn encode_values(values: &[Value], out: &mut Vec<u8>) {
    write_varint(values.len() as u64, out);
    encode_tuple(values, out);
}

/// Appends a bound: a tag (0 unbounded, 1 included, 2 excluded) and the value.
pub fn encode_bound(bound: &Bound<Value>, out: &mut Vec<u8>) {
    match bound {
        Bound::Unbounded => out.push(0),
        Bound::Included(v) => {
            out.push(1);
            encode_component(v, out);
        }
        Bound::Excluded(v) => {
            out.push(2);
            encode_component(v, out);
        }
    }
}

fn op_code(op: CmpOp) -> u8 {
    match op {
        CmpOp::Eq => 1,
        CmpOp::Ne => 2,
        CmpOp::Lt => 3,
        CmpOp::Le => 4,
        CmpOp::Gt => 5,
        CmpOp::Ge => 6,
    }
}

/// Appends the canonical encoding of a bound predicate (self-delimiting).
pub fn encode_predicate(predicate: &Predicate, out: &mut Vec<u8>) {
    match predicate {
        Predicate::Cmp { column, op, value } => {
            out.push(0x10);
            write_varint(*column as u64, out);
            out.push(op_code(*op));
            encode_component(value, out);
        }
        Predicate::Between {
            column,
            low,
            high,
            negated,
        } => {
            out.push(0x11);
            write_varint(*column as u64, out);
            out.push(u8::from(*negated));
            encode_component(low, out);
            encode_component(high, out);
        }
        Predicate::In {
            column,
            values,
            negated,
        } => {
            out.push(0x12);
            write_varint(*column as u64, out);
            out.push(u8::from(*negated));
            encode_values(values, out);
        }
        Predicate::IsNull { column, negated } => {
            out.push(0x13);
            write_varint(*column as u64, out);
            out.push(u8::from(*negated));
        }
        Predicate::LikePrefix {
            column,
            prefix,
            negated,
        } => {
            out.push(0x14);
            write_varint(*column as u64, out);
            out.push(u8::from(*negated));
            write_str(prefix, out);
        }
        Predicate::And(children) | Predicate::Or(children) => {
            out.push(if matches!(predicate, Predicate::And(_)) {
                0x15
            } else {
                0x16
            });
            write_varint(children.len() as u64, out);
            for child in children {
                encode_predicate(child, out);
            }
        }
        Predicate::Not(inner) => {
            out.push(0x17);
            encode_predicate(inner, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(index: u32, prefix: i64) -> AccessPath {
        AccessPath::IndexRange {
            index,
            prefix: vec![Value::Int(prefix)],
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
        }
    }

    #[test]
    fn nested_unions_flatten_sort_and_dedupe() {
        let a = AccessPath::Union(vec![
            range(2, 5),
            AccessPath::Union(vec![range(1, 3), range(2, 5), AccessPath::Empty]),
        ]);
        let b = AccessPath::Union(vec![range(1, 3), range(2, 5)]);
        assert_eq!(canonicalize(a.clone()), canonicalize(b));
        assert_eq!(
            canonicalize(a),
            AccessPath::Union(vec![range(1, 3), range(2, 5)])
        );
    }

    #[test]
    fn single_child_and_empty_rules() {
        assert_eq!(
            canonicalize(AccessPath::Union(vec![range(1, 1), AccessPath::Empty])),
            range(1, 1)
        );
        assert_eq!(
            canonicalize(AccessPath::Intersection(vec![
                range(1, 1),
                AccessPath::Empty
            ])),
            AccessPath::Empty
        );
        assert_eq!(
            canonicalize(AccessPath::Union(vec![AccessPath::Empty])),
            AccessPath::Empty
        );
        assert_eq!(
            canonicalize(AccessPath::Union(vec![range(1, 1), AccessPath::FullScan])),
            AccessPath::FullScan
        );
        assert_eq!(
            canonicalize(AccessPath::Intersection(vec![
                range(1, 1),
                AccessPath::FullScan
            ])),
            range(1, 1)
        );
        assert_eq!(
            canonicalize(AccessPath::ByKeys(vec![
                vec![Value::Int(2)],
                vec![Value::Int(1)],
                vec![Value::Int(2)]
            ])),
            AccessPath::ByKeys(vec![vec![Value::Int(1)], vec![Value::Int(2)]])
        );
        assert_eq!(
            canonicalize(AccessPath::PrimaryRange {
                prefix: vec![],
                lower: Bound::Excluded(Value::Int(3)),
                upper: Bound::Included(Value::Int(3)),
            }),
            AccessPath::Empty
        );
    }

    #[test]
    fn predicate_children_sort_and_double_not_cancels() {
        let a = Predicate::Cmp {
            column: 2,
            op: CmpOp::Eq,
            value: Value::Int(1),
        };
        let b = Predicate::IsNull {
            column: 0,
            negated: false,
        };
        let one = Predicate::And(vec![a.clone(), Predicate::And(vec![b.clone(), a.clone()])]);
        let two = Predicate::And(vec![
            Predicate::Not(Box::new(Predicate::Not(Box::new(b.clone())))),
            a.clone(),
        ]);
        assert_eq!(canonical_predicate(one), canonical_predicate(two));
        assert_eq!(canonical_predicate(Predicate::Or(vec![a.clone()])), a);
    }
}
