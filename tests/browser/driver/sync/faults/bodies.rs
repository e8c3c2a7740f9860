//! Answers that are cut, malformed or carry what the client does not know: a truncated pull page, bodies that are not JSON, an unknown change kind.

use super::*;

#[wasm_bindgen_test]
async fn a_truncated_pull_page_applies_nothing_and_is_pulled_again() {
    // Nothing lost, for a pull answer cut in half: none of the page is applied and the
    // checkpoint stays where it was (storing it would skip the page's rows for good);
    // the sync says the answer was malformed; the next sync pulls the same changes again
    // and applies all of them with a newer checkpoint.
    let (faults, store) = start("grace", None, TIMEOUT_MS).await;
    let cp = checkpoint(&store).await;
    let prefix = unique("cut");
    let rows: Vec<Value> = (0..2)
        .map(|i| {
            note(
                &format!("{prefix}-{i}"),
                "grace",
                &format!("server row {i}"),
            )
        })
        .collect();
    for r in &rows {
        server_insert(GRACE, "notes", r.clone()).await;
    }
    faults
        .add(json!([{ "path": "/sync/pull", "method": "POST", "times": 1,
                      "fault": { "kind": "truncate" } }]))
        .await;
    let r = failed(&store, "error", "malformed").await;
    assert_eq!(r["pulled"], 0, "{r}");
    for row in &rows {
        assert_eq!(
            local(&store, "notes", row["id"].as_str().unwrap()).await,
            Value::Null
        );
    }
    assert_eq!(checkpoint(&store).await, cp, "the checkpoint did not move");
    assert_eq!(faults.fired().await, ["truncate POST /sync/pull"]);

    let r = synced(&store).await;
    assert_eq!(r["pulled"], 2, "{r}");
    for row in &rows {
        assert_eq!(
            &local(&store, "notes", row["id"].as_str().unwrap()).await,
            row
        );
    }
    assert!(checkpoint(&store).await > cp);
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(server_rows(GRACE, "notes", &prefix).await, rows);
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn malformed_answers_fail_the_sync_and_lose_nothing() {
    // Nothing lost, for answers that are not JSON (a proxy's HTML page instead of the
    // server's): to a push, the write stays pending, unchanged, and is not on the server
    // (the handler never ran); to a pull, the server's new row stays off the device and
    // the checkpoint where it was; each time the sync fails saying the answer was
    // malformed, and the next sync completes with every row once on the server and on
    // the device.
    let (faults, store) = start("heidi", None, TIMEOUT_MS).await;
    let prefix = unique("bad");
    let mine = device_note(&prefix, "heidi");
    put(&store, "notes", mine.clone()).await;
    let pending = pending_json(&store).await;
    faults
        .add(json!([{ "path": "/sync/push", "method": "POST", "times": 1,
                      "fault": { "kind": "malformed" } }]))
        .await;
    failed(&store, "error", "malformed").await;
    assert_eq!(pending_json(&store).await, pending);
    assert!(server_rows(HEIDI, "notes", &prefix).await.is_empty());

    let theirs = server_note(&prefix, "heidi");
    server_insert(HEIDI, "notes", theirs.clone()).await;
    let cp = checkpoint(&store).await;
    faults
        .add(json!([{ "path": "/sync/pull", "method": "POST", "times": 1,
                      "fault": { "kind": "malformed" } }]))
        .await;
    let r = failed(&store, "error", "malformed").await;
    assert_eq!(r["pushed"], 1, "the push went through this time: {r}");
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(
        local(&store, "notes", theirs["id"].as_str().unwrap()).await,
        Value::Null
    );
    assert_eq!(checkpoint(&store).await, cp);

    synced(&store).await;
    assert_eq!(
        local(&store, "notes", theirs["id"].as_str().unwrap()).await,
        theirs
    );
    assert_eq!(
        local(&store, "notes", mine["id"].as_str().unwrap()).await,
        mine
    );
    assert_eq!(
        server_rows(HEIDI, "notes", &prefix).await,
        [mine, theirs],
        "each row once"
    );
    assert_eq!(
        faults.fired().await,
        ["malformed POST /sync/push", "malformed POST /sync/pull"]
    );
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn an_unknown_change_kind_is_skipped_and_the_rest_of_the_page_applied() {
    // Nothing lost, for a change kind from a newer server (protocol §1: a client must
    // skip a change whose kind it does not know): the sync completes, every known change
    // of the same page is applied, the checkpoint moves past the page, the unknown
    // change leaves no row behind and is not counted as pulled.
    let (faults, store) = start("frank", None, TIMEOUT_MS).await;
    let cp = checkpoint(&store).await;
    let prefix = unique("kind");
    let rows: Vec<Value> = (0..2)
        .map(|i| note(&format!("{prefix}-{i}"), "frank", &format!("row {i}")))
        .collect();
    for r in &rows {
        server_insert(FRANK, "notes", r.clone()).await;
    }
    faults
        .add(json!([{ "path": "/sync/pull", "method": "POST", "times": 1,
                      "fault": { "kind": "unknownChange" } }]))
        .await;
    let r = synced(&store).await;
    assert_eq!(r["status"]["lastError"], Value::Null, "{r}");
    assert_eq!(faults.fired().await, ["unknownChange POST /sync/pull"]);
    for row in &rows {
        assert_eq!(
            &local(&store, "notes", row["id"].as_str().unwrap()).await,
            row
        );
    }
    assert!(checkpoint(&store).await > cp);
    for t in FIXTURE_TABLES {
        assert_eq!(
            local(&store, t, "teleport-1").await,
            Value::Null,
            "nothing of the unknown change in {t}"
        );
    }
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn the_sync_report_does_not_count_a_skipped_unknown_change_as_pulled() {
    // Nothing misreported, for a change kind the client skips: two rows written on the
    // server are reported as two pulled changes, with or without an unknown change in
    // the same page (the control sync, without the fault, shows the count is exact).
    let (faults, store) = start("grace", None, TIMEOUT_MS).await;
    for fault in [false, true] {
        let prefix = unique("count");
        for i in 0..2 {
            server_insert(GRACE, "notes", note(&format!("{prefix}-{i}"), "grace", "x")).await;
        }
        if fault {
            faults
                .add(json!([{ "path": "/sync/pull", "method": "POST", "times": 1,
                              "fault": { "kind": "unknownChange" } }]))
                .await;
        }
        let r = synced(&store).await;
        assert_eq!(r["pulled"], 2, "unknown change in the page: {fault}: {r}");
    }
    assert_eq!(faults.fired().await, ["unknownChange POST /sync/pull"]);
    end(faults, store).await;
}
