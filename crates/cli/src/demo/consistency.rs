//! The demo's consistency steps: a snapshot traversal beside a live one
//! while a writer commits (the snapshot's pages are exactly the table at
//! its first page; the live pages see the writes), and two transactions
//! that update one order, the second conflicting and retrying.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use keyset::{Cursor, Db, Error, Value};

use super::show::{values, Show};
use crate::error::CliError;

/// The ids the traversals read; every demo table holds them.
const LAST_ID: i64 = 2_000;
const PAGE: usize = 250;

/// Pages `sql` to the end from `first` (its first page, or `None` to
/// read it here), waiting before each page until the writer has committed
/// again, so writes land between every two pages.
fn traverse_while_written(
    db: &Db,
    sql: &str,
    first: Option<keyset::Page>,
    progress: &AtomicU64,
) -> Result<Vec<Vec<Value>>, CliError> {
    let mut rows = Vec::new();
    let mut cursor: Option<Cursor> = None;
    if let Some(page) = first {
        rows.extend(values(&page));
        match page.next_cursor() {
            Some(next) => cursor = Some(next.clone()),
            None => return Ok(rows),
        }
    }
    let mut seen = 0;
    loop {
        let deadline = Instant::now() + Duration::from_secs(2);
        while progress.load(Ordering::Relaxed) == seen && Instant::now() < deadline {
            thread::sleep(Duration::from_micros(200));
        }
        seen = progress.load(Ordering::Relaxed);
        let page = db.query(sql, cursor.as_ref())?;
        rows.extend(values(&page));
        match page.next_cursor() {
            Some(next) => cursor = Some(next.clone()),
            None => return Ok(rows),
        }
    }
}

pub fn snapshot_beside_live(show: &mut Show<'_>) -> Result<(), CliError> {
    show.heading(
        "A snapshot traversal beside a live one, while a writer commits",
        "Live pages (the default) read the newest data on every page. WITH (consistency = \
         'snapshot') pins the first page's view: its cursor carries that view's seq under the \
         MAC, and every page reads it, so the pages together are the table at that moment.",
    )?;
    let live =
        format!("SELECT id, amount FROM orders WHERE id <= {LAST_ID} ORDER BY id LIMIT {PAGE}");
    let snapshot = format!("{live} WITH (consistency = 'snapshot')");
    show.sql(&snapshot)?;
    let db = show.db().clone();
    let unpaged = live.replace(&format!("LIMIT {PAGE}"), "LIMIT 100000");
    let before = values(&db.query(&unpaged, None)?);
    // The snapshot's first page, before the writer starts.
    let first = db.query(&snapshot, None)?;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, progress) = (db.clone(), stop.clone(), progress.clone());
        thread::spawn(move || -> Result<u64, Error> {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let id = (n * 7_919 % LAST_ID as u64) as i64 + 1;
                db.execute(&format!(
                    "UPDATE orders SET amount = amount + 1 WHERE id = {id}"
                ))?;
                n += 1;
                progress.store(n, Ordering::Relaxed);
            }
            Ok(n)
        })
    };
    let snap_rows = traverse_while_written(&db, &snapshot, Some(first), &progress)?;
    let live_rows = traverse_while_written(&db, &live, None, &progress)?;
    stop.store(true, Ordering::Relaxed);
    let writes = writer
        .join()
        .map_err(|_| CliError::Usage("the demo's writer thread panicked".into()))??;
    let changed = live_rows
        .iter()
        .zip(&before)
        .filter(|(now, then)| now != then)
        .count();
    show.say(&format!(
        "  the writer committed {writes} updates while the two traversals paged {PAGE} rows at a \
         time"
    ))?;
    show.check(
        snap_rows == before,
        &format!(
            "the snapshot traversal's {} rows are exactly the table at its first page",
            snap_rows.len()
        ),
    )?;
    show.check(
        live_rows.len() == before.len() && changed > 0,
        &format!("the live traversal saw {changed} of its rows already changed by the writer"),
    )?;
    Ok(())
}

pub fn conflict_and_retry(show: &mut Show<'_>) -> Result<(), CliError> {
    show.heading(
        "A transaction that conflicts, and its retry",
        "Transactions read a snapshot plus their own writes and commit as one batch; the first \
         committer of a key wins, and the second gets a retryable Error::Conflict naming it.",
    )?;
    let db = show.db().clone();
    let read = "SELECT amount FROM orders WHERE id = 7";
    let amount =
        |page: &keyset::Page| -> Result<f64, CliError> { Ok(page.rows()[0].get::<f64>("amount")?) };
    let start = amount(&db.query(read, None)?)?;
    let mut first = db.begin()?;
    let mut second = db.begin()?;
    let a = amount(&first.query(read, None)?)?;
    let b = amount(&second.query(read, None)?)?;
    show.say(&format!(
        "  both transactions read order 7's amount: {a} and {b}"
    ))?;
    first.execute(&format!(
        "UPDATE orders SET amount = {} WHERE id = 7",
        a + 10.0
    ))?;
    second.execute(&format!(
        "UPDATE orders SET amount = {} WHERE id = 7",
        b + 5.0
    ))?;
    first.commit()?;
    show.say("  the first commits its +10")?;
    let conflict = match second.commit() {
        Err(e @ Error::Conflict { .. }) => {
            show.say(&format!("  the second is refused: {e}"))?;
            e.is_retryable()
        }
        Ok(_) => false,
        Err(e) => return Err(e.into()),
    };
    show.check(conflict, "the second commit was a retryable conflict")?;
    let mut retries = 0;
    loop {
        let mut tx = db.begin()?;
        let now = amount(&tx.query(read, None)?)?;
        tx.execute(&format!(
            "UPDATE orders SET amount = {} WHERE id = 7",
            now + 5.0
        ))?;
        match tx.commit() {
            Ok(_) => break,
            Err(e) if e.is_retryable() && retries < 10 => retries += 1,
            Err(e) => return Err(e.into()),
        }
    }
    let end = amount(&db.query(read, None)?)?;
    show.say(&format!(
        "  retried on a fresh snapshot: the amount went from {start} to {end}"
    ))?;
    show.check(
        (end - (start + 15.0)).abs() < 1e-9,
        "both updates count: +10 and, after the retry, +5",
    )?;
    Ok(())
}
