//! Readers scan while a writer commits: they never fail, never see a key
//! out of order, and never wait for the commit lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use keyset_store::{
    Batch, ColumnDef, ColumnType, CommitLog, Direction, IndexSpec, Mutation, Store, TableSpec,
    Value,
};

fn table(store: &Store, shards: u32) {
    store
        .create_table(
            &TableSpec::new(
                "t",
                vec![
                    ColumnDef::new("id", ColumnType::Int),
                    ColumnDef::new("v", ColumnType::Int),
                ],
                &["id"],
            )
            .shards(shards),
        )
        .expect("create");
    store
        .create_index(&IndexSpec::new("by_v", "t", &["v"]))
        .expect("index");
}

/// Scans every shard's data and index maps in both directions, checking
/// strict order; returns how many entries it saw.
fn scan_all(store: &Store) -> usize {
    let view = store.read();
    let t = view.table("t").expect("t");
    let index = t.def().index_by_name("by_v").expect("by_v").id;
    let mut seen = 0;
    for shard in t.shard_views() {
        for map in [shard.data(), shard.index(index).expect("map")] {
            for dir in [Direction::Asc, Direction::Desc] {
                let mut last: Option<bytes::Bytes> = None;
                for (k, _) in
                    map.cursor(std::ops::Bound::Unbounded, std::ops::Bound::Unbounded, dir)
                {
                    if let Some(prev) = &last {
                        assert!(dir.precedes(&prev[..], &k[..]), "out of order");
                    }
                    last = Some(k);
                    seen += 1;
                }
            }
        }
    }
    seen
}

#[test]
fn readers_scan_in_order_while_a_writer_commits() {
    let store = Arc::new(Store::new());
    table(&store, 3);
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            let done = done.clone();
            thread::spawn(move || {
                let mut scans = 0;
                while !done.load(Ordering::Relaxed) || scans < 3 {
                    scan_all(&store);
                    scans += 1;
                }
                scans
            })
        })
        .collect();
    for round in 0..200i64 {
        let mut batch = Batch::new();
        for i in 0..10 {
            let id = (round * 7 + i) % 500;
            if i % 4 == 0 {
                batch.delete("t", vec![Value::Int(id)]);
            } else {
                batch.put("t", vec![Value::Int(id), Value::Int((round + i) % 13)]);
            }
        }
        store.commit(&batch).expect("commit");
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader never panics") >= 3);
    }
}

/// A log whose `append` blocks until released: it holds the commit lock.
#[derive(Debug)]
struct BlockingLog {
    entered: Barrier,
    release: Mutex<()>,
}

impl CommitLog for BlockingLog {
    fn append(&self, _seq: u64, _m: &Mutation) -> keyset_store::Result<()> {
        self.entered.wait();
        drop(self.release.lock().expect("release lock"));
        Ok(())
    }
    fn wait_durable(&self, _seq: u64) -> keyset_store::Result<()> {
        Ok(())
    }
}

#[test]
fn readers_do_not_wait_for_a_commit_in_progress() {
    let store = Arc::new(Store::new());
    table(&store, 2);
    let mut batch = Batch::new();
    for id in 0..50 {
        batch.put("t", vec![Value::Int(id), Value::Int(id % 5)]);
    }
    store.commit(&batch).expect("seed");
    let log = Arc::new(BlockingLog {
        entered: Barrier::new(2),
        release: Mutex::new(()),
    });
    let gate = log.release.lock().expect("gate");
    store.attach_log(log.clone(), store.last_seq());
    let writer = {
        let store = store.clone();
        thread::spawn(move || {
            let mut batch = Batch::new();
            batch.put("t", vec![Value::Int(1000), Value::Int(1)]);
            store.commit(&batch).expect("commit")
        })
    };
    // The writer is now inside the commit lock, blocked in append.
    log.entered.wait();
    assert_eq!(
        scan_all(&store),
        50 * 4,
        "readers complete while a commit holds the lock"
    );
    drop(gate);
    let info = writer.join().expect("writer");
    assert_eq!(info.puts, 1);
    assert_eq!(scan_all(&store), 51 * 4);
}
