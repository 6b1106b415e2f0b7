//! Fuzz target `cursor`: arbitrary tokens handed to cursor validation
//! (`Cursor::from_str`, `open_cursor`) for fixed plans of a fixed database.
//!
//! Input: byte 0 picks the plan, byte 1 the mode, the rest is the token:
//! - mode 0: the bytes as token text (UTF-8);
//! - mode 1: the bytes base64url-encoded into a token;
//! - mode 2: the bytes signed here with the fixture's MAC key, then
//!   encoded: a token that passes the MAC, so the checks behind it (database,
//!   signature, kind, direction, anchor identity and bounds) see arbitrary
//!   input; this stands for a leaked key or a bug in an older minting build.
//!
//! Asserts: nothing panics; in modes 0 and 1 a token is accepted if and only
//! if it is byte for byte a token the engine minted for that plan, and a
//! minted token runs its page without error; in mode 2 the page of an
//! accepted token may still refuse it, with a cursor error only (never an
//! internal error). Every page's rows are a run of consecutive rows of the
//! unpaged result (any rows of it, without repeats, for the unordered
//! shard merge).
#![no_main]

use std::collections::BTreeSet;
use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keyset::Cursor;
use keyset_executor::open_cursor;
use keyset_fuzz::cursor_fixture::{cursor_fixture, ids_of, FixturePlan, MAC_LEN, PAGE};
use libfuzzer_sys::fuzz_target;

/// `bytes` followed by their MAC under the fixture's key, as a token text.
fn signed(bytes: &[u8]) -> String {
    let mac = blake3::keyed_hash(&cursor_fixture().ctx.keys.current.0, bytes);
    let mut token = bytes.to_vec();
    token.extend_from_slice(&mac.as_bytes()[..MAC_LEN]);
    URL_SAFE_NO_PAD.encode(token)
}

fn check_page(fixture: &FixturePlan, ids: &[i64]) {
    assert!(
        ids.len() <= PAGE,
        "a page of {} rows, limit {PAGE}",
        ids.len()
    );
    let distinct: BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len(), "a page repeats a row: {ids:?}");
    let Some(first) = ids.first() else {
        return;
    };
    let Some(at) = fixture.ids.iter().position(|id| id == first) else {
        panic!("plan `{}`: row {first} is not in the result", fixture.name);
    };
    if fixture.ordered {
        assert_eq!(
            fixture.ids.get(at..at + ids.len()),
            Some(ids),
            "plan `{}`: the page is not a run of the result {:?}",
            fixture.name,
            fixture.ids
        );
    } else {
        for id in ids {
            assert!(
                fixture.ids.contains(id),
                "plan `{}`: row {id}",
                fixture.name
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    keyset_fuzz::seeds::write_if_asked("cursor");
    let [which, mode, token @ ..] = data else {
        return;
    };
    let fx = cursor_fixture();
    let fixture = &fx.plans[usize::from(*which) % fx.plans.len()];
    let (text, forged) = match mode % 3 {
        0 => match std::str::from_utf8(token) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => return,
        },
        1 => (URL_SAFE_NO_PAD.encode(token), false),
        _ => (signed(token), true),
    };
    let minted = fixture.minted.contains(&text);
    let cursor = match Cursor::from_str(&text) {
        Ok(cursor) => cursor,
        Err(error) => {
            assert!(!minted, "a minted token does not parse: {error}");
            return;
        }
    };
    let opened = open_cursor(&cursor, &fx.ctx.keys, fx.ctx.database, &fixture.plan);
    if !forged {
        assert_eq!(
            opened.is_ok(),
            minted,
            "plan `{}`: token {text:?} accepted: {}, minted: {minted} ({opened:?})",
            fixture.name,
            opened.is_ok()
        );
    }
    if opened.is_err() {
        return;
    }
    match fx.db.page_in(&fixture.plan, Some(&cursor), &fx.ctx) {
        Ok(page) => check_page(fixture, &ids_of(&page)),
        // A token signed here may still be one the page refuses for what
        // its plan cannot do (for example a backward token for the unordered
        // merge): a cursor error, as DESIGN.md section 6 asks.
        Err(keyset::Error::InvalidCursor(_)) if forged => {}
        Err(error) => panic!(
            "plan `{}`: an accepted token fails its page: {error}",
            fixture.name
        ),
    }
});
