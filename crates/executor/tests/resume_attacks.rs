//! Attacks on the cursor states a budget leaves: OFFSET rows still to skip
//! (`KeySkip`, `FrontierSkip`) and top-k passes (`SortedPass`). Every
//! altered byte is refused by the MAC first; forged states minted with the
//! key are refused with their own `CursorError` variants; nothing panics.
#![allow(clippy::unwrap_used)]

mod tokens;

use std::ops::Bound;

use bytes::Bytes;
use keyset_executor::cursor::{
    Anchor, CursorError, CursorState, ShardPosition, SortedPass, SortedRow, CURSOR_VERSION,
};
use keyset_plan::{AccessPath, Plan};
use keyset_store::{ColumnType, Direction, RawIndexKey, Value};
use tokens::*;

fn srow(score: f64, id: i64) -> SortedRow {
    SortedRow {
        values: vec![Value::Float(score), Value::Int(id)],
        key: dkey(id),
    }
}

/// A top-k pass over `ORDER BY score DESC, id`.
fn pass(after: Option<(f64, i64)>, scan: Option<Bytes>, best: &[(f64, i64)]) -> SortedPass {
    SortedPass {
        collecting: Vec::new(),
        after: after.map(|(s, id)| srow(s, id)),
        scan,
        best: best.iter().map(|&(s, id)| srow(s, id)).collect(),
        more: false,
        offset_left: 0,
    }
}

fn age_key(age: i64, id: i64) -> Bytes {
    RawIndexKey::encode(TABLE, BY_AGE, &[Value::Int(age)], &[Value::Int(id)]).into_bytes()
}

/// A top-k plan over `age >= 10 AND age < 20`, read in index order.
fn sorted_by_age_range() -> Plan {
    sorted_plan(AccessPath::IndexRange {
        index: BY_AGE,
        prefix: vec![],
        lower: Bound::Included(Value::Int(10)),
        upper: Bound::Excluded(Value::Int(20)),
    })
}

/// One valid forward resume state of each shape, with its plan.
fn resume_scenarios() -> Vec<(Plan, Anchor)> {
    let mut more = pass(
        Some((2.5, 9)),
        Some(dkey(40)),
        &[(2.0, 1), (2.0, 3), (1.0, 0)],
    );
    more.more = true;
    let mut first = pass(None, Some(age_key(15, 4)), &[(9.0, 4)]);
    first.offset_left = 3;
    let mut not_begun = pass(Some((0.5, 2)), None, &[]);
    not_begun.offset_left = 7;
    let mut known = pass(Some((2.5, 9)), None, &[(2.0, 1), (1.5, 0)]);
    known.more = true;
    vec![
        (
            oslo_plan(Direction::Desc),
            Anchor::KeySkip {
                key: ikey("Oslo", 15, 3),
                offset_left: 4,
            },
        ),
        (
            frontier_plan(Direction::Asc),
            Anchor::FrontierSkip {
                positions: vec![
                    ShardPosition::NotStarted,
                    ShardPosition::After(ikey("Oslo", 12, 1)),
                    ShardPosition::Finished,
                    ShardPosition::NotStarted,
                ],
                offset_left: 2,
            },
        ),
        (
            sorted_plan(AccessPath::FullScan),
            Anchor::SortedPass(Box::new(more)),
        ),
        (sorted_by_age_range(), Anchor::SortedPass(Box::new(first))),
        (
            sorted_plan(AccessPath::FullScan),
            Anchor::SortedPass(Box::new(not_begun)),
        ),
        (
            sorted_plan(AccessPath::FullScan),
            Anchor::SortedPass(Box::new(known)),
        ),
    ]
}

#[test]
fn resume_states_round_trip_and_every_byte_change_is_refused_by_the_mac() {
    for (plan, anchor) in resume_scenarios() {
        let minted = state(&plan, false, anchor);
        let cursor = minted.seal(&keys());
        assert_eq!(open(&cursor, &plan), Ok(minted.clone()));
        let bytes = token_bytes(&cursor);
        for at in 0..bytes.len() {
            for flip in [1u8, 2, 4, 0x80, 0xff] {
                let mut changed = bytes.clone();
                changed[at] ^= flip;
                let expected = match at {
                    0 | 1 => CursorError::BadMagic,
                    2 => CursorError::UnsupportedVersion {
                        found: CURSOR_VERSION ^ flip,
                    },
                    _ => CursorError::BadMac,
                };
                assert_eq!(
                    parse_and_open(&encode(&changed), &plan),
                    Err(expected),
                    "{:?}: byte {at} xor {flip:#04x}",
                    minted.anchor
                );
            }
        }
    }
}

#[test]
fn offsets_to_skip_must_be_forward_positive_and_in_bounds() {
    let plan = oslo_plan(Direction::Asc);
    let skip = |key: Bytes, offset_left| Anchor::KeySkip { key, offset_left };
    assert!(matches!(
        open_minted(&plan, skip(ikey("Oslo", 15, 3), 0)),
        Err(CursorError::InconsistentState { .. })
    ));
    assert_eq!(
        open_minted(&plan, skip(ikey("Oslo", 25, 3), 1)),
        Err(CursorError::AnchorOutOfBounds)
    );
    let wrong_index = RawIndexKey::encode(TABLE, BY_AGE, &[Value::Int(15)], &[Value::Int(1)]);
    assert!(matches!(
        open_minted(&plan, skip(wrong_index.into_bytes(), 1)),
        Err(CursorError::AnchorWrongIndex { .. })
    ));
    // Only a forward first page skips OFFSET rows.
    let backward = state(&plan, true, skip(ikey("Oslo", 15, 3), 2)).seal(&keys());
    assert!(matches!(
        open(&backward, &plan),
        Err(CursorError::Malformed { reason }) if reason.contains("flag bit 2")
    ));
    let frontier = frontier_plan(Direction::Asc);
    let positions = vec![ShardPosition::NotStarted; 4];
    assert!(matches!(
        open_minted(
            &frontier,
            Anchor::FrontierSkip {
                positions: positions.clone(),
                offset_left: 0
            }
        ),
        Err(CursorError::InconsistentState { .. })
    ));
    assert!(matches!(
        open_minted(
            &frontier,
            Anchor::FrontierSkip {
                positions: positions[..3].to_vec(),
                offset_left: 1
            }
        ),
        Err(CursorError::AnchorMalformed { reason }) if reason.contains("shards")
    ));
    // A top-k plan carries its OFFSET in its pass, never in a skip flag;
    // a streaming plan never carries a pass.
    let topk = sorted_plan(AccessPath::FullScan);
    let flagged = state(&topk, false, skip(dkey(1), 1)).seal(&keys());
    assert!(matches!(
        open(&flagged, &topk),
        Err(CursorError::Malformed { reason }) if reason.contains("flag bit 2")
    ));
    let pass_on_range = Anchor::SortedPass(Box::new(pass(None, Some(dkey(1)), &[])));
    let flagged = state(&plan, false, pass_on_range).seal(&keys());
    assert!(matches!(
        open(&flagged, &plan),
        Err(CursorError::Malformed { reason }) if reason.contains("flag bit 1")
    ));
}

#[test]
fn top_k_passes_must_fit_the_table_the_plan_and_their_bounds() {
    let full = sorted_plan(AccessPath::FullScan);
    let by_age = sorted_by_age_range();
    let minted = |plan: &Plan, p: SortedPass| open_minted(plan, Anchor::SortedPass(Box::new(p)));

    // One ORDER BY value a row, for a plan that orders by two terms.
    let mut narrow = pass(Some((2.5, 9)), Some(dkey(40)), &[(2.0, 1)]);
    for row in narrow.after.iter_mut().chain(narrow.best.iter_mut()) {
        row.values.pop();
    }
    assert!(matches!(
        minted(&full, narrow),
        Err(CursorError::AnchorMalformed { reason }) if reason.contains("ORDER BY")
    ));
    let mut typed = pass(Some((2.5, 9)), Some(dkey(40)), &[]);
    if let Some(after) = typed.after.as_mut() {
        after.values[0] = Value::Int(2);
    }
    assert_eq!(
        minted(&full, typed),
        Err(CursorError::AnchorValueType {
            column: "score".into(),
            expected: ColumnType::Float,
            found: "INT"
        })
    );
    // A full scan's pass reads data keys; an index range's, its index keys.
    assert_eq!(
        minted(&full, pass(None, Some(age_key(15, 1)), &[])),
        Err(CursorError::AnchorWrongTable {
            expected: TABLE,
            found: 0x4900_0000
        })
    );
    assert!(matches!(
        minted(&by_age, pass(None, Some(ikey("Oslo", 15, 1)), &[])),
        Err(CursorError::AnchorWrongIndex { .. })
    ));
    assert!(minted(&by_age, pass(None, Some(age_key(19, i64::MAX)), &[])).is_ok());
    assert_eq!(
        minted(&by_age, pass(None, Some(age_key(20, 1)), &[])),
        Err(CursorError::AnchorOutOfBounds)
    );
    let by_id = sorted_plan(AccessPath::PrimaryRange {
        prefix: vec![],
        lower: Bound::Included(Value::Int(100)),
        upper: Bound::Included(Value::Int(200)),
    });
    assert!(minted(
        &by_id,
        pass(Some((1.0, 150)), Some(dkey(170)), &[(0.5, 120)])
    )
    .is_ok());
    assert_eq!(
        minted(&by_id, pass(Some((1.0, 150)), Some(dkey(201)), &[])),
        Err(CursorError::AnchorOutOfBounds)
    );
    assert_eq!(
        minted(
            &by_id,
            pass(Some((1.0, 150)), Some(dkey(170)), &[(0.5, 99)])
        ),
        Err(CursorError::AnchorOutOfBounds)
    );
}

#[test]
fn top_k_passes_must_be_states_a_page_writes() {
    let full = sorted_plan(AccessPath::FullScan);
    let minted = |backward: bool, p: SortedPass| {
        open(
            &state(&full, backward, Anchor::SortedPass(Box::new(p))).seal(&keys()),
            &full,
        )
    };
    let inconsistent = |result: Result<CursorState, CursorError>, what: &str| match result {
        Err(CursorError::InconsistentState { reason }) => {
            assert!(reason.contains(what), "{reason}")
        }
        other => panic!("{what}: {other:?}"),
    };
    // ORDER BY score DESC, id: (2.0, 1) comes after (2.5, 9), and (2.0, 3)
    // after (2.0, 1).
    let ok = pass(Some((2.5, 9)), Some(dkey(5)), &[(2.0, 1), (2.0, 3)]);
    assert!(minted(false, ok.clone()).is_ok());
    assert_eq!(
        minted(false, pass(Some((2.5, 9)), Some(dkey(5)), &[(2.5, 9)])),
        Err(CursorError::PassRowNotAfterAnchor { row: 0 })
    );
    assert_eq!(
        minted(false, pass(Some((2.5, 9)), Some(dkey(5)), &[(3.0, 1)])),
        Err(CursorError::PassRowNotAfterAnchor { row: 0 })
    );
    assert_eq!(
        minted(false, pass(None, Some(dkey(5)), &[(2.0, 3), (2.0, 1)])),
        Err(CursorError::PassRowsOutOfOrder { row: 1 })
    );
    assert_eq!(
        minted(
            false,
            pass(None, Some(dkey(5)), &[(1.0, 1), (0.5, 2), (0.5, 2)])
        ),
        Err(CursorError::PassRowsOutOfOrder { row: 2 })
    );
    // Backward, the order is reversed: the same rows come before the anchor.
    assert_eq!(
        minted(true, ok),
        Err(CursorError::PassRowNotAfterAnchor { row: 0 })
    );
    assert!(minted(
        true,
        pass(Some((2.0, 1)), Some(dkey(5)), &[(2.5, 9), (3.0, 0)])
    )
    .is_ok());

    let mut more_of_nothing = pass(None, Some(dkey(5)), &[]);
    more_of_nothing.more = true;
    inconsistent(minted(false, more_of_nothing), "carries none");
    // Without a stop key: the rows a finished pass knows, or a pass not
    // begun that skips OFFSET rows; both after a row.
    assert!(minted(false, pass(Some((1.0, 1)), None, &[(0.5, 1)])).is_ok());
    inconsistent(
        minted(false, pass(None, None, &[(0.5, 1)])),
        "not in progress",
    );
    let mut not_begun = pass(None, None, &[]);
    not_begun.offset_left = 3;
    inconsistent(minted(false, not_begun), "not in progress");
    inconsistent(minted(false, pass(Some((1.0, 1)), None, &[])), "not begun");
    let mut backward_offset = pass(Some((1.0, 1)), Some(dkey(5)), &[]);
    backward_offset.offset_left = 1;
    inconsistent(minted(true, backward_offset), "OFFSET");
    inconsistent(
        minted(true, pass(None, Some(dkey(5)), &[])),
        "resumes from a row",
    );
}

#[test]
fn malformed_top_k_pass_bytes_are_refused_after_the_mac() {
    let full = sorted_plan(AccessPath::FullScan);
    let anchor = Anchor::SortedPass(Box::new(pass(Some((2.5, 9)), Some(dkey(5)), &[(2.0, 1)])));
    let raw = unsigned(&state(&full, false, anchor).seal(&keys()));
    // Byte 30 holds the pass's shape bits.
    let mut forged = raw.clone();
    forged[30] |= 0b1000;
    match open(&sign(forged), &full) {
        Err(CursorError::AnchorMalformed { reason }) => {
            assert!(reason.contains("shape"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let mut trailing = raw.clone();
    trailing.push(0);
    assert!(matches!(
        open(&sign(trailing), &full),
        Err(CursorError::AnchorMalformed { reason }) if reason.contains("trailing")
    ));
    // Bit 4 (a collection cut short) belongs to data-key cursors only.
    let mut collecting_flag = raw.clone();
    collecting_flag[5] |= 0b1_0000;
    assert!(matches!(
        open(&sign(collecting_flag), &full),
        Err(CursorError::Malformed { reason }) if reason.contains("do not apply")
    ));
    let mut unknown_flag = raw;
    unknown_flag[5] |= 0b1000_0000;
    assert!(matches!(
        open(&sign(unknown_flag), &full),
        Err(CursorError::Malformed { reason }) if reason.contains("unknown flag")
    ));
}
