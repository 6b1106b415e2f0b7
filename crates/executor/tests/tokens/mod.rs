//! Shared helpers of the cursor attack suites: a `users` table definition
//! with two indexes, hand-made plans of every cursor kind, key builders,
//! and the means to mint, sign, alter and open tokens as only a holder of
//! the database's key could.
#![allow(dead_code, clippy::unwrap_used)]

use std::ops::Bound;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use keyset_executor::cursor::{
    open_cursor, plan_direction, Anchor, Cursor, CursorError, CursorKeys, CursorState, MacKey,
};
use keyset_plan::{
    AccessPath, Budget, CursorKind, MergeMode, OrderColumn, OrderStrategy, Plan, PlanSignature,
    ShardSet, SortDirection,
};
use keyset_store::{
    ColumnDef, ColumnType, Direction, IndexDef, RawDataKey, RawIndexKey, TableDef, Value,
};

pub const DB: [u8; 8] = *b"db-00001";
pub const TABLE: u32 = 7;
pub const BY_CITY_AGE: u32 = 11;
pub const BY_AGE: u32 = 12;
pub const MAC_LEN: usize = 16;

pub fn keys() -> CursorKeys {
    CursorKeys::new(MacKey([0x5a; 32]))
}

pub fn table(shards: u32) -> Arc<TableDef> {
    Arc::new(TableDef {
        id: TABLE,
        name: "users".into(),
        columns: vec![
            ColumnDef::new("id", ColumnType::Int).not_null(),
            ColumnDef::new("city", ColumnType::Text),
            ColumnDef::new("age", ColumnType::Int),
            ColumnDef::new("score", ColumnType::Float),
        ],
        primary_key: vec![0],
        indexes: vec![
            IndexDef {
                id: BY_CITY_AGE,
                name: "by_city_age".into(),
                columns: vec![1, 2],
                unique: false,
            },
            IndexDef {
                id: BY_AGE,
                name: "by_age".into(),
                columns: vec![2],
                unique: false,
            },
        ],
        shards,
        partition_column: 0,
        generation: 1,
    })
}

pub fn order(terms: &[(usize, SortDirection)]) -> Vec<OrderColumn> {
    terms
        .iter()
        .map(|&(column, direction)| OrderColumn { column, direction })
        .collect()
}

pub fn plan(access: AccessPath, kind: CursorKind, strategy: OrderStrategy) -> Plan {
    Plan {
        table: table(1),
        access,
        filter: None,
        exact: false,
        order: order(&[(2, SortDirection::Asc), (0, SortDirection::Asc)]),
        strategy,
        projection: vec![0, 1, 2, 3],
        limit: Some(10),
        offset: 0,
        budget: Budget::default(),
        merge: MergeMode::default(),
        consistency: Default::default(),
        shards: ShardSet::All,
        cursor_kind: kind,
        signature: PlanSignature([0x42; 16]),
    }
}

/// `city = 'Oslo' AND age >= 10 AND age < 20` (bounds adjustable).
pub fn index_plan(direction: Direction, lower: Bound<i64>, upper: Bound<i64>) -> Plan {
    plan(
        AccessPath::IndexRange {
            index: BY_CITY_AGE,
            prefix: vec![Value::from("Oslo")],
            lower: lower.map(Value::Int),
            upper: upper.map(Value::Int),
        },
        CursorKind::IndexRange,
        OrderStrategy::Stream(direction),
    )
}

pub fn oslo_plan(direction: Direction) -> Plan {
    index_plan(direction, Bound::Included(10), Bound::Excluded(20))
}

/// `id >= 100 AND id <= 200` (bounds adjustable).
pub fn primary_plan(direction: Direction, lower: Bound<i64>, upper: Bound<i64>) -> Plan {
    plan(
        AccessPath::PrimaryRange {
            prefix: vec![],
            lower: lower.map(Value::Int),
            upper: upper.map(Value::Int),
        },
        CursorKind::DataKey,
        OrderStrategy::Stream(direction),
    )
}

pub fn union_plan(direction: Direction) -> Plan {
    let eq = |index, v: i64| AccessPath::IndexRange {
        index,
        prefix: vec![Value::Int(v)],
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
    };
    plan(
        AccessPath::Union(vec![eq(BY_AGE, 30), eq(BY_AGE, 40)]),
        CursorKind::DataKey,
        OrderStrategy::Stream(direction),
    )
}

/// `ORDER BY score DESC` over a full scan: top-k.
pub fn sorted_plan(access: AccessPath) -> Plan {
    let mut p = plan(access, CursorKind::Sorted, OrderStrategy::TopK);
    p.order = order(&[(3, SortDirection::Desc), (0, SortDirection::Asc)]);
    p
}

/// The Oslo index range over 4 shards, merged unordered.
pub fn frontier_plan(direction: Direction) -> Plan {
    let mut p = oslo_plan(direction);
    p.table = table(4);
    p.cursor_kind = CursorKind::ShardFrontier;
    p
}

pub fn ikey(city: &str, age: i64, id: i64) -> Bytes {
    RawIndexKey::encode(
        TABLE,
        BY_CITY_AGE,
        &[Value::from(city), Value::Int(age)],
        &[Value::Int(id)],
    )
    .into_bytes()
}

pub fn dkey(id: i64) -> Bytes {
    RawDataKey::encode(TABLE, &[Value::Int(id)]).into_bytes()
}

pub fn sorted_anchor(score: f64, id: i64) -> Anchor {
    Anchor::Sorted {
        values: vec![Value::Float(score), Value::Int(id)],
        key: dkey(id),
    }
}

pub fn state(plan: &Plan, backward: bool, anchor: Anchor) -> CursorState {
    CursorState {
        kind: plan.cursor_kind,
        direction: plan_direction(plan),
        backward,
        signature: plan.signature,
        database: DB,
        snapshot: None,
        anchor,
    }
}

pub fn open(cursor: &Cursor, plan: &Plan) -> Result<CursorState, CursorError> {
    open_cursor(cursor, &keys(), DB, plan)
}

/// Mints `anchor` for `plan` with the key and opens it against `plan`.
pub fn open_minted(plan: &Plan, anchor: Anchor) -> Result<CursorState, CursorError> {
    open(&state(plan, false, anchor).seal(&keys()), plan)
}

pub fn token_bytes(cursor: &Cursor) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(cursor.as_str()).unwrap()
}

pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs arbitrary envelope bytes with the database's key, as only a holder
/// of the key (or a bug) could.
pub fn sign(mut bytes: Vec<u8>) -> Cursor {
    let mac = blake3::keyed_hash(&keys().current.0, &bytes);
    bytes.extend_from_slice(&mac.as_bytes()[..MAC_LEN]);
    encode(&bytes).parse().unwrap()
}

/// The signed part of a valid token (everything but its MAC).
pub fn unsigned(cursor: &Cursor) -> Vec<u8> {
    let bytes = token_bytes(cursor);
    bytes[..bytes.len() - MAC_LEN].to_vec()
}

pub fn parse_and_open(text: &str, plan: &Plan) -> Result<CursorState, CursorError> {
    open(&text.parse::<Cursor>()?, plan)
}
