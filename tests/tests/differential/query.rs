//! Random statements of keyset's SQL subset over a random [`Schema`]:
//! WHERE trees (= <> < <= > >= BETWEEN IN IS NULL LIKE 'prefix%' AND OR
//! NOT), projections, ORDER BY lists closed by the whole primary key (left
//! out of keyset's SQL in a third of the queries, so keyset's implicit
//! tie-break is compared too), LIMIT as the page size, OFFSET, query
//! options; and INSERT, UPDATE, DELETE. Each is rendered once for keyset and
//! once for SQLite; it never runs anything.

use keyset::Value;

use super::rng::Rng;
use super::schema::{like_prefix, value_of, Schema, Ty};

/// How the shards of a query are merged (`WITH (merge = ...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merge {
    Default,
    Eager,
    Unordered,
}

/// One random SELECT.
#[derive(Clone, Debug)]
pub struct Select {
    /// `None`: `*`.
    pub projection: Option<Vec<usize>>,
    pub filter: Option<String>,
    /// (column, descending): the ORDER BY terms drawn at random.
    pub order: Vec<(usize, bool)>,
    /// The primary-key columns not among `order`, which close the order.
    pub key_tail: Vec<(usize, bool)>,
    /// Whether keyset's SQL leaves `key_tail` out, so that keyset breaks
    /// the ties itself (the order it uses is read from its EXPLAIN).
    pub implicit_tail: bool,
    pub limit: usize,
    pub offset: usize,
    pub merge: Merge,
    pub max_examined: Option<u64>,
}

impl Select {
    pub fn random(rng: &mut Rng, schema: &Schema) -> Select {
        let n = schema.columns.len();
        let projection = if rng.chance(30) {
            None
        } else {
            Some(rng.some_of(n, n))
        };
        let filter = if rng.chance(25) {
            indexed_predicate(rng, schema)
        } else {
            None
        };
        let filter = filter.or_else(|| rng.chance(80).then(|| predicate(rng, schema, 0)));
        let mut order: Vec<(usize, bool)> = Vec::new();
        for _ in 0..rng.below(3) {
            let c = rng.below(n);
            if !order.iter().any(|(o, _)| *o == c) {
                order.push((c, rng.chance(50)));
            }
        }
        // The whole primary key closes the list, so the order is total.
        let mut key_tail = Vec::new();
        for &c in &schema.pk {
            if !order.iter().any(|(o, _)| *o == c) {
                key_tail.push((c, rng.chance(40)));
            }
        }
        let implicit_tail = rng.below(3) == 0;
        let limit = if rng.chance(85) {
            1 + rng.below(7)
        } else {
            10 + rng.below(60)
        };
        let offset = if rng.chance(25) { rng.below(12) } else { 0 };
        let merge = match (schema.shards > 1, rng.below(10)) {
            (true, 0) => Merge::Unordered,
            (true, 1) => Merge::Eager,
            _ => Merge::Default,
        };
        let max_examined = rng.chance(12).then(|| 1 + rng.below(12) as u64);
        Select {
            projection,
            filter,
            order,
            key_tail,
            implicit_tail,
            limit,
            offset,
            merge,
            max_examined,
        }
    }

    /// Positions of the projected columns.
    pub fn columns(&self, schema: &Schema) -> Vec<usize> {
        match &self.projection {
            Some(p) => p.clone(),
            None => (0..schema.columns.len()).collect(),
        }
    }

    /// Whether the page boundaries are those of LIMIT alone (no budget can
    /// cut a page short), so backward pages must line up with forward ones.
    pub fn pages_are_full(&self) -> bool {
        self.max_examined.is_none()
    }

    /// Whether keyset's SQL states the whole order (else keyset completes
    /// it, or, under an unordered merge, promises none).
    pub fn order_is_explicit(&self) -> bool {
        !self.implicit_tail && self.merge != Merge::Unordered
    }

    /// The ORDER BY terms of keyset's SQL: none under an unordered merge
    /// (keyset refuses an ORDER BY there), else the drawn terms and, unless
    /// left implicit, the primary key.
    fn keyset_order(&self) -> Vec<(usize, bool)> {
        match (self.merge, self.implicit_tail) {
            (Merge::Unordered, _) => Vec::new(),
            (_, true) => self.order.clone(),
            (_, false) => self.order.iter().chain(&self.key_tail).copied().collect(),
        }
    }

    /// The whole order as generated (both engines, when it is explicit).
    pub fn full_order(&self) -> Vec<(usize, bool)> {
        self.order.iter().chain(&self.key_tail).copied().collect()
    }

    fn head(&self, schema: &Schema, order: &[(usize, bool)]) -> String {
        let projection = match &self.projection {
            None => "*".to_owned(),
            Some(p) => schema.names(p),
        };
        let mut sql = format!("SELECT {projection} FROM {}", schema.table);
        if let Some(filter) = &self.filter {
            sql.push_str(" WHERE ");
            sql.push_str(filter);
        }
        let order: Vec<String> = order
            .iter()
            .map(|&(c, desc)| {
                let dir = if desc { "DESC" } else { "ASC" };
                format!("{} {dir}", schema.columns[c].name)
            })
            .collect();
        if !order.is_empty() {
            sql.push_str(" ORDER BY ");
            sql.push_str(&order.join(", "));
        }
        sql
    }

    /// The keyset statement: LIMIT is the page size.
    pub fn keyset_sql(&self, schema: &Schema) -> String {
        let mut sql = format!(
            "{} LIMIT {}",
            self.head(schema, &self.keyset_order()),
            self.limit
        );
        if self.offset > 0 {
            sql.push_str(&format!(" OFFSET {}", self.offset));
        }
        let mut options = Vec::new();
        match self.merge {
            Merge::Default => {}
            Merge::Eager => options.push("merge = 'eager'".to_owned()),
            Merge::Unordered => options.push("merge = 'unordered'".to_owned()),
        }
        if let Some(n) = self.max_examined {
            options.push(format!("max_examined = {n}"));
        }
        if !options.is_empty() {
            sql.push_str(&format!(" WITH ({})", options.join(", ")));
        }
        sql
    }

    /// The SQLite statement in the total order `order`: the whole result,
    /// without OFFSET (the caller applies it, and also needs the rows it
    /// skips).
    pub fn sqlite_sql(&self, schema: &Schema, order: &[(usize, bool)]) -> String {
        self.head(schema, order)
    }
}

/// The order key keyset's EXPLAIN reports (`order key: c1 ASC, c0 DESC`)
/// as (column, descending) terms; it must name every primary-key column,
/// or the order is not total.
pub fn explained_order(plan: &str, schema: &Schema) -> Result<Vec<(usize, bool)>, String> {
    let line = plan
        .lines()
        .find_map(|l| l.trim().strip_prefix("order key:"))
        .ok_or_else(|| format!("EXPLAIN has no order key:\n{plan}"))?;
    let mut order = Vec::new();
    for term in line.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (name, dir) = term
            .rsplit_once(' ')
            .ok_or_else(|| format!("order key term `{term}` has no direction"))?;
        let c = schema
            .columns
            .iter()
            .position(|col| col.name == name)
            .ok_or_else(|| format!("order key names unknown column `{name}`"))?;
        order.push((c, dir == "DESC"));
    }
    if let Some(&missing) = schema
        .pk
        .iter()
        .find(|&&k| !order.iter().any(|&(c, _)| c == k))
    {
        return Err(format!(
            "the order key `{line}` leaves out primary-key column `{}`: it is not total",
            schema.columns[missing].name
        ));
    }
    Ok(order)
}

/// A literal of column `c`'s type (rarely NULL), rendered as SQL.
fn literal(rng: &mut Rng, schema: &Schema, c: usize) -> String {
    if rng.chance(4) {
        return "NULL".to_owned();
    }
    value_of(rng, schema.columns[c].ty).to_string()
}

/// A condition shaped for the planner's index rules: AND or OR of
/// equalities on every column of an index (or its prefix and a range on
/// the next column), so that unions and intersections of index ranges are
/// planned. `None` when the table has no secondary index.
fn indexed_predicate(rng: &mut Rng, schema: &Schema) -> Option<String> {
    if schema.indexes.is_empty() {
        return None;
    }
    let mut branches: Vec<String> = (0..2 + rng.below(2))
        .map(|_| {
            let index = rng.pick(&schema.indexes);
            let mut terms: Vec<String> = index
                .columns
                .iter()
                .map(|&c| {
                    let value = value_of(rng, schema.columns[c].ty);
                    format!("({} = {value})", schema.columns[c].name)
                })
                .collect();
            if terms.len() > 1 && rng.chance(30) {
                let c = *index.columns.last().expect("an index has columns");
                let op = *rng.pick(&["<", "<=", ">", ">="]);
                let value = value_of(rng, schema.columns[c].ty);
                *terms.last_mut().expect("an index has columns") =
                    format!("({} {op} {value})", schema.columns[c].name);
            }
            format!("({})", terms.join(" AND "))
        })
        .collect();
    if rng.chance(20) {
        branches.push(predicate(rng, schema, 2));
    }
    let op = if rng.chance(50) { " AND " } else { " OR " };
    Some(format!("({})", branches.join(op)))
}

/// A random WHERE condition, fully parenthesized.
pub fn predicate(rng: &mut Rng, schema: &Schema, depth: usize) -> String {
    if depth < 3 && rng.chance(35) {
        return match rng.below(5) {
            0 => format!("(NOT {})", predicate(rng, schema, depth + 1)),
            k => {
                let op = if k <= 2 { " AND " } else { " OR " };
                let parts: Vec<String> = (0..2 + rng.below(2))
                    .map(|_| predicate(rng, schema, depth + 1))
                    .collect();
                format!("({})", parts.join(op))
            }
        };
    }
    let c = rng.below(schema.columns.len());
    let name = &schema.columns[c].name;
    let not = |rng: &mut Rng| if rng.chance(25) { "NOT " } else { "" };
    let kind = if schema.columns[c].ty == Ty::Text {
        rng.below(7)
    } else {
        rng.below(6)
    };
    match kind {
        0 | 1 => {
            let op = *rng.pick(&["=", "<>", "<", "<=", ">", ">="]);
            format!("({name} {op} {})", literal(rng, schema, c))
        }
        2 => {
            let (low, high) = (literal(rng, schema, c), literal(rng, schema, c));
            format!("({name} {}BETWEEN {low} AND {high})", not(rng))
        }
        3 => {
            let list: Vec<String> = (0..1 + rng.below(4))
                .map(|_| literal(rng, schema, c))
                .collect();
            format!("({name} {}IN ({}))", not(rng), list.join(", "))
        }
        4 => format!("({name} IS {}NULL)", not(rng)),
        5 => {
            // A literal on the left: `3 < c` is `c > 3`.
            let op = *rng.pick(&["=", "<", ">=", "<>"]);
            format!("({} {op} {name})", literal(rng, schema, c))
        }
        _ => {
            let prefix = Value::Text(like_prefix(rng)).to_string();
            let pattern = format!("{}%'", &prefix[..prefix.len() - 1]);
            format!("({name} {}LIKE {pattern})", not(rng))
        }
    }
}

/// `UPDATE t SET ... [WHERE ...]` over columns outside the primary key
/// (both engines). `None` when every column is in the key.
pub fn update(rng: &mut Rng, schema: &Schema) -> Option<String> {
    let settable: Vec<usize> = (0..schema.columns.len())
        .filter(|c| !schema.pk.contains(c))
        .collect();
    if settable.is_empty() {
        return None;
    }
    let targets = rng.some_of(settable.len(), 2);
    let sets: Vec<String> = targets
        .iter()
        .map(|&n| {
            let c = settable[n];
            let value = if rng.chance(10) {
                "NULL".to_owned()
            } else {
                value_of(rng, schema.columns[c].ty).to_string()
            };
            format!("{} = {value}", schema.columns[c].name)
        })
        .collect();
    let mut sql = format!("UPDATE {} SET {}", schema.table, sets.join(", "));
    if rng.chance(92) {
        sql.push_str(&format!(" WHERE {}", predicate(rng, schema, 1)));
    }
    Some(sql)
}

/// `DELETE FROM t WHERE ...` (rarely without WHERE).
pub fn delete(rng: &mut Rng, schema: &Schema) -> String {
    let mut sql = format!("DELETE FROM {}", schema.table);
    if rng.chance(97) {
        sql.push_str(&format!(" WHERE {}", predicate(rng, schema, 1)));
    }
    sql
}

/// Renders an INSERT of `rows` (full rows in column order). Sometimes it
/// names its columns, leaving out nullable ones whose value is NULL.
pub fn insert(rng: &mut Rng, schema: &Schema, rows: &[Vec<Value>]) -> String {
    let n = schema.columns.len();
    let named = rng.chance(25);
    let columns: Vec<usize> = if named {
        let mut keep: Vec<usize> = (0..n)
            .filter(|&c| schema.columns[c].not_null || rows.iter().any(|r| !r[c].is_null()))
            .collect();
        rng.shuffle(&mut keep);
        keep
    } else {
        (0..n).collect()
    };
    let tuples: Vec<String> = rows
        .iter()
        .map(|row| {
            let values: Vec<String> = columns.iter().map(|&c| row[c].to_string()).collect();
            format!("({})", values.join(", "))
        })
        .collect();
    let list = if named {
        format!(" ({})", schema.names(&columns))
    } else {
        String::new()
    };
    format!(
        "INSERT INTO {}{list} VALUES {}",
        schema.table,
        tuples.join(", ")
    )
}
