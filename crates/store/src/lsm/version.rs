//! Versions: what every map of the versioned store holds. A version is a
//! raw key, the `seq` of the batch that wrote it, and an entry (the row, or
//! a tombstone). Versions order by key ascending, then `seq` descending, so
//! a key's newest version comes first: the order `raw key | !seq` has under
//! memcmp, kept here as a type so that no code relies on raw keys being
//! prefix-free to get it.

use std::cmp::Ordering;

use bytes::Bytes;

use crate::row::RowRef;

/// A batch's sequence number. Every committed batch gets the next one.
pub type Seq = u64;

/// The view that sees every version applied so far, for the commit path
/// (validation and index maintenance run under the commit lock).
pub const LATEST: Seq = Seq::MAX;

/// The `seq` of a transaction's own, uncommitted writes in its overlay:
/// above every committed `seq`, and always visible to the transaction.
pub const OVERLAY_SEQ: Seq = Seq::MAX - 1;

/// A version's payload: the row, or `None` for a tombstone (the key was
/// deleted at that `seq`).
pub type Entry = Option<RowRef>;

/// A raw key at one `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VersionKey {
    pub key: Bytes,
    pub seq: Seq,
}

impl VersionKey {
    pub fn new(key: Bytes, seq: Seq) -> VersionKey {
        VersionKey { key, seq }
    }

    /// The smallest version of `key`: it sorts before every real version.
    pub fn first_of(key: Bytes) -> VersionKey {
        VersionKey { key, seq: Seq::MAX }
    }

    /// The largest version of `key`: it sorts after every real version.
    pub fn last_of(key: Bytes) -> VersionKey {
        VersionKey { key, seq: 0 }
    }
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key
            .cmp(&other.key)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The heap bytes one version is charged in a memtable's size: its key
/// plus a fixed share for the skiplist node, `seq` and entry pointer.
pub(crate) fn charged_bytes(key_len: usize) -> usize {
    const NODE_OVERHEAD: usize = 64;
    key_len + NODE_OVERHEAD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_a_key_order_newest_first_and_keys_ascending() {
        let k = |s: &'static [u8], seq| VersionKey::new(Bytes::from_static(s), seq);
        let mut v = vec![k(b"b", 1), k(b"a", 1), k(b"a", 7), k(b"ab", 3)];
        v.sort();
        assert_eq!(v, vec![k(b"a", 7), k(b"a", 1), k(b"ab", 3), k(b"b", 1)]);
        assert!(VersionKey::first_of(Bytes::from_static(b"a")) < k(b"a", 7));
        assert!(VersionKey::last_of(Bytes::from_static(b"a")) > k(b"a", 1));
        assert!(VersionKey::last_of(Bytes::from_static(b"a")) < k(b"ab", 9));
    }
}
