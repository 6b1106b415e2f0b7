//! Top-k: `ORDER BY c, id LIMIT 100` on the unindexed column `c`. No
//! index gives the order, so every side makes one pass over every row
//! keeping a bounded heap (SQLite: its sorter with a LIMIT).

use keyset::{Query, SortDirection};

use super::{Env, PAGE, TABLE};
use crate::error::Result;
use crate::keyset_side::{self, Shape};
use crate::raw_side::top_k_into;
use crate::report::{Measurement, Unit};
use crate::sqlite_side::{self, SELECT_COLUMNS};
use crate::timing::Sides;

/// The column `c`'s position in the table.
const C_COLUMN: usize = 3;

pub fn top_k(env: &Env) -> Result<Vec<Measurement>> {
    let name = "top-k: ORDER BY unindexed c LIMIT 100";
    let query = Query::table(TABLE)
        .order_by("c", SortDirection::Asc)
        .order_by("id", SortDirection::Asc)
        .limit(PAGE);
    let plan = keyset_side::plan(&env.db, name, &query, Shape::TopK)?;
    let sql = format!("SELECT {SELECT_COLUMNS} FROM {TABLE} ORDER BY c, id LIMIT {PAGE}");
    env.explain(name, &plan, &sql)?;
    let mut stmt = env.sqlite.prepare(&sql)?;
    let raw = env.raw()?;
    let data = raw.data()?;
    let db = &env.db;
    let mut sides = Sides {
        keyset: Box::new(|_, sink| {
            keyset_side::page_into(db, &plan, None, sink)?;
            Ok(())
        }),
        sqlite: Box::new(|_, sink| {
            sqlite_side::rows_into(&mut stmt, [], sink)?;
            Ok(())
        }),
        raw: Some(Box::new(|_, sink| {
            top_k_into(&[data], C_COLUMN, PAGE, sink);
            Ok(())
        })),
    };
    Ok(vec![env.measure(
        name,
        Unit::MS_PER_QUERY,
        &mut sides,
        1,
        String::new(),
    )?])
}
