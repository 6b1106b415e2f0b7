//! Cursors: the tamper-proof continuation token of DESIGN.md section 6, its
//! validation against the plan being resumed, and the minting of a page's
//! tokens from stream positions (`mint.rs`).
//!
//! This module owns the token's bytes, its MAC and every check of a resumed
//! token; it never reads rows or keys from the store. Dependencies run one
//! way: streams know nothing of pages or minting, pages use streams and
//! mint through here, and minting reads only stream positions (`KeySpace`,
//! sort-buffer progress), never a page.

mod collecting;
mod error;
mod mint;
mod pass;
mod pass_checks;
mod token;
mod validate;

use std::fmt;

use bytes::Bytes;
use keyset_plan::{CursorKind, PlanSignature};
use keyset_store::{Direction, Value};

pub(crate) use collecting::fit_collecting;
pub use collecting::{CarriedBuffer, Collecting};
pub use error::CursorError;
pub(crate) use mint::{countable, Minter, Start};
pub(crate) use pass::fit_pass;
pub use pass::{SortedPass, SortedRow};
pub use token::Cursor;
pub use validate::{open_cursor, plan_direction};

/// Longest token text accepted, in characters (bytes of base64url text).
pub const MAX_CURSOR_BYTES: usize = 8 * 1024;
/// The token format this build writes and reads (2: the snapshot flag and
/// `seq`; the pass and skip flags moved to bits 2 and 3).
pub const CURSOR_VERSION: u8 = 2;

/// A 32-byte key for the cursor MAC (keyed BLAKE3).
#[derive(Clone)]
pub struct MacKey(pub [u8; 32]);

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<secret>)")
    }
}

/// The keys a database signs and checks cursors with.
#[derive(Clone, Debug)]
pub struct CursorKeys {
    /// Every new token is minted with this key.
    pub current: MacKey,
    /// Older keys whose tokens are still accepted during a key rotation.
    pub accepted: Vec<MacKey>,
}

impl CursorKeys {
    /// Keys with no older key accepted.
    pub fn new(current: MacKey) -> CursorKeys {
        CursorKeys {
            current,
            accepted: Vec::new(),
        }
    }

    /// Every key a token may be signed with: `current` first, then `accepted`.
    pub fn verifying(&self) -> impl Iterator<Item = &MacKey> {
        std::iter::once(&self.current).chain(self.accepted.iter())
    }
}

/// One shard's entry in a shard frontier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShardPosition {
    /// Nothing of this shard has been returned yet.
    NotStarted,
    /// Resume this shard strictly after this key (a raw index or data key,
    /// like [`Anchor::Key`] of the plan's leaf).
    After(Bytes),
    /// This shard has nothing more to give.
    Finished,
}

/// Where a traversal resumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// `IndexRange` kind: a `RawIndexKey`; `DataKey` kind: a `RawDataKey`.
    Key(Bytes),
    /// `Sorted` kind: the ORDER BY values of the last row (one per
    /// `Plan::order` term, in order) and its `RawDataKey`.
    Sorted { values: Vec<Value>, key: Bytes },
    /// `ShardFrontier` kind: one entry per shard the plan touches, in shard
    /// order.
    Frontier(Vec<ShardPosition>),
    /// `IndexRange` or `DataKey` kind: a first page that a budget stopped
    /// while it skipped OFFSET rows. Resume strictly after `key` (like
    /// [`Anchor::Key`]) and skip `offset_left` (at least 1) more rows.
    KeySkip { key: Bytes, offset_left: u64 },
    /// `ShardFrontier` kind: a first page that a budget stopped while it
    /// skipped OFFSET rows. Resume every shard from its position (like
    /// [`Anchor::Frontier`]) and skip `offset_left` (at least 1) more rows.
    FrontierSkip {
        positions: Vec<ShardPosition>,
        offset_left: u64,
    },
    /// `Sorted` kind: the progress of a top-k pass that a budget, the
    /// deadline or a cancellation spread over several pages (see
    /// [`SortedPass`]).
    SortedPass(Box<SortedPass>),
    /// `DataKey` kind: a page of a union or intersection that a budget,
    /// the deadline or a cancellation stopped while its sort buffers
    /// collected, before it consumed a key (see [`Collecting`]).
    Collecting(Box<Collecting>),
}

/// Everything a cursor token carries, in the clear (the token is signed, not
/// encrypted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorState {
    pub kind: CursorKind,
    /// The plan's traversal direction (`Stream(dir)` -> `dir`; top-k -> `Asc`).
    pub direction: Direction,
    /// A `prev` cursor: the next page is the one before the anchor.
    pub backward: bool,
    pub signature: PlanSignature,
    pub database: [u8; 8],
    /// The `seq` of a snapshot traversal: every page reads the view at it.
    pub snapshot: Option<u64>,
    pub anchor: Anchor,
}

impl CursorState {
    /// Encodes and signs the state with `keys.current`.
    ///
    /// The token may exceed [`MAX_CURSOR_BYTES`] when the anchor is huge (a
    /// long ORDER BY text value, a frontier over many shards); such a token
    /// is refused by [`open_cursor`]. Use [`CursorState::try_seal`] to learn
    /// that when minting.
    pub fn seal(&self, keys: &CursorKeys) -> Cursor {
        token::seal(self, &keys.current)
    }

    /// Like [`CursorState::seal`], but refuses to mint a token that
    /// [`open_cursor`] would refuse for its size.
    pub fn try_seal(&self, keys: &CursorKeys) -> Result<Cursor, CursorError> {
        let cursor = self.seal(keys);
        let len = cursor.as_str().len();
        if len > MAX_CURSOR_BYTES {
            return Err(CursorError::TooLarge {
                len,
                max: MAX_CURSOR_BYTES,
            });
        }
        Ok(cursor)
    }
}
