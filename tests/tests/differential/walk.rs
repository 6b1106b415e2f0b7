//! Paging through keyset the way a client does: follow `next_cursor` to
//! the end, or `prev_cursor` back to the start, passing every cursor
//! through its text form as a client would. A walk that does not end
//! within its page bound is an error, never a hang.

use keyset::{Cursor, Db, StopReason};

use super::oracle::{keyset_cell, Rows};

/// One page as the suite looks at it.
#[derive(Debug)]
pub struct Walked {
    pub rows: Rows,
    pub next: Option<Cursor>,
    pub prev: Option<Cursor>,
    pub stop: StopReason,
}

/// A cursor after a round trip through its token text.
fn through_text(cursor: &Cursor) -> Result<Cursor, String> {
    let token = cursor.to_string();
    token
        .parse::<Cursor>()
        .map_err(|e| format!("the cursor token {token} does not parse back: {e}"))
}

/// One page of `sql` from `cursor` (the first page when `None`).
pub fn page(db: &Db, sql: &str, cursor: Option<&Cursor>) -> Result<Walked, String> {
    let cursor = cursor.map(through_text).transpose()?;
    let page = db
        .query(sql, cursor.as_ref())
        .map_err(|e| format!("keyset failed on a page: {e}"))?;
    Ok(Walked {
        rows: page
            .rows()
            .iter()
            .map(|r| r.values().iter().map(keyset_cell).collect())
            .collect(),
        next: page.next_cursor().cloned(),
        prev: page.prev_cursor().cloned(),
        stop: page.stop(),
    })
}

/// Every page from the first, following `next_cursor`.
pub fn forward(db: &Db, sql: &str, max_pages: usize) -> Result<Vec<Walked>, String> {
    let mut pages = vec![page(db, sql, None)?];
    while let Some(next) = pages.last().and_then(|p| p.next.clone()) {
        if pages.len() >= max_pages {
            return Err(format!(
                "the forward walk did not end within {max_pages} pages"
            ));
        }
        pages.push(page(db, sql, Some(&next))?);
    }
    Ok(pages)
}

/// The pages before the one whose `prev_cursor` is `from`, nearest first,
/// following `prev_cursor` until there is none.
pub fn backward(
    db: &Db,
    sql: &str,
    from: &Cursor,
    max_pages: usize,
) -> Result<Vec<Walked>, String> {
    let mut pages = vec![page(db, sql, Some(from))?];
    while let Some(prev) = pages.last().and_then(|p| p.prev.clone()) {
        if pages.len() >= max_pages {
            return Err(format!(
                "the backward walk did not end within {max_pages} pages"
            ));
        }
        pages.push(page(db, sql, Some(&prev))?);
    }
    Ok(pages)
}

/// The rows of `pages`, in order.
pub fn concat(pages: &[Walked]) -> Rows {
    pages.iter().flat_map(|p| p.rows.iter().cloned()).collect()
}
