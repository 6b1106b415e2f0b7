//! Shared fixtures for the planner tests: a small catalog with a sharded
//! table, a composite index, a unique index and a composite primary key.
#![allow(dead_code, clippy::unwrap_used)]

use keyset_store::{Catalog, ColumnDef, ColumnType, IndexSpec, TableSpec};

/// Adds a table to the catalog.
pub fn add_table(catalog: &mut Catalog, spec: TableSpec) {
    let def = catalog.resolve_table(&spec).expect("valid table spec");
    catalog.add_table(def);
}

/// Adds an index to the catalog; returns its id.
pub fn add_index(catalog: &mut Catalog, spec: IndexSpec) -> u32 {
    let (table, def) = catalog.resolve_index(&spec).expect("valid index spec");
    let id = def.id;
    catalog.add_index(table.id, def).expect("table exists");
    id
}

/// Drops an index by name.
pub fn drop_index(catalog: &mut Catalog, table: &str, index: &str) {
    let def = catalog.table(table).expect("table exists").clone();
    let id = def.index_by_name(index).expect("index exists").id;
    catalog.remove_index(def.id, id).expect("index exists");
}

/// `users(id INT PK, city TEXT, age INT, name TEXT, email TEXT, score FLOAT)`
/// with 4 shards, indexes `by_city_age (city, age)`, `by_email UNIQUE (email)`,
/// `by_age (age)`, `by_name (name)`, `by_score (score)`; and `orders(cust INT, seq INT,
/// amount INT, status TEXT, PK (cust, seq))` with index `by_status (status)`
/// and `by_amount (amount)`.
pub fn catalog() -> Catalog {
    let mut c = Catalog::new();
    add_table(
        &mut c,
        TableSpec::new(
            "users",
            vec![
                ColumnDef::new("id", ColumnType::Int),
                ColumnDef::new("city", ColumnType::Text),
                ColumnDef::new("age", ColumnType::Int),
                ColumnDef::new("name", ColumnType::Text),
                ColumnDef::new("email", ColumnType::Text),
                ColumnDef::new("score", ColumnType::Float),
            ],
            &["id"],
        )
        .shards(4),
    );
    add_index(
        &mut c,
        IndexSpec::new("by_city_age", "users", &["city", "age"]),
    );
    add_index(
        &mut c,
        IndexSpec::new("by_email", "users", &["email"]).unique(),
    );
    add_index(&mut c, IndexSpec::new("by_age", "users", &["age"]));
    add_index(&mut c, IndexSpec::new("by_name", "users", &["name"]));
    add_index(&mut c, IndexSpec::new("by_score", "users", &["score"]));
    add_table(
        &mut c,
        TableSpec::new(
            "orders",
            vec![
                ColumnDef::new("cust", ColumnType::Int),
                ColumnDef::new("seq", ColumnType::Int),
                ColumnDef::new("amount", ColumnType::Int),
                ColumnDef::new("status", ColumnType::Text),
            ],
            &["cust", "seq"],
        ),
    );
    add_index(&mut c, IndexSpec::new("by_status", "orders", &["status"]));
    add_index(&mut c, IndexSpec::new("by_amount", "orders", &["amount"]));
    c
}

pub mod gen;

/// The property-test catalog: `t(id INT PK, a INT, b INT, c TEXT, d FLOAT,
/// e INT)` with a composite index `t_ab (a, b)`, a unique index `t_c (c)`
/// and `t_b (b)`; `t2`, the same schema under another name; and the
/// sharded `s(k INT, j INT, v INT, w TEXT, PK (k, j))` with 4 shards and
/// indexes `s_v (v)` and `s_wv (w, v)`. Column `e` never appears in
/// generated filters. `reserve` ids are skipped before t's indexes, which
/// shifts their ids without changing any generation.
pub fn prop_catalog_with(reserve: u32) -> Catalog {
    let mut c = Catalog::new();
    for name in ["t", "t2"] {
        add_table(&mut c, TableSpec::new(name, t_columns(), &["id"]));
    }
    for _ in 0..reserve {
        c.reserve_id();
    }
    for name in ["t", "t2"] {
        add_index(
            &mut c,
            IndexSpec::new(&format!("{name}_ab"), name, &["a", "b"]),
        );
        add_index(
            &mut c,
            IndexSpec::new(&format!("{name}_c"), name, &["c"]).unique(),
        );
        add_index(&mut c, IndexSpec::new(&format!("{name}_b"), name, &["b"]));
    }
    add_table(
        &mut c,
        TableSpec::new(
            "s",
            vec![
                ColumnDef::new("k", ColumnType::Int),
                ColumnDef::new("j", ColumnType::Int),
                ColumnDef::new("v", ColumnType::Int),
                ColumnDef::new("w", ColumnType::Text),
            ],
            &["k", "j"],
        )
        .shards(4),
    );
    add_index(&mut c, IndexSpec::new("s_v", "s", &["v"]));
    add_index(&mut c, IndexSpec::new("s_wv", "s", &["w", "v"]));
    c
}

pub fn prop_catalog() -> Catalog {
    prop_catalog_with(0)
}

fn t_columns() -> Vec<ColumnDef> {
    vec![
        ColumnDef::new("id", ColumnType::Int),
        ColumnDef::new("a", ColumnType::Int),
        ColumnDef::new("b", ColumnType::Int),
        ColumnDef::new("c", ColumnType::Text),
        ColumnDef::new("d", ColumnType::Float),
        ColumnDef::new("e", ColumnType::Int),
    ]
}

/// Proptest case count: modest by default, large with `KEYSET_LONG_TESTS`.
pub fn cases(default: u32) -> u32 {
    if std::env::var_os("KEYSET_LONG_TESTS").is_some() {
        2048
    } else {
        default
    }
}

/// `Query::table("users")`.
pub fn users() -> keyset_plan::Query {
    keyset_plan::Query::table("users")
}

/// `Query::table("orders")`.
pub fn orders() -> keyset_plan::Query {
    keyset_plan::Query::table("orders")
}

/// Plans against [`catalog`] and checks the EXPLAIN text verbatim.
pub fn check(query: keyset_plan::Query, expected: &str) {
    let catalog = catalog();
    let planned = keyset_plan::plan(&query, &catalog).unwrap();
    let text = keyset_plan::explain(&planned);
    assert_eq!(
        text.trim_end(),
        expected.trim_end(),
        "\n--- got ---\n{text}\n--- expected ---\n{expected}\n"
    );
}
