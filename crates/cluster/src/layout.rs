//! Key names in the cluster (documented in `docs/cluster.md`). Every key of
//! one shard carries the hash tag `{ks:<db>:<table id>:<shard>}`, so the
//! shard lives in one slot and its scripts may touch all of its keys.

use keyset_store::{IndexId, MapId, TableId};

use crate::slot::slot_of;

/// The catalog hash of database `db`: fields `catalog`, `version`, `mac`,
/// `id`.
pub fn catalog_key(db: &str) -> Vec<u8> {
    format!("{{ks:{db}}}:catalog").into_bytes()
}

/// The keys of one shard of one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardKeys {
    tag: String,
}

impl ShardKeys {
    pub fn new(db: &str, table: TableId, shard: usize) -> ShardKeys {
        ShardKeys {
            tag: format!("{{ks:{db}:{table}:{shard}}}"),
        }
    }

    fn key(&self, suffix: &str) -> Vec<u8> {
        format!("{}:{suffix}", self.tag).into_bytes()
    }

    /// The slot every key of the shard hashes to.
    pub fn slot(&self) -> u16 {
        slot_of(self.tag.as_bytes())
    }

    /// Sorted set of the shard's raw data keys, at score 0.
    pub fn data(&self) -> Vec<u8> {
        self.key("d")
    }

    /// Sorted set of one index's raw index keys, at score 0.
    pub fn index(&self, index: IndexId) -> Vec<u8> {
        self.key(&format!("i:{index}"))
    }

    /// The sorted set of `map`.
    pub fn map(&self, map: MapId) -> Vec<u8> {
        match map {
            MapId::Data => self.data(),
            MapId::Index(index) => self.index(index),
        }
    }

    /// Hash raw data key -> encoded row.
    pub fn rows(&self) -> Vec<u8> {
        self.key("rows")
    }

    /// Hash raw index key -> raw data key, for every index of the shard.
    pub fn refs(&self) -> Vec<u8> {
        self.key("ref")
    }

    /// Hash raw data key -> the row's current key in one index.
    pub fn index_of_row(&self, index: IndexId) -> Vec<u8> {
        self.key(&format!("ik:{index}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_shard_is_in_its_slot() {
        let shard = ShardKeys::new("app", 7, 3);
        assert_eq!(shard.data(), b"{ks:app:7:3}:d".to_vec());
        assert_eq!(shard.index(2), b"{ks:app:7:3}:i:2".to_vec());
        for key in [
            shard.data(),
            shard.index(9),
            shard.rows(),
            shard.refs(),
            shard.index_of_row(9),
        ] {
            assert_eq!(slot_of(&key), shard.slot());
        }
        assert_ne!(ShardKeys::new("app", 7, 4).slot(), shard.slot());
    }
}
