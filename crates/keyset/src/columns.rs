//! The column names of the pages of a plan run with `Db::page`: built once
//! per table schema and projection, not once a page (a page of one row
//! spent more time copying its column names than reading its row). It
//! holds names only, never rows; a schema change makes new `TableDef`s, so
//! an entry of an old schema is simply never found again and ages out.

use std::sync::{Arc, RwLock};

use keyset_plan::Plan;
use keyset_store::TableDef;

use crate::db::projected_columns;

/// Distinct (table schema, projection) pairs kept; the oldest goes first.
pub const COLUMN_NAMES_CAPACITY: usize = 16;

/// Recently used column names, by table schema and projection.
#[derive(Debug, Default)]
pub(crate) struct ColumnNames {
    recent: RwLock<Vec<Entry>>,
}

#[derive(Debug)]
struct Entry {
    /// The schema the names were built from; compared by identity, so a
    /// plan of another schema (or a hand-made `TableDef`) never matches.
    table: Arc<TableDef>,
    projection: Vec<usize>,
    names: Arc<[String]>,
}

impl ColumnNames {
    /// The names of the columns `plan` projects, in order.
    pub(crate) fn of(&self, plan: &Plan) -> Arc<[String]> {
        let found = |entries: &[Entry]| {
            entries
                .iter()
                .find(|e| Arc::ptr_eq(&e.table, &plan.table) && e.projection == plan.projection)
                .map(|e| e.names.clone())
        };
        if let Some(names) = found(&self.recent.read().unwrap_or_else(|e| e.into_inner())) {
            return names;
        }
        let names = projected_columns(plan);
        let mut recent = self.recent.write().unwrap_or_else(|e| e.into_inner());
        if found(&recent).is_none() {
            if recent.len() >= COLUMN_NAMES_CAPACITY {
                recent.remove(0);
            }
            recent.push(Entry {
                table: plan.table.clone(),
                projection: plan.projection.clone(),
                names: names.clone(),
            });
        }
        names
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.recent.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Db;

    fn plan_of(db: &Db, sql: &str) -> Plan {
        let keyset_plan::Statement::Select(query) = keyset_sql::parse_one(sql).unwrap() else {
            panic!("not a SELECT");
        };
        db.plan(&query).unwrap()
    }

    #[test]
    fn names_are_built_once_per_schema_and_projection() {
        let db = Db::memory().unwrap();
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, b TEXT)")
            .unwrap();
        let names = ColumnNames::default();
        let whole = plan_of(&db, "SELECT * FROM t WHERE id = 1");
        let first = names.of(&whole);
        assert_eq!(&first[..], ["id", "a", "b"]);
        let again = names.of(&plan_of(&db, "SELECT * FROM t WHERE id = 2"));
        assert!(
            Arc::ptr_eq(&first, &again),
            "the same schema and projection share names"
        );
        assert_eq!(names.len(), 1);

        let part = names.of(&plan_of(&db, "SELECT b, id FROM t WHERE id = 1"));
        assert_eq!(&part[..], ["b", "id"]);
        assert_eq!(names.len(), 2);

        // A schema change makes a new table definition: new names, built
        // from it.
        db.execute("DROP TABLE t").unwrap();
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, c INT)")
            .unwrap();
        let changed = names.of(&plan_of(&db, "SELECT * FROM t WHERE id = 1"));
        assert_eq!(&changed[..], ["id", "c"]);
        assert_eq!(names.len(), 3);
    }

    #[test]
    fn the_oldest_entry_goes_first_past_capacity() {
        let db = Db::memory().unwrap();
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)")
            .unwrap();
        let names = ColumnNames::default();
        let projections = ["id", "a", "b", "id, a", "a, id", "id, b", "b, id", "a, b"];
        let mut plans = Vec::new();
        for round in 0..3 {
            for p in projections {
                let plan = plan_of(&db, &format!("SELECT {p} FROM t WHERE id = {round}"));
                let got = names.of(&plan);
                let want: Vec<&str> = p.split(", ").collect();
                assert_eq!(&got[..], want.as_slice());
                plans.push(plan);
            }
            // A new schema for each round: 8 new entries a round.
            db.execute(&format!("CREATE INDEX i{round} ON t (a)"))
                .unwrap();
        }
        assert_eq!(names.len(), COLUMN_NAMES_CAPACITY);
        // The first round's entries were evicted, its plans still get the
        // right names.
        assert_eq!(&names.of(&plans[0])[..], ["id"]);
    }
}
