//! Access-path selection for one conjunction: primary-key equality to
//! `ByKeys`, several full-equality index matches to `Intersection`, the
//! longest usable key prefix to `PrimaryRange`/`IndexRange`, an OR of
//! indexable branches to `Union`, otherwise `FullScan`. Every path it
//! returns is canonical and a superset of the rows the conjunction accepts;
//! it never drops a conjunct from the residual filter (that is kept whole).

use std::cmp::Reverse;
use std::ops::Bound;

use keyset_store::{IndexDef, TableDef, Value};

use super::constraints::{ColumnConstraint, Constraints};
use super::order::OrderContext;
use crate::access::AccessPath;
use crate::canonical::canonicalize;
use crate::expr::Predicate;

/// Most keys (or prefixes) an IN list or a product of IN lists may expand
/// to; beyond it the column is scanned as the range [min, max] instead.
pub const MAX_EXPANDED_KEYS: usize = 1024;

/// Most children a union built from an OR may have; a larger OR is not
/// indexable (the path would cost more than it saves).
pub const MAX_UNION_CHILDREN: usize = 1024;

/// How deep ORs nested inside AND inside OR are expanded into unions.
pub const MAX_OR_DEPTH: usize = 8;

/// How good a path is, for comparing candidates: exact keys (or nothing)
/// beat intersections, which beat ranges; among ranges more equality
/// columns win and a bounded range beats none. `None` is a full scan.
pub(crate) type Score = Option<(u8, usize, bool)>;

pub(crate) fn score(path: &AccessPath) -> Score {
    match path {
        AccessPath::Empty | AccessPath::ByKeys(_) => Some((2, 0, false)),
        AccessPath::Intersection(_) => Some((1, 0, false)),
        AccessPath::PrimaryRange {
            prefix,
            lower,
            upper,
        }
        | AccessPath::IndexRange {
            prefix,
            lower,
            upper,
            ..
        } => Some((0, prefix.len(), is_bounded(lower, upper))),
        AccessPath::Union(children) => children.iter().map(score).min().flatten(),
        AccessPath::FullScan => None,
    }
}

fn is_bounded(lower: &Bound<Value>, upper: &Bound<Value>) -> bool {
    !matches!((lower, upper), (Bound::Unbounded, Bound::Unbounded))
}

/// The equality prefixes (one per combination of IN values) and the range
/// on the next column that a key's columns can use.
struct KeyMatch {
    prefixes: Vec<Vec<Value>>,
    lower: Bound<Value>,
    upper: Bound<Value>,
}

impl KeyMatch {
    fn equality_len(&self) -> usize {
        self.prefixes.first().map_or(0, Vec::len)
    }
}

/// Matches key columns against constraints: equality columns extend the
/// prefix (IN lists multiply it, up to [`MAX_EXPANDED_KEYS`]), the first
/// column that is a range (or would overflow the expansion) bounds the
/// next component, and the match stops there. `None`: nothing usable.
fn match_key(columns: &[usize], constraints: &Constraints) -> Option<KeyMatch> {
    let mut prefixes: Vec<Vec<Value>> = vec![Vec::new()];
    let mut lower = Bound::Unbounded;
    let mut upper = Bound::Unbounded;
    for &column in columns {
        match constraints.get(column) {
            Some(ColumnConstraint::Eq(values))
                if prefixes.len() * values.len() <= MAX_EXPANDED_KEYS =>
            {
                prefixes = prefixes
                    .iter()
                    .flat_map(|p| {
                        values.iter().map(move |v| {
                            let mut next = p.clone();
                            next.push(v.clone());
                            next
                        })
                    })
                    .collect();
            }
            Some(ColumnConstraint::Eq(values)) => {
                if let (Some(first), Some(last)) = (values.first(), values.last()) {
                    lower = Bound::Included(first.clone());
                    upper = Bound::Included(last.clone());
                }
                break;
            }
            Some(ColumnConstraint::Range { lower: l, upper: u }) => {
                lower = l.clone();
                upper = u.clone();
                break;
            }
            None => break,
        }
    }
    let matched = KeyMatch {
        prefixes,
        lower,
        upper,
    };
    (matched.equality_len() > 0 || is_bounded(&matched.lower, &matched.upper)).then_some(matched)
}

/// Picks access paths for one table and one query order.
pub(crate) struct Chooser<'a> {
    pub(crate) table: &'a TableDef,
    pub(crate) order: &'a OrderContext,
}

impl Chooser<'_> {
    /// The access path for an AND of `conjuncts`.
    pub(crate) fn conjunction(&self, conjuncts: &[&Predicate], depth: usize) -> AccessPath {
        let Ok(constraints) = Constraints::from_conjuncts(conjuncts, self.table) else {
            return AccessPath::Empty;
        };
        if let Some(keys) = self.primary_keys(&constraints) {
            return canonicalize(AccessPath::ByKeys(keys));
        }
        if let Some(intersection) = self.intersection(&constraints) {
            return intersection;
        }
        let single = self.best_range(&constraints);
        let union = if depth < MAX_OR_DEPTH {
            self.best_union(conjuncts, depth)
        } else {
            None
        };
        match (single, union) {
            (Some(single), Some(union)) if score(&union) > score(&single) => union,
            (Some(single), _) => single,
            (None, Some(union)) => union,
            (None, None) => AccessPath::FullScan,
        }
    }

    /// Every primary key the conjunction allows, when equality (or IN)
    /// covers the whole primary key.
    fn primary_keys(&self, constraints: &Constraints) -> Option<Vec<Vec<Value>>> {
        let matched = match_key(&self.table.primary_key, constraints)?;
        (matched.equality_len() == self.table.primary_key.len()).then_some(matched.prefixes)
    }

    /// Indexes with equality on every column, without those implied by
    /// another such index (a subset of its columns): two or more make an
    /// intersection.
    fn intersection(&self, constraints: &Constraints) -> Option<AccessPath> {
        let full: Vec<(&IndexDef, KeyMatch)> = self
            .indexes_by_id()
            .into_iter()
            .filter_map(|index| {
                let matched = match_key(&index.columns, constraints)?;
                (matched.equality_len() == index.columns.len()).then_some((index, matched))
            })
            .collect();
        let implied = |index: &IndexDef| {
            full.iter().any(|(other, _)| {
                other.id != index.id
                    && index.columns.iter().all(|c| other.columns.contains(c))
                    && (other.columns.len() > index.columns.len() || other.id < index.id)
            })
        };
        let children: Vec<AccessPath> = full
            .iter()
            .filter(|(index, _)| !implied(index))
            .map(|(index, matched)| index_path(index, matched))
            .collect();
        (children.len() >= 2).then(|| canonicalize(AccessPath::Intersection(children)))
    }

    /// The best primary-key or index range: most equality columns, then a
    /// bounded range, then one whose order is the ORDER BY, then the
    /// primary key, then the lowest index id.
    fn best_range(&self, constraints: &Constraints) -> Option<AccessPath> {
        let mut candidates: Vec<(AccessPath, u32)> = Vec::new();
        if let Some(matched) = match_key(&self.table.primary_key, constraints) {
            let ranges = matched
                .prefixes
                .into_iter()
                .map(|prefix| AccessPath::PrimaryRange {
                    prefix,
                    lower: matched.lower.clone(),
                    upper: matched.upper.clone(),
                })
                .collect();
            candidates.push((canonicalize(AccessPath::Union(ranges)), 0));
        }
        for index in self.indexes_by_id() {
            if let Some(matched) = match_key(&index.columns, constraints) {
                candidates.push((index_path(index, &matched), index.id));
            }
        }
        candidates
            .into_iter()
            .max_by_key(|(path, id)| {
                let streams = self.order.stream_direction(path, self.table).is_some();
                (score(path), streams, Reverse(*id))
            })
            .map(|(path, _)| path)
    }

    /// The best union from one OR conjunct. Each branch is planned together
    /// with the conjunction's other simple conjuncts (distributing the AND),
    /// so `city = 'Oslo' AND (age = 1 OR age = 2)` can use an index on
    /// (city, age). An OR with a branch that is only a full scan is not
    /// indexable.
    fn best_union(&self, conjuncts: &[&Predicate], depth: usize) -> Option<AccessPath> {
        let simple: Vec<&Predicate> = conjuncts
            .iter()
            .copied()
            .filter(|p| !matches!(p, Predicate::Or(_)))
            .collect();
        let mut best: Option<AccessPath> = None;
        for conjunct in conjuncts {
            let Predicate::Or(branches) = conjunct else {
                continue;
            };
            let mut paths = Vec::with_capacity(branches.len());
            for branch in branches {
                let mut scope = simple.clone();
                match branch {
                    Predicate::And(inner) => scope.extend(inner.iter()),
                    other => scope.push(other),
                }
                match self.conjunction(&scope, depth + 1) {
                    AccessPath::FullScan => break,
                    path => paths.push(path),
                }
            }
            if paths.len() < branches.len() {
                continue;
            }
            let union = canonicalize(AccessPath::Union(paths));
            let too_wide = matches!(&union, AccessPath::Union(c) if c.len() > MAX_UNION_CHILDREN);
            let better = best.as_ref().is_none_or(|b| score(&union) > score(b));
            if !too_wide && better {
                best = Some(union);
            }
        }
        best
    }

    fn indexes_by_id(&self) -> Vec<&IndexDef> {
        let mut indexes: Vec<&IndexDef> = self.table.indexes.iter().collect();
        indexes.sort_by_key(|i| i.id);
        indexes
    }

    /// An unbounded scan of the first index (lowest id) whose order is the
    /// ORDER BY: used instead of a full scan plus top-k.
    pub(crate) fn ordered_index_scan(&self) -> Option<AccessPath> {
        if self.order.terms.is_empty() {
            return None;
        }
        self.indexes_by_id()
            .into_iter()
            .map(|index| AccessPath::IndexRange {
                index: index.id,
                prefix: Vec::new(),
                lower: Bound::Unbounded,
                upper: Bound::Unbounded,
            })
            .find(|path| self.order.stream_direction(path, self.table).is_some())
    }
}

/// The index range (or union of ranges, one per IN combination) of a match.
fn index_path(index: &IndexDef, matched: &KeyMatch) -> AccessPath {
    let ranges = matched
        .prefixes
        .iter()
        .map(|prefix| AccessPath::IndexRange {
            index: index.id,
            prefix: prefix.clone(),
            lower: matched.lower.clone(),
            upper: matched.upper.clone(),
        })
        .collect();
    canonicalize(AccessPath::Union(ranges))
}
