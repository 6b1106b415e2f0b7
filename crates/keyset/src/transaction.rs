//! `Transaction`: snapshot isolation, first committer wins.
//!
//! A transaction pins the view it began at. Its reads see that snapshot
//! plus its own writes, which sit in an overlay (one memtable per map it
//! wrote) merged into the same streams, in key order, forward and backward.
//! Its writes are buffered as one batch and committed together; the commit
//! is refused with [`Error::Conflict`] if another commit since the snapshot
//! wrote a key this transaction writes. Dropping a transaction rolls it
//! back: nothing was written.
//!
//! Snapshot isolation allows write skew: two transactions that each read
//! what the other writes, and write disjoint keys, can both commit (see
//! docs/transactions.md for an example).

use std::fmt;
use std::sync::Arc;

use keyset_executor::Cursor;
use keyset_plan::{Plan, Query, Statement};
use keyset_store::{
    resolve_delete, resolve_put, Batch, Overlay, PinHandle, ReadView, RowInput, Value,
};

use crate::db::{projected_columns, Db};
use crate::error::{Error, Result};
use crate::page::Page;

/// An open transaction; see the module documentation.
pub struct Transaction {
    db: Db,
    pin: PinHandle,
    overlay: Arc<Overlay>,
    batch: Batch,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("snapshot", &self.pin.seq())
            .field("writes", &self.batch.len())
            .finish()
    }
}

impl Transaction {
    pub(crate) fn new(db: Db) -> Transaction {
        let pin = db.store().pin();
        Transaction {
            db,
            pin,
            overlay: Arc::new(Overlay::default()),
            batch: Batch::new(),
        }
    }

    /// The database this transaction belongs to.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Runs an INSERT, UPDATE or DELETE in the transaction (buffered until
    /// `commit`); returns the rows it changes. A SELECT goes through
    /// `query`; schema changes cannot run inside a transaction.
    pub fn execute(&mut self, sql: &str) -> Result<u64> {
        self.run(keyset_sql::parse_one(sql)?)
    }

    /// `execute` with parameters bound (see [`crate::Db::execute_params`]).
    pub fn execute_params(&mut self, sql: &str, params: crate::Params) -> Result<u64> {
        let statement = crate::prepared::bound_statement(&self.db, sql, &params)?;
        self.run(statement)
    }

    /// `query` with parameters bound (see [`crate::Db::query_params`]).
    pub fn query_params(
        &self,
        sql: &str,
        params: crate::Params,
        cursor: Option<&Cursor>,
    ) -> Result<Page> {
        match crate::prepared::bound_statement(&self.db, sql, &params)? {
            Statement::Select(query) => self.query_with(&query, cursor),
            _ => Err(Error::WrongStatement(
                "query_params() takes a SELECT; use execute_params() for other statements".into(),
            )),
        }
    }

    /// Runs a parsed INSERT, UPDATE or DELETE in the transaction (see
    /// [`Transaction::execute`]).
    pub fn run(&mut self, statement: Statement) -> Result<u64> {
        match statement {
            Statement::Insert {
                table,
                columns,
                rows,
            } => {
                if let Some(def) = self.db.table(&table) {
                    crate::write::refuse_repeated_keys(&def, columns.as_deref(), &rows)?;
                }
                let n = rows.len() as u64;
                for row in rows {
                    let input = match &columns {
                        None => RowInput::Positional(row),
                        Some(columns) if columns.len() == row.len() => {
                            RowInput::Named(columns.iter().cloned().zip(row).collect())
                        }
                        Some(columns) => {
                            return Err(Error::WrongStatement(format!(
                                "INSERT names {} columns but a row has {} values",
                                columns.len(),
                                row.len()
                            )))
                        }
                    };
                    self.write_row(&table, input, true)?;
                }
                Ok(n)
            }
            Statement::Update {
                table,
                assignments,
                filter,
            } => crate::write::update(self, &table, &assignments, filter),
            Statement::Delete { table, filter } => crate::write::delete(self, &table, filter),
            Statement::Select(_) | Statement::Explain(_) => Err(Error::WrongStatement(
                "execute() in a transaction takes INSERT, UPDATE or DELETE; use query() for a SELECT"
                    .into(),
            )),
            _ => Err(Error::WrongStatement(
                "schema changes cannot run inside a transaction: commit or roll it back first".into(),
            )),
        }
    }

    /// The sequence number of the snapshot this transaction reads.
    pub fn snapshot_seq(&self) -> u64 {
        self.pin.seq()
    }

    /// The snapshot with this transaction's writes on top.
    pub(crate) fn view(&self) -> Result<ReadView> {
        let view = self
            .db
            .store()
            .read_pinned(&self.pin)
            .map_err(|lost| crate::snapshot::snapshot_lost(&lost))?;
        Ok(Arc::new(view.with_overlay(self.overlay.clone())))
    }

    /// One table in the transaction's view (its snapshot and own writes).
    fn table_view(&self, table: &str) -> Result<keyset_store::TableView> {
        self.view()?.table(table).ok_or_else(|| {
            Error::from(keyset_store::StoreError::UnknownTable {
                table: table.to_owned(),
            })
        })
    }

    /// Runs a SELECT in the transaction and returns one page.
    pub fn query(&self, sql: &str, cursor: Option<&Cursor>) -> Result<Page> {
        match keyset_sql::parse_one(sql)? {
            Statement::Select(query) => self.query_with(&query, cursor),
            _ => Err(Error::WrongStatement(
                "query() takes a SELECT; use execute() for other statements".into(),
            )),
        }
    }

    /// Runs a built query in the transaction and returns one page.
    pub fn query_with(&self, query: &Query, cursor: Option<&Cursor>) -> Result<Page> {
        let plan = self.db.plan(query)?;
        self.page(&plan, cursor)
    }

    /// One page of a plan in the transaction.
    pub fn page(&self, plan: &Plan, cursor: Option<&Cursor>) -> Result<Page> {
        self.db.page_in_view(
            &self.view()?,
            plan,
            cursor,
            self.db.exec_context(),
            projected_columns(plan),
        )
    }

    /// Buffers a put (insert or replace) of a full row.
    pub fn put(&mut self, table: &str, row: Vec<Value>) -> Result<()> {
        self.write_row(table, RowInput::Positional(row), false)
    }

    /// Buffers an insert: refused with the store's `DuplicateKey` if the
    /// key holds a row in this transaction's view.
    pub fn insert(&mut self, table: &str, row: Vec<Value>) -> Result<()> {
        self.write_row(table, RowInput::Positional(row), true)
    }

    pub(crate) fn write_row(&mut self, table: &str, input: RowInput, insert: bool) -> Result<()> {
        let t = self.table_view(table)?;
        let row = resolve_put(&t, &input)?;
        if insert && t.get(&t.data_key_of(&row)).is_some() {
            let def = t.def();
            let key: Vec<String> = t
                .primary_key_of(&row)
                .iter()
                .map(ToString::to_string)
                .collect();
            let names: Vec<&str> = def
                .primary_key
                .iter()
                .map(|&c| def.columns[c].name.as_str())
                .collect();
            return Err(Error::from(keyset_store::StoreError::DuplicateKey {
                table: def.name.clone(),
                key: format!("({}) = ({})", names.join(", "), key.join(", ")),
            }));
        }
        Arc::make_mut(&mut self.overlay)
            .put(&t, row.clone())
            .map_err(|e| Error::WrongStatement(format!("a key does not encode: {}", e.reason)))?;
        if insert {
            self.batch
                .insert(table, RowInput::Positional(row.values().to_vec()));
        } else {
            self.batch.put(table, row.values().to_vec());
        }
        Ok(())
    }

    /// Buffers a delete by primary key; returns whether the key held a row
    /// in this transaction's view.
    pub fn delete(&mut self, table: &str, key: Vec<Value>) -> Result<bool> {
        let t = self.table_view(table)?;
        let raw = resolve_delete(&t, &key)?;
        let old = Arc::make_mut(&mut self.overlay)
            .delete(&t, &raw)
            .map_err(|e| Error::WrongStatement(format!("a key does not encode: {}", e.reason)))?;
        self.batch.delete(table, key);
        Ok(old.is_some())
    }

    /// Commits every buffered write as one batch, or none of them:
    /// `Error::Conflict` (retryable) if another commit since this
    /// transaction's snapshot wrote one of its keys.
    pub fn commit(self) -> Result<u64> {
        if self.batch.is_empty() {
            return Ok(0);
        }
        let info = self
            .db
            .store()
            .commit_since(&self.batch, self.pin.seq())
            .map_err(Error::from)?;
        Ok((info.puts + info.deletes) as u64)
    }

    /// Drops every buffered write.
    pub fn rollback(self) {}
}
