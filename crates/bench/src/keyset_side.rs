//! keyset's side: schema and load through the public facade, plans built
//! once (as SQLite's statements are prepared once) and pages run through
//! `Db::page`, the path an application takes; rows come back projected and
//! owned, as SQLite's do. This module only drives keyset; it never reaches
//! into the executor.

use indicatif::ProgressBar;
use keyset::{AccessPath, Cursor, Db, ExecContext, Page, Plan, Query};
use keyset_plan::OrderStrategy;

use crate::data::BenchRow;
use crate::error::{BenchError, Result};
use crate::timing::Sink;

/// Rows per batch when loading a table.
pub const LOAD_BATCH_ROWS: usize = 1_000;

/// Creates a benchmark table (see `data::COLUMNS`), with the two secondary
/// indexes on `a` and `b` when `indexes` is set.
pub fn create_table(db: &Db, table: &str, shards: u32, indexes: bool) -> Result<()> {
    db.execute(&format!(
        "CREATE TABLE {table} (id INT PRIMARY KEY, a INT NOT NULL, b INT NOT NULL, \
         c INT NOT NULL, d TEXT NOT NULL, e FLOAT NOT NULL) WITH (shards = {shards})"
    ))?;
    if indexes {
        db.execute(&format!("CREATE INDEX {table}_a ON {table} (a)"))?;
        db.execute(&format!("CREATE INDEX {table}_b ON {table} (b)"))?;
    }
    Ok(())
}

/// Loads the rows with these ids in batches of `batch_rows`.
pub fn load(
    db: &Db,
    table: &str,
    ids: impl Iterator<Item = i64>,
    batch_rows: usize,
    progress: &ProgressBar,
) -> Result<()> {
    let mut batch = db.batch();
    let mut pending = 0;
    for id in ids {
        batch = batch.put(table, BenchRow::generate(id).values());
        pending += 1;
        if pending == batch_rows {
            batch.commit()?;
            progress.inc(pending as u64);
            batch = db.batch();
            pending = 0;
        }
    }
    if pending > 0 {
        batch.commit()?;
        progress.inc(pending as u64);
    }
    Ok(())
}

/// Runs one page, pushing its rows and its cost into the sink; returns
/// the next cursor.
pub fn page_into(
    db: &Db,
    plan: &Plan,
    cursor: Option<&Cursor>,
    sink: &mut Sink,
) -> Result<Option<Cursor>> {
    page_in_into(db, plan, cursor, db.exec_context(), sink)
}

/// [`page_into`] with another executor context (an observer, for example).
pub fn page_in_into(
    db: &Db,
    plan: &Plan,
    cursor: Option<&Cursor>,
    ctx: &ExecContext,
    sink: &mut Sink,
) -> Result<Option<Cursor>> {
    Ok(push_page(db.page_in(plan, cursor, ctx)?, sink))
}

/// Pushes a page's rows and its cost into the sink; returns its next cursor.
pub fn push_page(page: Page, sink: &mut Sink) -> Option<Cursor> {
    let next = page.next_cursor().cloned();
    let stats = page.stats();
    sink.page_cost(stats.keys_examined, stats.peak_buffered);
    for row in page.into_rows() {
        sink.push(row.into_values());
    }
    next
}

/// Follows the cursors of `plan` from its first page to its last; returns
/// how many pages that took.
pub fn drain_into(db: &Db, plan: &Plan, sink: &mut Sink) -> Result<usize> {
    drain_in_into(db, plan, db.exec_context(), sink)
}

/// [`drain_into`] with another executor context.
pub fn drain_in_into(db: &Db, plan: &Plan, ctx: &ExecContext, sink: &mut Sink) -> Result<usize> {
    let mut pages = 0;
    let mut cursor = None;
    loop {
        let next = page_in_into(db, plan, cursor.as_ref(), ctx, sink)?;
        pages += 1;
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(pages),
        }
    }
}

/// The shape of plan a workload means to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Primary-key lookups.
    ByKeys,
    /// One index range, streamed in index order.
    IndexRange,
    /// A primary-key range, streamed.
    PrimaryRange,
    /// A union of this many index ranges, streamed in key order.
    Union(usize),
    /// An intersection of this many index ranges, streamed in key order.
    Intersection(usize),
    /// A top-k pass over every row.
    TopK,
}

fn has_shape(plan: &Plan, shape: Shape) -> bool {
    let streams = matches!(plan.strategy, OrderStrategy::Stream(_));
    let ranges = |children: &[AccessPath]| {
        children
            .iter()
            .all(|c| matches!(c, AccessPath::IndexRange { .. }))
    };
    match (shape, &plan.access) {
        (Shape::ByKeys, AccessPath::ByKeys(_)) => streams,
        (Shape::IndexRange, AccessPath::IndexRange { .. }) => streams,
        (Shape::PrimaryRange, AccessPath::PrimaryRange { .. }) => streams,
        (Shape::Union(n), AccessPath::Union(c)) => streams && c.len() == n && ranges(c),
        (Shape::Intersection(n), AccessPath::Intersection(c)) => {
            streams && c.len() == n && ranges(c)
        }
        (Shape::TopK, _) => matches!(plan.strategy, OrderStrategy::TopK),
        _ => false,
    }
}

/// Plans a query and checks the plan has the shape the workload measures,
/// so a planner change cannot silently turn a benchmark into another one.
pub fn plan(db: &Db, workload: &str, query: &Query, shape: Shape) -> Result<Plan> {
    checked(workload, db.plan(query)?, shape)
}

/// Checks that a plan (of a prepared statement, say) has the shape the
/// workload measures.
pub fn checked(workload: &str, plan: Plan, shape: Shape) -> Result<Plan> {
    if !has_shape(&plan, shape) {
        return Err(BenchError::WrongPlan {
            workload: workload.to_owned(),
            side: "keyset",
            detail: format!(
                "expected {shape:?}, the planner chose:\n{}",
                keyset_plan::explain(&plan)
            ),
        });
    }
    Ok(plan)
}
