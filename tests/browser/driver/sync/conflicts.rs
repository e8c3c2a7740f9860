//! Conflicts and refusals end to end against the reference server: a merge table merges
//! column by column and pushes the result, a manual table keeps the conflict until the
//! app resolves it, and a refused write becomes a sync error without blocking the others.

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use serde_json::Value;
use wasm_bindgen_test::*;

fn now_iso() -> String {
    js_sys::Date::new_0().to_iso_string().as_string().unwrap()
}

#[wasm_bindgen_test]
async fn a_merge_table_merges_both_sides_and_pushes_the_result() {
    let store = open_synced("dev-token-alice", None).await;
    let accounts = store.table("accounts").unwrap();
    let key = unique("m");
    ok(accounts.put(js(&format!(
        r#"{{"id":"{key}","name":"A","city":"Paris","ownerId":"alice"}}"#
    ))))
    .await;
    assert_eq!(sync(&store).await["result"], "completed");
    // The user moves the account; meanwhile someone renames it on the server.
    ok(accounts.update(key.clone().into(), js(r#"{"city":"Lyon"}"#))).await;
    let (status, _) = rest(
        "PATCH",
        &format!("/api/data/accounts/{key}"),
        Some(r#"{"name":"B"}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sync(&store).await["result"], "completed");
    let local: Value =
        serde_json::from_str(&ok_json(accounts.get(key.clone().into())).await).unwrap();
    assert_eq!(
        (local["name"].as_str(), local["city"].as_str()),
        (Some("B"), Some("Lyon")),
        "{local}"
    );
    let (_, server) = rest("GET", &format!("/api/data/accounts/{key}"), None).await;
    assert_eq!(
        (server["name"].as_str(), server["city"].as_str()),
        (Some("B"), Some("Lyon")),
        "{server}"
    );
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(ok_json(store.conflicts()).await, "[]");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_manual_table_keeps_the_conflict_until_the_app_resolves_it() {
    let store = open_synced("dev-token-alice", None).await;
    let orders = store.table("workorders").unwrap();
    let key = unique("w");
    let row = format!(
        r#"{{"id":"{key}","accountId":"a0","status":"open","modifiedOn":"{}"}}"#,
        now_iso()
    );
    ok(orders.put(js(&row))).await;
    assert_eq!(sync(&store).await["result"], "completed");
    ok(orders.update(key.clone().into(), js(r#"{"status":"done"}"#))).await;
    let (kept, _guard) = collect(&store, "conflict");
    let (status, _) = rest(
        "PATCH",
        &format!("/api/data/workorders/{key}"),
        Some(r#"{"status":"cancelled"}"#),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sync(&store).await["result"], "completed");
    // The user's row stays as they left it; the conflict holds all three versions.
    assert!(ok_json(orders.get(key.clone().into()))
        .await
        .contains(r#""status":"done""#));
    let conflicts: Value = serde_json::from_str(&ok_json(store.conflicts()).await).unwrap();
    assert_eq!(conflicts.as_array().map(Vec::len), Some(1), "{conflicts}");
    let c = &conflicts[0];
    assert_eq!(
        (
            c["local"]["status"].as_str(),
            c["server"]["status"].as_str(),
            c["base"]["status"].as_str()
        ),
        (Some("done"), Some("cancelled"), Some("open")),
        "{c}"
    );
    assert_eq!(
        pending_count(&store).await,
        0,
        "a kept conflict is not pushed again by itself"
    );
    status_field_becomes(&store, "conflicts", 1.into()).await;
    let kept = kept.borrow().clone();
    assert_eq!(kept.len(), 1, "one conflict event: {kept:?}");
    assert!(
        kept[0].contains(r#""status":"cancelled""#) && kept[0].contains(&key),
        "{kept:?}"
    );

    // The server's row changes again before the app decides: the kept conflict shows the
    // newest row and version, so "keep mine" is chosen knowing what it overwrites.
    let (status, newer) = rest(
        "PATCH",
        &format!("/api/data/workorders/{key}"),
        Some(r#"{"status":"on-hold"}"#),
    )
    .await;
    assert_eq!(status, 200, "{newer}");
    assert_eq!(sync(&store).await["result"], "completed");
    let again: Value = serde_json::from_str(&ok_json(store.conflicts()).await).unwrap();
    assert_eq!(again.as_array().map(Vec::len), Some(1), "{again}");
    assert_eq!(again[0]["id"], c["id"], "the same conflict: {again}");
    assert_eq!(again[0]["server"]["status"], "on-hold", "{again}");
    assert_eq!(again[0]["local"]["status"], "done", "{again}");
    let (v0, v1) = (
        c["serverVersion"].as_str(),
        again[0]["serverVersion"].as_str(),
    );
    let num = |v: Option<&str>| v.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    assert!(num(v1) > num(v0), "{v0:?} -> {v1:?}");

    // The app keeps the local row: it is pushed against the server's version.
    ok(store.resolve_conflict(c["id"].as_f64().unwrap(), "local".into())).await;
    assert_eq!(sync(&store).await["result"], "completed");
    let (_, server) = rest("GET", &format!("/api/data/workorders/{key}"), None).await;
    assert_eq!(server["status"], "done", "{server}");
    assert_eq!(ok_json(store.conflicts()).await, "[]");
    assert_eq!(
        code_of(store.resolve_conflict(c["id"].as_f64().unwrap(), "local".into())).await,
        "not_found"
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_refused_write_becomes_a_sync_error_and_the_others_go_through() {
    let store = open_synced("dev-token-alice", None).await;
    let accounts = store.table("accounts").unwrap();
    let (theirs, mine) = (unique("bob"), unique("ok"));
    // Alice may not create Bob's account; her own goes in the same batch.
    let (refused, _guard) = collect(&store, "syncerror");
    ok(accounts.put(js(&format!(r#"{{"id":"{theirs}","ownerId":"bob"}}"#)))).await;
    ok(accounts.put(js(&format!(r#"{{"id":"{mine}","ownerId":"alice"}}"#)))).await;
    assert_eq!(sync(&store).await["result"], "completed");
    let errors: Value = serde_json::from_str(&ok_json(store.sync_errors()).await).unwrap();
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{errors}");
    assert_eq!(errors[0]["reason"], "permission");
    status_field_becomes(&store, "errors", 1.into()).await;
    assert!(
        refused
            .borrow()
            .iter()
            .any(|e| e.contains(r#""reason":"permission""#)),
        "{:?}",
        refused.borrow()
    );
    assert_eq!(errors[0]["key"], theirs.as_str());
    assert_eq!(
        ok_json(accounts.get(theirs.clone().into())).await,
        "undefined",
        "reverted: the server never had it"
    );
    let (status, _) = rest("GET", &format!("/api/data/accounts/{mine}"), None).await;
    assert_eq!(status, 200, "the write behind the refused one went through");
    assert_eq!(pending_count(&store).await, 0);
    // Retrying puts the change back and pushes it again (refused again); discarding forgets it.
    ok(store.retry_sync_error(errors[0]["id"].as_f64().unwrap())).await;
    assert_eq!(pending_count(&store).await, 1);
    assert_eq!(sync(&store).await["result"], "completed");
    let errors: Value = serde_json::from_str(&ok_json(store.sync_errors()).await).unwrap();
    assert_eq!(errors.as_array().map(Vec::len), Some(1), "{errors}");
    status_field_becomes(&store, "errors", 1.into()).await;
    ok(store.discard_sync_error(errors[0]["id"].as_f64().unwrap())).await;
    assert_eq!(ok_json(store.sync_errors()).await, "[]");
    // The status follows a discard by itself (no row changed, no sync needed).
    status_field_becomes(&store, "errors", 0.into()).await;
    finish(store).await;
}
