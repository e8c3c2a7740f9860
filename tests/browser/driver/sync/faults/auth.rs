//! 401s: a token refreshed once mid-sync, a getToken that throws (signed out), and a refreshed token the server still refuses.

use super::*;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/tests/browser/driver/sync/faults/tokens.js")]
extern "C" {
    #[wasm_bindgen(js_name = countingGetToken)]
    fn counting_get_token(answer: Option<String>) -> js_sys::Function;
    #[wasm_bindgen(js_name = callsOf)]
    fn calls_of(f: &js_sys::Function) -> u32;
}

#[wasm_bindgen_test]
async fn a_401_mid_sync_refreshes_the_token_once_and_completes() {
    // Nothing lost, for a token refused halfway through a sync (the push went through,
    // the pull after it gets a 401): `getToken` is called exactly once, the same sync()
    // call then completes (no error left in the status), the write went out once and is
    // on the server once, and the server's row that the refused pull was to bring is on
    // the device.
    let get_token = counting_get_token(Some(GRACE.into()));
    let (faults, store) = start("grace", Some(&get_token), TIMEOUT_MS).await;
    assert_eq!(calls_of(&get_token), 0);
    // The next pull is refused. Added after the first download, not as "skip the first
    // pull" before it: on a server that has kept grace's rows from earlier runs the first
    // download takes more than one page (auto sync is off, so nothing pulls in between).
    faults
        .add(json!([{ "path": "/sync/pull", "method": "POST", "times": 1,
                      "fault": { "kind": "unauthorized" } }]))
        .await;
    let prefix = unique("auth");
    let mine = device_note(&prefix, "grace");
    let theirs = server_note(&prefix, "grace");
    put(&store, "notes", mine.clone()).await;
    server_insert(GRACE, "notes", theirs.clone()).await;

    spy_reset();
    let r = synced(&store).await;
    assert_eq!(calls_of(&get_token), 1, "getToken called once");
    assert_eq!(faults.fired().await, ["unauthorized POST /sync/pull"]);
    assert_eq!(
        (r["pushed"].as_u64(), r["status"]["lastError"].clone()),
        (Some(1), Value::Null),
        "{r}"
    );
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(
        pushes_of(mine["id"].as_str().unwrap()).len(),
        1,
        "pushed once, before the 401, not again after it"
    );
    assert_eq!(
        local(&store, "notes", theirs["id"].as_str().unwrap()).await,
        theirs
    );
    assert_eq!(
        server_rows(GRACE, "notes", &prefix).await,
        [mine, theirs],
        "each row once"
    );
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn a_401_with_a_failing_get_token_keeps_every_change_until_the_token_works() {
    // Nothing lost, for a refused token that cannot be refreshed (getToken throws: the
    // user signed out elsewhere): the sync stops in state "unauthorized" after one
    // getToken call, both writes stay pending exactly as they were and neither is on the
    // server; when the app asks again and the server takes the token, both land, once.
    let get_token = counting_get_token(None);
    let (faults, store) = start("heidi", Some(&get_token), TIMEOUT_MS).await;
    let prefix = unique("signedout");
    let rows: Vec<Value> = (0..2)
        .map(|i| note(&format!("{prefix}-{i}"), "heidi", &format!("row {i}")))
        .collect();
    for r in &rows {
        put(&store, "notes", r.clone()).await;
    }
    let pending = pending_json(&store).await;
    faults
        .add(json!([{ "path": "/sync/push", "method": "POST", "times": 1,
                      "fault": { "kind": "unauthorized" } }]))
        .await;
    let r = failed(&store, "unauthorized", "token").await;
    assert_eq!(r["pushed"], 0, "{r}");
    assert_eq!(calls_of(&get_token), 1);
    assert_eq!(pending_count(&store).await, 2);
    assert_eq!(pending_json(&store).await, pending, "kept as they were");
    assert!(server_rows(HEIDI, "notes", &prefix).await.is_empty());
    assert_eq!(faults.fired().await, ["unauthorized POST /sync/push"]);

    let r = synced(&store).await;
    assert_eq!(r["pushed"], 2, "{r}");
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(
        server_rows(HEIDI, "notes", &prefix).await,
        rows,
        "each once"
    );
    assert_eq!(calls_of(&get_token), 1, "no refresh needed this time");
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn a_401_with_a_refreshed_token_the_server_refuses_stops_as_unauthorized() {
    // Nothing lost, for a refresh that yields a token the server also refuses: getToken
    // is called once (no loop of refreshes), the store ends "unauthorized" with the write
    // pending as it was, and nothing reached the server (the second 401 is the server's
    // own answer to the bad token, not a fault: only one fault fired).
    let get_token = counting_get_token(Some("dev-token-nobody".into()));
    let (faults, store) = start("frank", Some(&get_token), TIMEOUT_MS).await;
    let key = unique("badtoken");
    put(&store, "notes", note(&key, "frank", "kept")).await;
    let pending = pending_json(&store).await;
    faults
        .add(json!([{ "path": "/sync/push", "method": "POST", "times": 1,
                      "fault": { "kind": "unauthorized" } }]))
        .await;
    failed(&store, "unauthorized", "401").await;
    assert_eq!(calls_of(&get_token), 1);
    assert_eq!(pending_json(&store).await, pending);
    assert!(server_rows(FRANK, "notes", &key).await.is_empty());
    assert_eq!(faults.fired().await, ["unauthorized POST /sync/push"]);
    end(faults, store).await;
}
