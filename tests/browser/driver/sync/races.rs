//! A local write made while a pull is on the wire, per conflict policy, against the
//! reference server: the pull brings a server change to the row the user is editing, and
//! the later push must meet it as a conflict that the table's policy settles, never
//! overwrite it unseen (protocol §4 rule 3). The pull is held by the test server's fault
//! layer until the write is in. User ruth only, so the fault rules touch no other test.

use crate::common::faults::Faults;
use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

const RUTH: &str = "dev-token-ruth";
/// How long the test server holds the pull: the write goes in meanwhile.
const HOLD_MS: u64 = 1_500;

/// What a race left behind: the sync report of the push that followed it, and the row on
/// the device and on the server.
struct After {
    report: Value,
    device: Value,
    server: Value,
    store: OfflineStore,
}

/// Creates `row` in `table` and pushes it; the server then sets `server_change` (through
/// its REST API, as another device would); a sync starts and, while its pull is held, the
/// device updates the row with `local_change`. Then a second sync pushes the change.
async fn edit_during_pull(
    table: &str,
    row: Value,
    server_change: Value,
    local_change: Value,
) -> After {
    let faults = Faults::begin("ruth").await;
    let store = OfflineStore::open_async(manual_options(&unique_name("race"), RUTH))
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
    let key = row["id"].as_str().unwrap().to_string();
    put(&store, table, row).await;
    assert_eq!(synced(&store).await["pushed"], 1);
    let path = format!("/api/data/{table}/'{key}'");
    let (status, _) = rest_as(RUTH, "PATCH", &path, Some(&server_change.to_string())).await;
    assert_eq!(status, 200);

    faults
        .add(json!([{ "path": "/sync/pull", "method": "POST", "times": 1,
                      "fault": { "kind": "delay", "ms": HOLD_MS } }]))
        .await;
    let pulling = JsFuture::from(store.sync(None));
    let mut waited = 0;
    while faults.fired().await.is_empty() {
        assert!(waited < SYNC_MS, "the pull was never held");
        pause(20).await;
        waited += 20;
    }
    // The pull is on the wire, holding the server's change: the user edits the row.
    ok(store
        .table(table)
        .unwrap()
        .update(key.clone().into(), js(&local_change.to_string())))
    .await;
    let r = parse(&json(&pulling.await.expect("the held sync")));
    assert_eq!(r["result"], "completed", "{r}");
    assert_eq!(faults.fired().await, ["delay POST /sync/pull"]);
    faults.assert_used_up().await;
    assert_eq!(
        pending_count(&store).await,
        1,
        "the edit is still pending after the pull"
    );

    let report = synced(&store).await;
    let device = local(&store, table, &key).await;
    let (_, server) = server_row(RUTH, table, &key)
        .await
        .expect("the server's row");
    After {
        report,
        device,
        server,
        store,
    }
}

fn columns(row: &Value, names: &[&str]) -> Vec<Value> {
    names.iter().map(|c| row[*c].clone()).collect()
}

#[wasm_bindgen_test]
async fn server_wins_keeps_the_servers_change_made_during_a_pull() {
    let key = unique("race-sw");
    let a = edit_during_pull(
        "notes",
        json!({ "id": key, "ownerId": "ruth", "text": "first", "tag": "base" }),
        json!({ "text": "from the server" }),
        json!({ "text": "from the device", "tag": "local" }),
    )
    .await;
    assert_eq!(a.report["conflicts"], 1, "{}", a.report);
    assert_eq!(a.report["pushed"], 0, "{}", a.report);
    let both = [&a.device, &a.server].map(|r| columns(r, &["text", "tag"]));
    assert_eq!(
        both[0],
        [json!("from the server"), json!("base")],
        "device: {}",
        a.device
    );
    assert_eq!(both[1], both[0], "server: {}", a.server);
    assert_eq!(pending_count(&a.store).await, 0);
    finish(a.store).await;
}

#[wasm_bindgen_test]
async fn merge_keeps_the_servers_column_and_the_users_other_column() {
    let key = unique("race-m");
    let a = edit_during_pull(
        "accounts",
        json!({ "id": key, "ownerId": "ruth", "name": "A", "city": "Paris" }),
        json!({ "name": "renamed on the server" }),
        json!({ "name": "renamed on the device", "city": "Lyon" }),
    )
    .await;
    // The column both sides changed takes the server's value; the other keeps the user's.
    let want = [json!("renamed on the server"), json!("Lyon")];
    assert_eq!(
        columns(&a.device, &["name", "city"]),
        want,
        "device: {}",
        a.device
    );
    assert_eq!(
        columns(&a.server, &["name", "city"]),
        want,
        "server: {}",
        a.server
    );
    assert_eq!(
        a.report["pushed"], 1,
        "the merged row is pushed: {}",
        a.report
    );
    assert_eq!(pending_count(&a.store).await, 0);
    finish(a.store).await;
}

#[wasm_bindgen_test]
async fn manual_keeps_a_conflict_and_leaves_the_server_row_alone() {
    let key = unique("race-man");
    let account = unique("race-acc");
    let accounts = json!({ "id": account, "ownerId": "ruth", "name": "For work orders" });
    server_insert(RUTH, "accounts", accounts).await;
    let now = js_sys::Date::new_0().to_iso_string().as_string().unwrap();
    let a = edit_during_pull(
        "workorders",
        json!({ "id": key, "accountId": account, "status": "open", "title": "T", "modifiedOn": now }),
        json!({ "title": "set on the server" }),
        json!({ "title": "set on the device", "status": "done" }),
    )
    .await;
    assert_eq!(a.report["conflicts"], 1, "{}", a.report);
    let kept = list(a.store.conflicts()).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        kept[0]["server"]["title"], "set on the server",
        "{:?}",
        kept[0]
    );
    assert_eq!(
        kept[0]["local"]["title"], "set on the device",
        "{:?}",
        kept[0]
    );
    // The user's row stays as they left it, and the server's is untouched.
    let device = columns(&a.device, &["title", "status"]);
    assert_eq!(device, [json!("set on the device"), json!("done")]);
    let server = columns(&a.server, &["title", "status"]);
    assert_eq!(server, [json!("set on the server"), json!("open")]);
    finish(a.store).await;
}

#[wasm_bindgen_test]
async fn client_wins_pushes_the_users_row_as_its_policy_says() {
    let key = unique("race-cw");
    let a = edit_during_pull(
        "drafts",
        json!({ "id": key, "ownerId": "ruth", "text": "first", "tag": "base" }),
        json!({ "tag": "from the server" }),
        json!({ "text": "from the device" }),
    )
    .await;
    // Client-wins: the user's whole row stands, on the device and on the server.
    let want = [json!("from the device"), json!("base")];
    assert_eq!(
        columns(&a.device, &["text", "tag"]),
        want,
        "device: {}",
        a.device
    );
    assert_eq!(
        columns(&a.server, &["text", "tag"]),
        want,
        "server: {}",
        a.server
    );
    assert_eq!(pending_count(&a.store).await, 0);
    finish(a.store).await;
}
