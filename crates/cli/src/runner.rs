//! The statement runner of the shell and of `--file` scripts: it keeps the
//! open transaction (`BEGIN` ... `COMMIT`/`ROLLBACK`) and the shell's
//! snapshot (`.snapshot on`), and sends each statement to the database,
//! the transaction or the snapshot as they say. Rendering is `output`'s.

use keyset::{Cursor, Db, Outcome, Snapshot, Statement, Transaction};
use keyset_sql::{transaction_control, TransactionControl};

use crate::database::Ran;
use crate::error::CliError;

/// A database with the transaction and snapshot a session holds.
#[derive(Debug)]
pub struct Runner {
    db: Db,
    tx: Option<Transaction>,
    snapshot: Option<Snapshot>,
}

impl Runner {
    pub fn new(db: Db) -> Runner {
        Runner {
            db,
            tx: None,
            snapshot: None,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Rolls back the open transaction, if any; returns whether one was.
    pub fn roll_back(&mut self) -> bool {
        self.tx.take().is_some()
    }

    /// Turns the shell's snapshot on (every query reads the database as it
    /// is now, until off) or off; returns what to tell the user.
    pub fn set_snapshot(&mut self, on: bool) -> String {
        if on {
            let snapshot = self.db.snapshot();
            let said = format!(
                "snapshot on: queries read the database as of seq {} until .snapshot off",
                snapshot.seq()
            );
            self.snapshot = Some(snapshot);
            said
        } else {
            self.snapshot = None;
            "snapshot off: queries read the newest data".to_owned()
        }
    }

    /// Runs one statement; `cursor` resumes a SELECT.
    pub fn run(&mut self, sql: &str, cursor: Option<&Cursor>) -> Result<Ran, CliError> {
        if let Some(control) = transaction_control(sql) {
            if cursor.is_some() {
                return Err(CliError::Usage(
                    "a cursor continues a SELECT; this statement is not one".into(),
                ));
            }
            return self
                .control(control)
                .map(|m| Ran::Outcome(Outcome::Schema(m)));
        }
        let statement = keyset_sql::parse_one(sql).map_err(keyset::Error::from)?;
        match statement {
            Statement::Select(query) => Ok(Ran::Page(self.query_with(&query, cursor)?)),
            _ if cursor.is_some() => Err(CliError::Usage(
                "a cursor continues a SELECT; this statement is not one".into(),
            )),
            Statement::Explain(_) => Ok(Ran::Outcome(Outcome::Explain(self.db.explain(sql)?))),
            other => match &mut self.tx {
                Some(tx) => Ok(Ran::Outcome(Outcome::Changed(tx.run(other)?))),
                None => Ok(Ran::Outcome(self.db.run(other)?)),
            },
        }
    }

    /// One page of a SELECT, read where the session reads: in the open
    /// transaction, else on the snapshot, else live.
    pub fn query_with(
        &self,
        query: &keyset::Query,
        cursor: Option<&Cursor>,
    ) -> Result<keyset::Page, CliError> {
        Ok(match (&self.tx, &self.snapshot) {
            (Some(tx), _) => tx.query_with(query, cursor)?,
            (None, Some(snapshot)) => snapshot.query_with(query, cursor)?,
            (None, None) => self.db.query_with(query, cursor)?,
        })
    }

    fn control(&mut self, control: TransactionControl) -> Result<String, CliError> {
        match control {
            TransactionControl::Begin => {
                if self.tx.is_some() {
                    return Err(CliError::Usage(
                        "a transaction is already open: COMMIT or ROLLBACK it first".into(),
                    ));
                }
                let tx = self.db.begin()?;
                let said = format!(
                    "began a transaction (it reads the database as of seq {})",
                    tx.snapshot_seq()
                );
                self.tx = Some(tx);
                Ok(said)
            }
            TransactionControl::Commit => {
                let tx = self
                    .tx
                    .take()
                    .ok_or_else(|| CliError::Usage("COMMIT with no open transaction".into()))?;
                let changed = tx.commit()?;
                Ok(format!("committed ({changed} row changes)"))
            }
            TransactionControl::Rollback => {
                if self.tx.take().is_none() {
                    return Err(CliError::Usage("ROLLBACK with no open transaction".into()));
                }
                Ok("rolled back".to_owned())
            }
        }
    }
}
