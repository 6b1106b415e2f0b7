//! A failing batch fails whole with its own error and leaves the store
//! exactly as it was; unique constraints hold across shards and inside one
//! batch.

mod common;

use common::{dump, people_store, person};
use keyset_store::{Batch, StoreError, Value, MAX_KEY_BYTES};

fn seeded(shards: u32) -> keyset_store::Store {
    let store = people_store(shards);
    let mut batch = Batch::new();
    for id in 0..20 {
        let email = format!("p{id}@x");
        batch.put(
            "people",
            person(
                id,
                ["Oslo", "Bergen"][id as usize % 2],
                20 + id % 5,
                Some(&email),
            ),
        );
    }
    store.commit(&batch).expect("seed");
    store
}

type Check = fn(&StoreError) -> bool;
/// A named failure: what the last operation of the batch does, and how to
/// recognize the error it must cause.
type Case = (&'static str, Box<dyn Fn(&mut Batch)>, Check);

/// A batch whose first operations are valid and whose last one is not.
fn failing(last: impl FnOnce(&mut Batch)) -> Batch {
    let mut batch = Batch::new();
    batch.put("people", person(100, "Oslo", 50, Some("new@x")));
    batch.put("people", person(3, "Tromsø", 33, Some("p3@x")));
    batch.delete("people", vec![Value::Int(4)]);
    last(&mut batch);
    batch
}

#[test]
fn every_failure_leaves_the_store_unchanged() {
    let long = "x".repeat(MAX_KEY_BYTES);
    let cases: Vec<Case> = vec![
        (
            "unique violation against an existing row",
            Box::new(|b: &mut Batch| {
                b.put("people", person(200, "Oslo", 1, Some("p7@x")));
            }),
            |e| matches!(e, StoreError::UniqueViolation { index, .. } if index == "by_email"),
        ),
        (
            "unique violation inside the batch",
            Box::new(|b: &mut Batch| {
                b.put("people", person(201, "Oslo", 1, Some("new@x")));
            }),
            |e| matches!(e, StoreError::UniqueViolation { .. }),
        ),
        (
            "type mismatch",
            Box::new(|b: &mut Batch| {
                b.put(
                    "people",
                    vec![
                        Value::Int(300),
                        Value::Int(5),
                        Value::Int(1),
                        Value::Null,
                        Value::Null,
                    ],
                );
            }),
            |e| matches!(e, StoreError::TypeMismatch { column, .. } if column == "city"),
        ),
        (
            "NaN",
            Box::new(|b: &mut Batch| {
                let mut row = person(301, "Oslo", 1, None);
                row[4] = Value::Float(f64::NAN);
                b.put("people", row);
            }),
            |e| matches!(e, StoreError::NotANumber { column, .. } if column == "score"),
        ),
        (
            "over-long index key",
            Box::new(move |b: &mut Batch| {
                b.put("people", person(302, &long, 1, None));
            }),
            |e| matches!(e, StoreError::KeyTooLong { len, max, .. } if *len > *max),
        ),
        (
            "unknown column",
            Box::new(|b: &mut Batch| {
                b.put_named(
                    "people",
                    vec![
                        ("id".into(), Value::Int(303)),
                        ("planet".into(), Value::from("Mars")),
                    ],
                );
            }),
            |e| matches!(e, StoreError::UnknownColumn { column, .. } if column == "planet"),
        ),
        (
            "unknown table",
            Box::new(|b: &mut Batch| {
                b.put("ghosts", vec![Value::Int(1)]);
            }),
            |e| matches!(e, StoreError::UnknownTable { table } if table == "ghosts"),
        ),
        (
            "wrong row arity",
            Box::new(|b: &mut Batch| {
                b.put("people", vec![Value::Int(304)]);
            }),
            |e| {
                matches!(
                    e,
                    StoreError::RowArity {
                        expected: 5,
                        found: 1,
                        ..
                    }
                )
            },
        ),
        (
            "NULL primary key",
            Box::new(|b: &mut Batch| {
                b.put(
                    "people",
                    vec![
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        Value::Null,
                    ],
                );
            }),
            |e| matches!(e, StoreError::NullNotAllowed { column, .. } if column == "id"),
        ),
        (
            "delete with a key of the wrong type",
            Box::new(|b: &mut Batch| {
                b.delete("people", vec![Value::from("seven")]);
            }),
            |e| matches!(e, StoreError::TypeMismatch { .. }),
        ),
    ];
    for shards in [1, 3] {
        for (name, last, check) in &cases {
            let store = seeded(shards);
            let before = dump(&store);
            let seq = store.last_seq();
            let err = store.commit(&failing(|b| last(b))).expect_err(name);
            assert!(check(&err), "{name}: unexpected error {err:?}");
            assert!(!err.to_string().is_empty());
            assert_eq!(dump(&store), before, "{name}: store changed");
            assert_eq!(store.last_seq(), seq, "{name}: sequence advanced");
        }
    }
}

#[test]
fn unique_values_may_move_inside_one_batch() {
    for shards in [1, 4] {
        let store = seeded(shards);
        // Swap two emails, free one by delete and reuse it, keep one's own.
        let mut batch = Batch::new();
        batch.put("people", person(1, "Oslo", 1, Some("p2@x")));
        batch.put("people", person(2, "Oslo", 1, Some("p1@x")));
        batch.delete("people", vec![Value::Int(5)]);
        batch.put("people", person(500, "Oslo", 1, Some("p5@x")));
        batch.put("people", person(6, "Bergen", 99, Some("p6@x")));
        store.commit(&batch).expect("moves are allowed");
        // NULLs never conflict.
        let mut nulls = Batch::new();
        nulls.put("people", person(600, "Oslo", 1, None));
        nulls.put("people", person(601, "Oslo", 1, None));
        store.commit(&nulls).expect("NULLs do not conflict");
        // The constraint still holds across shards afterwards.
        let mut dup = Batch::new();
        dup.put("people", person(700, "Oslo", 1, Some("p500@x")));
        dup.put("people", person(701, "Oslo", 1, Some("p5@x")));
        assert!(matches!(
            store.commit(&dup),
            Err(StoreError::UniqueViolation { .. })
        ));
    }
}

#[test]
fn unique_index_over_violating_rows_is_refused() {
    let store = seeded(2);
    let err = store
        .create_index(&keyset_store::IndexSpec::new("u_city", "people", &["city"]).unique())
        .expect_err("cities repeat");
    assert!(matches!(err, StoreError::UniqueViolation { .. }), "{err:?}");
    assert!(store
        .read()
        .catalog()
        .table("people")
        .expect("table")
        .index_by_name("u_city")
        .is_none());
}

#[test]
fn ddl_errors_name_the_problem() {
    let store = seeded(1);
    assert!(matches!(
        store.create_index(&keyset_store::IndexSpec::new("x", "people", &["nope"])),
        Err(StoreError::UnknownColumn { .. })
    ));
    assert!(matches!(
        store.create_index(&keyset_store::IndexSpec::new(
            "by_email",
            "people",
            &["age"]
        )),
        Err(StoreError::IndexExists { .. })
    ));
    assert!(matches!(
        store.drop_index("people", "nope"),
        Err(StoreError::UnknownIndex { .. })
    ));
    assert!(matches!(
        store.drop_table("nope"),
        Err(StoreError::UnknownTable { .. })
    ));
    let cols: Vec<&str> = (0..17).map(|_| "age").collect();
    assert!(matches!(
        store.create_index(&keyset_store::IndexSpec::new("wide", "people", &cols)),
        Err(StoreError::InvalidSchema { .. })
    ));
}

#[test]
fn insert_refuses_a_key_that_exists_at_that_point_of_the_batch() {
    use keyset_store::RowInput;
    for shards in [1, 3] {
        let store = seeded(shards);
        let before = dump(&store);
        let mut taken = Batch::new();
        taken.insert("people", RowInput::Positional(person(3, "Oslo", 1, None)));
        assert!(matches!(
            store.commit(&taken),
            Err(StoreError::DuplicateKey { ref key, .. }) if key.contains('3')
        ));
        let mut twice = Batch::new();
        twice.insert("people", RowInput::Positional(person(900, "Oslo", 1, None)));
        twice.insert("people", RowInput::Positional(person(900, "Oslo", 2, None)));
        assert!(matches!(
            store.commit(&twice),
            Err(StoreError::DuplicateKey { .. })
        ));
        assert_eq!(dump(&store), before);
        // Deleted earlier in the same batch: the key is free again.
        let mut moved = Batch::new();
        moved.delete("people", vec![Value::Int(3)]);
        moved.insert("people", RowInput::Positional(person(3, "Bergen", 9, None)));
        store.commit(&moved).expect("delete then insert of one key");
        let view = store.read();
        let row = view
            .table("people")
            .and_then(|t| {
                t.get(&keyset_store::RawDataKey::encode(
                    t.def().id,
                    &[Value::Int(3)],
                ))
            })
            .expect("row 3");
        assert_eq!(row.values()[1], Value::from("Bergen"));
    }
}
