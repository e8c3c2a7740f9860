//! Shared parts of the property tests (`fuzz_*.rs`): the case count, a runner that
//! counts and reports what it executed, generators of JSON values (random, and mutated
//! from valid examples) and the field names they draw from (which `profile.rs` checks
//! `to_json` writes).
#![allow(dead_code)]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// Cases per property: `PROPTEST_CASES`, or `default` when it is unset. The defaults of
/// the `fuzz_*.rs` files keep `cargo test --workspace` fast; raise the variable for a
/// longer hunt (`PROPTEST_CASES=100000 cargo test -p offline-tables-core --test fuzz_query`).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Runs `test` on `cases(default)` values of `strategy`. A panic inside `test` fails the
/// property like a failed assertion (proptest catches it and shrinks the input). Prints
/// `fuzz <name>: <n> cases` (seen with `-- --nocapture`) and checks that every case ran.
pub fn check<S, F>(name: &str, default: u32, strategy: S, test: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError>,
{
    let wanted = cases(default);
    let config = Config {
        cases: wanted,
        failure_persistence: None,
        // Every generated value is a case: no filtering, so the count is exact.
        max_global_rejects: 0,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let ran = AtomicU64::new(0);
    let result = runner.run(&strategy, |v| {
        ran.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    if let Err(e) = result {
        panic!("property {name} failed: {e}");
    }
    let n = ran.load(Ordering::Relaxed);
    println!("fuzz {name}: {n} cases");
    assert!(n >= wanted as u64, "{name}: {n} cases ran, {wanted} wanted");
}

/// Scalars of every JSON type, with the awkward ones over-represented: huge and
/// negative numbers, floats, empty and non-ASCII strings, quotes, control characters.
pub fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop_oneof![Just(0i64), Just(1), Just(-1), Just(1_000_000)].prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[a-zA-Z_'\" ]{0,8}".prop_map(Value::String),
        words().prop_map(|w| Value::String(w.to_string())),
    ]
}

/// The fields of a profile's table, every one of which `Profile::to_json` spells out.
pub const TABLE_FIELDS: [&str; 6] = [
    "key",
    "indexes",
    "conflict",
    "syncIntervalSeconds",
    "readOnly",
    "scope",
];

/// Names that the parsers give meaning to, so random objects hit real fields.
pub fn words() -> impl Strategy<Value = &'static str> {
    let mut words = vec!["version", "tables"];
    words.extend(TABLE_FIELDS);
    words.extend([
        "owner",
        "columns",
        "files",
        "download",
        "maxBytes",
        "sync",
        "view",
        "related",
        "table",
        "column",
        "modifiedWithinDays",
        "days",
        "filter",
        "anyOf",
        "all",
        "server-wins",
        "client-wins",
        "merge",
        "manual",
        "id",
        "ownerId",
        "accounts",
        "protocolVersion",
        "clientId",
        "checkpoint",
        "limit",
        "changes",
        "hasMore",
        "resync",
        "profileVersion",
        "kind",
        "upsert",
        "remove",
        "row",
        "reason",
        "scope",
        "deleted",
        "mutations",
        "op",
        "insert",
        "update",
        "delete",
        "columns",
        "baseVersion",
        "outcomes",
        "status",
        "applied",
        "conflict",
        "rejected",
        "serverRow",
        "serverVersion",
        "message",
        "where",
        "orderBy",
        "offset",
        "select",
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "in",
        "startsWith",
        "contains",
        "or",
        "asc",
        "desc",
        "__proto__",
        "",
        "rows",
        "bytes",
        "error",
        "code",
    ]);
    prop::sample::select(words)
}

/// Any JSON value, nested up to a few levels, with keys drawn mostly from `words()`.
pub fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

pub fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => words().prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

/// One edit of a JSON document: which node (an index into its nodes in document order,
/// taken modulo their number) and what to do there.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Replace the node by another value (often of another type).
    Replace(usize, Value),
    /// Remove the node from its parent (a field or an item).
    Remove(usize),
    /// Add a field (to an object) or an item (to an array) at the node.
    Add(usize, String, Value),
    /// Replace the node by one of its own children, or wrap it in an array.
    Shuffle(usize, bool),
}

pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        3 => (any::<usize>(), json_value()).prop_map(|(i, v)| Edit::Replace(i, v)),
        2 => any::<usize>().prop_map(Edit::Remove),
        2 => (any::<usize>(), json_key(), json_value()).prop_map(|(i, k, v)| Edit::Add(i, k, v)),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, b)| Edit::Shuffle(i, b)),
    ];
    prop::collection::vec(edit, 1..4)
}

/// `doc` with `edits` applied in turn.
pub fn mutate(mut doc: Value, edits: &[Edit]) -> Value {
    for e in edits {
        let n = count_nodes(&doc);
        match e {
            Edit::Replace(i, v) => {
                if let Some(node) = nth(&mut doc, i % n) {
                    *node = v.clone();
                }
            }
            Edit::Remove(i) => {
                remove_nth(&mut doc, i % n);
            }
            Edit::Add(i, k, v) => match nth(&mut doc, i % n) {
                Some(Value::Object(o)) => {
                    o.insert(k.clone(), v.clone());
                }
                Some(Value::Array(a)) => a.push(v.clone()),
                _ => {}
            },
            Edit::Shuffle(i, wrap) => {
                if let Some(node) = nth(&mut doc, i % n) {
                    let child = match node {
                        Value::Object(o) => o.values().next().cloned(),
                        Value::Array(a) => a.first().cloned(),
                        _ => None,
                    };
                    *node = match (wrap, child) {
                        (false, Some(c)) => c,
                        _ => Value::Array(vec![node.take()]),
                    };
                }
            }
        }
    }
    doc
}

fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(o) => o.values().map(count_nodes).sum(),
        _ => 0,
    }
}

fn nth(v: &mut Value, mut i: usize) -> Option<&mut Value> {
    fn go<'a>(v: &'a mut Value, i: &mut usize) -> Option<&'a mut Value> {
        if *i == 0 {
            return Some(v);
        }
        *i -= 1;
        match v {
            Value::Array(a) => a.iter_mut().find_map(|c| go(c, i)),
            Value::Object(o) => o.values_mut().find_map(|c| go(c, i)),
            _ => None,
        }
    }
    go(v, &mut i)
}

/// Removes the node at index `i` (not the root) from its parent.
fn remove_nth(v: &mut Value, i: usize) {
    fn go(v: &mut Value, i: &mut usize) -> bool {
        let target = match v {
            Value::Array(a) => {
                let mut hit = None;
                for (j, c) in a.iter_mut().enumerate() {
                    if *i == 0 {
                        hit = Some(j);
                        break;
                    }
                    *i -= 1;
                    if go(c, i) {
                        return true;
                    }
                }
                hit.map(|j| {
                    a.remove(j);
                })
            }
            Value::Object(o) => {
                let mut hit = None;
                for (k, c) in o.iter_mut() {
                    if *i == 0 {
                        hit = Some(k.clone());
                        break;
                    }
                    *i -= 1;
                    if go(c, i) {
                        return true;
                    }
                }
                hit.map(|k| {
                    o.remove(&k);
                })
            }
            _ => None,
        };
        target.is_some()
    }
    if i > 0 {
        let mut i = i - 1;
        go(v, &mut i);
    }
}

/// Bytes that are mostly JSON: a random value's text with a few bytes flipped, cut or
/// inserted, so the decoder sees truncations and stray tokens as well as valid text.
pub fn json_bytes(base: impl Strategy<Value = Value>) -> impl Strategy<Value = Vec<u8>> {
    (
        base,
        prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..4),
    )
        .prop_map(|(v, flips)| {
            let mut b = v.to_string().into_bytes();
            for (i, byte, how) in flips {
                if b.is_empty() {
                    b.push(byte);
                    continue;
                }
                let i = i % b.len();
                match how {
                    0 => b[i] = byte,
                    1 => b.truncate(i),
                    _ => b.insert(i, byte),
                }
            }
            b
        })
}
