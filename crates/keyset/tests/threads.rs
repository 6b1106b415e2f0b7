//! `Db` is `Send + Sync + Clone` and works from several threads: readers
//! page through queries while writers insert, and every traversal keeps
//! the live-data guarantee of DESIGN.md section 6 (anchors advance, no row
//! twice, nothing that was there all along missing); writers on clones of
//! one handle all land.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use keyset::{Cursor, Db, Error, Page, RowStream};

fn assert_shareable<T: Send + Sync + Clone + 'static>() {}
fn assert_send<T: Send + 'static>() {}

#[test]
fn handles_pages_and_cursors_cross_threads() {
    assert_shareable::<Db>();
    assert_shareable::<Page>();
    assert_shareable::<Cursor>();
    assert_send::<Error>();
    assert_send::<RowStream>();
}

const PRELOADED: i64 = 600;
const WRITTEN: i64 = 1_500;

fn group(id: i64) -> i64 {
    id % 5
}

/// Pages `sql` to the end; returns the ids in page order.
fn traverse(db: &Db, sql: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..10_000 {
        let page = db.query(sql, cursor.as_ref()).unwrap();
        ids.extend(page.rows().iter().map(|r| r.get::<i64>("id").unwrap()));
        match page.next_cursor() {
            Some(next) => cursor = Some(next.clone()),
            None => return ids,
        }
    }
    panic!("{sql}: the traversal did not end");
}

#[test]
fn readers_page_while_a_writer_inserts() {
    let db = Db::memory().unwrap();
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, grp INT, v TEXT) WITH (shards = 3)")
        .unwrap();
    db.execute("CREATE INDEX by_grp ON t (grp)").unwrap();
    let insert = |db: &Db, ids: std::ops::Range<i64>| {
        let rows: Vec<String> = ids
            .map(|id| format!("({id}, {}, 'v{:04}')", group(id), (id * 37) % 1000))
            .collect();
        db.execute(&format!("INSERT INTO t VALUES {}", rows.join(", ")))
            .unwrap();
    };
    insert(&db, 0..PRELOADED);

    let done = AtomicBool::new(false);
    let traversals = thread::scope(|s| {
        let writer = {
            let db = db.clone();
            let done = &done;
            s.spawn(move || {
                for start in (PRELOADED..PRELOADED + WRITTEN).step_by(10) {
                    insert(&db, start..start + 10);
                }
                done.store(true, Ordering::SeqCst);
            })
        };
        let readers: Vec<_> = [
            // An index range streamed in primary-key order.
            (
                "SELECT id FROM t WHERE grp = 3 ORDER BY id LIMIT 7",
                Some(3),
            ),
            // A union, DESC, merged across shards.
            (
                "SELECT id FROM t WHERE grp = 1 OR grp = 4 ORDER BY id DESC LIMIT 11",
                None,
            ),
            // A full scan, ascending.
            ("SELECT id, v FROM t ORDER BY id LIMIT 50", None),
        ]
        .into_iter()
        .map(|(sql, only_group)| {
            let db = db.clone();
            let done = &done;
            s.spawn(move || {
                let mut count = 0;
                // At least three traversals, and keep going until the writer is done.
                while count < 3 || !done.load(Ordering::SeqCst) {
                    let ids = traverse(&db, sql);
                    check_traversal(sql, &ids, only_group);
                    count += 1;
                }
                count
            })
        })
        .collect();
        writer.join().unwrap();
        readers
            .into_iter()
            .map(|r| r.join().unwrap())
            .sum::<usize>()
    });
    assert!(traversals >= 9, "every reader finished its traversals");

    // Once the writer is done every row is there.
    let all = traverse(&db, "SELECT id FROM t ORDER BY id LIMIT 100");
    assert_eq!(all, (0..PRELOADED + WRITTEN).collect::<Vec<_>>());
}

/// The live-data guarantee for insert-only traffic: the ids advance
/// strictly in the query's order (so none repeats), and every preloaded
/// row the query matches is present.
fn check_traversal(sql: &str, ids: &[i64], only_group: Option<i64>) {
    let desc = sql.contains("DESC");
    for pair in ids.windows(2) {
        let advancing = if desc {
            pair[0] > pair[1]
        } else {
            pair[0] < pair[1]
        };
        assert!(advancing, "{sql}: ids must advance strictly, got {pair:?}");
    }
    let seen: HashSet<i64> = ids.iter().copied().collect();
    let matches = |id: i64| match (only_group, sql.contains("grp = 1 OR grp = 4")) {
        (Some(g), _) => group(id) == g,
        (None, true) => matches!(group(id), 1 | 4),
        (None, false) => true,
    };
    for id in (0..PRELOADED).filter(|&id| matches(id)) {
        assert!(seen.contains(&id), "{sql}: preloaded row {id} is missing");
    }
    for &id in ids {
        assert!(matches(id), "{sql}: row {id} does not match the filter");
    }
}

/// A deterministic interleaving: after every page the reader hands the
/// writer thread a turn, which inserts rows both behind the anchor and
/// ahead of it. Rows ahead of the anchor when inserted must be met later
/// in the traversal; rows behind it must not be (ids advance strictly).
#[test]
fn inserts_between_pages_on_another_thread_are_met_ahead_of_the_anchor() {
    let db = Db::memory().unwrap();
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, grp INT) WITH (shards = 2)")
        .unwrap();
    db.execute("CREATE INDEX by_grp ON t (grp)").unwrap();
    let even: Vec<String> = (0..100)
        .map(|i| format!("({}, {})", 2 * i, i % 2))
        .collect();
    db.execute(&format!("INSERT INTO t VALUES {}", even.join(", ")))
        .unwrap();
    let (turn_tx, turn_rx) = std::sync::mpsc::sync_channel::<i64>(0);
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Vec<i64>>(0);
    let writer = {
        let db = db.clone();
        thread::spawn(move || {
            // Each turn: an odd id just behind the anchor and one well ahead
            // (each id once: INSERT refuses a key that exists).
            let mut written = std::collections::HashSet::new();
            while let Ok(anchor) = turn_rx.recv() {
                let ids = [anchor - 1, anchor + 21];
                let ids: Vec<i64> = ids
                    .into_iter()
                    .filter(|id| id % 2 != 0 && *id > 0 && written.insert(*id))
                    .collect();
                let rows: Vec<String> = ids.iter().map(|id| format!("({id}, 1)")).collect();
                if !rows.is_empty() {
                    db.execute(&format!("INSERT INTO t VALUES {}", rows.join(", ")))
                        .unwrap();
                }
                done_tx.send(ids).unwrap();
            }
        })
    };
    let sql = "SELECT id FROM t ORDER BY id LIMIT 4";
    let mut seen: Vec<i64> = Vec::new();
    let mut ahead: Vec<i64> = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = db.query(sql, cursor.as_ref()).unwrap();
        seen.extend(page.rows().iter().map(|r| r.get::<i64>("id").unwrap()));
        let Some(next) = page.next_cursor() else {
            break;
        };
        cursor = Some(next.clone());
        let anchor = *seen.last().unwrap();
        turn_tx.send(anchor).unwrap();
        let inserted = done_rx.recv().unwrap();
        ahead.extend(inserted.into_iter().filter(|&id| id > anchor));
    }
    drop(turn_tx);
    writer.join().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "ids advance strictly: {seen:?}"
    );
    let seen_set: HashSet<i64> = seen.iter().copied().collect();
    for id in (0..100).map(|i| 2 * i) {
        assert!(seen_set.contains(&id), "preloaded row {id} is missing");
    }
    assert!(ahead.len() > 20, "the writer inserted ahead of the anchor");
    for id in &ahead {
        assert!(
            seen_set.contains(id),
            "row {id}, inserted ahead of the anchor, is missing"
        );
    }
}

#[test]
fn writers_on_clones_all_land() {
    let db = Db::memory().unwrap();
    db.execute("CREATE TABLE t (id INT PRIMARY KEY, who INT) WITH (shards = 2)")
        .unwrap();
    db.execute("CREATE UNIQUE INDEX by_who_id ON t (who, id)")
        .unwrap();
    const WRITERS: i64 = 4;
    const EACH: i64 = 250;
    thread::scope(|s| {
        for w in 0..WRITERS {
            let db = db.clone();
            s.spawn(move || {
                for i in 0..EACH {
                    let id = w * EACH + i;
                    db.execute(&format!("INSERT INTO t VALUES ({id}, {w})"))
                        .unwrap();
                }
            });
        }
    });
    for w in 0..WRITERS {
        let page = db
            .query(
                &format!("SELECT id FROM t WHERE who = {w} ORDER BY id"),
                None,
            )
            .unwrap();
        let ids: Vec<i64> = page.rows().iter().map(|r| r.get("id").unwrap()).collect();
        assert_eq!(
            ids,
            (w * EACH..(w + 1) * EACH).collect::<Vec<_>>(),
            "writer {w}"
        );
    }
}
