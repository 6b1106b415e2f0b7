//! Draining an index range of about 100,000 rows (the whole table when it
//! is smaller) in pages of 100: keyset follows its cursors, SQLite runs its
//! hand-written keyset query, the raw map re-seeks after each page's last
//! key.

use std::ops::Bound;

use keyset::{col, Query, SortDirection};
use keyset_store::Direction;

use super::{Env, PAGE, TABLE};
use crate::data::B_VALUES;
use crate::error::Result;
use crate::keyset_side::{self, Shape};
use crate::raw_side::range_into;
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::Sides;

/// Rows a drain aims for.
pub const DRAIN_ROWS: usize = 100_000;

/// The `b` bound that selects about `DRAIN_ROWS` rows (`b < bound`).
fn bound_for(rows: usize) -> i64 {
    let per_value = (rows as f64 / B_VALUES as f64).max(1.0);
    ((DRAIN_ROWS as f64 / per_value).ceil() as i64).clamp(1, B_VALUES)
}

/// Drains `b < K ORDER BY b, id` page by page.
pub fn drain_range(env: &Env) -> Result<Vec<Measurement>> {
    let name = "drain ~100k-row index range, pages of 100";
    let k = bound_for(env.config.rows);
    let query = Query::table(TABLE)
        .filter(col("b").lt(k))
        .order_by("b", SortDirection::Asc)
        .order_by("id", SortDirection::Asc)
        .limit(PAGE);
    let plan = keyset_side::plan(&env.db, name, &query, Shape::IndexRange)?;
    let base = format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE b < ?1");
    let first_sql = format!("{base} ORDER BY b, id LIMIT {PAGE}");
    let next_sql = format!("{base} AND (b, id) > (?2, ?3) ORDER BY b, id LIMIT {PAGE}");
    env.explain(name, &plan, &next_sql)?;
    let mut first = env.sqlite.prepare(&first_sql)?;
    let mut next = env.sqlite.prepare(&next_sql)?;
    let raw = env.raw()?;
    let (index, map) = raw.index("bench_b")?;
    let lower = raw.index_prefix(index, None);
    let upper = raw.index_prefix(index, Some(k));
    let db = &env.db;
    let mut sides = Sides {
        keyset: Box::new(|_, sink| {
            keyset_side::drain_into(db, &plan, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|_, sink| {
            let (mut count, mut last) = sqlite_side::rows_into(&mut first, [k], sink)?;
            while count == PAGE {
                let Some(at) = last else { break };
                (count, last) = sqlite_side::rows_into(&mut next, [k, at.b, at.id], sink)?;
            }
            Ok(())
        }),
        raw: Some(Box::new(|_, sink| {
            let end = Bound::Excluded(&upper[..]);
            let mut last = range_into(
                map,
                Bound::Included(&lower[..]),
                end,
                Direction::Asc,
                PAGE,
                sink,
            );
            while let Some(key) = last {
                last = range_into(
                    map,
                    Bound::Excluded(&key[..]),
                    end,
                    Direction::Asc,
                    PAGE,
                    sink,
                );
            }
            Ok(())
        })),
    };
    let note = format!("b < {k}");
    Ok(vec![env.measure(
        name,
        Unit::MS_PER_DRAIN,
        &mut sides,
        1,
        note,
    )?])
}
