//! Deterministic data: every row of the benchmark table is a pure function
//! of its id, so keyset, SQLite and the raw map load exactly the same
//! values, run after run. Also the seeded generator the workloads draw their
//! parameters from. Nothing here touches a database.

use keyset::Value;

/// Distinct values of column `a`: each value selects 10% of the rows.
pub const A_VALUES: i64 = 10;
/// Distinct values of column `b`: each value selects 1% of the rows.
pub const B_VALUES: i64 = 100;
/// Column `c` is drawn from `0..C_RANGE` (unindexed, for top-k).
pub const C_RANGE: u64 = 1_000_000_000;

/// The benchmark table's columns, in order.
pub const COLUMNS: [&str; 6] = ["id", "a", "b", "c", "d", "e"];

/// One row of the benchmark table.
#[derive(Clone, Debug, PartialEq)]
pub struct BenchRow {
    pub id: i64,
    pub a: i64,
    pub b: i64,
    pub c: i64,
    pub d: String,
    pub e: f64,
}

/// SplitMix64: a fast, well-mixed bijection on u64 (Steele et al.).
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn column_hash(id: i64, column: u64) -> u64 {
    splitmix64((id as u64) ^ column.wrapping_mul(0x5851_f42d_4c95_7f2d))
}

impl BenchRow {
    /// The row with this id (ids run from 1 to the row count).
    pub fn generate(id: i64) -> BenchRow {
        let hd = column_hash(id, 4);
        BenchRow {
            id,
            a: (column_hash(id, 1) % A_VALUES as u64) as i64,
            b: (column_hash(id, 2) % B_VALUES as u64) as i64,
            c: (column_hash(id, 3) % C_RANGE) as i64,
            d: format!("user-{:012x}", hd & 0xffff_ffff_ffff),
            e: (column_hash(id, 5) % 1_000_000) as f64 / 100.0,
        }
    }

    /// The row as keyset values, in column order.
    pub fn values(&self) -> Vec<Value> {
        vec![
            Value::Int(self.id),
            Value::Int(self.a),
            Value::Int(self.b),
            Value::Int(self.c),
            Value::Text(self.d.clone()),
            Value::Float(self.e),
        ]
    }
}

fn gcd(mut x: u64, mut y: u64) -> u64 {
    while y != 0 {
        (x, y) = (y, x % y);
    }
    x
}

/// A bijection of `0..n` onto the ids `1..=n` that scatters consecutive
/// positions: inserts in this order arrive in random key order, neither
/// SQLite's append-to-the-rowid-tree best case nor a skiplist's.
#[derive(Clone, Copy, Debug)]
pub struct Scatter {
    n: u64,
    step: u64,
}

impl Scatter {
    pub fn new(n: u64) -> Scatter {
        let mut step = 1_000_003u64;
        while n > 1 && gcd(step % n, n) != 1 {
            step += 2;
        }
        Scatter { n: n.max(1), step }
    }

    /// The id at position `i` (0-based, below `n`).
    pub fn id(&self, i: u64) -> i64 {
        ((i % self.n) * (self.step % self.n) % self.n + 1) as i64
    }
}

/// A seeded generator for workload parameters (not for the data).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        splitmix64(self.0)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// `count` distinct numbers in `0..n`, in draw order (`count` <= `n`).
    pub fn distinct(&mut self, count: usize, n: u64) -> Vec<i64> {
        let mut out: Vec<i64> = Vec::with_capacity(count);
        while out.len() < count.min(n as usize) {
            let v = self.below(n) as i64;
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_a_function_of_their_id() {
        assert_eq!(BenchRow::generate(42), BenchRow::generate(42));
        assert_ne!(BenchRow::generate(42), BenchRow::generate(43));
        let r = BenchRow::generate(7);
        assert!((0..A_VALUES).contains(&r.a) && (0..B_VALUES).contains(&r.b));
    }

    #[test]
    fn scatter_is_a_bijection() {
        for n in [1u64, 2, 10, 997, 2000, 1_000_003] {
            let s = Scatter::new(n);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let id = s.id(i);
                assert!(id >= 1 && id as u64 <= n);
                assert!(!seen[(id - 1) as usize], "n={n}: id {id} twice");
                seen[(id - 1) as usize] = true;
            }
        }
    }

    #[test]
    fn columns_have_the_advertised_selectivity() {
        let n = 100_000;
        let a0 = (1..=n).filter(|&id| BenchRow::generate(id).a == 0).count();
        let b0 = (1..=n).filter(|&id| BenchRow::generate(id).b == 0).count();
        assert!((9_000..11_000).contains(&a0), "a = 0 selects {a0} of {n}");
        assert!((800..1_200).contains(&b0), "b = 0 selects {b0} of {n}");
    }
}
