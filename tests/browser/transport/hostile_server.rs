//! A broken or hostile server cannot corrupt the store: answers of valid JSON that lie
//! (rows under another key, versions past the checkpoint, a checkpoint going back, a
//! resync loop, "more" without progress, push outcomes for mutations never sent, a
//! conflict row of another key) or have the wrong shape fail the sync with `malformed`,
//! change nothing stored, throw nothing out of the API, and the next honest answer
//! syncs everything. The test server's `respond` fault plays the server (users uma, vic).

use crate::common::faults::*;
use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen_test::*;

const UMA: &str = "dev-token-uma";
const VIC: &str = "dev-token-vic";

/// Every row of every table and the pending changes, as JSON.
async fn stored(store: &OfflineStore) -> String {
    let mut out = serde_json::Map::new();
    for t in FIXTURE_TABLES {
        let rows: Value =
            serde_json::from_str(&ok_json(store.table(t).unwrap().query(None)).await).unwrap();
        out.insert(t.into(), rows);
    }
    out.insert(
        "pending".into(),
        serde_json::from_str(&pending_json(store).await).unwrap(),
    );
    Value::Object(out).to_string()
}

/// The ids of the user's accounts on the server.
async fn server_accounts(token: &str) -> Vec<String> {
    let (status, body) = rest_as(token, "GET", "/api/data/accounts", None).await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<String> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// One sync against the hostile answer `body` on `path`: it fails as `malformed` for the
/// reason `why` (a part of the status's `lastError`), nothing stored changes, and the
/// rule was used.
async fn refused(store: &OfflineStore, faults: &Faults, path: &str, (what, why, body): Case) {
    faults
        .add(json!([{ "path": path, "fault": { "kind": "respond", "body": body } }]))
        .await;
    let before = stored(store).await;
    let r = sync(store).await;
    assert_eq!(r["result"], "failed", "{what}: {r}");
    assert_eq!(r["status"]["errorCode"], "malformed", "{what}: {r}");
    let error = r["status"]["lastError"].as_str().unwrap_or_default();
    assert!(error.contains(why), "{what}: expected '{why}' in: {error}");
    assert_eq!(stored(store).await, before, "{what}: the store changed");
    faults.assert_used_up().await;
}

type Case = (&'static str, &'static str, Value);

#[wasm_bindgen_test]
async fn lying_pull_pages_apply_nothing_and_move_no_checkpoint() {
    let faults = Faults::begin("uma").await;
    let name = unique_name("hostile-pull");
    let store = open_manual(&name, UMA).await;
    let (status, body) = rest_as(
        UMA,
        "POST",
        "/api/data/accounts",
        Some(&json!({ "id": format!("{name}-a"), "ownerId": "uma", "name": "before" }).to_string()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(sync(&store).await["result"], "completed");
    // A change the next honest pull must still bring: no lie may move the checkpoint
    // past it.
    let later = format!("{name}-b");
    let (status, body) = rest_as(
        UMA,
        "POST",
        "/api/data/accounts",
        Some(&json!({ "id": later, "ownerId": "uma", "name": "after" }).to_string()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // A downloaded row's version is the store's checkpoint (see `RowMeta`).
    let meta: Value = serde_json::from_str(
        &ok_json(
            store
                .table("accounts")
                .unwrap()
                .meta(format!("{name}-a").into()),
        )
        .await,
    )
    .unwrap();
    let checkpoint = meta["version"].as_str().expect("a checkpoint").to_string();
    let row = |key: &str, id: &str, version: &str| {
        json!({ "kind": "upsert", "table": "accounts", "key": key, "version": version,
                "row": { "id": id, "ownerId": "uma", "name": "forged" } })
    };
    let page = |changes: Value, checkpoint: &str| {
        json!({ "protocolVersion": 1, "changes": changes, "checkpoint": checkpoint,
                "hasMore": false })
    };
    let cases: [Case; 10] = [
        (
            "a row under another key",
            "the row's id is 'other', not 'victim'",
            page(json!([row("victim", "other", "5")]), "1000000"),
        ),
        (
            "a version past the checkpoint",
            "is past the checkpoint",
            page(json!([row("v2", "v2", "1000001")]), "1000000"),
        ),
        (
            "a checkpoint going back",
            "the checkpoint went back",
            page(json!([row("v3", "v3", "1")]), "1"),
        ),
        (
            "a checkpoint that is not a number",
            "is not a version",
            page(json!([]), "latest"),
        ),
        (
            "more, without progress",
            "did not move",
            json!({ "protocolVersion": 1, "changes": [], "checkpoint": checkpoint, "hasMore": true }),
        ),
        (
            "changes not a list",
            "invalid type",
            page(json!({ "0": 1 }), "1000000"),
        ),
        (
            "a key that is an object",
            "malformed",
            page(
                json!([{ "kind": "upsert", "table": "accounts", "key": { "id": 1 },
                          "version": "5", "row": { "id": 1 } }]),
                "1000000",
            ),
        ),
        (
            "a row that is a string",
            "not an object",
            page(
                json!([{ "kind": "upsert", "table": "accounts", "key": "s",
                          "version": "5", "row": "s" }]),
                "1000000",
            ),
        ),
        (
            "another protocol",
            "protocol 7",
            json!({ "protocolVersion": 7, "changes": [], "checkpoint": "1000000", "hasMore": false }),
        ),
        (
            "an error body with status 200",
            "missing field",
            json!({ "error": { "code": "x", "message": "y" } }),
        ),
    ];
    // "A checkpoint going back" needs a checkpoint above 1: the first sync gave one.
    for case in cases {
        refused(&store, &faults, "/sync/pull", case).await;
    }
    // Every call of the API still works.
    assert!(local_ids(&store, "accounts")
        .await
        .contains(&format!("{name}-a")));
    assert_eq!(pending_count(&store).await, 0);

    // The honest server again: the change made before the lies arrives.
    let r = sync(&store).await;
    assert_eq!(r["result"], "completed", "{r}");
    assert_eq!(
        local_ids(&store, "accounts").await,
        server_accounts(UMA).await
    );
    assert!(local_ids(&store, "accounts").await.contains(&later));
    finish(store).await;
}

#[wasm_bindgen_test]
async fn lying_push_answers_acknowledge_nothing_and_the_change_lands_once() {
    let faults = Faults::begin("vic").await;
    let name = unique_name("hostile-push");
    let store = open_manual(&name, VIC).await;
    assert_eq!(sync(&store).await["result"], "completed");
    let key = format!("{name}-p");
    ok(store.table("accounts").unwrap().put(js(&json!({
        "id": key, "ownerId": "vic", "name": "mine"
    })
    .to_string())))
    .await;
    let outcomes = |o: Value| json!({ "protocolVersion": 1, "outcomes": o });
    let cases: [Case; 6] = [
        (
            "no outcome",
            "0 outcomes for 1 mutations",
            outcomes(json!([])),
        ),
        (
            "two outcomes for one mutation",
            "2 outcomes for 1 mutations",
            outcomes(json!([
                { "status": "applied", "id": 1, "version": "5" },
                { "status": "applied", "id": 2, "version": "6" } ])),
        ),
        (
            "an outcome for a mutation never sent",
            "an outcome for mutation 999",
            outcomes(json!([{ "status": "applied", "id": 999, "version": "5" }])),
        ),
        (
            "a conflict row under another key",
            "the row's id is 'elsewhere'",
            outcomes(json!([{ "status": "conflict", "id": 1,
                "serverRow": { "id": "elsewhere", "ownerId": "vic" }, "serverVersion": "5" }])),
        ),
        (
            "a version that is not a number",
            "invalid type",
            outcomes(json!([{ "status": "applied", "id": 1, "version": 5 }])),
        ),
        (
            "outcomes not a list",
            "invalid type",
            outcomes(json!("applied")),
        ),
    ];
    for case in cases {
        refused(&store, &faults, "/sync/push", case).await;
    }
    assert_eq!(pending_count(&store).await, 1);
    let (status, _) = rest_as(VIC, "GET", &format!("/api/data/accounts/{key}"), None).await;
    assert_eq!(status, 404, "a forged answer's push reached the server");

    let r = sync(&store).await;
    assert_eq!(r["result"], "completed", "{r}");
    assert_eq!(r["pushed"], 1, "{r}");
    assert_eq!(pending_count(&store).await, 0);
    let (status, row) = rest_as(VIC, "GET", &format!("/api/data/accounts/{key}"), None).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["name"], "mine");
    assert_eq!(
        local_ids(&store, "accounts").await,
        server_accounts(VIC).await
    );
    finish(store).await;
}
