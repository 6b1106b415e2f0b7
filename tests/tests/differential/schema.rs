//! Random tables for the differential suite: columns of INT, TEXT, FLOAT,
//! BOOL and now and then BYTES (nullable or not), a primary key (sometimes composite), up to
//! two secondary indexes (sometimes composite, sometimes unique), 1-3
//! shards; the DDL of each engine; and values drawn from small domains so
//! that duplicates and NULLs are common. It knows nothing of queries.

use keyset::Value;

use super::rng::Rng;

/// The column types the suite covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Int,
    Text,
    Float,
    Bool,
    Bytes,
}

impl Ty {
    fn keyset_name(self) -> &'static str {
        match self {
            Ty::Int => "INT",
            Ty::Text => "TEXT",
            Ty::Float => "FLOAT",
            Ty::Bool => "BOOL",
            Ty::Bytes => "BYTES",
        }
    }

    /// SQLite type names chosen for their affinity: INTEGER, TEXT, REAL, BLOB.
    fn sqlite_name(self) -> &'static str {
        match self {
            Ty::Int | Ty::Bool => "INTEGER",
            Ty::Text => "TEXT",
            Ty::Float => "REAL",
            Ty::Bytes => "BLOB",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub ty: Ty,
    pub not_null: bool,
}

#[derive(Clone, Debug)]
pub struct Index {
    pub name: String,
    pub columns: Vec<usize>,
    pub unique: bool,
}

/// One table, as both engines get it.
#[derive(Clone, Debug)]
pub struct Schema {
    pub table: String,
    pub columns: Vec<Column>,
    /// Positions of the primary-key columns, in key order.
    pub pk: Vec<usize>,
    pub indexes: Vec<Index>,
    pub shards: u32,
    /// `partition_by`: a key column other than the first, sometimes.
    pub partition: Option<usize>,
}

/// Text values: shared prefixes, case, a quote, a `%` and a non-ASCII
/// letter, so LIKE, byte order and escaping are all exercised.
const TEXTS: [&str; 14] = [
    "", "a", "a b", "ab", "abc", "abd", "b", "B", "ba", "o'k", "é", "zz", "a%", "Ab",
];

impl Schema {
    pub fn random(rng: &mut Rng) -> Schema {
        let types = [
            Ty::Int,
            Ty::Text,
            Ty::Float,
            Ty::Bool,
            Ty::Int,
            Ty::Text,
            Ty::Float,
            Ty::Bool,
            Ty::Bytes,
        ];
        let count = 2 + rng.below(4);
        let mut columns: Vec<Column> = (0..count)
            .map(|i| Column {
                name: format!("c{i}"),
                ty: *rng.pick(&types),
                not_null: rng.chance(15),
            })
            .collect();
        // The key: one column or two; never BOOL columns only (too few rows).
        let mut pk: Vec<usize> = (0..count).collect();
        rng.shuffle(&mut pk);
        pk.truncate(if count >= 3 && rng.chance(35) { 2 } else { 1 });
        if pk.iter().all(|&c| columns[c].ty == Ty::Bool) {
            columns[pk[0]].ty = Ty::Int;
        }
        for &c in &pk {
            columns[c].not_null = true;
        }
        let non_key: Vec<usize> = (0..count).filter(|c| !pk.contains(c)).collect();
        let mut indexes = Vec::new();
        for i in 0..rng.below(3) {
            let columns_of_index = if non_key.len() >= 2 && rng.chance(40) {
                rng.some_of(non_key.len(), 2)
                    .into_iter()
                    .map(|n| non_key[n])
                    .collect()
            } else {
                vec![rng.below(count)]
            };
            // A unique index over BOOL columns alone would refuse nearly every row.
            let unique = rng.chance(30)
                && columns_of_index
                    .iter()
                    .any(|&c: &usize| columns[c].ty != Ty::Bool);
            indexes.push(Index {
                name: format!("ix{i}"),
                columns: columns_of_index,
                unique,
            });
        }
        Schema {
            table: "t".to_owned(),
            columns,
            partition: (pk.len() > 1 && rng.chance(40)).then(|| pk[1]),
            pk,
            indexes,
            shards: 1 + rng.below(3) as u32,
        }
    }

    fn column_list(&self, type_name: fn(Ty) -> &'static str) -> String {
        let mut parts: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let null = if c.not_null { " NOT NULL" } else { "" };
                format!("{} {}{null}", c.name, type_name(c.ty))
            })
            .collect();
        parts.push(format!("PRIMARY KEY ({})", self.names(&self.pk)));
        parts.join(", ")
    }

    /// Comma-separated names of the columns at `positions`.
    pub fn names(&self, positions: &[usize]) -> String {
        positions
            .iter()
            .map(|&c| self.columns[c].name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// CREATE TABLE and CREATE INDEX statements for keyset.
    pub fn keyset_ddl(&self) -> Vec<String> {
        let partition = match self.partition {
            Some(c) => format!(", partition_by = {}", self.columns[c].name),
            None => String::new(),
        };
        let mut out = vec![format!(
            "CREATE TABLE {} ({}) WITH (shards = {}{partition})",
            self.table,
            self.column_list(Ty::keyset_name),
            self.shards
        )];
        out.extend(self.index_ddl());
        out
    }

    /// The same schema for SQLite.
    pub fn sqlite_ddl(&self) -> Vec<String> {
        let mut out = vec![format!(
            "CREATE TABLE {} ({})",
            self.table,
            self.column_list(Ty::sqlite_name)
        )];
        out.extend(self.index_ddl());
        out
    }

    fn index_ddl(&self) -> Vec<String> {
        self.indexes
            .iter()
            .map(|ix| {
                let unique = if ix.unique { "UNIQUE " } else { "" };
                format!(
                    "CREATE {unique}INDEX {} ON {} ({})",
                    ix.name,
                    self.table,
                    self.names(&ix.columns)
                )
            })
            .collect()
    }

    /// A value for column `c`: NULL now and then when the column allows it.
    pub fn value(&self, rng: &mut Rng, c: usize) -> Value {
        let column = &self.columns[c];
        if !column.not_null && rng.chance(15) {
            return Value::Null;
        }
        value_of(rng, column.ty)
    }
}

/// A non-NULL value of type `ty`, mostly from a small domain.
pub fn value_of(rng: &mut Rng, ty: Ty) -> Value {
    match ty {
        Ty::Int => Value::Int(match rng.below(10) {
            0..=6 => rng.range(-3, 3),
            7 | 8 => rng.range(-60, 60),
            _ => *rng.pick(&[i64::MAX, -i64::MAX, 1 << 40, -(1 << 40)]),
        }),
        // Quarters are exact in binary, and their decimal form reads back exactly.
        Ty::Float => Value::Float(match rng.below(10) {
            0..=7 => rng.range(-12, 12) as f64 / 4.0,
            8 => rng.range(-4000, 4000) as f64 / 8.0,
            _ => *rng.pick(&[1.0e12 + 0.5, -1.0e12 - 0.5, 0.125]),
        }),
        Ty::Text => {
            if rng.chance(75) {
                Value::Text((*rng.pick(&TEXTS)).to_owned())
            } else {
                let len = rng.below(4);
                Value::Text((0..len).map(|_| *rng.pick(&['a', 'b', 'c', 'B'])).collect())
            }
        }
        Ty::Bool => Value::Bool(rng.chance(50)),
        // Bytes that need the text escape (00 -> 00 FF) and share prefixes.
        Ty::Bytes => {
            let len = rng.below(4);
            Value::Bytes(
                (0..len)
                    .map(|_| *rng.pick(&[0x00, 0x01, 0xff, 0x61]))
                    .collect(),
            )
        }
    }
}

/// A text prefix for `LIKE 'prefix%'`: no `%` or `_` in it.
pub fn like_prefix(rng: &mut Rng) -> String {
    let Value::Text(text) = value_of(rng, Ty::Text) else {
        unreachable!("value_of(Text) is text")
    };
    let chars: Vec<char> = text.chars().filter(|c| *c != '%' && *c != '_').collect();
    let keep = rng.below(chars.len() + 1);
    chars[..keep].iter().collect()
}
