//! `store.usage()`: rows and their JSON bytes per table, each table's last complete pull,
//! and the browser's storage estimate, for a local store and one synced with the server.

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use serde_json::{json, Value};
use wasm_bindgen_test::*;

async fn usage(store: &offline_tables::OfflineStore) -> Value {
    parse(&ok_json(store.usage()).await)
}

#[wasm_bindgen_test]
async fn a_local_store_counts_its_rows_and_their_bytes() {
    let store = fresh().await;
    let rows = [
        json!({ "id": "a1", "name": "Acme", "city": "Paris" }),
        json!({ "id": "a2", "name": "Initech" }),
    ];
    for r in &rows {
        put(&store, "accounts", r.clone()).await;
    }
    let u = usage(&store).await;
    let bytes: usize = rows.iter().map(|r| r.to_string().len()).sum();
    assert_eq!(
        u["tables"]["accounts"],
        json!({ "rows": 2, "bytes": bytes }),
        "{u}"
    );
    assert_eq!(
        u["tables"]["products"],
        json!({ "rows": 0, "bytes": 0 }),
        "{u}"
    );
    // Never pulled: no table has a last sync.
    assert_eq!(u["lastSyncAt"], json!({}), "{u}");
    // Chromium gives an estimate for the origin, which holds at least these rows.
    let (used, quota) = (u["usage"].as_f64(), u["quota"].as_f64());
    assert!(used.is_some() && quota.is_some_and(|q| q > 0.0), "{u}");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_synced_store_gives_each_tables_last_pull() {
    let before = js_sys::Date::now();
    let store = open_synced("dev-token-alice", None).await;
    synced(&store).await;
    let u = usage(&store).await;
    for t in TABLES {
        let at = u["lastSyncAt"][t]
            .as_f64()
            .unwrap_or_else(|| panic!("{t}: {u}"));
        assert!(at >= before && at <= js_sys::Date::now(), "{t}: {u}");
    }
    let rows = u["tables"]["accounts"]["rows"].as_u64().unwrap();
    assert_eq!(
        rows,
        list(store.table("accounts").unwrap().query(None))
            .await
            .len() as u64
    );
    finish(store).await;
}
