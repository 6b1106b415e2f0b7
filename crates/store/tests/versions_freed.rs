//! Memory accounting of the versioned store: old versions are freed once
//! no view needs them, and kept exactly as long as a pin needs them. Checked
//! through the counters the store exposes (versions, runs, bytes), never
//! through timing.

#![allow(clippy::unwrap_used)]

use keyset_store::{
    Batch, ColumnDef, ColumnType, IndexSpec, Retention, Store, StoreOptions, TableSpec, Value,
};

/// A store with `t (id INT PRIMARY KEY, v INT)`.
fn with_table(options: StoreOptions) -> Store {
    let store = Store::with_options(options);
    store
        .create_table(&TableSpec::new(
            "t",
            vec![
                ColumnDef::new("id", ColumnType::Int),
                ColumnDef::new("v", ColumnType::Int),
            ],
            &["id"],
        ))
        .unwrap();
    store
}

/// `t` with an index on `v`, maintained on this thread only.
fn store() -> Store {
    let store = with_table(StoreOptions {
        background: false,
        ..StoreOptions::default()
    });
    store
        .create_index(&IndexSpec::new("by_v", "t", &["v"]))
        .unwrap();
    store
}

fn put(store: &Store, id: i64, v: i64) {
    let mut b = Batch::new();
    b.put("t", vec![Value::Int(id), Value::Int(v)]);
    store.commit(&b).unwrap();
}

fn values(view: &keyset_store::StoreState) -> Vec<i64> {
    let t = view.table("t").unwrap();
    t.data_map(0)
        .unwrap()
        .iter()
        .map(|(_, row)| match row.get(1) {
            Some(Value::Int(v)) => *v,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn rewrites_free_every_version_no_view_needs() {
    let store = store();
    for v in 0..100 {
        put(&store, 1, v);
    }
    // 100 data versions, and per update a tombstone plus an entry in the
    // index: 1 + 2 * 99.
    assert_eq!(store.stats().live.versions, 100 + 199);
    store.compact();
    let stats = store.stats();
    assert_eq!(
        stats.live.versions, 2,
        "one data row and one index entry: {stats:?}"
    );
    assert_eq!(stats.live.runs, 2);
    assert!(stats.versions_dropped >= 297);
    assert_eq!(values(&store.read()), vec![99]);
}

#[test]
fn a_pin_keeps_what_it_sees_until_it_is_released() {
    let store = store();
    put(&store, 1, 0);
    put(&store, 2, 0);
    let pin = store.pin();
    for v in 1..50 {
        put(&store, 1, v);
    }
    let mut b = Batch::new();
    b.delete("t", vec![Value::Int(2)]);
    store.commit(&b).unwrap();
    store.compact();
    // The pin sees both rows as they were; the current view sees the newest.
    let pinned = store.read_pinned(&pin).unwrap();
    assert_eq!(values(&pinned), vec![0, 0]);
    assert_eq!(values(&store.read()), vec![49]);
    let held = store.stats().live.versions;
    // Data: row 1 at the pin and now, row 2 and its tombstone; index: the
    // pinned entries of both rows, their tombstones, and row 1's newest.
    assert_eq!(held, 4 + 5, "{:?}", store.stats());
    drop(pin);
    store.compact();
    let stats = store.stats();
    assert_eq!(stats.live.versions, 2, "{stats:?}");
    assert_eq!(stats.pins, 0);
}

#[test]
fn an_expired_pin_stops_holding_versions() {
    let store = with_table(StoreOptions {
        background: false,
        retention: Retention {
            max_age: std::time::Duration::from_secs(3600),
            max_count: 1,
        },
        ..StoreOptions::default()
    });
    put(&store, 1, 0);
    let old = store.pin();
    put(&store, 1, 1);
    let newer = store.pin();
    put(&store, 1, 2);
    assert!(
        store.read_pinned(&old).is_err(),
        "the count limit expired the oldest pin"
    );
    store.compact();
    assert_eq!(values(&store.read_pinned(&newer).unwrap()), vec![1]);
    assert_eq!(store.stats().live.versions, 2, "{:?}", store.stats());
}

#[test]
fn the_background_thread_flushes_and_merges_frozen_memtables() {
    let store = with_table(StoreOptions {
        memtable_bytes: 4 << 10,
        ..StoreOptions::default()
    });
    for id in 0..3_000 {
        put(&store, id, id);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.stats().live.memtables > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let stats = store.stats();
    assert_eq!(stats.live.memtables, 1, "frozen memtables left: {stats:?}");
    assert!(stats.flushes > 10 && stats.merges > 0, "{stats:?}");
    assert!(stats.live.runs <= 12, "runs stay few: {stats:?}");
    let view = store.read();
    let t = view.table("t").unwrap();
    assert_eq!(t.len(), 3_000);
}
