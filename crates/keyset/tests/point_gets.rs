//! Primary-key gets read by one lookup (`keyset_executor::point_lookup`,
//! the prepared statement's point template) against the streaming path
//! they skip. Two databases get the same writes: one with the point path
//! (the default), one with `ExecOptions::point_lookups` off, so every page
//! goes through the stream. Each get must give the same page on both
//! (rows, columns, stop reason, cursors, costs) and the rows a model of the
//! table holds: committed rows, deleted keys, keys never written, a
//! transaction's own writes, a snapshot taken before later writes.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use keyset::{
    named_params, params, Db, ExecOptions, Options, Page, Params, PreparedStatement, Value,
};
use proptest::prelude::*;

/// Rows of `t`, by primary key (region, id): (v, note).
type Model = BTreeMap<(String, i64), (i64, String)>;

const REGIONS: [&str; 3] = ["north", "south", "west"];
const MAX_ID: i64 = 12;

/// The statements each get runs, with how their values are made from a
/// key (region, id). Point templates and statements that are not.
const GETS: [&str; 9] = [
    "SELECT * FROM t WHERE region = ? AND id = ?",
    "SELECT note, id FROM t WHERE id = ?2 AND region = ?1",
    "SELECT * FROM t WHERE region = 'north' AND id = ?",
    "SELECT v FROM t WHERE region = :r AND id = :i",
    "SELECT * FROM t WHERE region = ? AND id = ? AND v > 50",
    "SELECT * FROM t WHERE region = ? AND id = ? LIMIT ?",
    "SELECT id FROM t WHERE region = ? AND id = ? ORDER BY id DESC LIMIT 3 OFFSET 1",
    "SELECT * FROM u WHERE id = ?",
    "SELECT * FROM t WHERE region = ? AND id IN (?)",
];

fn params_for(get: usize, region: &str, id: i64, limit: i64) -> Params {
    match get {
        0 | 1 | 4 | 6 | 8 => params![region, id],
        2 | 7 => params![id],
        3 => named_params! { ":r" => region, ":i" => id },
        5 => params![region, id, limit],
        _ => unreachable!("no such get"),
    }
}

/// The rows a get returns on the model, as its projected values.
fn expected(
    get: usize,
    model: &Model,
    u: &BTreeMap<i64, i64>,
    region: &str,
    id: i64,
) -> Vec<Vec<Value>> {
    let key = (region.to_owned(), id);
    let row = |m: &Model, k: &(String, i64)| m.get(k).cloned();
    match get {
        0 | 5 | 8 => row(model, &key)
            .map(|(v, note)| {
                vec![
                    Value::from(region),
                    Value::Int(id),
                    Value::Int(v),
                    Value::from(note),
                ]
            })
            .into_iter()
            .collect(),
        1 => row(model, &key)
            .map(|(_, note)| vec![Value::from(note), Value::Int(id)])
            .into_iter()
            .collect(),
        2 => row(model, &("north".to_owned(), id))
            .map(|(v, note)| {
                vec![
                    Value::from("north"),
                    Value::Int(id),
                    Value::Int(v),
                    Value::from(note),
                ]
            })
            .into_iter()
            .collect(),
        3 => row(model, &key)
            .map(|(v, _)| vec![Value::Int(v)])
            .into_iter()
            .collect(),
        4 => row(model, &key)
            .filter(|(v, _)| *v > 50)
            .map(|(v, note)| {
                vec![
                    Value::from(region),
                    Value::Int(id),
                    Value::Int(v),
                    Value::from(note),
                ]
            })
            .into_iter()
            .collect(),
        6 => Vec::new(), // OFFSET 1 skips the only row
        7 => u
            .get(&id)
            .map(|w| vec![Value::Int(id), Value::Int(*w)])
            .into_iter()
            .collect(),
        _ => unreachable!("no such get"),
    }
}

fn database(point_lookups: bool) -> Db {
    let db = Db::memory_with(Options {
        exec: ExecOptions {
            point_lookups,
            ..ExecOptions::default()
        },
        ..Options::default()
    })
    .unwrap();
    db.execute(
        "CREATE TABLE t (region TEXT NOT NULL, id INT NOT NULL, v INT, note TEXT, \
         PRIMARY KEY (region, id))",
    )
    .unwrap();
    db.execute("CREATE INDEX by_v ON t (v)").unwrap();
    db.execute("CREATE TABLE u (id INT PRIMARY KEY, w INT) WITH (shards = 4)")
        .unwrap();
    db
}

/// What a page shows its caller, compared across the two databases.
fn shown(page: &Page) -> impl PartialEq + std::fmt::Debug {
    (
        page.columns().to_vec(),
        page.rows()
            .iter()
            .map(|r| r.values().to_vec())
            .collect::<Vec<_>>(),
        page.stop(),
        page.next_cursor().is_some(),
        page.prev_cursor().is_some(),
        *page.stats(),
    )
}

fn rows(page: &Page) -> Vec<Vec<Value>> {
    page.rows().iter().map(|r| r.values().to_vec()).collect()
}

fn same(fast: keyset::Result<Page>, slow: keyset::Result<Page>) -> Option<Page> {
    match (fast, slow) {
        (Ok(f), Ok(s)) => {
            assert_eq!(
                shown(&f),
                shown(&s),
                "the point page differs from the stream's"
            );
            Some(f)
        }
        (Err(f), Err(s)) => {
            assert_eq!(f.to_string(), s.to_string());
            None
        }
        (f, s) => panic!("one path failed: point {f:?}, stream {s:?}"),
    }
}

#[derive(Clone, Debug)]
enum Op {
    Put {
        region: usize,
        id: i64,
        v: i64,
    },
    Delete {
        region: usize,
        id: i64,
    },
    PutU {
        id: i64,
        w: i64,
    },
    /// A prepared get, and the same get through its plan (`Db::page`).
    Get {
        get: usize,
        region: usize,
        id: i64,
        limit: i64,
    },
    /// A get with a value the column cannot take.
    BadGet {
        get: usize,
    },
    /// Writes in a transaction, gets inside it, then commit or rollback.
    Transaction {
        writes: Vec<(usize, i64, Option<i64>)>,
        gets: Vec<(usize, usize, i64)>,
        commit: bool,
    },
    /// A snapshot, writes after it, then gets on it.
    Snapshot {
        writes: Vec<(usize, i64, Option<i64>)>,
        gets: Vec<(usize, i64)>,
    },
}

fn write() -> impl Strategy<Value = (usize, i64, Option<i64>)> {
    (0..REGIONS.len(), 0..MAX_ID, proptest::option::of(0..100i64))
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..REGIONS.len(), 0..MAX_ID, 0..100i64).prop_map(|(region, id, v)| Op::Put { region, id, v }),
        2 => (0..REGIONS.len(), 0..MAX_ID).prop_map(|(region, id)| Op::Delete { region, id }),
        1 => (0..MAX_ID, 0..100i64).prop_map(|(id, w)| Op::PutU { id, w }),
        6 => (0..GETS.len(), 0..REGIONS.len(), -1..MAX_ID + 1, 0..3i64)
            .prop_map(|(get, region, id, limit)| Op::Get { get, region, id, limit }),
        1 => (0..GETS.len()).prop_map(|get| Op::BadGet { get }),
        1 => (
            proptest::collection::vec(write(), 1..5),
            proptest::collection::vec((0..REGIONS.len(), 0..REGIONS.len(), 0..MAX_ID), 1..4),
            any::<bool>()
        )
            .prop_map(|(writes, gets, commit)| Op::Transaction { writes, gets, commit }),
        1 => (
            proptest::collection::vec(write(), 1..5),
            proptest::collection::vec((0..REGIONS.len(), 0..MAX_ID), 1..4)
        )
            .prop_map(|(writes, gets)| Op::Snapshot { writes, gets }),
    ]
}

struct Side {
    db: Db,
    gets: Vec<PreparedStatement>,
}

impl Side {
    fn new(point_lookups: bool) -> Side {
        let db = database(point_lookups);
        let gets = GETS.iter().map(|sql| db.prepare(sql).unwrap()).collect();
        Side { db, gets }
    }
}

fn note(region: &str, id: i64, v: i64) -> String {
    format!("{region}-{id}-{v}")
}

fn run(ops: Vec<Op>) {
    let fast = Side::new(true);
    let slow = Side::new(false);
    let mut model = Model::new();
    let mut u = BTreeMap::new();
    for op in ops {
        match op {
            Op::Put { region, id, v } => {
                let region = REGIONS[region];
                for side in [&fast, &slow] {
                    side.db
                        .batch()
                        .put(
                            "t",
                            vec![
                                region.into(),
                                id.into(),
                                v.into(),
                                note(region, id, v).into(),
                            ],
                        )
                        .commit()
                        .unwrap();
                }
                model.insert((region.to_owned(), id), (v, note(region, id, v)));
            }
            Op::Delete { region, id } => {
                let region = REGIONS[region];
                for side in [&fast, &slow] {
                    side.db
                        .batch()
                        .delete("t", vec![region.into(), id.into()])
                        .commit()
                        .unwrap();
                }
                model.remove(&(region.to_owned(), id));
            }
            Op::PutU { id, w } => {
                for side in [&fast, &slow] {
                    side.db
                        .batch()
                        .put("u", vec![id.into(), w.into()])
                        .commit()
                        .unwrap();
                }
                u.insert(id, w);
            }
            Op::Get {
                get,
                region,
                id,
                limit,
            } => {
                let region = REGIONS[region];
                let values = || params_for(get, region, id, limit);
                let page = same(
                    fast.gets[get].query(values(), None),
                    slow.gets[get].query(values(), None),
                )
                .expect("a get with good values runs");
                let mut want = expected(get, &model, &u, region, id);
                if get == 5 && limit == 0 {
                    want.clear();
                }
                assert_eq!(rows(&page), want, "{} with ({region}, {id})", GETS[get]);
                // The same get through its plan, on each database.
                let fast_plan = fast.gets[get].plan(values()).unwrap();
                let slow_plan = slow.gets[get].plan(values()).unwrap();
                same(
                    fast.db.page(&fast_plan, None),
                    slow.db.page(&slow_plan, None),
                );
                // And through SQL text (the statement cache).
                same(
                    fast.db.query_params(GETS[get], values(), None),
                    slow.db.query_params(GETS[get], values(), None),
                );
            }
            Op::BadGet { get } => {
                let values = match get {
                    3 => named_params! { ":r" => 1, ":i" => "x" },
                    2 | 7 => params!["x"],
                    5 => params!["north", "x", 1],
                    _ => params![1, "x"],
                };
                let fast_page = fast.gets[get].query(values.clone(), None);
                assert!(fast_page.is_err(), "{} took ill-typed values", GETS[get]);
                same(fast_page, slow.gets[get].query(values, None));
            }
            Op::Transaction {
                writes,
                gets,
                commit,
            } => {
                let mut txs = [fast.db.begin().unwrap(), slow.db.begin().unwrap()];
                let mut seen = model.clone();
                for (region, id, v) in writes {
                    let region = REGIONS[region];
                    for tx in &mut txs {
                        match v {
                            Some(v) => tx
                                .put(
                                    "t",
                                    vec![
                                        region.into(),
                                        id.into(),
                                        v.into(),
                                        note(region, id, v).into(),
                                    ],
                                )
                                .unwrap(),
                            None => {
                                tx.delete("t", vec![region.into(), id.into()]).unwrap();
                            }
                        }
                    }
                    match v {
                        Some(v) => seen.insert((region.to_owned(), id), (v, note(region, id, v))),
                        None => seen.remove(&(region.to_owned(), id)),
                    };
                }
                for (get, region, id) in gets {
                    let get = [0, 1, 4][get];
                    let region = REGIONS[region];
                    let [f, s] = &txs;
                    let page = same(
                        f.query_params(GETS[get], params_for(get, region, id, 0), None),
                        s.query_params(GETS[get], params_for(get, region, id, 0), None),
                    )
                    .unwrap();
                    assert_eq!(
                        rows(&page),
                        expected(get, &seen, &u, region, id),
                        "inside a transaction"
                    );
                    // Outside it, the transaction's writes are not seen.
                    let outside = fast.gets[get]
                        .query(params_for(get, region, id, 0), None)
                        .unwrap();
                    assert_eq!(rows(&outside), expected(get, &model, &u, region, id));
                }
                let [f, s] = txs;
                if commit {
                    f.commit().unwrap();
                    s.commit().unwrap();
                    model = seen;
                } else {
                    f.rollback();
                    s.rollback();
                }
            }
            Op::Snapshot { writes, gets } => {
                let snaps = [fast.db.snapshot(), slow.db.snapshot()];
                let before = model.clone();
                for (region, id, v) in writes {
                    let region = REGIONS[region];
                    for side in [&fast, &slow] {
                        let batch = side.db.batch();
                        let batch = match v {
                            Some(v) => batch.put(
                                "t",
                                vec![
                                    region.into(),
                                    id.into(),
                                    v.into(),
                                    note(region, id, v).into(),
                                ],
                            ),
                            None => batch.delete("t", vec![region.into(), id.into()]),
                        };
                        batch.commit().unwrap();
                    }
                    match v {
                        Some(v) => model.insert((region.to_owned(), id), (v, note(region, id, v))),
                        None => model.remove(&(region.to_owned(), id)),
                    };
                }
                for (region, id) in gets {
                    let region = REGIONS[region];
                    let sql = format!("SELECT * FROM t WHERE region = '{region}' AND id = {id}");
                    let [f, s] = &snaps;
                    let page = same(f.query(&sql, None), s.query(&sql, None)).unwrap();
                    assert_eq!(
                        rows(&page),
                        expected(0, &before, &u, region, id),
                        "on the snapshot"
                    );
                    let now = fast.gets[0].query(params![region, id], None).unwrap();
                    assert_eq!(
                        rows(&now),
                        expected(0, &model, &u, region, id),
                        "after the snapshot"
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn point_gets_equal_the_streaming_path_and_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}

/// A fixed run through every kind of step, so the law above is never
/// checked on runs that miss one.
#[test]
fn every_kind_of_get_on_fixed_data() {
    let mut ops = Vec::new();
    for id in 0..MAX_ID {
        for region in 0..REGIONS.len() {
            ops.push(Op::Put {
                region,
                id,
                v: id * 9,
            });
        }
        ops.push(Op::PutU { id, w: id + 100 });
    }
    ops.push(Op::Delete { region: 0, id: 3 });
    for get in 0..GETS.len() {
        for id in [-1, 3, 4, 7, MAX_ID] {
            for limit in 0..2 {
                ops.push(Op::Get {
                    get,
                    region: 0,
                    id,
                    limit,
                });
            }
        }
        ops.push(Op::BadGet { get });
    }
    ops.push(Op::Transaction {
        writes: vec![(0, 3, Some(77)), (0, 4, None), (1, MAX_ID - 1, Some(5))],
        gets: vec![(0, 0, 3), (1, 0, 4), (2, 1, MAX_ID - 1), (0, 2, 2)],
        commit: true,
    });
    ops.push(Op::Snapshot {
        writes: vec![(0, 3, None), (2, 5, Some(1))],
        gets: vec![(0, 3), (2, 5), (1, 1)],
    });
    run(ops);
}

/// A prepared point get keeps working across schema changes: a new index
/// (the table's generation moves), and the table dropped and made again
/// with other columns and another key type. Each time it replans and reads
/// the new table, by lookup as before.
#[test]
fn a_point_get_replans_after_a_schema_change() {
    for point_lookups in [true, false] {
        let db = database(point_lookups);
        db.batch()
            .put("t", vec!["north".into(), 1.into(), 10.into(), "a".into()])
            .commit()
            .unwrap();
        let get = db
            .prepare("SELECT * FROM t WHERE region = ? AND id = ?")
            .unwrap();
        let page = get.query(params!["north", 1], None).unwrap();
        assert_eq!(
            rows(&page),
            vec![vec!["north".into(), 1.into(), 10.into(), "a".into()]]
        );
        let generation = get.plan(params!["north", 1]).unwrap().table.generation;

        db.execute("CREATE INDEX by_note ON t (note)").unwrap();
        db.batch()
            .put("t", vec!["north".into(), 1.into(), 11.into(), "b".into()])
            .commit()
            .unwrap();
        let page = get.query(params!["north", 1], None).unwrap();
        assert_eq!(
            rows(&page),
            vec![vec!["north".into(), 1.into(), 11.into(), "b".into()]]
        );
        assert!(get.plan(params!["north", 1]).unwrap().table.generation > generation);

        db.execute("DROP TABLE t").unwrap();
        let gone = get.query(params!["north", 1], None).unwrap_err();
        assert!(gone.to_string().contains("no table named `t`"), "{gone}");

        db.execute("CREATE TABLE t (region TEXT, id TEXT, flag BOOL, PRIMARY KEY (region, id))")
            .unwrap();
        db.batch()
            .put("t", vec!["north".into(), "1".into(), true.into()])
            .commit()
            .unwrap();
        // The old value type no longer fits the key: the error names the
        // placeholder, as the full binding reports it.
        let err = get.query(params!["north", 1], None).unwrap_err();
        assert!(err.to_string().contains("?2"), "{err}");
        let page = get.query(params!["north", "1"], None).unwrap();
        assert_eq!(page.columns(), ["region", "id", "flag"]);
        assert_eq!(
            rows(&page),
            vec![vec!["north".into(), "1".into(), true.into()]]
        );
        assert!(get.query(params!["south", "1"], None).unwrap().is_empty());
    }
}
