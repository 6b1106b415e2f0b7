//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use keyset_store::{ColumnDef, ColumnType, IndexSpec, Store, TableSpec, Value};

/// Case count for property tests: modest by default, large with KEYSET_LONG_TESTS.
pub fn cases(default: u32) -> u32 {
    if std::env::var_os("KEYSET_LONG_TESTS").is_some() {
        default * 32
    } else {
        default
    }
}

/// A store with `people (id INT PK, city TEXT, age INT, email TEXT, score FLOAT)`,
/// a composite index on (city, age) and a unique index on email.
pub fn people_store(shards: u32) -> Store {
    let store = Store::new();
    store
        .create_table(
            &TableSpec::new(
                "people",
                vec![
                    ColumnDef::new("id", ColumnType::Int),
                    ColumnDef::new("city", ColumnType::Text),
                    ColumnDef::new("age", ColumnType::Int),
                    ColumnDef::new("email", ColumnType::Text),
                    ColumnDef::new("score", ColumnType::Float),
                ],
                &["id"],
            )
            .shards(shards),
        )
        .expect("create people");
    store
        .create_index(&IndexSpec::new("by_city_age", "people", &["city", "age"]))
        .expect("create by_city_age");
    store
        .create_index(&IndexSpec::new("by_email", "people", &["email"]).unique())
        .expect("create by_email");
    store
}

pub fn person(id: i64, city: &str, age: i64, email: Option<&str>) -> Vec<Value> {
    vec![
        Value::Int(id),
        Value::from(city),
        Value::Int(age),
        email.map_or(Value::Null, Value::from),
        Value::Float(id as f64 / 2.0),
    ]
}

/// Everything a table holds: data rows by key and every index's entries,
/// each as raw key bytes -> row values, merged over all shards.
pub type Dump = BTreeMap<String, BTreeMap<Vec<u8>, Vec<Value>>>;

pub fn dump(store: &Store) -> Dump {
    let view = store.read();
    let mut out = Dump::new();
    for table in view.tables() {
        let def = table.def();
        let mut data = BTreeMap::new();
        for shard in table.shard_views() {
            for (k, row) in shard.data().iter() {
                data.insert(k.to_vec(), row.values().to_vec());
            }
        }
        out.insert(format!("{}.data", def.name), data);
        for index in &def.indexes {
            let mut entries = BTreeMap::new();
            for shard in table.shard_views() {
                let map = shard.index(index.id).expect("index map exists");
                for (k, row) in map.iter() {
                    entries.insert(k.to_vec(), row.values().to_vec());
                }
            }
            out.insert(format!("{}.{}", def.name, index.name), entries);
        }
    }
    out
}
