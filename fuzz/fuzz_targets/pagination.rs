//! Fuzz target `pagination`: a small table of a fixed shape (1-3 shards,
//! 0-2 indexes), a sequence of write batches, a query (filter from a small
//! grammar, ORDER BY, OFFSET, merge mode) and a page size of 1 to 7, run
//! through the facade (`Db::query_with`, following `next_cursor`).
//!
//! Asserts: every page holds at most the page size and a page with a next
//! cursor is full; the traversal ends; the pages concatenate to the unpaged
//! result; both equal the naive model (the rows of a `BTreeMap` that pass
//! the filter by the model's own three-valued evaluation, sorted by the
//! ORDER BY terms, ties broken by the plan's full order key, which must
//! include the primary key); the `prev` cursor of every page after the
//! first gives back the page before it. For the unordered shard merge,
//! which promises no order, the rows are compared as sets.
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use keyset::{Cursor, Db, MergeMode, Page, Query, SortDirection, Value};
use keyset_fuzz::model::{answer, Column, Filter, Rows, Shape, Typed, TEXTS};
use keyset_fuzz::strict::tuple_eq;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    composite: bool,
    shards: u8,
    page_size: u8,
    offset: u8,
    merge: Merge,
    indexes: Vec<IndexChoice>,
    order: Vec<(Column, bool)>,
    filter: Option<Filter>,
    /// Last, so that it takes the rest of the input.
    writes: Vec<Write>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum IndexChoice {
    A,
    B,
    C,
    AB,
    BA,
    AC,
    CB,
    BK,
}

impl IndexChoice {
    fn columns(self) -> &'static [Column] {
        match self {
            IndexChoice::A => &[Column::A],
            IndexChoice::B => &[Column::B],
            IndexChoice::C => &[Column::C],
            IndexChoice::AB => &[Column::A, Column::B],
            IndexChoice::BA => &[Column::B, Column::A],
            IndexChoice::AC => &[Column::A, Column::C],
            IndexChoice::CB => &[Column::C, Column::B],
            IndexChoice::BK => &[Column::B, Column::K],
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Merge {
    Ordered,
    Eager,
    Unordered,
}

#[derive(Arbitrary, Debug)]
struct Write {
    op: WriteOp,
    /// Commit the batch after this write.
    commit: bool,
}

#[derive(Arbitrary, Debug)]
enum WriteOp {
    Put {
        id: u8,
        k: u8,
        a: Option<i8>,
        b: Option<u8>,
        c: Option<i8>,
    },
    Delete {
        id: u8,
        k: u8,
    },
}

const MAX_WRITES: usize = 48;
const MAX_INDEXES: usize = 2;
const MAX_ORDER_TERMS: usize = 3;

fn key(shape: Shape, id: u8, k: u8) -> Vec<Value> {
    let mut key = vec![Value::Int(i64::from(id % 16))];
    if shape.composite {
        key.push(Value::Int(i64::from(k % 3)));
    }
    key
}

fn row(
    shape: Shape,
    (id, k): (u8, u8),
    (a, b, c): (Option<i8>, Option<u8>, Option<i8>),
) -> Vec<Value> {
    let small = |n: Option<i8>, m: i8| n.map_or(Value::Null, |n| Value::Int(i64::from(n % m)));
    let mut row = key(shape, id, k);
    row.push(small(a, 4));
    row.push(b.map_or(Value::Null, |b| {
        Value::from(TEXTS[usize::from(b) % TEXTS.len()])
    }));
    row.push(small(c, 6));
    row
}

/// Creates the table and indexes and runs the writes; returns the model.
fn load(db: &Db, shape: Shape, input: &Input) -> Rows {
    let shards = u32::from(input.shards % 3) + 1;
    db.execute(&shape.sql(shards)).expect("create table");
    let mut created = BTreeSet::new();
    for choice in input.indexes.iter().take(MAX_INDEXES) {
        let columns: Vec<&str> = choice.columns().iter().map(|c| shape.name(*c)).collect();
        if !created.insert(columns.clone()) {
            continue;
        }
        let sql = format!(
            "CREATE INDEX i{} ON t ({})",
            created.len(),
            columns.join(", ")
        );
        db.execute(&sql).expect("create index");
    }
    let mut model = Rows::new();
    let mut pending = model.clone();
    let mut batch = db.batch();
    let writes = input.writes.iter().take(MAX_WRITES);
    let count = writes.len();
    for (i, write) in writes.enumerate() {
        batch = match &write.op {
            WriteOp::Put { id, k, a, b, c } => {
                let values = row(shape, (*id, *k), (*a, *b, *c));
                pending.insert(values[..shape.primary_key().len()].to_vec(), values.clone());
                batch.put("t", values)
            }
            WriteOp::Delete { id, k } => {
                let key = key(shape, *id, *k);
                pending.remove(&key);
                batch.delete("t", key)
            }
        };
        if write.commit || i + 1 == count {
            batch
                .commit()
                .expect("a batch of well-typed writes commits");
            model = pending.clone();
            batch = db.batch();
        }
    }
    model
}

fn values(page: &Page) -> Vec<Vec<Value>> {
    page.rows().iter().map(|r| r.values().to_vec()).collect()
}

fn same_rows(a: &[Vec<Value>], b: &[Vec<Value>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| tuple_eq(x, y))
}

fn by_key(rows: &[Vec<Value>], pk: usize) -> Vec<Vec<Value>> {
    let mut rows = rows.to_vec();
    rows.sort_by(|x, y| x[..pk].cmp(&y[..pk]));
    rows
}

fuzz_target!(|input: Input| {
    let shape = Shape {
        composite: input.composite,
    };
    let db = Db::memory().expect("in-memory database");
    let model = load(&db, shape, &input);

    let filter: Option<Typed> = input.filter.as_ref().map(|f| f.typed(shape, 0));
    let names = |c: usize| {
        let columns: &[Column] = if shape.composite {
            &[Column::Id, Column::K, Column::A, Column::B, Column::C]
        } else {
            &[Column::Id, Column::A, Column::B, Column::C]
        };
        shape.name(columns[c])
    };
    let mut query = Query::table("t");
    if let Some(f) = &filter {
        query = query.filter(f.expr(&names));
    }
    let mut order = Vec::new();
    for (column, desc) in input.order.iter().take(MAX_ORDER_TERMS) {
        let position = shape.position(*column);
        if order.iter().any(|(c, _)| *c == position) {
            continue;
        }
        let direction = if *desc {
            SortDirection::Desc
        } else {
            SortDirection::Asc
        };
        order.push((position, direction));
        query = query.order_by(shape.name(*column), direction);
    }
    let unordered = matches!(input.merge, Merge::Unordered);
    query = query.merge(match input.merge {
        Merge::Ordered => MergeMode::OrderedStreaming,
        Merge::Eager => MergeMode::OrderedEager,
        Merge::Unordered => MergeMode::UnorderedStreaming,
    });
    let offset = usize::from(input.offset % 4);
    let page_size = usize::from(input.page_size % 7) + 1;
    query = query.offset(offset);

    // The model, ordered as the plan orders ties.
    let plan = db.plan(&query).expect("the query plans");
    let pk = shape.primary_key();
    for c in &pk {
        assert!(
            plan.order.iter().any(|o| o.column == *c),
            "the plan's order key {:?} lacks primary-key column {c}",
            plan.order
        );
    }
    let mut key = order.clone();
    key.extend(plan.order.iter().map(|o| (o.column, o.direction)));
    let mut expected = answer(&model, filter.as_ref(), &key);
    if !unordered {
        expected.drain(..offset.min(expected.len()));
    }

    let unpaged = values(&db.query_with(&query, None).expect("the unpaged query"));
    let paged_query = query.clone().limit(page_size);
    let mut pages: Vec<Page> = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..=model.len() + 1 {
        let page = db
            .query_with(&paged_query, cursor.as_ref())
            .expect("a page of the traversal");
        assert!(page.len() <= page_size, "a page of {} rows", page.len());
        cursor = page.next_cursor().cloned();
        if cursor.is_some() {
            assert_eq!(page.len(), page_size, "a page with a next cursor is full");
        }
        pages.push(page);
        if cursor.is_none() {
            break;
        }
    }
    assert!(cursor.is_none(), "the traversal does not end");
    let paged: Vec<Vec<Value>> = pages.iter().flat_map(values).collect();

    if unordered {
        let rows = by_key(&paged, pk.len());
        let distinct: BTreeSet<&[Value]> = rows.iter().map(|r| &r[..pk.len()]).collect();
        assert_eq!(distinct.len(), rows.len(), "a row appears twice");
        let all = by_key(&expected, pk.len());
        assert_eq!(rows.len(), all.len().saturating_sub(offset), "row count");
        // Which rows an OFFSET skips in an unordered merge depends on which
        // shard answers first: compare contents only without one.
        if offset == 0 {
            assert!(
                same_rows(&rows, &by_key(&unpaged, pk.len())),
                "pages != unpaged"
            );
            assert!(same_rows(&rows, &all), "unordered rows != model");
        }
        return;
    }
    assert!(
        same_rows(&paged, &unpaged),
        "pages {paged:?}\n!= unpaged {unpaged:?}"
    );
    assert!(
        same_rows(&unpaged, &expected),
        "unpaged {unpaged:?}\n!= model {expected:?}\n(order key {key:?}, plan {:?})",
        plan.access
    );
    for k in 1..pages.len() {
        let prev = pages[k]
            .prev_cursor()
            .expect("a page after the first has a prev cursor");
        let back = db
            .query_with(&paged_query, Some(prev))
            .expect("the page before");
        assert!(
            same_rows(&values(&back), &values(&pages[k - 1])),
            "the prev cursor of page {k} gives {:?}, not page {}: {:?}",
            values(&back),
            k - 1,
            values(&pages[k - 1])
        );
    }
});
