//! Property tests of the live-query decision (`live.rs`) against brute force: a table of
//! random rows, a random query, and a random committed batch of changes (puts, deletes,
//! renames, rows the emitter did not pass). The query is run on the table before and
//! after the batch, as a fresh `query()` would; whenever `Window::affected` says "not
//! affected" the two results must be the same, and a `Counted` that follows the batch
//! must give the count the brute force gives.
//!
//! Cases per property: `PROPTEST_CASES` (default 2000); counts printed with
//! `cargo test -p offline-tables-core --test live -- --nocapture`.

mod fuzz_support;

use fuzz_support::check;
use offline_tables_core::live::{After, Change, Counted, Window};
use offline_tables_core::query::{compare_rows, project, CmpOp, Direction};
use offline_tables_core::{Filter, Key, Query};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

type Row = Map<String, Value>;

const CASES: u32 = 2000;
const COLUMNS: [&str; 3] = ["a", "b", "c"];

/// Few distinct values, so filters match often and orders tie.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => (0i64..4).prop_map(|n| json!(n)),
        1 => Just(json!(1.5)),
        2 => prop::sample::select(vec!["x", "xy", "y", ""]).prop_map(|s| json!(s)),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(|b| json!(b)),
    ]
}

/// Keys 0..10, numbers and a few strings (numbers sort first).
fn key() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (0i64..10).prop_map(|n| json!(n)),
        1 => prop::sample::select(vec!["k", "m"]).prop_map(|s| json!(s)),
    ]
}

fn row_of(k: Value) -> impl Strategy<Value = Row> {
    prop::collection::vec(prop::option::of(value()), 3).prop_map(move |vals| {
        let mut r = Map::new();
        r.insert("id".into(), k.clone());
        for (c, v) in COLUMNS.iter().zip(vals) {
            if let Some(v) = v {
                r.insert(c.to_string(), v);
            }
        }
        r
    })
}

fn keyed_row() -> impl Strategy<Value = Row> {
    key().prop_flat_map(row_of)
}

fn column() -> impl Strategy<Value = String> {
    prop::sample::select(COLUMNS.to_vec()).prop_map(str::to_string)
}

fn leaf() -> impl Strategy<Value = Filter> {
    let op = prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Gt,
        CmpOp::Gte,
        CmpOp::Lt,
        CmpOp::Lte,
    ]);
    prop_oneof![
        (column(), op, value()).prop_map(|(column, op, value)| Filter::Cmp { column, op, value }),
        (column(), prop::collection::vec(value(), 1..3))
            .prop_map(|(column, values)| Filter::In { column, values }),
        (column(), prop::sample::select(vec!["x", ""])).prop_map(|(column, p)| {
            Filter::StartsWith {
                column,
                prefix: p.into(),
            }
        }),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(2, 6, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..3).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn query() -> impl Strategy<Value = Query> {
    let dir = prop::sample::select(vec![Direction::Asc, Direction::Desc]);
    (
        prop::option::of(filter()),
        prop::collection::vec((column(), dir), 0..3),
        prop::option::of(0u64..6),
        prop_oneof![3 => Just(0u64), 1 => 1u64..4],
        prop::option::of(prop::sample::subsequence(
            vec!["a".to_string(), "id".into()],
            1..2,
        )),
    )
        .prop_map(|(filter, order_by, limit, offset, select)| Query {
            filter,
            order_by,
            limit,
            offset,
            select,
            count: false,
        })
}

/// One change of a batch: a put (its row's key), a delete, a rename, or a put the
/// emitter did not pass the row of.
#[derive(Debug, Clone)]
enum Op {
    Put(Row),
    Delete(Value),
    Rename(Value, Row),
    Unknown(Row),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => keyed_row().prop_map(Op::Put),
        2 => key().prop_map(Op::Delete),
        1 => (key(), keyed_row()).prop_map(|(from, to)| Op::Rename(from, to)),
        1 => keyed_row().prop_map(Op::Unknown),
    ]
}

fn k(v: &Value) -> Key {
    Key::from_json(v, "key").unwrap()
}

/// The table: rows by key, each key once.
fn table_of(rows: Vec<Row>) -> Vec<Row> {
    let mut t: Vec<Row> = Vec::new();
    for r in rows {
        put(&mut t, r);
    }
    t
}

fn put(t: &mut Vec<Row>, r: Row) {
    remove(t, &r["id"]);
    t.push(r);
}

fn remove(t: &mut Vec<Row>, key: &Value) {
    t.retain(|r| k(&r["id"]) != k(key));
}

fn apply(t: &mut Vec<Row>, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Put(r) | Op::Unknown(r) => put(t, r.clone()),
            Op::Delete(key) => remove(t, key),
            Op::Rename(from, r) => {
                remove(t, from);
                put(t, r.clone());
            }
        }
    }
}

/// The changes as an emitter reports them.
fn changes(ops: &[Op]) -> Vec<Change<'_>> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Put(r) => out.push(Change {
                key: k(&r["id"]),
                after: After::Row(r),
            }),
            Op::Unknown(r) => out.push(Change {
                key: k(&r["id"]),
                after: After::Unknown,
            }),
            Op::Delete(key) => out.push(Change {
                key: k(key),
                after: After::Deleted,
            }),
            Op::Rename(from, r) => out.extend(Change::renamed(k(from), k(&r["id"]), After::Row(r))),
        }
    }
    out
}

/// What `query()` gives: filtered, ordered (then by key), sliced, projected.
fn run(t: &[Row], q: &Query) -> Vec<Row> {
    let mut rows: Vec<Row> = t.iter().filter(|r| q.matches(r)).cloned().collect();
    rows.sort_by(|a, b| compare_rows(a, b, &q.order_by, "id"));
    let from = (q.offset as usize).min(rows.len());
    let to = q
        .limit
        .map_or(rows.len(), |l| (from + l as usize).min(rows.len()));
    rows[from..to]
        .iter()
        .map(|r| match &q.select {
            Some(cols) => project(r, cols),
            None => r.clone(),
        })
        .collect()
}

fn batch() -> impl Strategy<Value = (Vec<Row>, Query, Vec<Op>)> {
    (
        prop::collection::vec(keyed_row(), 0..12),
        query(),
        prop::collection::vec(op(), 1..4),
    )
        .prop_map(|(rows, q, ops)| (table_of(rows), q, ops))
}

#[test]
fn a_change_decided_harmless_leaves_the_result_as_it_was() {
    let (harmless, affected_same, affected_changed) =
        (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    check("live window", CASES, batch(), |(table, q, ops)| {
        let mut w = Window::new(q.clone(), "id");
        let read = run(&table, &w.read_query());
        let range = w.hold(&read);
        let before = run(&table, &q);
        let delivered: Vec<Row> = read[range]
            .iter()
            .map(|r| match &q.select {
                Some(cols) => project(r, cols),
                None => r.clone(),
            })
            .collect();
        prop_assert_eq!(&delivered, &before, "the slice of the read is the result");
        let mut after = table.clone();
        apply(&mut after, &ops);
        let now = run(&after, &q);
        if w.affected(&changes(&ops)) {
            match now == before {
                true => affected_same.fetch_add(1, Ordering::Relaxed),
                false => affected_changed.fetch_add(1, Ordering::Relaxed),
            };
        } else {
            harmless.fetch_add(1, Ordering::Relaxed);
            prop_assert_eq!(now, before, "decided harmless, yet the result changed");
        }
        Ok(())
    });
    let (h, s, c) = (
        harmless.into_inner(),
        affected_same.into_inner(),
        affected_changed.into_inner(),
    );
    println!("live window: {h} harmless, {s} re-read for nothing, {c} re-read and changed");
    // Not vacuous: both answers occur often.
    assert!(h * 10 >= (h + s + c), "{h} harmless of {}", h + s + c);
    assert!(c * 10 >= (h + s + c), "{c} changed of {}", h + s + c);
}

#[test]
fn a_count_follows_changes_without_reading() {
    let (followed, unknown) = (AtomicU64::new(0), AtomicU64::new(0));
    check("live count", CASES, batch(), |(table, q, ops)| {
        let mut c = Counted::new(q.clone(), "id");
        c.hold(&run(&table, &c.read_query()));
        prop_assert_eq!(c.count(), run(&table, &q).len() as u64);
        let mut after = table.clone();
        apply(&mut after, &ops);
        if c.apply(&changes(&ops)) {
            followed.fetch_add(1, Ordering::Relaxed);
            prop_assert_eq!(c.count(), run(&after, &q).len() as u64);
        } else {
            unknown.fetch_add(1, Ordering::Relaxed);
            prop_assert!(ops.iter().any(|o| matches!(o, Op::Unknown(_))));
        }
        Ok(())
    });
    let (f, u) = (followed.into_inner(), unknown.into_inner());
    println!("live count: {f} followed, {u} unknown (read again)");
    assert!(f > u);
}

/// The claim the write path relies on: a row outside the filter, not held, never
/// costs a read, however full or empty the window.
#[test]
fn a_row_outside_the_filter_is_never_read_back() {
    check("live outside filter", CASES, batch(), |(table, q, ops)| {
        let mut w = Window::new(q.clone(), "id");
        w.hold(&run(&table, &w.read_query()));
        let held = run(&table, &w.read_query());
        let outside: Vec<&Row> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Put(r) => Some(r),
                _ => None,
            })
            .filter(|r| !q.matches(r) && !held.iter().any(|h| k(&h["id"]) == k(&r["id"])))
            .collect();
        for r in outside {
            let c = Change {
                key: k(&r["id"]),
                after: After::Row(r),
            };
            prop_assert!(!w.affected(&[c]), "{:?} read back for {:?}", r, q);
        }
        Ok(())
    });
}
