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

use crate::common::faults::*;
use crate::common::push_spy::*;
use crate::common::server::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

const FRANK: &str = "dev-token-frank";
const GRACE: &str = "dev-token-grace";
const HEIDI: &str = "dev-token-heidi";

/// Requests time out after this long unless a test says otherwise: long enough for the
/// test server, short enough that a hang is seen in about a second.
const TIMEOUT_MS: u32 = 3_000;

#[wasm_bindgen(inline_js = r#"
// A getToken for open() that counts its calls; `answer` null: it throws (signed out).
export function countingGetToken(answer) {
  const f = () => {
    f.calls++;
    if (answer === null) throw new Error("signed out");
    return Promise.resolve(answer);
  };
  f.calls = 0;
  return f;
}
export function callsOf(f) { return f.calls; }
// `p`, or "hung" if it does not settle within `ms`.
export function orHung(p, ms) {
  let timer;
  const t = new Promise((r) => { timer = setTimeout(() => r("hung"), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

"#)]
extern "C" {
    #[wasm_bindgen(js_name = countingGetToken)]
    fn counting_get_token(answer: Option<String>) -> js_sys::Function;
    #[wasm_bindgen(js_name = callsOf)]
    fn calls_of(f: &js_sys::Function) -> u32;
    #[wasm_bindgen(js_name = orHung)]
    fn or_hung(p: &js_sys::Promise, ms: u32) -> js_sys::Promise;
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {text}: {e}"))
}

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

/// How long any `sync()` may take here: a sync that hangs fails its test at once rather
/// than stalling the file until the runner gives up on the browser.
const SYNC_MS: u32 = 8_000;

/// `store.sync()`'s report, which must come within `SYNC_MS`.
async fn sync(store: &OfflineStore) -> Value {
    let r = wasm_bindgen_futures::JsFuture::from(or_hung(&store.sync(), SYNC_MS))
        .await
        .expect("sync() never rejects");
    assert!(
        r.as_string().as_deref() != Some("hung"),
        "sync() did not answer within {SYNC_MS} ms: {}",
        status(store)
    );
    parse(&json(&r))
}

fn status(store: &OfflineStore) -> Value {
    parse(&json(&store.status().unwrap()))
}

/// `sync()`, which must complete.
async fn synced(store: &OfflineStore) -> Value {
    let r = sync(store).await;
    assert_eq!(r["result"], "completed", "{r}");
    assert_eq!(r["status"]["state"], "idle", "{r}");
    r
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

async fn checkpoint(store: &OfflineStore) -> u64 {
    store
        .db()
        .checkpoint()
        .await
        .unwrap()
        .expect("a checkpoint after the first sync")
        .parse()
        .unwrap()
}

async fn local(store: &OfflineStore, table: &str, key: &str) -> Value {
    let text = ok_json(store.table(table).unwrap().get(key.into())).await;
    if text == "undefined" {
        Value::Null
    } else {
        parse(&text)
    }
}

async fn meta(store: &OfflineStore, table: &str, key: &str) -> Value {
    parse(&ok_json(store.table(table).unwrap().meta(key.into())).await)
}

/// The server's rows of `table` whose id starts with `prefix`, in id order, as the user
/// of `token` sees them through the REST API; checks `$count` agrees.
async fn server_rows(token: &str, table: &str, prefix: &str) -> Vec<Value> {
    let (status, body) = rest_as(
        token,
        "GET",
        &format!("/api/data/{table}?$filter=startswith(id,'{prefix}')&$orderby=id&$count=true"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["value"].as_array().cloned().unwrap_or_default();
    assert_eq!(body["count"], rows.len(), "{body}");
    rows
}

/// A row through the REST API: its version (ETag) and body; None when it is not there.
async fn server_row(token: &str, table: &str, key: &str) -> Option<(String, Value)> {
    let (status, etag, row) =
        rest_full(token, "GET", &format!("/api/data/{table}/'{key}'"), None).await;
    match status {
        200 => Some((etag.expect("a row answer has an ETag"), row)),
        404 => None,
        s => panic!("GET {table}/{key}: {s} {row}"),
    }
}

/// Creates a row through the REST API, as another device of the same user would.
async fn server_insert(token: &str, table: &str, row: Value) {
    let (status, body) = rest_as(
        token,
        "POST",
        &format!("/api/data/{table}"),
        Some(&row.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

async fn put(store: &OfflineStore, table: &str, row: Value) {
    ok(store.table(table).unwrap().put(js(&row.to_string()))).await;
}

fn note(key: &str, owner: &str, text: &str) -> Value {
    json!({ "id": key, "ownerId": owner, "text": text })
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

#[wasm_bindgen_test]
async fn server_errors_fail_the_sync_keep_every_change_and_recover() {
    // Nothing lost, for 5xx answers: a push answered 503 leaves the three writes pending,
    // unchanged, and none of them on the server (the handler never ran); a pull answered
    // 500 leaves the server's new row off the device and the checkpoint where it was,
    // while the push before it did land; the failed syncs say so (state "error", the
    // status in lastError), and once the faults are used up every row is on the server
    // exactly once and on the device, with nothing pending.
    let faults = Faults::begin("frank").await;
    let store = open_store(FRANK, None, TIMEOUT_MS).await;
    synced(&store).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}

/// Every push mutation the page sent for `key`: (mutation id, row, baseVersion), in order.
fn pushes_of(key: &str) -> Vec<(u64, Value, Value)> {
    parse(&spy_sent())
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["mutations"].as_array().unwrap().clone())
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
    parse(&spy_answers())
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["outcomes"].as_array().unwrap().clone())
        .filter(|o| o["id"] == id)
        .collect()
}

#[wasm_bindgen_test]
async fn a_push_whose_answer_is_lost_is_resent_and_applied_once() {
    // Nothing lost, and nothing doubled, when the server commits a push but the answer
    // never arrives: the sync fails and the write stays pending (the client cannot know
    // it landed), although the server holds it; the next sync resends the same mutation
    // (same id, same row) and the server replays its answer instead of writing again: the
    // row is on the server once, at the version the lost push created (on a client-wins
    // table a second write would have made a new version), the device is based on that
    // version, and nothing is pending.
    let faults = Faults::begin("grace").await;
    let store = open_store(GRACE, None, TIMEOUT_MS).await;
    synced(&store).await;
    let key = unique("lost");
    let row = json!({ "id": key, "ownerId": "grace", "text": "once" });
    put(&store, "drafts", row.clone()).await;

    spy_reset();
    let (_, drops) = dropped_until_failed(&faults, &store, "/sync/push", "dropAfterCommit").await;
    assert_eq!(pending_count(&store).await, 1, "no answer: still pending");
    let (committed, on_server) = server_row(GRACE, "drafts", &key)
        .await
        .expect("the server committed the push");
    assert_eq!(on_server, row);

    synced(&store).await;
    assert_eq!(pending_count(&store).await, 0);
    console_log!("lost answer: the drop took {drops} request(s) before the page saw it");
    assert_eq!(
        server_rows(GRACE, "drafts", &key).await,
        std::slice::from_ref(&row),
        "once"
    );
    let (version, on_server) = server_row(GRACE, "drafts", &key).await.unwrap();
    assert_eq!(on_server, row);
    assert_eq!(version, committed, "the resend wrote nothing");
    assert_eq!(local(&store, "drafts", &key).await, row);
    let m = meta(&store, "drafts", &key).await;
    assert_eq!(
        (&m["pending"], m["version"].as_str()),
        (&json!(false), Some(committed.as_str())),
        "{m}"
    );

    let sent = pushes_of(&key);
    let ids: BTreeSet<u64> = sent.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids.len(), 1, "resent under the same mutation id: {sent:?}");
    assert!(sent.len() >= 2, "the page sent it again: {sent:?}");
    assert!(sent.iter().all(|(_, r, _)| *r == row), "{sent:?}");
    let answers = answers_for(*ids.first().unwrap());
    assert_eq!(
        answers,
        [json!({ "status": "applied", "id": ids.first().unwrap(), "version": committed })],
        "the replayed answer"
    );
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_write_made_while_a_push_answer_was_lost_lands_after_the_replay() {
    // Nothing lost, for a second write to a row whose push committed without an answer:
    // the replayed mutation keeps its id and its first row (it means what it meant), the
    // write made after the lost answer goes out as one new mutation against the version
    // the first push created, and the server ends with the device's final row, written
    // twice in all (two versions, no more); nothing pending, no conflict, no sync error.
    let faults = Faults::begin("heidi").await;
    let store = open_store(HEIDI, None, TIMEOUT_MS).await;
    synced(&store).await;
    let key = unique("replay");
    let first = json!({ "id": key, "ownerId": "heidi", "text": "first", "n": 1 });
    put(&store, "drafts", first.clone()).await;
    spy_reset();
    dropped_until_failed(&faults, &store, "/sync/push", "dropAfterCommit").await;
    let (v1, on_server) = server_row(HEIDI, "drafts", &key).await.expect("committed");
    assert_eq!(on_server, first);

    ok(store
        .table("drafts")
        .unwrap()
        .update(key.clone().into(), js(r#"{"text":"second","n":2}"#)))
    .await;
    let last = json!({ "id": key, "ownerId": "heidi", "text": "second", "n": 2 });
    assert_eq!(local(&store, "drafts", &key).await, last);
    assert_eq!(pending_count(&store).await, 1);

    synced(&store).await;
    assert_eq!(pending_count(&store).await, 0);
    let (v2, on_server) = server_row(HEIDI, "drafts", &key).await.unwrap();
    assert_eq!(on_server, last, "the server holds the final row");
    assert_eq!(local(&store, "drafts", &key).await, last);
    assert_eq!(server_rows(HEIDI, "drafts", &key).await.len(), 1);
    let m = meta(&store, "drafts", &key).await;
    assert_eq!(
        (&m["pending"], m["version"].as_str()),
        (&json!(false), Some(v2.as_str())),
        "{m}"
    );
    assert!(list_is_empty(store.conflicts()).await);
    assert!(list_is_empty(store.sync_errors()).await);

    // What went out: the frozen mutation (resent as is), then one new one.
    let sent = pushes_of(&key);
    let by_id: BTreeMap<u64, Vec<(Value, Value)>> =
        sent.iter().fold(BTreeMap::new(), |mut acc, (id, r, b)| {
            acc.entry(*id).or_default().push((r.clone(), b.clone()));
            acc
        });
    let ids: Vec<u64> = by_id.keys().copied().collect();
    assert_eq!(ids.len(), 2, "two mutations in all: {sent:?}");
    let (old, new) = (ids[0], ids[1]);
    assert!(
        by_id[&old].len() >= 2 && by_id[&old].iter().all(|(r, b)| *r == first && b.is_null()),
        "the lost mutation was resent unchanged: {sent:?}"
    );
    assert_eq!(
        by_id[&new],
        [(last.clone(), json!(v1))],
        "the later write, once, against the first push's version: {sent:?}"
    );
    assert_eq!(
        answers_for(old),
        [json!({ "status": "applied", "id": old, "version": v1 })],
        "replayed, not applied again"
    );
    assert_eq!(
        answers_for(new),
        [json!({ "status": "applied", "id": new, "version": v2 })]
    );
    assert!(faults.fired().await.is_empty(), "no fault after the drop's");
    faults.assert_used_up().await;
    finish(store).await;
}

async fn list_is_empty(p: js_sys::Promise) -> bool {
    ok_json(p).await == "[]"
}

#[wasm_bindgen_test]
async fn a_hung_push_times_out_and_the_next_sync_lands_it() {
    // Nothing lost, for a request that never gets an answer: with a 1 s timeout the sync
    // gives up after about a second instead of hanging (state "error", a timeout in
    // lastError), the write stays pending and is not on the server (the hung request
    // never reached the handler), and the next sync puts it there once.
    let faults = Faults::begin("frank").await;
    let store = open_store(FRANK, None, 1_000).await;
    synced(&store).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_truncated_pull_page_applies_nothing_and_is_pulled_again() {
    // Nothing lost, for a pull answer cut in half: none of the page is applied and the
    // checkpoint stays where it was (storing it would skip the page's rows for good);
    // the sync says the answer was malformed; the next sync pulls the same changes again
    // and applies all of them with a newer checkpoint.
    let faults = Faults::begin("grace").await;
    let store = open_store(GRACE, None, TIMEOUT_MS).await;
    synced(&store).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn malformed_answers_fail_the_sync_and_lose_nothing() {
    // Nothing lost, for answers that are not JSON (a proxy's HTML page instead of the
    // server's): to a push, the write stays pending, unchanged, and is not on the server
    // (the handler never ran); to a pull, the server's new row stays off the device and
    // the checkpoint where it was; each time the sync fails saying the answer was
    // malformed, and the next sync completes with every row once on the server and on
    // the device.
    let faults = Faults::begin("heidi").await;
    let store = open_store(HEIDI, None, TIMEOUT_MS).await;
    synced(&store).await;
    let prefix = unique("bad");
    let mine = note(&format!("{prefix}-local"), "heidi", "from the device");
    put(&store, "notes", mine.clone()).await;
    let pending = pending_json(&store).await;
    faults
        .add(json!([{ "path": "/sync/push", "method": "POST", "times": 1,
                      "fault": { "kind": "malformed" } }]))
        .await;
    failed(&store, "error", "malformed").await;
    assert_eq!(pending_json(&store).await, pending);
    assert!(server_rows(HEIDI, "notes", &prefix).await.is_empty());

    let theirs = note(&format!("{prefix}-server"), "heidi", "from the server");
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn an_unknown_change_kind_is_skipped_and_the_rest_of_the_page_applied() {
    // Nothing lost, for a change kind from a newer server (protocol §1: a client must
    // skip a change whose kind it does not know): the sync completes, every known change
    // of the same page is applied, the checkpoint moves past the page, the unknown
    // change leaves no row behind and is not counted as pulled.
    let faults = Faults::begin("frank").await;
    let store = open_store(FRANK, None, TIMEOUT_MS).await;
    synced(&store).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn the_sync_report_does_not_count_a_skipped_unknown_change_as_pulled() {
    // Nothing misreported, for a change kind the client skips: two rows written on the
    // server are reported as two pulled changes, with or without an unknown change in
    // the same page (the control sync, without the fault, shows the count is exact).
    let faults = Faults::begin("grace").await;
    let store = open_store(GRACE, None, TIMEOUT_MS).await;
    synced(&store).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_401_mid_sync_refreshes_the_token_once_and_completes() {
    // Nothing lost, for a token refused halfway through a sync (the push went through,
    // the pull after it gets a 401): `getToken` is called exactly once, the same sync()
    // call then completes (no error left in the status), the write went out once and is
    // on the server once, and the server's row that the refused pull was to bring is on
    // the device.
    let faults = Faults::begin("grace").await;
    let get_token = counting_get_token(Some(GRACE.into()));
    let store = open_store(GRACE, Some(&get_token), TIMEOUT_MS).await;
    synced(&store).await;
    assert_eq!(calls_of(&get_token), 0);
    // The next pull is refused. Added after the first download, not as "skip the first
    // pull" before it: on a server that has kept grace's rows from earlier runs the first
    // download takes more than one page (auto sync is off, so nothing pulls in between).
    faults
        .add(json!([{ "path": "/sync/pull", "method": "POST", "times": 1,
                      "fault": { "kind": "unauthorized" } }]))
        .await;
    let prefix = unique("auth");
    let mine = note(&format!("{prefix}-local"), "grace", "from the device");
    let theirs = note(&format!("{prefix}-server"), "grace", "from the server");
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_401_with_a_failing_get_token_keeps_every_change_until_the_token_works() {
    // Nothing lost, for a refused token that cannot be refreshed (getToken throws: the
    // user signed out elsewhere): the sync stops in state "unauthorized" after one
    // getToken call, both writes stay pending exactly as they were and neither is on the
    // server; when the app asks again and the server takes the token, both land, once.
    let faults = Faults::begin("heidi").await;
    let get_token = counting_get_token(None);
    let store = open_store(HEIDI, Some(&get_token), TIMEOUT_MS).await;
    synced(&store).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_401_with_a_refreshed_token_the_server_refuses_stops_as_unauthorized() {
    // Nothing lost, for a refresh that yields a token the server also refuses: getToken
    // is called once (no loop of refreshes), the store ends "unauthorized" with the write
    // pending as it was, and nothing reached the server (the second 401 is the server's
    // own answer to the bad token, not a fault: only one fault fired).
    let faults = Faults::begin("frank").await;
    let get_token = counting_get_token(Some("dev-token-nobody".into()));
    let store = open_store(FRANK, Some(&get_token), TIMEOUT_MS).await;
    synced(&store).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_pull_whose_connection_closes_fails_and_the_next_sync_completes() {
    // Nothing lost, for a connection dropped before any answer to a pull: the sync fails
    // (state "error", the server unreachable), the push before it did land, the server's
    // new row is not on the device yet and the checkpoint has not moved; the next sync
    // brings it, and every row is once on the server and on the device.
    let faults = Faults::begin("heidi").await;
    let store = open_store(HEIDI, None, TIMEOUT_MS).await;
    synced(&store).await;
    let prefix = unique("closed");
    let mine = note(&format!("{prefix}-local"), "heidi", "from the device");
    let theirs = note(&format!("{prefix}-server"), "heidi", "from the server");
    put(&store, "notes", mine.clone()).await;
    server_insert(HEIDI, "notes", theirs.clone()).await;
    let cp = checkpoint(&store).await;
    let (r, _) = dropped_until_failed(&faults, &store, "/sync/pull", "close").await;
    assert_eq!(r["pushed"], 1, "{r}");
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
    assert!(checkpoint(&store).await > cp);
    assert_eq!(
        server_rows(HEIDI, "notes", &prefix).await,
        [mine.clone(), theirs],
        "each row once"
    );
    assert_eq!(
        local(&store, "notes", mine["id"].as_str().unwrap()).await,
        mine
    );
    assert_eq!(pending_count(&store).await, 0);
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn the_sync_report_counts_the_changes_left_pending() {
    // Nothing misreported, for the pending count of sync()'s answer (the status "at the
    // answer"): after a push answered 503 it says all three writes are still pending, and
    // after the sync that pushed them, none; pendingCount() agrees each time.
    let faults = Faults::begin("grace").await;
    let store = open_store(GRACE, None, TIMEOUT_MS).await;
    synced(&store).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_page_fetched_ahead_that_failed_is_fetched_again_from_the_last_page_written() {
    // A download writes one page while it fetches the next (driver/sync/exchange.rs). The
    // page fetched ahead answers only the pull that follows a written page; when that fetch
    // failed, the sync fails with its error, the checkpoint is the last written page's, and
    // the next sync asks again from there: every row once, nothing fetched twice.
    const OMAR: &str = "dev-token-omar";
    let faults = Faults::begin("omar").await;
    let writer = open_store(OMAR, None, TIMEOUT_MS).await;
    synced(&writer).await;
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
    faults.assert_used_up().await;
    finish(store).await;
}
