//! Agreement, then timing. A workload hands one closure per side; the very
//! closure that is timed is first run to check that the sides return the
//! same rows. Timing is time-boxed, split into rounds that alternate the
//! sides (so a burst of machine load hits all of them), and reports the
//! median round. Nothing here knows what a workload queries.

use std::hint::black_box;
use std::time::{Duration, Instant};

use keyset::Value;

use crate::error::{BenchError, Result};

/// Where an operation puts the rows it materialized: kept for the
/// agreement check, or counted and dropped at once while timing.
#[derive(Debug, Default)]
pub struct Sink {
    keep: bool,
    rows: Vec<Vec<Value>>,
    count: usize,
    examined: u64,
    peak_buffered: usize,
}

impl Sink {
    /// A sink that keeps every row (for the agreement check).
    pub fn keeping() -> Sink {
        Sink {
            keep: true,
            ..Sink::default()
        }
    }

    /// A sink that only counts (for timing).
    pub fn counting() -> Sink {
        Sink::default()
    }

    #[inline]
    pub fn push(&mut self, row: Vec<Value>) {
        self.count += 1;
        if self.keep {
            self.rows.push(row);
        } else {
            drop(black_box(row));
        }
    }

    /// Rows pushed so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Records what a keyset page reported it cost (`PageStats`).
    pub fn page_cost(&mut self, keys_examined: u64, peak_buffered: usize) {
        self.examined += keys_examined;
        self.peak_buffered = self.peak_buffered.max(peak_buffered);
    }

    pub fn rows(&self) -> &[Vec<Value>] {
        &self.rows
    }
}

/// One side's operation: run iteration `i` (which picks its parameters from
/// `i`), pushing every row it materializes into the sink.
pub type Op<'a> = Box<dyn FnMut(u64, &mut Sink) -> Result<()> + 'a>;

/// The three sides of one workload; the raw map is absent where it does not
/// apply.
pub struct Sides<'a> {
    pub keyset: Op<'a>,
    pub sqlite: Op<'a>,
    pub raw: Option<Op<'a>>,
}

impl std::fmt::Debug for Sides<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sides")
            .field("raw", &self.raw.is_some())
            .finish_non_exhaustive()
    }
}

/// How long each side of a workload is timed.
#[derive(Clone, Copy, Debug)]
pub struct TimeBox {
    /// Total time per side per workload (at least one operation per round
    /// is always run).
    pub per_side: Duration,
    /// Rounds the time is split into; the median round is reported.
    pub rounds: usize,
    /// Time only this side (the others report NaN): for profilers.
    pub only: Option<Side>,
}

/// One of the three sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Keyset,
    Sqlite,
    Raw,
}

/// Mean nanoseconds per operation of each side (median over rounds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    pub keyset_ns: f64,
    pub sqlite_ns: f64,
    pub raw_ns: Option<f64>,
}

/// Whether two values are the same value of the same type, bit for bit
/// (keyset's `==` compares numbers across types, which would hide a
/// side that returned `Int(1)` for `Float(1.0)`).
pub fn same_value(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Float(p), Value::Float(q)) => p.to_bits() == q.to_bits(),
        (Value::Float(_), _) | (_, Value::Float(_)) => false,
        (Value::Int(p), Value::Int(q)) => p == q,
        (Value::Int(_), _) | (_, Value::Int(_)) => false,
        _ => x == y,
    }
}

fn first_difference(got: &[Vec<Value>], want: &[Vec<Value>]) -> Option<String> {
    let at = got
        .iter()
        .zip(want)
        .position(|(g, w)| g.len() != w.len() || g.iter().zip(w).any(|(p, q)| !same_value(p, q)));
    match at {
        Some(i) => Some(format!(
            "row {i} of {} is {:?}, SQLite's row {i} of {} is {:?}",
            got.len(),
            got[i],
            want.len(),
            want[i]
        )),
        None if got.len() != want.len() => Some(format!(
            "{} rows where SQLite returned {} (the first {} agree)",
            got.len(),
            want.len(),
            got.len().min(want.len())
        )),
        None => None,
    }
}

/// What the agreement check saw on the first iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agreement {
    /// Rows every side returned.
    pub rows: usize,
    /// Keys keyset's pages examined (`PageStats::keys_examined`).
    pub keyset_examined: u64,
    /// The most rows or keys a keyset page buffered.
    pub keyset_peak_buffered: usize,
}

/// Whether the sides must agree on the order of the rows or only on the
/// rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOrder {
    /// Every side returns SQLite's rows in SQLite's order.
    Same,
    /// Every side returns SQLite's rows, each as often, in any order (an
    /// unordered shard merge yields rows as its shards produce them).
    Any,
}

/// Runs iterations `iterations` on every side and checks each side returns
/// exactly SQLite's rows, in SQLite's order. An empty result proves
/// nothing, so it is an error too.
pub fn check(workload: &str, sides: &mut Sides<'_>, iterations: &[u64]) -> Result<Agreement> {
    check_rows(workload, sides, iterations, RowOrder::Same)
}

/// Rows in a canonical order (value by value), to compare results whose
/// order is not promised.
fn sorted(rows: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut rows = rows.to_vec();
    rows.sort_by(|p, q| {
        p.iter()
            .zip(q)
            .map(|(x, y)| x.compare(y))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| p.len().cmp(&q.len()))
    });
    rows
}

/// [`check`], with the order the rows must agree in.
pub fn check_rows(
    workload: &str,
    sides: &mut Sides<'_>,
    iterations: &[u64],
    order: RowOrder,
) -> Result<Agreement> {
    let mut first: Option<Agreement> = None;
    for &i in iterations {
        let mut want = Sink::keeping();
        (sides.sqlite)(i, &mut want)?;
        if want.count() == 0 {
            return Err(BenchError::WrongPlan {
                workload: workload.to_owned(),
                side: "SQLite",
                detail: format!("iteration {i} returned no rows, so agreement would prove nothing"),
            });
        }
        let mut others: Vec<(&'static str, &mut Op<'_>)> = vec![("keyset", &mut sides.keyset)];
        if let Some(raw) = sides.raw.as_mut() {
            others.push(("the raw map", raw));
        }
        for (side, op) in others {
            let mut got = Sink::keeping();
            op(i, &mut got)?;
            let difference = match order {
                RowOrder::Same => first_difference(got.rows(), want.rows()),
                RowOrder::Any => first_difference(&sorted(got.rows()), &sorted(want.rows()))
                    .map(|d| format!("{d} (both sorted: the order is not compared)")),
            };
            if let Some(detail) = difference {
                return Err(BenchError::Mismatch {
                    workload: workload.to_owned(),
                    side,
                    detail: format!("iteration {i}: {detail}"),
                });
            }
            if side == "keyset" {
                first.get_or_insert(Agreement {
                    rows: want.count(),
                    keyset_examined: got.examined,
                    keyset_peak_buffered: got.peak_buffered,
                });
            }
        }
    }
    Ok(first.unwrap_or_default())
}

/// One side's state across rounds: its operation and the next iteration.
struct Runner<'s, 'a> {
    op: &'s mut Op<'a>,
    next: u64,
    rounds: Vec<f64>,
}

impl Runner<'_, '_> {
    /// Runs operations until `budget` has passed (at least one), growing
    /// the batch between clock reads so cheap operations are not dominated
    /// by reading the clock. Records nanoseconds per operation.
    fn round(&mut self, budget: Duration) -> Result<()> {
        let mut sink = Sink::counting();
        let start = Instant::now();
        let mut ops: u64 = 0;
        let mut batch: u64 = 1;
        loop {
            for _ in 0..batch {
                (self.op)(self.next, &mut sink)?;
                self.next += 1;
            }
            ops += batch;
            let elapsed = start.elapsed();
            if elapsed >= budget {
                let ns = elapsed.as_nanos() as f64 / ops as f64;
                self.rounds.push(ns);
                black_box(sink.count());
                return Ok(());
            }
            let per_op = elapsed.as_nanos().max(1) / u128::from(ops);
            let remaining = (budget - elapsed).as_nanos();
            let fits = u64::try_from(remaining / per_op.max(1)).unwrap_or(u64::MAX);
            batch = (batch * 2).min(fits.max(1));
        }
    }

    fn median(&mut self) -> f64 {
        self.rounds.sort_by(f64::total_cmp);
        self.rounds
            .get(self.rounds.len() / 2)
            .copied()
            .unwrap_or(f64::NAN)
    }
}

/// Times every side, alternating them round by round.
pub fn measure(sides: &mut Sides<'_>, time: TimeBox) -> Result<Timing> {
    let rounds = time.rounds.max(1);
    let budget = time.per_side / rounds as u32;
    let mut keyset = Runner {
        op: &mut sides.keyset,
        next: 0,
        rounds: Vec::new(),
    };
    let mut sqlite = Runner {
        op: &mut sides.sqlite,
        next: 0,
        rounds: Vec::new(),
    };
    let mut raw = sides.raw.as_mut().map(|op| Runner {
        op,
        next: 0,
        rounds: Vec::new(),
    });
    let timed = |side: Side| time.only.is_none_or(|only| only == side);
    for _ in 0..rounds {
        if timed(Side::Keyset) {
            keyset.round(budget)?;
        }
        if timed(Side::Sqlite) {
            sqlite.round(budget)?;
        }
        if let Some(raw) = raw.as_mut().filter(|_| timed(Side::Raw)) {
            raw.round(budget)?;
        }
    }
    Ok(Timing {
        keyset_ns: keyset.median(),
        sqlite_ns: sqlite.median(),
        raw_ns: raw.as_mut().map(Runner::median),
    })
}

/// Times one closure that does its whole job once (loads, reopenings):
/// the mean of `runs` runs, in nanoseconds.
pub fn time_once(runs: usize, mut job: impl FnMut(usize) -> Result<()>) -> Result<f64> {
    let runs = runs.max(1);
    let mut total = Duration::ZERO;
    for i in 0..runs {
        let start = Instant::now();
        job(i)?;
        total += start.elapsed();
    }
    Ok(total.as_nanos() as f64 / runs as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op<'a>(rows: Vec<Vec<Value>>) -> Op<'a> {
        Box::new(move |_, sink: &mut Sink| {
            for r in &rows {
                sink.push(r.clone());
            }
            Ok(())
        })
    }

    #[test]
    fn check_rejects_a_side_that_differs_or_returns_nothing() {
        let rows = vec![vec![Value::Int(1)], vec![Value::Int(2)]];
        let mut agree = Sides {
            keyset: op(rows.clone()),
            sqlite: op(rows.clone()),
            raw: Some(op(rows.clone())),
        };
        assert_eq!(check("w", &mut agree, &[0, 1]).unwrap().rows, 2);

        let mut float = Sides {
            keyset: op(vec![vec![Value::Float(1.0)], vec![Value::Int(2)]]),
            sqlite: op(rows.clone()),
            raw: None,
        };
        let err = check("w", &mut float, &[0]).unwrap_err().to_string();
        assert!(
            err.contains("keyset disagrees") && err.contains("row 0"),
            "{err}"
        );

        let mut short = Sides {
            keyset: op(rows.clone()),
            sqlite: op(rows.clone()),
            raw: Some(op(rows[..1].to_vec())),
        };
        let err = check("w", &mut short, &[0]).unwrap_err().to_string();
        assert!(
            err.contains("raw map") && err.contains("1 rows where SQLite returned 2"),
            "{err}"
        );

        let reversed: Vec<Vec<Value>> = rows.iter().rev().cloned().collect();
        let mut any_order = Sides {
            keyset: op(reversed.clone()),
            sqlite: op(rows.clone()),
            raw: None,
        };
        assert!(check("w", &mut any_order, &[0]).is_err());
        assert!(check_rows("w", &mut any_order, &[0], RowOrder::Any).is_ok());
        let mut twice = Sides {
            keyset: op(vec![rows[0].clone(), rows[0].clone()]),
            sqlite: op(rows.clone()),
            raw: None,
        };
        let err = check_rows("w", &mut twice, &[0], RowOrder::Any)
            .unwrap_err()
            .to_string();
        assert!(err.contains("order is not compared"), "{err}");

        let mut empty = Sides {
            keyset: op(Vec::new()),
            sqlite: op(Vec::new()),
            raw: None,
        };
        assert!(check("w", &mut empty, &[0]).is_err());
    }

    #[test]
    fn measure_runs_every_side_at_least_once_per_round() {
        let counts = std::cell::Cell::new([0u32; 3]);
        let bump = |side: usize| -> Op<'_> {
            let counts = &counts;
            Box::new(move |_, _: &mut Sink| {
                let mut c = counts.get();
                c[side] += 1;
                counts.set(c);
                Ok(())
            })
        };
        let mut sides = Sides {
            keyset: bump(0),
            sqlite: bump(1),
            raw: Some(bump(2)),
        };
        let time = TimeBox {
            per_side: Duration::ZERO,
            rounds: 3,
            only: None,
        };
        let timing = measure(&mut sides, time).unwrap();
        assert_eq!(counts.get(), [3, 3, 3]);
        assert!(timing.raw_ns.is_some() && timing.keyset_ns >= 0.0);
    }
}
