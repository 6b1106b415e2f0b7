//! Single pages of an index range on `b`: the first page from a random
//! start in both directions, and a page at 90% depth of the whole index
//! (keyset's cursor, SQLite's hand-written keyset query, and OFFSET on every
//! side for contrast) beside the first page of the same query.

use std::ops::Bound;

use keyset::{col, params, Cursor, Query, SortDirection, Value};
use keyset_store::Direction;

use super::{Env, PAGE, TABLE};
use crate::data::B_VALUES;
use crate::error::{BenchError, Result};
use crate::keyset_side::{self, Shape};
use crate::raw_side::{materialize, range_into, RawTable};
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::Sides;

/// Start values the first-page workloads cycle through.
const STARTS: usize = 64;

/// Random start values for the first pages.
fn starts(env: &Env) -> Vec<i64> {
    let mut rng = env.rng(2);
    (0..STARTS)
        .map(|_| rng.below(B_VALUES as u64) as i64)
        .collect()
}

/// The first page of `b >= x ORDER BY b, id` from random values `x`.
pub fn first_page_asc(env: &Env) -> Result<Vec<Measurement>> {
    Ok(vec![one_direction(env, &starts(env), SortDirection::Asc)?])
}

/// The first page of `b <= x ORDER BY b DESC, id DESC` from random `x`.
pub fn first_page_desc(env: &Env) -> Result<Vec<Measurement>> {
    Ok(vec![one_direction(env, &starts(env), SortDirection::Desc)?])
}

fn one_direction(env: &Env, starts: &[i64], dir: SortDirection) -> Result<Measurement> {
    let (name, op, order, map_dir) = match dir {
        SortDirection::Asc => (
            "first page, index range, ASC",
            ">=",
            "b, id",
            Direction::Asc,
        ),
        SortDirection::Desc => (
            "first page, index range, DESC",
            "<=",
            "b DESC, id DESC",
            Direction::Desc,
        ),
    };
    let plans = starts
        .iter()
        .map(|&x| {
            let filter = match dir {
                SortDirection::Asc => col("b").ge(x),
                SortDirection::Desc => col("b").le(x),
            };
            let query = Query::table(TABLE)
                .filter(filter)
                .order_by("b", dir)
                .order_by("id", dir)
                .limit(PAGE);
            keyset_side::plan(&env.db, name, &query, Shape::IndexRange)
        })
        .collect::<Result<Vec<_>>>()?;
    let sql = format!(
        "SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE b {op} ?1 ORDER BY {order} LIMIT {PAGE}"
    );
    env.explain(name, &plans[0], &sql.replace("?1", &starts[0].to_string()))?;
    let mut stmt = env.sqlite.prepare(&sql)?;
    let raw = env.raw()?;
    let (index, map) = raw.index("bench_b")?;
    let header = raw.index_prefix(index, None);
    let end = RawTable::after_prefix(&header)?;
    let bounds: Vec<(Vec<u8>, Vec<u8>)> = starts
        .iter()
        .map(|&x| {
            let prefix = raw.index_prefix(index, Some(x));
            match dir {
                SortDirection::Asc => Ok((prefix, end.clone())),
                SortDirection::Desc => Ok((header.clone(), RawTable::after_prefix(&prefix)?)),
            }
        })
        .collect::<Result<_>>()?;
    let db = &env.db;
    let at = |i: u64| i as usize % starts.len();
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            keyset_side::page_into(db, &plans[at(i)], None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            sqlite_side::rows_into(&mut stmt, [starts[at(i)]], sink)?;
            Ok(())
        }),
        raw: Some(Box::new(|i, sink| {
            let (lower, upper) = &bounds[at(i)];
            let (lower, upper) = (Bound::Included(&lower[..]), Bound::Excluded(&upper[..]));
            range_into(map, lower, upper, map_dir, PAGE, sink);
            Ok(())
        })),
    };
    env.measure(name, Unit::US_PER_PAGE, &mut sides, 4, String::new())
}

/// The first page of `b >= ? ORDER BY b, id LIMIT ?` through a statement
/// prepared once, the start and the page size bound as parameters on each
/// call (SQLite: its prepared statement, the start bound).
pub fn first_page_params(env: &Env) -> Result<Vec<Measurement>> {
    let name = "first page, prepared with parameters";
    let starts = starts(env);
    let prepared = env.db.prepare(&format!(
        "SELECT * FROM {TABLE} WHERE b >= ? ORDER BY b, id LIMIT ?"
    ))?;
    let page = PAGE as i64;
    let plan = keyset_side::checked(
        name,
        prepared.plan(params![starts[0], page])?,
        Shape::IndexRange,
    )?;
    let sql =
        format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE b >= ?1 ORDER BY b, id LIMIT {PAGE}");
    env.explain(name, &plan, &sql.replace("?1", &starts[0].to_string()))?;
    let mut stmt = env.sqlite.prepare(&sql)?;
    let at = |i: u64| i as usize % starts.len();
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            keyset_side::push_page(prepared.query(params![starts[at(i)], page], None)?, sink);
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            sqlite_side::rows_into(&mut stmt, [starts[at(i)]], sink)?;
            Ok(())
        }),
        raw: None,
    };
    let note = "bind + plan + run".to_owned();
    Ok(vec![env.measure(
        name,
        Unit::US_PER_PAGE,
        &mut sides,
        4,
        note,
    )?])
}

/// Where the page at 90% depth starts: keyset's cursor, and the (b, id)
/// of the row before it for SQLite and the raw map.
struct Depth {
    rows: usize,
    cursor: Cursor,
    b: i64,
    id: i64,
}

/// Pages through `query` to `rows` rows deep in large pages (a plan's
/// signature leaves out the limit, so their cursors resume the 100-row
/// plan) and returns the cursor there.
fn seek_depth(env: &Env, name: &str, query: &Query, rows: usize) -> Result<Depth> {
    let mut cursor: Option<Cursor> = None;
    let mut last: Option<Vec<Value>> = None;
    let mut remaining = rows;
    while remaining > 0 {
        let chunk = remaining.min(10_000);
        let plan = keyset_side::plan(
            &env.db,
            name,
            &query.clone().limit(chunk),
            Shape::IndexRange,
        )?;
        let page = env.db.page(&plan, cursor.as_ref())?;
        remaining = remaining.saturating_sub(page.len());
        last = page.rows().last().map(|r| r.values().to_vec()).or(last);
        cursor = page.next_cursor().cloned();
        if cursor.is_none() {
            break;
        }
    }
    let wrong = |detail: String| BenchError::WrongPlan {
        workload: name.to_owned(),
        side: "keyset",
        detail,
    };
    let (Some(cursor), Some(last)) = (cursor, last) else {
        return Err(wrong(format!("the traversal ended before {rows} rows")));
    };
    if remaining != 0 {
        return Err(wrong(format!("{remaining} rows short of {rows}")));
    }
    match (&last[0], &last[2]) {
        (Value::Int(id), Value::Int(b)) => Ok(Depth {
            rows,
            cursor,
            b: *b,
            id: *id,
        }),
        other => Err(wrong(format!("row {rows} has id and b {other:?}"))),
    }
}

/// `b >= 0 ORDER BY b, id` (every row, through the index): its first page,
/// the page at 90% depth by cursor, and by OFFSET.
pub fn depth(env: &Env) -> Result<Vec<Measurement>> {
    let name = "page at 90% depth, keyset pagination";
    let query = Query::table(TABLE)
        .filter(col("b").ge(0))
        .order_by("b", SortDirection::Asc)
        .order_by("id", SortDirection::Asc);
    let deep = seek_depth(env, name, &query, env.config.rows * 9 / 10)?;
    let plan = keyset_side::plan(&env.db, name, &query.clone().limit(PAGE), Shape::IndexRange)?;
    let raw = env.raw()?;
    let (index, map) = raw.index("bench_b")?;
    let start = raw.index_prefix(index, Some(0));
    let end = RawTable::after_prefix(&raw.index_prefix(index, None))?;
    let anchor = raw.index_key(index, deep.b, deep.id);
    let base = format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE b >= 0");
    let db = &env.db;
    let conn = &env.sqlite;
    let mut results = Vec::new();

    let first_sql = format!("{base} ORDER BY b, id LIMIT {PAGE}");
    env.explain("first page of the same query", &plan, &first_sql)?;
    let mut first = conn.prepare(&first_sql)?;
    let mut sides = Sides {
        keyset: Box::new(|_, sink| {
            keyset_side::page_into(db, &plan, None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|_, sink| {
            sqlite_side::rows_into(&mut first, [], sink)?;
            Ok(())
        }),
        raw: Some(Box::new(|_, sink| {
            range_into(
                map,
                Bound::Included(&start),
                Bound::Excluded(&end),
                Direction::Asc,
                PAGE,
                sink,
            );
            Ok(())
        })),
    };
    let note = "reference for the 90% rows".to_owned();
    results.push(env.measure(
        "first page of the same query",
        Unit::US_PER_PAGE,
        &mut sides,
        1,
        note,
    )?);

    // `b >= 0` holds for every row after the anchor, and SQLite would seek
    // on it rather than on the row value: a hand-written query leaves it out.
    let keyset_sql = format!(
        "SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE (b, id) > (?1, ?2) ORDER BY b, id LIMIT {PAGE}"
    );
    env.explain(name, &plan, &keyset_sql)?;
    let mut by_key = conn.prepare(&keyset_sql)?;
    let mut sides = Sides {
        keyset: Box::new(|_, sink| {
            keyset_side::page_into(db, &plan, Some(&deep.cursor), sink)?;
            Ok(())
        }),
        sqlite: Box::new(|_, sink| {
            sqlite_side::rows_into(&mut by_key, [deep.b, deep.id], sink)?;
            Ok(())
        }),
        raw: Some(Box::new(|_, sink| {
            range_into(
                map,
                Bound::Excluded(&anchor),
                Bound::Excluded(&end),
                Direction::Asc,
                PAGE,
                sink,
            );
            Ok(())
        })),
    };
    let note = format!("after row {}: keyset cursor vs (b, id) > (?, ?)", deep.rows);
    results.push(env.measure(name, Unit::US_PER_PAGE, &mut sides, 1, note)?);

    let offset_name = "page at 90% depth, OFFSET";
    let offset_plan = keyset_side::plan(
        &env.db,
        offset_name,
        &query.clone().limit(PAGE).offset(deep.rows),
        Shape::IndexRange,
    )?;
    let offset_sql = format!("{base} ORDER BY b, id LIMIT {PAGE} OFFSET ?1");
    env.explain(offset_name, &offset_plan, &offset_sql)?;
    let mut by_offset = conn.prepare(&offset_sql)?;
    let mut sides = Sides {
        keyset: Box::new(|_, sink| {
            keyset_side::page_into(db, &offset_plan, None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|_, sink| {
            sqlite_side::rows_into(&mut by_offset, [deep.rows as i64], sink)?;
            Ok(())
        }),
        raw: Some(Box::new(|_, sink| {
            let range = map.cursor(
                Bound::Included(&start),
                Bound::Excluded(&end),
                Direction::Asc,
            );
            for (_, row) in range.skip(deep.rows).take(PAGE) {
                sink.push(materialize(&row));
            }
            Ok(())
        })),
    };
    let note = format!("skips {} rows on every side", deep.rows);
    results.push(env.measure(offset_name, Unit::US_PER_PAGE, &mut sides, 1, note)?);
    Ok(results)
}
