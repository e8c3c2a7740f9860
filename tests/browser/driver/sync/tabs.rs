//! Several tabs on one database: exactly one syncs (it holds the Web Lock); the others
//! forward sync() to it and mirror its status; when it closes another takes over and
//! goes on from the shared outbox and checkpoint. Two stores in one page stand for two
//! tabs: they share the database, the lock and the channels exactly as tabs do.

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::Value;
use wasm_bindgen_test::*;

async fn until(ms: u32, mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..ms / 20 {
        if f() {
            return true;
        }
        pause(20).await;
    }
    f()
}

async fn put(store: &OfflineStore, key: &str) {
    let row = format!(r#"{{"id":"{key}","ownerId":"alice","name":"{key}"}}"#);
    ok(store.table("accounts").unwrap().put(js(&row))).await;
}

#[wasm_bindgen_test]
async fn one_tab_syncs_for_all_and_another_takes_over_when_it_closes() {
    let name = unique_name("tabs");
    let first = open_synced_named(&name, "dev-token-alice", None).await;
    assert!(
        until(2_000, || first.is_sync_leader()).await,
        "the first tab leads"
    );
    let second = open_synced_named(&name, "dev-token-alice", None).await;
    pause(100).await;
    assert!(!second.is_sync_leader(), "only one tab syncs");

    // A write in the follower, synced on its request by the leader.
    let k1 = format!("tab1-{}", (js_sys::Math::random() * 1e12) as u64);
    put(&second, &k1).await;
    let r = sync(&second).await;
    assert_eq!(r["result"], "completed", "{r}");
    let (status, _) = rest("GET", &format!("/api/data/accounts/{k1}"), None).await;
    assert_eq!(status, 200, "pushed by the leader");
    let mirrored: Value = serde_json::from_str(&json(&second.status().unwrap())).unwrap();
    assert_eq!(
        mirrored["state"], "idle",
        "the follower mirrors the leader: {mirrored}"
    );
    assert_eq!(pending_count(&second).await, 0);

    // The leader goes away; the follower takes over and syncs by itself.
    first.close();
    assert!(
        until(2_000, || second.is_sync_leader()).await,
        "the second tab takes over"
    );
    let k2 = format!("tab2-{}", (js_sys::Math::random() * 1e12) as u64);
    put(&second, &k2).await;
    assert_eq!(sync(&second).await["result"], "completed");
    let (status, _) = rest("GET", &format!("/api/data/accounts/{k2}"), None).await;
    assert_eq!(status, 200, "pushed by the new leader");
    finish(second).await;
}
