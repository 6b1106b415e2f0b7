//! `ClusterSource`: the `ChunkSource` of tables held in the cluster. A
//! chunk is one `EVALSHA` of the chunk script on the shard's node (one
//! round trip): the range of the map's sorted set and the rows of its keys.

use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use keyset_store::bin::Reader;
use keyset_store::row::decode_row;
use keyset_store::{ChunkSource, Direction, MapAt, MapId, Row, RowRef, SourceError, TableId};
use redis::Value;

use crate::layout::ShardKeys;
use crate::router::{Resend, Router};
use crate::scripts::{Lua, CHUNK};

/// Most keys one chunk script returns (Lua's `unpack` has a stack limit);
/// a larger chunk is read in several calls.
const MAX_SCRIPT_CHUNK: usize = 4000;

/// Reads the shards of one database's tables from the cluster.
#[derive(Debug)]
pub struct ClusterSource {
    router: Arc<Router>,
    database: String,
    chunk: Lua,
}

impl ClusterSource {
    pub fn new(router: Arc<Router>, database: &str) -> ClusterSource {
        ClusterSource {
            router,
            database: database.to_owned(),
            chunk: Lua::new(CHUNK),
        }
    }

    fn one_chunk(
        &self,
        at: MapAt,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(Bytes, RowRef)>, SourceError> {
        let keys = ShardKeys::new(&self.database, at.table, at.shard);
        let min = lex(lower, b'-');
        let max = lex(upper, b'+');
        let desc = if direction == Direction::Desc {
            "1"
        } else {
            "0"
        };
        let index = if matches!(at.map, MapId::Index(_)) {
            "1"
        } else {
            "0"
        };
        let script_keys = [keys.map(at.map), keys.rows(), keys.refs()];
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha.arg(&self.chunk.sha);
        let mut eval = redis::cmd("EVAL");
        eval.arg(self.chunk.text);
        for cmd in [&mut evalsha, &mut eval] {
            cmd.arg(script_keys.len())
                .arg(&script_keys[..])
                .arg(&min)
                .arg(&max)
                .arg(desc)
                .arg(limit)
                .arg(index);
        }
        let answer = self
            .router
            .call(keys.slot(), &evalsha, Some(&eval), Resend::Always)?;
        decode_chunk(answer)
    }
}

/// A bound as `ZRANGE ... BYLEX` takes it.
fn lex(bound: Bound<&[u8]>, open: u8) -> Vec<u8> {
    match bound {
        Bound::Unbounded => vec![open],
        Bound::Included(b) => [b"[".as_slice(), b].concat(),
        Bound::Excluded(b) => [b"(".as_slice(), b].concat(),
    }
}

fn corrupt(what: &str) -> SourceError {
    SourceError::Corrupt(what.to_owned())
}

fn decode_chunk(answer: Value) -> Result<Vec<(Bytes, RowRef)>, SourceError> {
    let Value::Array(mut parts) = answer else {
        return Err(corrupt(
            "the chunk script answered something that is not a list",
        ));
    };
    let (Some(Value::Array(rows)), Some(Value::Array(members))) = (parts.pop(), parts.pop()) else {
        return Err(corrupt("the chunk script answered without keys and rows"));
    };
    if rows.len() != members.len() {
        return Err(corrupt("a chunk with a different number of keys and rows"));
    }
    members
        .into_iter()
        .zip(rows)
        .map(|(member, row)| match (member, row) {
            (Value::BulkString(key), Value::BulkString(row)) => {
                Ok((Bytes::from(key), Arc::new(decode(&row)?)))
            }
            (Value::BulkString(_), _) => Err(corrupt("a key in a shard's set without its row")),
            _ => Err(corrupt("a member of a shard's set that is not a string")),
        })
        .collect()
}

/// A row as the write script stored it.
pub(crate) fn decode(bytes: &[u8]) -> Result<Row, SourceError> {
    let mut reader = Reader::new(bytes);
    decode_row(&mut reader)
        .map(Row::new)
        .map_err(|e| SourceError::Corrupt(format!("a row does not decode: {e}")))
}

impl ChunkSource for ClusterSource {
    fn chunk(
        &self,
        at: MapAt,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(Bytes, RowRef)>, SourceError> {
        let mut out = self.one_chunk(at, lower, upper, direction, limit.min(MAX_SCRIPT_CHUNK))?;
        // A chunk larger than one script returns: go on from the last key.
        while out.len() < limit && out.len() % MAX_SCRIPT_CHUNK == 0 && !out.is_empty() {
            let last = out.last().map(|(k, _)| k.clone()).unwrap_or_default();
            let (lo, hi) = match direction {
                Direction::Asc => (Bound::Excluded(&last[..]), upper),
                Direction::Desc => (lower, Bound::Excluded(&last[..])),
            };
            let more = self.one_chunk(
                at,
                lo,
                hi,
                direction,
                (limit - out.len()).min(MAX_SCRIPT_CHUNK),
            )?;
            let done = more.len() < MAX_SCRIPT_CHUNK;
            out.extend(more);
            if done {
                break;
            }
        }
        Ok(out)
    }

    fn get(&self, table: TableId, shard: usize, key: &[u8]) -> Result<Option<RowRef>, SourceError> {
        let keys = ShardKeys::new(&self.database, table, shard);
        let mut cmd = redis::cmd("HGET");
        cmd.arg(keys.rows()).arg(key);
        match self.router.call(keys.slot(), &cmd, None, Resend::Always)? {
            Value::Nil => Ok(None),
            Value::BulkString(row) => Ok(Some(Arc::new(decode(&row)?))),
            _ => Err(corrupt("a row that is not a string")),
        }
    }
}
