//! The shard merges: the same rows in tables of 1, 4 and 16 shards (no
//! secondary indexes), a primary-key range of about 100,000 rows drained in
//! pages of 100 through keyset's ordered k-way merge, with the throughput
//! relative to 1 shard. Over 4 shards also the unordered merge of the same
//! range, and the eager merge beside the ordered one on a small range (the
//! eager merge drains the rest of the result on every page). SQLite drains
//! the same range of its one table; the raw map merges the shards' data maps
//! by hand (for the unordered row: reads them one after another). After
//! timing, `shard_observer` drains once more with a `CountingObserver`.

use std::ops::Bound;

use keyset::{col, MergeMode, Plan, Query, SortDirection};
use keyset_plan::ShardSet;
use keyset_store::Direction;

use super::drains::DRAIN_ROWS;
use super::shard_observer;
use super::{Env, PAGE, TABLE};
use crate::error::{BenchError, Result};
use crate::keyset_side::{self, Shape};
use crate::raw_side::{range_into, union_into, Branch, RawTable};
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::{RowOrder, Sides};

/// The shard counts the ordered merge is timed with.
pub const SHARD_COUNTS: [u32; 3] = [1, 4, 16];
/// The shard count the unordered and eager merges are timed with.
pub const MODE_SHARDS: u32 = 4;
/// Rows of the eager merge's range (at most a quarter of the table): every
/// eager page drains the rest of the range, so a drain costs about
/// rows² / (2 x page) row reads.
pub const EAGER_ROWS: usize = 2_000;

/// The ids `lo..hi` of a range of `span` rows in the middle of the table.
#[derive(Clone, Copy, Debug)]
struct IdRange {
    lo: i64,
    hi: i64,
}

impl IdRange {
    fn middle(rows: usize, span: usize) -> IdRange {
        let span = span.clamp(1, rows) as i64;
        let lo = (rows as i64 - span) / 2 + 1;
        IdRange { lo, hi: lo + span }
    }

    fn len(self) -> usize {
        (self.hi - self.lo) as usize
    }
}

pub fn shard_merge(env: &Env) -> Result<Vec<Measurement>> {
    let rows = env.config.rows;
    let drain = IdRange::middle(rows, DRAIN_ROWS);
    let small = IdRange::middle(rows, EAGER_ROWS.min(rows / 4));
    let mut ordered: Vec<Measurement> = Vec::new();
    let mut modes: Vec<Measurement> = Vec::new();
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
        let drain_in = |mode, range| drain_merge(env, &table, shards, mode, range);
        let mut m = drain_in(MergeMode::OrderedStreaming, drain)?;
        if let Some(one) = ordered.first() {
            relative(&mut m, one, "1 shard");
        }
        if shards == MODE_SHARDS {
            let mut unordered = drain_in(MergeMode::UnorderedStreaming, drain)?;
            relative(&mut unordered, &m, "the ordered merge of the same range");
            let small_ordered = drain_in(MergeMode::OrderedStreaming, small)?;
            let mut eager = drain_in(MergeMode::OrderedEager, small)?;
            relative(
                &mut eager,
                &small_ordered,
                "the ordered merge of the same range",
            );
            modes.extend([unordered, small_ordered, eager]);
        }
        ordered.push(m);
        env.db.execute(&format!("DROP TABLE {table}"))?;
    }
    ordered.extend(modes);
    Ok(ordered)
}

/// Adds to `m`'s note its throughput relative to `base`'s.
fn relative(m: &mut Measurement, base: &Measurement, what: &str) {
    m.note = format!(
        "{}; {:.2}x the throughput of {what}",
        m.note,
        base.keyset / m.keyset
    );
}

/// Plans the drain and checks it is a streamed primary range over every
/// shard, merged in `mode`.
fn merge_plan(env: &Env, name: &str, query: &Query, mode: MergeMode) -> Result<Plan> {
    let plan = keyset_side::plan(&env.db, name, query, Shape::PrimaryRange)?;
    if plan.merge != mode || plan.shards != ShardSet::All {
        return Err(BenchError::WrongPlan {
            workload: name.to_owned(),
            side: "keyset",
            detail: format!(
                "expected a {} merge over every shard, the planner chose:\n{}",
                mode.name(),
                keyset_plan::explain(&plan)
            ),
        });
    }
    Ok(plan)
}

fn drain_merge(
    env: &Env,
    table: &str,
    shards: u32,
    mode: MergeMode,
    range: IdRange,
) -> Result<Measurement> {
    let IdRange { lo, hi } = range;
    let name = format!(
        "{} shard merge, {shards} shard(s), drain {} rows",
        mode.name(),
        range.len()
    );
    let query = Query::table(table)
        .filter(col("id").ge(lo).and(col("id").lt(hi)))
        .order_by("id", SortDirection::Asc)
        .limit(PAGE)
        .merge(mode);
    let plan = merge_plan(env, &name, &query, mode)?;
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
    let unordered = mode == MergeMode::UnorderedStreaming;
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
            if unordered {
                // No order to restore: each shard's range, page by page,
                // one shard after another.
                for branch in &branches {
                    let upper = Bound::Excluded(&branch.upper[..]);
                    let from = Bound::Included(&branch.lower[..]);
                    let mut last = range_into(branch.map, from, upper, Direction::Asc, PAGE, sink);
                    while let Some(key) = last {
                        let from = Bound::Excluded(&key[..]);
                        last = range_into(branch.map, from, upper, Direction::Asc, PAGE, sink);
                    }
                }
                return Ok(());
            }
            let mut last = union_into(&branches, None, PAGE, sink);
            while let Some(key) = last {
                last = union_into(&branches, Some(&key), PAGE, sink);
            }
            Ok(())
        })),
    };
    let order = if unordered {
        RowOrder::Any
    } else {
        RowOrder::Same
    };
    let mut m = env.measure_rows(
        &name,
        Unit::MS_PER_DRAIN,
        &mut sides,
        1,
        String::new(),
        order,
    )?;
    drop(sides);
    let observed = shard_observer::observe(env, &name, &plan, shards as usize, range.len())?;
    m.note = format!("{}; {observed}", m.note);
    Ok(m)
}
