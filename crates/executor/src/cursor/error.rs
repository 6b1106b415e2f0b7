//! `CursorError`: every way a continuation token can be refused, one variant
//! per check of DESIGN.md section 6, each naming what was wrong. It owns the
//! messages only; the checks themselves live in `token.rs` and `validate.rs`.

use keyset_plan::CursorKind;
use keyset_store::{ColumnType, Direction, IndexId, TableId};

/// Why a cursor token was refused. Every variant means the token cannot
/// resume this query; the remedy is almost always to run the query again
/// without a cursor (from its first page).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// The token text is empty.
    #[error("the cursor is empty: pass no cursor to get the first page")]
    Empty,
    /// The token text is longer than any token keyset issues.
    #[error("the cursor is {len} characters long; a cursor is at most {max}")]
    TooLarge { len: usize, max: usize },
    /// The text is not unpadded base64url.
    #[error(
        "the cursor is not a keyset cursor: it is not base64url text \
         (letters, digits, '-' and '_', no '=' padding)"
    )]
    NotBase64,
    /// The decoded bytes do not start with the cursor magic `KS`.
    #[error("the cursor is not a keyset cursor (it does not start with the keyset marker)")]
    BadMagic,
    /// A cursor format this build does not read.
    #[error("the cursor has format version {found}; this keyset reads version {supported}", supported = super::CURSOR_VERSION)]
    UnsupportedVersion { found: u8 },
    /// Too few bytes to hold the fixed envelope and the MAC.
    #[error("the cursor is cut short: it is too small to hold a keyset cursor")]
    Truncated,
    /// The MAC matches none of the accepted keys: the token was altered, or
    /// was issued under a key this database no longer accepts.
    #[error(
        "the cursor was altered or was issued under a key this database no longer accepts \
         (its authentication code does not match)"
    )]
    BadMac,
    /// The token was issued by another database.
    #[error("this cursor was issued by a different database")]
    WrongDatabase,
    /// The token belongs to a different query (or the table's schema changed).
    #[error(
        "this cursor belongs to a different query (or the table's schema changed since it was issued)"
    )]
    WrongQuery,
    /// The token anchors on another kind of position than this query uses.
    #[error(
        "this cursor holds a {} position but the query resumes from a {} position",
        .found.name(),
        .expected.name()
    )]
    WrongKind {
        expected: CursorKind,
        found: CursorKind,
    },
    /// The token pages in the other direction.
    #[error(
        "this cursor pages in {} order but the query reads in {} order",
        direction_name(*.found),
        direction_name(*.expected)
    )]
    WrongDirection {
        expected: Direction,
        found: Direction,
    },
    /// An envelope field holds a value no keyset ever writes.
    #[error("the cursor is malformed: {reason}")]
    Malformed { reason: String },
    /// The anchor bytes cannot be decoded as the query's key type.
    #[error("the cursor's position is malformed: {reason}")]
    AnchorMalformed { reason: String },
    /// The anchor is a key of another table.
    #[error(
        "the cursor's position belongs to table id {found}, not to the query's table id {expected}"
    )]
    AnchorWrongTable { expected: TableId, found: TableId },
    /// The anchor is a key of another index.
    #[error(
        "the cursor's position belongs to index id {found}, not to the query's index id {expected}"
    )]
    AnchorWrongIndex { expected: IndexId, found: IndexId },
    /// The anchor is not an index key.
    #[error("the cursor's position is not an index key (namespace byte {found:#04x})")]
    AnchorWrongNamespace { found: u8 },
    /// The anchor has another number of key components than the index or
    /// primary key it should belong to.
    #[error("the cursor's position has {found} key columns; the query's key has {expected}")]
    AnchorWrongArity { expected: usize, found: usize },
    /// A value of the anchor does not have its column's type.
    #[error(
        "the cursor's position holds a {found} value for column `{column}` of type {expected}"
    )]
    AnchorValueType {
        column: String,
        expected: ColumnType,
        found: &'static str,
    },
    /// The anchor lies outside the query's range (prefix, lower, upper).
    #[error("the cursor's position lies outside the range this query reads")]
    AnchorOutOfBounds,
    /// A state a budget leaves in a cursor (OFFSET rows still to skip, a
    /// top-k pass cut short) that no page writes.
    #[error("the cursor's resume state is inconsistent: {reason}")]
    InconsistentState { reason: String },
    /// A row a top-k pass carries does not come after the row the pass
    /// resumes from, in the query's order.
    #[error(
        "the cursor's top-k pass carries a row (number {row}) that does not come after the row \
         the pass resumes from"
    )]
    PassRowNotAfterAnchor { row: usize },
    /// The rows a top-k pass carries are not strictly in the query's order.
    #[error(
        "the cursor's top-k pass carries its rows out of order (row {row} does not come after \
         the row before it)"
    )]
    PassRowsOutOfOrder { row: usize },
    /// A snapshot traversal's cursor given to a live query.
    #[error(
        "the cursor belongs to a snapshot traversal and cannot resume a live one: resume it \
         on the snapshot (or WITH (consistency = 'snapshot')), or start the live query again"
    )]
    SnapshotOnLive,
    /// A live cursor given to a snapshot traversal.
    #[error(
        "the cursor belongs to a live traversal and cannot resume a snapshot one: start the \
         snapshot traversal from its first page"
    )]
    LiveOnSnapshot,
    /// A snapshot cursor resumed on another snapshot.
    #[error("the cursor reads the snapshot at seq {cursor}, not this one (seq {page})")]
    SnapshotMismatch { cursor: u64, page: u64 },
    /// The snapshot a cursor reads was released or expired under the
    /// retention limit, so the versions it needs may be gone.
    #[error("the cursor's snapshot (seq {seq}) is no longer held: {why}; start the traversal again, or continue it live")]
    SnapshotExpired { seq: u64, why: String },
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Asc => "ascending",
        Direction::Desc => "descending",
    }
}
