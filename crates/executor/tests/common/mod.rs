//! Shared fixtures of the executor's integration tests: a store with an
//! `items` table, hand-made plans (the signature comes from
//! `keyset_plan::signature`, which canonicalizes), traversal helpers and the
//! naive model every result is compared with (filter, then sort by the full
//! order key over a `BTreeMap` of the rows).
#![allow(dead_code, clippy::unwrap_used)]

pub mod matrix;
pub mod spread;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use keyset_executor::{
    execute_page, open_cursor, Anchor, Cursor, CursorKeys, ExecContext, MacKey, Page, SortedRow,
    StopReason,
};
use keyset_plan::{
    bind, col, AccessPath, Budget, CursorKind, Expr, MergeMode, OrderColumn, OrderStrategy, Plan,
    PlanSignature, ShardSet, SortDirection,
};
use keyset_store::{
    Batch, ColumnDef, ColumnType, Direction, IndexId, IndexSpec, RowRef, Store, TableDef,
    TableSpec, Value,
};

pub const DATABASE: [u8; 8] = *b"pagetest";
pub const TABLE: &str = "items";
/// Columns of `items`.
pub const ID: usize = 0;
pub const A: usize = 1;
pub const B: usize = 2;
pub const C: usize = 3;
pub const TAG: usize = 4;
const NAMES: [&str; 5] = ["id", "a", "b", "c", "tag"];

pub fn context() -> ExecContext {
    ExecContext::new(DATABASE, CursorKeys::new(MacKey([42; 32])))
}

/// One `items` row: id, a, b, c (NULL when `None`), tag.
pub fn row(
    id: i64,
    a: Option<i64>,
    b: Option<i64>,
    c: Option<i64>,
    tag: Option<&str>,
) -> Vec<Value> {
    let int = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
    vec![
        Value::Int(id),
        int(a),
        int(b),
        int(c),
        tag.map_or(Value::Null, Value::from),
    ]
}

/// A store with `items(id INT PRIMARY KEY, a INT, b INT, c INT, tag TEXT)`,
/// indexes `by_a(a)`, `by_b(b)`, `by_c(c)`, `by_ab(a, b)` and the unique
/// `by_tag(tag)`, and the model of its rows.
pub struct Fixture {
    pub store: Store,
    pub ctx: ExecContext,
    pub model: BTreeMap<i64, Vec<Value>>,
}

impl Fixture {
    pub fn new(shards: u32) -> Fixture {
        let store = Store::new();
        let columns = vec![
            ColumnDef::new("id", ColumnType::Int),
            ColumnDef::new("a", ColumnType::Int),
            ColumnDef::new("b", ColumnType::Int),
            ColumnDef::new("c", ColumnType::Int),
            ColumnDef::new("tag", ColumnType::Text),
        ];
        store
            .create_table(&TableSpec::new(TABLE, columns, &["id"]).shards(shards))
            .unwrap();
        for (name, columns) in [
            ("by_a", &["a"][..]),
            ("by_b", &["b"]),
            ("by_c", &["c"]),
            ("by_ab", &["a", "b"]),
        ] {
            store
                .create_index(&IndexSpec::new(name, TABLE, columns))
                .unwrap();
        }
        store
            .create_index(&IndexSpec::new("by_tag", TABLE, &["tag"]).unique())
            .unwrap();
        Fixture {
            store,
            ctx: context(),
            model: BTreeMap::new(),
        }
    }

    pub fn with_rows(shards: u32, rows: impl IntoIterator<Item = Vec<Value>>) -> Fixture {
        let mut fx = Fixture::new(shards);
        fx.put(rows);
        fx
    }

    pub fn put(&mut self, rows: impl IntoIterator<Item = Vec<Value>>) {
        let mut batch = Batch::new();
        for r in rows {
            let id = match r[ID] {
                Value::Int(id) => id,
                _ => panic!("ids are ints"),
            };
            self.model.insert(id, r.clone());
            batch.put(TABLE, r);
            if batch.len() == 2000 {
                self.store.commit(&batch).unwrap();
                batch = Batch::new();
            }
        }
        if !batch.is_empty() {
            self.store.commit(&batch).unwrap();
        }
    }

    pub fn table(&self) -> Arc<TableDef> {
        self.store.read().catalog().table(TABLE).unwrap().clone()
    }

    pub fn index(&self, name: &str) -> IndexId {
        self.table().index_by_name(name).unwrap().id
    }

    /// A streaming plan over `access`, in its natural order, with a filter
    /// that accepts exactly the rows the path describes (and `residual`).
    pub fn stream_plan(
        &self,
        access: AccessPath,
        direction: Direction,
        residual: Option<Expr>,
    ) -> Plan {
        let table = self.table();
        let filter = and_all([path_filter(&table, &access), residual]);
        let order = natural_order(&table, &access, direction);
        let kind = match access {
            AccessPath::IndexRange { .. } => CursorKind::IndexRange,
            _ => CursorKind::DataKey,
        };
        make_plan(
            table,
            access,
            filter,
            order,
            OrderStrategy::Stream(direction),
            kind,
        )
    }

    /// A top-k plan over `access` ordered by `terms` (then the primary key).
    pub fn topk_plan(
        &self,
        access: AccessPath,
        terms: &[(usize, SortDirection)],
        residual: Option<Expr>,
    ) -> Plan {
        let table = self.table();
        let filter = and_all([path_filter(&table, &access), residual]);
        let mut order: Vec<OrderColumn> = terms
            .iter()
            .map(|&(column, direction)| OrderColumn { column, direction })
            .collect();
        if !order.iter().any(|t| t.column == ID) {
            order.push(OrderColumn {
                column: ID,
                direction: SortDirection::Asc,
            });
        }
        make_plan(
            table,
            access,
            filter,
            order,
            OrderStrategy::TopK,
            CursorKind::Sorted,
        )
    }

    /// `IndexRange` over the named index.
    pub fn range(
        &self,
        index: &str,
        prefix: &[i64],
        lower: Bound<i64>,
        upper: Bound<i64>,
    ) -> AccessPath {
        AccessPath::IndexRange {
            index: self.index(index),
            prefix: prefix.iter().map(|v| Value::Int(*v)).collect(),
            lower: lower.map(Value::Int),
            upper: upper.map(Value::Int),
        }
    }

    /// `IndexRange` with equality on the one column of `index`.
    pub fn eq(&self, index: &str, value: i64) -> AccessPath {
        self.range(index, &[value], Bound::Unbounded, Bound::Unbounded)
    }

    pub fn page(&self, plan: &Plan, cursor: Option<&Cursor>) -> Page {
        execute_page(&self.store.read(), plan, cursor, &self.ctx)
            .unwrap_or_else(|e| panic!("page failed: {e}"))
    }

    /// Every page of a traversal, following `next` from the first page.
    pub fn traverse(&self, plan: &Plan) -> Vec<Page> {
        traverse_from(self, plan, None)
    }

    /// The whole result in one page (no limit, no budget).
    pub fn unpaged(&self, plan: &Plan) -> Vec<i64> {
        let mut whole = plan.clone();
        whole.limit = None;
        whole.budget = Budget::default();
        let page = self.page(&whole, None);
        assert_eq!(page.stop, StopReason::Exhausted);
        assert!(page.next.is_none());
        ids(&page.rows)
    }

    /// The naive evaluation: every row of the model the filter accepts,
    /// sorted by the plan's full order key, after the offset.
    pub fn expected(&self, plan: &Plan) -> Vec<i64> {
        let mut rows: Vec<&Vec<Value>> = self
            .model
            .values()
            .filter(|r| plan.filter_accepts(r))
            .collect();
        rows.sort_by(|x, y| {
            for term in &plan.order {
                let o = x[term.column].compare(&y[term.column]);
                let o = match term.direction {
                    SortDirection::Asc => o,
                    SortDirection::Desc => o.reverse(),
                };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        rows.iter()
            .skip(plan.offset)
            .map(|r| match r[ID] {
                Value::Int(id) => id,
                _ => unreachable!(),
            })
            .collect()
    }
}

pub fn traverse_from(fx: &Fixture, plan: &Plan, start: Option<Cursor>) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut cursor = start;
    loop {
        let page = fx.page(plan, cursor.as_ref());
        cursor = page.next.clone();
        pages.push(page);
        assert!(pages.len() < 100_000, "a traversal that does not end");
        if cursor.is_none() {
            return pages;
        }
    }
}

pub fn make_plan(
    table: Arc<TableDef>,
    access: AccessPath,
    filter: Option<Expr>,
    order: Vec<OrderColumn>,
    strategy: OrderStrategy,
    cursor_kind: CursorKind,
) -> Plan {
    let filter = filter.map(|f| bind(&f, &table).unwrap());
    let projection = (0..table.columns.len()).collect();
    let mut plan = Plan {
        table,
        access,
        filter,
        exact: false,
        order,
        strategy,
        projection,
        limit: None,
        offset: 0,
        budget: Budget::default(),
        merge: MergeMode::OrderedStreaming,
        consistency: Default::default(),
        shards: ShardSet::All,
        cursor_kind,
        signature: PlanSignature([0; 16]),
    };
    plan.signature = keyset_plan::signature(&plan);
    plan
}

/// The order a streaming path yields rows in.
pub fn natural_order(
    table: &TableDef,
    access: &AccessPath,
    direction: Direction,
) -> Vec<OrderColumn> {
    let direction = match direction {
        Direction::Asc => SortDirection::Asc,
        Direction::Desc => SortDirection::Desc,
    };
    let mut columns = match access.natural_order(table) {
        keyset_plan::NaturalOrder::Index { columns } => columns,
        keyset_plan::NaturalOrder::PrimaryKey => Vec::new(),
    };
    columns.extend(table.primary_key.iter().copied());
    columns
        .into_iter()
        .map(|column| OrderColumn { column, direction })
        .collect()
}

/// A filter accepting exactly the rows `path` stands for (in SQL terms:
/// NULL index values match no range and no equality).
pub fn path_filter(table: &TableDef, path: &AccessPath) -> Option<Expr> {
    let name = |c: usize| NAMES[c];
    match path {
        AccessPath::Empty => Some(col("id").eq(1).and(col("id").eq(2))),
        AccessPath::FullScan => None,
        AccessPath::ByKeys(keys) => Some(col("id").is_in(keys.iter().map(|k| k[0].clone()))),
        AccessPath::PrimaryRange {
            prefix,
            lower,
            upper,
        } => range_filter(
            &table
                .primary_key
                .iter()
                .map(|&c| name(c))
                .collect::<Vec<_>>(),
            prefix,
            lower,
            upper,
        ),
        AccessPath::IndexRange {
            index,
            prefix,
            lower,
            upper,
        } => {
            let def = table.index_by_id(*index).unwrap();
            let names: Vec<&str> = def.columns.iter().map(|&c| name(c)).collect();
            range_filter(&names, prefix, lower, upper)
        }
        AccessPath::Union(children) => children
            .iter()
            .map(|c| path_filter(table, c).unwrap_or_else(|| col("id").is_not_null()))
            .reduce(Expr::or),
        AccessPath::Intersection(children) => {
            and_all(children.iter().map(|c| path_filter(table, c)))
        }
    }
}

fn range_filter(
    names: &[&str],
    prefix: &[Value],
    lower: &Bound<Value>,
    upper: &Bound<Value>,
) -> Option<Expr> {
    let mut parts: Vec<Option<Expr>> = prefix
        .iter()
        .zip(names)
        .map(|(v, n)| Some(col(n).eq(v.clone())))
        .collect();
    if let Some(next) = names.get(prefix.len()) {
        parts.push(match lower {
            Bound::Included(v) => Some(col(next).ge(v.clone())),
            Bound::Excluded(v) => Some(col(next).gt(v.clone())),
            Bound::Unbounded => None,
        });
        parts.push(match upper {
            Bound::Included(v) => Some(col(next).le(v.clone())),
            Bound::Excluded(v) => Some(col(next).lt(v.clone())),
            Bound::Unbounded => None,
        });
    }
    and_all(parts)
}

pub fn and_all(parts: impl IntoIterator<Item = Option<Expr>>) -> Option<Expr> {
    parts.into_iter().flatten().reduce(Expr::and)
}

pub fn ids(rows: &[RowRef]) -> Vec<i64> {
    rows.iter()
        .map(|r| match r.values()[ID] {
            Value::Int(id) => id,
            _ => panic!("ids are ints"),
        })
        .collect()
}

/// The concatenated ids of a traversal's pages.
pub fn concat(pages: &[Page]) -> Vec<i64> {
    pages.iter().flat_map(|p| ids(&p.rows)).collect()
}

/// The anchor bytes of a cursor (after full validation).
pub fn anchor_of(fx: &Fixture, plan: &Plan, cursor: &Cursor) -> Anchor {
    open_cursor(cursor, &fx.ctx.keys, DATABASE, plan)
        .unwrap_or_else(|e| panic!("a cursor we minted is refused: {e}"))
        .anchor
}

/// Where a cursor of an ordered plan resumes, comparable along the
/// traversal: an anchor key, or for a top-k plan the row its pass starts
/// after and how far the pass scanned.
#[derive(Clone, Debug, PartialEq)]
pub enum ResumePoint {
    Key(Vec<u8>),
    /// A page whose sort buffers a budget cut: where it resumed, and each
    /// begun buffer's progress as (ordinal, finished, scan position).
    Collecting {
        after: Option<Vec<u8>>,
        buffers: Vec<(u64, bool, Vec<u8>)>,
    },
    /// A top-k pass: the row it starts after, how far it scanned, and its
    /// sort buffers' progress when a budget cut their collection.
    Sorted {
        after: Option<SortedRow>,
        scan: Option<Vec<u8>>,
        buffers: Vec<(u64, bool, Vec<u8>)>,
    },
}

fn buffer_points(buffers: &[keyset_executor::cursor::CarriedBuffer]) -> Vec<(u64, bool, Vec<u8>)> {
    buffers
        .iter()
        .map(|b| {
            let scan = b.scan.as_ref().map_or_else(Vec::new, |s| s.to_vec());
            (b.ordinal, b.scan.is_none(), scan)
        })
        .collect()
}

pub fn resume_point(fx: &Fixture, plan: &Plan, cursor: &Cursor) -> ResumePoint {
    match anchor_of(fx, plan, cursor) {
        Anchor::Key(key) | Anchor::KeySkip { key, .. } => ResumePoint::Key(key.to_vec()),
        Anchor::Sorted { values, key } => ResumePoint::Sorted {
            after: Some(SortedRow { values, key }),
            scan: None,
            buffers: Vec::new(),
        },
        Anchor::SortedPass(pass) => ResumePoint::Sorted {
            buffers: buffer_points(&pass.collecting),
            after: pass.after,
            scan: pass.scan.map(|s| s.to_vec()),
        },
        Anchor::Collecting(state) => ResumePoint::Collecting {
            after: state.after.map(|a| a.to_vec()),
            buffers: buffer_points(&state.buffers),
        },
        other => panic!("an ordered plan's cursor holds {other:?}"),
    }
}

/// The order of two carried rows in a top-k plan's (forward) order.
pub fn compare_sorted(plan: &Plan, a: &SortedRow, b: &SortedRow) -> std::cmp::Ordering {
    for (term, (x, y)) in plan.order.iter().zip(a.values.iter().zip(&b.values)) {
        let o = match term.direction {
            SortDirection::Asc => x.compare(y),
            SortDirection::Desc => y.compare(x),
        };
        if o.is_ne() {
            return o;
        }
    }
    a.key.cmp(&b.key)
}

/// Whether the forward cursor `to` resumes strictly further along the
/// traversal than `from` (`None`: the first page): a later anchor key; for
/// a top-k plan a later row to start after, or the same row and a pass
/// that scanned further.
pub fn advances(plan: &Plan, from: Option<&ResumePoint>, to: &ResumePoint) -> bool {
    let Some(from) = from else {
        return true;
    };
    match (from, to) {
        (ResumePoint::Key(a), ResumePoint::Key(b)) => match plan.strategy {
            OrderStrategy::Stream(direction) => direction.precedes(a, b),
            OrderStrategy::TopK => false,
        },
        (
            ResumePoint::Sorted {
                after: a,
                scan: sa,
                buffers: ba,
            },
            ResumePoint::Sorted {
                after: b,
                scan: sb,
                buffers: bb,
            },
        ) => {
            let rows = match (a, b) {
                (None, None) => std::cmp::Ordering::Equal,
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(a), Some(b)) => compare_sorted(plan, a, b),
            };
            match rows.then_with(|| sa.cmp(sb)) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                // The same pass position: its sort buffers moved on.
                std::cmp::Ordering::Equal => collection_advances(ba, bb),
            }
        }
        // A cut collection progresses by its buffers' scans (a buffer not
        // begun, then begun, then finished) while its anchor stays put.
        (ResumePoint::Key(a), ResumePoint::Collecting { after, buffers }) => match after {
            Some(b) if a == b => !buffers.is_empty(),
            Some(b) => precedes(plan, a, b),
            None => false,
        },
        (ResumePoint::Collecting { after, .. }, ResumePoint::Key(b)) => {
            after.as_ref().is_none_or(|a| precedes(plan, a, b))
        }
        (
            ResumePoint::Collecting {
                after: a,
                buffers: x,
            },
            ResumePoint::Collecting {
                after: b,
                buffers: y,
            },
        ) => match (a, b) {
            _ if a == b => collection_advances(x, y),
            (None, Some(_)) => true,
            (Some(a), Some(b)) => precedes(plan, a, b),
            (_, None) => false,
        },
        _ => false,
    }
}

/// Whether the buffers' progress `y` is ahead of `x`: no buffer went
/// back (not begun, then scanning further and further, then finished) and
/// one went forward. Buffers are not begun in ordinal order (a shard merge
/// may start with any shard).
fn collection_advances(x: &[(u64, bool, Vec<u8>)], y: &[(u64, bool, Vec<u8>)]) -> bool {
    fn state(list: &[(u64, bool, Vec<u8>)], ordinal: u64) -> Option<(bool, &[u8])> {
        list.iter()
            .find(|b| b.0 == ordinal)
            .map(|b| (b.1, b.2.as_slice()))
    }
    let ordinals: std::collections::BTreeSet<u64> = x.iter().chain(y).map(|b| b.0).collect();
    let mut forward = false;
    for ordinal in ordinals {
        let (before, after) = (state(x, ordinal), state(y, ordinal));
        match before.cmp(&after) {
            std::cmp::Ordering::Greater => return false,
            std::cmp::Ordering::Less => forward = true,
            std::cmp::Ordering::Equal => {}
        }
    }
    forward
}

fn precedes(plan: &Plan, a: &[u8], b: &[u8]) -> bool {
    match plan.strategy {
        OrderStrategy::Stream(direction) => direction.precedes(a, b),
        OrderStrategy::TopK => false,
    }
}

/// Follows `next` from the first page, checking that every page returns
/// rows or resumes strictly further than the page before it.
pub fn traverse_with_progress(fx: &Fixture, plan: &Plan) -> Vec<Page> {
    let mut pages = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut point: Option<ResumePoint> = None;
    loop {
        let page = fx.page(plan, cursor.as_ref());
        let Some(next) = page.next.clone() else {
            pages.push(page);
            return pages;
        };
        let now = resume_point(fx, plan, &next);
        assert!(
            !page.rows.is_empty() || advances(plan, point.as_ref(), &now),
            "page {} made no progress: from {point:?} to {now:?}",
            pages.len()
        );
        assert!(
            page.stop.is_budget() || !page.rows.is_empty(),
            "an empty page with a cursor stops on a budget, not {:?}",
            page.stop
        );
        point = Some(now);
        cursor = Some(next);
        pages.push(page);
        assert!(pages.len() < 200_000, "a traversal that does not end");
    }
}

/// `n` rows with a = id % 4 and b = id % 3.
pub fn numbered(shards: u32, n: i64) -> Fixture {
    Fixture::with_rows(
        shards,
        (0..n).map(|id| row(id, Some(id % 4), Some(id % 3), None, None)),
    )
}
