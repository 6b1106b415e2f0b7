//! keyset: an embedded, ordered key-value database whose queries page
//! correctly.
//!
//! Every query can be cut into pages and resumed from an opaque,
//! tamper-proof [`Cursor`]: index ranges, unions and intersections of
//! ranges, merges across shards, ascending and descending, forward and
//! backward, in bounded memory.
//!
//! ```
//! let db = keyset::Db::memory()?;
//! db.execute("CREATE TABLE users (id INT PRIMARY KEY, city TEXT, age INT)")?;
//! db.execute("CREATE INDEX by_city_age ON users (city, age)")?;
//! db.execute("INSERT INTO users VALUES (1, 'Oslo', 30), (2, 'Bergen', 41), (3, 'Oslo', 25)")?;
//! let sql = "SELECT * FROM users WHERE city = 'Oslo' ORDER BY age DESC LIMIT 1";
//! let page = db.query(sql, None)?;
//! assert_eq!(page.rows()[0].get::<i64>("age")?, 30);
//! let token = page.next_cursor().expect("one more row").to_string(); // hand it to a client
//! let cursor: keyset::Cursor = token.parse()?;                        // and take it back
//! let page2 = db.query(sql, Some(&cursor))?;
//! assert_eq!(page2.rows()[0].get::<i64>("age")?, 25);
//! # Ok::<(), keyset::Error>(())
//! ```
//!
//! Values go in as parameters, never spliced into SQL text: `?`, `?N` and
//! `:name` in WHERE, VALUES, SET, LIMIT and OFFSET, bound with [`params!`]
//! or [`named_params!`] (Rust values convert through [`ToValue`]). A
//! statement prepared once ([`Db::prepare`]) keeps its parse, and its plan
//! where the plan does not depend on the values, until the schema changes;
//! `db.query*` go through a small statement cache keyed by SQL text.
//! `SELECT COUNT(*)` counts the rows of the same traversal, within the
//! same budgets:
//!
//! ```
//! use keyset::{params, StopReason};
//! let db = keyset::Db::memory()?;
//! db.execute("CREATE TABLE users (id INT PRIMARY KEY, city TEXT, age INT)")?;
//! let insert = db.prepare("INSERT INTO users VALUES (?1, ?2, ?3)")?;
//! insert.execute(params![1, "Oslo", 30])?;
//! insert.execute(params![2, "Bergen", 41])?;
//! db.execute_params("UPDATE users SET age = age + ? WHERE city = ?", params![1, "Oslo"])?;
//! let stmt = db.prepare("SELECT * FROM users WHERE city = ? AND age >= ? ORDER BY age LIMIT 50")?;
//! assert_eq!(stmt.query(params!["Oslo", 31], None)?.rows()[0].get::<i64>("age")?, 31);
//! let total = db.query_params("SELECT COUNT(*) FROM users WHERE age > ?", params![18], None)?;
//! assert_eq!(total.rows()[0].get::<i64>("count")?, 2);
//! assert_eq!(total.stop(), StopReason::Exhausted);
//! # Ok::<(), keyset::Error>(())
//! ```
//!
//! This crate is the facade: it parses SQL (`keyset-sql`), plans
//! (`keyset-plan`), executes pages (`keyset-executor`) and stores
//! (`keyset-store`). It adds no query semantics of its own.

#![warn(missing_docs)]

mod cache;
mod columns;
mod count;
mod db;
mod de;
mod error;
mod options;
mod page;
mod params;
mod prepared;
mod row;
mod snapshot;
mod stream;
mod transaction;
mod write;

pub use cache::{MAX_CACHED_SQL_BYTES, STATEMENT_CACHE_CAPACITY};
pub use count::COUNT_COLUMN;
pub use db::{Db, Outcome, WriteBatch};
pub use error::{CursorError, Error, ExecError, PlanError, Result, SqlError, StoreError};
pub use keyset_cluster::{ClusterError, ClusterOptions};
pub use keyset_executor::{
    CancelToken, CountingObserver, Cursor, ExecContext, MergeObserver, PageStats, ShardFinish,
    StopReason,
};
pub use keyset_plan::{
    col, AccessPath, ArithOp, Expr, MergeMode, ParamError, Placeholder, Plan, Projection, Query,
    SetExpr, SortDirection, Statement,
};
pub use keyset_store::durable::{RecoveryReport, SyncMode};
pub use keyset_store::StoreStats;
pub use keyset_store::{ColumnDef, ColumnType, IndexSpec, TableDef, TableSpec, Value};
pub use options::{ExecOptions, Options, Retention, StoreOptions};
pub use page::Page;
pub use params::{Params, ToValue};
pub use prepared::PreparedStatement;
pub use row::{FromValue, Row};
pub use snapshot::Snapshot;
pub use stream::{RowStream, DEFAULT_STREAM_PAGE};
pub use transaction::Transaction;
