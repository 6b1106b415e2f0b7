//! `Snapshot`: a pinned read view. Every query on it reads the database as
//! it was when the snapshot was taken, page after page, while writers go
//! on. The pin keeps the versions it needs alive; dropping the snapshot
//! releases them, and the retention limit (`StoreOptions::retention`)
//! expires a snapshot held too long or past the count.

use std::fmt;
use std::sync::Arc;

use keyset_executor::Cursor;
use keyset_plan::{Query, Statement};
use keyset_store::{PinHandle, PinLost};

use crate::db::{projected_columns, Db};
use crate::error::{Error, Result};
use crate::page::Page;

/// A pinned view of a [`Db`]; cheap to clone (clones share the pin).
#[derive(Clone)]
pub struct Snapshot {
    db: Db,
    pin: Arc<PinHandle>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("seq", &self.pin.seq())
            .finish()
    }
}

impl Snapshot {
    pub(crate) fn new(db: Db, pin: PinHandle) -> Snapshot {
        Snapshot {
            db,
            pin: Arc::new(pin),
        }
    }

    /// The sequence number of the last batch this snapshot sees.
    pub fn seq(&self) -> u64 {
        self.pin.seq()
    }

    /// Runs a SELECT on the snapshot and returns one page.
    pub fn query(&self, sql: &str, cursor: Option<&Cursor>) -> Result<Page> {
        match keyset_sql::parse_one(sql)? {
            Statement::Select(query) => self.query_with(&query, cursor),
            _ => Err(Error::WrongStatement(
                "a snapshot runs SELECT statements only".into(),
            )),
        }
    }

    /// Runs a built query on the snapshot and returns one page.
    pub fn query_with(&self, query: &Query, cursor: Option<&Cursor>) -> Result<Page> {
        let plan = self.db.plan(query)?;
        self.db.refuse_on_cluster(
            "a snapshot",
            "Redis keeps no old versions of a row, so there is no past moment to read",
        )?;
        let view = self
            .db
            .store()
            .read_pinned(&self.pin)
            .map_err(|lost| snapshot_lost(&lost))?;
        let mut ctx = self.db.exec_context().clone();
        ctx.snapshot = Some(self.pin.seq());
        self.db
            .page_in_view(&view, &plan, cursor, &ctx, projected_columns(&plan))
    }
}

/// Why a snapshot cursor's `seq` is no longer held, as a cursor error.
pub(crate) fn cursor_snapshot_lost(seq: u64, lost: &PinLost) -> Error {
    let why = match lost {
        PinLost::Released => "its snapshot was released".to_owned(),
        PinLost::Expired { age, retention } => format!(
            "it is {:.1}s old and expired under the retention limit ({:.1}s, at most {} \
             snapshots held)",
            age.as_secs_f64(),
            retention.max_age.as_secs_f64(),
            retention.max_count
        ),
    };
    Error::InvalidCursor(keyset_executor::CursorError::SnapshotExpired { seq, why })
}

pub(crate) fn snapshot_lost(lost: &PinLost) -> Error {
    match lost {
        PinLost::Released => Error::SnapshotExpired("the snapshot was released".into()),
        PinLost::Expired { age, retention } => Error::SnapshotExpired(format!(
            "the snapshot is {:.1}s old and expired under the retention limit \
             ({:.1}s, at most {} snapshots)",
            age.as_secs_f64(),
            retention.max_age.as_secs_f64(),
            retention.max_count
        )),
    }
}
