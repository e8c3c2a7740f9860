//! Conflict policies, move-out and interrupted pushes end to end against the reference
//! server (fixture profile: `notes` server-wins, `drafts` client-wins, `workorders`
//! related to accounts and modified within 30 days): what the device and the server hold
//! afterwards, checked through the store's API and the server's REST API. Users carol,
//! dave and erin only, and unique keys, so other test files sharing the server are not
//! disturbed.

use crate::common::push_spy::*;
use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use serde_json::{json, Value};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

const CAROL: &str = "dev-token-carol";
const DAVE: &str = "dev-token-dave";
const ERIN: &str = "dev-token-erin";
const DAY_MS: f64 = 86_400_000.0;

fn iso(ms: f64) -> String {
    js_sys::Date::new(&JsValue::from_f64(ms))
        .to_iso_string()
        .as_string()
        .unwrap()
}

/// A change event (JSON text) of `source` naming `key`.
fn has_event(events: &[String], source: &str, key: &str) -> bool {
    events.iter().map(|e| parse(e)).any(|e| {
        e["source"] == source
            && e["keys"]
                .as_array()
                .is_some_and(|k| k.contains(&json!(key)))
    })
}

#[wasm_bindgen_test]
async fn server_wins_takes_the_servers_row_and_reports_the_conflict() {
    // Nothing lost, for server-wins: the server's row, written after the device's base, is
    // what the device ends up with and is not overwritten by the device; the user's
    // losing edit is not dropped silently: the sync report counts the conflict; and no
    // change stays pending to be pushed later over the server's row.
    let store = open_synced_with(&unique_name("server-wins"), CAROL, FIXTURE_PROFILE).await;
    synced(&store).await;
    let notes = store.table("notes").unwrap();
    let key = unique("sw");
    ok(notes.put(js(&format!(
        r#"{{"id":"{key}","ownerId":"carol","text":"first","tag":"base"}}"#
    ))))
    .await;
    let r = synced(&store).await;
    assert_eq!(r["pushed"], 1, "{r}");
    let path = format!("/api/data/notes/'{key}'");

    // The server changes the row, then the user edits the old version (no pull between).
    let (status, server_version, server_row) =
        rest_full(CAROL, "PATCH", &path, Some(r#"{"text":"from the server"}"#)).await;
    assert_eq!(status, 200, "{server_row}");
    let server_version = server_version.expect("the PATCH answer has an ETag");
    ok(notes.update(
        key.clone().into(),
        js(r#"{"text":"from the device","tag":"local"}"#),
    ))
    .await;
    assert_eq!(pending_count(&store).await, 1);
    let (kept, _guard) = collect(&store, "conflict");
    let changes = Recorder::new(&store);

    let r = synced(&store).await;
    assert_eq!(
        (
            r["conflicts"].as_u64(),
            r["pushed"].as_u64(),
            r["errors"].as_u64()
        ),
        (Some(1), Some(0), Some(0)),
        "one conflict, settled by taking the server's row: {r}"
    );
    assert_eq!(
        local(&store, "notes", &key).await,
        server_row,
        "the device holds the server's row"
    );
    assert_eq!(pending_count(&store).await, 0);
    let m = meta(&store, "notes", &key).await;
    assert_eq!(
        (&m["pending"], m["version"].as_str()),
        (&json!(false), Some(server_version.as_str())),
        "based on the server's version: {m}"
    );
    assert!(
        has_event(&changes.take(), "remote", &key),
        "the replaced row is announced as a remote change"
    );
    // Settled by the policy: nothing kept for the app, so no `conflict` event (that one
    // is for kept conflicts, see types.d.ts).
    assert!(list(store.conflicts()).await.is_empty());
    assert!(kept.borrow().is_empty(), "{:?}", kept.borrow());
    assert!(list(store.sync_errors()).await.is_empty());

    // The server's row is exactly as the REST write left it, at the same version.
    let (status, version, now) = rest_full(CAROL, "GET", &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(now, server_row, "the device did not write over it");
    assert_eq!(version.as_deref(), Some(server_version.as_str()));
    finish(store).await;
}

#[wasm_bindgen_test]
async fn client_wins_pushes_the_devices_row_over_the_servers() {
    // Nothing lost, for client-wins: the user's edit reaches the server although the
    // server changed the row meanwhile (the server's REST row becomes the device's row),
    // the device keeps the user's row as written, and nothing stays pending.
    let store = open_synced_with(&unique_name("client-wins"), ERIN, FIXTURE_PROFILE).await;
    synced(&store).await;
    let drafts = store.table("drafts").unwrap();
    let key = unique("cw");
    ok(drafts.put(js(&format!(
        r#"{{"id":"{key}","ownerId":"erin","text":"first"}}"#
    ))))
    .await;
    assert_eq!(synced(&store).await["pushed"], 1);
    let path = format!("/api/data/drafts/'{key}'");

    let (status, patched_version, _) =
        rest_full(ERIN, "PATCH", &path, Some(r#"{"text":"from the server"}"#)).await;
    assert_eq!(status, 200);
    ok(drafts.update(key.clone().into(), js(r#"{"text":"from the device"}"#))).await;
    let mine = local(&store, "drafts", &key).await;
    assert_eq!(mine["text"], "from the device");
    assert_eq!(pending_count(&store).await, 1);

    let r = synced(&store).await;
    assert_eq!(
        (r["pushed"].as_u64(), r["errors"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
    let (status, version, server_row) = rest_full(ERIN, "GET", &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(server_row, mine, "the server holds the device's row");
    assert_ne!(version, patched_version, "written over the server's change");
    assert_eq!(
        local(&store, "drafts", &key).await,
        mine,
        "the device's row is unchanged"
    );
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(
        meta(&store, "drafts", &key).await["version"].as_str(),
        version.as_deref(),
        "based on the version the push created"
    );
    assert!(list(store.conflicts()).await.is_empty());
    assert!(list(store.sync_errors()).await.is_empty());
    finish(store).await;
}

/// How long (ms) the aging work order stays in the 30-day window after it is created.
const AGING_MS: f64 = 8_000.0;

#[wasm_bindgen_test]
async fn a_work_order_that_ages_out_of_the_window_is_removed_locally() {
    // Nothing lost, for a move-out by time: only the row that left the user's scope
    // leaves the device (its account and a recent work order stay), it leaves because
    // the server says so (a remote change), and the server keeps it: nobody deleted it.
    // (A user's own write can never move a row out of their scope, protocol §7: time is
    // a move-out the server allows for a single user.)
    let store = open_synced_with(&unique_name("aging"), DAVE, FIXTURE_PROFILE).await;
    synced(&store).await;
    let account = unique("acc");
    server_insert(
        DAVE,
        "accounts",
        json!({ "id": account, "ownerId": "dave", "name": "Aging" }),
    )
    .await;
    let now = js_sys::Date::now();
    let (recent, aging) = (unique("wo-recent"), unique("wo-aging"));
    let ages_out_at = now - 30.0 * DAY_MS + AGING_MS;
    for (key, modified) in [(&recent, now), (&aging, ages_out_at)] {
        let row = json!({ "id": key, "accountId": account, "status": "open", "modifiedOn": iso(modified) });
        let (status, body) =
            rest_as(DAVE, "POST", "/api/data/workorders", Some(&row.to_string())).await;
        assert_eq!(status, 201, "{body}");
    }
    synced(&store).await;
    assert!(
        js_sys::Date::now() < ages_out_at + 30.0 * DAY_MS,
        "the test was too slow to see the work order in scope"
    );
    assert_eq!(
        local(&store, "workorders", &aging).await["id"],
        aging.as_str()
    );
    assert_eq!(
        local(&store, "workorders", &recent).await["id"],
        recent.as_str()
    );

    let changes = Recorder::new(&store);
    let wait = ages_out_at + 30.0 * DAY_MS + 500.0 - js_sys::Date::now();
    pause(wait.max(0.0) as u32).await;
    let r = synced(&store).await;
    assert!(r["pulled"].as_u64() >= Some(1), "{r}");
    assert_eq!(
        local(&store, "workorders", &aging).await,
        Value::Null,
        "aged out"
    );
    assert_eq!(meta(&store, "workorders", &aging).await, Value::Null);
    assert!(
        has_event(&changes.take(), "remote", &aging),
        "the removal is announced as a remote change"
    );
    assert_eq!(
        local(&store, "workorders", &recent).await["id"],
        recent.as_str()
    );
    assert_eq!(
        local(&store, "accounts", &account).await["id"],
        account.as_str()
    );
    assert_eq!(pending_count(&store).await, 0);
    // Out of dave's scope on the server too, though not deleted (nobody deleted it).
    let (status, _) = rest_as(
        DAVE,
        "GET",
        &format!("/api/data/workorders/'{aging}'"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn when_an_account_leaves_its_work_orders_are_removed_locally() {
    // Nothing lost, for a move-out through a parent: the owner cannot give the account
    // away (the server refuses, and nothing changes); once the account is gone on the
    // server, its work orders (still on the server, not deleted) leave the user's scope
    // and the device, announced as remote changes; another account and its work order
    // stay.
    let store = open_synced_with(&unique_name("parent"), DAVE, FIXTURE_PROFILE).await;
    let (leaving, staying) = (unique("acc-leaving"), unique("acc-staying"));
    for acc in [&leaving, &staying] {
        server_insert(DAVE, "accounts", json!({ "id": acc, "ownerId": "dave" })).await;
    }
    let today = iso(js_sys::Date::now());
    let orders = [
        (unique("wo-a"), &leaving),
        (unique("wo-b"), &leaving),
        (unique("wo-c"), &staying),
    ];
    for (key, acc) in &orders {
        let row = json!({ "id": key, "accountId": acc, "status": "open", "modifiedOn": today });
        let (status, body) =
            rest_as(DAVE, "POST", "/api/data/workorders", Some(&row.to_string())).await;
        assert_eq!(status, 201, "{body}");
    }
    synced(&store).await;
    for (key, _) in &orders {
        assert_eq!(local(&store, "workorders", key).await["id"], key.as_str());
    }

    // Reassigning it to erin would move it out of dave's own scope: refused, unchanged.
    let path = format!("/api/data/accounts/'{leaving}'");
    let (status, body) = rest_as(DAVE, "PATCH", &path, Some(r#"{"ownerId":"erin"}"#)).await;
    assert_eq!(status, 403, "{body}");
    let (status, row) = rest_as(DAVE, "GET", &path, None).await;
    assert_eq!((status, &row["ownerId"]), (200, &json!("dave")), "{row}");

    let changes = Recorder::new(&store);
    let (status, _) = rest_as(DAVE, "DELETE", &path, None).await;
    assert_eq!(status, 204);
    synced(&store).await;
    assert_eq!(local(&store, "accounts", &leaving).await, Value::Null);
    let seen = changes.take();
    for (key, acc) in &orders {
        if *acc == &leaving {
            assert_eq!(
                local(&store, "workorders", key).await,
                Value::Null,
                "{key} left with its account"
            );
            assert_eq!(meta(&store, "workorders", key).await, Value::Null);
            assert!(has_event(&seen, "remote", key), "{key}: {seen:?}");
        } else {
            assert_eq!(local(&store, "workorders", key).await["id"], key.as_str());
        }
    }
    assert!(has_event(&seen, "remote", &leaving), "{seen:?}");
    assert_eq!(
        local(&store, "accounts", &staying).await["id"],
        staying.as_str()
    );
    assert_eq!(pending_count(&store).await, 0);
    finish(store).await;
}

const CLOSED_ROWS: usize = 50;

#[wasm_bindgen_test]
async fn pending_changes_survive_a_close_during_the_push_and_land_exactly_once() {
    // Nothing lost, for a store closed while its push is on the wire: each of the 50
    // writes whose promise resolved reaches the server exactly once — every key is on the
    // server with its row, went out under one mutation id only and was applied at one
    // version only (resending the cut-short batch replays, never re-applies), with no
    // conflict and no sync error — whether or not the cut-short push got through; and
    // once the reopened store has synced, nothing is pending.
    let name = unique_name("close-mid-push");
    let store = Rc::new(open_synced_with(&name, CAROL, FIXTURE_PROFILE).await);
    synced(&store).await;
    let prefix = unique("cl");
    let rows: js_sys::Array = (0..CLOSED_ROWS)
        .map(|i| {
            js(&format!(
                r#"{{"id":"{prefix}-{i:02}","ownerId":"carol","text":"row {i}"}}"#
            ))
        })
        .collect();
    ok(store.table("notes").unwrap().bulk_put(rows.into())).await;
    assert_eq!(pending_count(&store).await, CLOSED_ROWS as u32);

    spy_reset();
    let closing = store.clone();
    spy_on_next_push(&Closure::once_into_js(move || closing.close()));
    // Not awaited: the store closes under it, so it never answers.
    let _unanswered = store.sync(None);
    drop(store);
    let mut waited = 0;
    while spy_sent() == "[]" {
        assert!(waited < 5_000, "no push was sent");
        pause(10).await;
        waited += 10;
    }

    // Relaunch at once (the first push may or may not have been answered by now).
    let store = open_synced_with(&name, CAROL, FIXTURE_PROFILE).await;
    let first_answered = spy_answers() != "[]";
    let r = synced(&store).await;
    assert_eq!(pending_count(&store).await, 0, "{r}");
    assert!(list(store.sync_errors()).await.is_empty());
    assert_eq!(
        ok_json(store.table("notes").unwrap().count(Some(js(&format!(
            r#"{{"where":{{"id":{{"startsWith":"{prefix}-"}}}}}}"#
        )))))
        .await,
        CLOSED_ROWS.to_string()
    );

    let listed = server_rows(CAROL, "notes", &format!("{prefix}-")).await;
    assert_eq!(
        listed.len(),
        CLOSED_ROWS,
        "every row on the server: {listed:?}"
    );
    for (i, row) in listed.iter().enumerate() {
        assert_eq!(
            row,
            &json!({ "id": format!("{prefix}-{i:02}"), "ownerId": "carol", "text": format!("row {i}") })
        );
    }

    // Every push the page sent and every answer it got (read or not).
    let sent = sent_mutations();
    let answers = received_outcomes();
    let mut ids: std::collections::BTreeMap<String, std::collections::BTreeSet<u64>> =
        Default::default();
    let mut key_of: std::collections::BTreeMap<u64, String> = Default::default();
    for m in &sent {
        let key = m["key"].as_str().unwrap().to_string();
        if key.starts_with(&prefix) {
            let id = m["id"].as_u64().unwrap();
            ids.entry(key.clone()).or_default().insert(id);
            key_of.insert(id, key);
        }
    }
    assert_eq!(ids.len(), CLOSED_ROWS, "every row was pushed: {sent:?}");
    assert!(
        ids.values().all(|s| s.len() == 1),
        "one mutation id per row, resent unchanged: {ids:?}"
    );
    let mut versions: std::collections::BTreeMap<&String, std::collections::BTreeSet<String>> =
        Default::default();
    for o in &answers {
        let Some(key) = o["id"].as_u64().and_then(|id| key_of.get(&id)) else {
            continue;
        };
        assert_eq!(o["status"], "applied", "{o}");
        versions
            .entry(key)
            .or_default()
            .insert(o["version"].as_str().unwrap().to_string());
    }
    assert_eq!(
        versions.len(),
        CLOSED_ROWS,
        "an answer for every row: {answers:?}"
    );
    assert!(
        versions.values().all(|v| v.len() == 1),
        "each row applied at one version only: {versions:?}"
    );
    console_log!(
        "close mid-push: first push answered before the relaunch: {first_answered}; mutations sent: {}, outcomes seen: {}; sync after the relaunch: {r}",
        sent.len(),
        answers.len()
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn first_download_reports_progress_per_table() {
    // Nothing lost, for a first download: the app is told when every table has arrived:
    // the status says the initial sync is not done before it ran and done after, each
    // table of the profile is done with as many rows as the device then holds, and the
    // progress only moves forward.
    let store = open_synced_with(&unique_name("first"), ERIN, FIXTURE_PROFILE).await;
    let (seen, _guard) = collect(&store, "status");
    let before: Value = parse(&json(&store.status().unwrap()));
    assert_eq!(before["initialSync"]["done"], false, "{before}");
    synced(&store).await;
    let after: Value = parse(&json(&store.status().unwrap()));
    assert_eq!(after["initialSync"]["done"], true, "{after}");
    for t in FIXTURE_TABLES {
        let count = ok(store.table(t).unwrap().count(None))
            .await
            .as_f64()
            .unwrap();
        let table = &after["initialSync"]["tables"][t];
        assert_eq!(table["done"], true, "{t}: {after}");
        assert_eq!(table["rows"].as_f64(), Some(count), "{t}: {after}");
        // The total came from the server's estimate before the download.
        assert_eq!(table["total"].as_f64(), Some(count), "{t}: {after}");
    }
    let events: Vec<Value> = seen.borrow().iter().map(|e| parse(e)).collect();
    assert!(!events.is_empty(), "status events during the first sync");
    assert_eq!(
        events.last().unwrap()["initialSync"]["done"],
        true,
        "the last status event says done: {events:?}"
    );
    let mut last_rows = std::collections::BTreeMap::<&str, f64>::new();
    let mut was_done = false;
    for e in &events {
        let s = &e["initialSync"];
        assert!(s.is_object(), "every status carries initialSync: {e}");
        assert!(
            !was_done || s["done"] == true,
            "done stays done: {events:?}"
        );
        was_done = s["done"] == true;
        for t in FIXTURE_TABLES {
            let rows = s["tables"][t]["rows"].as_f64().unwrap_or(0.0);
            let prev = last_rows.insert(t, rows).unwrap_or(0.0);
            assert!(rows >= prev, "{t}: rows never go down: {events:?}");
        }
    }
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_launch_that_cannot_sync_reports_the_first_download_as_stored() {
    // Nothing lost, for what the app is told: a store reopened where the server cannot be
    // reached still says its first download is done, with the rows it holds, so the app
    // does not show "downloading" over data it has.
    let name = unique_name("relaunch");
    let store = open_synced_with(&name, ERIN, FIXTURE_PROFILE).await;
    synced(&store).await;
    let count = ok(store.table("notes").unwrap().count(None))
        .await
        .as_f64()
        .unwrap();
    assert!(count > 0.0);
    store.close();
    drop(store);
    let o = options(&name, FIXTURE_PROFILE);
    let unreachable = js(r#"{"url":"http://127.0.0.1:9","token":"x","timeoutMs":500}"#);
    js_sys::Reflect::set(&o, &"server".into(), &unreachable).unwrap();
    let store = offline_tables::OfflineStore::open_async(o).await.unwrap();
    let mut last = Value::Null;
    for _ in 0..100 {
        last = parse(&json(&store.status().unwrap()));
        if last["initialSync"]["done"] == true {
            break;
        }
        pause(20).await;
    }
    assert_eq!(last["initialSync"]["done"], true, "{last}");
    assert_eq!(
        last["initialSync"]["tables"]["notes"]["rows"].as_f64(),
        Some(count),
        "{last}"
    );
    assert_eq!(
        sync(&store).await["result"],
        "failed",
        "the server really is out of reach"
    );
    finish(store).await;
}
