//! Attacks on cursor tokens: every check of DESIGN.md section 6 refuses what
//! it must, with its own `CursorError` variant, and nothing panics. Tokens
//! that must get past the MAC are minted with the database's key.
#![allow(clippy::unwrap_used)]

mod tokens;

use std::ops::Bound;

use bytes::Bytes;
use keyset_executor::cursor::{
    open_cursor, Anchor, Cursor, CursorError, CursorKeys, CursorState, MacKey, ShardPosition,
    CURSOR_VERSION, MAX_CURSOR_BYTES,
};
use keyset_plan::{
    AccessPath, CursorKind, OrderStrategy, Plan, PlanSignature, ShardSet, SortDirection,
};
use keyset_store::{ColumnType, Direction, RawDataKey, RawIndexKey, Value};
use proptest::prelude::*;
use tokens::*;

/// One valid (plan, anchor) per cursor kind, traversed in `direction`.
fn scenarios(direction: Direction) -> Vec<(Plan, Anchor)> {
    vec![
        (oslo_plan(direction), Anchor::Key(ikey("Oslo", 15, 3))),
        (
            primary_plan(direction, Bound::Included(100), Bound::Included(200)),
            Anchor::Key(dkey(150)),
        ),
        (union_plan(direction), Anchor::Key(dkey(-4))),
        (sorted_plan(AccessPath::FullScan), sorted_anchor(2.5, 9)),
        (
            frontier_plan(direction),
            Anchor::Frontier(vec![
                ShardPosition::NotStarted,
                ShardPosition::After(ikey("Oslo", 10, 1)),
                ShardPosition::Finished,
                ShardPosition::After(ikey("Oslo", 19, i64::MAX)),
            ]),
        ),
    ]
}

#[test]
fn minted_tokens_round_trip_for_every_kind_direction_and_flag() {
    let mut seen = 0;
    for direction in [Direction::Asc, Direction::Desc] {
        for (plan, anchor) in scenarios(direction) {
            for backward in [false, true] {
                let minted = state(&plan, backward, anchor.clone());
                let cursor = minted.seal(&keys());
                assert_eq!(cursor, minted.seal(&keys()), "sealing is deterministic");
                let parsed: Cursor = cursor.to_string().parse().unwrap();
                assert_eq!(parsed, cursor);
                assert_eq!(open(&parsed, &plan).unwrap(), minted);
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 2 * 5 * 2);
}

#[test]
fn every_single_byte_change_is_rejected() {
    for direction in [Direction::Asc, Direction::Desc] {
        for (plan, anchor) in scenarios(direction) {
            let bytes = token_bytes(&state(&plan, true, anchor).seal(&keys()));
            for at in 0..bytes.len() {
                for flip in 1..=255u8 {
                    let mut changed = bytes.clone();
                    changed[at] ^= flip;
                    let error = parse_and_open(&encode(&changed), &plan).unwrap_err();
                    let expected = match at {
                        0 | 1 => CursorError::BadMagic,
                        2 => CursorError::UnsupportedVersion {
                            found: CURSOR_VERSION ^ flip,
                        },
                        _ => CursorError::BadMac,
                    };
                    assert_eq!(error, expected, "byte {at} xor {flip:#04x}");
                }
            }
            // Cutting the token short or extending it moves the MAC.
            for len in 0..bytes.len() {
                let error = parse_and_open(&encode(&bytes[..len]), &plan).unwrap_err();
                let expected = match len {
                    0 => CursorError::Empty,
                    1..46 => CursorError::Truncated,
                    _ => CursorError::BadMac,
                };
                assert_eq!(error, expected, "prefix of {len} bytes");
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(
                parse_and_open(&encode(&longer), &plan),
                Err(CursorError::BadMac)
            );
        }
    }
}

#[test]
fn every_single_character_change_is_rejected() {
    let alphabet: Vec<char> = ('A'..='Z')
        .chain('a'..='z')
        .chain('0'..='9')
        .chain("-_+/=. \n\u{e9}".chars())
        .collect();
    for (plan, anchor) in scenarios(Direction::Desc) {
        let text = state(&plan, false, anchor).seal(&keys()).to_string();
        let chars: Vec<char> = text.chars().collect();
        for at in 0..chars.len() {
            for &c in alphabet.iter().filter(|c| **c != chars[at]) {
                let mut changed = chars.clone();
                changed[at] = c;
                let changed: String = changed.into_iter().collect();
                assert!(parse_and_open(&changed, &plan).is_err(), "{changed}");
            }
            let mut shorter = chars.clone();
            shorter.remove(at);
            let shorter: String = shorter.into_iter().collect();
            assert!(parse_and_open(&shorter, &plan).is_err(), "{shorter}");
        }
        assert!(parse_and_open(&format!("{text}A"), &plan).is_err());
    }
}

#[test]
fn envelope_fields_are_checked_in_order_each_with_its_own_variant() {
    let plan = oslo_plan(Direction::Asc);
    let valid = state(&plan, false, Anchor::Key(ikey("Oslo", 15, 3)));
    let check = |edit: &dyn Fn(&mut CursorState), expected: CursorError| {
        let mut forged = valid.clone();
        edit(&mut forged);
        assert_eq!(open(&forged.seal(&keys()), &plan), Err(expected));
    };
    check(&|s| s.database = *b"db-00002", CursorError::WrongDatabase);
    check(
        &|s| s.signature = PlanSignature([0x43; 16]),
        CursorError::WrongQuery,
    );
    check(
        &|s| s.direction = Direction::Desc,
        CursorError::WrongDirection {
            expected: Direction::Asc,
            found: Direction::Desc,
        },
    );
    check(
        &|s| s.kind = CursorKind::DataKey,
        CursorError::WrongKind {
            expected: CursorKind::IndexRange,
            found: CursorKind::DataKey,
        },
    );
    // Order: a token wrong in several ways reports the earliest check.
    check(
        &|s| {
            s.database = [0; 8];
            s.signature = PlanSignature([0; 16]);
        },
        CursorError::WrongDatabase,
    );
    check(
        &|s| {
            s.signature = PlanSignature([0; 16]);
            s.kind = CursorKind::Sorted;
        },
        CursorError::WrongQuery,
    );
    check(
        &|s| {
            s.kind = CursorKind::Sorted;
            s.anchor = Anchor::Key(ikey("Bergen", 1, 1));
        },
        CursorError::WrongKind {
            expected: CursorKind::IndexRange,
            found: CursorKind::Sorted,
        },
    );
    // A top-k plan is always traversed ascending.
    let topk = sorted_plan(AccessPath::FullScan);
    let mut desc = state(&topk, false, sorted_anchor(1.0, 1));
    desc.direction = Direction::Desc;
    assert!(matches!(
        open(&desc.seal(&keys()), &topk),
        Err(CursorError::WrongDirection { .. })
    ));

    // Fields no keyset ever writes, signed with the key.
    let raw = unsigned(&valid.seal(&keys()));
    for (at, value, what) in [
        (3, 9u8, "kind code 9"),
        (4, 2, "direction code 2"),
        (5, 0b1_0000, "flag"),
    ] {
        let mut forged = raw.clone();
        forged[at] = value;
        match open(&sign(forged), &plan) {
            Err(CursorError::Malformed { reason }) => assert!(reason.contains(what), "{reason}"),
            other => panic!("byte {at} = {value}: {other:?}"),
        }
    }
}

#[test]
fn index_anchors_must_belong_to_the_query_index() {
    let plan = oslo_plan(Direction::Asc);
    let index_key = |table, index, components: &[Value]| {
        Anchor::Key(RawIndexKey::encode(table, index, components, &[Value::Int(1)]).into_bytes())
    };
    let oslo_15 = [Value::from("Oslo"), Value::Int(15)];
    let cases = [
        (
            index_key(TABLE, BY_AGE, &oslo_15),
            CursorError::AnchorWrongIndex {
                expected: BY_CITY_AGE,
                found: BY_AGE,
            },
        ),
        (
            index_key(8, BY_CITY_AGE, &oslo_15),
            CursorError::AnchorWrongTable {
                expected: TABLE,
                found: 8,
            },
        ),
        (
            index_key(TABLE, BY_CITY_AGE, &[Value::from("Oslo")]),
            CursorError::AnchorWrongArity {
                expected: 2,
                found: 1,
            },
        ),
        (
            index_key(
                TABLE,
                BY_CITY_AGE,
                &[Value::from("Oslo"), Value::Int(15), Value::Null],
            ),
            CursorError::AnchorWrongArity {
                expected: 2,
                found: 3,
            },
        ),
        (
            Anchor::Key(dkey(15)),
            CursorError::AnchorWrongNamespace { found: 0 },
        ),
        (
            index_key(
                TABLE,
                BY_CITY_AGE,
                &[Value::from("Oslo"), Value::from("15")],
            ),
            CursorError::AnchorValueType {
                column: "age".into(),
                expected: ColumnType::Int,
                found: "TEXT",
            },
        ),
    ];
    for (anchor, expected) in cases {
        assert_eq!(
            open_minted(&plan, anchor.clone()),
            Err(expected),
            "{anchor:?}"
        );
    }
    let mut with_trailing = ikey("Oslo", 15, 3).to_vec();
    with_trailing.push(0x04);
    for bad in [vec![], vec![0x49, 0, 0], with_trailing] {
        assert!(matches!(
            open_minted(&plan, Anchor::Key(Bytes::from(bad))),
            Err(CursorError::AnchorMalformed { .. })
        ));
    }
}

#[test]
fn data_sorted_and_frontier_anchors_must_fit_the_table_and_plan() {
    let primary = primary_plan(Direction::Asc, Bound::Unbounded, Bound::Unbounded);
    let other_table = RawDataKey::encode(8, &[Value::Int(1)]).into_bytes();
    let two_columns = RawDataKey::encode(TABLE, &[Value::Int(1), Value::Int(2)]).into_bytes();
    let text_id = RawDataKey::encode(TABLE, &[Value::from("1")]).into_bytes();
    assert_eq!(
        open_minted(&primary, Anchor::Key(other_table.clone())),
        Err(CursorError::AnchorWrongTable {
            expected: TABLE,
            found: 8
        })
    );
    assert_eq!(
        open_minted(&primary, Anchor::Key(two_columns)),
        Err(CursorError::AnchorWrongArity {
            expected: 1,
            found: 2
        })
    );
    assert!(matches!(
        open_minted(&primary, Anchor::Key(text_id)),
        Err(CursorError::AnchorValueType { column, .. }) if column == "id"
    ));
    // An index key read as a data key: its namespace byte lands in the table id.
    assert_eq!(
        open_minted(
            &union_plan(Direction::Desc),
            Anchor::Key(ikey("Oslo", 15, 3))
        ),
        Err(CursorError::AnchorWrongTable {
            expected: TABLE,
            found: 0x4900_0000
        })
    );

    let topk = sorted_plan(AccessPath::FullScan);
    let sorted = |values: Vec<Value>, key: Bytes| Anchor::Sorted { values, key };
    assert!(matches!(
        open_minted(&topk, sorted(vec![Value::Float(1.0)], dkey(1))),
        Err(CursorError::AnchorMalformed { reason }) if reason.contains("ORDER BY")
    ));
    assert_eq!(
        open_minted(&topk, sorted(vec![Value::Int(1), Value::Int(1)], dkey(1))),
        Err(CursorError::AnchorValueType {
            column: "score".into(),
            expected: ColumnType::Float,
            found: "INT"
        })
    );
    assert!(open_minted(&topk, sorted(vec![Value::Null, Value::Int(1)], dkey(1))).is_ok());
    assert!(matches!(
        open_minted(
            &topk,
            sorted(vec![Value::Float(1.0), Value::Int(1)], other_table)
        ),
        Err(CursorError::AnchorWrongTable { .. })
    ));

    let frontier = frontier_plan(Direction::Asc);
    let three = Anchor::Frontier(vec![ShardPosition::Finished; 3]);
    assert!(matches!(
        open_minted(&frontier, three),
        Err(CursorError::AnchorMalformed { reason }) if reason.contains("shards")
    ));
    let mut routed = frontier.clone();
    routed.shards = ShardSet::Only(vec![2]);
    assert!(open_minted(&routed, Anchor::Frontier(vec![ShardPosition::NotStarted])).is_ok());
    let wrong_index = RawIndexKey::encode(TABLE, BY_AGE, &[Value::Int(15)], &[Value::Int(1)]);
    let positions = vec![
        ShardPosition::Finished,
        ShardPosition::Finished,
        ShardPosition::After(wrong_index.into_bytes()),
        ShardPosition::NotStarted,
    ];
    assert!(matches!(
        open_minted(&frontier, Anchor::Frontier(positions)),
        Err(CursorError::AnchorWrongIndex { .. })
    ));
}

#[test]
fn bytes_after_the_anchor_are_refused() {
    for (plan, anchor) in scenarios(Direction::Asc) {
        let mut raw = unsigned(&state(&plan, false, anchor).seal(&keys()));
        raw.push(0);
        match open(&sign(raw), &plan) {
            Err(CursorError::AnchorMalformed { reason }) => assert!(reason.contains("trailing")),
            other => panic!("{other:?}"),
        }
    }
    // A key length running past the MAC, and a varint that never ends.
    let plan = oslo_plan(Direction::Asc);
    let raw = unsigned(&state(&plan, false, Anchor::Key(ikey("Oslo", 15, 3))).seal(&keys()));
    let header = &raw[..30];
    for anchor in [vec![0x7f, 1, 2], vec![0xff; 11], vec![]] {
        let forged = [header, &anchor].concat();
        assert!(matches!(
            open(&sign(forged), &plan),
            Err(CursorError::AnchorMalformed { .. })
        ));
    }
}

#[test]
fn index_anchors_outside_the_original_bounds_are_refused() {
    use Bound::{Excluded, Included};
    // (lower, upper, anchors inside, anchors outside)
    let cases = [
        (
            Included(10),
            Excluded(20),
            vec![ikey("Oslo", 10, i64::MIN), ikey("Oslo", 19, i64::MAX)],
            vec![ikey("Oslo", 9, i64::MAX), ikey("Oslo", 20, i64::MIN)],
        ),
        (
            Excluded(10),
            Included(20),
            // The last key of the range is inside: it yields an empty page.
            vec![ikey("Oslo", 11, i64::MIN), ikey("Oslo", 20, i64::MAX)],
            vec![ikey("Oslo", 10, i64::MAX), ikey("Oslo", 21, i64::MIN)],
        ),
        (
            Bound::Unbounded,
            Bound::Unbounded,
            vec![ikey("Oslo", i64::MIN, 0), ikey("Oslo", i64::MAX, 0)],
            vec![
                ikey("Bergen", 15, 1),
                ikey("Oslo2", 15, 1),
                ikey("Osl", 15, 1),
            ],
        ),
    ];
    for (lower, upper, inside, outside) in cases {
        for direction in [Direction::Asc, Direction::Desc] {
            let plan = index_plan(direction, lower, upper);
            for key in &inside {
                assert!(
                    open_minted(&plan, Anchor::Key(key.clone())).is_ok(),
                    "{key:?}"
                );
            }
            for key in &outside {
                assert_eq!(
                    open_minted(&plan, Anchor::Key(key.clone())),
                    Err(CursorError::AnchorOutOfBounds),
                    "{lower:?}..{upper:?}: {key:?}"
                );
            }
        }
    }
    // A shard frontier is checked position by position.
    let frontier = frontier_plan(Direction::Asc);
    let mut positions = vec![ShardPosition::After(ikey("Oslo", 12, 1)); 4];
    assert!(open_minted(&frontier, Anchor::Frontier(positions.clone())).is_ok());
    positions[3] = ShardPosition::After(ikey("Oslo", 20, 1));
    assert_eq!(
        open_minted(&frontier, Anchor::Frontier(positions)),
        Err(CursorError::AnchorOutOfBounds)
    );
}

#[test]
fn data_anchors_outside_a_primary_range_are_refused() {
    use Bound::{Excluded, Included};
    let cases = [
        (Included(100), Included(200), [100, 200], [99, 201]),
        (Excluded(100), Excluded(200), [101, 199], [100, 200]),
    ];
    for (lower, upper, inside, outside) in cases {
        let plan = primary_plan(Direction::Desc, lower, upper);
        let topk = sorted_plan(AccessPath::PrimaryRange {
            prefix: vec![],
            lower: lower.map(Value::Int),
            upper: upper.map(Value::Int),
        });
        for id in inside {
            assert!(open_minted(&plan, Anchor::Key(dkey(id))).is_ok());
            assert!(open_minted(&topk, sorted_anchor(0.5, id)).is_ok());
        }
        for id in outside {
            let out = Err(CursorError::AnchorOutOfBounds);
            assert_eq!(open_minted(&plan, Anchor::Key(dkey(id))), out, "{id}");
            assert_eq!(open_minted(&topk, sorted_anchor(0.5, id)), out, "{id}");
        }
    }
    // Paths that bound no key range only need a data key of the table.
    for access in [
        AccessPath::FullScan,
        AccessPath::Empty,
        AccessPath::ByKeys(vec![vec![Value::Int(5)]]),
    ] {
        let p = plan(
            access,
            CursorKind::DataKey,
            OrderStrategy::Stream(Direction::Asc),
        );
        assert!(open_minted(&p, Anchor::Key(dkey(i64::MIN))).is_ok());
    }
}

#[test]
fn rotated_keys_are_accepted_only_while_listed() {
    let old = MacKey([1; 32]);
    let new = MacKey([2; 32]);
    let rotating = CursorKeys {
        current: new.clone(),
        accepted: vec![MacKey([3; 32]), old.clone()],
    };
    let plan = oslo_plan(Direction::Asc);
    let minted = state(&plan, false, Anchor::Key(ikey("Oslo", 15, 3)));
    let old_token = minted.seal(&CursorKeys::new(old.clone()));
    assert_eq!(
        open_cursor(&old_token, &rotating, DB, &plan),
        Ok(minted.clone())
    );
    assert_eq!(
        open_cursor(&old_token, &CursorKeys::new(new.clone()), DB, &plan),
        Err(CursorError::BadMac)
    );
    // New tokens are minted with `current` only.
    let new_token = minted.seal(&rotating);
    assert_eq!(new_token, minted.seal(&CursorKeys::new(new.clone())));
    assert!(open_cursor(&new_token, &CursorKeys::new(new), DB, &plan).is_ok());
    assert_eq!(
        open_cursor(&new_token, &CursorKeys::new(old), DB, &plan),
        Err(CursorError::BadMac)
    );
    let printed = format!("{rotating:?}");
    assert!(
        printed.contains("MacKey(") && !printed.contains("2, 2"),
        "{printed}"
    );
}

#[test]
fn garbage_text_is_refused_with_the_right_variant() {
    let plan = oslo_plan(Direction::Asc);
    let token = state(&plan, false, Anchor::Key(ikey("Oslo", 15, 3)))
        .seal(&keys())
        .to_string();
    assert_eq!(parse_and_open("", &plan), Err(CursorError::Empty));
    let huge = "A".repeat(9 * 1024);
    assert_eq!(
        parse_and_open(&huge, &plan),
        Err(CursorError::TooLarge {
            len: 9 * 1024,
            max: MAX_CURSOR_BYTES
        })
    );
    for text in [
        "not a cursor",
        "S1M=",
        &format!("{token}="),
        &format!("{token}=="),
        "AB+D",
        "AB/D",
        &format!(" {token}"),
        "\u{1F600}",
    ] {
        if text != token {
            assert_eq!(
                parse_and_open(text, &plan),
                Err(CursorError::NotBase64),
                "{text}"
            );
        }
    }
    // Valid base64 of bytes that are not a keyset cursor.
    let noise: Vec<u8> = (0u32..64)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_ne!(&noise[..2], b"KS");
    assert_eq!(
        parse_and_open(&encode(&noise), &plan),
        Err(CursorError::BadMagic)
    );
    assert_eq!(
        parse_and_open(&encode(&[b"KS".as_slice(), &[9], &noise].concat()), &plan),
        Err(CursorError::UnsupportedVersion { found: 9 })
    );
    for short in [
        &b"K"[..],
        b"KS",
        b"KS\x02",
        &[b"KS\x02".as_slice(), &noise[..40]].concat(),
    ] {
        assert_eq!(
            parse_and_open(&encode(short), &plan),
            Err(CursorError::Truncated)
        );
    }
}

#[test]
fn oversized_anchors_are_refused_when_minting_with_try_seal() {
    let topk = sorted_plan(AccessPath::FullScan);
    // Scores are floats; a long text ORDER BY value needs a text column.
    let mut by_city = topk.clone();
    by_city.order = order(&[(1, SortDirection::Asc), (0, SortDirection::Asc)]);
    let long = Anchor::Sorted {
        values: vec![Value::from("x".repeat(7000)), Value::Int(1)],
        key: dkey(1),
    };
    let minted = state(&by_city, false, long);
    assert!(matches!(
        minted.try_seal(&keys()),
        Err(CursorError::TooLarge { .. })
    ));
    assert!(matches!(
        open(&minted.seal(&keys()), &by_city),
        Err(CursorError::TooLarge { .. })
    ));
    assert!(state(&topk, false, sorted_anchor(1.0, 1))
        .try_seal(&keys())
        .is_ok());
}

fn cases() -> u32 {
    if std::env::var_os("KEYSET_LONG_TESTS").is_some() {
        2048
    } else {
        64
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_text_never_opens_and_never_panics(
        text in prop_oneof![".{0,300}", "[A-Za-z0-9_-]{0,400}", "S1MB[A-Za-z0-9_-]{40,200}"],
        which in 0usize..5,
    ) {
        let (plan, _) = scenarios(Direction::Asc).swap_remove(which);
        prop_assert!(parse_and_open(&text, &plan).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_open_and_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..400),
        envelope_like in any::<bool>(),
        which in 0usize..5,
    ) {
        let (plan, _) = scenarios(Direction::Desc).swap_remove(which);
        let bytes = if envelope_like {
            // Past magic and version, so the MAC check is what refuses it.
            [b"KS\x02".as_slice(), &body].concat()
        } else {
            body
        };
        prop_assert!(parse_and_open(&encode(&bytes), &plan).is_err());
    }

    #[test]
    fn only_the_minted_bytes_open(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        extra in proptest::collection::vec(any::<u8>(), 0..3),
    ) {
        let (plan, anchor) = scenarios(Direction::Desc).swap_remove(which);
        let minted = state(&plan, false, anchor);
        let original = token_bytes(&minted.seal(&keys()));
        let mut bytes = original.clone();
        for (at, value) in edits {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        bytes.extend_from_slice(&extra);
        let opened = parse_and_open(&encode(&bytes), &plan);
        if bytes == original {
            prop_assert_eq!(opened, Ok(minted));
        } else {
            prop_assert!(opened.is_err());
        }
    }
}
