//! `Db`: the handle applications hold. It owns the store (in memory or over
//! a data directory), the cursor identity, and routes each statement to the
//! store (writes, schema) or the planner and executor (queries).

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use keyset_executor::{execute_page, Cursor, CursorKeys, ExecContext, MacKey};
use keyset_plan::{Plan, Query, Statement};
use keyset_store::durable::{self, DurableStore, RecoveryReport};
use keyset_store::{Batch, IndexSpec, Store, StoreError, TableDef, TableSpec};

use crate::cache::StatementCache;
use crate::columns::ColumnNames;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::page::Page;
use crate::row::Row;
use crate::stream::RowStream;
use crate::write;

/// How many times an UPDATE or DELETE outside a transaction is tried when
/// concurrent commits keep writing the rows it writes.
pub const MAX_WRITE_ATTEMPTS: u32 = 64;

/// What `execute` did.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// A schema change, described (e.g. "created table users").
    Schema(String),
    /// Rows inserted, updated or deleted.
    Changed(u64),
    /// The first page of a SELECT.
    Page(Page),
    /// The plan of an EXPLAIN.
    Explain(String),
}

/// An open keyset database. Cheap to clone; every clone is the same
/// database. `Send + Sync`: share it between threads freely.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    /// The local store; empty and unused when `cluster` is set.
    store: Arc<Store>,
    /// Set for a database held in a Redis Cluster: the catalog, the rows
    /// and every read and write go there (`Db::connect`).
    cluster: Option<Arc<keyset_cluster::Cluster>>,
    durable: Mutex<Option<DurableStore>>,
    report: Option<RecoveryReport>,
    ctx: ExecContext,
    statements: StatementCache,
    columns: ColumnNames,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("durable", &self.inner.report.is_some())
            .field("tables", &self.table_names())
            .finish()
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| {
        Error::Store(StoreError::io(
            "<system random source>",
            std::io::Error::other(e.to_string()),
        ))
    })?;
    Ok(out)
}

fn context(database: [u8; 8], key: [u8; 32], options: &Options) -> ExecContext {
    let mut ctx = ExecContext::new(
        database,
        CursorKeys {
            current: MacKey(key),
            accepted: options
                .accepted_mac_keys
                .iter()
                .map(|k| MacKey(*k))
                .collect(),
        },
    );
    ctx.options = options.exec.clone();
    ctx
}

impl Db {
    /// A database in memory only, with no files.
    ///
    /// ```
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY)")?;
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn memory() -> Result<Db> {
        Db::memory_with(Options::default())
    }

    /// A database in memory with options (cursor keys, executor tuning).
    pub fn memory_with(options: Options) -> Result<Db> {
        let key = match options.mac_key {
            Some(k) => k,
            None => random_bytes()?,
        };
        let ctx = context(random_bytes()?, key, &options);
        Ok(Db {
            inner: Arc::new(Inner {
                store: Arc::new(Store::with_options(options.store.clone())),
                cluster: None,
                durable: Mutex::new(None),
                report: None,
                ctx,
                statements: StatementCache::default(),
                columns: ColumnNames::default(),
            }),
        })
    }

    /// Opens (creating it if missing) a database in a data directory, with
    /// the default options: every commit is fsynced before it returns.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let db = keyset::Db::open(dir.path())?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")?;
    /// db.execute("INSERT INTO t VALUES (1, 'kept')")?;
    /// db.close()?;
    /// let again = keyset::Db::open(dir.path())?;
    /// assert_eq!(again.query("SELECT v FROM t", None)?.rows()[0].get::<String>("v")?, "kept");
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Db> {
        Db::open_with(path, Options::default())
    }

    /// Opens a data directory with options. A directory another opener
    /// holds is `Error::Locked`; a damaged one is `Error::Corrupted` unless
    /// `options.repair` is set.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        let mut store_options = durable::Options {
            sync: options.sync,
            repair: options.repair,
            mac_key: options.mac_key,
            store: options.store.clone(),
            busy_timeout: options.busy_timeout,
            ..durable::Options::default()
        };
        if let Some(bytes) = options.checkpoint_wal_bytes {
            store_options.checkpoint_wal_bytes = bytes;
        }
        let (durable, report) = DurableStore::open(path.as_ref(), store_options)?;
        let ctx = context(durable.database_id(), durable.mac_key(), &options);
        Ok(Db {
            inner: Arc::new(Inner {
                store: durable.store().clone(),
                cluster: None,
                durable: Mutex::new(Some(durable)),
                report: Some(report),
                ctx,
                statements: StatementCache::default(),
                columns: ColumnNames::default(),
            }),
        })
    }

    /// Opens the database held in the Redis Cluster at `url` (any node of
    /// it, `redis://HOST:PORT`), named `keyset`, which must exist: see
    /// [`Db::connect_with`] to create it or to name another. Several
    /// processes may connect at once; see `docs/cluster.md` for what a
    /// cluster table does differently (no snapshots or transactions, writes
    /// atomic per shard).
    pub fn connect(url: &str) -> Result<Db> {
        Db::connect_with(
            &[url],
            Options::default(),
            &keyset_cluster::ClusterOptions::default(),
        )
    }

    /// Opens (or, with `cluster.create`, creates) a database held in the
    /// cluster whose nodes include `urls`. The cursor key is the one stored
    /// with the catalog unless `options.mac_key` gives one.
    pub fn connect_with(
        urls: &[&str],
        options: Options,
        cluster: &keyset_cluster::ClusterOptions,
    ) -> Result<Db> {
        let mut cluster = cluster.clone();
        if cluster.mac_key.is_none() {
            cluster.mac_key = options.mac_key;
        }
        let handle = keyset_cluster::Cluster::connect(urls, &cluster)?;
        let key = options.mac_key.unwrap_or_else(|| handle.mac_key());
        let ctx = context(handle.database_id(), key, &options);
        Ok(Db {
            inner: Arc::new(Inner {
                store: Arc::new(Store::with_options(options.store.clone())),
                cluster: Some(Arc::new(handle)),
                durable: Mutex::new(None),
                report: None,
                ctx,
                statements: StatementCache::default(),
                columns: ColumnNames::default(),
            }),
        })
    }

    /// The cluster this database is held in, if it is (see
    /// [`Db::connect`]).
    pub fn cluster(&self) -> Option<&Arc<keyset_cluster::Cluster>> {
        self.inner.cluster.as_ref()
    }

    /// The current read view: the local store's, or the cluster's.
    pub(crate) fn read_view(&self) -> Result<keyset_store::ReadView> {
        match &self.inner.cluster {
            Some(cluster) => Ok(cluster.read_view()?),
            None => Ok(self.inner.store.read()),
        }
    }

    /// The catalog as the database holds it now.
    pub(crate) fn catalog(&self) -> keyset_store::Catalog {
        match &self.inner.cluster {
            Some(cluster) => {
                // A failed refresh keeps the catalog last read.
                let _ = cluster.refresh();
                cluster.catalog()
            }
            None => self.inner.store.read().catalog().clone(),
        }
    }

    /// EXPLAIN's text of `plan`; for a database held in a cluster, with
    /// the slot and node of every shard the plan reads.
    pub(crate) fn explain_plan(&self, plan: &Plan) -> String {
        let mut text = keyset_plan::explain(plan);
        if let Some(cluster) = &self.inner.cluster {
            let def = &plan.table;
            let shards = plan.shards.resolve(def.shards as usize);
            let mut slots: Vec<String> = Vec::with_capacity(shards.len());
            let mut nodes: Vec<String> = Vec::new();
            for shard in &shards {
                let (slot, node) = cluster.placement(def.id, *shard);
                let node = node.unwrap_or_else(|| "<no node known>".into());
                slots.push(format!("{shard}->{slot}@{node}"));
                if !nodes.contains(&node) {
                    nodes.push(node);
                }
            }
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&format!(
                "cluster: {} slot(s) on {} node(s) [{}]; shard->slot@node: {}\n",
                shards.len(),
                nodes.len(),
                nodes.join(", "),
                slots.join(" ")
            ));
        }
        text
    }

    /// Refuses what a cluster table cannot do.
    pub(crate) fn refuse_on_cluster(&self, what: &str, why: &str) -> Result<()> {
        if self.inner.cluster.is_some() {
            return Err(Error::Cluster(keyset_cluster::ClusterError::Unsupported(
                format!("{what} is not available on a database held in a Redis Cluster: {why}"),
            )));
        }
        Ok(())
    }

    /// What recovery found when the directory was opened (`None` in memory).
    pub fn recovery_report(&self) -> Option<&RecoveryReport> {
        self.inner.report.as_ref()
    }

    /// A pinned view of the database as it is now: every query on the
    /// returned [`crate::Snapshot`] reads this moment, whatever is written
    /// meanwhile, until it is dropped or the retention limit in
    /// [`crate::StoreOptions`] expires it.
    ///
    /// ```
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY)")?;
    /// db.execute("INSERT INTO t VALUES (1)")?;
    /// let snap = db.snapshot();
    /// db.execute("INSERT INTO t VALUES (2)")?;
    /// assert_eq!(snap.query("SELECT id FROM t", None)?.len(), 1);
    /// assert_eq!(db.query("SELECT id FROM t", None)?.len(), 2);
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn snapshot(&self) -> crate::Snapshot {
        crate::Snapshot::new(self.clone(), self.inner.store.pin())
    }

    /// Begins a transaction (snapshot isolation, first committer wins): its
    /// reads see the database as it is now plus its own writes; its writes
    /// are committed together by [`crate::Transaction::commit`], which
    /// returns the retryable [`Error::Conflict`] if another commit wrote one
    /// of its keys meanwhile. Dropping it rolls it back.
    ///
    /// ```
    /// use keyset::Value;
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE acct (id INT PRIMARY KEY, bal INT)")?;
    /// db.execute("INSERT INTO acct VALUES (1, 100)")?;
    /// let mut tx = db.begin()?;
    /// tx.put("acct", vec![Value::Int(1), Value::Int(90)])?;
    /// assert_eq!(tx.query("SELECT bal FROM acct", None)?.rows()[0].get::<i64>("bal")?, 90);
    /// assert_eq!(db.query("SELECT bal FROM acct", None)?.rows()[0].get::<i64>("bal")?, 100);
    /// tx.commit()?;
    /// assert_eq!(db.query("SELECT bal FROM acct", None)?.rows()[0].get::<i64>("bal")?, 90);
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn begin(&self) -> Result<crate::Transaction> {
        self.refuse_on_cluster(
            "a transaction",
            "a cluster batch is atomic per shard only; write with execute() or batch()",
        )?;
        Ok(crate::Transaction::new(self.clone()))
    }

    /// What the store holds (versions, memtables, runs, bytes) and what its
    /// background maintenance did.
    pub fn store_stats(&self) -> keyset_store::StoreStats {
        self.inner.store.stats()
    }

    /// The store underneath (for tools and benchmarks).
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }

    /// The executor context (database id, cursor keys, options).
    pub fn exec_context(&self) -> &ExecContext {
        &self.inner.ctx
    }

    /// The statement cache `query*`, `execute_params` and `prepare` use.
    pub(crate) fn statements(&self) -> &StatementCache {
        &self.inner.statements
    }

    /// Flushes now: writes the data to run files and a manifest and cuts
    /// the WAL, so the next open replays nothing (no-op in memory).
    pub fn checkpoint(&self) -> Result<()> {
        let guard = self.inner.durable.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(durable) = guard.as_ref() {
            durable.checkpoint()?;
        }
        Ok(())
    }

    /// Flushes and syncs the log and releases the directory. Other clones
    /// of this handle can still read; their writes fail afterwards.
    pub fn close(self) -> Result<()> {
        let durable = self
            .inner
            .durable
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match durable {
            Some(d) => Ok(d.close()?),
            None => Ok(()),
        }
    }

    /// The names of the tables, sorted.
    pub fn table_names(&self) -> Vec<String> {
        self.catalog().tables().map(|t| t.name.clone()).collect()
    }

    /// A table's definition.
    pub fn table(&self, name: &str) -> Option<Arc<TableDef>> {
        self.catalog().table(name).cloned()
    }

    /// Runs one SQL statement of any kind.
    ///
    /// ```
    /// use keyset::Outcome;
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")?;
    /// let Outcome::Changed(n) = db.execute("INSERT INTO t VALUES (1, 10), (2, 20)")? else { panic!() };
    /// assert_eq!(n, 2);
    /// let Outcome::Changed(n) = db.execute("UPDATE t SET v = 0 WHERE v > 15")? else { panic!() };
    /// assert_eq!(n, 1);
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn execute(&self, sql: &str) -> Result<Outcome> {
        self.run(keyset_sql::parse_one(sql)?)
    }

    /// Runs a statement already parsed or built.
    pub fn run(&self, statement: Statement) -> Result<Outcome> {
        if let Some(cluster) = &self.inner.cluster {
            return self.run_on_cluster(cluster, statement);
        }
        let store = &self.inner.store;
        match statement {
            Statement::CreateTable(spec) => {
                let def = store.create_table(&spec)?;
                Ok(Outcome::Schema(format!("created table {}", def.name)))
            }
            Statement::CreateIndex(spec) => {
                let index = store.create_index(&spec)?;
                Ok(Outcome::Schema(format!(
                    "created index {} on {}",
                    index.name, spec.table
                )))
            }
            Statement::DropTable { table, if_exists } => match store.drop_table(&table) {
                Err(StoreError::UnknownTable { .. }) if if_exists => {
                    Ok(Outcome::Schema(format!("no table {table}")))
                }
                other => {
                    other?;
                    Ok(Outcome::Schema(format!("dropped table {table}")))
                }
            },
            Statement::DropIndex {
                index,
                table,
                if_exists,
            } => self.drop_index(&index, table.as_deref(), if_exists),
            Statement::Insert {
                table,
                columns,
                rows,
            } => {
                let batch = self.insert_batch(&table, columns.as_deref(), rows)?;
                let info = store.commit(&batch)?;
                Ok(Outcome::Changed(info.puts as u64))
            }
            Statement::Update {
                table,
                assignments,
                filter,
            } => self
                .retrying(|tx| write::update(tx, &table, &assignments, filter.clone()))
                .map(Outcome::Changed),
            Statement::Delete { table, filter } => self
                .retrying(|tx| write::delete(tx, &table, filter.clone()))
                .map(Outcome::Changed),
            Statement::Select(query) => self.query_with(&query, None).map(Outcome::Page),
            Statement::Explain(query) => {
                Ok(Outcome::Explain(self.explain_plan(&self.plan(&query)?)))
            }
        }
    }

    /// [`Db::run`] on a database held in a cluster.
    fn run_on_cluster(
        &self,
        cluster: &keyset_cluster::Cluster,
        statement: Statement,
    ) -> Result<Outcome> {
        use keyset_cluster::ClusterError;
        match statement {
            Statement::CreateTable(spec) => {
                let def = cluster.create_table(&spec)?;
                Ok(Outcome::Schema(format!("created table {}", def.name)))
            }
            Statement::CreateIndex(spec) => {
                let index = cluster.create_index(&spec)?;
                Ok(Outcome::Schema(format!(
                    "created index {} on {}",
                    index.name, spec.table
                )))
            }
            Statement::DropTable { table, if_exists } => match cluster.drop_table(&table) {
                Err(ClusterError::Store(StoreError::UnknownTable { .. })) if if_exists => {
                    Ok(Outcome::Schema(format!("no table {table}")))
                }
                other => {
                    other?;
                    Ok(Outcome::Schema(format!("dropped table {table}")))
                }
            },
            Statement::DropIndex {
                index,
                table,
                if_exists,
            } => self.drop_index(&index, table.as_deref(), if_exists),
            Statement::Insert {
                table,
                columns,
                rows,
            } => {
                let batch = self.insert_batch(&table, columns.as_deref(), rows)?;
                Ok(Outcome::Changed(cluster.commit(&batch)?))
            }
            Statement::Update {
                table,
                assignments,
                filter,
            } => {
                let changes = write::planned_update(self, &table, &assignments, filter)?;
                Ok(Outcome::Changed(cluster.commit(&changes)?))
            }
            Statement::Delete { table, filter } => {
                let deletes = write::planned_delete(self, &table, filter)?;
                Ok(Outcome::Changed(cluster.commit(&deletes)?))
            }
            Statement::Select(query) => self.query_with(&query, None).map(Outcome::Page),
            Statement::Explain(query) => {
                Ok(Outcome::Explain(self.explain_plan(&self.plan(&query)?)))
            }
        }
    }

    /// The batch of an INSERT outside a transaction, refused when it
    /// repeats a key.
    fn insert_batch(
        &self,
        table: &str,
        columns: Option<&[String]>,
        rows: Vec<Vec<keyset_store::Value>>,
    ) -> Result<Batch> {
        if let Some(def) = self.table(table) {
            write::refuse_repeated_keys(&def, columns, &rows)?;
        }
        let mut batch = Batch::new();
        write::insert(&mut batch, table, columns, rows)?;
        Ok(batch)
    }

    /// Runs `work` as a transaction of its own, again when its commit
    /// conflicts with a concurrent one, up to `MAX_WRITE_ATTEMPTS` times:
    /// an UPDATE or DELETE outside `BEGIN ... COMMIT` reads and writes one
    /// snapshot, so no concurrent update is lost.
    fn retrying(&self, work: impl Fn(&mut crate::Transaction) -> Result<u64>) -> Result<u64> {
        let mut attempt = 1;
        loop {
            let mut tx = self.begin()?;
            let changed = work(&mut tx)?;
            match tx.commit() {
                Ok(_) => return Ok(changed),
                Err(e) if e.is_retryable() && attempt < MAX_WRITE_ATTEMPTS => {
                    // Back off a little more each time, so that writers
                    // racing for one row take turns.
                    std::thread::sleep(std::time::Duration::from_micros(u64::from(attempt) * 20));
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn drop_index(&self, index: &str, table: Option<&str>, if_exists: bool) -> Result<Outcome> {
        let store = &self.inner.store;
        let owners: Vec<String> = match table {
            Some(t) => vec![t.to_owned()],
            None => self
                .catalog()
                .tables()
                .filter(|t| t.index_by_name(index).is_some())
                .map(|t| t.name.clone())
                .collect(),
        };
        match owners.as_slice() {
            [] if if_exists => Ok(Outcome::Schema(format!("no index {index}"))),
            [] => Err(Error::Store(StoreError::UnknownIndex {
                table: "<any table>".into(),
                index: index.to_owned(),
            })),
            [owner] => {
                match &self.inner.cluster {
                    Some(cluster) => cluster.drop_index(owner, index)?,
                    None => store.drop_index(owner, index)?,
                }
                Ok(Outcome::Schema(format!("dropped index {index} on {owner}")))
            }
            many => Err(Error::WrongStatement(format!(
                "index `{index}` exists on several tables ({}); say which with DROP INDEX {index} ON <table>",
                many.join(", ")
            ))),
        }
    }

    /// Plans a query against the current schema.
    pub fn plan(&self, query: &Query) -> Result<Plan> {
        Ok(keyset_plan::plan(query, &self.catalog())?)
    }

    /// Runs a SELECT and returns one page: the first when `cursor` is
    /// `None`, otherwise the page the cursor (from a page of the same query)
    /// points to. `LIMIT` is the page size.
    ///
    /// ```
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY)")?;
    /// db.execute("INSERT INTO t VALUES (1), (2), (3)")?;
    /// let sql = "SELECT id FROM t ORDER BY id LIMIT 2";
    /// let first = db.query(sql, None)?;
    /// assert_eq!(first.len(), 2);
    /// let second = db.query(sql, first.next_cursor())?;
    /// assert_eq!(second.rows()[0].get::<i64>("id")?, 3);
    /// assert!(second.next_cursor().is_none());
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn query(&self, sql: &str, cursor: Option<&Cursor>) -> Result<Page> {
        self.query_params(sql, crate::Params::new(), cursor)
    }

    /// Runs a query built with the typed builder ([`Query`]) and returns one page.
    ///
    /// ```
    /// use keyset::{col, Query, SortDirection};
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")?;
    /// db.execute("INSERT INTO t VALUES (1, 5), (2, 6), (3, 7)")?;
    /// let q = Query::table("t").filter(col("v").ge(6)).order_by("id", SortDirection::Desc).limit(10);
    /// let page = db.query_with(&q, None)?;
    /// let ids: Vec<i64> = page.rows().iter().map(|r| r.get("id")).collect::<Result<_, _>>()?;
    /// assert_eq!(ids, vec![3, 2]);
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn query_with(&self, query: &Query, cursor: Option<&Cursor>) -> Result<Page> {
        let plan = self.plan(query)?;
        self.page(&plan, cursor)
    }

    /// Runs one page of an existing plan.
    pub fn page(&self, plan: &Plan, cursor: Option<&Cursor>) -> Result<Page> {
        self.page_in(plan, cursor, &self.inner.ctx)
    }

    /// Runs one page of an existing plan with a different executor
    /// context: for example `db.exec_context().clone().with_cancel(token)`
    /// to make it cancellable, or `.with_observer(Arc::new(CountingObserver::new()))`
    /// to count what its shard merge does (rows per shard, peak rows
    /// buffered, backpressure waits).
    pub fn page_in(&self, plan: &Plan, cursor: Option<&Cursor>, ctx: &ExecContext) -> Result<Page> {
        self.page_projected(plan, cursor, ctx, self.inner.columns.of(plan))
    }

    /// [`Db::page_in`] with the plan's projected column names already
    /// built (see [`projected_columns`]): a `RowStream` builds them once
    /// for all its pages instead of once a page.
    pub(crate) fn page_projected(
        &self,
        plan: &Plan,
        cursor: Option<&Cursor>,
        ctx: &ExecContext,
        columns: Arc<[String]>,
    ) -> Result<Page> {
        if plan.consistency == keyset_plan::Consistency::Snapshot {
            self.refuse_on_cluster(
                "a snapshot traversal",
                "Redis keeps no old versions of a row, so pages cannot all read the moment \
                 of the first; run the query live (the default), whose pages still never \
                 repeat or skip a row that stays put",
            )?;
            return self.snapshot_page(plan, cursor, ctx, columns);
        }
        self.page_in_view(&self.read_view()?, plan, cursor, ctx, columns)
    }

    /// A page of a snapshot traversal: the first page pins the current view
    /// (held until the retention limit ends it); a cursor is checked in the
    /// order of DESIGN section 6, its snapshot `seq` last, and its page
    /// reads the view at that `seq`.
    fn snapshot_page(
        &self,
        plan: &Plan,
        cursor: Option<&Cursor>,
        ctx: &ExecContext,
        columns: Arc<[String]>,
    ) -> Result<Page> {
        let store = &self.inner.store;
        let seq = match cursor {
            None => store.pin_detached(),
            Some(c) => {
                let state = keyset_executor::open_cursor(c, &ctx.keys, ctx.database, plan)?;
                state
                    .snapshot
                    .ok_or(keyset_executor::CursorError::LiveOnSnapshot)?
            }
        };
        let view = store
            .read_at_seq(seq)
            .map_err(|lost| crate::snapshot::cursor_snapshot_lost(seq, &lost))?;
        let mut ctx = ctx.clone();
        ctx.snapshot = Some(seq);
        self.page_in_view(&view, plan, cursor, &ctx, columns)
    }

    /// One page of `plan` read through `view` (the current view, or a
    /// pinned snapshot's).
    pub(crate) fn page_in_view(
        &self,
        view: &keyset_store::ReadView,
        plan: &Plan,
        cursor: Option<&Cursor>,
        ctx: &ExecContext,
        columns: Arc<[String]>,
    ) -> Result<Page> {
        if plan.is_count() {
            return crate::count::count_page(view, plan, cursor, ctx);
        }
        let page = execute_page(view, plan, cursor, ctx)?;
        let whole = projects_whole(plan);
        let rows = page
            .rows
            .into_iter()
            .map(|r| result_row(&columns, &plan.projection, whole, r))
            .collect();
        Ok(Page {
            columns,
            rows,
            next: page.next,
            prev: page.prev,
            stop: page.stop,
            stats: page.stats,
        })
    }

    /// Every row of a SELECT as an iterator, fetched page by page so memory
    /// stays bounded by the page size (the query's LIMIT, default 256).
    ///
    /// ```
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY)")?;
    /// db.execute("INSERT INTO t VALUES (1), (2), (3)")?;
    /// let ids: Vec<i64> = db
    ///     .stream("SELECT id FROM t ORDER BY id DESC LIMIT 2")?
    ///     .map(|row| row?.get::<i64>("id"))
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(ids, vec![3, 2, 1]);
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn stream(&self, sql: &str) -> Result<RowStream> {
        self.stream_params(sql, crate::Params::new())
    }

    /// Every row of a built query, page by page.
    pub fn stream_query(&self, mut query: Query) -> Result<RowStream> {
        if query.limit.is_none() {
            query.limit = Some(crate::stream::DEFAULT_STREAM_PAGE);
        }
        let plan = self.plan(&query)?;
        Ok(RowStream::new(self.clone(), plan))
    }

    /// The plan of a SELECT (or `EXPLAIN SELECT`) as text.
    pub fn explain(&self, sql: &str) -> Result<String> {
        match keyset_sql::parse_one(sql)? {
            Statement::Select(query) | Statement::Explain(query) => {
                Ok(self.explain_plan(&self.plan(&query)?))
            }
            _ => Err(Error::WrongStatement("explain() takes a SELECT".into())),
        }
    }

    /// Starts a batch of writes, committed together or not at all.
    ///
    /// ```
    /// use keyset::Value;
    /// let db = keyset::Db::memory()?;
    /// db.execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")?;
    /// db.batch()
    ///     .put("t", vec![Value::Int(1), Value::from("a")])
    ///     .put("t", vec![Value::Int(2), Value::from("b")])
    ///     .delete("t", vec![Value::Int(1)])
    ///     .commit()?;
    /// assert_eq!(db.query("SELECT * FROM t", None)?.len(), 1);
    /// # Ok::<(), keyset::Error>(())
    /// ```
    pub fn batch(&self) -> WriteBatch<'_> {
        WriteBatch {
            db: self,
            batch: Batch::new(),
        }
    }

    /// Creates a table from a spec (the builder form of CREATE TABLE).
    pub fn create_table(&self, spec: &TableSpec) -> Result<Arc<TableDef>> {
        if let Some(cluster) = &self.inner.cluster {
            return Ok(cluster.create_table(spec)?);
        }
        Ok(self.inner.store.create_table(spec)?)
    }

    /// Creates an index from a spec (the builder form of CREATE INDEX).
    pub fn create_index(&self, spec: &IndexSpec) -> Result<()> {
        if let Some(cluster) = &self.inner.cluster {
            cluster.create_index(spec)?;
            return Ok(());
        }
        self.inner.store.create_index(spec)?;
        Ok(())
    }
}

/// The names of the columns `plan` projects, in order: the `columns` of
/// every page of the plan.
pub(crate) fn projected_columns(plan: &Plan) -> Arc<[String]> {
    plan.projection
        .iter()
        .map(|&c| plan.table.columns[c].name.clone())
        .collect()
}

/// Whether `plan` projects every column in table order (its rows can
/// share the stored rows).
pub(crate) fn projects_whole(plan: &Plan) -> bool {
    plan.projection
        .iter()
        .copied()
        .eq(0..plan.table.columns.len())
}

/// One result row of a stored row: the stored row itself, shared, when
/// the projection is `whole` (every column in table order), else the
/// projected values.
pub(crate) fn result_row(
    columns: &Arc<[String]>,
    projection: &[usize],
    whole: bool,
    row: keyset_store::RowRef,
) -> Row {
    if whole {
        return Row::shared(columns.clone(), row);
    }
    let values = projection
        .iter()
        .map(|&c| row.get(c).cloned().unwrap_or(keyset_store::Value::Null))
        .collect();
    Row::new(columns.clone(), values)
}

/// A batch of puts and deletes over any tables; see [`Db::batch`].
#[derive(Debug)]
pub struct WriteBatch<'db> {
    db: &'db Db,
    batch: Batch,
}

impl WriteBatch<'_> {
    /// Inserts or replaces a row given as one value per column.
    pub fn put(mut self, table: &str, row: Vec<keyset_store::Value>) -> Self {
        self.batch.put(table, row);
        self
    }

    /// Inserts a row that must not exist yet (like SQL `INSERT`): the commit
    /// fails with a duplicate-key error if its primary key is taken.
    pub fn insert(mut self, table: &str, row: Vec<keyset_store::Value>) -> Self {
        self.batch
            .insert(table, keyset_store::RowInput::Positional(row));
        self
    }

    /// Inserts or replaces a row given by column name; others are NULL.
    pub fn put_named(mut self, table: &str, row: Vec<(&str, keyset_store::Value)>) -> Self {
        self.batch.put_named(
            table,
            row.into_iter().map(|(c, v)| (c.to_owned(), v)).collect(),
        );
        self
    }

    /// Deletes the row with this primary key, if any.
    pub fn delete(mut self, table: &str, key: Vec<keyset_store::Value>) -> Self {
        self.batch.delete(table, key);
        self
    }

    /// Validates the whole batch and applies it, or nothing of it.
    ///
    /// On a database held in a cluster the batch is atomic per shard (see
    /// `docs/cluster.md`); `seq` is 0 and `puts` + `deletes` counts the rows
    /// changed (as puts).
    pub fn commit(self) -> Result<keyset_store::CommitInfo> {
        if let Some(cluster) = &self.db.inner.cluster {
            let changed = cluster.commit(&self.batch)?;
            return Ok(keyset_store::CommitInfo {
                seq: 0,
                puts: usize::try_from(changed).unwrap_or(usize::MAX),
                deletes: 0,
            });
        }
        Ok(self.db.inner.store.commit(&self.batch)?)
    }
}
