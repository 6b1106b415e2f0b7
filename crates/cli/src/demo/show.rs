//! How the demo talks: numbered headings with one sentence of explanation,
//! the SQL, its plan, pages as tables with their stop reason, cost, timing
//! and cursors, and checks that print "verified" (or count a failure). It
//! runs queries only to time them (with the database's executor context or
//! one the step gives, e.g. with an observer); the steps live elsewhere.

use std::io::Write;
use std::time::{Duration, Instant};

use comfy_table::{presets, CellAlignment, Table};
use keyset::{Cursor, Db, ExecContext, Page, Plan, Statement, Value};

use crate::error::CliError;
use crate::output::{self, duration_text, rows_word};

/// Most pages a demo traversal follows before it gives up (a guard: the
/// demo's traversals need far fewer).
pub const MAX_PAGES: usize = 100_000;

/// The pages of one whole traversal, run with [`Show::traverse_in`].
#[derive(Debug)]
pub struct Traversal {
    pub rows: Vec<Vec<Value>>,
    pub pages: usize,
}

/// One timed page, for the summary at the end.
#[derive(Debug)]
struct Timing {
    label: String,
    rows: usize,
    examined: u64,
    took: Duration,
}

/// The demo's output and bookkeeping.
pub struct Show<'a> {
    pub db: &'a Db,
    out: &'a mut dyn Write,
    step: usize,
    failures: usize,
    timings: Vec<Timing>,
}

impl std::fmt::Debug for Show<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Show")
            .field("step", &self.step)
            .field("failures", &self.failures)
            .finish()
    }
}

impl<'a> Show<'a> {
    pub fn new(db: &'a Db, out: &'a mut dyn Write) -> Show<'a> {
        Show {
            db,
            out,
            step: 0,
            failures: 0,
            timings: Vec::new(),
        }
    }

    /// The database the demo walks.
    pub fn db(&self) -> &Db {
        self.db
    }

    /// Checks that failed so far.
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// Free text.
    pub fn say(&mut self, text: &str) -> Result<(), CliError> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    /// A numbered step heading and its explanation.
    pub fn heading(&mut self, title: &str, explanation: &str) -> Result<(), CliError> {
        self.step += 1;
        writeln!(self.out)?;
        writeln!(self.out, "── {}. {title} ──", self.step)?;
        writeln!(self.out, "{explanation}")?;
        Ok(())
    }

    /// The SQL about to run.
    pub fn sql(&mut self, sql: &str) -> Result<(), CliError> {
        writeln!(self.out, "  sql> {sql}")?;
        Ok(())
    }

    /// The plan of `sql`, indented under a `plan:` label.
    pub fn plan(&mut self, sql: &str) -> Result<(), CliError> {
        let plan = self.db.explain(sql)?;
        writeln!(self.out, "  plan:")?;
        for line in plan.lines() {
            writeln!(self.out, "    {line}")?;
        }
        Ok(())
    }

    /// Runs one page and remembers its timing under `label`.
    pub fn run(
        &mut self,
        label: &str,
        sql: &str,
        cursor: Option<&Cursor>,
    ) -> Result<(Page, Duration), CliError> {
        let started = Instant::now();
        let page = self.db.query(sql, cursor)?;
        let took = started.elapsed();
        self.remember(label, page.len(), page.stats().keys_examined, took);
        Ok((page, took))
    }

    /// The plan of a SELECT, to run it with [`Show::run_in`] or
    /// [`Show::traverse_in`].
    pub fn plan_of(&self, sql: &str) -> Result<Plan, CliError> {
        match keyset_sql::parse_one(sql).map_err(keyset::Error::from)? {
            Statement::Select(query) => Ok(self.db.plan(&query)?),
            _ => Err(CliError::Usage(format!(
                "the demo expected a SELECT: {sql}"
            ))),
        }
    }

    /// Runs one page of `plan` with the executor context `ctx` (an
    /// observer, say) and remembers its timing under `label`.
    pub fn run_in(
        &mut self,
        label: &str,
        plan: &Plan,
        ctx: &ExecContext,
    ) -> Result<(Page, Duration), CliError> {
        let started = Instant::now();
        let page = self.db.page_in(plan, None, ctx)?;
        let took = started.elapsed();
        self.remember(label, page.len(), page.stats().keys_examined, took);
        Ok((page, took))
    }

    /// Every page of `plan` with the context `ctx`, following next cursors
    /// from the first page; the whole traversal is timed as one entry of
    /// the summary, under `label`.
    pub fn traverse_in(
        &mut self,
        label: &str,
        plan: &Plan,
        ctx: &ExecContext,
    ) -> Result<Traversal, CliError> {
        let started = Instant::now();
        let mut rows = Vec::new();
        let mut examined = 0;
        let mut cursor: Option<Cursor> = None;
        for pages in 1..=MAX_PAGES {
            let page = self.db.page_in(plan, cursor.as_ref(), ctx)?;
            examined += page.stats().keys_examined;
            cursor = page.next_cursor().cloned();
            rows.extend(page.into_rows().into_iter().map(|r| r.into_values()));
            if cursor.is_none() {
                self.remember(label, rows.len(), examined, started.elapsed());
                return Ok(Traversal { rows, pages });
            }
        }
        Err(CliError::Usage(format!(
            "the demo stopped following `{label}` after {MAX_PAGES} pages"
        )))
    }

    fn remember(&mut self, label: &str, rows: usize, examined: u64, took: Duration) {
        self.timings.push(Timing {
            label: label.to_owned(),
            rows,
            examined,
            took,
        });
    }

    /// A table indented under the step.
    pub fn table(&mut self, table: &Table) -> Result<(), CliError> {
        for line in table.to_string().lines() {
            writeln!(self.out, "  {line}")?;
        }
        Ok(())
    }

    /// A page: its rows as a table, then why it stopped, what it cost, how
    /// long it took, and its cursors.
    pub fn page(&mut self, page: &Page, took: Duration) -> Result<(), CliError> {
        for line in output::page_table(page).to_string().lines() {
            writeln!(self.out, "  {line}")?;
        }
        let stats = page.stats();
        writeln!(
            self.out,
            "  {} · stop: {} · {} keys examined, {} rows fetched, {} buffered at most · {}",
            rows_word(page.len()),
            page.stop().name(),
            stats.keys_examined,
            stats.rows_fetched,
            stats.peak_buffered,
            duration_text(took)
        )?;
        if let Some(next) = page.next_cursor() {
            writeln!(self.out, "  next cursor: {next}")?;
        }
        if let Some(prev) = page.prev_cursor() {
            writeln!(self.out, "  prev cursor: {prev}")?;
        }
        Ok(())
    }

    /// Prints the outcome of a check; a failed one is counted.
    pub fn check(&mut self, ok: bool, what: &str) -> Result<(), CliError> {
        if ok {
            writeln!(self.out, "  verified: {what}")?;
        } else {
            self.failures += 1;
            writeln!(self.out, "  CHECK FAILED: {what}")?;
        }
        Ok(())
    }

    /// Every row of `sql`, following next cursors from the first page;
    /// also the number of pages it took.
    pub fn traverse(&mut self, sql: &str) -> Result<(Vec<Vec<Value>>, usize), CliError> {
        let mut rows = Vec::new();
        let mut cursor: Option<Cursor> = None;
        for pages in 1..=MAX_PAGES {
            let page = self.db.query(sql, cursor.as_ref())?;
            rows.extend(page.rows().iter().map(|r| r.values().to_vec()));
            match page.next_cursor() {
                Some(next) => cursor = Some(next.clone()),
                None => return Ok((rows, pages)),
            }
        }
        Err(CliError::Usage(format!(
            "the demo stopped following `{sql}` after {MAX_PAGES} pages"
        )))
    }

    /// The timings of every page run with [`Show::run`], as a table.
    pub fn timings(&mut self, total: Duration) -> Result<(), CliError> {
        let mut table = Table::new();
        table.load_preset(presets::UTF8_FULL_CONDENSED).set_header([
            "page",
            "rows",
            "keys examined",
            "time",
        ]);
        for t in &self.timings {
            table.add_row([
                t.label.clone(),
                t.rows.to_string(),
                t.examined.to_string(),
                duration_text(t.took),
            ]);
        }
        for at in 1..4 {
            if let Some(column) = table.column_mut(at) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        for line in table.to_string().lines() {
            writeln!(self.out, "  {line}")?;
        }
        writeln!(self.out, "  total demo time: {}", duration_text(total))?;
        Ok(())
    }
}

/// The values of one column of a page.
pub fn column(page: &Page, name: &str) -> Vec<Value> {
    page.rows()
        .iter()
        .map(|r| r.value(name).cloned().unwrap_or(Value::Null))
        .collect()
}

/// The rows of a page as plain values (to compare pages).
pub fn values(page: &Page) -> Vec<Vec<Value>> {
    page.rows().iter().map(|r| r.values().to_vec()).collect()
}
