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
//! This crate is the facade: it parses SQL (`keyset-sql`), plans
//! (`keyset-plan`), executes pages (`keyset-executor`) and stores
//! (`keyset-store`). It adds no query semantics of its own.

#![warn(missing_docs)]

mod cache;
mod count;
mod db;
mod de;
mod error;
mod options;
mod page;
mod params;
mod prepared;
mod row;
mod stream;
mod write;

pub use cache::{MAX_CACHED_SQL_BYTES, STATEMENT_CACHE_CAPACITY};
pub use count::COUNT_COLUMN;
pub use db::{Db, Outcome, WriteBatch};
pub use error::{CursorError, Error, ExecError, PlanError, Result, SqlError, StoreError};
pub use keyset_executor::{
    CancelToken, CountingObserver, Cursor, ExecContext, MergeObserver, PageStats, ShardFinish,
    StopReason,
};
pub use keyset_plan::{
    col, AccessPath, ArithOp, Expr, MergeMode, ParamError, Placeholder, Plan, Projection, Query,
    SetExpr, SortDirection, Statement,
};
pub use keyset_store::durable::{RecoveryReport, SyncMode};
pub use keyset_store::{ColumnDef, ColumnType, IndexSpec, TableDef, TableSpec, Value};
pub use options::{ExecOptions, Options};
pub use page::Page;
pub use params::{Params, ToValue};
pub use prepared::PreparedStatement;
pub use row::{FromValue, Row};
pub use stream::{RowStream, DEFAULT_STREAM_PAGE};
