//! A real QuotaExceededError from Chromium: the store runs on the IndexedDB of a Storage
//! Bucket with a small quota, writes too big for it reject with quota_exceeded, and
//! every row and pending change stays as it was (also after a reopen); a pulled page too
//! big for it rolls back with its checkpoint and reports `quota_exceeded`.
//! The bucket comes from `common::buckets`.

use crate::common::buckets::*;
use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
function noise(n) {
  const bytes = new Uint8Array(n);
  for (let o = 0; o < n; o += 65536) crypto.getRandomValues(bytes.subarray(o, Math.min(n, o + 65536)));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(33 + (b % 90));
  return s;
}
export function bigRows(count, size) {
  const rows = [];
  for (let i = 0; i < count; i++) rows.push({ id: "big" + i, blob: noise(size) });
  return rows;
}
"#)]
extern "C" {
    /// Rows `{ id: "big<i>", blob }` with `size` characters of incompressible noise.
    #[wasm_bindgen(js_name = bigRows)]
    fn big_rows(count: u32, size: u32) -> js_sys::Array;
}

const QUOTA: u32 = 400 * 1024;

async fn scenario(name: &str) {
    let store = open(name, PROFILE).await;
    let t = store.table("accounts").unwrap();
    apply_row(
        &store,
        "accounts",
        "s",
        "5",
        r#"{"id":"s","name":"Synced"}"#,
    )
    .await;
    ok(t.bulk_put(js(r#"[{"id":"a","city":"Paris"},{"id":1,"city":"Lyon"}]"#))).await;
    ok(t.update("s".into(), js(r#"{"name":"Edited"}"#))).await;
    let before = snapshot(&store).await;
    let rec = Recorder::new(&store);

    // 8 × 100 KB of noise in one batch: twice the quota.
    let p = t.bulk_put(big_rows(8, 100_000).into());
    let e = rejection(p).await;
    let code = js_sys::Reflect::get(&e, &"code".into()).unwrap();
    let message = js_sys::Reflect::get(&e, &"message".into()).unwrap();
    assert_eq!(
        code.as_string().as_deref(),
        Some("quota_exceeded"),
        "{message:?}"
    );
    let message = message.as_string().unwrap();
    assert!(message.contains("QuotaExceededError"), "{message}");
    assert!(message.contains("pending changes are intact"), "{message}");
    assert_eq!(snapshot(&store).await, before, "the batch was rolled back");

    // One row bigger than the quota, by put and by update.
    let huge = big_rows(1, 600_000).get(0);
    assert_eq!(code_of(t.put(huge.clone())).await, "quota_exceeded");
    let blob = js_sys::Reflect::get(&huge, &"blob".into()).unwrap();
    let patch = js_sys::Object::new();
    js_sys::Reflect::set(&patch, &"blob".into(), &blob).unwrap();
    assert_eq!(
        code_of(t.update("a".into(), patch.into())).await,
        "quota_exceeded"
    );
    assert_eq!(snapshot(&store).await, before);
    assert!(rec.take().is_empty(), "failed writes emit no change");

    // The store still takes writes that fit, and a reopen finds everything.
    ok(t.put(js(r#"{"id":"after","city":"Nice"}"#))).await;
    let after = snapshot(&store).await;
    store.close();
    drop(store);
    let store: OfflineStore = open(name, PROFILE).await;
    assert_eq!(snapshot(&store).await, after);
    assert_eq!(pending_count(&store).await, 4);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn writes_beyond_the_quota_are_quota_exceeded_and_lose_nothing() {
    let quota = use_bucket("quota", Some(QUOTA)).await;
    assert_eq!(quota, QUOTA as f64, "the bucket has the small quota");
    // The tests share one page: a failure below leaves the bucket's indexedDB in place,
    // so tests after it may fail too; the first failure in the log is this one.
    scenario(&unique_name("quota")).await;
    sync_scenario(&unique_name("quota-sync")).await;
    restore().await;
}

const IVAN: &str = "dev-token-ivan";

/// A pulled page that overflows the quota: nothing of it is written, the checkpoint
/// stays, the status says `quota_exceeded`, and the next sync with room finishes.
async fn sync_scenario(name: &str) {
    let o = options(name, FIXTURE_PROFILE);
    let server = js(&format!(r#"{{"url":"{}","token":"{IVAN}"}}"#, server_url()));
    js_sys::Reflect::set(&o, &"server".into(), &server).unwrap();
    js_sys::Reflect::set(&o, &"sync".into(), &js(r#"{"auto":false}"#)).unwrap();
    let store = OfflineStore::open_async(o).await.unwrap();
    assert_eq!(sync(&store).await["result"], "completed");
    let checkpoint = store.db().checkpoint().await.unwrap();
    let notes = store.table("notes").unwrap();
    ok(notes.put(js(r#"{"id":"ivan-mine","ownerId":"ivan","text":"kept"}"#))).await;
    // Five rows of 100 KB on the server: more than the bucket's 400 KB.
    let stamp = js_sys::Date::now() as u64;
    let keys: Vec<String> = (0..5).map(|i| format!("ivan-big-{stamp}-{i}")).collect();
    for (k, row) in keys.iter().zip(big_rows(5, 100_000).iter()) {
        js_sys::Reflect::set(&row, &"id".into(), &k.as_str().into()).unwrap();
        js_sys::Reflect::set(&row, &"ownerId".into(), &"ivan".into()).unwrap();
        let (status, body) = rest_as(IVAN, "POST", "/api/data/notes", Some(&json(&row))).await;
        assert_eq!(status, 201, "{body}");
    }

    let r = sync(&store).await;
    assert_eq!(r["result"], "failed", "{r}");
    assert_eq!(r["status"]["errorCode"], "quota_exceeded", "{r}");
    assert_eq!(
        store.db().checkpoint().await.unwrap(),
        checkpoint,
        "the checkpoint did not move past rows it does not hold"
    );
    for k in &keys {
        assert_eq!(
            ok_json(notes.get(k.as_str().into())).await,
            "undefined",
            "{k} rolled back"
        );
    }
    // The push before the pull went through, exactly once, and the row is intact.
    assert_eq!(r["pushed"], 1, "{r}");
    assert_eq!(
        ok_json(notes.get("ivan-mine".into())).await,
        r#"{"id":"ivan-mine","ownerId":"ivan","text":"kept"}"#
    );

    // With the big rows gone from the server, the next sync finishes.
    for k in &keys {
        let (status, _) = rest_as(IVAN, "DELETE", &format!("/api/data/notes/{k}"), None).await;
        assert_eq!(status, 204);
    }
    let r = sync(&store).await;
    assert_eq!(r["result"], "completed", "{r}");
    assert_eq!(r["status"]["errorCode"], serde_json::Value::Null, "{r}");
    rest_as(IVAN, "DELETE", "/api/data/notes/ivan-mine", None).await;
    finish(store).await;
}
