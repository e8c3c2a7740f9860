//! Column selection against the reference server (the fixture's `visits` keeps `ownerId`,
//! `status` and `notes` offline; its seed rows also hold `internalCost` and
//! `supplierRef`): after a sync the unselected columns are nowhere in IndexedDB, a local
//! update pushed leaves them intact on the server, a local write naming one is refused
//! with `invalid_argument` and changes nothing, and a kept conflict (visits is `manual`)
//! holds the server's row without them, its merged row held to the selection too. User
//! val only. The server's rows are read in full by serving, for a moment, the fixture
//! profile without `visits`'s selection (the columns are no part of what the server
//! derives from its profile, so nothing is rebuilt); the fixture is put back before
//! anything is asserted.

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen_test::*;

const VAL: &str = "dev-token-val";
const KEPT: [&str; 4] = ["id", "notes", "ownerId", "status"];

/// The visit `key` as the database holds it, every column (see the file's comment).
async fn stored_in_full(key: &str) -> Value {
    let fixture: Value = serde_json::from_str(FIXTURE_PROFILE).unwrap();
    let mut all = fixture.clone();
    all["tables"]["visits"]
        .as_object_mut()
        .unwrap()
        .remove("columns");
    let serve = |p: Value| async move {
        rest_as(VAL, "POST", "/_test/profile", Some(&p.to_string()))
            .await
            .0
    };
    let swapped = serve(all).await;
    let (status, row) = rest_as(VAL, "GET", &format!("/api/data/visits/'{key}'"), None).await;
    let restored = serve(fixture).await;
    assert_eq!((swapped, restored), (200, 200), "serving the profiles");
    assert_eq!(status, 200, "{row}");
    row
}

/// The columns of a row as IndexedDB holds it, sorted.
async fn raw_columns(name: &str, store: &str, key: &wasm_bindgen::JsValue) -> Vec<String> {
    let text = raw_get(name, store, key).await;
    let row: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{store}: {text}"));
    let mut cols: Vec<String> = row.as_object().unwrap().keys().cloned().collect();
    cols.sort();
    cols
}

/// Every visit and the pending changes, as JSON: compared before and after a refusal.
async fn visits_and_pending(store: &OfflineStore) -> String {
    let rows = ok_json(store.table("visits").unwrap().query(None)).await;
    format!("{rows} {}", ok_json(store.pending()).await)
}

#[wasm_bindgen_test]
async fn unselected_columns_never_reach_indexeddb_and_a_pushed_update_keeps_them() {
    let name = unique_name("columns");
    let store = open_manual(&name, VAL).await;
    synced(&store).await;
    assert_eq!(local_ids(&store, "visits").await, ["v1", "v2", "v3"]);
    for key in ["v1", "v2", "v3"] {
        let cols = raw_columns(&name, "visits", &key.into()).await;
        assert!(
            cols.iter().all(|c| KEPT.contains(&c.as_str())),
            "{key}: {cols:?}"
        );
    }
    assert_eq!(
        raw_columns(&name, "visits", &"v2".into()).await,
        ["id", "ownerId", "status"]
    );

    // A local update of a selected column, pushed: the server keeps the others.
    let stamp = unique("visited");
    let updated = ok_json(
        store
            .table("visits")
            .unwrap()
            .update("v1".into(), js(&json!({ "status": stamp }).to_string())),
    )
    .await;
    assert!(!updated.contains("internalCost"), "{updated}");
    // The server's row the write was made against, kept as its base: projected too.
    let base_key = js(r#"["visits","v1"]"#);
    let base = raw_get(&name, "_base", &base_key).await;
    assert!(
        base.contains("\"row\"") && !base.contains("internalCost"),
        "{base}"
    );
    let r = synced(&store).await;
    assert_eq!(
        (r["pushed"].as_u64(), r["errors"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
    let online = server_row(VAL, "visits", "v1").await.unwrap().1;
    assert_eq!(online["status"], json!(stamp), "{online}");
    assert!(
        online.get("internalCost").is_none(),
        "REST answers are projected: {online}"
    );
    let full = stored_in_full("v1").await;
    assert_eq!(
        (&full["status"], &full["internalCost"], &full["notes"]),
        (&json!(stamp), &json!(120), &json!("Bring the ladder")),
        "{full}"
    );
    // The pull that follows brings the row back as the client keeps it.
    synced(&store).await;
    let cols = raw_columns(&name, "visits", &"v1".into()).await;
    assert_eq!(cols, KEPT);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_local_write_naming_an_unselected_column_is_refused_and_changes_nothing() {
    let name = unique_name("columns-refused");
    let store = open_manual(&name, VAL).await;
    synced(&store).await;
    let visits = store.table("visits").unwrap();
    let before = visits_and_pending(&store).await;
    let raw_before = raw_get(&name, "visits", &"v1".into()).await;
    let fresh = unique("v");
    let good = json!({ "id": fresh, "ownerId": "val", "status": "new" });
    let bad = json!({ "id": "v1", "ownerId": "val", "status": "open", "internalCost": 0 });
    let refusals = [
        ("put", visits.put(js(&bad.to_string()))),
        (
            "bulkPut",
            visits.bulk_put(js(&json!([good, bad]).to_string())),
        ),
        (
            "update",
            visits.update("v1".into(), js(r#"{"supplierRef":null}"#)),
        ),
    ];
    for (what, p) in refusals {
        let e = rejection(p).await;
        let code = js_sys::Reflect::get(&e, &"code".into()).unwrap();
        let message = js_sys::Reflect::get(&e, &"message".into())
            .unwrap()
            .as_string()
            .unwrap();
        assert_eq!(
            code.as_string().as_deref(),
            Some("invalid_argument"),
            "{what}: {message}"
        );
        assert!(
            message.starts_with(&format!("{what} on 'visits': "))
                && message.contains("of 'visits'"),
            "{what}: {message}"
        );
        let column = if what == "update" {
            "supplierRef"
        } else {
            "internalCost"
        };
        assert!(
            message.contains(&format!("column '{column}'")),
            "{what}: {message}"
        );
    }
    let e = message_of(visits.bulk_put(js(&json!([good, bad]).to_string()))).await;
    assert!(e.contains("rows[1]: "), "the bulk names its row: {e}");
    // The whole bulk was refused: its good row is not there either.
    assert_eq!(visits_and_pending(&store).await, before);
    assert_eq!(raw_get(&name, "visits", &"v1".into()).await, raw_before);
    assert_eq!(
        raw_get(&name, "visits", &fresh.as_str().into()).await,
        "undefined"
    );
    assert_eq!(pending_count(&store).await, 0);
    // Selected columns still write.
    ok(visits.put(js(&good.to_string()))).await;
    assert_eq!(pending_count(&store).await, 1);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_kept_conflict_holds_the_selected_columns_and_its_merged_row_keeps_to_them() {
    let store = open_manual(&unique_name("columns-conflict"), VAL).await;
    synced(&store).await;
    let visits = store.table("visits").unwrap();
    let (mine, theirs) = (unique("mine"), unique("theirs"));
    let set = |status: &str| json!({ "status": status }).to_string();
    ok(visits.update("v3".into(), js(&set(&mine)))).await;
    let (status, body) = rest_as(VAL, "PATCH", "/api/data/visits/'v3'", Some(&set(&theirs))).await;
    assert_eq!(status, 200, "{body}");
    synced(&store).await;
    let conflicts = list(store.conflicts()).await;
    assert_eq!(conflicts.len(), 1, "visits is manual: {conflicts:?}");
    let c = &conflicts[0];
    let server =
        json!({ "id": "v3", "ownerId": "val", "status": theirs, "notes": "Gate code 1234" });
    assert_eq!(c["server"], server, "{c}");
    assert_eq!(c["local"]["status"], json!(mine), "{c}");

    // The app's merged row must keep to the selection too.
    let id = c["id"].as_f64().unwrap();
    let mut merged = server.clone();
    merged["status"] = json!(format!("{mine}+{theirs}"));
    merged["internalCost"] = json!(0);
    let e = rejection(store.resolve_conflict(id, js(&merged.to_string()))).await;
    let (code, message) = (
        js_sys::Reflect::get(&e, &"code".into())
            .unwrap()
            .as_string(),
        js_sys::Reflect::get(&e, &"message".into())
            .unwrap()
            .as_string()
            .unwrap(),
    );
    assert_eq!(code.as_deref(), Some("invalid_argument"), "{message}");
    assert!(
        message.starts_with("resolveConflict on 'visits': column 'internalCost'"),
        "{message}"
    );
    assert_eq!(list(store.conflicts()).await.len(), 1, "still kept");

    merged.as_object_mut().unwrap().remove("internalCost");
    ok(store.resolve_conflict(id, js(&merged.to_string()))).await;
    let r = synced(&store).await;
    assert_eq!(
        (r["pushed"].as_u64(), r["errors"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
    let full = stored_in_full("v3").await;
    assert_eq!(
        (&full["status"], &full["internalCost"]),
        (&merged["status"], &json!(45.5)),
        "{full}"
    );
    finish(store).await;
}
