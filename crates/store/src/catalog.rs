//! The schema catalog: tables, their columns, primary key, secondary
//! indexes, shard count and partition column.
//!
//! The catalog is an immutable value: a DDL statement builds a new catalog
//! and the store publishes it. Table and index ids come from one counter
//! and are never reused, so a dropped and recreated index has a new id.
//! Names are case-insensitive and kept in lower case.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::bin::{read_str, read_varint, write_str, write_varint, Reader};
use crate::codec::CodecError;
use crate::error::{Result, StoreError};
use crate::key::{IndexId, TableId, MAX_INDEX_COLUMNS};
use crate::value::ColumnType;

/// Most shards a table may have.
pub const MAX_SHARDS: u32 = 256;
/// Most columns a table may have.
pub const MAX_COLUMNS: usize = 1024;

/// One column of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
}

impl ColumnDef {
    pub fn new(name: &str, ty: ColumnType) -> ColumnDef {
        ColumnDef {
            name: normalize_name(name),
            ty,
            nullable: true,
        }
    }

    pub fn not_null(mut self) -> ColumnDef {
        self.nullable = false;
        self
    }
}

/// A secondary index of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDef {
    pub id: IndexId,
    pub name: String,
    /// Positions of the indexed columns in the table, in index order.
    pub columns: Vec<usize>,
    pub unique: bool,
}

/// A table as the catalog knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDef {
    pub id: TableId,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Positions of the primary-key columns, in key order.
    pub primary_key: Vec<usize>,
    pub indexes: Vec<IndexDef>,
    pub shards: u32,
    /// Position of the column whose hash picks a row's shard; always a
    /// primary-key column, so a key alone tells its shard.
    pub partition_column: usize,
    /// Bumped on every schema change of this table (index created or
    /// dropped); plan signatures include it.
    pub generation: u64,
}

impl TableDef {
    /// The position of a column by (case-insensitive) name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        let name = normalize_name(name);
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn index_by_name(&self, name: &str) -> Option<&IndexDef> {
        let name = normalize_name(name);
        self.indexes.iter().find(|i| i.name == name)
    }

    pub fn index_by_id(&self, id: IndexId) -> Option<&IndexDef> {
        self.indexes.iter().find(|i| i.id == id)
    }

    /// The position of `column` inside the primary key, if it is part of it.
    pub fn primary_key_position(&self, column: usize) -> Option<usize> {
        self.primary_key.iter().position(|c| *c == column)
    }
}

/// What `CREATE TABLE` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSpec {
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub primary_key: Vec<String>,
    pub shards: u32,
    pub partition_by: Option<String>,
}

impl TableSpec {
    pub fn new(name: &str, columns: Vec<ColumnDef>, primary_key: &[&str]) -> TableSpec {
        TableSpec {
            name: normalize_name(name),
            columns,
            primary_key: primary_key.iter().map(|s| normalize_name(s)).collect(),
            shards: 1,
            partition_by: None,
        }
    }

    pub fn shards(mut self, shards: u32) -> TableSpec {
        self.shards = shards;
        self
    }

    pub fn partition_by(mut self, column: &str) -> TableSpec {
        self.partition_by = Some(normalize_name(column));
        self
    }
}

/// What `CREATE [UNIQUE] INDEX` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub unique: bool,
}

impl IndexSpec {
    pub fn new(name: &str, table: &str, columns: &[&str]) -> IndexSpec {
        IndexSpec {
            name: normalize_name(name),
            table: normalize_name(table),
            columns: columns.iter().map(|s| normalize_name(s)).collect(),
            unique: false,
        }
    }

    pub fn unique(mut self) -> IndexSpec {
        self.unique = true;
        self
    }
}

/// The whole schema at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    tables: BTreeMap<String, Arc<TableDef>>,
    next_id: u32,
}

/// Lower-cases an identifier (names are case-insensitive).
pub fn normalize_name(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Catalog {
    pub fn new() -> Catalog {
        Catalog {
            tables: BTreeMap::new(),
            next_id: 1,
        }
    }

    pub fn table(&self, name: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(&normalize_name(name))
    }

    pub fn table_by_id(&self, id: TableId) -> Option<&Arc<TableDef>> {
        self.tables.values().find(|t| t.id == id)
    }

    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableDef>> {
        self.tables.values()
    }

    /// The next id the catalog will hand out.
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// Checks a table spec and resolves it into a definition with a new id.
    pub fn resolve_table(&self, spec: &TableSpec) -> Result<TableDef> {
        let table = normalize_name(&spec.name);
        let invalid = |reason: String| StoreError::InvalidSchema {
            table: table.clone(),
            reason,
        };
        if self.tables.contains_key(&table) {
            return Err(StoreError::TableExists { table });
        }
        if spec.columns.is_empty() {
            return Err(invalid("a table needs at least one column".into()));
        }
        if spec.columns.len() > MAX_COLUMNS {
            return Err(invalid(format!("more than {MAX_COLUMNS} columns")));
        }
        let mut columns = spec.columns.clone();
        for c in &mut columns {
            c.name = normalize_name(&c.name);
        }
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].iter().any(|o| o.name == c.name) {
                return Err(invalid(format!("column `{}` is declared twice", c.name)));
            }
        }
        if spec.primary_key.is_empty() {
            return Err(invalid("a table needs a PRIMARY KEY".into()));
        }
        let mut primary_key = Vec::with_capacity(spec.primary_key.len());
        for name in &spec.primary_key {
            let pos = columns
                .iter()
                .position(|c| c.name == normalize_name(name))
                .ok_or_else(|| StoreError::UnknownColumn {
                    table: table.clone(),
                    column: name.clone(),
                })?;
            if primary_key.contains(&pos) {
                return Err(invalid(format!(
                    "`{name}` appears twice in the primary key"
                )));
            }
            primary_key.push(pos);
        }
        if primary_key.len() > MAX_INDEX_COLUMNS {
            return Err(invalid(format!(
                "the primary key has more than {MAX_INDEX_COLUMNS} columns"
            )));
        }
        for &pos in &primary_key {
            columns[pos].nullable = false;
        }
        if spec.shards == 0 || spec.shards > MAX_SHARDS {
            return Err(invalid(format!(
                "shards must be between 1 and {MAX_SHARDS}, not {}",
                spec.shards
            )));
        }
        let partition_column = match &spec.partition_by {
            None => primary_key[0],
            Some(name) => {
                let pos = columns
                    .iter()
                    .position(|c| c.name == normalize_name(name))
                    .ok_or_else(|| StoreError::UnknownColumn {
                        table: table.clone(),
                        column: name.clone(),
                    })?;
                if !primary_key.contains(&pos) {
                    return Err(invalid(format!(
                        "partition column `{name}` must be part of the primary key"
                    )));
                }
                pos
            }
        };
        Ok(TableDef {
            id: self.next_id,
            name: table,
            columns,
            primary_key,
            indexes: Vec::new(),
            shards: spec.shards,
            partition_column,
            generation: 1,
        })
    }

    /// Checks an index spec and resolves it into a definition with a new id.
    pub fn resolve_index(&self, spec: &IndexSpec) -> Result<(Arc<TableDef>, IndexDef)> {
        let table = self
            .table(&spec.table)
            .ok_or_else(|| StoreError::UnknownTable {
                table: spec.table.clone(),
            })?
            .clone();
        let name = normalize_name(&spec.name);
        if table.index_by_name(&name).is_some() {
            return Err(StoreError::IndexExists {
                table: table.name.clone(),
                index: name,
            });
        }
        let invalid = |reason: String| StoreError::InvalidSchema {
            table: table.name.clone(),
            reason,
        };
        if spec.columns.is_empty() {
            return Err(invalid("an index needs at least one column".into()));
        }
        if spec.columns.len() > MAX_INDEX_COLUMNS {
            return Err(invalid(format!(
                "index `{name}` has {} columns, over the limit of {MAX_INDEX_COLUMNS}",
                spec.columns.len()
            )));
        }
        let mut columns = Vec::with_capacity(spec.columns.len());
        for c in &spec.columns {
            let pos = table
                .column_index(c)
                .ok_or_else(|| StoreError::UnknownColumn {
                    table: table.name.clone(),
                    column: c.clone(),
                })?;
            if columns.contains(&pos) {
                return Err(invalid(format!("`{c}` appears twice in index `{name}`")));
            }
            columns.push(pos);
        }
        let def = IndexDef {
            id: self.next_id,
            name,
            columns,
            unique: spec.unique,
        };
        Ok((table, def))
    }

    /// Adds a resolved table. Used by the commit path and by replay.
    pub fn add_table(&mut self, def: TableDef) {
        self.next_id = self.next_id.max(def.id + 1);
        for index in &def.indexes {
            self.next_id = self.next_id.max(index.id + 1);
        }
        self.tables.insert(def.name.clone(), Arc::new(def));
    }

    /// Removes a table by id; returns its definition.
    pub fn remove_table(&mut self, id: TableId) -> Option<Arc<TableDef>> {
        let name = self.table_by_id(id)?.name.clone();
        self.tables.remove(&name)
    }

    /// Adds a resolved index to its table and bumps the table's generation.
    pub fn add_index(&mut self, table: TableId, index: IndexDef) -> Option<Arc<TableDef>> {
        let mut def = (**self.table_by_id(table)?).clone();
        self.next_id = self.next_id.max(index.id + 1);
        def.indexes.push(index);
        def.generation += 1;
        let def = Arc::new(def);
        self.tables.insert(def.name.clone(), def.clone());
        Some(def)
    }

    /// Removes an index from its table and bumps the table's generation.
    pub fn remove_index(&mut self, table: TableId, index: IndexId) -> Option<Arc<TableDef>> {
        let mut def = (**self.table_by_id(table)?).clone();
        let before = def.indexes.len();
        def.indexes.retain(|i| i.id != index);
        if def.indexes.len() == before {
            return None;
        }
        def.generation += 1;
        let def = Arc::new(def);
        self.tables.insert(def.name.clone(), def.clone());
        Some(def)
    }

    /// Reserves the id a resolved table or index was given.
    pub fn reserve_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Encodes the catalog (for snapshots).
    pub fn encode(&self, out: &mut Vec<u8>) {
        write_varint(u64::from(self.next_id), out);
        write_varint(self.tables.len() as u64, out);
        for def in self.tables.values() {
            encode_table(def, out);
        }
    }

    /// Decodes a catalog written by [`Catalog::encode`].
    pub fn decode(reader: &mut Reader<'_>) -> Result<Catalog, CodecError> {
        let next_id = read_u32_varint(reader)?;
        let count = read_varint(reader)?;
        let mut catalog = Catalog {
            tables: BTreeMap::new(),
            next_id,
        };
        for _ in 0..count {
            let def = decode_table(reader)?;
            catalog.tables.insert(def.name.clone(), Arc::new(def));
        }
        Ok(catalog)
    }
}

/// Encodes one table definition.
pub fn encode_table(def: &TableDef, out: &mut Vec<u8>) {
    write_varint(u64::from(def.id), out);
    write_str(&def.name, out);
    write_varint(def.columns.len() as u64, out);
    for c in &def.columns {
        write_str(&c.name, out);
        out.push(c.ty.code());
        out.push(u8::from(c.nullable));
    }
    write_positions(&def.primary_key, out);
    write_varint(def.indexes.len() as u64, out);
    for i in &def.indexes {
        encode_index(i, out);
    }
    write_varint(u64::from(def.shards), out);
    write_varint(def.partition_column as u64, out);
    write_varint(def.generation, out);
}

/// Decodes one table definition, checking that every position is in range.
pub fn decode_table(reader: &mut Reader<'_>) -> Result<TableDef, CodecError> {
    let id = read_u32_varint(reader)?;
    let name = read_str(reader)?;
    let column_count = read_varint(reader)?;
    if column_count == 0 || column_count > MAX_COLUMNS as u64 {
        return Err(reader.error("table has an impossible column count"));
    }
    let mut columns = Vec::with_capacity(column_count as usize);
    for _ in 0..column_count {
        let name = read_str(reader)?;
        let ty = ColumnType::from_code(reader.byte()?)
            .ok_or_else(|| reader.error("unknown column type code"))?;
        let nullable = match reader.byte()? {
            0 => false,
            1 => true,
            _ => return Err(reader.error("bad nullable flag")),
        };
        columns.push(ColumnDef { name, ty, nullable });
    }
    let primary_key = read_positions(reader, columns.len())?;
    if primary_key.is_empty() {
        return Err(reader.error("table has no primary key"));
    }
    let index_count = read_varint(reader)?;
    let mut indexes = Vec::new();
    for _ in 0..index_count.min(1 << 16) {
        indexes.push(decode_index(reader, columns.len())?);
    }
    let shards = read_u32_varint(reader)?;
    if shards == 0 || shards > MAX_SHARDS {
        return Err(reader.error("table has an impossible shard count"));
    }
    let partition_column = read_varint(reader)? as usize;
    if !primary_key.contains(&partition_column) {
        return Err(reader.error("partition column is not a primary-key column"));
    }
    let generation = read_varint(reader)?;
    Ok(TableDef {
        id,
        name,
        columns,
        primary_key,
        indexes,
        shards,
        partition_column,
        generation,
    })
}

/// Encodes one index definition.
pub fn encode_index(def: &IndexDef, out: &mut Vec<u8>) {
    write_varint(u64::from(def.id), out);
    write_str(&def.name, out);
    write_positions(&def.columns, out);
    out.push(u8::from(def.unique));
}

/// Decodes one index definition of a table with `column_count` columns.
pub fn decode_index(reader: &mut Reader<'_>, column_count: usize) -> Result<IndexDef, CodecError> {
    let id = read_u32_varint(reader)?;
    let name = read_str(reader)?;
    let columns = read_positions(reader, column_count)?;
    if columns.is_empty() || columns.len() > MAX_INDEX_COLUMNS {
        return Err(reader.error("index has an impossible column count"));
    }
    let unique = match reader.byte()? {
        0 => false,
        1 => true,
        _ => return Err(reader.error("bad unique flag")),
    };
    Ok(IndexDef {
        id,
        name,
        columns,
        unique,
    })
}

fn write_positions(positions: &[usize], out: &mut Vec<u8>) {
    write_varint(positions.len() as u64, out);
    for p in positions {
        write_varint(*p as u64, out);
    }
}

fn read_positions(reader: &mut Reader<'_>, column_count: usize) -> Result<Vec<usize>, CodecError> {
    let count = read_varint(reader)?;
    if count > column_count as u64 {
        return Err(reader.error("more key columns than table columns"));
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let p = read_varint(reader)?;
        if p >= column_count as u64 {
            return Err(reader.error("column position out of range"));
        }
        out.push(p as usize);
    }
    Ok(out)
}

fn read_u32_varint(reader: &mut Reader<'_>) -> Result<u32, CodecError> {
    u32::try_from(read_varint(reader)?).map_err(|_| reader.error("id does not fit in 32 bits"))
}
