//! The ordered shard merge: the same rows in tables of 1, 4 and 16 shards
//! (no secondary indexes), a primary-key range of about 100,000 rows
//! drained in pages of 100 through keyset's k-way merge. SQLite drains the
//! same range of its one table; the raw map merges the shards' data maps
//! by hand. Throughput is also given relative to 1 shard.

use keyset::{col, Query, SortDirection};

use super::drains::DRAIN_ROWS;
use super::{Env, PAGE, TABLE};
use crate::error::Result;
use crate::keyset_side::{self, Shape};
use crate::raw_side::{union_into, Branch, RawTable};
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::Sides;

/// The shard counts compared.
pub const SHARD_COUNTS: [u32; 3] = [1, 4, 16];

pub fn shard_merge(env: &Env) -> Result<Vec<Measurement>> {
    let rows = env.config.rows;
    let span = DRAIN_ROWS.min(rows) as i64;
    let lo = (rows as i64 - span) / 2 + 1;
    let hi = lo + span;
    let mut results: Vec<Measurement> = Vec::new();
    for shards in SHARD_COUNTS {
        let table = format!("{TABLE}_s{shards}");
        keyset_side::create_table(&env.db, &table, shards, false)?;
        let bar = env.progress(&format!("keyset: loading {table}"), rows);
        keyset_side::load(
            &env.db,
            &table,
            1..=rows as i64,
            keyset_side::LOAD_BATCH_ROWS,
            &bar,
        )?;
        bar.finish();
        let mut m = drain_shards(env, &table, shards, lo, hi)?;
        if let Some(one) = results.first() {
            m.note = format!(
                "{}; {:.2}x the throughput of 1 shard",
                m.note,
                one.keyset / m.keyset
            );
        }
        results.push(m);
        env.db.execute(&format!("DROP TABLE {table}"))?;
    }
    Ok(results)
}

fn drain_shards(env: &Env, table: &str, shards: u32, lo: i64, hi: i64) -> Result<Measurement> {
    let name = format!(
        "ordered shard merge, {shards} shard(s), drain {} rows",
        hi - lo
    );
    let query = Query::table(table)
        .filter(col("id").ge(lo).and(col("id").lt(hi)))
        .order_by("id", SortDirection::Asc)
        .limit(PAGE);
    let plan = keyset_side::plan(&env.db, &name, &query, Shape::PrimaryRange)?;
    let base = format!("SELECT {SELECT_COLUMNS} FROM {TABLE} WHERE id < ?1");
    let first_sql = format!("{base} AND id >= ?2 ORDER BY id LIMIT {PAGE}");
    let next_sql = format!("{base} AND id > ?2 ORDER BY id LIMIT {PAGE}");
    env.explain(&name, &plan, &next_sql)?;
    let mut first = env.sqlite.prepare(&first_sql)?;
    let mut next = env.sqlite.prepare(&next_sql)?;
    let raw = RawTable::open(&env.db, table)?;
    let (lower, upper) = (raw.data_key(lo), raw.data_key(hi));
    let branches: Vec<Branch<'_>> = raw
        .data_maps()
        .into_iter()
        .map(|map| Branch {
            map,
            lower: lower.as_bytes().to_vec(),
            upper: upper.as_bytes().to_vec(),
            strip: 0,
        })
        .collect();
    let db = &env.db;
    let mut sides = Sides {
        keyset: Box::new(|_, sink| {
            keyset_side::drain_into(db, &plan, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|_, sink| {
            let (mut count, mut last) = sqlite_side::rows_into(&mut first, [hi, lo], sink)?;
            while count == PAGE {
                let Some(at) = last else { break };
                (count, last) = sqlite_side::rows_into(&mut next, [hi, at.id], sink)?;
            }
            Ok(())
        }),
        raw: Some(Box::new(|_, sink| {
            let mut last = union_into(&branches, None, PAGE, sink);
            while let Some(key) = last {
                last = union_into(&branches, Some(&key), PAGE, sink);
            }
            Ok(())
        })),
    };
    env.measure(&name, Unit::MS_PER_DRAIN, &mut sides, 1, String::new())
}
