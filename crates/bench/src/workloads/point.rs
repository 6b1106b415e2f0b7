//! Primary-key gets: with plans built beforehand, with a statement
//! prepared once and its key bound as a parameter on each call, and through
//! SQL text given on every call (keyset's statement cache against SQLite
//! preparing it each time).

use keyset::{col, params, Query};

use super::{Env, TABLE};
use crate::error::Result;
use crate::keyset_side::{self, Shape};
use crate::raw_side::materialize;
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::Sides;

/// Distinct keys the gets cycle through.
const KEYS: usize = 1_024;

fn random_ids(env: &Env) -> Vec<i64> {
    let mut rng = env.rng(1);
    (0..KEYS)
        .map(|_| 1 + rng.below(env.config.rows as u64) as i64)
        .collect()
}

/// Gets of random rows by primary key, plan (or statement) prepared.
pub fn pk_get(env: &Env) -> Result<Vec<Measurement>> {
    let name = "pk get (prepared)";
    let ids = random_ids(env);
    let plans = ids
        .iter()
        .map(|&id| {
            let query = Query::table(TABLE).filter(col("id").eq(id));
            keyset_side::plan(&env.db, name, &query, Shape::ByKeys)
        })
        .collect::<Result<Vec<_>>>()?;
    let sql = format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE id = ?1");
    env.explain(name, &plans[0], &sql.replace("?1", &ids[0].to_string()))?;
    let mut stmt = env.sqlite.prepare(&sql)?;
    let raw = env.raw()?;
    let data = raw.data()?;
    let db = &env.db;
    let at = |i: u64| i as usize % KEYS;
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            keyset_side::page_into(db, &plans[at(i)], None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            sqlite_side::rows_into(&mut stmt, [ids[at(i)]], sink)?;
            Ok(())
        }),
        raw: Some(Box::new(|i, sink| {
            if let Some(row) = data.get(raw.data_key(ids[at(i)]).as_bytes()) {
                sink.push(materialize(&row));
            }
            Ok(())
        })),
    };
    let note = "raw: one map get".to_owned();
    Ok(vec![env.measure(
        name,
        Unit::US_PER_GET,
        &mut sides,
        8,
        note,
    )?])
}

/// Gets of random rows by primary key through a statement prepared once
/// (`db.prepare`), the key bound as a parameter on every call. SQLite
/// binds; keyset's statement is a point get (`keyset_plan::PointTemplate`):
/// the value makes the key and one lookup in the current view makes the
/// page, with no binding of the statement, planning or stream.
pub fn pk_get_param(env: &Env) -> Result<Vec<Measurement>> {
    let name = "primary-key get, prepared with a parameter";
    let ids = random_ids(env);
    let keyset_sql = format!("SELECT * FROM {TABLE} WHERE id = ?");
    let prepared = env.db.prepare(&keyset_sql)?;
    let plan = keyset_side::checked(name, prepared.plan(params![ids[0]])?, Shape::ByKeys)?;
    let sql = format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE id = ?1");
    env.explain(name, &plan, &sql.replace("?1", &ids[0].to_string()))?;
    let mut stmt = env.sqlite.prepare(&sql)?;
    let at = |i: u64| i as usize % KEYS;
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            keyset_side::push_page(prepared.query(params![ids[at(i)]], None)?, sink);
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            sqlite_side::rows_into(&mut stmt, [ids[at(i)]], sink)?;
            Ok(())
        }),
        raw: None,
    };
    let note = "keyset: point template, values -> key, one lookup".to_owned();
    Ok(vec![env.measure(
        name,
        Unit::US_PER_GET,
        &mut sides,
        8,
        note,
    )?])
}

/// Gets by primary key through SQL text given on every call, the key a
/// parameter: keyset finds the parsed statement in its statement cache,
/// SQLite prepares the text every call (no statement cache).
pub fn pk_get_sql(env: &Env) -> Result<Vec<Measurement>> {
    let name = "pk get (SQL text each call)";
    let ids = random_ids(env);
    let db = &env.db;
    let conn = &env.sqlite;
    let keyset_sql = format!("SELECT * FROM {TABLE} WHERE id = ?1");
    let sqlite_sql = format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE id = ?1");
    let at = |i: u64| i as usize % KEYS;
    let mut sides = Sides {
        keyset: Box::new(|i, sink| {
            let page = db.query_params(&keyset_sql, params![ids[at(i)]], None)?;
            keyset_side::push_page(page, sink);
            Ok(())
        }),
        sqlite: Box::new(|i, sink| {
            let mut stmt = conn.prepare(&sqlite_sql)?;
            sqlite_side::rows_into(&mut stmt, [ids[at(i)]], sink)?;
            Ok(())
        }),
        raw: None,
    };
    let note = "keyset: statement cache + point lookup; SQLite: prepare + run".to_owned();
    Ok(vec![env.measure(
        name,
        Unit::US_PER_GET,
        &mut sides,
        8,
        note,
    )?])
}
