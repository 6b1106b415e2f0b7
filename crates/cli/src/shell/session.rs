//! The state of one shell session and what each input does to it: SQL
//! statements (with `BEGIN`, `COMMIT` and `ROLLBACK`), and the
//! dot-commands that page the last query (`.next`, `.prev`), explain it,
//! list tables, show schemas, read a snapshot, time, help and quit.
//! A failing statement is reported on the error writer and the session
//! goes on; only a failure to write the output ends it.

use std::io::Write;
use std::time::Instant;

use keyset::{Cursor, Db, Page};

use crate::database::Ran;
use crate::error::{one_line, CliError};
use crate::output::{self, duration_text, Format};
use crate::runner::Runner;
use crate::schema;

/// The help text of `.help`.
pub const HELP: &str = "\
Statements end with ';' and may span several lines.
  .next              the next page of the last query
  .prev              the previous page of the last query
  .explain [SELECT]  the plan of the last query, or of the SELECT given
  .tables            the tables, with their shards and indexes
  .schema [TABLE]    the CREATE statements of one table, or of all
  .timer on|off      print how long each statement takes
  .snapshot on|off   read every query from the database as it is now
BEGIN; ... COMMIT; (or ROLLBACK;) runs statements as one transaction
  .help              this text
  .quit, .exit       leave the shell (so does Ctrl-D)
";

/// Whether the shell goes on after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Quit,
}

/// The last SELECT run, with the cursors of the page shown last.
#[derive(Debug)]
struct LastQuery {
    sql: String,
    next: Option<Cursor>,
    prev: Option<Cursor>,
    /// 1 for the first page; `.next` and `.prev` move it.
    page_number: i64,
}

/// One shell session over an open database.
#[derive(Debug)]
pub struct Session {
    runner: Runner,
    last: Option<LastQuery>,
    timer: bool,
    errors: u64,
}

impl Session {
    pub fn new(db: Db) -> Session {
        Session {
            runner: Runner::new(db),
            last: None,
            timer: false,
            errors: 0,
        }
    }

    /// How many statements or commands failed so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    fn db(&self) -> &Db {
        self.runner.db()
    }

    /// Gives the database back (to close it), rolling back a transaction
    /// left open and saying so on `err`.
    pub fn into_db(mut self, err: &mut dyn Write) -> Db {
        if self.runner.roll_back() {
            let _ = writeln!(
                err,
                "warning: the session ended inside a transaction; it was rolled back and none \
                 of its changes were written"
            );
        }
        self.runner.db().clone()
    }

    /// Reports a failure on `err` and counts it; the session goes on.
    pub fn report(&mut self, err: &mut dyn Write, e: &CliError) -> Result<(), CliError> {
        self.errors += 1;
        writeln!(err, "error: {}", one_line(e))?;
        Ok(())
    }

    /// Runs the statements of `text` (one or more, `;`-separated), in order.
    pub fn statements(
        &mut self,
        text: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<(), CliError> {
        let statements = match keyset_sql::split_statements(text) {
            Ok(s) => s,
            Err(e) => return self.report(err, &CliError::Db(e.into())),
        };
        for sql in statements {
            self.statement(&sql, out, err)?;
        }
        Ok(())
    }

    fn statement(
        &mut self,
        sql: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<(), CliError> {
        let started = Instant::now();
        match self.runner.run(sql, None) {
            Ok(Ran::Page(page)) => {
                self.last = Some(LastQuery {
                    sql: sql.to_owned(),
                    next: None,
                    prev: None,
                    page_number: 1,
                });
                self.show_page(page, started, out)
            }
            Ok(ran) => {
                output::write_ran(out, &ran, Format::Table)?;
                self.show_time(started, out)
            }
            Err(CliError::BrokenPipe) => Err(CliError::BrokenPipe),
            Err(e) => self.report(err, &e),
        }
    }

    /// Prints a page of the last query and keeps its cursors.
    fn show_page(
        &mut self,
        page: Page,
        started: Instant,
        out: &mut dyn Write,
    ) -> Result<(), CliError> {
        let elapsed = started.elapsed();
        output::write_table_and_summary(out, &page)?;
        if let Some(last) = self.last.as_mut() {
            last.next = page.next_cursor().cloned();
            last.prev = page.prev_cursor().cloned();
            let mut hints = Vec::new();
            if last.next.is_some() {
                hints.push(".next for more");
            }
            if last.prev.is_some() {
                hints.push(".prev to go back");
            }
            if last.page_number != 1 || !hints.is_empty() {
                let hints = if hints.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", hints.join(", "))
                };
                writeln!(out, "page {}{hints}", last.page_number)?;
            }
        }
        if self.timer {
            writeln!(out, "time: {}", duration_text(elapsed))?;
        }
        Ok(())
    }

    fn show_time(&self, started: Instant, out: &mut dyn Write) -> Result<(), CliError> {
        if self.timer {
            writeln!(out, "time: {}", duration_text(started.elapsed()))?;
        }
        Ok(())
    }

    /// Runs a dot-command line (starting with `.`).
    pub fn dot(
        &mut self,
        line: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Result<Control, CliError> {
        let line = line.trim().trim_end_matches(';').trim_end();
        let (command, rest) = match line.split_once(char::is_whitespace) {
            Some((c, r)) => (c, r.trim()),
            None => (line, ""),
        };
        let result = match (command, no_arguments(command, rest)) {
            (".quit" | ".exit", Ok(())) => return Ok(Control::Quit),
            (".help", Ok(())) => write!(out, "{HELP}").map_err(CliError::from),
            (".next", Ok(())) => self.turn(Turn::Next, out),
            (".prev", Ok(())) => self.turn(Turn::Prev, out),
            (".tables", Ok(())) => self.tables(out),
            (".quit" | ".exit" | ".help" | ".next" | ".prev" | ".tables", Err(e)) => Err(e),
            (".explain", _) => self.explain(rest, out),
            (".schema", _) => self.schema(rest, out),
            (".timer", _) => self.set_timer(rest, out),
            (".snapshot", _) => self.set_snapshot(rest, out),
            (other, _) => Err(CliError::Usage(format!(
                "unknown command `{other}`; .help lists the commands"
            ))),
        };
        match result {
            Err(CliError::BrokenPipe) => Err(CliError::BrokenPipe),
            Err(e) => self.report(err, &e).map(|()| Control::Continue),
            Ok(()) => Ok(Control::Continue),
        }
    }

    fn turn(&mut self, turn: Turn, out: &mut dyn Write) -> Result<(), CliError> {
        let last = self
            .last
            .as_ref()
            .ok_or_else(|| CliError::Usage("no query to page yet: run a SELECT first".into()))?;
        let cursor = match turn {
            Turn::Next => last.next.clone().ok_or_else(|| {
                CliError::Usage("no next page: the last page ended the query".into())
            })?,
            Turn::Prev => last.prev.clone().ok_or_else(|| {
                CliError::Usage("no previous page: this is the first page".into())
            })?,
        };
        let sql = last.sql.clone();
        let started = Instant::now();
        let page = match self.runner.run(&sql, Some(&cursor))? {
            Ran::Page(page) => page,
            Ran::Outcome(_) => {
                return Err(CliError::Usage("the last query is not a SELECT".into()));
            }
        };
        if let Some(last) = self.last.as_mut() {
            last.page_number += match turn {
                Turn::Next => 1,
                Turn::Prev => -1,
            };
        }
        self.show_page(page, started, out)
    }

    fn explain(&mut self, sql: &str, out: &mut dyn Write) -> Result<(), CliError> {
        let sql =
            if sql.is_empty() {
                match &self.last {
                    Some(last) => last.sql.clone(),
                    None => return Err(CliError::Usage(
                        "no query to explain: run a SELECT first or write `.explain SELECT ...`"
                            .into(),
                    )),
                }
            } else {
                sql.to_owned()
            };
        let plan = crate::explain::plan_text(self.db(), &sql)?;
        write!(out, "{}", output::with_newline(&plan))?;
        Ok(())
    }

    fn tables(&self, out: &mut dyn Write) -> Result<(), CliError> {
        let names = self.db().table_names();
        if names.is_empty() {
            writeln!(out, "(no tables)")?;
        }
        for name in names {
            if let Some(table) = self.db().table(&name) {
                writeln!(out, "{}", schema::summary(&table))?;
            }
        }
        Ok(())
    }

    fn schema(&self, table: &str, out: &mut dyn Write) -> Result<(), CliError> {
        if table.split_whitespace().count() > 1 {
            return Err(CliError::Usage(format!(
                "`.schema {table}`: give one table, or none for all"
            )));
        }
        let names = if table.is_empty() {
            self.db().table_names()
        } else {
            vec![table.to_owned()]
        };
        if names.is_empty() {
            writeln!(out, "(no tables: the database is empty)")?;
        }
        for name in names {
            let def = self.db().table(&name).ok_or_else(|| {
                CliError::Usage(format!("no table named `{name}`; .tables lists them"))
            })?;
            write!(out, "{}", schema::create_statements(&def))?;
        }
        Ok(())
    }

    fn set_snapshot(&mut self, setting: &str, out: &mut dyn Write) -> Result<(), CliError> {
        let on = match setting {
            "on" => true,
            "off" => false,
            other => {
                return Err(CliError::Usage(format!(
                    "`.snapshot {other}`: write `.snapshot on` or `.snapshot off`"
                )))
            }
        };
        writeln!(out, "{}", self.runner.set_snapshot(on))?;
        Ok(())
    }

    fn set_timer(&mut self, setting: &str, out: &mut dyn Write) -> Result<(), CliError> {
        self.timer = match setting {
            "on" => true,
            "off" => false,
            other => {
                return Err(CliError::Usage(format!(
                    "`.timer {other}`: write `.timer on` or `.timer off`"
                )))
            }
        };
        writeln!(out, "timer {setting}")?;
        Ok(())
    }
}

/// Refuses arguments given to a command that takes none, instead of
/// ignoring them (`.tables users` does not filter).
fn no_arguments(command: &str, rest: &str) -> Result<(), CliError> {
    if rest.is_empty() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "`{command}` takes no argument (got `{rest}`); .help lists the commands"
    )))
}

#[derive(Clone, Copy, Debug)]
enum Turn {
    Next,
    Prev,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let db = Db::memory().expect("memory db");
        db.execute("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)")
            .expect("create");
        db.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
            .expect("insert");
        Session::new(db)
    }

    fn run(s: &mut Session, input: &str) -> (String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        if input.starts_with('.') {
            s.dot(input, &mut out, &mut err).expect("output");
        } else {
            s.statements(input, &mut out, &mut err).expect("output");
        }
        (
            String::from_utf8(out).expect("utf8"),
            String::from_utf8(err).expect("utf8"),
        )
    }

    #[test]
    fn next_and_prev_walk_the_pages_of_the_last_query() {
        let mut s = session();
        let (out, _) = run(&mut s, "SELECT id FROM t ORDER BY id LIMIT 2;");
        assert!(out.contains("page 1 · .next for more"), "{out}");
        let (out, _) = run(&mut s, ".next");
        assert!(out.contains("│  3 │") || out.contains("| 3"), "{out}");
        assert!(out.contains("page 2 · .prev to go back"), "{out}");
        let (_, err) = run(&mut s, ".next");
        assert!(err.contains("no next page"), "{err}");
        let (out, _) = run(&mut s, ".prev");
        assert!(out.contains("page 1"), "{out}");
        assert!(out.contains("2 rows"), "{out}");
        assert_eq!(s.errors(), 1);
    }

    #[test]
    fn errors_are_reported_and_the_session_goes_on() {
        let mut s = session();
        let (_, err) = run(&mut s, "SELEC 1;");
        assert!(err.starts_with("error: "), "{err}");
        let (_, err) = run(&mut s, "SELECT * FROM nowhere;");
        assert!(err.contains("nowhere"), "{err}");
        let (_, err) = run(&mut s, ".frobnicate");
        assert!(err.contains("unknown command"), "{err}");
        let (out, err) = run(&mut s, "SELECT v FROM t WHERE id = 2;");
        assert!(err.is_empty() && out.contains('b'), "{out}{err}");
        assert_eq!(s.errors(), 3);
    }

    #[test]
    fn extra_arguments_are_refused_and_an_empty_schema_says_so() {
        let mut s = session();
        for line in [
            ".tables t",
            ".next 2",
            ".help me",
            ".schema t extra",
            ".quit now",
        ] {
            let (out, err) = run(&mut s, line);
            assert!(err.starts_with("error: `."), "{line}: {err}");
            assert!(out.is_empty(), "{line}: {out}");
        }
        assert_eq!(s.errors(), 5);
        let mut empty = Session::new(Db::memory().expect("memory db"));
        let (out, err) = run(&mut empty, ".schema");
        assert_eq!(
            (out.as_str(), err.as_str()),
            ("(no tables: the database is empty)\n", "")
        );
    }

    #[test]
    fn timer_explain_and_quit() {
        let mut s = session();
        let (out, _) = run(&mut s, ".timer on");
        assert_eq!(out, "timer on\n");
        let (out, _) = run(&mut s, "SELECT * FROM t;");
        assert!(out.contains("time: "), "{out}");
        let (out, _) = run(&mut s, ".explain");
        assert!(out.contains("Query t"), "{out}");
        let (mut o, mut e) = (Vec::new(), Vec::new());
        assert_eq!(s.dot(".quit", &mut o, &mut e).expect("quit"), Control::Quit);
    }
}
