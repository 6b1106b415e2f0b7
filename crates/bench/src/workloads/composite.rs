//! Composite access paths in primary-key order: a union of four equality
//! branches on `b`, and the intersection of `a = x AND b = y`; each as a
//! first page (parameters cycling) and as a drain. SQLite plans these its
//! own way (it has no index intersection); its keyset pagination resumes
//! with `id > ?`.

use std::ops::Bound;

use keyset::{col, Expr, Query, SortDirection, Value};
use keyset_store::Direction;
use rusqlite::Statement;

use super::{Env, PAGE, TABLE};
use crate::data::{BenchRow, B_VALUES};
use crate::error::Result;
use crate::keyset_side::{self, Shape};
use crate::raw_side::{intersect_into, materialize, union_into, Branch, RawTable};
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::{Sides, Sink};

/// Parameter sets the first-page workloads cycle through.
const SETS: usize = 16;

/// SQLite's drain: the first statement, then `next` with the last id
/// appended to the parameters, until a short page.
fn sqlite_drain(
    first: &mut Statement<'_>,
    next: &mut Statement<'_>,
    params: &[i64],
    sink: &mut Sink,
) -> Result<()> {
    let (mut count, mut last) =
        sqlite_side::rows_into(first, rusqlite::params_from_iter(params), sink)?;
    let mut with_id = params.to_vec();
    with_id.push(0);
    while count == PAGE {
        let Some(at) = last else { break };
        if let Some(slot) = with_id.last_mut() {
            *slot = at.id;
        }
        (count, last) = sqlite_side::rows_into(next, rusqlite::params_from_iter(&with_id), sink)?;
    }
    Ok(())
}

/// The raw branch of the equality `index = value`.
fn equality<'m>(raw: &'m RawTable, index: &str, value: i64) -> Result<Branch<'m>> {
    let (id, map) = raw.index(index)?;
    let lower = raw.index_prefix(id, Some(value));
    Ok(Branch {
        map,
        upper: RawTable::after_prefix(&lower)?,
        strip: lower.len(),
        lower,
    })
}

type Merge = fn(&[Branch<'_>], Option<&[u8]>, usize, &mut Sink) -> Option<Vec<u8>>;

/// One composite workload: its names (first page, drain), one query,
/// SQLite parameter list and raw branch set per parameter set.
struct Case<'m> {
    names: [&'static str; 2],
    queries: Vec<Query>,
    shape: Shape,
    sql_filter: &'static str,
    params: Vec<Vec<i64>>,
    branches: Vec<Vec<Branch<'m>>>,
    merge: Merge,
}

/// Times the first page over every parameter set, then the drain of the
/// first set.
fn first_and_drain(env: &Env, case: Case<'_>) -> Result<Vec<Measurement>> {
    let Case {
        names,
        queries,
        shape,
        sql_filter,
        params,
        branches,
        merge,
    } = case;
    let plans = queries
        .iter()
        .map(|q| keyset_side::plan(&env.db, names[0], q, shape))
        .collect::<Result<Vec<_>>>()?;
    let first_sql =
        format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE {sql_filter} ORDER BY id LIMIT {PAGE}");
    let next_sql = format!(
        "SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE ({sql_filter}) AND id > ?{} ORDER BY id LIMIT {PAGE}",
        params[0].len() + 1
    );
    env.explain(names[0], &plans[0], &first_sql)?;
    let mut first = env.sqlite.prepare(&first_sql)?;
    let mut next = env.sqlite.prepare(&next_sql)?;
    let db = &env.db;
    let at = |i: u64| i as usize % plans.len();
    let mut results = Vec::new();
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            keyset_side::page_into(db, &plans[at(i)], None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            sqlite_side::rows_into(&mut first, rusqlite::params_from_iter(&params[at(i)]), sink)?;
            Ok(())
        }),
        raw: Some(Box::new(|i, sink| {
            merge(&branches[at(i)], None, PAGE, sink);
            Ok(())
        })),
    };
    results.push(env.measure(names[0], Unit::US_PER_PAGE, &mut sides, 4, String::new())?);
    drop(sides);

    env.explain(names[1], &plans[0], &next_sql)?;
    let mut sides = Sides {
        keyset: Box::new(|_, sink| {
            keyset_side::drain_into(db, &plans[0], sink)?;
            Ok(())
        }),
        sqlite: Box::new(|_, sink| sqlite_drain(&mut first, &mut next, &params[0], sink)),
        raw: Some(Box::new(|_, sink| {
            let mut last = merge(&branches[0], None, PAGE, sink);
            while let Some(key) = last {
                last = merge(&branches[0], Some(&key), PAGE, sink);
            }
            Ok(())
        })),
    };
    results.push(env.measure(names[1], Unit::MS_PER_DRAIN, &mut sides, 1, String::new())?);
    Ok(results)
}

/// `b = v1 OR b = v2 OR b = v3 OR b = v4 ORDER BY id`.
pub fn union(env: &Env) -> Result<Vec<Measurement>> {
    let mut rng = env.rng(3);
    let params: Vec<Vec<i64>> = (0..SETS)
        .map(|_| rng.distinct(4, B_VALUES as u64))
        .collect();
    let queries: Vec<Query> = params
        .iter()
        .map(|vs| {
            let filter = vs
                .iter()
                .map(|&v| col("b").eq(v))
                .reduce(Expr::or)
                .unwrap_or_else(|| col("b").eq(0));
            Query::table(TABLE)
                .filter(filter)
                .order_by("id", SortDirection::Asc)
                .limit(PAGE)
        })
        .collect();
    let raw = env.raw()?;
    let branches = params
        .iter()
        .map(|vs| vs.iter().map(|&v| equality(raw, "bench_b", v)).collect())
        .collect::<Result<Vec<Vec<_>>>>()?;
    let names = [
        "union of 4 equalities, first page",
        "union of 4 equalities, drain",
    ];
    let sql = "b = ?1 OR b = ?2 OR b = ?3 OR b = ?4";
    let case = Case {
        names,
        queries,
        shape: Shape::Union(4),
        sql_filter: sql,
        params,
        branches,
        merge: union_into,
    };
    first_and_drain(env, case)
}

/// `a = x AND b = y ORDER BY id`, with (x, y) taken from existing rows.
pub fn intersection(env: &Env) -> Result<Vec<Measurement>> {
    let mut rng = env.rng(4);
    let params: Vec<Vec<i64>> = (0..SETS)
        .map(|_| {
            let row = BenchRow::generate(1 + rng.below(env.config.rows as u64) as i64);
            vec![row.a, row.b]
        })
        .collect();
    let queries: Vec<Query> = params
        .iter()
        .map(|p| {
            Query::table(TABLE)
                .filter(col("a").eq(p[0]).and(col("b").eq(p[1])))
                .order_by("id", SortDirection::Asc)
                .limit(PAGE)
        })
        .collect();
    let raw = env.raw()?;
    let branches = params
        .iter()
        .map(|p| {
            Ok(vec![
                equality(raw, "bench_a", p[0])?,
                equality(raw, "bench_b", p[1])?,
            ])
        })
        .collect::<Result<Vec<Vec<_>>>>()?;
    let names = [
        "intersection a = x AND b = y, first page",
        "intersection a = x AND b = y, drain",
    ];
    let sql = "a = ?1 AND b = ?2";
    let case = Case {
        names,
        queries: queries.clone(),
        shape: Shape::Intersection(2),
        sql_filter: sql,
        params: params.clone(),
        branches,
        merge: intersect_into,
    };
    let mut results = first_and_drain(env, case)?;
    results.push(intersection_by_filter(env, &queries, &params)?);
    Ok(results)
}

/// The intersection's first page again, with the raw map running SQLite's
/// plan instead of a leapfrog: scan the `b = y` range (the smaller
/// branch) and keep the rows whose `a` is `x`. The index entry carries its
/// row, so the filter costs no lookup.
fn intersection_by_filter(
    env: &Env,
    queries: &[Query],
    params: &[Vec<i64>],
) -> Result<Measurement> {
    let name = "intersection, first page; raw: scan b = y, filter a";
    let plans = queries
        .iter()
        .map(|q| keyset_side::plan(&env.db, name, q, Shape::Intersection(2)))
        .collect::<Result<Vec<_>>>()?;
    let sql = format!(
        "SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE a = ?1 AND b = ?2 ORDER BY id LIMIT {PAGE}"
    );
    let mut stmt = env.sqlite.prepare(&sql)?;
    let raw = env.raw()?;
    let scans = params
        .iter()
        .map(|p| equality(raw, "bench_b", p[1]))
        .collect::<Result<Vec<_>>>()?;
    let db = &env.db;
    let at = |i: u64| i as usize % plans.len();
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            keyset_side::page_into(db, &plans[at(i)], None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            sqlite_side::rows_into(&mut stmt, rusqlite::params_from_iter(&params[at(i)]), sink)?;
            Ok(())
        }),
        raw: Some(Box::new(|i, sink| {
            let b = &scans[at(i)];
            let a = Value::Int(params[at(i)][0]);
            let range = b.map.cursor(
                Bound::Included(&b.lower[..]),
                Bound::Excluded(&b.upper[..]),
                Direction::Asc,
            );
            for (_, row) in range.filter(|(_, row)| row.get(1) == Some(&a)).take(PAGE) {
                sink.push(materialize(&row));
            }
            Ok(())
        })),
    };
    env.measure(name, Unit::US_PER_PAGE, &mut sides, 4, String::new())
}
