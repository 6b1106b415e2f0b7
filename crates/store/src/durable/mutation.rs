//! The payload of a WAL record: one [`Mutation`] in bytes, and the checks a
//! decoded mutation must pass against the recovered state before replay.
//! Framing (length, checksum, sequence number) belongs to the WAL files.

use std::sync::Arc;

use crate::bin::{read_varint, write_varint, Reader};
use crate::catalog::{decode_index, decode_table, encode_index, encode_table, MAX_COLUMNS};
use crate::codec::CodecError;
use crate::key::TableId;
use crate::row::{decode_row, encode_row, Row};
use crate::store::{Mutation, StoreState};
use crate::WriteOp;

const CREATE_TABLE: u8 = 1;
const DROP_TABLE: u8 = 2;
const CREATE_INDEX: u8 = 3;
const DROP_INDEX: u8 = 4;
const WRITE: u8 = 5;

const OP_PUT: u8 = 0;
const OP_DELETE: u8 = 1;

/// Appends the encoded form of `mutation`.
pub(crate) fn encode_mutation(mutation: &Mutation, out: &mut Vec<u8>) {
    match mutation {
        Mutation::CreateTable(def) => {
            out.push(CREATE_TABLE);
            encode_table(def, out);
        }
        Mutation::DropTable { table } => {
            out.push(DROP_TABLE);
            write_varint(u64::from(*table), out);
        }
        Mutation::CreateIndex { table, index } => {
            out.push(CREATE_INDEX);
            write_varint(u64::from(*table), out);
            // decode_index checks positions against a column count; the
            // table is not at hand here, so record the bound the index needs.
            let bound = index.columns.iter().max().map_or(0, |c| c + 1);
            write_varint(bound as u64, out);
            encode_index(index, out);
        }
        Mutation::DropIndex { table, index } => {
            out.push(DROP_INDEX);
            write_varint(u64::from(*table), out);
            write_varint(u64::from(*index), out);
        }
        Mutation::Write(ops) => {
            out.push(WRITE);
            write_varint(ops.len() as u64, out);
            for op in ops {
                match op {
                    WriteOp::Put { table, row } => {
                        out.push(OP_PUT);
                        write_varint(u64::from(*table), out);
                        encode_row(row.values(), out);
                    }
                    WriteOp::Delete { table, key } => {
                        out.push(OP_DELETE);
                        write_varint(u64::from(*table), out);
                        encode_row(key, out);
                    }
                }
            }
        }
    }
}

fn read_id(reader: &mut Reader<'_>) -> Result<u32, CodecError> {
    u32::try_from(read_varint(reader)?).map_err(|_| reader.error("id does not fit in 32 bits"))
}

/// Decodes a payload written by [`encode_mutation`]; every byte must be used.
pub(crate) fn decode_mutation(payload: &[u8]) -> Result<Mutation, CodecError> {
    let mut reader = Reader::new(payload);
    let mutation = match reader.byte()? {
        CREATE_TABLE => Mutation::CreateTable(decode_table(&mut reader)?),
        DROP_TABLE => Mutation::DropTable {
            table: read_id(&mut reader)?,
        },
        CREATE_INDEX => {
            let table = read_id(&mut reader)?;
            let bound = read_varint(&mut reader)?;
            if bound > MAX_COLUMNS as u64 {
                return Err(reader.error("index column bound over the column limit"));
            }
            let index = decode_index(&mut reader, bound as usize)?;
            Mutation::CreateIndex { table, index }
        }
        DROP_INDEX => Mutation::DropIndex {
            table: read_id(&mut reader)?,
            index: read_id(&mut reader)?,
        },
        WRITE => {
            let count = read_varint(&mut reader)?;
            if count > reader.remaining() as u64 {
                return Err(reader.error("more write operations than bytes"));
            }
            let mut ops = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let tag = reader.byte()?;
                let table = read_id(&mut reader)?;
                let values = decode_row(&mut reader)?;
                ops.push(match tag {
                    OP_PUT => WriteOp::Put {
                        table,
                        row: Arc::new(Row::new(values)),
                    },
                    OP_DELETE => WriteOp::Delete { table, key: values },
                    _ => return Err(reader.error("unknown write operation tag")),
                });
            }
            Mutation::Write(ops)
        }
        _ => return Err(reader.error("unknown mutation tag")),
    };
    if !reader.is_empty() {
        return Err(reader.error("bytes left over after the mutation"));
    }
    Ok(mutation)
}

/// Checks that a decoded mutation fits the state it is replayed onto, so
/// that replay never applies half of something that cannot be applied.
pub(crate) fn check_mutation(state: &StoreState, mutation: &Mutation) -> Result<(), String> {
    let table_def = |id: TableId| {
        state
            .catalog()
            .table_by_id(id)
            .ok_or_else(|| format!("the record refers to table id {id}, which does not exist"))
    };
    match mutation {
        Mutation::CreateTable(def) => {
            if state.catalog().table(&def.name).is_some()
                || state.catalog().table_by_id(def.id).is_some()
            {
                return Err(format!(
                    "the record creates table `{}` (id {}), which already exists",
                    def.name, def.id
                ));
            }
        }
        Mutation::DropTable { table } => {
            table_def(*table)?;
        }
        Mutation::CreateIndex { table, index } => {
            let def = table_def(*table)?;
            if index.columns.iter().any(|&c| c >= def.columns.len()) {
                return Err(format!(
                    "index `{}` names a column past the {} columns of `{}`",
                    index.name,
                    def.columns.len(),
                    def.name
                ));
            }
        }
        Mutation::DropIndex { table, index } => {
            let def = table_def(*table)?;
            if def.index_by_id(*index).is_none() {
                return Err(format!("table `{}` has no index id {index}", def.name));
            }
        }
        Mutation::Write(ops) => {
            for op in ops {
                match op {
                    WriteOp::Put { table, row } => {
                        let def = table_def(*table)?;
                        if row.len() != def.columns.len() {
                            return Err(format!(
                                "a row of `{}` has {} values for {} columns",
                                def.name,
                                row.len(),
                                def.columns.len()
                            ));
                        }
                    }
                    WriteOp::Delete { table, key } => {
                        let def = table_def(*table)?;
                        if key.len() != def.primary_key.len() {
                            return Err(format!(
                                "a key of `{}` has {} values for a {}-column primary key",
                                def.name,
                                key.len(),
                                def.primary_key.len()
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, ColumnDef, IndexDef, TableSpec};
    use crate::value::{ColumnType, Value};

    fn samples() -> Vec<Mutation> {
        let spec = TableSpec::new(
            "t",
            vec![
                ColumnDef::new("id", ColumnType::Int),
                ColumnDef::new("name", ColumnType::Text),
            ],
            &["id"],
        );
        let def = Catalog::new().resolve_table(&spec).unwrap();
        vec![
            Mutation::CreateTable(def),
            Mutation::CreateIndex {
                table: 1,
                index: IndexDef {
                    id: 2,
                    name: "by_name".into(),
                    columns: vec![1],
                    unique: true,
                },
            },
            Mutation::Write(vec![
                WriteOp::Put {
                    table: 1,
                    row: Arc::new(Row::new(vec![Value::Int(7), Value::from("x")])),
                },
                WriteOp::Delete {
                    table: 1,
                    key: vec![Value::Int(8)],
                },
            ]),
            Mutation::DropIndex { table: 1, index: 2 },
            Mutation::DropTable { table: 1 },
        ]
    }

    #[test]
    fn mutations_round_trip_and_every_truncation_fails() {
        for m in samples() {
            let mut out = Vec::new();
            encode_mutation(&m, &mut out);
            assert_eq!(decode_mutation(&out).unwrap(), m);
            for cut in 0..out.len() {
                assert!(decode_mutation(&out[..cut]).is_err(), "{m:?} cut at {cut}");
            }
            out.push(0);
            assert!(decode_mutation(&out).is_err());
        }
    }
}
