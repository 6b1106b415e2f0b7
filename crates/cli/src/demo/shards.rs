//! The demo's sharded steps: the ordered and the unordered merge of the
//! four shards of `orders`, then partition routing, where a
//! `CountingObserver` proves that equality on the partition column (`id`)
//! opens exactly the shard EXPLAIN names. The merge statistics of every
//! mode are in `observed`.

use std::collections::BTreeSet;
use std::sync::Arc;

use keyset::{CountingObserver, Value};

use super::composite::ids;
use super::show::{column, Show};
use super::tour::PAGE_ROWS;
use crate::error::CliError;
use crate::output::{duration_text, value_text};

/// The ids the routing step looks up (every demo table holds them: it has
/// at least `MIN_ROWS` rows).
const ROUTED_ID: i64 = 742;
const ROUTED_IN: [i64; 2] = [742, 991];

pub fn merge(show: &mut Show<'_>) -> Result<(), CliError> {
    show.heading(
        "The sharded merge",
        "orders has 4 shards (rows spread by a hash of id). A range reads all four and merges \
         their streams back into id order.",
    )?;
    let sql = format!(
        "SELECT id, customer, status FROM orders WHERE id >= 1000 ORDER BY id LIMIT {PAGE_ROWS}"
    );
    show.sql(&sql)?;
    show.plan(&sql)?;
    let (page, took) = show.run("ordered shard merge", &sql, None)?;
    show.page(&page, took)?;
    let unordered =
        "SELECT id FROM orders WHERE id BETWEEN 1 AND 600 LIMIT 100 WITH (merge = 'unordered')";
    show.say(
        "  merge = 'unordered' gives up the order: each shard streams on its own thread, and the \
         cursor is a frontier with one position per shard.",
    )?;
    show.sql(unordered)?;
    show.plan(unordered)?;
    let (page, took) = show.run("unordered shard merge", unordered, None)?;
    let first_ids: Vec<String> = column(&page, "id")
        .iter()
        .take(12)
        .map(|v| value_text(v).unwrap_or_default())
        .collect();
    show.say(&format!(
        "  first ids as the shards gave them: {} ... ({} rows, {})",
        first_ids.join(", "),
        page.len(),
        duration_text(took)
    ))?;
    let (all, pages) = show.traverse(unordered)?;
    let got: BTreeSet<i64> = ints(&ids(&all));
    let expected: BTreeSet<i64> = (1..=600).collect();
    show.check(
        got == expected && all.len() == expected.len(),
        &format!("its {pages} pages hold ids 1 to 600, each exactly once"),
    )
}

fn ints(values: &[Value]) -> BTreeSet<i64> {
    values
        .iter()
        .filter_map(|v| match v {
            Value::Int(i) => Some(*i),
            _ => None,
        })
        .collect()
}

fn list(shards: &[usize]) -> String {
    let names: Vec<String> = shards.iter().map(usize::to_string).collect();
    format!("[{}]", names.join(", "))
}

pub fn routing(show: &mut Show<'_>) -> Result<(), CliError> {
    show.heading(
        "Partition routing: one shard opened",
        "orders is partitioned by id. Equality on id (or an IN list of ids) names the only \
         shards that can hold the rows: the plan keeps just those (EXPLAIN: shards=[n] of 4), \
         and a CountingObserver on the executor context counts the shards the page opens.",
    )?;
    let shard_count = show
        .db
        .table(super::data::TABLE)
        .map_or(1, |t| t.shards as usize);
    let point = format!("SELECT * FROM orders WHERE id = {ROUTED_ID}");
    show.sql(&point)?;
    show.plan(&point)?;
    let plan = show.plan_of(&point)?;
    let routed = plan.shards.resolve(shard_count);
    let observer = Arc::new(CountingObserver::new());
    let ctx = show
        .db
        .exec_context()
        .clone()
        .with_observer(observer.clone());
    let (page, took) = show.run_in("routed point query", &plan, &ctx)?;
    show.page(&page, took)?;
    let opened = observer.shards_opened();
    show.say(&format!(
        "  observer: opened shard(s) {} of {shard_count}; rows yielded per shard {:?}",
        list(&opened),
        observer.rows_yielded()
    ))?;
    let found = ints(&column(&page, "id"));
    show.check(
        opened.len() == 1 && opened == routed && found == BTreeSet::from([ROUTED_ID]),
        &format!(
            "exactly one shard opened ({}), the one the plan routes id {ROUTED_ID} to",
            list(&opened)
        ),
    )?;

    let [a, b] = ROUTED_IN;
    let listed = format!("SELECT id, customer FROM orders WHERE id IN ({a}, {b}) ORDER BY id");
    show.sql(&listed)?;
    let plan = show.plan_of(&listed)?;
    let routed = plan.shards.resolve(shard_count);
    observer.reset();
    let (page, _) = show.run_in("routed IN list", &plan, &ctx)?;
    let opened = observer.shards_opened();
    show.say(&format!(
        "  plan: shards {} of {shard_count}; observer: opened {}; {} rows",
        list(&routed),
        list(&opened),
        page.len()
    ))?;
    show.check(
        opened == routed
            && opened.len() <= ROUTED_IN.len()
            && ints(&column(&page, "id")) == BTreeSet::from(ROUTED_IN),
        &format!(
            "the IN list opened only the shard(s) of its {} ids, {}",
            ROUTED_IN.len(),
            list(&opened)
        ),
    )
}
