//! Outbox coalescing against an in-memory model of the local store: current rows, bases
//! (the server's last known rows) and the write log. Any sequence of local writes must
//! coalesce to at most one mutation per row, in the order of each row's first write.

use offline_tables_core::outbox::dirty_rows;
use offline_tables_core::{coalesce, Base, Key, LogEntry, Mutation, MutationOp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The local store as the storage layer keeps it.
#[derive(Default)]
struct Store {
    rows: BTreeMap<(String, Key), Value>,
    bases: BTreeMap<(String, Key), Base>,
    log: Vec<LogEntry>,
    seq: u64,
}

fn key_of(row: &Value) -> Key {
    Key::from_json(&row["id"], "id").unwrap()
}

fn s(k: &str) -> Key {
    Key::Str(k.into())
}

impl Store {
    /// A row as pulled from the server: current and base, nothing pending.
    fn synced(&mut self, table: &str, row: Value, version: &str) {
        let k = (table.to_string(), key_of(&row));
        self.bases.insert(
            k.clone(),
            Base {
                version: version.into(),
                row: Some(row.clone()),
            },
        );
        self.rows.insert(k, row);
    }

    fn log(&mut self, table: &str, keys: Vec<Key>) {
        self.seq += 1;
        self.log.push(LogEntry {
            seq: self.seq,
            table: table.into(),
            keys,
            unit: None,
        });
    }

    /// One local write of many rows (a bulk put is one log entry).
    fn put(&mut self, table: &str, rows: &[Value]) {
        let keys = rows.iter().map(key_of).collect();
        for r in rows {
            self.rows.insert((table.into(), key_of(r)), r.clone());
        }
        self.log(table, keys);
    }

    fn delete(&mut self, table: &str, keys: &[Key]) {
        for k in keys {
            self.rows.remove(&(table.to_string(), k.clone()));
        }
        self.log(table, keys.to_vec());
    }

    /// What the outbox would push now, as (seq, key, op).
    fn pending_ops(&self) -> Vec<(u64, Key, MutationOp)> {
        self.pending()
            .into_iter()
            .map(|m| (m.seq, m.key, m.op))
            .collect()
    }

    /// What the outbox would push now.
    fn pending(&self) -> Vec<Mutation> {
        dirty_rows(&self.log)
            .into_iter()
            .filter_map(|(seq, table, key)| {
                let k = (table.clone(), key.clone());
                coalesce(seq, &table, &key, self.bases.get(&k), self.rows.get(&k))
            })
            .collect()
    }
}

fn mutation(
    seq: u64,
    key: Key,
    op: MutationOp,
    row: Option<Value>,
    base: Option<(&str, Value)>,
) -> Mutation {
    Mutation {
        seq,
        table: "t".into(),
        key,
        op,
        row,
        base_version: base.as_ref().map(|b| b.0.to_string()),
        base_row: base.map(|b| b.1),
    }
}

/// The insert of a row the server never had.
fn insert(seq: u64, key: Key, row: Value) -> Mutation {
    mutation(seq, key, MutationOp::Insert, Some(row), None)
}

/// An update to `row` of a row pulled as `base` at `version`.
fn update(seq: u64, key: Key, row: Value, version: &str, base: Value) -> Mutation {
    mutation(
        seq,
        key,
        MutationOp::Update,
        Some(row),
        Some((version, base)),
    )
}

/// The delete of a row pulled as `base` at `version`.
fn delete(seq: u64, key: Key, version: &str, base: Value) -> Mutation {
    mutation(seq, key, MutationOp::Delete, None, Some((version, base)))
}

#[test]
fn nothing_written_nothing_pending() {
    let mut st = Store::default();
    st.synced("t", json!({ "id": "a", "n": 1 }), "1");
    assert_eq!(st.pending(), []);
    assert_eq!(dirty_rows(&[]), []);
}

#[test]
fn insert_then_update_is_one_insert_of_the_final_row() {
    let mut st = Store::default();
    st.put("t", &[json!({ "id": "a", "n": 1 })]);
    st.put("t", &[json!({ "id": "a", "n": 2, "city": "Paris" })]);
    let last = json!({ "id": "a", "n": 3, "city": "Paris" });
    st.put("t", std::slice::from_ref(&last));
    assert_eq!(st.pending(), [insert(1, s("a"), last)]);
}

#[test]
fn update_then_update_keeps_the_original_base() {
    let mut st = Store::default();
    let base = json!({ "id": "a", "n": 1 });
    st.synced("t", base.clone(), "17");
    st.put("t", &[json!({ "id": "a", "n": 2 })]);
    let last = json!({ "id": "a", "n": 5, "x": true });
    st.put("t", std::slice::from_ref(&last));
    assert_eq!(st.pending(), [update(1, s("a"), last, "17", base)]);
}

#[test]
fn insert_then_delete_is_nothing() {
    let mut st = Store::default();
    st.put("t", &[json!({ "id": 1 })]);
    st.put("t", &[json!({ "id": 1, "n": 2 })]);
    st.delete("t", &[Key::Num(1.0)]);
    assert_eq!(st.pending(), []);
    // ...and re-inserting after that is a plain insert again, from its first write.
    st.put("t", &[json!({ "id": 1, "n": 3 })]);
    assert_eq!(
        st.pending(),
        [insert(1, Key::Num(1.0), json!({ "id": 1, "n": 3 }))]
    );
}

#[test]
fn update_then_delete_is_one_delete_with_the_base() {
    let mut st = Store::default();
    let base = json!({ "id": "a", "n": 1 });
    st.synced("t", base.clone(), "9007199254740993");
    st.put("t", &[json!({ "id": "a", "n": 2 })]);
    st.delete("t", &[s("a")]);
    assert_eq!(st.pending(), [delete(1, s("a"), "9007199254740993", base)]);
}

#[test]
fn delete_then_reput_of_a_synced_row_is_an_update() {
    let mut st = Store::default();
    let base = json!({ "id": "a", "n": 1 });
    st.synced("t", base.clone(), "3");
    st.delete("t", &[s("a")]);
    let last = json!({ "id": "a", "n": 7 });
    st.put("t", std::slice::from_ref(&last));
    assert_eq!(st.pending(), [update(1, s("a"), last, "3", base)]);
}

#[test]
fn rows_are_ordered_by_their_first_write() {
    let mut st = Store::default();
    st.synced("t", json!({ "id": "b", "n": 0 }), "1");
    st.put("t", &[json!({ "id": "c", "n": 1 })]); // 1
    st.put("t", &[json!({ "id": "b", "n": 1 })]); // 2
    st.put("t", &[json!({ "id": 5, "n": 1 })]); // 3
    st.put("t", &[json!({ "id": "c", "n": 2 })]); // 4: c keeps seq 1
    st.put("t", &[json!({ "id": "a", "n": 1 })]); // 5
    st.delete("t", &[Key::Num(5.0)]); // 6: 5 was never synced: nothing
    st.put("t", &[json!({ "id": "b", "n": 2 })]); // 7: b keeps seq 2
    let got = st.pending_ops();
    assert_eq!(
        got,
        [
            (1, s("c"), MutationOp::Insert),
            (2, s("b"), MutationOp::Update),
            (5, s("a"), MutationOp::Insert),
        ]
    );
    assert_eq!(st.pending()[1].row, Some(json!({ "id": "b", "n": 2 })));
    assert_eq!(st.pending()[1].base_row, Some(json!({ "id": "b", "n": 0 })));
}

#[test]
fn a_bulk_entry_with_many_keys() {
    let mut st = Store::default();
    st.synced("t", json!({ "id": 2, "v": "old" }), "4");
    st.synced("t", json!({ "id": "x", "v": "old" }), "5");
    st.put("t", &[json!({ "id": "first", "v": 0 })]); // 1
                                                      // One bulk write: keys in write order, mixing numbers and strings, one repeated.
    let bulk: Vec<Value> = [
        json!("z"),
        json!(2),
        json!("x"),
        json!(1),
        json!("first"),
        json!(2),
    ]
    .into_iter()
    .map(|id| json!({ "id": id, "v": "bulk" }))
    .collect();
    st.put("t", &bulk); // 2
    st.delete("t", &[s("x"), Key::Num(1.0)]); // 3
    let got = st.pending_ops();
    // "first" keeps its own seq; within the bulk entry the write order holds; 1 was
    // inserted and deleted (nothing); "x" was synced (a delete).
    assert_eq!(
        got,
        [
            (1, s("first"), MutationOp::Insert),
            (2, s("z"), MutationOp::Insert),
            (2, Key::Num(2.0), MutationOp::Update),
            (2, s("x"), MutationOp::Delete),
        ]
    );
    let pending = st.pending();
    assert_eq!(pending[2].base_version.as_deref(), Some("4"));
    assert_eq!(pending[2].row, Some(json!({ "id": 2, "v": "bulk" })));
    assert_eq!(pending[3].base_row, Some(json!({ "id": "x", "v": "old" })));

    // A large bulk write: one mutation per key, in write order.
    let mut st = Store::default();
    let many: Vec<Value> = (0..500)
        .rev()
        .map(|i| json!({ "id": i, "k": format!("r{i}") }))
        .collect();
    st.put("t", &many);
    let pending = st.pending();
    assert_eq!(pending.len(), 500);
    assert!(pending
        .iter()
        .all(|m| m.seq == 1 && m.op == MutationOp::Insert));
    let keys: Vec<Key> = pending.iter().map(|m| m.key.clone()).collect();
    let want: Vec<Key> = (0..500).rev().map(|i| Key::Num(i as f64)).collect();
    assert_eq!(keys, want);
}

#[test]
fn tables_and_key_types_are_kept_apart() {
    let mut st = Store::default();
    st.put("t", &[json!({ "id": 1 })]);
    st.put("u", &[json!({ "id": 1 })]);
    st.put("t", &[json!({ "id": "1" })]);
    st.put("t", &[json!({ "id": 1.0, "again": true })]);
    let got: Vec<(u64, String, Key)> = st
        .pending()
        .into_iter()
        .map(|m| (m.seq, m.table, m.key))
        .collect();
    assert_eq!(
        got,
        [
            (1, "t".to_string(), Key::Num(1.0)),
            (2, "u".to_string(), Key::Num(1.0)),
            (3, "t".to_string(), s("1")),
        ]
    );
    assert_eq!(
        st.pending()[0].row,
        Some(json!({ "id": 1.0, "again": true }))
    );
}

#[test]
fn dirty_rows_follows_seq_even_when_the_log_is_out_of_order() {
    let log = [
        LogEntry {
            seq: 9,
            table: "t".into(),
            keys: vec![s("late"), s("a")],
            unit: None,
        },
        LogEntry {
            seq: 2,
            table: "t".into(),
            keys: vec![s("a"), s("b")],
            unit: None,
        },
        LogEntry {
            seq: 5,
            table: "u".into(),
            keys: vec![s("a")],
            unit: None,
        },
    ];
    assert_eq!(
        dirty_rows(&log),
        [
            (2, "t".to_string(), s("a")),
            (2, "t".to_string(), s("b")),
            (5, "u".to_string(), s("a")),
            (9, "t".to_string(), s("late")),
        ]
    );
}

#[test]
fn coalesce_each_case() {
    let base = Base {
        version: "7".into(),
        row: Some(json!({ "id": "k", "n": 1 })),
    };
    let row = json!({ "id": "k", "n": 2 });
    assert_eq!(coalesce(3, "t", &s("k"), None, None), None);
    let m = coalesce(3, "t", &s("k"), None, Some(&row)).unwrap();
    assert_eq!(
        (
            m.op,
            m.row.as_ref(),
            m.base_version.as_ref(),
            m.base_row.as_ref()
        ),
        (MutationOp::Insert, Some(&row), None, None)
    );
    let m = coalesce(3, "t", &s("k"), Some(&base), Some(&row)).unwrap();
    assert_eq!(m.op, MutationOp::Update);
    assert_eq!(m.row, Some(row.clone()));
    assert_eq!(m.base_version.as_deref(), Some("7"));
    assert_eq!(m.base_row, base.row.clone());
    let m = coalesce(3, "t", &s("k"), Some(&base), None).unwrap();
    assert_eq!(m.op, MutationOp::Delete);
    assert_eq!(m.row, None);
    assert_eq!(m.base_version.as_deref(), Some("7"));
    assert_eq!((m.seq, m.table.as_str(), &m.key), (3, "t", &s("k")));
}

#[test]
fn wire_shapes() {
    let m = update(
        4,
        s("k"),
        json!({ "id": "k" }),
        "7",
        json!({ "id": "k", "n": 1 }),
    );
    assert_eq!(
        serde_json::to_value(&m).unwrap(),
        json!({ "table": "t", "key": "k", "op": "update", "row": { "id": "k" },
                "baseVersion": "7", "baseRow": { "id": "k", "n": 1 } })
    );
    let d = delete(4, s("k"), "7", json!({}));
    assert_eq!(serde_json::to_value(&d).unwrap()["op"], json!("delete"));
    assert_eq!(serde_json::to_value(&d).unwrap()["row"], Value::Null);
    let e: LogEntry =
        serde_json::from_value(json!({ "seq": 3, "table": "t", "keys": [1, "a", 2.5] })).unwrap();
    assert_eq!(e.keys, [Key::Num(1.0), s("a"), Key::Num(2.5)]);
    let b: Base = serde_json::from_value(json!({ "version": "12", "row": { "id": 1 } })).unwrap();
    assert_eq!(b.version, "12");
}
