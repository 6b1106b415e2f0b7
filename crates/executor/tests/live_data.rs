//! Live data (guarantee 6 of DESIGN.md section 6): pages taken while another
//! thread inserts, updates and deletes rows keep strictly advancing anchors,
//! never emit the same index entry twice, and every row they return passes
//! the filter as it is when returned.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use keyset_executor::Anchor;
use keyset_plan::{AccessPath, Plan};
use keyset_store::{Batch, Direction, Value};

const ROWS: i64 = 3000;

/// A small deterministic generator (no dependency, reproducible).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        other => panic!("an int, not {other:?}"),
    }
}

/// One batch of writes: updates that move rows inside, into and out of
/// the range, inserts and deletes.
fn write_batch(fx: &Fixture, rng: &mut Lcg) {
    let mut batch = Batch::new();
    for _ in 0..8 {
        let id = rng.next(ROWS as u64 + 500) as i64;
        if rng.next(5) == 0 {
            batch.delete(TABLE, vec![Value::Int(id)]);
        } else {
            let a = rng.next(20) as i64;
            batch.put(
                TABLE,
                row(id, Some(a), Some(rng.next(9) as i64), None, None),
            );
        }
    }
    fx.store.commit(&batch).unwrap();
}

/// Pages `plan` to the end, calling `between` after every page; checks
/// that anchors advance strictly, that no identity (`identity(row)`) is
/// emitted twice and that every row passes the filter. Returns the rows.
fn page_through(
    fx: &Fixture,
    plan: &Plan,
    direction: Direction,
    identity: impl Fn(&[Value]) -> (i64, i64),
    mut between: impl FnMut(),
) -> usize {
    let mut seen = HashSet::new();
    let mut last_anchor: Option<Vec<u8>> = None;
    let mut cursor = None;
    let mut rows = 0;
    for _ in 0..100_000 {
        let page = fx.page(plan, cursor.as_ref());
        for row in &page.rows {
            assert!(
                plan.filter_accepts(row.values()),
                "a returned row passes the filter"
            );
            assert!(
                seen.insert(identity(row.values())),
                "an index entry emitted twice"
            );
            rows += 1;
        }
        let Some(next) = page.next else {
            return rows;
        };
        let Anchor::Key(anchor) = anchor_of(fx, plan, &next) else {
            panic!("a key anchor");
        };
        if let Some(last) = &last_anchor {
            assert!(
                direction.precedes(&last[..], &anchor[..]),
                "anchors advance strictly"
            );
        }
        last_anchor = Some(anchor.to_vec());
        cursor = Some(next);
        between();
    }
    panic!("a traversal that does not end");
}

fn plans(fx: &Fixture, direction: Direction, limit: usize) -> [(Plan, bool); 2] {
    let mut range = fx.stream_plan(
        fx.range("by_a", &[], Bound::Included(3), Bound::Excluded(15)),
        direction,
        None,
    );
    range.limit = Some(limit);
    let mut union = fx.stream_plan(
        AccessPath::Union(vec![fx.eq("by_a", 4), fx.eq("by_a", 9), fx.eq("by_b", 2)]),
        direction,
        None,
    );
    union.limit = Some(limit);
    [(range, true), (union, false)]
}

fn identity(index: bool) -> impl Fn(&[Value]) -> (i64, i64) {
    move |r| (if index { int(&r[A]) } else { 0 }, int(&r[ID]))
}

#[test]
fn writes_between_pages_never_make_pages_repeat_or_go_backwards() {
    let fx = Fixture::with_rows(
        2,
        (0..ROWS).map(|id| row(id, Some(id % 20), Some(id % 9), None, None)),
    );
    let mut rng = Lcg(11);
    for direction in [Direction::Asc, Direction::Desc] {
        for (plan, index) in plans(&fx, direction, 7) {
            let n = page_through(&fx, &plan, direction, identity(index), || {
                write_batch(&fx, &mut rng)
            });
            assert!(n > 0);
        }
    }
}

#[test]
fn concurrent_writes_never_make_pages_repeat_or_go_backwards() {
    let fx = Fixture::with_rows(
        3,
        (0..ROWS).map(|id| row(id, Some(id % 20), Some(id % 9), None, None)),
    );
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut rng = Lcg(7);
            for _ in 0..1500 {
                write_batch(&fx, &mut rng);
                std::thread::yield_now();
            }
            done.store(true, Ordering::Relaxed);
        });
        let mut traversals = 0;
        while traversals < 4 || !done.load(Ordering::Relaxed) {
            let direction = if traversals % 2 == 0 {
                Direction::Asc
            } else {
                Direction::Desc
            };
            for (plan, index) in plans(&fx, direction, 5 + traversals % 4) {
                page_through(&fx, &plan, direction, identity(index), || {});
            }
            traversals += 1;
        }
    });
}
