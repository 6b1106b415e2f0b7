//! The demo's sample data: the `orders` schema (four shards, three
//! secondary indexes), rows drawn from a small deterministic generator
//! (SplitMix64, so every run builds the same database), and the batched
//! load with a progress bar. It prints nothing but the bar.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use keyset::{Db, Value};

use crate::error::CliError;

/// The demo's table.
pub const TABLE: &str = "orders";

/// The statements that create the schema.
pub const SCHEMA: [&str; 4] = [
    "CREATE TABLE orders (id INT PRIMARY KEY, customer INT NOT NULL, status TEXT NOT NULL, \
     region TEXT NOT NULL, amount FLOAT NOT NULL, created INT NOT NULL) WITH (shards = 4)",
    "CREATE INDEX by_status_created ON orders (status, created)",
    "CREATE INDEX by_customer ON orders (customer)",
    "CREATE INDEX by_region ON orders (region)",
];

/// Order statuses and how many in a hundred orders have each.
pub const STATUSES: [(&str, u64); 5] = [
    ("new", 10),
    ("paid", 20),
    ("shipped", 50),
    ("cancelled", 15),
    ("returned", 5),
];

pub const REGIONS: [&str; 5] = ["north", "south", "east", "west", "central"];

/// 2024-01-01T00:00:00Z; `created` is a Unix time within the year after it.
pub const EPOCH: i64 = 1_704_067_200;
pub const YEAR_SECONDS: i64 = 366 * 86_400;

/// Rows per committed batch during the load.
pub const BATCH_ROWS: usize = 2_000;

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; the slight bias of `%` does not matter here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// How many distinct customers `rows` orders have: about 40 orders each.
pub fn customers(rows: u64) -> u64 {
    (rows / 40).max(10)
}

/// The row with primary key `id`, drawn from `rng`.
pub fn order(rng: &mut SplitMix64, id: i64, customers: u64) -> Vec<Value> {
    let customer = 1 + rng.below(customers) as i64;
    let mut pick = rng.below(100);
    let mut status = STATUSES[0].0;
    for (name, share) in STATUSES {
        if pick < share {
            status = name;
            break;
        }
        pick -= share;
    }
    let region = REGIONS[rng.below(REGIONS.len() as u64) as usize];
    let cents = 100 + rng.below(99_900) as i64;
    let created = EPOCH + rng.below(YEAR_SECONDS as u64) as i64;
    vec![
        Value::Int(id),
        Value::Int(customer),
        Value::from(status),
        Value::from(region),
        Value::Float(cents as f64 / 100.0),
        Value::Int(created),
    ]
}

/// Creates the schema and loads `rows` orders in batches of [`BATCH_ROWS`],
/// showing a progress bar on stderr. Returns how long the load took.
pub fn load(db: &Db, rows: u64) -> Result<Duration, CliError> {
    for statement in SCHEMA {
        db.execute(statement)?;
    }
    let bar = ProgressBar::new(rows);
    if let Ok(style) = ProgressStyle::with_template(
        "  loading {wide_bar} {pos}/{len} rows ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    let started = Instant::now();
    let customers = customers(rows);
    let mut rng = SplitMix64::new(0x6b65_7973_6574); // "keyset"
    let mut id: i64 = 1;
    let last = i64::try_from(rows).unwrap_or(i64::MAX);
    while id <= last {
        let mut batch = db.batch();
        let end = last.min(id.saturating_add(BATCH_ROWS as i64 - 1));
        for key in id..=end {
            batch = batch.put(TABLE, order(&mut rng, key, customers));
        }
        batch.commit()?;
        bar.set_position((end as u64).min(rows));
        id = end + 1;
    }
    bar.finish_and_clear();
    Ok(started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_spreads_statuses() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let rows_a: Vec<_> = (1..=2000).map(|id| order(&mut a, id, 50)).collect();
        let rows_b: Vec<_> = (1..=2000).map(|id| order(&mut b, id, 50)).collect();
        assert_eq!(rows_a, rows_b);
        for (status, _) in STATUSES {
            let count = rows_a
                .iter()
                .filter(|r| r[2] == Value::from(status))
                .count();
            assert!(count > 20, "{status}: {count}");
        }
    }

    #[test]
    fn load_builds_the_schema_and_every_row() {
        let db = Db::memory().expect("memory db");
        load(&db, 2_345).expect("load");
        let table = db.table(TABLE).expect("orders");
        assert_eq!((table.shards, table.indexes.len()), (4, 3));
        let ids: Vec<i64> = db
            .stream("SELECT id FROM orders ORDER BY id LIMIT 1000")
            .expect("stream")
            .map(|r| r.and_then(|r| r.get::<i64>("id")))
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(ids, (1..=2_345).collect::<Vec<i64>>());
    }
}
