//! The first half of the demo's walk: one index range paged forward, by a
//! cursor token taken back from text, backward with `prev`, and in DESC
//! order. Each step explains itself, shows its SQL, plan and page, and
//! verifies what it claims; `composite` holds the rest of the walk.

use keyset::{Cursor, Page, Value};

use super::data::{EPOCH, YEAR_SECONDS};
use super::show::{column, values, Show};
use crate::error::CliError;

/// Rows per page in the demo's queries.
pub const PAGE_ROWS: usize = 8;

/// The index-range query the first steps page through.
pub fn range_sql() -> String {
    let mid = EPOCH + YEAR_SECONDS / 2;
    format!(
        "SELECT id, status, created, customer, amount FROM orders \
         WHERE status = 'shipped' AND created >= {mid} ORDER BY created LIMIT {PAGE_ROWS}"
    )
}

/// `(created, id)` of a row, the order of the range query.
fn position(page: &Page, at: usize) -> Option<(Value, Value)> {
    let row = page.rows().get(at)?;
    Some((
        row.value("created").ok()?.clone(),
        row.value("id").ok()?.clone(),
    ))
}

/// Steps 1-5. Returns the first page of the range query (later steps forge
/// its cursor).
pub fn paging(show: &mut Show<'_>) -> Result<Page, CliError> {
    let sql = range_sql();
    show.heading(
        "A page of an index range",
        "keyset reads index by_status_created from ('shipped', mid-year) onward and stops \
         after one page; the cursor it returns marks where the page ended.",
    )?;
    show.sql(&sql)?;
    show.plan(&sql)?;
    let (first, took) = show.run("range, page 1", &sql, None)?;
    show.page(&first, took)?;

    show.heading(
        "The next page, by its cursor",
        "The same SQL with the cursor resumes strictly after the last row of page 1: \
         no OFFSET, nothing read twice.",
    )?;
    let next = first.next_cursor().cloned().ok_or_else(no_cursor)?;
    let (second, took) = show.run("range, page 2", &sql, Some(&next))?;
    show.page(&second, took)?;
    let advanced = match (
        position(&first, first.len().saturating_sub(1)),
        position(&second, 0),
    ) {
        (Some(last), Some(next)) => {
            let (a, b) = (last.0.compare(&next.0), last.1.compare(&next.1));
            a.is_lt() || (a.is_eq() && b.is_lt())
        }
        _ => false,
    };
    show.check(
        advanced,
        "page 2 starts strictly after the last row of page 1",
    )?;

    show.heading(
        "Backward with the prev cursor",
        "Every page after the first carries a prev cursor: it reads the index the other \
         way, strictly before the page's first row, and returns those rows in query order.",
    )?;
    let prev = second.prev_cursor().cloned().ok_or_else(no_cursor)?;
    let (back, took) = show.run("range, prev of page 2", &sql, Some(&prev))?;
    show.page(&back, took)?;
    show.check(
        values(&back) == values(&first),
        "prev of page 2 gives back page 1 exactly",
    )?;

    show.heading(
        "A cursor token, as text and back",
        "A cursor is an opaque, signed token (base64url): hand it to a client, take it back \
         in the next request, parse it and resume.",
    )?;
    let token = next.to_string();
    show.say(&format!("  token ({} characters): {token}", token.len()))?;
    let parsed: Cursor = token.parse()?;
    let (again, took) = show.run("range, page 2 from text", &sql, Some(&parsed))?;
    show.say(&format!(
        "  parsed it back and resumed: {} rows ({})",
        again.len(),
        crate::output::duration_text(took)
    ))?;
    show.check(
        values(&again) == values(&second),
        "the parsed token resumes the same page 2",
    )?;

    descending(show)?;
    Ok(first)
}

fn descending(show: &mut Show<'_>) -> Result<(), CliError> {
    let sql = format!(
        "SELECT id, status, created, amount FROM orders WHERE status = 'shipped' \
         ORDER BY created DESC LIMIT {PAGE_ROWS}"
    );
    show.heading(
        "Newest first (DESC)",
        "ORDER BY created DESC reads the same index backward; it streams just the same, \
         and its cursors page in that direction.",
    )?;
    show.sql(&sql)?;
    show.plan(&sql)?;
    let (first, took) = show.run("DESC, page 1", &sql, None)?;
    show.page(&first, took)?;
    let next = first.next_cursor().cloned().ok_or_else(no_cursor)?;
    let (second, took) = show.run("DESC, page 2", &sql, Some(&next))?;
    show.say("  and the page after it:")?;
    show.page(&second, took)?;
    let mut created = column(&first, "created");
    created.extend(column(&second, "created"));
    show.check(
        created.windows(2).all(|w| w[0].compare(&w[1]).is_ge()),
        "both pages together are in descending order of created",
    )
}

fn no_cursor() -> CliError {
    CliError::Usage(
        "the demo database is too small for this step (a page had no cursor); \
         run the demo with more --rows"
            .into(),
    )
}
