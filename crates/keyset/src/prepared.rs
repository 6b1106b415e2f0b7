//! Prepared statements and the `Db` calls that take parameter values.
//!
//! A statement is parsed once ([`Parsed`]: the statement with its
//! placeholders standing as NULL, and where they are). Each run binds the
//! values (`keyset_plan::bind_params`, which type-checks each one against
//! its column) and plans. A SELECT whose values are all literals (LIMIT and
//! OFFSET may still be placeholders) keeps its plan until its table's
//! schema changes, then replans by itself; one whose filter is an AND of
//! equalities keeps its plan too and only rewrites the values in it
//! (`keyset_plan::replan_with`). Plan signatures are computed
//! from the plan with its values bound, so a cursor from one set of values
//! is refused for another. A SELECT that fixes the whole primary key by
//! equalities (`keyset_plan::PointTemplate`) skips even that on a first
//! page: its values make the key, and one lookup in the current view makes
//! the page the executor would (no cursor, since nothing follows the only
//! key).

use std::fmt;
use std::sync::{Arc, Mutex};

use keyset_executor::{Cursor, PointRead, StopReason};
use keyset_plan::{
    bind_params, bind_window, ParamSlots, Params, Plan, PlanError, PointTemplate, Query, Statement,
};
use keyset_store::{Catalog, ColumnType, TableDef};

use crate::db::{projected_columns, projects_whole, result_row, Db, Outcome};
use crate::error::{Error, Result};
use crate::page::Page;
use crate::stream::RowStream;

/// A statement parsed once, shared by the statement cache and the
/// [`PreparedStatement`]s made from the same SQL text.
pub(crate) struct Parsed {
    template: Statement,
    slots: ParamSlots,
    /// The plan kept for the next run, while its table's schema is unchanged.
    kept: Mutex<Option<Planned>>,
}

/// A plan with the names of the columns its pages carry (built once per
/// plan kept, not once a page), and its point get if it is one.
#[derive(Clone, Debug)]
struct Planned {
    plan: Plan,
    columns: Arc<[String]>,
    point: Option<Arc<PointGet>>,
}

impl Planned {
    /// `plan`, the plan of `parsed`'s template bound to some values.
    fn new(plan: Plan, parsed: &Parsed) -> Planned {
        let columns = projected_columns(&plan);
        let point = PointTemplate::derive(&parsed.template, &parsed.slots, &plan).map(|template| {
            Arc::new(PointGet {
                whole: projects_whole(&plan),
                template,
                table: plan.table.clone(),
                projection: plan.projection.clone(),
                columns: columns.clone(),
            })
        });
        Planned {
            plan,
            columns,
            point,
        }
    }
}

/// A kept plan that is a lookup of one primary key, whatever the values:
/// what a first page of it needs besides the key.
#[derive(Debug)]
struct PointGet {
    template: PointTemplate,
    /// The table as planned: a page is made only while its schema is
    /// unchanged.
    table: Arc<TableDef>,
    projection: Vec<usize>,
    columns: Arc<[String]>,
    /// Whether the projection is every column in table order.
    whole: bool,
}

impl PointGet {
    /// The first page of the lookup of `key`: the row, if any, and no
    /// cursor (the executor's point page, `keyset_executor::point_lookup`).
    fn page(&self, read: PointRead) -> Page {
        Page {
            columns: self.columns.clone(),
            rows: read
                .row
                .map(|row| result_row(&self.columns, &self.projection, self.whole, row))
                .into_iter()
                .collect(),
            next: None,
            prev: None,
            stop: StopReason::Exhausted,
            stats: read.stats,
        }
    }
}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parsed")
            .field("template", &self.template)
            .field("slots", &self.slots)
            .finish()
    }
}

impl Parsed {
    pub(crate) fn new(sql: &str) -> Result<Parsed> {
        let (template, slots) = keyset_sql::parse_params(sql)?;
        Ok(Parsed {
            template,
            slots,
            kept: Mutex::new(None),
        })
    }

    /// The template's query, if it is a SELECT (or EXPLAIN SELECT).
    fn query(&self) -> Option<&Query> {
        match &self.template {
            Statement::Select(q) | Statement::Explain(q) => Some(q),
            _ => None,
        }
    }

    /// One page of the SELECT with `params` bound.
    fn page(&self, db: &Db, params: &Params, cursor: Option<&Cursor>) -> Result<Page> {
        if cursor.is_none() {
            if let Some(page) = self.point_page(db, params) {
                return Ok(page);
            }
        }
        let planned = self.planned(db, params)?;
        db.page_projected(&planned.plan, cursor, db.exec_context(), planned.columns)
    }

    /// The first page of a point get by one lookup in the current view,
    /// without binding or planning: `None` (bind and plan in full) unless
    /// the kept plan is a point get, its table's schema is unchanged and
    /// the values make a key by themselves (`PointTemplate::key`).
    fn point_page(&self, db: &Db, params: &Params) -> Option<Page> {
        // A cluster's rows are not in the local store: its gets go through
        // the executor's streams.
        if !db.exec_context().options.point_lookups || db.cluster().is_some() {
            return None;
        }
        let point = self
            .kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()?
            .point
            .clone()?;
        let key = point.template.key(&point.table, params)?;
        let view = db.store().read();
        let table = view.table_by_id(point.table.id)?;
        let current = table.def();
        if current.generation != point.table.generation || current.name != point.table.name {
            return None;
        }
        // The filter is exactly the key's equalities, and the key codec is
        // one-to-one on normalized values: the row at the key passes it.
        let read = keyset_executor::point_lookup(&table, &key, None, |_| true);
        debug_assert!(
            read.row
                .as_ref()
                .is_none_or(|row| table.data_key_of(row) == key),
            "the row found holds the key looked up"
        );
        Some(point.page(read))
    }

    /// The plan of the SELECT with `params` bound.
    fn plan(&self, db: &Db, params: &Params) -> Result<Plan> {
        Ok(self.planned(db, params)?.plan)
    }

    /// The plan of the SELECT with `params` bound, and its column names.
    fn planned(&self, db: &Db, params: &Params) -> Result<Planned> {
        let Some(query) = self.query() else {
            return Err(Error::WrongStatement(
                "this call takes a SELECT; use execute() for other statements".into(),
            ));
        };
        let catalog = &db.catalog();
        if !self.slots.sites.is_empty() {
            let bound = bind_params(&self.template, &self.slots, params, catalog)?;
            let (Statement::Select(query) | Statement::Explain(query)) = &bound else {
                return Err(Error::WrongStatement(
                    "binding changed the statement kind".into(),
                ));
            };
            return self.rebound_plan(query, catalog);
        }
        let (limit, offset) = bind_window(&self.slots, params).map_err(PlanError::from)?;
        let mut planned = self.kept_plan(query, catalog)?;
        let plan = &mut planned.plan;
        if let Some(limit) = limit {
            if limit > keyset_plan::MAX_LIMIT {
                return Err(PlanError::LimitTooLarge {
                    limit,
                    max: keyset_plan::MAX_LIMIT,
                }
                .into());
            }
            plan.limit = Some(limit);
        }
        if let Some(offset) = offset {
            plan.offset = offset;
        }
        Ok(planned)
    }

    /// The kept plan if its table's schema is unchanged, else a new one
    /// (kept in its place).
    fn kept_plan(&self, query: &Query, catalog: &Catalog) -> Result<Planned> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(planned) = kept.as_ref().filter(|p| fresh(&p.plan, catalog)) {
            return Ok(planned.clone());
        }
        let planned = Planned::new(keyset_plan::plan(query, catalog)?, self);
        *kept = Some(planned.clone());
        Ok(planned)
    }

    /// The plan of a SELECT with its values bound: the kept plan rewritten
    /// for the new values where that is exact (`keyset_plan::replan_with`:
    /// a filter of equalities), else a full plan, kept for the next run.
    fn rebound_plan(&self, query: &Query, catalog: &Catalog) -> Result<Planned> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let reused = kept
            .as_ref()
            .filter(|p| fresh(&p.plan, catalog))
            .and_then(|template| {
                keyset_plan::replan_with(&template.plan, query).map(|plan| Planned {
                    plan,
                    columns: template.columns.clone(),
                    point: template.point.clone(),
                })
            });
        if let Some(planned) = reused {
            debug_assert_eq!(
                Some(planned.plan.signature),
                keyset_plan::plan(query, catalog).ok().map(|p| p.signature),
                "a rewritten plan is the planner's plan"
            );
            return Ok(planned);
        }
        let planned = Planned::new(keyset_plan::plan(query, catalog)?, self);
        *kept = Some(planned.clone());
        Ok(planned)
    }

    /// Runs the statement with `params` bound.
    fn execute(&self, db: &Db, params: &Params) -> Result<Outcome> {
        match &self.template {
            Statement::Select(_) => Ok(Outcome::Page(self.page(db, params, None)?)),
            Statement::Explain(_) => Ok(Outcome::Explain(db.explain_plan(&self.plan(db, params)?))),
            template => {
                let statement = if self.slots.is_empty() && params.is_empty() {
                    template.clone()
                } else {
                    bind_params(template, &self.slots, params, &db.catalog())?
                };
                db.run(statement)
            }
        }
    }
}

/// `sql` parsed with `params` bound (a transaction's `execute_params` and
/// `query_params`).
pub(crate) fn bound_statement(db: &Db, sql: &str, params: &Params) -> Result<Statement> {
    let parsed = Parsed::new(sql)?;
    if parsed.slots.is_empty() && params.is_empty() {
        return Ok(parsed.template);
    }
    Ok(bind_params(
        &parsed.template,
        &parsed.slots,
        params,
        &db.catalog(),
    )?)
}

/// Whether a plan was made for the table's current schema.
fn fresh(plan: &Plan, catalog: &Catalog) -> bool {
    catalog
        .table_by_id(plan.table.id)
        .is_some_and(|t| t.generation == plan.table.generation && t.name == plan.table.name)
}

/// A statement parsed once and run many times with different values:
/// `db.prepare(sql)`. Cheap to clone. Placeholders are `?`, `?N` and
/// `:name`, in WHERE, VALUES, SET, LIMIT and OFFSET.
///
/// ```
/// use keyset::params;
/// let db = keyset::Db::memory()?;
/// db.execute("CREATE TABLE users (id INT PRIMARY KEY, city TEXT, age INT)")?;
/// let insert = db.prepare("INSERT INTO users VALUES (?1, ?2, ?3)")?;
/// for (id, city, age) in [(1, "Oslo", 30), (2, "Bergen", 41), (3, "Oslo", 52)] {
///     insert.execute(params![id, city, age])?;
/// }
/// let stmt = db.prepare("SELECT * FROM users WHERE city = ? AND age >= ? ORDER BY age LIMIT 50")?;
/// let page = stmt.query(params!["Oslo", 31], None)?;
/// assert_eq!(page.rows()[0].get::<i64>("id")?, 3);
/// # Ok::<(), keyset::Error>(())
/// ```
#[derive(Clone)]
pub struct PreparedStatement {
    db: Db,
    sql: Arc<str>,
    parsed: Arc<Parsed>,
}

impl fmt::Debug for PreparedStatement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedStatement")
            .field("sql", &self.sql)
            .field("parameters", &self.parsed.slots.count)
            .finish()
    }
}

impl PreparedStatement {
    /// The SQL text the statement was prepared from.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Whether the statement is a SELECT (run it with [`PreparedStatement::query`]).
    pub fn is_query(&self) -> bool {
        matches!(self.parsed.template, Statement::Select(_))
    }

    /// The largest parameter number (`?N`) the statement uses; 0 if none.
    pub fn parameter_count(&self) -> usize {
        self.parsed.slots.count
    }

    /// Each parameter as the statement writes it (`?1`, `:city`), by number.
    pub fn parameter_names(&self) -> Vec<String> {
        (1..=self.parsed.slots.count)
            .map(|n| self.parsed.slots.placeholder(n).to_string())
            .collect()
    }

    /// The type each parameter binds to (its column's; INT for LIMIT and
    /// OFFSET), by number; `None` where no column decides it.
    pub fn parameter_types(&self) -> Vec<Option<ColumnType>> {
        self.parsed
            .slots
            .types(&self.parsed.template, &self.db.catalog())
    }

    /// One page of the SELECT with `params` bound: the first when `cursor`
    /// is `None`, else the page the cursor (from a page of this statement
    /// with the same values) points to.
    pub fn query(&self, params: Params, cursor: Option<&Cursor>) -> Result<Page> {
        self.parsed.page(&self.db, &params, cursor)
    }

    /// Runs the statement with `params` bound (any statement kind).
    pub fn execute(&self, params: Params) -> Result<Outcome> {
        self.parsed.execute(&self.db, &params)
    }

    /// Every row of the SELECT with `params` bound, page by page.
    pub fn stream(&self, params: Params) -> Result<RowStream> {
        stream_plan(&self.db, self.parsed.plan(&self.db, &params)?)
    }

    /// The plan the SELECT runs with `params` bound.
    pub fn plan(&self, params: Params) -> Result<Plan> {
        self.parsed.plan(&self.db, &params)
    }
}

/// A stream over a planned SELECT (not a COUNT).
fn stream_plan(db: &Db, mut plan: Plan) -> Result<RowStream> {
    if plan.is_count() {
        return Err(Error::WrongStatement(
            "stream() of COUNT(*): a count is one row, use query()".into(),
        ));
    }
    if plan.limit.is_none() {
        plan.limit = Some(crate::stream::DEFAULT_STREAM_PAGE);
    }
    Ok(RowStream::new(db.clone(), plan))
}

impl Db {
    fn parsed(&self, sql: &str) -> Result<Arc<Parsed>> {
        self.statements().get_or_parse(sql, Parsed::new)
    }

    /// Parses a statement once for many runs (through the statement cache).
    pub fn prepare(&self, sql: &str) -> Result<PreparedStatement> {
        Ok(PreparedStatement {
            db: self.clone(),
            sql: Arc::from(sql),
            parsed: self.parsed(sql)?,
        })
    }

    /// Runs one statement of any kind with `params` bound to its
    /// placeholders. Values are never spliced into SQL text.
    ///
    /// ```
    /// use keyset::{params, Outcome};
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY, n INT)")?;
    /// db.execute_params("INSERT INTO t VALUES (?1, ?2)", params![1, 10])?;
    /// let Outcome::Changed(n) = db.execute_params("UPDATE t SET n = n + ? WHERE id = ?", params![5, 1])? else { panic!() };
    /// assert_eq!(n, 1);
    /// assert_eq!(db.query("SELECT n FROM t", None)?.rows()[0].get::<i64>("n")?, 15);
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn execute_params(&self, sql: &str, params: Params) -> Result<Outcome> {
        self.parsed(sql)?.execute(self, &params)
    }

    /// One page of a SELECT with `params` bound (see [`Db::query`]).
    pub fn query_params(&self, sql: &str, params: Params, cursor: Option<&Cursor>) -> Result<Page> {
        let parsed = self.parsed(sql)?;
        if !matches!(parsed.template, Statement::Select(_)) {
            return Err(Error::WrongStatement(
                "query() takes a SELECT; use execute() for other statements".into(),
            ));
        }
        parsed.page(self, &params, cursor)
    }

    /// Every row of a SELECT with `params` bound, page by page (see
    /// [`Db::stream`]).
    pub fn stream_params(&self, sql: &str, params: Params) -> Result<RowStream> {
        let parsed = self.parsed(sql)?;
        if !matches!(parsed.template, Statement::Select(_)) {
            return Err(Error::WrongStatement("stream() takes a SELECT".into()));
        }
        stream_plan(self, parsed.plan(self, &params)?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::params;

    /// Whether the plan `sql` keeps after one run with `params` is a point
    /// get (its first pages skip binding, planning and the stream).
    fn is_point_get(db: &Db, sql: &str, params: Params) -> bool {
        let parsed = Parsed::new(sql).unwrap();
        parsed.page(db, &params, None).unwrap();
        let kept = parsed.kept.lock().unwrap();
        kept.as_ref().unwrap().point.is_some()
    }

    #[test]
    fn only_statements_that_fix_the_whole_key_by_equality_are_point_gets() {
        let db = Db::memory().unwrap();
        db.execute("CREATE TABLE t (r TEXT, id INT, v INT, PRIMARY KEY (r, id))")
            .unwrap();
        db.execute("CREATE TABLE u (id INT PRIMARY KEY, v INT) WITH (shards = 3)")
            .unwrap();
        let point = [
            ("SELECT * FROM t WHERE r = ? AND id = ?", params!["a", 1]),
            ("SELECT v FROM t WHERE id = ?2 AND r = ?1", params!["a", 1]),
            ("SELECT * FROM t WHERE r = 'a' AND id = ?", params![1]),
            ("SELECT * FROM t WHERE r = 'a' AND id = 1", params![]),
            (
                "SELECT * FROM t WHERE r = ? AND id = ? LIMIT 5",
                params!["a", 1],
            ),
            ("SELECT * FROM u WHERE id = ?", params![1]),
        ];
        for (sql, params) in point {
            assert!(is_point_get(&db, sql, params), "{sql} is a point get");
        }
        let not_point = [
            // Part of the key, or more than the key.
            ("SELECT * FROM t WHERE r = ?", params!["a"]),
            (
                "SELECT * FROM t WHERE r = ? AND id = ? AND v = ?",
                params!["a", 1, 2],
            ),
            (
                "SELECT * FROM t WHERE r = ? AND id = ? AND v > 2",
                params!["a", 1],
            ),
            // One column bound twice, or not by equality (an IN stays an
            // IN, even of one value: the executor reads it by lookup).
            ("SELECT * FROM t WHERE r = ? AND id IN (?)", params!["a", 1]),
            (
                "SELECT * FROM t WHERE r = ? AND id = ? AND id = ?",
                params!["a", 1, 1],
            ),
            (
                "SELECT * FROM t WHERE r = ? AND id IN (?, ?)",
                params!["a", 1, 2],
            ),
            (
                "SELECT * FROM t WHERE r = ? AND id >= ? AND id <= ?",
                params!["a", 1, 1],
            ),
            (
                "SELECT * FROM t WHERE r = ? AND id = ? OR r = ? AND id = ?",
                params!["a", 1, "b", 2],
            ),
            // The window from a placeholder, an OFFSET, an empty page.
            (
                "SELECT * FROM t WHERE r = ? AND id = ? LIMIT ?",
                params!["a", 1, 1],
            ),
            (
                "SELECT * FROM t WHERE r = ? AND id = ? LIMIT 1 OFFSET 1",
                params!["a", 1],
            ),
            (
                "SELECT * FROM t WHERE r = ? AND id = ? LIMIT 0",
                params!["a", 1],
            ),
            // A count, a snapshot traversal.
            (
                "SELECT COUNT(*) FROM t WHERE r = ? AND id = ?",
                params!["a", 1],
            ),
            (
                "SELECT * FROM t WHERE r = ? AND id = ? WITH (consistency = 'snapshot')",
                params!["a", 1],
            ),
        ];
        for (sql, params) in not_point {
            assert!(!is_point_get(&db, sql, params), "{sql} is not a point get");
        }
    }

    #[test]
    fn key_values_are_normalized_as_binding_normalizes_them() {
        let db = Db::memory().unwrap();
        db.execute("CREATE TABLE f (k FLOAT PRIMARY KEY, s TEXT)")
            .unwrap();
        db.execute("INSERT INTO f VALUES (0.0, 'zero'), (2.0, 'two')")
            .unwrap();
        let get = db.prepare("SELECT s FROM f WHERE k = ?").unwrap();
        let mut streamed = db.exec_context().clone();
        streamed.options.point_lookups = false;
        let cases = [
            (keyset_store::Value::Int(2), Some("two")),
            (keyset_store::Value::Float(2.0), Some("two")),
            (keyset_store::Value::Float(-0.0), Some("zero")),
            (keyset_store::Value::Int(0), Some("zero")),
            (keyset_store::Value::Int(3), None),
        ];
        for (value, want) in cases {
            let values = || Params::positional(vec![value.clone()]);
            let page = get.query(values(), None).unwrap();
            let got: Vec<String> = page.rows().iter().map(|r| r.get("s").unwrap()).collect();
            assert_eq!(got, want.into_iter().map(String::from).collect::<Vec<_>>());
            let plan = get.plan(values()).unwrap();
            let stream = db.page_in(&plan, None, &streamed).unwrap();
            assert_eq!(page.rows(), stream.rows(), "{value:?}");
            assert_eq!(page.stats(), stream.stats(), "{value:?}");
        }
        assert!(get
            .parsed
            .kept
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .point
            .is_some());
    }

    #[test]
    fn values_the_template_cannot_take_go_through_the_full_binding() {
        let db = Db::memory().unwrap();
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, f FLOAT)")
            .unwrap();
        db.execute("INSERT INTO t VALUES (1, 1.5)").unwrap();
        let get = db.prepare("SELECT f FROM t WHERE id = ?").unwrap();
        assert_eq!(get.query(params![1], None).unwrap().len(), 1);
        // Each of these is refused (or, NULL, matches nothing) with the
        // full binding's answer.
        let missing = get.query(params![], None).unwrap_err();
        assert!(
            missing.to_string().contains("missing value for ?1"),
            "{missing}"
        );
        let extra = get.query(params![1, 2], None).unwrap_err();
        assert!(extra.to_string().contains("2 positional values"), "{extra}");
        let typed = get.query(params!["1"], None).unwrap_err();
        assert!(typed.to_string().contains("expected INT for ?1"), "{typed}");
        let named = get
            .query(crate::named_params! { ":id" => 1 }, None)
            .unwrap_err();
        assert!(
            named.to_string().contains("no placeholder named :id"),
            "{named}"
        );
        let null = get.query(params![None::<i64>], None).unwrap();
        assert!(null.is_empty());
        // The point template still serves the next good values.
        assert_eq!(get.query(params![1], None).unwrap().len(), 1);
        assert!(get
            .parsed
            .kept
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .point
            .is_some());
    }
}
