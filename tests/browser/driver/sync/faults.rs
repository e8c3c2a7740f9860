//! Sync under network and server faults, end to end: a real browser, the real reference
//! server, and its test fault layer (`--test-faults`, `crates/server/src/faults.rs`)
//! breaking chosen requests — error statuses, hung requests, dropped connections, a push
//! that commits but never answers, cut and malformed bodies, unknown change kinds, 401s.
//! Each test checks what "nothing lost" means for its fault through the store's API
//! (`sync()` report, `status()`, `pendingCount`, table reads, the checkpoint) and the
//! server's REST API, and that sync recovers once the fault is used up.
//!
//! Stores open with `sync: { auto: false }` and tests call `sync()` themselves (a call
//! during a backoff retries at once), so no test waits for a timer. Users frank, grace
//! and heidi only, every fault rule scoped to the test's user and used up by its
//! `times`, and unique keys, so other test files sharing the server are not disturbed.

mod auth;
mod bodies;
mod dropped;
mod status;

use crate::common::faults::*;
use crate::common::push_spy::*;
use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use wasm_bindgen_test::*;

const FRANK: &str = "dev-token-frank";
const GRACE: &str = "dev-token-grace";
const HEIDI: &str = "dev-token-heidi";

/// Requests time out after this long unless a test says otherwise: long enough for the
/// test server, short enough that a hang is seen in about a second.
const TIMEOUT_MS: u32 = 3_000;

/// Opens a store on a new database, synced with the test server as the user of `token`,
/// syncing only when `sync()` is called.
async fn open_store(
    token: &str,
    get_token: Option<&js_sys::Function>,
    timeout_ms: u32,
) -> OfflineStore {
    let o = manual_options(&unique_name("faults"), token);
    let server = js_sys::Reflect::get(&o, &"server".into()).unwrap();
    js_sys::Reflect::set(&server, &"timeoutMs".into(), &timeout_ms.into()).unwrap();
    if let Some(f) = get_token {
        js_sys::Reflect::set(&server, &"getToken".into(), f).unwrap();
    }
    OfflineStore::open_async(o)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"))
}

/// Starts a test as `user`: clears the rules an earlier test left for them, opens a store
/// of theirs (`open_store`) and syncs it once.
async fn start(
    user: &'static str,
    get_token: Option<&js_sys::Function>,
    timeout_ms: u32,
) -> (Faults, OfflineStore) {
    let faults = Faults::begin(user).await;
    let store = open_store(&format!("dev-token-{user}"), get_token, timeout_ms).await;
    synced(&store).await;
    (faults, store)
}

/// `sync()`, which must fail with the store in `state` and a `lastError` containing
/// `error` (lower case), in both the report and `status()`.
async fn failed(store: &OfflineStore, state: &str, error: &str) -> Value {
    let r = sync(store).await;
    assert_eq!(r["result"], "failed", "{r}");
    for s in [&r["status"], &status(store)] {
        assert_eq!(s["state"], state, "{r}");
        let last = s["lastError"].as_str().unwrap_or_default().to_lowercase();
        assert!(last.contains(error), "lastError should name {error:?}: {s}");
    }
    r
}

fn note(key: &str, owner: &str, text: &str) -> Value {
    json!({ "id": key, "ownerId": owner, "text": text })
}

/// The note `<prefix>-local` of `owner`, written on the device.
fn device_note(prefix: &str, owner: &str) -> Value {
    note(&format!("{prefix}-local"), owner, "from the device")
}

/// The note `<prefix>-server` of `owner`, written on the server by another device.
fn server_note(prefix: &str, owner: &str) -> Value {
    note(&format!("{prefix}-server"), owner, "from the server")
}

/// Ends a test: every fault rule it added was used, and the store is closed and deleted.
async fn end(faults: Faults, store: OfflineStore) {
    faults.assert_used_up().await;
    finish(store).await;
}

/// Drops `path`'s requests (`kind`: "close" or "dropAfterCommit") until one sync has failed
/// for it, then removes the rule; returns that sync's report and how many requests the
/// drop took. Chromium resends a request dropped on a reused keep-alive connection by
/// itself, up to twice (three attempts, each maybe on another idle connection of the
/// pool), so a rule of fewer than three can be used up without the page ever seeing the
/// network error; with three, the third attempt is dropped too. `fired` is empty after.
async fn dropped_until_failed(
    faults: &Faults,
    store: &OfflineStore,
    path: &str,
    kind: &str,
) -> (Value, usize) {
    faults
        .add(json!([{ "path": path, "method": "POST", "times": 3, "fault": { "kind": kind } }]))
        .await;
    let report = failed(store, "error", "could not be reached").await;
    let fired = faults.fired().await;
    faults.clear().await;
    let want = format!("{kind} POST {path}");
    assert!(
        (1..=3).contains(&fired.len()) && fired.iter().all(|f| *f == want),
        "1 to 3 drops, then the page saw the error: {fired:?}"
    );
    (report, fired.len())
}

/// Every push mutation the page sent for `key`: (mutation id, row, baseVersion), in order.
fn pushes_of(key: &str) -> Vec<(u64, Value, Value)> {
    sent_mutations()
        .into_iter()
        .filter(|m| m["key"] == key)
        .map(|m| {
            (
                m["id"].as_u64().unwrap(),
                m["row"].clone(),
                m["baseVersion"].clone(),
            )
        })
        .collect()
}

/// Every outcome the page received for mutation `id`.
fn answers_for(id: u64) -> Vec<Value> {
    received_outcomes()
        .into_iter()
        .filter(|o| o["id"] == id)
        .collect()
}
