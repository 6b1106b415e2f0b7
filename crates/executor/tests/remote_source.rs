//! The shard merges over a remote `ChunkSource`: the local store's own
//! implementation of the trait, wrapped in a source that takes a while per
//! chunk and counts how many chunks are in flight at once. Every merge mode
//! gives the local store's rows, has several shards' chunks in flight
//! together, and fails the page (never a short page) when a shard's source
//! fails.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use keyset_executor::{execute_page, ExecError};
use keyset_plan::{MergeMode, Plan, Query};
use keyset_store::{
    Batch, ChunkSource, ColumnDef, ColumnType, Direction, MapAt, ReadView, RowRef, SourceError,
    Store, StoreState, TableId, TableSpec, Value,
};

const ROWS: i64 = 2000;

/// A source over the local store that takes `delay` per chunk, counts the
/// chunks in flight, and fails every read of shard `broken`.
#[derive(Debug)]
struct Slow {
    inner: ReadView,
    delay: Duration,
    broken: Option<usize>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    chunks: AtomicUsize,
}

impl ChunkSource for Slow {
    fn chunk(
        &self,
        at: MapAt,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(Bytes, RowRef)>, SourceError> {
        if self.broken == Some(at.shard) {
            return Err(SourceError::NodeDown {
                node: "127.0.0.1:1".into(),
                slot: 7,
                detail: "test".into(),
            });
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        self.chunks.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        let chunk = self.inner.chunk(at, lower, upper, direction, limit);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        chunk
    }

    fn get(&self, table: TableId, shard: usize, key: &[u8]) -> Result<Option<RowRef>, SourceError> {
        self.inner.get(table, shard, key)
    }
}

fn store() -> Store {
    let store = Store::new();
    let columns = vec![
        ColumnDef::new("id", ColumnType::Int),
        ColumnDef::new("v", ColumnType::Int),
    ];
    store
        .create_table(&TableSpec::new("wide", columns, &["id"]).shards(8))
        .unwrap();
    let mut batch = Batch::new();
    for id in 0..ROWS {
        batch.put("wide", vec![Value::Int(id), Value::Int(id % 10)]);
    }
    store.commit(&batch).unwrap();
    store
}

fn slow(store: &Store, broken: Option<usize>) -> Arc<Slow> {
    Arc::new(Slow {
        inner: store.read(),
        delay: Duration::from_millis(20),
        broken,
        in_flight: AtomicUsize::new(0),
        most_in_flight: AtomicUsize::new(0),
        chunks: AtomicUsize::new(0),
    })
}

fn remote(store: &Store, source: &Arc<Slow>) -> ReadView {
    let source: Arc<dyn ChunkSource> = source.clone();
    Arc::new(StoreState::remote(store.read().catalog().clone(), source))
}

fn scan(view: &ReadView, plan: &Plan) -> Vec<i64> {
    let ctx = context();
    let mut cursor = None;
    let mut all = Vec::new();
    loop {
        let page = execute_page(view, plan, cursor.as_ref(), &ctx).unwrap();
        all.extend(ids(&page.rows));
        cursor = page.next;
        if cursor.is_none() {
            return all;
        }
    }
}

#[test]
fn every_merge_mode_reads_a_remote_source_like_the_store_with_shards_in_flight_together() {
    let store = store();
    let catalog = store.read().catalog().clone();
    for mode in [
        MergeMode::OrderedStreaming,
        MergeMode::OrderedEager,
        MergeMode::UnorderedStreaming,
    ] {
        let query = Query::table("wide").limit(250).merge(mode);
        let plan = keyset_plan::plan(&query, &catalog).unwrap();
        let source = slow(&store, None);
        let mut got = scan(&remote(&store, &source), &plan);
        let mut expected = scan(&store.read(), &plan);
        if mode == MergeMode::UnorderedStreaming {
            got.sort_unstable();
            expected.sort_unstable();
        }
        assert_eq!(got, expected, "{mode:?}");
        assert_eq!(got.len(), ROWS as usize);
        assert!(
            source.most_in_flight.load(Ordering::SeqCst) > 1,
            "{mode:?}: the shards' chunks were read one after another"
        );
        assert!(source.chunks.load(Ordering::SeqCst) >= 8, "{mode:?}");
    }
}

#[test]
fn a_failing_shard_fails_the_page_in_every_merge_mode() {
    let store = store();
    let catalog = store.read().catalog().clone();
    for mode in [
        MergeMode::OrderedStreaming,
        MergeMode::OrderedEager,
        MergeMode::UnorderedStreaming,
    ] {
        let query = Query::table("wide").limit(3000).merge(mode);
        let plan = keyset_plan::plan(&query, &catalog).unwrap();
        let source = slow(&store, Some(5));
        let err = execute_page(&remote(&store, &source), &plan, None, &context())
            .expect_err("no page comes back without shard 5");
        assert!(
            matches!(
                &err,
                ExecError::Source(SourceError::NodeDown { node, .. }) if node == "127.0.0.1:1"
            ),
            "{mode:?}: {err:?}"
        );
    }
}

#[test]
fn a_top_k_traversal_under_a_scan_budget_reads_its_carried_rows_through_the_source() {
    // Rows a budget-cut top-k page carries in its cursor are looked up again
    // on the next page: through the source, not the (empty) local maps.
    let store = store();
    let catalog = store.read().catalog().clone();
    let query = Query::table("wide")
        .order_by("v", keyset_plan::SortDirection::Desc)
        .limit(40)
        .max_examined(300);
    let plan = keyset_plan::plan(&query, &catalog).unwrap();
    let source = Arc::new(Slow {
        delay: Duration::ZERO,
        ..Arc::try_unwrap(slow(&store, None)).unwrap()
    });
    let expected = scan(&store.read(), &plan);
    assert_eq!(expected.len(), ROWS as usize);
    assert_eq!(scan(&remote(&store, &source), &plan), expected);
}
