//! Between stream positions and cursors: where a validated cursor makes a
//! page start, and the `next`/`prev` tokens a page hands out. Positions in
//! primary-key order become `RawDataKey` anchors (table id + primary key),
//! index positions are `RawIndexKey` anchors as they are. Validation of a
//! token is `validate.rs`'s job, never this module's. Pages (`crate::page`,
//! `crate::page::topk`) call in here; nothing here calls a page.

use std::collections::BTreeMap;

use bytes::Bytes;
use keyset_plan::{CursorKind, Plan};
use keyset_store::key::DATA_HEADER_LEN;
use keyset_store::{RawDataKey, TableStore};

use super::{
    fit_collecting, plan_direction, Anchor, CarriedBuffer, Collecting, Cursor, CursorError,
    CursorState, ShardPosition,
};
use crate::context::ExecContext;
use crate::error::ExecError;
use crate::stream::build::KeySpace;
use crate::stream::sorted_buffer::BufferProgress;

/// Where a streaming page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// At the first key of the traversal.
    Beginning,
    /// Strictly after this stream position.
    After(Bytes),
}

/// Mints the cursors of one plan's pages.
#[derive(Debug)]
pub(crate) struct Minter<'a> {
    plan: &'a Plan,
    ctx: &'a ExecContext,
    space: KeySpace,
    shard_count: usize,
}

impl<'a> Minter<'a> {
    pub(crate) fn new(
        plan: &'a Plan,
        ctx: &'a ExecContext,
        space: KeySpace,
        table: &TableStore,
    ) -> Minter<'a> {
        Minter {
            plan,
            ctx,
            space,
            shard_count: plan.shards.resolve(table.shards().len()).len(),
        }
    }

    /// Signs a cursor of this plan.
    pub(crate) fn seal(&self, backward: bool, anchor: Anchor) -> Result<Cursor, ExecError> {
        let state = CursorState {
            kind: self.plan.cursor_kind,
            direction: plan_direction(self.plan),
            backward,
            signature: self.plan.signature,
            database: self.ctx.database,
            snapshot: self.ctx.snapshot,
            anchor,
        };
        state.try_seal(&self.ctx.keys).map_err(|e| match e {
            CursorError::TooLarge { len, max } => ExecError::CursorTooLarge { len, max },
            other => ExecError::InvalidCursor(other),
        })
    }

    /// A cursor resuming strictly after the stream position `position`,
    /// then skipping `offset_left` rows (a first page a budget stopped
    /// while it skipped OFFSET rows; 0 for every other page).
    pub(crate) fn at_position(
        &self,
        backward: bool,
        position: &Bytes,
        offset_left: usize,
    ) -> Result<Cursor, ExecError> {
        if self.plan.cursor_kind == CursorKind::ShardFrontier {
            return Err(ExecError::internal(
                "an ordered page of a plan whose cursor is a shard frontier",
            ));
        }
        let key = self.anchor_key(position);
        let anchor = match offset_left {
            0 => Anchor::Key(key),
            left => Anchor::KeySkip {
                key,
                offset_left: left as u64,
            },
        };
        self.seal(backward, anchor)
    }

    /// A forward shard-frontier cursor: one stream position (or
    /// `NotStarted` / `Finished`) per shard the plan reads, and the OFFSET
    /// rows still to skip (0 but on a first page a budget stopped early).
    pub(crate) fn frontier(
        &self,
        positions: &[ShardPosition],
        offset_left: usize,
    ) -> Result<Cursor, ExecError> {
        let positions = self.anchor_positions(positions);
        let anchor = match offset_left {
            0 => Anchor::Frontier(positions),
            left => Anchor::FrontierSkip {
                positions,
                offset_left: left as u64,
            },
        };
        self.seal(false, anchor)
    }

    /// Frontier positions (stream positions) as a cursor holds them
    /// (anchor keys).
    fn anchor_positions(&self, positions: &[ShardPosition]) -> Vec<ShardPosition> {
        positions
            .iter()
            .map(|p| match p {
                ShardPosition::After(position) => ShardPosition::After(self.anchor_key(position)),
                other => other.clone(),
            })
            .collect()
    }

    /// The anchor key of a stream position: index positions are raw index
    /// keys already; primary-key positions get the table id in front.
    pub(crate) fn anchor_key(&self, position: &Bytes) -> Bytes {
        match self.space {
            KeySpace::Index => position.clone(),
            KeySpace::PrimaryKey => {
                let prefix = RawDataKey::table_prefix(self.plan.table.id);
                let mut key = Vec::with_capacity(prefix.len() + position.len());
                key.extend_from_slice(&prefix);
                key.extend_from_slice(position);
                Bytes::from(key)
            }
        }
    }

    /// Where the page of a validated single-anchor cursor starts, and how
    /// many OFFSET rows it still skips.
    pub(crate) fn start(&self, state: &CursorState) -> Result<(Start, usize), ExecError> {
        match &state.anchor {
            Anchor::Key(key) => Ok((Start::After(self.position(key)?), 0)),
            Anchor::KeySkip { key, offset_left } => {
                Ok((Start::After(self.position(key)?), countable(*offset_left)?))
            }
            Anchor::Collecting(state) if state.frontier.is_empty() => {
                let start = match &state.after {
                    Some(key) => Start::After(self.position(key)?),
                    None => Start::Beginning,
                };
                Ok((start, countable(state.offset_left)?))
            }
            Anchor::Collecting(_) | Anchor::Frontier(_) | Anchor::FrontierSkip { .. } => Err(
                ExecError::internal("a shard-frontier anchor reached an ordered page"),
            ),
            Anchor::Sorted { .. } | Anchor::SortedPass(_) => Err(ExecError::internal(
                "a sorted (top-k) anchor reached a streaming page",
            )),
        }
    }

    /// A cursor for a page whose sort buffers a budget cut before it
    /// consumed a key: it resumes after `after` (the page's own anchor, a
    /// stream position), skips `offset_left` rows and starts each buffer
    /// from its `progress`.
    pub(crate) fn collecting(
        &self,
        backward: bool,
        after: Option<&Bytes>,
        offset_left: usize,
        progress: Vec<(u64, BufferProgress)>,
    ) -> Result<Cursor, ExecError> {
        let after = after.map(|a| self.anchor_key(a));
        self.seal_collecting(backward, after, Vec::new(), offset_left, progress)
    }

    /// A frontier cursor (as [`Minter::frontier`]) that also starts the
    /// buffers of shards the page consumed nothing of from `progress`.
    pub(crate) fn frontier_collecting(
        &self,
        positions: &[ShardPosition],
        offset_left: usize,
        progress: Vec<(u64, BufferProgress)>,
    ) -> Result<Cursor, ExecError> {
        let positions = self.anchor_positions(positions);
        self.seal_collecting(false, None, positions, offset_left, progress)
    }

    fn seal_collecting(
        &self,
        backward: bool,
        after: Option<Bytes>,
        frontier: Vec<ShardPosition>,
        offset_left: usize,
        progress: Vec<(u64, BufferProgress)>,
    ) -> Result<Cursor, ExecError> {
        let buffers = self.carried_buffers(progress);
        let mut state = Collecting {
            after,
            frontier,
            offset_left: offset_left as u64,
            buffers,
        };
        fit_collecting(&mut state).map_err(|e| match e {
            CursorError::TooLarge { len, max } => ExecError::CursorTooLarge { len, max },
            other => ExecError::InvalidCursor(other),
        })?;
        self.seal(backward, Anchor::Collecting(Box::new(state)))
    }

    /// The sort buffers' progress as a cursor carries it (keys as anchor
    /// keys).
    pub(crate) fn carried_buffers(
        &self,
        progress: Vec<(u64, BufferProgress)>,
    ) -> Vec<CarriedBuffer> {
        progress
            .into_iter()
            .map(|(ordinal, progress)| CarriedBuffer {
                ordinal,
                scan: progress.scan,
                keys: progress.keys.iter().map(|k| self.anchor_key(k)).collect(),
                more: progress.more,
            })
            .collect()
    }

    /// The sort buffers' progress a validated cursor carries, by ordinal,
    /// in stream positions (empty for every other anchor).
    pub(crate) fn carried(
        &self,
        state: &CursorState,
    ) -> Result<BTreeMap<u64, BufferProgress>, ExecError> {
        match &state.anchor {
            Anchor::Collecting(collecting) => self.buffer_progress(&collecting.buffers),
            _ => Ok(BTreeMap::new()),
        }
    }

    /// The progress of `buffers` (validated), by ordinal, in stream
    /// positions.
    pub(crate) fn buffer_progress(
        &self,
        buffers: &[CarriedBuffer],
    ) -> Result<BTreeMap<u64, BufferProgress>, ExecError> {
        buffers
            .iter()
            .map(|buffer| {
                let ordinal = buffer.ordinal;
                let keys = buffer
                    .keys
                    .iter()
                    .map(|key| self.position(key))
                    .collect::<Result<_, _>>()?;
                let progress = BufferProgress {
                    scan: buffer.scan.clone(),
                    keys,
                    more: buffer.more,
                };
                Ok((ordinal, progress))
            })
            .collect()
    }

    /// The stream position of each shard of a validated frontier cursor,
    /// in the order of the shards the plan reads, and the OFFSET rows it
    /// still skips.
    pub(crate) fn frontier_start(
        &self,
        state: &CursorState,
    ) -> Result<(Vec<ShardPosition>, usize), ExecError> {
        let (positions, offset_left) = match &state.anchor {
            Anchor::Frontier(positions) => (positions, 0),
            Anchor::FrontierSkip {
                positions,
                offset_left,
            } => (positions, countable(*offset_left)?),
            Anchor::Collecting(state) if !state.frontier.is_empty() => {
                (&state.frontier, countable(state.offset_left)?)
            }
            _ => {
                return Err(ExecError::internal(
                    "a single-anchor cursor reached a shard-frontier page",
                ))
            }
        };
        if positions.len() != self.shard_count {
            return Err(ExecError::internal(format!(
                "a validated frontier of {} positions for a plan that reads {} shards",
                positions.len(),
                self.shard_count
            )));
        }
        let positions = positions
            .iter()
            .map(|p| {
                Ok(match p {
                    ShardPosition::After(key) => ShardPosition::After(self.position(key)?),
                    other => other.clone(),
                })
            })
            .collect::<Result<_, ExecError>>()?;
        Ok((positions, offset_left))
    }

    /// The stream position of an anchor key.
    pub(crate) fn position(&self, key: &Bytes) -> Result<Bytes, ExecError> {
        match self.space {
            KeySpace::Index => Ok(key.clone()),
            KeySpace::PrimaryKey if key.len() >= DATA_HEADER_LEN => {
                Ok(key.slice(DATA_HEADER_LEN..))
            }
            KeySpace::PrimaryKey => Err(ExecError::internal(
                "a validated data-key anchor is shorter than a table id",
            )),
        }
    }
}

/// OFFSET rows to skip from a validated cursor (which checked that they
/// fit a `usize`).
pub(crate) fn countable(offset_left: u64) -> Result<usize, ExecError> {
    usize::try_from(offset_left)
        .map_err(|_| ExecError::internal("a validated cursor skips more rows than a usize holds"))
}
