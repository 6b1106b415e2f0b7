//! Regressions found by the cargo-fuzz targets in `fuzz/` (see
//! `docs/fuzzing.md`), each the smallest case of what the fuzzer reported.
#![allow(clippy::unwrap_used)]

mod common;

use common::{row, Fixture};
use keyset_executor::{
    cursor::plan_direction, execute_page, Anchor, CursorState, ExecError, ShardPosition,
};
use keyset_plan::{AccessPath, CursorKind, MergeMode};
use keyset_store::{Direction, RawDataKey, Value};

/// Found by `fuzz/fuzz_targets/cursor.rs`, mode 2 (tokens signed with the
/// database's key): a `ShardFrontier` anchor whose shards sit at different
/// positions passes every check of `open_cursor` (it is well formed, of the
/// plan's table and inside its bounds), and the page then fails with
/// `ExecError::Internal` ("a shard frontier with different positions per
/// shard cannot be resumed by the ordered shard merge"). DESIGN.md section 6:
/// a cursor is resumed or refused with `InvalidCursor`, never an internal
/// error. Then the engine minted only frontiers with one position for all
/// shards, so only a holder of the key could send one.
#[test]
fn a_frontier_with_different_positions_per_shard_is_resumed_or_refused() {
    let fx = Fixture::with_rows(
        3,
        (1..=12).map(|id| row(id, Some(id % 3), None, None, None)),
    );
    let mut plan = fx.stream_plan(AccessPath::FullScan, Direction::Asc, None);
    plan.merge = MergeMode::UnorderedStreaming;
    plan.cursor_kind = CursorKind::ShardFrontier;
    plan.signature = keyset_plan::signature(&plan);
    plan.limit = Some(3);
    let key = |id: i64| RawDataKey::encode(fx.table().id, &[Value::Int(id)]).into_bytes();
    let state = CursorState {
        kind: plan.cursor_kind,
        direction: plan_direction(&plan),
        backward: false,
        signature: plan.signature,
        database: fx.ctx.database,
        snapshot: None,
        anchor: Anchor::Frontier(vec![
            ShardPosition::After(key(9)),
            ShardPosition::After(key(9)),
            ShardPosition::After(key(2)),
        ]),
    };
    let cursor = state.seal(&fx.ctx.keys);
    match execute_page(&fx.store.read(), &plan, Some(&cursor), &fx.ctx) {
        Ok(_) | Err(ExecError::InvalidCursor(_)) => {}
        Err(other) => panic!("a signed frontier gave {other}"),
    }
}
