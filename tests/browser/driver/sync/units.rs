//! Transactions against the reference server (protocol revision 3, units): a
//! transaction's changes go in one push as one unit and land together; one the server
//! refuses (a member out of the user's scope, a member in conflict on a server-wins
//! table) leaves nothing on the server, puts every row back to the server's state and
//! shows one sync error; one whose conflict merges goes again whole and lands. User tom.

use crate::common::push_spy::*;
use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use js_sys::Function;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

const TOM: &str = "dev-token-tom";

#[wasm_bindgen(module = "/tests/browser/driver/sync/units.js")]
extern "C" {
    #[wasm_bindgen(js_name = insertAll)]
    fn insert_all(rows: &JsValue) -> Function;
    #[wasm_bindgen(js_name = updateAndInsert)]
    fn update_and_insert(updates: &JsValue, inserts: &JsValue) -> Function;
}

async fn transact(store: &OfflineStore, names: &[&str], f: Function) {
    ok(store.transaction(tables(names), f)).await;
}

async fn open_store() -> OfflineStore {
    let store = open_manual(&unique_name("units"), TOM).await;
    synced(&store).await;
    store
}

async fn errors(store: &OfflineStore) -> Vec<Value> {
    list(store.sync_errors()).await
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_transaction_goes_in_one_push_as_one_unit_and_lands_whole() {
    let store = open_store().await;
    let (acc, wo, note) = (unique("u-acc"), unique("u-wo"), unique("u-note"));
    let rows = json!([
        ["accounts", { "id": acc, "name": "New", "ownerId": "tom" }],
        ["workorders", { "id": wo, "accountId": acc, "status": "open", "modifiedOn": "2026-12-07T00:00:00Z" }],
        ["notes", { "id": note, "ownerId": "tom", "text": "first visit" }]
    ]);
    transact(
        &store,
        &["accounts", "workorders", "notes"],
        insert_all(&js(&rows.to_string())),
    )
    .await;
    spy_reset();
    let report = synced(&store).await;
    assert_eq!(report["pushed"], 3, "{report}");
    let sent: Value = parse(&spy_sent());
    assert_eq!(sent.as_array().unwrap().len(), 1, "one push: {sent}");
    assert_eq!(sent[0]["protocolVersion"], 2, "{sent}");
    let mutations = sent_mutations();
    let unit = &mutations[0]["unit"];
    assert!(unit.is_string(), "{mutations:?}");
    assert!(
        mutations.iter().all(|m| m["unit"] == *unit),
        "{mutations:?}"
    );
    assert!(server_row(TOM, "accounts", &acc).await.is_some());
    assert!(server_row(TOM, "workorders", &wo).await.is_some());
    assert!(server_row(TOM, "notes", &note).await.is_some());
    assert!(errors(&store).await.is_empty());
    finish(store).await;
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_refused_member_leaves_nothing_on_the_server_and_one_sync_error() {
    let store = open_store().await;
    let (mine, theirs) = (unique("u-mine"), unique("u-theirs"));
    // The second account would belong to another user: outside tom's scope, refused.
    let rows = json!([
        ["accounts", { "id": mine, "name": "Mine", "ownerId": "tom" }],
        ["accounts", { "id": theirs, "name": "Theirs", "ownerId": "someone-else" }]
    ]);
    transact(&store, &["accounts"], insert_all(&js(&rows.to_string()))).await;
    let report = sync(&store).await;
    assert_eq!(report["errors"], 2, "both changes refused: {report}");
    assert_eq!(report["status"]["errors"], 1, "one sync error: {report}");
    assert!(
        server_row(TOM, "accounts", &mine).await.is_none(),
        "nothing of the unit landed"
    );
    // Both rows are back to the server's state (never there), nothing is pending.
    assert_eq!(local(&store, "accounts", &mine).await, Value::Null);
    assert_eq!(local(&store, "accounts", &theirs).await, Value::Null);
    assert_eq!(pending_count(&store).await, 0);
    let errs = errors(&store).await;
    assert_eq!(errs.len(), 1, "one sync error for the unit: {errs:?}");
    assert_eq!(errs[0]["reason"], "permission", "{errs:?}");
    assert!(errs[0]["unit"].is_string(), "{errs:?}");
    let changes = errs[0]["changes"].as_array().unwrap();
    let keys: Vec<&Value> = changes.iter().map(|c| &c["key"]).collect();
    assert_eq!(keys, [&json!(mine), &json!(theirs)], "{errs:?}");
    // Retrying the error queues the whole unit again (and it is refused again, whole).
    let id = errs[0]["id"].as_f64().unwrap();
    ok(store.retry_sync_error(id)).await;
    assert_eq!(pending_count(&store).await, 2);
    let report = sync(&store).await;
    assert_eq!(report["errors"], 2, "{report}");
    assert_eq!(errors(&store).await.len(), 1);
    assert!(server_row(TOM, "accounts", &mine).await.is_none());
    finish(store).await;
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_conflict_on_a_server_wins_table_refuses_the_unit() {
    let store = open_store().await;
    let (note, acc) = (unique("u-note"), unique("u-acc"));
    server_insert(
        TOM,
        "notes",
        json!({ "id": note, "ownerId": "tom", "text": "v1" }),
    )
    .await;
    synced(&store).await;
    let (status, body) = rest_as(
        TOM,
        "PATCH",
        &format!("/api/data/notes/'{note}'"),
        Some(r#"{"text":"server"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let updates = json!([["notes", note, { "text": "mine" }]]);
    let inserts = json!([["accounts", { "id": acc, "name": "With note", "ownerId": "tom" }]]);
    transact(
        &store,
        &["notes", "accounts"],
        update_and_insert(&js(&updates.to_string()), &js(&inserts.to_string())),
    )
    .await;
    sync(&store).await;
    assert!(
        server_row(TOM, "accounts", &acc).await.is_none(),
        "the account did not land alone"
    );
    assert_eq!(
        server_row(TOM, "notes", &note).await.unwrap().1["text"],
        "server"
    );
    assert_eq!(local(&store, "notes", &note).await["text"], "server");
    assert_eq!(local(&store, "accounts", &acc).await, Value::Null);
    let errs = errors(&store).await;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0]["reason"], "conflict", "{errs:?}");
    assert_eq!(pending_count(&store).await, 0);
    finish(store).await;
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_merged_conflict_sends_the_unit_again_and_it_lands_whole() {
    let store = open_store().await;
    let (acc, note) = (unique("u-acc"), unique("u-note"));
    server_insert(
        TOM,
        "accounts",
        json!({ "id": acc, "name": "A", "city": "Paris", "ownerId": "tom" }),
    )
    .await;
    synced(&store).await;
    let (status, body) = rest_as(
        TOM,
        "PATCH",
        &format!("/api/data/accounts/'{acc}'"),
        Some(r#"{"city":"Lyon"}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let updates = json!([["accounts", acc, { "name": "B" }]]);
    let inserts = json!([["notes", { "id": note, "ownerId": "tom", "text": "merged" }]]);
    transact(
        &store,
        &["accounts", "notes"],
        update_and_insert(&js(&updates.to_string()), &js(&inserts.to_string())),
    )
    .await;
    spy_reset();
    sync(&store).await;
    if pending_count(&store).await > 0 {
        sync(&store).await;
    }
    let outcomes = received_outcomes();
    assert!(
        outcomes.iter().any(|o| o["status"] == "conflict"),
        "the first push met the conflict: {outcomes:?}"
    );
    let row = server_row(TOM, "accounts", &acc).await.unwrap().1;
    assert_eq!(
        (&row["name"], &row["city"]),
        (&json!("B"), &json!("Lyon")),
        "{row}"
    );
    assert!(server_row(TOM, "notes", &note).await.is_some());
    assert!(errors(&store).await.is_empty());
    assert_eq!(pending_count(&store).await, 0);
    finish(store).await;
}
