//! Server errors and hangs: 5xx answers to pushes and pulls, a page fetched ahead that failed, a push that hangs past the timeout, and what the sync report counts meanwhile.

use super::*;

#[wasm_bindgen_test]
async fn server_errors_fail_the_sync_keep_every_change_and_recover() {
    // Nothing lost, for 5xx answers: a push answered 503 leaves the three writes pending,
    // unchanged, and none of them on the server (the handler never ran); a pull answered
    // 500 leaves the server's new row off the device and the checkpoint where it was,
    // while the push before it did land; the failed syncs say so (state "error", the
    // status in lastError), and once the faults are used up every row is on the server
    // exactly once and on the device, with nothing pending.
    let (faults, store) = start("frank", None, TIMEOUT_MS).await;
    let prefix = unique("e5");
    let keys: Vec<String> = (0..3).map(|i| format!("{prefix}-{i}")).collect();
    for (i, k) in keys.iter().enumerate() {
        put(&store, "notes", note(k, "frank", &format!("row {i}"))).await;
    }
    let pending = pending_json(&store).await;
    assert_eq!(pending_count(&store).await, 3);

    faults
        .add(json!([{ "path": "/sync/push", "method": "POST", "times": 1,
                      "fault": { "kind": "status", "status": 503 } }]))
        .await;
    let r = failed(&store, "error", "503").await;
    assert_eq!(r["pushed"], 0, "{r}");
    assert_eq!(
        pending_json(&store).await,
        pending,
        "every write still pending, unchanged"
    );
    assert!(server_rows(FRANK, "notes", &prefix).await.is_empty());
    assert_eq!(faults.fired().await, ["status POST /sync/push"]);

    let r = synced(&store).await;
    assert_eq!(r["pushed"], 3, "{r}");
    assert_eq!(status(&store)["lastError"], Value::Null);
    assert_eq!(pending_count(&store).await, 0);
    let rows = server_rows(FRANK, "notes", &prefix).await;
    let want: Vec<Value> = (0..3)
        .map(|i| note(&keys[i], "frank", &format!("row {i}")))
        .collect();
    assert_eq!(rows, want, "each row once");

    // Now the pull fails: a row another device made, and a local edit pushed before it.
    let from_server = format!("{prefix}-srv");
    server_insert(
        FRANK,
        "notes",
        note(&from_server, "frank", "from the server"),
    )
    .await;
    ok(store
        .table("notes")
        .unwrap()
        .update(keys[0].clone().into(), js(r#"{"text":"edited"}"#)))
    .await;
    let cp = checkpoint(&store).await;
    faults
        .add(json!([{ "path": "/sync/pull", "method": "POST", "times": 1,
                      "fault": { "kind": "status", "status": 500 } }]))
        .await;
    let r = failed(&store, "error", "500").await;
    assert_eq!(r["pushed"], 1, "the push before the pull went through: {r}");
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(local(&store, "notes", &from_server).await, Value::Null);
    assert_eq!(checkpoint(&store).await, cp, "the checkpoint did not move");

    let r = synced(&store).await;
    assert!(r["pulled"].as_u64() >= Some(1), "{r}");
    assert!(checkpoint(&store).await > cp);
    let srv = note(&from_server, "frank", "from the server");
    assert_eq!(local(&store, "notes", &from_server).await, srv);
    let mut want = want;
    want[0]["text"] = "edited".into();
    want.push(srv);
    assert_eq!(
        server_rows(FRANK, "notes", &prefix).await,
        want,
        "each row once"
    );
    for row in &want {
        assert_eq!(
            &local(&store, "notes", row["id"].as_str().unwrap()).await,
            row
        );
    }
    assert_eq!(
        faults.fired().await,
        ["status POST /sync/push", "status POST /sync/pull"]
    );
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn a_hung_push_times_out_and_the_next_sync_lands_it() {
    // Nothing lost, for a request that never gets an answer: with a 1 s timeout the sync
    // gives up after about a second instead of hanging (state "error", a timeout in
    // lastError), the write stays pending and is not on the server (the hung request
    // never reached the handler), and the next sync puts it there once.
    let (faults, store) = start("frank", None, 1_000).await;
    let key = unique("hang");
    let row = note(&key, "frank", "waited");
    put(&store, "notes", row.clone()).await;
    faults
        .add(json!([{ "path": "/sync/push", "method": "POST", "times": 1,
                      "fault": { "kind": "hang", "ms": 20000 } }]))
        .await;
    let started = js_sys::Date::now();
    let r = failed(&store, "error", "timed out").await;
    let took = js_sys::Date::now() - started;
    assert!(
        (1_000.0..5_000.0).contains(&took),
        "gave up after the timeout, not before nor much later: {took} ms, {r}"
    );
    assert_eq!(pending_count(&store).await, 1);
    assert!(server_rows(FRANK, "notes", &key).await.is_empty());
    assert_eq!(faults.fired().await, ["hang POST /sync/push"]);

    let r = synced(&store).await;
    assert_eq!(r["pushed"], 1, "{r}");
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(server_rows(FRANK, "notes", &key).await, [row]);
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn the_sync_report_counts_the_changes_left_pending() {
    // Nothing misreported, for the pending count of sync()'s answer (the status "at the
    // answer"): after a push answered 503 it says all three writes are still pending, and
    // after the sync that pushed them, none; pendingCount() agrees each time.
    let (faults, store) = start("grace", None, TIMEOUT_MS).await;
    let prefix = unique("count");
    for i in 0..3 {
        put(
            &store,
            "notes",
            note(&format!("{prefix}-{i}"), "grace", "x"),
        )
        .await;
    }
    faults
        .add(json!([{ "path": "/sync/push", "method": "POST", "times": 1,
                      "fault": { "kind": "status", "status": 503 } }]))
        .await;
    let r = failed(&store, "error", "503").await;
    assert_eq!(pending_count(&store).await, 3);
    assert_eq!(r["status"]["pending"], 3, "{r}");
    let r = synced(&store).await;
    assert_eq!(r["pushed"], 3, "{r}");
    assert_eq!(pending_count(&store).await, 0);
    // status() catches up a moment later; the answer's status never does.
    status_field_becomes(&store, "pending", 0.into()).await;
    assert_eq!(r["status"]["pending"], 0, "nothing left pending: {r}");
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn a_page_fetched_ahead_that_failed_is_fetched_again_from_the_last_page_written() {
    // A download writes one page while it fetches the next (driver/sync/exchange.rs). The
    // page fetched ahead answers only the pull that follows a written page; when that fetch
    // failed, the sync fails with its error, the checkpoint is the last written page's, and
    // the next sync asks again from there: every row once, nothing fetched twice.
    const OMAR: &str = "dev-token-omar";
    let (faults, writer) = start("omar", None, TIMEOUT_MS).await;
    let prefix = unique("ahead");
    let rows: Vec<Value> = (0..1_200)
        .map(|i| note(&format!("{prefix}-{i:04}"), "omar", &format!("row {i}")))
        .collect();
    ok(writer
        .table("notes")
        .unwrap()
        .bulk_put(js(&Value::from(rows.clone()).to_string())))
    .await;
    synced(&writer).await;
    finish(writer).await;

    // A second device downloads: page one (1,000 changes) is written while page two is
    // fetched, and that fetch is refused. The refusal is that pull's answer, never a page:
    // the engine retries from the checkpoint of page one, within this sync or the next.
    let store = open_store(OMAR, None, TIMEOUT_MS).await;
    faults
        .add(
            json!([{ "path": "/sync/pull", "method": "POST", "skip": 1, "times": 1,
                      "fault": { "kind": "status", "status": 500 } }]),
        )
        .await;
    let r = sync(&store).await;
    let mut pulled = r["pulled"].as_u64().unwrap_or(0);
    if r["result"] != "completed" {
        let last = r["status"]["lastError"].as_str().unwrap_or_default();
        assert!(last.contains("500"), "the refused fetch's status: {r}");
        pulled += synced(&store).await["pulled"].as_u64().unwrap_or(0);
    }
    assert_eq!(faults.fired().await, ["status POST /sync/pull"]);
    // Every row the store now holds (omar's notes, this run's 1,200 and any an earlier run
    // left on this server, and the products everyone sees) was pulled once: no page applied
    // twice. That none was skipped is checked below, row by row and by count.
    let held: u64 = status(&store)["initialSync"]["tables"]
        .as_object()
        .expect("per-table progress")
        .values()
        .map(|t| t["rows"].as_u64().unwrap_or(0))
        .sum();
    assert!(held >= 1_203, "{}", status(&store));
    assert_eq!(pulled, held, "{r}");
    for row in [&rows[0], &rows[999], &rows[1_000], &rows[1_199]] {
        assert_eq!(
            &local(&store, "notes", row["id"].as_str().unwrap()).await,
            row
        );
    }
    let n = ok(store.table("notes").unwrap().count(Some(js(
        &json!({ "where": { "id": { "startsWith": prefix } } }).to_string(),
    ))))
    .await;
    assert_eq!(n.as_f64(), Some(1_200.0), "every row once");
    end(faults, store).await;
}
