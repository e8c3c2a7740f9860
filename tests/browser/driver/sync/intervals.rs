//! Per-table sync intervals against the reference server (protocol §4, per-table
//! checkpoints): a 5-second table's timer pulls that table and not a 1-day one, which
//! `store.sync()` does pull; `sync({ tables })` pulls those tables and the tables related
//! to them, and no others. User sara only, with unique keys.

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;

const SARA: &str = "dev-token-sara";

/// The fixture profile (same version as the server's, so the store keeps it) with notes
/// every `notes_s` seconds and every other table once a day.
fn profile(notes_s: u32) -> String {
    let mut p: Value = serde_json::from_str(FIXTURE_PROFILE).unwrap();
    for (name, t) in p["tables"].as_object_mut().unwrap() {
        let s = if name == "notes" { notes_s } else { 86_400 };
        t["syncIntervalSeconds"] = json!(s);
    }
    p.to_string()
}

async fn open_store(notes_s: u32) -> OfflineStore {
    let store = open_synced_with(&unique_name("intervals"), SARA, &profile(notes_s)).await;
    synced(&store).await;
    store
}

/// Creates a note and a draft of sara's on the server and pulls them; returns their keys.
async fn note_and_draft(store: &OfflineStore) -> (String, String) {
    let (note, draft) = (unique("iv-n"), unique("iv-d"));
    server_insert(
        SARA,
        "notes",
        json!({ "id": note, "ownerId": "sara", "text": "v1" }),
    )
    .await;
    server_insert(
        SARA,
        "drafts",
        json!({ "id": draft, "ownerId": "sara", "text": "v1" }),
    )
    .await;
    synced(store).await;
    assert_eq!(local(store, "notes", &note).await["text"], "v1");
    assert_eq!(local(store, "drafts", &draft).await["text"], "v1");
    (note, draft)
}

async fn server_set(table: &str, key: &str, text: &str) {
    let path = format!("/api/data/{table}/'{key}'");
    let body = json!({ "text": text }).to_string();
    let (status, body) = rest_as(SARA, "PATCH", &path, Some(&body)).await;
    assert_eq!(status, 200, "{body}");
}

fn tables(names: &[&str]) -> Option<JsValue> {
    Some(js(&json!({ "tables": names }).to_string()))
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_one_day_table_is_not_pulled_by_a_five_second_tables_timer_but_is_by_sync() {
    let store = open_store(5).await;
    let (note, draft) = note_and_draft(&store).await;
    server_set("notes", &note, "v2").await;
    server_set("drafts", &draft, "v2").await;
    // The notes timer (5 s) pulls notes by itself, with no sync() call.
    let mut waited = 0;
    while local(&store, "notes", &note).await["text"] != "v2" {
        assert!(
            waited < 12_000,
            "notes were not pulled by their 5-second timer"
        );
        pause(100).await;
        waited += 100;
    }
    // That pull did not take drafts along: their interval is a day.
    assert_eq!(local(&store, "drafts", &draft).await["text"], "v1");
    // sync() pulls every table.
    synced(&store).await;
    assert_eq!(local(&store, "drafts", &draft).await["text"], "v2");
    finish(store).await;
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn sync_of_some_tables_pulls_those_and_their_related_tables_only() {
    let store = open_store(86_400).await;
    let (note, draft) = note_and_draft(&store).await;
    server_set("notes", &note, "v3").await;
    server_set("drafts", &draft, "v3").await;
    let r = parse(&json(
        &wasm_bindgen_futures::JsFuture::from(store.sync(tables(&["drafts"])))
            .await
            .unwrap(),
    ));
    assert_eq!(
        (r["result"].as_str(), r["pulled"].as_u64()),
        (Some("completed"), Some(1)),
        "{r}"
    );
    assert_eq!(local(&store, "drafts", &draft).await["text"], "v3");
    assert_eq!(
        local(&store, "notes", &note).await["text"],
        "v1",
        "notes were not asked for"
    );

    // Work orders pull with the accounts they are related to: asking for work orders
    // brings a changed account too.
    let account = unique("iv-a");
    server_insert(
        SARA,
        "accounts",
        json!({ "id": account, "ownerId": "sara", "name": "A" }),
    )
    .await;
    let r = parse(&json(
        &wasm_bindgen_futures::JsFuture::from(store.sync(tables(&["workorders"])))
            .await
            .unwrap(),
    ));
    assert_eq!(r["result"], "completed", "{r}");
    assert_eq!(local(&store, "accounts", &account).await["name"], "A");
    assert_eq!(local(&store, "notes", &note).await["text"], "v1");

    // A table the profile does not have is refused, and nothing is synced.
    let code = code_of(store.sync(tables(&["nope"]))).await;
    assert_eq!(code, "invalid_argument");
    finish(store).await;
}
