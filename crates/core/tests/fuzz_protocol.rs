//! Property tests of the protocol's JSON (pull and push requests as the server decodes
//! them, pull pages, push outcomes, estimates and error bodies as the client decodes
//! them, keys, and the row check): any bytes decode or fail with an error, never a panic;
//! what decodes encodes back to itself.
//!
//! Cases per property: `PROPTEST_CASES` (default 500). The count of each property is
//! printed with `cargo test -p offline-tables-core --test fuzz_protocol -- --nocapture`.

mod fuzz_support;

use fuzz_support::*;
use offline_tables_core::protocol::{
    Change, ErrorBody, Estimate, Outcome, PullRequest, PullResponse, PushRequest, PushResponse,
};
use offline_tables_core::value::check_row;
use offline_tables_core::{ErrorCode, Key};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Debug;

const CASES: u32 = 500;

fn pull_request() -> Value {
    json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": "17", "limit": 100 })
}

fn push_request() -> Value {
    json!({ "protocolVersion": 1, "clientId": "c1", "mutations": [
        { "id": 1, "table": "accounts", "key": "a1", "op": "insert",
          "row": { "id": "a1", "ownerId": "alice", "n": 1.5 } },
        { "id": 2, "table": "accounts", "key": 7, "op": "update",
          "columns": { "city": "Lyon" }, "baseVersion": "3" },
        { "id": 3, "table": "notes", "key": "n'1", "op": "delete", "baseVersion": "4" } ] })
}

fn pull_response() -> Value {
    json!({ "protocolVersion": 1, "checkpoint": "42", "hasMore": true, "resync": false,
        "profileVersion": 2, "changes": [
        { "kind": "upsert", "table": "accounts", "key": "a1", "version": "40",
          "row": { "id": "a1", "tags": ["x", 1, null], "nested": { "deep": [ {} ] } } },
        { "kind": "remove", "table": "accounts", "key": 3, "version": "41", "reason": "scope" },
        { "kind": "remove", "table": "notes", "key": "n1", "version": "42", "reason": "deleted" } ] })
}

fn push_response() -> Value {
    json!({ "protocolVersion": 1, "outcomes": [
        { "status": "applied", "id": 1, "version": "5" },
        { "status": "conflict", "id": 2, "serverRow": { "id": 7 }, "serverVersion": "4" },
        { "status": "conflict", "id": 3, "serverRow": null, "serverVersion": null },
        { "status": "rejected", "id": 4, "reason": "permission", "message": "no" } ] })
}

fn estimate() -> Value {
    json!({ "protocolVersion": 1, "rows": 3, "bytes": 120,
        "tables": { "accounts": { "rows": 2, "bytes": 80 }, "notes": { "rows": 1, "bytes": 40 } } })
}

fn error_body() -> Value {
    json!({ "error": { "code": "invalid_argument", "message": "bad" } })
}

/// Decodes `bytes` as `T`; what decodes must encode and decode back to itself.
fn decode_round_trip<T>(bytes: &[u8]) -> Result<bool, TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    match serde_json::from_slice::<T>(bytes) {
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            Ok(false)
        }
        Ok(v) => {
            let text = serde_json::to_string(&v)
                .map_err(|e| TestCaseError::fail(format!("{v:?} does not encode: {e}")))?;
            let again: T = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{text} does not decode: {e}")))?;
            prop_assert_eq!(&again, &v, "{}", text);
            Ok(true)
        }
    }
}

/// Random values, the valid example mutated, and both as slightly broken text.
fn documents(example: Value) -> impl Strategy<Value = Vec<u8>> {
    let e2 = example.clone();
    prop_oneof![
        2 => edits().prop_map(move |e| mutate(example.clone(), &e).to_string().into_bytes()),
        1 => json_bytes(edits().prop_map(move |e| mutate(e2.clone(), &e))),
        1 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => any::<Vec<u8>>(),
    ]
}

/// Runs the decode property for `T` over documents derived from `example`, and checks
/// that the example itself (unmutated) decodes, so the mutations start from valid input.
fn protocol_property<T>(name: &str, example: Value)
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    assert!(
        serde_json::from_value::<T>(example.clone()).is_ok(),
        "{name}: the example must be valid"
    );
    check(name, CASES, documents(example), |bytes| {
        decode_round_trip::<T>(&bytes).map(|_| ())
    });
}

#[test]
fn pull_requests_decode_or_fail_cleanly() {
    protocol_property::<PullRequest>("fuzz_protocol::pull_request", pull_request());
}

#[test]
fn push_requests_decode_or_fail_cleanly() {
    protocol_property::<PushRequest>("fuzz_protocol::push_request", push_request());
}

#[test]
fn pull_pages_decode_or_fail_cleanly() {
    protocol_property::<PullResponse>("fuzz_protocol::pull_response", pull_response());
}

#[test]
fn push_outcomes_decode_or_fail_cleanly() {
    protocol_property::<PushResponse>("fuzz_protocol::push_response", push_response());
}

#[test]
fn estimates_and_error_bodies_decode_or_fail_cleanly() {
    protocol_property::<Estimate>("fuzz_protocol::estimate", estimate());
    protocol_property::<ErrorBody>("fuzz_protocol::error_body", error_body());
}

#[test]
fn single_changes_and_outcomes_decode_or_fail_cleanly() {
    let change = pull_response()["changes"][0].clone();
    let outcome = push_response()["outcomes"][1].clone();
    protocol_property::<Change>("fuzz_protocol::change", change);
    protocol_property::<Outcome>("fuzz_protocol::outcome", outcome);
}

#[test]
fn keys_and_rows_are_checked_without_panicking() {
    let strategy = (json_value(), json_value(), json_key());
    check(
        "fuzz_protocol::key_and_row_checks",
        CASES,
        strategy,
        |(k, row, col)| {
            match Key::from_json(&k, "key") {
                Err(e) => {
                    prop_assert_eq!(e.code, ErrorCode::InvalidArgument);
                    prop_assert!(!(k.is_string() || k.as_f64().is_some_and(f64::is_finite)));
                }
                Ok(key) => {
                    // A key decodes the same through serde (the wire) and from_json.
                    let wire: Key = serde_json::from_value(k.clone())
                        .map_err(|e| TestCaseError::fail(format!("{k}: {e}")))?;
                    prop_assert_eq!(&wire, &key);
                    prop_assert_eq!(
                        Key::from_json(&key.to_json(), "key").ok(),
                        Some(key.clone())
                    );
                    // A row passes the check exactly when it is an object holding the key.
                    let held = row
                        .get(&col)
                        .and_then(|v| Key::from_json(v, "k").ok())
                        .is_some_and(|rk| rk == key);
                    match check_row(&row, &col, &key) {
                        Ok(map) => {
                            prop_assert!(held);
                            prop_assert_eq!(Value::Object(map), row.clone());
                        }
                        Err(msg) => {
                            prop_assert!(!held);
                            prop_assert!(!msg.is_empty());
                        }
                    }
                }
            }
            Ok(())
        },
    );
}

/// Deeply nested JSON ends in serde_json's recursion limit: an error, not a stack
/// overflow, for every type the server or the client decodes.
#[test]
fn deeply_nested_documents_are_errors() {
    let deep = |open: &str| open.repeat(100_000).into_bytes();
    for bytes in [deep("["), deep("{\"a\":"), {
        let mut b = br#"{"protocolVersion":1,"clientId":"c","mutations":[{"id":1,"table":"t","key":"k","op":"insert","row":"#.to_vec();
        b.extend(deep("["));
        b
    }] {
        assert!(serde_json::from_slice::<PullRequest>(&bytes).is_err());
        assert!(serde_json::from_slice::<PushRequest>(&bytes).is_err());
        assert!(serde_json::from_slice::<PullResponse>(&bytes).is_err());
        assert!(serde_json::from_slice::<PushResponse>(&bytes).is_err());
        assert!(serde_json::from_slice::<Value>(&bytes).is_err());
    }
}

/// Floats that serde_json read one ulp off before `float_roundtrip` was enabled (found
/// by the properties above): a row's number must come back from a trip through text as
/// it was, or a value a client wrote changes on the server.
#[test]
fn floats_survive_a_trip_through_text_exactly() {
    for text in [
        "1.6551560844407726e-186",
        "-4.7178335784168943e-153",
        "-1.74253517007099e-9",
        "5e-324",
        "1.7976931348623157e308",
        "0.1",
    ] {
        let exact: f64 = text.parse().unwrap();
        let page: PullResponse = serde_json::from_str(&format!(
            r#"{{"protocolVersion":1,"checkpoint":"1","hasMore":false,"changes":[
                {{"kind":"upsert","table":"t","key":{text},"version":"1","row":{{"x":{text}}}}}]}}"#
        ))
        .unwrap();
        let Change::Upsert { key, row, .. } = &page.changes[0] else {
            panic!("an upsert")
        };
        assert_eq!(
            row["x"].as_f64().unwrap().to_bits(),
            exact.to_bits(),
            "{text}"
        );
        assert_eq!(key, &Key::Num(exact), "{text}");
        let again: PullResponse =
            serde_json::from_str(&serde_json::to_string(&page).unwrap()).unwrap();
        assert_eq!(again, page, "{text}");
    }
}
