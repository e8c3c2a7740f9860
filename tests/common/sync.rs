//! A synced store and the reference server as tests read them: `sync()` with a deadline
//! and its outcome checked, the store's status, rows, row metadata and checkpoint, and the
//! server's rows through its REST API, all as JSON values.

use super::server::{rest_as, rest_full};
use super::*;
use serde_json::Value;
use wasm_bindgen_futures::JsFuture;

/// How long any `sync()` may take in a test: a sync that hangs fails its test at once
/// rather than stalling the suite until the runner gives up on the browser.
pub const SYNC_MS: u32 = 8_000;

/// JSON text as a value; panics with the text when it is not JSON.
pub fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {text}: {e}"))
}

/// `store.status()`.
pub fn status(store: &OfflineStore) -> Value {
    parse(&json(&store.status().unwrap()))
}

/// `store.sync(None)`'s report, which must come within `SYNC_MS`.
pub async fn sync(store: &OfflineStore) -> Value {
    match JsFuture::from(within(&store.sync(None), SYNC_MS)).await {
        Ok(r) => parse(&json(&r)),
        Err(e) if is_timeout(&e) => {
            panic!(
                "sync() did not answer within {SYNC_MS} ms: {}",
                status(store)
            )
        }
        Err(e) => panic!("sync() rejected: {}", json(&e)),
    }
}

/// `sync()`, which must complete and leave the store idle.
pub async fn synced(store: &OfflineStore) -> Value {
    let r = sync(store).await;
    assert_eq!(r["result"], "completed", "{r}");
    assert_eq!(r["status"]["state"], "idle", "{r}");
    r
}

/// The store's row `key` of `table`; Null when there is none.
pub async fn local(store: &OfflineStore, table: &str, key: &str) -> Value {
    undefined_as_null(ok_json(store.table(table).unwrap().get(key.into())).await)
}

/// The sync metadata of row `key` (`table.meta`); Null when there is none.
pub async fn meta(store: &OfflineStore, table: &str, key: &str) -> Value {
    undefined_as_null(ok_json(store.table(table).unwrap().meta(key.into())).await)
}

fn undefined_as_null(text: String) -> Value {
    if text == "undefined" {
        Value::Null
    } else {
        parse(&text)
    }
}

/// A promise of a list (`conflicts()`, `syncErrors()`), as its items.
pub async fn list(what: Promise) -> Vec<Value> {
    match parse(&ok_json(what).await) {
        Value::Array(a) => a,
        v => panic!("not a list: {v}"),
    }
}

/// Puts `row` into `table`.
pub async fn put(store: &OfflineStore, table: &str, row: Value) {
    ok(store.table(table).unwrap().put(js(&row.to_string()))).await;
}

/// The store's checkpoint, which a first sync has set.
pub async fn checkpoint(store: &OfflineStore) -> u64 {
    store
        .db()
        .checkpoint()
        .await
        .unwrap()
        .expect("a checkpoint after the first sync")
        .parse()
        .unwrap()
}

/// The server's rows of `table` whose id starts with `prefix`, in id order, as the user
/// of `token` sees them through the REST API; checks `$count` agrees.
pub async fn server_rows(token: &str, table: &str, prefix: &str) -> Vec<Value> {
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
pub async fn server_row(token: &str, table: &str, key: &str) -> Option<(String, Value)> {
    let (status, etag, row) =
        rest_full(token, "GET", &format!("/api/data/{table}/'{key}'"), None).await;
    match status {
        200 => Some((etag.expect("a row answer has an ETag"), row)),
        404 => None,
        s => panic!("GET {table}/{key}: {s} {row}"),
    }
}

/// Creates a row through the REST API, as another device of the same user would.
pub async fn server_insert(token: &str, table: &str, row: Value) {
    let (status, body) = rest_as(
        token,
        "POST",
        &format!("/api/data/{table}"),
        Some(&row.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}
