//! The `cursor` fixture: one in-memory database with a sharded, indexed
//! table, a fixed set of plans (one or more per cursor kind), and every
//! token the engine mints while paging each plan forward and backward.
//!
//! The executor context uses a fixed database id and a MAC key derived
//! from what the engine mints (not the database's random ones), so that
//! minted tokens are the same in every run of one build and can sit in the
//! committed seed corpus, while a build that mints other tokens also signs
//! with another key: seeds it did not mint are then refused (stale, less
//! useful) instead of being accepted without being in the minted set.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keyset::{col, Cursor, Db, ExecContext, MergeMode, Plan, Query, SortDirection, Value};
use keyset_executor::{CursorKeys, MacKey};
use keyset_plan::CursorKind;

/// The database id every fixture token carries.
pub const DATABASE_ID: [u8; 8] = *b"cursorfz";
/// The key the minting key is derived from (see [`mac_key_for`]).
const BASE_MAC_KEY: [u8; 32] = [0x6b; 32];
/// The page size of the fixture plans: small, so each plan mints many tokens.
pub const PAGE: usize = 3;
/// Bytes of the MAC at the end of a token (DESIGN.md section 6).
pub const MAC_LEN: usize = 16;
/// Rows of the fixture table.
const ROWS: i64 = 80;
/// Pages followed per plan and direction when minting (a bound, not a target).
const MAX_PAGES: usize = 64;

/// One fixed plan and what is known about it.
#[derive(Debug)]
pub struct FixturePlan {
    pub name: &'static str,
    pub plan: Plan,
    /// Every token minted for this plan.
    pub minted: BTreeSet<String>,
    /// The ids of the unpaged result, in order.
    pub ids: Vec<i64>,
    /// Whether the result has an order (all but the unordered shard merge,
    /// whose pages, and so its tokens, depend on which shard answers first).
    pub ordered: bool,
}

/// The fixture: the database, the context its tokens are minted and
/// checked with (`ctx.keys.current` is the MAC key), and the plans.
#[derive(Debug)]
pub struct CursorFixture {
    pub db: Db,
    pub ctx: ExecContext,
    pub plans: Vec<FixturePlan>,
}

/// The fixture, built on first use.
pub fn cursor_fixture() -> &'static CursorFixture {
    static FIXTURE: OnceLock<CursorFixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

/// The ids of a page's rows (column `id`).
pub fn ids_of(page: &keyset::Page) -> Vec<i64> {
    page.rows()
        .iter()
        .map(|r| r.get::<i64>("id").expect("every row has an INT id"))
        .collect()
}

fn queries() -> Vec<(&'static str, Query)> {
    let t = || Query::table("items");
    vec![
        (
            "index range asc",
            t().filter(col("city").eq("Oslo"))
                .order_by("age", SortDirection::Asc),
        ),
        (
            "index range desc",
            t().filter(col("city").eq("Oslo").and(col("age").gt(21)))
                .order_by("age", SortDirection::Desc),
        ),
        ("primary range", t().filter(col("id").between(5, 30))),
        (
            "top-k",
            t().order_by("score", SortDirection::Asc)
                .order_by("age", SortDirection::Desc),
        ),
        (
            "union",
            t().filter(col("city").eq("Bergen").or(col("age").eq(25))),
        ),
        (
            "intersection",
            t().filter(col("age").eq(24).and(col("score").eq(0.0))),
        ),
        (
            "unordered shard merge",
            t().filter(col("id").gt(3))
                .merge(MergeMode::UnorderedStreaming),
        ),
    ]
}

fn fill(db: &Db) {
    db.execute(
        "CREATE TABLE items (id INT PRIMARY KEY, city TEXT, age INT, score FLOAT) \
         WITH (shards = 3)",
    )
    .expect("create table");
    for index in [
        "CREATE INDEX by_city_age ON items (city, age)",
        "CREATE INDEX by_age ON items (age)",
        "CREATE INDEX by_score ON items (score)",
    ] {
        db.execute(index).expect("create index");
    }
    let cities = [Value::from("Oslo"), Value::from("Bergen"), Value::Null];
    let mut batch = db.batch();
    for id in 1..=ROWS {
        let age = if id % 9 == 0 {
            Value::Null
        } else {
            Value::Int(20 + (id * 7) % 8)
        };
        let score = Value::Float((id % 4) as f64);
        batch = batch.put(
            "items",
            vec![
                Value::Int(id),
                cities[(id % 3) as usize].clone(),
                age,
                score,
            ],
        );
    }
    batch.commit().expect("fill the table");
}

fn mint(db: &Db, ctx: &ExecContext, plan: &Plan) -> BTreeSet<String> {
    let mut minted = BTreeSet::new();
    let mut prevs: Vec<Cursor> = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..MAX_PAGES {
        let page = db
            .page_in(plan, cursor.as_ref(), ctx)
            .expect("a fixture page");
        if let Some(prev) = page.prev_cursor() {
            minted.insert(prev.to_string());
            prevs.push(prev.clone());
        }
        match page.next_cursor() {
            Some(next) => {
                minted.insert(next.to_string());
                cursor = Some(next.clone());
            }
            None => break,
        }
    }
    for prev in prevs {
        let page = db.page_in(plan, Some(&prev), ctx).expect("a backward page");
        for c in [page.next_cursor(), page.prev_cursor()]
            .into_iter()
            .flatten()
        {
            minted.insert(c.to_string());
        }
    }
    minted
}

/// The MAC key of a build: derived from the signed part of every token this
/// build mints under `BASE_MAC_KEY` (the tokens without their MACs) for the
/// ordered plans, whose tokens do not vary from run to run.
fn mac_key_for(db: &Db, plans: &[(&'static str, Plan)]) -> [u8; 32] {
    let ctx = ExecContext::new(DATABASE_ID, CursorKeys::new(MacKey(BASE_MAC_KEY)));
    let mut hasher = blake3::Hasher::new_derive_key("keyset fuzz cursor fixture MAC key");
    let ordered = plans
        .iter()
        .filter(|(_, plan)| plan.cursor_kind != CursorKind::ShardFrontier);
    for (_, plan) in ordered {
        for token in mint(db, &ctx, plan) {
            let bytes = URL_SAFE_NO_PAD
                .decode(&token)
                .expect("a minted token is base64url");
            let signed = &bytes[..bytes.len().saturating_sub(MAC_LEN)];
            hasher.update(&(signed.len() as u64).to_le_bytes());
            hasher.update(signed);
        }
    }
    *hasher.finalize().as_bytes()
}

fn build() -> CursorFixture {
    let db = Db::memory().expect("in-memory database");
    fill(&db);
    let plans: Vec<(&'static str, Plan)> = queries()
        .into_iter()
        .map(|(name, query)| (name, db.plan(&query.limit(PAGE)).expect("plan")))
        .collect();
    let key = mac_key_for(&db, &plans);
    let ctx = ExecContext::new(DATABASE_ID, CursorKeys::new(MacKey(key)));
    let mut kinds = BTreeSet::new();
    let plans = plans
        .into_iter()
        .map(|(name, plan)| {
            let mut whole = plan.clone();
            whole.limit = None;
            let unpaged = db.page_in(&whole, None, &ctx).expect("unpaged query");
            kinds.insert(plan.cursor_kind.code());
            let minted = mint(&db, &ctx, &plan);
            assert!(!minted.is_empty(), "plan `{name}` mints tokens");
            if std::env::var_os("KEYSET_FUZZ_VERBOSE").is_some() {
                eprintln!(
                    "plan `{name}`: {:?} {:?}, {} rows, {} tokens\n{}",
                    plan.cursor_kind,
                    plan.strategy,
                    unpaged.len(),
                    minted.len(),
                    keyset_plan::explain(&plan)
                );
            }
            FixturePlan {
                name,
                ordered: plan.cursor_kind != CursorKind::ShardFrontier,
                plan,
                minted,
                ids: ids_of(&unpaged),
            }
        })
        .collect();
    assert_eq!(kinds.len(), 4, "the fixture plans cover every cursor kind");
    CursorFixture { db, ctx, plans }
}
