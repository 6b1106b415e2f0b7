//! The checks of DESIGN.md section 6, in order, of a token against the plan
//! it claims to resume. It owns the decision "may this token resume this
//! plan" and nothing else: it never touches the store and never computes the
//! resume bounds of a page.

use std::ops::Bound;

use bytes::Bytes;
use keyset_plan::{AccessPath, CursorKind, OrderStrategy, Plan};
use keyset_store::codec::decode_all;
use keyset_store::key::{range_bounds, within, INDEX_NAMESPACE};
use keyset_store::{
    ColumnType, Direction, IndexId, IndexKeyHeader, RawDataKey, RawIndexKey, TableDef, Value,
};

use super::collecting;
use super::pass_checks::check_resume_state;
use super::token::{self, Envelope, FLAG_BACKWARD, FLAG_PASS, FLAG_SKIP, KNOWN_FLAGS};
use super::{Anchor, Cursor, CursorError, CursorKeys, CursorState, ShardPosition, SortedRow};

/// Opens `cursor` for `plan` of the database `database`, running every
/// check of DESIGN.md section 6 in its order: size and base64, magic and
/// version, MAC, database id, plan signature, kind, direction and flags,
/// anchor identity, anchor bounds, then the consistency of a resume state
/// a budget left (OFFSET rows to skip, a top-k pass cut short). The first
/// failing check is the error.
pub fn open_cursor(
    cursor: &Cursor,
    keys: &CursorKeys,
    database: [u8; 8],
    plan: &Plan,
) -> Result<CursorState, CursorError> {
    let bytes = cursor.decode_bytes()?;
    let envelope = token::open_envelope(&bytes, keys.verifying())?;
    if envelope.database != database {
        return Err(CursorError::WrongDatabase);
    }
    if envelope.signature != plan.signature.0 {
        return Err(CursorError::WrongQuery);
    }
    let (kind, direction, backward) = check_kind_and_direction(&envelope, plan)?;
    let anchor = token::decode_anchor(kind, envelope.flags, envelope.anchor)?;
    let leaf = LeafKey::of(plan)?;
    check_identity(&anchor, plan, leaf)?;
    check_bounds(&anchor, plan, leaf)?;
    check_resume_state(&anchor, plan, backward)?;
    Ok(CursorState {
        kind,
        direction,
        backward,
        signature: plan.signature,
        database,
        snapshot: envelope.snapshot,
        anchor,
    })
}

/// The direction a plan traverses its keys in.
pub fn plan_direction(plan: &Plan) -> Direction {
    match plan.strategy {
        OrderStrategy::Stream(direction) => direction,
        OrderStrategy::TopK => Direction::Asc,
    }
}

fn check_kind_and_direction(
    envelope: &Envelope<'_>,
    plan: &Plan,
) -> Result<(CursorKind, Direction, bool), CursorError> {
    let kind = CursorKind::from_code(envelope.kind).ok_or_else(|| CursorError::Malformed {
        reason: format!("unknown cursor kind code {}", envelope.kind),
    })?;
    if kind != plan.cursor_kind {
        return Err(CursorError::WrongKind {
            expected: plan.cursor_kind,
            found: kind,
        });
    }
    let direction =
        token::direction_from_code(envelope.direction).ok_or_else(|| CursorError::Malformed {
            reason: format!("unknown direction code {}", envelope.direction),
        })?;
    let expected = plan_direction(plan);
    if direction != expected {
        return Err(CursorError::WrongDirection {
            expected,
            found: direction,
        });
    }
    let flags = envelope.flags;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(CursorError::Malformed {
            reason: format!("unknown flag bits {:#010b}", flags & !KNOWN_FLAGS),
        });
    }
    if flags & FLAG_PASS != 0 && kind != CursorKind::Sorted {
        return Err(CursorError::Malformed {
            reason: format!(
                "flag bit 1 (a top-k pass in progress) is set on a cursor of kind {}",
                kind.name()
            ),
        });
    }
    if flags & FLAG_SKIP != 0 && (kind == CursorKind::Sorted || flags & FLAG_BACKWARD != 0) {
        return Err(CursorError::Malformed {
            reason: format!(
                "flag bit 2 (OFFSET rows to skip) is set on a {} cursor of kind {}",
                if flags & FLAG_BACKWARD != 0 {
                    "backward"
                } else {
                    "forward"
                },
                kind.name()
            ),
        });
    }
    Ok((kind, direction, envelope.flags & FLAG_BACKWARD != 0))
}

/// The key type of the plan's leaf: what `Anchor::Key` and each frontier
/// position must be.
#[derive(Clone, Copy, Debug)]
pub(super) enum LeafKey {
    Index { index: IndexId, arity: usize },
    Data,
}

impl LeafKey {
    fn of(plan: &Plan) -> Result<LeafKey, CursorError> {
        let index_leaf = match (&plan.access, plan.cursor_kind) {
            (AccessPath::IndexRange { index, .. }, CursorKind::IndexRange)
            | (AccessPath::IndexRange { index, .. }, CursorKind::ShardFrontier) => Some(*index),
            (_, CursorKind::IndexRange) => {
                return Err(CursorError::AnchorMalformed {
                    reason: "the query reads no index range to resume".into(),
                })
            }
            _ => None,
        };
        let Some(index) = index_leaf else {
            return Ok(LeafKey::Data);
        };
        let def = plan
            .table
            .index_by_id(index)
            .ok_or_else(|| CursorError::AnchorMalformed {
                reason: format!(
                    "the query's index id {index} is not in table `{}`",
                    plan.table.name
                ),
            })?;
        Ok(LeafKey::Index {
            index,
            arity: def.columns.len(),
        })
    }

    /// The key type of the stream a top-k pass reads (its scan position):
    /// index keys when the access path is an index range not in
    /// primary-key order (read in index order, as
    /// `crate::stream::build::KeySpace::of` decides), data keys otherwise.
    fn of_pass(plan: &Plan) -> Result<LeafKey, CursorError> {
        match &plan.access {
            AccessPath::IndexRange { index, .. }
                if !plan.access.yields_primary_key_order(&plan.table) =>
            {
                let def =
                    plan.table
                        .index_by_id(*index)
                        .ok_or_else(|| CursorError::AnchorMalformed {
                            reason: format!(
                                "the query's index id {index} is not in table `{}`",
                                plan.table.name
                            ),
                        })?;
                Ok(LeafKey::Index {
                    index: *index,
                    arity: def.columns.len(),
                })
            }
            _ => Ok(LeafKey::Data),
        }
    }
}

fn check_identity(anchor: &Anchor, plan: &Plan, leaf: LeafKey) -> Result<(), CursorError> {
    let table = &plan.table;
    match anchor {
        Anchor::Key(key) => check_leaf_key(key, table, leaf),
        Anchor::KeySkip { key, .. } => check_leaf_key(key, table, leaf),
        Anchor::Sorted { values, key } => check_sorted_row(values, key, plan),
        Anchor::SortedPass(pass) => {
            let rows = pass.after.iter().chain(&pass.best);
            for SortedRow { values, key } in rows {
                check_sorted_row(values, key, plan)?;
            }
            if !pass.collecting.is_empty() {
                // Sort buffers exist only in primary-key order.
                if !matches!(LeafKey::of_pass(plan)?, LeafKey::Data) {
                    return Err(CursorError::AnchorMalformed {
                        reason: "a top-k pass in index order carries sort buffers".into(),
                    });
                }
                for buffer in &pass.collecting {
                    for key in &buffer.keys {
                        check_data_key(key, table)?;
                    }
                    if let Some(scan) = &buffer.scan {
                        check_scan_key(scan, table)?;
                    }
                }
            }
            match &pass.scan {
                Some(scan) => check_leaf_key(scan, table, LeafKey::of_pass(plan)?),
                None => Ok(()),
            }
        }
        Anchor::Collecting(state) => {
            for key in collecting::data_keys(state) {
                check_data_key(key, table)?;
            }
            for scan in collecting::scan_keys(state) {
                check_scan_key(scan, table)?;
            }
            Ok(())
        }
        Anchor::Frontier(positions)
        | Anchor::FrontierSkip {
            positions,
            offset_left: _,
        } => {
            let shards = plan.shards.resolve(table.shards as usize).len();
            if positions.len() != shards {
                return Err(CursorError::AnchorMalformed {
                    reason: format!(
                        "it holds positions for {} shards; the query reads {shards}",
                        positions.len()
                    ),
                });
            }
            for position in positions {
                if let ShardPosition::After(key) = position {
                    check_leaf_key(key, table, leaf)?;
                }
            }
            Ok(())
        }
    }
}

/// The ORDER BY values (one per term, each NULL or of its column's type)
/// and data key of a row a top-k cursor names.
fn check_sorted_row(values: &[Value], key: &[u8], plan: &Plan) -> Result<(), CursorError> {
    if values.len() != plan.order.len() {
        return Err(CursorError::AnchorMalformed {
            reason: format!(
                "it holds {} ORDER BY values; the query orders by {} terms",
                values.len(),
                plan.order.len()
            ),
        });
    }
    for (value, term) in values.iter().zip(&plan.order) {
        check_value(&plan.table, term.column, value)?;
    }
    check_data_key(key, &plan.table)
}

/// A sort buffer's scan position: a key of one of the table's indexes
/// (which index, and whether it lies in that buffer's range, the page
/// checks when it makes its buffers).
fn check_scan_key(key: &[u8], table: &TableDef) -> Result<(), CursorError> {
    match key.first() {
        Some(&INDEX_NAMESPACE) => {}
        Some(&found) => return Err(CursorError::AnchorWrongNamespace { found }),
        None => {
            return Err(CursorError::AnchorMalformed {
                reason: "a sort buffer's scan position is empty".into(),
            })
        }
    }
    let header = RawIndexKey::decode_header(key).map_err(malformed)?;
    let index = table
        .index_by_id(header.index)
        .ok_or_else(|| CursorError::AnchorMalformed {
            reason: format!(
                "a sort buffer's scan position names index id {}, which table `{}` does not have",
                header.index, table.name
            ),
        })?;
    check_index_key(key, table, header.index, index.columns.len())
}

fn check_leaf_key(key: &[u8], table: &TableDef, leaf: LeafKey) -> Result<(), CursorError> {
    match leaf {
        LeafKey::Index { index, arity } => check_index_key(key, table, index, arity),
        LeafKey::Data => check_data_key(key, table),
    }
}

fn check_index_key(
    key: &[u8],
    table: &TableDef,
    index: IndexId,
    arity: usize,
) -> Result<(), CursorError> {
    let namespace = *key.first().ok_or_else(|| CursorError::AnchorMalformed {
        reason: "its index key is empty".into(),
    })?;
    if namespace != INDEX_NAMESPACE {
        return Err(CursorError::AnchorWrongNamespace { found: namespace });
    }
    let header = RawIndexKey::decode_header(key).map_err(malformed)?;
    if header.table != table.id {
        return Err(CursorError::AnchorWrongTable {
            expected: table.id,
            found: header.table,
        });
    }
    if header.index != index {
        return Err(CursorError::AnchorWrongIndex {
            expected: index,
            found: header.index,
        });
    }
    if usize::from(header.arity) != arity {
        return Err(CursorError::AnchorWrongArity {
            expected: arity,
            found: usize::from(header.arity),
        });
    }
    let decoded = RawIndexKey::decode(key, table.primary_key.len()).map_err(malformed)?;
    let columns = table.index_by_id(index).map(|i| i.columns.as_slice());
    for (value, column) in decoded.components.iter().zip(columns.unwrap_or_default()) {
        check_value(table, *column, value)?;
    }
    for (value, column) in decoded.primary_key.iter().zip(&table.primary_key) {
        check_value(table, *column, value)?;
    }
    Ok(())
}

fn check_data_key(key: &[u8], table: &TableDef) -> Result<(), CursorError> {
    let Some((id, primary_key)) = key.split_first_chunk::<4>() else {
        return Err(CursorError::AnchorMalformed {
            reason: "its data key is shorter than a table id".into(),
        });
    };
    let found = u32::from_be_bytes(*id);
    if found != table.id {
        return Err(CursorError::AnchorWrongTable {
            expected: table.id,
            found,
        });
    }
    let values = decode_all(primary_key).map_err(malformed)?;
    if values.len() != table.primary_key.len() {
        return Err(CursorError::AnchorWrongArity {
            expected: table.primary_key.len(),
            found: values.len(),
        });
    }
    for (value, column) in values.iter().zip(&table.primary_key) {
        check_value(table, *column, value)?;
    }
    Ok(())
}

/// A value fits its column when it is NULL or of the column's type.
fn check_value(table: &TableDef, column: usize, value: &Value) -> Result<(), CursorError> {
    let def = table
        .columns
        .get(column)
        .ok_or_else(|| CursorError::AnchorMalformed {
            reason: format!(
                "the query uses column {column}, which table `{}` does not have",
                table.name
            ),
        })?;
    let fits = matches!(
        (value, def.ty),
        (Value::Null, _)
            | (Value::Bool(_), ColumnType::Bool)
            | (Value::Int(_), ColumnType::Int)
            | (Value::Float(_), ColumnType::Float)
            | (Value::Text(_), ColumnType::Text)
            | (Value::Bytes(_), ColumnType::Bytes)
    );
    if fits {
        Ok(())
    } else {
        Err(CursorError::AnchorValueType {
            column: def.name.clone(),
            expected: def.ty,
            found: value.kind(),
        })
    }
}

fn check_bounds(anchor: &Anchor, plan: &Plan, leaf: LeafKey) -> Result<(), CursorError> {
    let inside = |key: &[u8], leaf: LeafKey| match leaf_bounds(plan, leaf) {
        Some((lower, upper)) => within(key, &lower, &upper),
        None => true,
    };
    let ok = match anchor {
        Anchor::Key(key) | Anchor::KeySkip { key, .. } => inside(key, leaf),
        // The row behind a sorted anchor was reached through the access
        // path, so its data key lies in a primary range the plan reads.
        Anchor::Sorted { key, .. } => inside(key, LeafKey::Data),
        // So do the rows a pass carries; its scan position lies in the
        // range of the stream the pass reads.
        Anchor::SortedPass(pass) => {
            pass.after
                .iter()
                .chain(&pass.best)
                .all(|row| inside(&row.key, LeafKey::Data))
                && match &pass.scan {
                    Some(scan) => inside(scan, LeafKey::of_pass(plan)?),
                    None => true,
                }
                && pass
                    .collecting
                    .iter()
                    .flat_map(|b| b.keys.iter())
                    .all(|key| inside(key, LeafKey::Data))
        }
        // So do the rows a collection carries (its scan positions are
        // checked against each buffer's range by the page).
        Anchor::Collecting(state) => {
            collecting::data_keys(state).all(|key| inside(key, LeafKey::Data))
        }
        Anchor::Frontier(positions)
        | Anchor::FrontierSkip {
            positions,
            offset_left: _,
        } => positions.iter().all(|position| match position {
            ShardPosition::After(key) => inside(key, leaf),
            ShardPosition::NotStarted | ShardPosition::Finished => true,
        }),
    };
    if ok {
        Ok(())
    } else {
        Err(CursorError::AnchorOutOfBounds)
    }
}

/// The byte range of the plan's leaf for keys of type `leaf`, when the
/// access path bounds that key space (an index range for index keys, a
/// primary range for data keys).
fn leaf_bounds(plan: &Plan, leaf: LeafKey) -> Option<(Bound<Bytes>, Bound<Bytes>)> {
    match (&plan.access, leaf) {
        (
            AccessPath::IndexRange {
                index,
                prefix,
                lower,
                upper,
            },
            LeafKey::Index { arity, .. },
        ) => {
            let arity = u8::try_from(arity).unwrap_or(u8::MAX);
            let head = IndexKeyHeader::new(plan.table.id, *index, arity).to_bytes();
            Some(range_bounds(&head, prefix, lower.as_ref(), upper.as_ref()))
        }
        (
            AccessPath::PrimaryRange {
                prefix,
                lower,
                upper,
            },
            LeafKey::Data,
        ) => {
            let head = RawDataKey::table_prefix(plan.table.id);
            Some(range_bounds(&head, prefix, lower.as_ref(), upper.as_ref()))
        }
        _ => None,
    }
}

fn malformed(error: keyset_store::CodecError) -> CursorError {
    CursorError::AnchorMalformed {
        reason: error.to_string(),
    }
}
