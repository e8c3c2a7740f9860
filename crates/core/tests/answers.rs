//! The client's checks of server answers (`protocol::answers`): every hostile page or
//! push answer below is refused with a message, and the honest ones pass.

use offline_tables_core::protocol::answers::{check_pull, check_push};
use offline_tables_core::protocol::{PullRequest, PullResponse, PushMutation, PushResponse};
use offline_tables_core::Profile;
use serde_json::{json, Value};

fn profile() -> Profile {
    Profile::from_json(&json!({ "version": 1, "tables": {
        "accounts": { "key": "id", "scope": "all" },
        "counters": { "key": "n", "scope": "all" } } }))
    .unwrap()
}

/// A change to an honest answer that makes it hostile.
type Edit = Box<dyn Fn(&mut Value)>;

fn page(v: Value) -> PullResponse {
    serde_json::from_value(v).unwrap()
}

/// A pull of every table from `checkpoint`, as before per-table checkpoints.
fn legacy(checkpoint: Option<&str>) -> PullRequest {
    serde_json::from_value(
        json!({ "protocolVersion": 1, "clientId": "c", "checkpoint": checkpoint }),
    )
    .unwrap()
}

/// A pull of `tables` with per-table checkpoints (revision 2).
fn per_table(checkpoints: Value, tables: Option<Value>) -> PullRequest {
    serde_json::from_value(json!({ "protocolVersion": 1, "clientId": "c",
                                   "checkpoints": checkpoints, "tables": tables }))
    .unwrap()
}

fn honest_page() -> Value {
    json!({ "protocolVersion": 1, "checkpoint": "12", "hasMore": false, "changes": [
        { "kind": "upsert", "table": "accounts", "key": "a1", "version": "11",
          "row": { "id": "a1", "name": "Acme" } },
        { "kind": "upsert", "table": "counters", "key": 3, "version": "12", "row": { "n": 3 } },
        { "kind": "remove", "table": "accounts", "key": "a2", "version": "12", "reason": "deleted" },
        { "kind": "upsert", "table": "elsewhere", "key": "x", "version": "5", "row": "anything" },
        { "kind": "teleport", "table": "accounts" } ] })
}

#[test]
fn honest_pages_pass() {
    let p = profile();
    check_pull(&legacy(None), &page(honest_page()), &p).unwrap();
    check_pull(&legacy(Some("10")), &page(honest_page()), &p).unwrap();
    let mut resync = honest_page();
    resync["resync"] = json!(true);
    resync["checkpoint"] = json!("0");
    check_pull(&legacy(Some("10")), &page(resync), &p).unwrap();
    // More to come, from a checkpoint that moved.
    let mut more = honest_page();
    more["hasMore"] = json!(true);
    check_pull(&legacy(Some("3")), &page(more), &p).unwrap();
}

#[test]
fn hostile_pages_are_refused() {
    let p = profile();
    let cases: Vec<(&str, Option<&str>, Edit)> = vec![
        (
            "another protocol",
            None,
            Box::new(|v| v["protocolVersion"] = json!(2)),
        ),
        (
            "checkpoint not a number",
            None,
            Box::new(|v| v["checkpoint"] = json!("12a")),
        ),
        (
            "empty checkpoint",
            None,
            Box::new(|v| v["checkpoint"] = json!("")),
        ),
        (
            "checkpoint past u64",
            None,
            Box::new(|v| v["checkpoint"] = json!("99999999999999999999999")),
        ),
        ("checkpoint going back", Some("20"), Box::new(|_| {})),
        (
            "a row past the checkpoint",
            None,
            Box::new(|v| v["changes"][0]["version"] = json!("13")),
        ),
        (
            "a version not a number",
            None,
            Box::new(|v| v["changes"][2]["version"] = json!("-1")),
        ),
        (
            "a row under another key",
            None,
            Box::new(|v| v["changes"][0]["row"]["id"] = json!("a9")),
        ),
        (
            "a numeric key as a string",
            None,
            Box::new(|v| v["changes"][1]["row"]["n"] = json!("3")),
        ),
        (
            "a row without its key",
            None,
            Box::new(|v| {
                v["changes"][0]["row"].as_object_mut().unwrap().remove("id");
            }),
        ),
        (
            "a row that is not an object",
            None,
            Box::new(|v| v["changes"][0]["row"] = json!(["a1"])),
        ),
        (
            "a resync of a pull from the start",
            None,
            Box::new(|v| v["resync"] = json!(true)),
        ),
        (
            "more, but no progress",
            Some("12"),
            Box::new(|v| {
                v["hasMore"] = json!(true);
                v["changes"] = json!([]);
            }),
        ),
    ];
    for (what, asked, edit) in cases {
        let mut v = honest_page();
        edit(&mut v);
        let r = check_pull(&legacy(asked), &page(v), &p);
        assert!(r.is_err(), "{what}: accepted");
    }
}

#[test]
fn per_table_pages_are_checked_table_by_table() {
    let p = profile();
    let asked = per_table(
        json!({ "accounts": "10", "counters": "40" }),
        Some(json!(["accounts"])),
    );
    let honest = || {
        json!({ "protocolVersion": 1, "checkpoint": "12", "hasMore": false,
                "checkpoints": { "accounts": "12" }, "changes": [
            { "kind": "upsert", "table": "accounts", "key": "a1", "version": "11",
              "row": { "id": "a1" } },
            { "kind": "upsert", "table": "elsewhere", "key": "x", "version": "5", "row": 1 } ] })
    };
    check_pull(&asked, &page(honest()), &p).unwrap();
    // Every table when none is named; a table never pulled starts from nothing.
    let all = per_table(json!({ "accounts": null, "counters": "40" }), None);
    let mut both = honest();
    both["checkpoints"] = json!({ "accounts": "12", "counters": "40" });
    check_pull(&all, &page(both), &p).unwrap();
    // A resync is fine once any table has a checkpoint, pulled or not.
    let mut resync = honest();
    resync["resync"] = json!(true);
    check_pull(
        &per_table(
            json!({ "accounts": null, "counters": "4" }),
            Some(json!(["accounts"])),
        ),
        &page(resync.clone()),
        &p,
    )
    .unwrap();
    assert!(check_pull(
        &per_table(json!({ "accounts": null }), None),
        &page(resync),
        &p
    )
    .is_err());

    let cases: Vec<(&str, Edit)> = vec![
        (
            "a table not pulled",
            Box::new(|v| v["changes"][0]["table"] = json!("counters")),
        ),
        (
            "a version past its table's checkpoint",
            Box::new(|v| v["checkpoints"]["accounts"] = json!("10")),
        ),
        (
            "a table's checkpoint going back",
            Box::new(|v| {
                v["checkpoints"]["accounts"] = json!("9");
                v["changes"] = json!([]);
            }),
        ),
        (
            "a checkpoint for a table not pulled",
            Box::new(|v| v["checkpoints"]["counters"] = json!("50")),
        ),
        (
            "no checkpoint for the table pulled",
            Box::new(|v| v["checkpoints"] = json!({})),
        ),
        (
            "a checkpoint that is not a version",
            Box::new(|v| v["checkpoints"]["accounts"] = json!("x")),
        ),
        (
            "more, but no checkpoint moved",
            Box::new(|v| {
                v["hasMore"] = json!(true);
                v["checkpoints"]["accounts"] = json!("10");
                v["changes"] = json!([]);
            }),
        ),
    ];
    for (what, edit) in cases {
        let mut v = honest();
        edit(&mut v);
        assert!(
            check_pull(&asked, &page(v), &p).is_err(),
            "{what}: accepted"
        );
    }
    // Per-table checkpoints in answer to a pull without them.
    assert!(check_pull(&legacy(Some("10")), &page(honest()), &p).is_err());
}

fn sent() -> Vec<PushMutation> {
    serde_json::from_value(json!([
        { "id": 4, "table": "accounts", "key": "a1", "op": "update", "row": { "id": "a1" }, "baseVersion": "3" },
        { "id": 5, "table": "accounts", "key": "a2", "op": "delete", "baseVersion": "3" },
        { "id": 7, "table": "accounts", "key": "a3", "op": "insert", "row": { "id": "a3" } } ]))
    .unwrap()
}

fn honest_push() -> Value {
    json!({ "protocolVersion": 1, "outcomes": [
        { "status": "applied", "id": 4, "version": "20" },
        { "status": "conflict", "id": 5, "serverRow": { "id": "a2", "x": 1 }, "serverVersion": "19" },
        { "status": "rejected", "id": 7, "reason": "permission", "message": "no" } ] })
}

#[test]
fn push_answers_must_answer_what_was_sent() {
    let p = profile();
    let check = |v: Value| {
        check_push(
            &sent(),
            &serde_json::from_value::<PushResponse>(v).unwrap(),
            &p,
        )
    };
    check(honest_push()).unwrap();
    let mut unknown = honest_push();
    unknown["outcomes"][2] = json!({ "status": "deferred", "id": 7 });
    check(unknown).unwrap();
    let cases: Vec<(&str, Edit)> = vec![
        (
            "one outcome missing",
            Box::new(|v| {
                v["outcomes"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "one outcome too many",
            Box::new(|v| {
                v["outcomes"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({ "status": "applied", "id": 8, "version": "21" }));
            }),
        ),
        (
            "outcomes out of order",
            Box::new(|v| v["outcomes"].as_array_mut().unwrap().swap(0, 2)),
        ),
        (
            "an id never sent",
            Box::new(|v| v["outcomes"][0]["id"] = json!(6)),
        ),
        (
            "a version not a number",
            Box::new(|v| v["outcomes"][0]["version"] = json!("v20")),
        ),
        (
            "a conflict row under another key",
            Box::new(|v| v["outcomes"][1]["serverRow"]["id"] = json!("a1")),
        ),
        (
            "a conflict version not a number",
            Box::new(|v| v["outcomes"][1]["serverVersion"] = json!("")),
        ),
        (
            "another protocol",
            Box::new(|v| v["protocolVersion"] = json!(0)),
        ),
    ];
    for (what, edit) in cases {
        let mut v = honest_push();
        edit(&mut v);
        assert!(check(v).is_err(), "{what}: accepted");
    }
}
