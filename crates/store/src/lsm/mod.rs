//! The versioned, log-structured layout of every map (DESIGN section 3):
//! versions (`version`), the mutable head (`memtable`), immutable sorted
//! runs (`run`), one map's sources at a moment (`layers`), the merging
//! cursor a page reads through (`cursor`), which versions survive a
//! rewrite (`compaction`) and the views held beyond a page (`pins`).
//!
//! This module knows raw keys, `seq`s and entries; tables, indexes and the
//! commit path live in `table` and `store`.

pub mod compaction;
pub mod cursor;
pub mod layers;
pub mod memtable;
pub mod pins;
pub mod run;
pub mod version;

pub use cursor::MapCursor;
pub use layers::{MapCounts, VersionedMap};
pub use memtable::Memtable;
pub use pins::{PinHandle, PinLost, PinRegistry, Retention};
pub use run::{Run, RunBuilder};
pub use version::{Entry, Seq, VersionKey, LATEST, OVERLAY_SEQ};
