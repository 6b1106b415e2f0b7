//! CREATE TABLE (typed columns, NOT NULL, a column or table PRIMARY KEY,
//! `WITH (shards = N, partition_by = col)`), CREATE [UNIQUE] INDEX, DROP
//! TABLE and DROP INDEX. Checks against the existing schema (a table that
//! exists, a primary key naming a missing column) belong to the catalog.

use keyset_plan::Statement;
use keyset_store::catalog::MAX_SHARDS;
use keyset_store::{ColumnDef, ColumnType, IndexSpec, TableSpec, Value};
use sqlparser::ast::{
    self, ColumnOption, CreateTableOptions, DataType, IndexColumn, ObjectType, SqlOption,
    TableConstraint,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use crate::error::{Pos, SqlError};
use crate::literal::{literal, quote};
use crate::names::{column, defined, ident, ident_pos, object_name};

/// Converts `CREATE TABLE`.
pub(crate) fn create_table(
    create: &ast::CreateTable,
    fallback: Pos,
) -> Result<Statement, SqlError> {
    let named = [
        (create.or_replace, "CREATE OR REPLACE TABLE"),
        (create.temporary, "CREATE TEMPORARY TABLE"),
        (create.external, "CREATE EXTERNAL TABLE"),
        (
            create.if_not_exists,
            "CREATE TABLE IF NOT EXISTS (keyset reports an existing table as an error)",
        ),
        (create.query.is_some(), "CREATE TABLE ... AS SELECT"),
        (create.like.is_some(), "CREATE TABLE ... LIKE"),
        (create.clone.is_some(), "CREATE TABLE ... CLONE"),
        (create.comment.is_some(), "table COMMENT"),
        (create.without_rowid, "WITHOUT ROWID"),
        (create.strict, "STRICT tables"),
    ];
    if let Some((_, construct)) = named.iter().find(|(present, _)| *present) {
        return Err(SqlError::unsupported(*construct, fallback));
    }
    let name = defined(
        object_name(&create.name, fallback)?,
        "a table",
        Pos::at(&create.name, fallback),
    )?;
    let mut columns = Vec::with_capacity(create.columns.len());
    let mut primary_key: Option<Vec<String>> = None;
    for def in &create.columns {
        let pos = ident_pos(&def.name, fallback);
        let (column, is_key) = column_def(def, pos)?;
        if is_key {
            if primary_key.is_some() {
                return Err(SqlError::invalid("a table has one PRIMARY KEY", pos));
            }
            primary_key = Some(vec![column.name.clone()]);
        }
        columns.push(column);
    }
    for constraint in &create.constraints {
        let pos = Pos::at(constraint, fallback);
        let key = key_constraint(constraint, pos)?;
        if primary_key.is_some() {
            return Err(SqlError::invalid("a table has one PRIMARY KEY", pos));
        }
        primary_key = Some(key);
    }
    let primary_key = primary_key.unwrap_or_default();
    for def in &create.columns {
        let declared_null = def
            .options
            .iter()
            .any(|o| matches!(o.option, ColumnOption::Null));
        if declared_null && primary_key.contains(&ident(&def.name)) {
            return Err(SqlError::invalid(
                format!(
                    "primary-key column `{}` cannot be declared NULL",
                    ident(&def.name)
                ),
                ident_pos(&def.name, fallback),
            ));
        }
    }
    let mut spec = TableSpec {
        name,
        columns,
        primary_key,
        shards: 1,
        partition_by: None,
    };
    table_options(&mut spec, &create.table_options, fallback)?;
    // Last, once columns and options are known to hold no expressions.
    if let Some(construct) = other_clause(create) {
        return Err(SqlError::unsupported(construct, fallback));
    }
    Ok(Statement::CreateTable(spec))
}

/// A clause of sqlparser's CREATE TABLE that keyset does not name above:
/// the statement is compared with a plain `CREATE TABLE` carrying the same
/// name, columns, constraints and options.
fn other_clause(create: &ast::CreateTable) -> Option<String> {
    const PLAIN: &str = "CREATE TABLE t (c INT)";
    let plain = match Parser::parse_sql(&GenericDialect {}, PLAIN).ok()?.pop()? {
        ast::Statement::CreateTable(plain) => plain,
        _ => return None,
    };
    let same = ast::CreateTable {
        name: create.name.clone(),
        columns: create.columns.clone(),
        constraints: create.constraints.clone(),
        table_options: create.table_options.clone(),
        ..plain
    };
    if same == *create {
        return None;
    }
    let plain_text = ast::Statement::CreateTable(same).to_string();
    let full_text = ast::Statement::CreateTable(create.clone()).to_string();
    let common = plain_text
        .char_indices()
        .zip(full_text.chars())
        .find(|((_, a), b)| a != b)
        .map_or(plain_text.len(), |((i, _), _)| i);
    let extra = full_text.get(common..).unwrap_or("").trim();
    Some(format!("CREATE TABLE clause {}", quote(extra)))
}

/// One column: its definition and whether it is declared PRIMARY KEY.
fn column_def(def: &ast::ColumnDef, pos: Pos) -> Result<(ColumnDef, bool), SqlError> {
    let ty = column_type(&def.data_type, pos)?;
    let mut column = ColumnDef::new(&defined(ident(&def.name), "a column", pos)?, ty);
    let mut is_key = false;
    let mut nullability: Option<bool> = None;
    for option in &def.options {
        let opt_pos = Pos::at(option, pos);
        if let Some(name) = &option.name {
            return Err(SqlError::unsupported(
                format!("named constraint `CONSTRAINT {name}`"),
                opt_pos,
            ));
        }
        let nullable = match &option.option {
            ColumnOption::NotNull => Some(false),
            ColumnOption::Null => Some(true),
            ColumnOption::Unique {
                is_primary: true,
                characteristics: None,
            } => {
                if is_key {
                    return Err(SqlError::invalid("PRIMARY KEY is declared twice", opt_pos));
                }
                is_key = true;
                None
            }
            other => return Err(SqlError::unsupported(column_option(other), opt_pos)),
        };
        if let Some(nullable) = nullable {
            if nullability.is_some_and(|n| n != nullable) {
                return Err(SqlError::invalid(
                    format!(
                        "column `{}` is declared both NULL and NOT NULL",
                        column.name
                    ),
                    opt_pos,
                ));
            }
            nullability = Some(nullable);
        }
    }
    column.nullable = nullability.unwrap_or(true);
    Ok((column, is_key))
}

fn column_option(option: &ColumnOption) -> String {
    match option {
        ColumnOption::Default(_) => "DEFAULT values".to_owned(),
        ColumnOption::Check(_) => "CHECK constraint".to_owned(),
        ColumnOption::ForeignKey { .. } => "FOREIGN KEY (REFERENCES)".to_owned(),
        ColumnOption::Unique {
            is_primary: false, ..
        } => "UNIQUE column constraint (use CREATE UNIQUE INDEX)".to_owned(),
        ColumnOption::Unique { .. } => "constraint characteristics (DEFERRABLE ...)".to_owned(),
        ColumnOption::Generated { .. } | ColumnOption::Identity(_) => {
            "generated or identity column".to_owned()
        }
        ColumnOption::Collation(_) => "COLLATE".to_owned(),
        ColumnOption::Comment(_) => "column COMMENT".to_owned(),
        other => format!("column option {}", quote(&other.to_string())),
    }
}

/// The keyset type of a SQL column type.
fn column_type(data_type: &DataType, pos: Pos) -> Result<ColumnType, SqlError> {
    use ast::ExactNumberInfo as N;
    Ok(match data_type {
        DataType::Int(None) | DataType::Integer(None) | DataType::BigInt(None) => ColumnType::Int,
        DataType::Float(N::None) | DataType::Real | DataType::Double(N::None) => ColumnType::Float,
        DataType::DoublePrecision => ColumnType::Float,
        DataType::Text | DataType::Varchar(_) | DataType::String(None) => ColumnType::Text,
        DataType::Bytes(None) | DataType::Blob(None) | DataType::Bytea => ColumnType::Bytes,
        DataType::Bool | DataType::Boolean => ColumnType::Bool,
        other => {
            return Err(SqlError::unsupported(
                format!("column type `{other}` (use INT, FLOAT, TEXT, BYTES or BOOL)"),
                pos,
            ))
        }
    })
}

/// A table-level `PRIMARY KEY (a, b)`: its columns.
fn key_constraint(constraint: &TableConstraint, pos: Pos) -> Result<Vec<String>, SqlError> {
    let TableConstraint::PrimaryKey {
        name,
        index_name,
        index_type,
        columns,
        index_options,
        characteristics,
    } = constraint
    else {
        let construct = match constraint {
            TableConstraint::Unique { .. } => "UNIQUE table constraint (use CREATE UNIQUE INDEX)",
            TableConstraint::ForeignKey { .. } => "FOREIGN KEY",
            TableConstraint::Check { .. } => "CHECK constraint",
            _ => "INDEX inside CREATE TABLE (use CREATE INDEX)",
        };
        return Err(SqlError::unsupported(construct, pos));
    };
    if let Some(name) = name {
        return Err(SqlError::unsupported(
            format!("named constraint `CONSTRAINT {name}`"),
            pos,
        ));
    }
    if index_name.is_some()
        || index_type.is_some()
        || !index_options.is_empty()
        || characteristics.is_some()
    {
        return Err(SqlError::unsupported("PRIMARY KEY options", pos));
    }
    index_columns(columns, "PRIMARY KEY", pos)
}

/// Plain column names of a key or index column list.
fn index_columns(columns: &[IndexColumn], what: &str, pos: Pos) -> Result<Vec<String>, SqlError> {
    let mut names: Vec<String> = Vec::with_capacity(columns.len());
    for c in columns {
        let c_pos = Pos::at(&c.column, pos);
        let name = match column(&c.column.expr, pos) {
            Some(name) => name?,
            None => {
                return Err(SqlError::unsupported(
                    format!("expression in {what} (name columns only)"),
                    c_pos,
                ))
            }
        };
        if c.operator_class.is_some() || c.column.with_fill.is_some() {
            return Err(SqlError::unsupported(
                format!("{what} column options"),
                c_pos,
            ));
        }
        if c.column.options.asc == Some(false) || c.column.options.nulls_first.is_some() {
            return Err(SqlError::unsupported(
                format!("DESC or NULLS FIRST/LAST in {what} (keys are read in both directions)"),
                c_pos,
            ));
        }
        if names.contains(&name) {
            return Err(SqlError::invalid(
                format!("column `{name}` appears twice in the {what}"),
                c_pos,
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// `WITH (shards = N, partition_by = column)`.
fn table_options(
    spec: &mut TableSpec,
    options: &CreateTableOptions,
    fallback: Pos,
) -> Result<(), SqlError> {
    let list = match options {
        CreateTableOptions::None => return Ok(()),
        CreateTableOptions::With(list) => list,
        other => {
            return Err(SqlError::unsupported(
                format!("table options {}", quote(&other.to_string())),
                fallback,
            ))
        }
    };
    let mut seen: Vec<String> = Vec::new();
    for option in list {
        let pos = Pos::at(option, fallback);
        let SqlOption::KeyValue { key, value } = option else {
            return Err(SqlError::unsupported(
                format!("table option {}", quote(&option.to_string())),
                pos,
            ));
        };
        let name = ident(key);
        if seen.contains(&name) {
            return Err(SqlError::invalid_option(name, "given twice", pos));
        }
        match name.as_str() {
            "shards" => spec.shards = shard_count(value, pos)?,
            "partition_by" => {
                spec.partition_by = Some(match (column(value, pos), literal(value, pos)) {
                    (Some(name), _) => name?,
                    (None, Ok(Value::Text(name))) => name.to_ascii_lowercase(),
                    _ => {
                        return Err(SqlError::invalid_option(
                            "partition_by",
                            format!(
                                "expected a column name, found {}",
                                quote(&value.to_string())
                            ),
                            pos,
                        ))
                    }
                })
            }
            _ => {
                return Err(SqlError::unsupported(
                    format!("table option `{name}` (known: shards, partition_by)"),
                    pos,
                ))
            }
        }
        seen.push(name);
    }
    Ok(())
}

fn shard_count(value: &ast::Expr, pos: Pos) -> Result<u32, SqlError> {
    match literal(value, pos) {
        Ok(Value::Int(n)) if (1..=i64::from(MAX_SHARDS)).contains(&n) => {
            u32::try_from(n).map_err(|_| bad_shards(value, pos))
        }
        _ => Err(bad_shards(value, pos)),
    }
}

fn bad_shards(value: &ast::Expr, pos: Pos) -> SqlError {
    SqlError::invalid_option(
        "shards",
        format!(
            "expected a whole number from 1 to {MAX_SHARDS}, found {}",
            quote(&value.to_string())
        ),
        pos,
    )
}

/// Converts `CREATE [UNIQUE] INDEX name ON t (a, b)`.
pub(crate) fn create_index(
    create: &ast::CreateIndex,
    fallback: Pos,
) -> Result<Statement, SqlError> {
    let ast::CreateIndex {
        name,
        table_name,
        using,
        columns,
        unique,
        concurrently,
        if_not_exists,
        include,
        nulls_distinct,
        with,
        predicate,
        index_options,
        alter_options,
    } = create;
    let unsupported = if *if_not_exists {
        Some("CREATE INDEX IF NOT EXISTS (keyset reports an existing index as an error)")
    } else if *concurrently {
        Some("CREATE INDEX CONCURRENTLY")
    } else if using.is_some() {
        Some("index method USING ...")
    } else if !include.is_empty() {
        Some("INCLUDE columns")
    } else if nulls_distinct.is_some() {
        Some("NULLS [NOT] DISTINCT")
    } else if !with.is_empty() || !index_options.is_empty() || !alter_options.is_empty() {
        Some("index options")
    } else if predicate.is_some() {
        Some("partial index (CREATE INDEX ... WHERE)")
    } else {
        None
    };
    if let Some(construct) = unsupported {
        return Err(SqlError::unsupported(construct, fallback));
    }
    let Some(name) = name else {
        return Err(SqlError::unsupported(
            "CREATE INDEX without a name",
            fallback,
        ));
    };
    Ok(Statement::CreateIndex(IndexSpec {
        name: defined(
            object_name(name, fallback)?,
            "an index",
            Pos::at(name, fallback),
        )?,
        table: object_name(table_name, fallback)?,
        columns: index_columns(columns, "index", fallback)?,
        unique: *unique,
    }))
}

/// Converts `DROP TABLE [IF EXISTS] t` and `DROP INDEX [IF EXISTS] i [ON t]`.
pub(crate) fn drop(stmt: &ast::Statement, fallback: Pos) -> Result<Statement, SqlError> {
    let ast::Statement::Drop {
        object_type,
        if_exists,
        names,
        cascade,
        restrict,
        purge,
        temporary,
        table,
    } = stmt
    else {
        return Err(SqlError::unsupported("statement", fallback));
    };
    let unsupported = match object_type {
        ObjectType::Table | ObjectType::Index => None,
        other => Some(format!("DROP {other}")),
    }
    .or_else(|| (*cascade).then(|| "DROP ... CASCADE".to_owned()))
    .or_else(|| (*restrict).then(|| "DROP ... RESTRICT".to_owned()))
    .or_else(|| (*purge).then(|| "DROP ... PURGE".to_owned()))
    .or_else(|| (*temporary).then(|| "DROP TEMPORARY".to_owned()));
    if let Some(construct) = unsupported {
        return Err(SqlError::unsupported(construct, fallback));
    }
    if *object_type == ObjectType::Table && table.is_some() {
        return Err(SqlError::unsupported("DROP TABLE ... ON", fallback));
    }
    let name = match names.as_slice() {
        [name] => object_name(name, fallback)?,
        [_, second, ..] => {
            return Err(SqlError::unsupported(
                "dropping several objects in one statement",
                Pos::at(second, fallback),
            ))
        }
        [] => return Err(SqlError::syntax("DROP without a name", fallback)),
    };
    Ok(match object_type {
        ObjectType::Table => Statement::DropTable {
            table: name,
            if_exists: *if_exists,
        },
        _ => Statement::DropIndex {
            index: name,
            table: table
                .as_ref()
                .map(|t| object_name(t, fallback))
                .transpose()?,
            if_exists: *if_exists,
        },
    })
}
