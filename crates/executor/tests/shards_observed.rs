//! What the shard merges do, asserted through a `MergeObserver` rather than
//! time: the rows buffered while 200,000 rows are scanned over 8 shards
//! (ordered and unordered), and partition routing reading only the shards
//! that can hold the rows. Cancellation and backpressure are in
//! `shards_threads.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::spread::*;
use common::*;
use keyset_executor::{execute_page, CountingObserver, ExecContext, MergeObserver};
use keyset_plan::{col, MergeMode, Plan, Query, SortDirection};
use keyset_store::{Batch, ColumnDef, ColumnType, Store, TableSpec, Value};

fn observed(ctx: &ExecContext, observer: Arc<dyn MergeObserver>) -> ExecContext {
    ctx.clone().with_observer(observer)
}

// ---------------------------------------------------------------------
// The memory bound.
// ---------------------------------------------------------------------

const WIDE_ROWS: i64 = 200_000;

/// `wide(id INT PRIMARY KEY, v INT)` over 8 shards with 200,000 rows.
fn wide() -> Store {
    let store = Store::new();
    let columns = vec![
        ColumnDef::new("id", ColumnType::Int),
        ColumnDef::new("v", ColumnType::Int),
    ];
    store
        .create_table(&TableSpec::new("wide", columns, &["id"]).shards(8))
        .unwrap();
    let mut batch = Batch::new();
    for id in 0..WIDE_ROWS {
        batch.put("wide", vec![Value::Int(id), Value::Int(id % 10)]);
        if batch.len() == 10_000 {
            store.commit(&batch).unwrap();
            batch = Batch::new();
        }
    }
    store.commit(&batch).unwrap();
    store
}

/// Every page of `plan` under `ctx`, their ids concatenated.
fn scan(store: &Store, plan: &Plan, ctx: &ExecContext) -> Vec<i64> {
    let mut cursor = None;
    let mut all = Vec::new();
    loop {
        let page = execute_page(&store.read(), plan, cursor.as_ref(), ctx).unwrap();
        all.extend(ids(&page.rows));
        cursor = page.next;
        if cursor.is_none() {
            return all;
        }
    }
}

#[test]
fn scanning_200k_rows_over_8_shards_buffers_a_bounded_number_of_rows() {
    let store = wide();
    let catalog = store.read().catalog().clone();
    // Ordered, both ways: at most 8 x chunk_len rows at any moment.
    for direction in [SortDirection::Asc, SortDirection::Desc] {
        let observer = Arc::new(CountingObserver::new());
        let ctx = observed(&context(), observer.clone());
        let query = Query::table("wide").order_by("id", direction).limit(5000);
        let plan = keyset_plan::plan(&query, &catalog).unwrap();
        let got = scan(&store, &plan, &ctx);
        let mut expected: Vec<i64> = (0..WIDE_ROWS).collect();
        if direction == SortDirection::Desc {
            expected.reverse();
        }
        assert_eq!(got, expected, "{direction:?}");
        let chunk_len = ctx.options.chunk_len;
        let peak = observer.peak_buffered();
        assert!(
            peak <= 8 * chunk_len,
            "{direction:?}: peak {peak} rows buffered"
        );
        assert!(
            peak >= chunk_len,
            "{direction:?}: peak {peak}: chunks did grow"
        );
        assert_eq!(observer.shards_opened(), (0..8).collect::<Vec<_>>());
        assert!(observer.total_delivered() >= WIDE_ROWS as u64);
    }
    // Unordered: at most 8 x (channel capacity + chunk_len).
    let observer = Arc::new(CountingObserver::new());
    let mut ctx = observed(&context(), observer.clone());
    ctx.options.chunk_len = 64;
    ctx.options.channel_capacity = 16;
    let query = Query::table("wide")
        .limit(5000)
        .merge(MergeMode::UnorderedStreaming);
    let plan = keyset_plan::plan(&query, &catalog).unwrap();
    let got: BTreeSet<i64> = scan(&store, &plan, &ctx).into_iter().collect();
    assert_eq!(got.len(), WIDE_ROWS as usize);
    assert_eq!(got.iter().next_back(), Some(&(WIDE_ROWS - 1)));
    let peak = observer.peak_buffered();
    assert!(
        peak <= 8 * (16 + 64),
        "unordered: peak {peak} rows buffered"
    );
    assert!(peak > 64, "unordered: peak {peak}: the channel filled");
    no_worker_left(&observer, "unordered scan");
}

// ---------------------------------------------------------------------
// Partition routing.
// ---------------------------------------------------------------------

/// `events(p INT, q INT, v INT)`, primary key (p, q), partitioned by p
/// over 8 shards: p in 0..16, q in 0..20.
fn events() -> Store {
    let store = Store::new();
    let columns = vec![
        ColumnDef::new("p", ColumnType::Int),
        ColumnDef::new("q", ColumnType::Int),
        ColumnDef::new("v", ColumnType::Int),
    ];
    store
        .create_table(&TableSpec::new("events", columns, &["p", "q"]).shards(8))
        .unwrap();
    let mut batch = Batch::new();
    for p in 0..16 {
        for q in 0..20 {
            batch.put("events", vec![Value::Int(p), Value::Int(q), Value::Int(q)]);
        }
    }
    store.commit(&batch).unwrap();
    store
}

#[test]
fn partition_equality_reads_exactly_one_shard_in_every_mode() {
    let store = events();
    let catalog = store.read().catalog().clone();
    let table = catalog.table("events").unwrap().clone();
    let shard = |p: i64| keyset_store::table::shard_for_partition_value(&table, &Value::Int(p));
    let (three, other) = (3, (4..16).find(|&p| shard(p) != shard(3)).unwrap());
    let modes = [
        MergeMode::OrderedStreaming,
        MergeMode::OrderedEager,
        MergeMode::UnorderedStreaming,
    ];
    for mode in modes {
        for (filter, partitions) in [
            (col("p").eq(three), vec![three]),
            (
                col("p").is_in([three, other]).and(col("q").lt(5)),
                vec![three, other],
            ),
        ] {
            let observer = Arc::new(CountingObserver::new());
            let ctx = observed(&context(), observer.clone());
            let query = Query::table("events").filter(filter).limit(7).merge(mode);
            let plan = keyset_plan::plan(&query, &catalog).unwrap();
            let mut rows = 0;
            let mut cursor = None;
            loop {
                let page = execute_page(&store.read(), &plan, cursor.as_ref(), &ctx).unwrap();
                for row in &page.rows {
                    assert!(partitions.contains(&match row.values()[0] {
                        Value::Int(p) => p,
                        _ => unreachable!(),
                    }));
                }
                rows += page.rows.len();
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
            let mut touched: Vec<usize> = partitions.iter().map(|&p| shard(p)).collect();
            touched.sort_unstable();
            let label = format!("{mode:?} partitions {partitions:?}");
            assert_eq!(rows, if partitions.len() == 1 { 20 } else { 10 }, "{label}");
            assert_eq!(observer.shards_opened(), touched, "{label}: shards read");
            let yielded = observer.rows_yielded();
            for (s, count) in yielded.iter().enumerate() {
                assert!(
                    *count == 0 || touched.contains(&s),
                    "{label}: shard {s} read"
                );
            }
            no_worker_left(&observer, &label);
        }
    }
    // Without the partition column every shard is read.
    let observer = Arc::new(CountingObserver::new());
    let ctx = observed(&context(), observer.clone());
    let plan = keyset_plan::plan(&Query::table("events").filter(col("q").eq(1)), &catalog).unwrap();
    execute_page(&store.read(), &plan, None, &ctx).unwrap();
    assert_eq!(observer.shards_opened(), (0..8).collect::<Vec<_>>());
}
