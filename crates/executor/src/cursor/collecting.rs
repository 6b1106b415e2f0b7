//! The progress of a page's sort buffers carried by a cursor
//! (`Anchor::Collecting`): its fields, their bytes, how many carried keys
//! fit in a token, and the checks that it is a state a page could have
//! written. What a page does with it is `crate::page::streaming`'s and
//! `crate::stream::sorted_buffer`'s business.

use std::cmp::Ordering;

use bytes::Bytes;
use keyset_plan::CursorKind;
use keyset_store::bin::{read_varint, write_varint, Reader};
use keyset_store::Direction;

use super::token::{
    decode_frontier, encode_frontier, malformed, read_count, read_key, write_key, HEADER_LEN,
    MAC_LEN,
};
use super::{CursorError, ShardPosition, MAX_CURSOR_BYTES};

/// Most bytes an anchor may take for its token text to stay within
/// [`MAX_CURSOR_BYTES`] (base64 turns 3 bytes into 4 characters).
const MAX_ANCHOR_BYTES: usize = MAX_CURSOR_BYTES / 4 * 3 - HEADER_LEN - MAC_LEN;

const HAS_AFTER: u8 = 0b01;
const HAS_SCAN: u8 = 0b01;
const MORE: u8 = 0b10;

/// A page of a union or intersection that a budget, the deadline or a
/// cancellation stopped, with its sort buffers' progress (`DataKey` kind,
/// or `ShardFrontier` for an unordered merge).
///
/// A sort buffer must read its child's whole range before it can yield a
/// key, so a page cut while it collects has no position to resume after.
/// Instead the cursor carries each buffer's progress: the next page starts
/// every buffer from it rather than from the start of its range, and a
/// traversal whose every page is cut still gets through. See `docs/pagination.md`,
/// "Budgets on sort-buffered children".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collecting {
    /// `DataKey` kind: the `RawDataKey` the page resumed strictly after
    /// (`None`: a first page). Always `None` for a frontier.
    pub after: Option<Bytes>,
    /// `ShardFrontier` kind: where each shard resumes, as in
    /// `Anchor::Frontier` (each buffer's keys lie after its shard's
    /// position). Empty for a `DataKey` cursor.
    pub frontier: Vec<ShardPosition>,
    /// OFFSET rows still to skip.
    pub offset_left: u64,
    /// The progress of the buffers the page had begun, by ordinal (the
    /// table shard number in the high 32 bits, the buffer's number in that
    /// shard's tree in the low), ascending.
    pub buffers: Vec<CarriedBuffer>,
}

/// One sort buffer's progress as a cursor carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarriedBuffer {
    pub ordinal: u64,
    /// The last `RawIndexKey` read; `None`: the whole range was read.
    pub scan: Option<Bytes>,
    /// The first `RawDataKey`s collected after the anchor (`after`, or the
    /// buffer's shard's frontier position), in traversal order.
    pub keys: Vec<Bytes>,
    /// Whether keys collected after the last of `keys` were left out.
    pub more: bool,
}

pub(super) fn encode_collecting(state: &Collecting, out: &mut Vec<u8>) {
    encode_fixed(state, out);
    for buffer in &state.buffers {
        encode_buffer(buffer, out);
    }
}

/// Everything but the buffers (whose count it ends with). A frontier is
/// written when it has positions: only a `ShardFrontier` cursor has them.
fn encode_fixed(state: &Collecting, out: &mut Vec<u8>) {
    out.push(if state.after.is_some() { HAS_AFTER } else { 0 });
    if let Some(after) = &state.after {
        write_key(after, out);
    }
    if !state.frontier.is_empty() {
        encode_frontier(&state.frontier, out);
    }
    write_varint(state.offset_left, out);
    write_varint(state.buffers.len() as u64, out);
}

pub(super) fn encode_buffer(buffer: &CarriedBuffer, out: &mut Vec<u8>) {
    write_varint(buffer.ordinal, out);
    let mut shape = 0;
    if buffer.scan.is_some() {
        shape |= HAS_SCAN;
    }
    if buffer.more {
        shape |= MORE;
    }
    out.push(shape);
    if let Some(scan) = &buffer.scan {
        write_key(scan, out);
    }
    write_varint(buffer.keys.len() as u64, out);
    for key in &buffer.keys {
        write_key(key, out);
    }
}

pub(super) fn buffer_len(buffer: &CarriedBuffer) -> usize {
    let mut out = Vec::new();
    encode_buffer(buffer, &mut out);
    out.len()
}

pub(super) fn decode_collecting(
    reader: &mut Reader<'_>,
    kind: CursorKind,
) -> Result<Collecting, CursorError> {
    let shape = reader.byte().map_err(malformed)?;
    let frontier_kind = kind == CursorKind::ShardFrontier;
    if shape & !HAS_AFTER != 0 || (frontier_kind && shape != 0) {
        return Err(CursorError::AnchorMalformed {
            reason: format!("unknown collection shape bits {shape:#010b}"),
        });
    }
    let after = if shape & HAS_AFTER != 0 {
        Some(read_key(reader)?)
    } else {
        None
    };
    let frontier = if frontier_kind {
        decode_frontier(reader)?
    } else {
        Vec::new()
    };
    let offset_left = read_varint(reader).map_err(malformed)?;
    let buffers = decode_buffers(reader)?;
    Ok(Collecting {
        after,
        frontier,
        offset_left,
        buffers,
    })
}

/// A count of buffers, then each buffer.
pub(super) fn decode_buffers(reader: &mut Reader<'_>) -> Result<Vec<CarriedBuffer>, CursorError> {
    let count = read_count(reader, "sort buffers")?;
    let mut buffers = Vec::with_capacity(count);
    for _ in 0..count {
        let ordinal = read_varint(reader).map_err(malformed)?;
        let shape = reader.byte().map_err(malformed)?;
        if shape & !(HAS_SCAN | MORE) != 0 {
            return Err(CursorError::AnchorMalformed {
                reason: format!("unknown sort buffer shape bits {shape:#010b}"),
            });
        }
        let scan = if shape & HAS_SCAN != 0 {
            Some(read_key(reader)?)
        } else {
            None
        };
        let keys = read_count(reader, "carried keys")?;
        let keys = (0..keys)
            .map(|_| read_key(reader))
            .collect::<Result<Vec<_>, _>>()?;
        buffers.push(CarriedBuffer {
            ordinal,
            scan,
            keys,
            more: shape & MORE != 0,
        });
    }
    Ok(buffers)
}

/// Drops carried keys from the ends of the buffers' lists (the longest
/// list first) until the token fits in [`MAX_CURSOR_BYTES`], marking
/// `more` where it drops any. Every buffer keeps at least one key when it
/// had any: a buffer that read keys but carries none would start over.
/// Refused with `TooLarge` when even that does not fit.
pub(crate) fn fit_collecting(state: &mut Collecting) -> Result<(), CursorError> {
    let mut fixed = Vec::new();
    encode_fixed(state, &mut fixed);
    shrink_buffers(
        &mut state.buffers,
        MAX_ANCHOR_BYTES.saturating_sub(fixed.len()),
    )
}

/// Shrinks the buffers' key lists as [`fit_collecting`] does until they
/// take at most `room` bytes.
pub(super) fn shrink_buffers(
    buffers: &mut [CarriedBuffer],
    room: usize,
) -> Result<(), CursorError> {
    let mut total = buffers.iter().map(buffer_len).sum::<usize>();
    while total > room {
        let Some(longest) = buffers
            .iter_mut()
            .filter(|b| b.keys.len() > 1)
            .max_by_key(|b| b.keys.len())
        else {
            let overflow = total - room;
            return Err(CursorError::TooLarge {
                len: (HEADER_LEN + MAX_ANCHOR_BYTES + overflow + MAC_LEN).div_ceil(3) * 4,
                max: MAX_CURSOR_BYTES,
            });
        };
        let before = buffer_len(longest);
        let keep = longest.keys.len() / 2;
        longest.keys.truncate(keep.max(1));
        longest.more = true;
        total = total - before + buffer_len(longest);
    }
    Ok(())
}

/// Checks that `state` is one a page could have written when traversing
/// in `direction` (already reversed for a backward cursor) the table
/// shards `shards` (in the plan's order): a frontier of one position per
/// shard or none; at least one buffer, in ascending ordinal order, each of
/// a shard the plan reads and has not finished; carried keys strictly
/// after their anchor and strictly ordered; `more` only with keys.
pub(super) fn check_collecting(
    state: &Collecting,
    direction: Direction,
    shards: &[usize],
) -> Result<(), CursorError> {
    let inconsistent = |reason: &str| {
        Err(CursorError::InconsistentState {
            reason: reason.to_owned(),
        })
    };
    if state.buffers.is_empty() {
        return inconsistent("a collection cut short carries no sort buffer");
    }
    if usize::try_from(state.offset_left).is_err() {
        return inconsistent("it carries more OFFSET rows to skip than this machine can count");
    }
    for pair in state.buffers.windows(2) {
        if pair[0].ordinal >= pair[1].ordinal {
            return inconsistent("its sort buffers are not in ascending order");
        }
    }
    if !state.frontier.is_empty() && state.frontier.len() != shards.len() {
        return Err(CursorError::AnchorMalformed {
            reason: format!(
                "it holds positions for {} shards; the query reads {}",
                state.frontier.len(),
                shards.len()
            ),
        });
    }
    for buffer in &state.buffers {
        let shard = buffer.ordinal >> 32;
        let Some(slot) = shards.iter().position(|&s| s as u64 == shard) else {
            return inconsistent("a sort buffer belongs to a shard the query does not read");
        };
        let anchor = match state.frontier.get(slot) {
            None => state.after.as_ref(),
            Some(ShardPosition::NotStarted) => None,
            Some(ShardPosition::After(key)) => Some(key),
            Some(ShardPosition::Finished) => {
                return inconsistent("a sort buffer belongs to a shard the query finished");
            }
        };
        if buffer.more && buffer.keys.is_empty() {
            return inconsistent(
                "a sort buffer says keys follow the keys it carries, but carries none",
            );
        }
        if let (Some(after), Some(first)) = (anchor, buffer.keys.first()) {
            if direction.order(first, after) != Ordering::Greater {
                return inconsistent("a sort buffer carries a key that is not after the anchor");
            }
        }
        for pair in buffer.keys.windows(2) {
            if direction.order(&pair[1], &pair[0]) != Ordering::Greater {
                return inconsistent("a sort buffer's keys are out of order");
            }
        }
    }
    Ok(())
}

/// The keys of `state` (its anchor and carried keys) that must be data
/// keys of the query's table, and its scan positions, which must be index
/// keys of it.
pub(super) fn data_keys(state: &Collecting) -> impl Iterator<Item = &Bytes> {
    let positions = state.frontier.iter().filter_map(|p| match p {
        ShardPosition::After(key) => Some(key),
        ShardPosition::NotStarted | ShardPosition::Finished => None,
    });
    state
        .after
        .iter()
        .chain(positions)
        .chain(state.buffers.iter().flat_map(|b| b.keys.iter()))
}

pub(super) fn scan_keys(state: &Collecting) -> impl Iterator<Item = &Bytes> {
    state.buffers.iter().filter_map(|b| b.scan.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8, len: usize) -> Bytes {
        let mut key = vec![0, 0, 0, 7];
        key.extend(std::iter::repeat_n(n, len));
        Bytes::from(key)
    }

    fn state(keys: usize, len: usize) -> Collecting {
        Collecting {
            after: Some(key(0, 4)),
            frontier: Vec::new(),
            offset_left: 3,
            buffers: (0..3)
                .map(|b| CarriedBuffer {
                    ordinal: b * 2,
                    scan: Some(Bytes::from_static(b"\x02scan")),
                    keys: (1..=keys).map(|k| key(k as u8, len)).collect(),
                    more: false,
                })
                .collect(),
        }
    }

    #[test]
    fn a_collection_round_trips_through_its_bytes() {
        let original = state(5, 8);
        let mut out = Vec::new();
        encode_collecting(&original, &mut out);
        let mut reader = Reader::new(&out);
        assert_eq!(
            decode_collecting(&mut reader, CursorKind::DataKey).unwrap(),
            original
        );
        assert!(reader.is_empty());
    }

    /// A frontier collection: shard 3 not started, shard 5 after a key,
    /// shard 6 finished (the plan reads shards 3, 5 and 6).
    fn frontier_state() -> Collecting {
        let mut state = state(2, 4);
        state.after = None;
        state.frontier = vec![
            ShardPosition::NotStarted,
            ShardPosition::After(key(0, 4)),
            ShardPosition::Finished,
        ];
        state.buffers[0].ordinal = 3 << 32;
        state.buffers[1].ordinal = 5 << 32;
        state.buffers[2].ordinal = (5 << 32) + 1;
        state
    }

    #[test]
    fn a_frontier_collection_round_trips_and_keeps_keys_after_each_shard() {
        let original = frontier_state();
        let mut out = Vec::new();
        encode_collecting(&original, &mut out);
        let mut reader = Reader::new(&out);
        assert_eq!(
            decode_collecting(&mut reader, CursorKind::ShardFrontier).unwrap(),
            original
        );
        let shards = [3, 5, 6];
        assert!(check_collecting(&original, Direction::Asc, &shards).is_ok());
        let mut finished = frontier_state();
        finished.buffers[2].ordinal = 6 << 32;
        let mut behind = frontier_state();
        behind.frontier[1] = ShardPosition::After(key(9, 4));
        let mut short = frontier_state();
        short.frontier.pop();
        for bad in [finished, behind, short] {
            assert!(
                check_collecting(&bad, Direction::Asc, &shards).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fitting_halves_the_longest_lists_and_keeps_one_key_each() {
        let mut big = state(200, 20);
        fit_collecting(&mut big).unwrap();
        let mut out = Vec::new();
        encode_collecting(&big, &mut out);
        assert!(out.len() <= MAX_ANCHOR_BYTES);
        for buffer in &big.buffers {
            assert!(buffer.more, "keys were dropped");
            assert!(!buffer.keys.is_empty());
            assert_eq!(buffer.keys[0], key(1, 20), "the first keys are kept");
        }
        // A key too long to carry even once per buffer is refused.
        let mut huge = state(2, 2_500);
        assert!(matches!(
            fit_collecting(&mut huge),
            Err(CursorError::TooLarge { .. })
        ));
    }

    #[test]
    fn states_no_page_writes_are_refused() {
        let direction = Direction::Asc;
        assert!(check_collecting(&state(3, 4), direction, &[0]).is_ok());
        let mut empty = state(1, 4);
        empty.buffers.clear();
        let mut unordered = state(1, 4);
        unordered.buffers.swap(0, 1);
        let mut more_without_keys = state(0, 4);
        more_without_keys.buffers[1].more = true;
        let mut before_anchor = state(2, 4);
        before_anchor.after = Some(key(9, 4));
        let mut keys_out_of_order = state(3, 4);
        keys_out_of_order.buffers[0].keys.swap(0, 2);
        for bad in [
            empty,
            unordered,
            more_without_keys,
            before_anchor,
            keys_out_of_order,
        ] {
            assert!(
                matches!(
                    check_collecting(&bad, direction, &[0]),
                    Err(CursorError::InconsistentState { .. })
                ),
                "{bad:?}"
            );
        }
        // Descending, the same keys are out of order.
        let mut descending = state(3, 4);
        descending.after = None;
        assert!(check_collecting(&descending, Direction::Desc, &[0]).is_err());
        // A buffer of a shard the query does not read.
        assert!(check_collecting(&state(1, 4), direction, &[1, 2]).is_err());
    }
}
