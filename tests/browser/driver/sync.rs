//! Background sync against the real reference server (started by the test command, URL
//! in OT_TEST_SERVER at build time): first download, a local write pushed and visible
//! through the REST API, a server write pulled with a `remote` change event, a 401 with
//! and without a token refresh; numbers kept to the bit on the way.

mod assigned_keys;
mod columns;
mod conflicts;
mod faults;
mod files;
mod intervals;
mod policies;
mod profile;
mod races;
mod tabs;
mod teams;
mod units;

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use serde_json::Value;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn first_download_then_a_local_write_is_pushed_and_a_server_write_is_pulled() {
    let store = open_synced("dev-token-alice", None).await;
    let r = sync(&store).await;
    assert_eq!(r["result"], "completed", "{r}");
    assert_eq!(r["status"]["state"], "idle", "{r}");
    assert!(
        r["pulled"].as_u64().unwrap() >= 6,
        "the seed's rows for alice: {r}"
    );
    assert_eq!(r["pushed"], 0, "{r}");
    let accounts = store.table("accounts").unwrap();
    // Alice owns a0, a2, a4 in the seed; a1 is Bob's and never arrives.
    assert!(ok_json(accounts.get("a0".into()))
        .await
        .contains("Account 0"));
    assert_eq!(ok_json(accounts.get("a1".into())).await, "undefined");
    assert_eq!(
        ok_json(store.table("products").unwrap().count(None)).await,
        "3"
    );

    let key = format!("t-{}", (js_sys::Math::random() * 1e9) as u64);
    ok(accounts.put(js(&format!(
        r#"{{"id":"{key}","name":"From the browser","ownerId":"alice","city":"Paris"}}"#
    ))))
    .await;
    assert_eq!(pending_count(&store).await, 1);
    status_field_becomes(&store, "pending", 1.into()).await;
    let r = sync(&store).await;
    assert_eq!(
        (
            r["result"].as_str(),
            r["pushed"].as_u64(),
            r["errors"].as_u64()
        ),
        (Some("completed"), Some(1), Some(0)),
        "{r}"
    );
    assert_eq!(pending_count(&store).await, 0, "pushed and acknowledged");
    status_field_becomes(&store, "pending", 0.into()).await;
    let (status, row) = rest("GET", &format!("/api/data/accounts/{key}"), None).await;
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["name"], "From the browser");
    let meta = ok_json(accounts.meta(key.clone().into())).await;
    assert!(
        meta.contains(r#""pending":false"#) && !meta.contains(r#""version":null"#),
        "{meta}"
    );

    // Someone changes it on the server; the next sync brings it, as a remote change.
    let events = Recorder::new(&store);
    let (status, _) = rest(
        "PATCH",
        &format!("/api/data/accounts/{key}"),
        Some(r#"{"name":"From the server"}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sync(&store).await["result"], "completed");
    assert!(ok_json(accounts.get(key.clone().into()))
        .await
        .contains("From the server"));
    let seen = events.wait_for(1, 2_000).await;
    assert!(
        seen.iter()
            .any(|e| e.contains(&key) && e.contains("remote")),
        "{seen:?}"
    );
    finish(store).await;
}

/// Numbers that JSON readers get wrong by an ulp, or turn into something else: each must
/// come back from the server, into another store, to the bit (compared through
/// JSON.stringify, which writes the shortest text that reads back as the same double).
#[wasm_bindgen_test]
async fn numbers_come_back_from_the_server_to_the_bit() {
    const NUMS: &str = "[0.1,0.30000000000000004,5e-324,2.2250738585072014e-308,\
        1.7976931348623157e308,123456789.12345679,1e21,1e-7,18446744073709552000,\
        -9223372036854775808,9007199254740993,3.141592653589793,-2.5e-300,4.35]";
    let key = format!("n-{}", (js_sys::Math::random() * 1e9) as u64);
    let row = js(&format!(
        r#"{{"id":"{key}","name":"Numbers","ownerId":"alice","nums":{NUMS}}}"#
    ));
    let written = json(&js_sys::Reflect::get(&row, &"nums".into()).unwrap());
    let store = open_synced("dev-token-alice", None).await;
    ok(store.table("accounts").unwrap().put(row)).await;
    assert_eq!(sync(&store).await["pushed"], 1);
    finish(store).await;

    let other = open_synced("dev-token-alice", None).await;
    assert_eq!(sync(&other).await["result"], "completed");
    let got = ok(other.table("accounts").unwrap().get(key.clone().into())).await;
    let read = json(&js_sys::Reflect::get(&got, &"nums".into()).unwrap());
    assert_eq!(read, written);
    finish(other).await;
}

#[wasm_bindgen_test]
async fn a_401_refreshes_the_token_once_and_then_syncs() {
    let store = open_synced("expired", Some("return Promise.resolve('dev-token-alice')")).await;
    let r = sync(&store).await;
    assert_eq!(r["result"], "completed", "{r}");
    assert!(ok_json(store.table("accounts").unwrap().get("a2".into()))
        .await
        .contains("Account 2"));
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_refused_token_reports_unauthorized_and_keeps_every_pending_change() {
    let store = open_synced(
        "nope",
        Some("return Promise.reject(new Error('signed out'))"),
    )
    .await;
    let a = store.table("accounts").unwrap();
    ok(a.put(js(r#"{"id":"kept","ownerId":"alice"}"#))).await;
    let r = sync(&store).await;
    assert_eq!(r["result"], "failed", "{r}");
    assert_eq!(r["status"]["state"], "unauthorized", "{r}");
    let status: Value = serde_json::from_str(&json(&store.status().unwrap())).unwrap();
    assert_eq!(status["state"], "unauthorized");
    assert_eq!(pending_count(&store).await, 1);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_store_without_a_server_refuses_sync_with_a_code() {
    let store = fresh().await;
    assert_eq!(code_of(store.sync(None)).await, "invalid_argument");
    assert!(store.status().unwrap().is_null());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn without_a_profile_the_servers_is_fetched_kept_and_used_offline() {
    let name = unique_name("fetched");
    let o = options(&name, PROFILE);
    js_sys::Reflect::delete_property(&o.clone().into(), &"profile".into()).unwrap();
    let server = js(&format!(
        r#"{{"url":"{}","token":"dev-token-alice"}}"#,
        server_url()
    ));
    js_sys::Reflect::set(&o, &"server".into(), &server).unwrap();
    let store = offline_tables::OfflineStore::open_async(o)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let profile: Value = serde_json::from_str(&json(&store.profile().unwrap())).unwrap();
    assert_eq!(
        profile["tables"]["accounts"]["conflict"], "merge",
        "{profile}"
    );
    assert_eq!(sync(&store).await["result"], "completed");
    store.close();

    // A later launch with the server unreachable opens with the kept profile and data.
    let o = options(&name, PROFILE);
    js_sys::Reflect::delete_property(&o.clone().into(), &"profile".into()).unwrap();
    js_sys::Reflect::set(&o, &"server".into(), &js(r#"{"url":"http://127.0.0.1:9"}"#)).unwrap();
    let store = offline_tables::OfflineStore::open_async(o)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(ok_json(store.table("accounts").unwrap().get("a0".into()))
        .await
        .contains("Account 0"));
    finish(store).await;

    // A first launch with no profile and no server to ask cannot work: a clear error.
    let o = options(&unique_name("nothing"), PROFILE);
    js_sys::Reflect::delete_property(&o.clone().into(), &"profile".into()).unwrap();
    js_sys::Reflect::set(&o, &"server".into(), &js(r#"{"url":"http://127.0.0.1:9"}"#)).unwrap();
    match offline_tables::OfflineStore::open_async(o).await {
        Ok(_) => panic!("opened without any profile"),
        Err(e) => assert_eq!(e.code.as_str(), "network", "{e}"),
    }
}

#[wasm_bindgen_test]
async fn a_row_deleted_on_the_server_is_removed_locally() {
    let store = open_synced("dev-token-alice", None).await;
    let accounts = store.table("accounts").unwrap();
    let key = format!("del-{}", (js_sys::Math::random() * 1e12) as u64);
    ok(accounts.put(js(&format!(r#"{{"id":"{key}","ownerId":"alice"}}"#)))).await;
    assert_eq!(sync(&store).await["result"], "completed");
    let (status, _) = rest("DELETE", &format!("/api/data/accounts/{key}"), None).await;
    assert_eq!(status, 204);
    assert_eq!(sync(&store).await["result"], "completed");
    assert_eq!(ok_json(accounts.get(key.clone().into())).await, "undefined");
    assert_eq!(ok_json(accounts.meta(key.into())).await, "undefined");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_checkpoint_the_server_cannot_serve_leads_to_a_full_resync() {
    let store = open_synced("dev-token-alice", None).await;
    assert_eq!(sync(&store).await["result"], "completed");
    // As after restoring an old backup on the server: our checkpoint is ahead of it, and
    // we hold a row it never had.
    let page = serde_json::json!({
        "protocolVersion": 1, "checkpoint": "999999999", "hasMore": false,
        "changes": [ { "kind": "upsert", "table": "accounts", "key": "ghost", "version": "999999998",
                       "row": { "id": "ghost", "ownerId": "alice" } } ]
    });
    apply_pulled(store.db(), page).await.unwrap();
    let accounts = store.table("accounts").unwrap();
    let key = format!("keep-{}", (js_sys::Math::random() * 1e12) as u64);
    ok(accounts.put(js(&format!(r#"{{"id":"{key}","ownerId":"alice"}}"#)))).await;

    assert_eq!(sync(&store).await["result"], "completed");
    assert_eq!(
        ok_json(accounts.get("ghost".into())).await,
        "undefined",
        "dropped by the resync"
    );
    assert!(
        ok_json(accounts.get("a0".into()))
            .await
            .contains("Account 0"),
        "downloaded again"
    );
    assert!(
        ok_json(accounts.get(key.clone().into()))
            .await
            .contains(&key),
        "the local write is kept"
    );
    let (status, _) = rest("GET", &format!("/api/data/accounts/{key}"), None).await;
    assert_eq!(status, 200, "and pushed");
    let cp: u64 = store
        .db()
        .checkpoint()
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        cp < 999_999_999,
        "the checkpoint is the server's again: {cp}"
    );
    finish(store).await;
}

/// Read-your-writes on the status: once a write's promise has resolved,
/// `store.status().unwrap().pending` counts it, without waiting for the background recount.
#[wasm_bindgen_test]
async fn a_resolved_write_is_in_the_status_pending_count_at_once() {
    let o = options(&unique_name("ryw"), PROFILE);
    let server = js(&format!(
        r#"{{"url":"{}","token":"dev-token-alice"}}"#,
        server_url()
    ));
    js_sys::Reflect::set(&o, &"server".into(), &server).unwrap();
    js_sys::Reflect::set(&o, &"sync".into(), &js(r#"{"auto":false}"#)).unwrap();
    let store = offline_tables::OfflineStore::open_async(o)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    // Leading, downloaded and counted.
    assert_eq!(sync(&store).await["result"], "completed");
    status_field_becomes(&store, "pending", 0.into()).await;
    let pending = |s: &offline_tables::OfflineStore| -> Value {
        serde_json::from_str::<Value>(&json(&s.status().unwrap())).unwrap()["pending"].clone()
    };
    let id = |n: u32| format!("ryw-{n}-{}", (js_sys::Math::random() * 1e9) as u64);
    let (one, two, three) = (id(1), id(2), id(3));
    let accounts = store.table("accounts").unwrap();
    ok(accounts.put(js(&format!(r#"{{"id":"{one}","ownerId":"alice"}}"#)))).await;
    assert_eq!(pending(&store), 1, "after put");
    ok(accounts.bulk_put(js(&format!(
        r#"[{{"id":"{two}","ownerId":"alice"}},{{"id":"{three}","ownerId":"alice"}}]"#
    ))))
    .await;
    assert_eq!(pending(&store), 3, "after bulkPut");
    // More writes to rows already pending: still one pending change per row.
    ok(accounts.update(one.clone().into(), js(r#"{"name":"again"}"#))).await;
    ok(accounts.put(js(&format!(
        r#"{{"id":"{two}","ownerId":"alice","name":"b"}}"#
    ))))
    .await;
    assert_eq!(pending(&store), 3, "after writes to pending rows");
    // An update of a downloaded row (a0 is Alice's in the seed; nothing is pushed here).
    ok(accounts.update("a0".into(), js(r#"{"city":"Lyon"}"#))).await;
    assert_eq!(pending(&store), 4, "after update");
    assert_eq!(pending_count(&store).await, 4);
    // A delete of a row created here cancels its insert: the delete starts a recount,
    // and the status catches up when it ends (see `Syncer::rows_written`).
    ok(accounts.delete(three.clone().into())).await;
    status_field_becomes(&store, "pending", 3.into()).await;
    assert_eq!(pending_count(&store).await, 3);
    finish(store).await;
}
