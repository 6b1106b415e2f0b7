//! The second half of the demo's walk: a Union and an Intersection of index
//! ranges, a page cut short by a scan budget (and proof that following its
//! cursors loses nothing), a top-k ORDER BY on an unindexed column, and
//! forged cursors being refused. The shard steps live in `shards` and
//! `observed`.

use keyset::{Cursor, Error, Page, Value};

use super::show::{column, Show};
use super::tour::PAGE_ROWS;
use crate::error::CliError;

/// Two customers that have orders, and the region of the first one's
/// first order (so the Intersection step has at least one row).
#[derive(Debug)]
pub struct Picks {
    pub customer: i64,
    pub other_customer: i64,
    pub region: String,
}

impl Picks {
    pub fn choose(show: &mut Show<'_>) -> Result<Picks, CliError> {
        let first = show.db.query(
            "SELECT id, customer, region FROM orders ORDER BY id LIMIT 64",
            None,
        )?;
        let mut rows = first.rows().iter();
        let head = rows
            .next()
            .ok_or_else(|| CliError::Usage("the demo table is empty".into()))?;
        let customer = head.get::<i64>("customer")?;
        let region = head.get::<String>("region")?;
        let other_customer = rows
            .filter_map(|r| r.get::<i64>("customer").ok())
            .find(|c| *c != customer)
            .unwrap_or(customer);
        Ok(Picks {
            customer,
            other_customer,
            region,
        })
    }
}

/// The `id`s of a set of rows.
pub fn ids(rows: &[Vec<Value>]) -> Vec<Value> {
    rows.iter().filter_map(|r| r.first().cloned()).collect()
}

pub fn union(show: &mut Show<'_>, picks: &Picks) -> Result<(), CliError> {
    let (a, b) = (picks.customer, picks.other_customer);
    let sql = format!(
        "SELECT id, customer, status, amount FROM orders WHERE customer = {a} OR customer = {b} \
         ORDER BY id LIMIT {PAGE_ROWS}"
    );
    show.heading(
        "A Union of two index ranges",
        "An OR of indexable conditions becomes a Union: a k-way merge of two ranges of \
         by_customer, each already in primary-key order, so it streams and pages by id.",
    )?;
    show.sql(&sql)?;
    show.plan(&sql)?;
    let (page, took) = show.run("Union, page 1", &sql, None)?;
    show.page(&page, took)?;
    let (all, pages) = show.traverse(&sql)?;
    let (left, _) = show.traverse(&format!(
        "SELECT id FROM orders WHERE customer = {a} ORDER BY id"
    ))?;
    let (right, _) = show.traverse(&format!(
        "SELECT id FROM orders WHERE customer = {b} ORDER BY id"
    ))?;
    let mut expected: Vec<Value> = ids(&left).into_iter().chain(ids(&right)).collect();
    expected.sort_by(|x, y| x.compare(y));
    expected.dedup();
    show.check(
        ids(&all) == expected,
        &format!(
            "its {pages} pages hold the {} orders of customers {a} and {b}, in id order, each once",
            expected.len()
        ),
    )
}

pub fn intersection(show: &mut Show<'_>, picks: &Picks) -> Result<(), CliError> {
    let (c, r) = (picks.customer, &picks.region);
    let sql = format!(
        "SELECT id, customer, region, status, amount FROM orders \
         WHERE customer = {c} AND region = '{r}' ORDER BY id LIMIT {PAGE_ROWS}"
    );
    show.heading(
        "An Intersection of two index ranges",
        "An AND of two full-equality index matches becomes an Intersection: a leapfrog that \
         seeks each child to the other's key, so its cost follows the smaller side.",
    )?;
    show.sql(&sql)?;
    show.plan(&sql)?;
    let (page, took) = show.run("Intersection, page 1", &sql, None)?;
    show.page(&page, took)?;
    let mut region_rows = 0usize;
    for row in show.db.stream(&format!(
        "SELECT id FROM orders WHERE region = '{r}' LIMIT 4096"
    ))? {
        row?;
        region_rows += 1;
    }
    show.say(&format!(
        "  region '{r}' alone has {region_rows} orders; the leapfrog examined {} keys.",
        page.stats().keys_examined
    ))?;
    let ok = page.rows().iter().all(|row| {
        row.get::<i64>("customer").ok() == Some(c)
            && row.get::<String>("region").ok().as_ref() == Some(r)
    });
    show.check(ok && !page.is_empty(), "every row matches both conditions")
}

pub fn budget(show: &mut Show<'_>) -> Result<(), CliError> {
    let plain = format!(
        "SELECT id, status, created, amount FROM orders WHERE status = 'shipped' AND amount >= 900 \
         ORDER BY created LIMIT {PAGE_ROWS}"
    );
    let budgeted = format!("{plain} WITH (max_examined = 50)");
    show.heading(
        "A page with a scan budget",
        "max_examined bounds the work of one page, never its meaning: the page may come back \
         short (even empty) with stop ScanBudget, and its cursor continues where it stopped.",
    )?;
    show.sql(&budgeted)?;
    show.plan(&budgeted)?;
    let (page, took) = show.run("budgeted, page 1", &budgeted, None)?;
    show.page(&page, took)?;
    let (with_budget, budget_pages) = show.traverse(&budgeted)?;
    let (without, plain_pages) = show.traverse(&plain)?;
    show.say(&format!(
        "  followed the cursors to the end: {budget_pages} budgeted pages, {plain_pages} without the budget."
    ))?;
    show.check(
        page.stop() == keyset::StopReason::ScanBudget,
        "the first page stopped on its scan budget",
    )?;
    show.check(
        with_budget == without,
        &format!(
            "the budgeted pages together are exactly the {} rows of the unbudgeted query",
            without.len()
        ),
    )
}

pub fn top_k(show: &mut Show<'_>) -> Result<(), CliError> {
    let sql = format!(
        "SELECT id, customer, status, amount FROM orders ORDER BY amount DESC LIMIT {PAGE_ROWS}"
    );
    show.heading(
        "Top-k on an unindexed column",
        "No index orders by amount, so each page scans the table once keeping a heap of \
         offset + limit + 1 rows strictly past the cursor: memory stays O(page).",
    )?;
    show.sql(&sql)?;
    show.plan(&sql)?;
    let (first, took) = show.run("top-k, page 1", &sql, None)?;
    show.page(&first, took)?;
    let next = first
        .next_cursor()
        .cloned()
        .ok_or_else(|| CliError::Usage("the demo table is too small for the top-k step".into()))?;
    let (second, took) = show.run("top-k, page 2", &sql, Some(&next))?;
    show.say("  and the page after it:")?;
    show.page(&second, took)?;
    let mut amounts = column(&first, "amount");
    amounts.extend(column(&second, "amount"));
    show.check(
        amounts.windows(2).all(|w| w[0].compare(&w[1]).is_ge()),
        "both pages together are in descending order of amount",
    )
}

pub fn forged(show: &mut Show<'_>, first_page: &Page) -> Result<(), CliError> {
    show.heading(
        "Forged and misused cursors are refused",
        "A cursor is signed (keyed BLAKE3) and bound to its database and query; anything else \
         is refused with a message that says which check failed.",
    )?;
    let sql = super::tour::range_sql();
    let token = first_page
        .next_cursor()
        .map(|c| c.to_string())
        .unwrap_or_default();
    let mut chars: Vec<char> = token.chars().collect();
    if let Some(c) = chars.get_mut(token.len() / 2) {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    let altered: String = chars.into_iter().collect();
    let other_query = "SELECT id FROM orders WHERE customer = 1 ORDER BY id LIMIT 8";
    let attempts = [
        ("one character changed", altered.as_str(), sql.as_str()),
        ("a cursor of another query", token.as_str(), other_query),
        ("not a cursor at all", "hello", sql.as_str()),
    ];
    for (what, text, query) in attempts {
        let outcome = text
            .parse::<Cursor>()
            .map_err(Error::from)
            .and_then(|cursor| show.db.query(query, Some(&cursor)));
        match outcome {
            Err(e @ Error::InvalidCursor(_)) => {
                show.say(&format!("  {what}: error: {e}"))?;
                show.check(true, "refused as an invalid cursor")?;
            }
            Err(e) => show.check(
                false,
                &format!("{what}: refused with an unexpected error: {e}"),
            )?,
            Ok(_) => show.check(false, &format!("{what}: was accepted"))?,
        }
    }
    Ok(())
}
