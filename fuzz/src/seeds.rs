//! Writes the seed corpora that must come from the engine itself: tokens it
//! minted (`cursor`) and real keys, rows and a catalog (`key_codec`). A
//! target calls [`write_if_asked`] on every input; it does something only
//! once, and only when `KEYSET_FUZZ_WRITE_SEEDS` names a directory (the
//! corpus root, e.g. `fuzz/corpus`). See `docs/fuzzing.md`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Once;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keyset_store::row::encode_row;

use crate::cursor_fixture::{cursor_fixture, MAC_LEN};

/// The variable that asks for seeds.
pub const SEEDS_VAR: &str = "KEYSET_FUZZ_WRITE_SEEDS";
/// Tokens written per plan and mode.
const TOKENS_PER_PLAN: usize = 2;

/// Writes `target`'s seeds under `$KEYSET_FUZZ_WRITE_SEEDS/<target>/`, once.
pub fn write_if_asked(target: &str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Some(root) = std::env::var_os(SEEDS_VAR) else {
            return;
        };
        let dir = PathBuf::from(root).join(target);
        fs::create_dir_all(&dir).expect("create the seed directory");
        match target {
            "cursor" => cursor_seeds(&dir),
            "key_codec" => key_codec_seeds(&dir),
            other => panic!("no engine-made seeds for target `{other}`"),
        }
        eprintln!("wrote seeds to {}", dir.display());
    });
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).expect("write a seed");
}

/// Per plan: minted tokens as text (mode 0), as bytes to be encoded
/// (mode 1), and without their MAC, to be signed (mode 2). The unordered
/// merge gets mode 2 only: its tokens vary from run to run, so a token of
/// another run, valid but not minted in this one, would look forged.
fn cursor_seeds(dir: &Path) {
    let fx = cursor_fixture();
    for (p, plan) in fx.plans.iter().enumerate() {
        let which = u8::try_from(p).expect("a few plans");
        for (t, token) in plan.minted.iter().take(TOKENS_PER_PLAN).enumerate() {
            let bytes = URL_SAFE_NO_PAD
                .decode(token)
                .expect("a minted token is base64url");
            let unsigned = &bytes[..bytes.len() - MAC_LEN];
            for (mode, body) in [(0u8, token.as_bytes()), (1, &bytes[..]), (2, unsigned)] {
                if mode < 2 && !plan.ordered {
                    continue;
                }
                let mut seed = vec![which, mode];
                seed.extend_from_slice(body);
                write(dir, &format!("plan{p}-token{t}-mode{mode}"), &seed);
            }
        }
    }
}

/// Real data keys, index keys, rows and the catalog of the cursor
/// fixture's table, behind mode 0 (decode) and its arity byte.
fn key_codec_seeds(dir: &Path) {
    let fx = cursor_fixture();
    let view = fx.db.store().read();
    let table = view.table("items").expect("the fixture table");
    let shard = &table.shard_views()[0];
    let decode = |arity: u8, bytes: &[u8]| {
        let mut seed = vec![0u8, arity];
        seed.extend_from_slice(bytes);
        seed
    };
    for (i, (key, row)) in shard.data().iter().take(3).enumerate() {
        write(dir, &format!("data-key{i}"), &decode(1, &key));
        let mut encoded = Vec::new();
        encode_row(row.values(), &mut encoded);
        write(dir, &format!("row{i}"), &decode(1, &encoded));
    }
    for index in &table.def().indexes {
        let map = shard.index(index.id).expect("every index has a map");
        if let Some((key, _)) = map.iter().next() {
            write(dir, &format!("index-key-{}", index.name), &decode(1, &key));
        }
    }
    let mut catalog = Vec::new();
    view.catalog().encode(&mut catalog);
    write(dir, "catalog", &decode(1, &catalog));
    // Mode 1 (tuples) reads any bytes; a few shapes to start from.
    write(dir, "tuples-small", &[1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    write(
        dir,
        "tuples-text",
        b"\x01\x03\x01\x03\x01a\x00b\x00\xff\x00\x00ab",
    );
}
