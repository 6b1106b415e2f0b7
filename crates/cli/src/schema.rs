//! A table's definition written back as the SQL that creates it
//! (`CREATE TABLE ... WITH (...)` and its `CREATE [UNIQUE] INDEX`es), for the
//! shell's `.schema` and `.tables`. It reads the catalog only; the text is
//! accepted by keyset's own SQL (checked by the tests below).

use keyset::TableDef;

/// A name as SQL: bare when it is a plain lowercase identifier, otherwise
/// double-quoted.
fn name(text: &str) -> String {
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        text.to_owned()
    } else {
        format!("\"{}\"", text.replace('"', "\"\""))
    }
}

fn column_list(table: &TableDef, positions: &[usize]) -> String {
    positions
        .iter()
        .filter_map(|&p| table.columns.get(p))
        .map(|c| name(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The CREATE TABLE statement of `table`, then one CREATE INDEX per index,
/// each ending in `;` on its own line.
pub fn create_statements(table: &TableDef) -> String {
    let mut parts: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let null = if c.nullable { "" } else { " NOT NULL" };
            format!("  {} {}{null}", name(&c.name), c.ty.name())
        })
        .collect();
    parts.push(format!(
        "  PRIMARY KEY ({})",
        column_list(table, &table.primary_key)
    ));
    let mut options = Vec::new();
    if table.shards > 1 {
        options.push(format!("shards = {}", table.shards));
    }
    if table.primary_key.first() != Some(&table.partition_column) {
        if let Some(column) = table.columns.get(table.partition_column) {
            options.push(format!("partition_by = {}", name(&column.name)));
        }
    }
    let with = if options.is_empty() {
        String::new()
    } else {
        format!(" WITH ({})", options.join(", "))
    };
    let mut text = format!(
        "CREATE TABLE {} (\n{}\n){with};\n",
        name(&table.name),
        parts.join(",\n")
    );
    for index in &table.indexes {
        let unique = if index.unique { "UNIQUE " } else { "" };
        text.push_str(&format!(
            "CREATE {unique}INDEX {} ON {} ({});\n",
            name(&index.name),
            name(&table.name),
            column_list(table, &index.columns)
        ));
    }
    text
}

/// One line about a table: its columns, shards and indexes.
pub fn summary(table: &TableDef) -> String {
    let indexes: Vec<&str> = table.indexes.iter().map(|i| i.name.as_str()).collect();
    let shards = if table.shards == 1 {
        "1 shard".to_owned()
    } else {
        format!("{} shards", table.shards)
    };
    let indexes = if indexes.is_empty() {
        "no index".to_owned()
    } else {
        format!("indexes: {}", indexes.join(", "))
    };
    format!(
        "{}  ({} columns, {shards}, {indexes})",
        table.name,
        table.columns.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyset::Db;

    fn recreate(sql: &str) -> Db {
        let db = Db::memory().expect("memory db");
        for statement in keyset_sql::split_statements(sql).expect("split") {
            db.execute(&statement)
                .unwrap_or_else(|e| panic!("`{statement}` is refused: {e}"));
        }
        db
    }

    #[test]
    fn the_text_recreates_the_same_table() {
        let original = recreate(
            "CREATE TABLE \"Odd Name\" (a INT NOT NULL, b TEXT, c FLOAT, d BYTES, e BOOL NOT NULL, \
             PRIMARY KEY (a, e)) WITH (shards = 3, partition_by = e);
             CREATE UNIQUE INDEX by_b ON \"Odd Name\" (b);
             CREATE INDEX by_c_d ON \"Odd Name\" (c, d);",
        );
        let table = original.table("odd name").expect("table exists");
        let text = create_statements(&table);
        let copy = recreate(&text);
        let again = copy.table("odd name").expect("recreated");
        assert_eq!(again.columns, table.columns, "{text}");
        assert_eq!(again.primary_key, table.primary_key, "{text}");
        assert_eq!(again.shards, table.shards, "{text}");
        assert_eq!(again.partition_column, table.partition_column, "{text}");
        let shape = |t: &TableDef| {
            t.indexes
                .iter()
                .map(|i| (i.name.clone(), i.columns.clone(), i.unique))
                .collect::<Vec<_>>()
        };
        assert_eq!(shape(&again), shape(&table), "{text}");
    }

    #[test]
    fn a_plain_table_has_no_with_clause() {
        let db = recreate("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)");
        let text = create_statements(&db.table("t").expect("t"));
        assert!(!text.contains("WITH"), "{text}");
        assert!(text.contains("PRIMARY KEY (id)"), "{text}");
        assert_eq!(
            summary(&db.table("t").expect("t")),
            "t  (2 columns, 1 shard, no index)"
        );
    }
}
