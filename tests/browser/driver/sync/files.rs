//! File columns end to end against the reference server (protocol.md §11): a file put
//! offline survives a reopen and reaches the server once, a `download: "sync"` file is
//! readable offline after the first download, a `view` file is fetched and kept, and a
//! file the server refuses (413) ends as a sync error without stopping the queue.

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use js_sys::{Promise, Reflect};
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

#[wasm_bindgen(module = "/tests/browser/driver/sync/files.js")]
extern "C" {
    #[wasm_bindgen(js_name = blobOf)]
    fn blob_of(text: &str, n: u32, kind: &str) -> JsValue;
    #[wasm_bindgen(js_name = blobText)]
    fn blob_text(b: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = isBlob)]
    fn is_blob(v: &JsValue) -> bool;
    #[wasm_bindgen(js_name = serverFile)]
    fn server_file(url: &str, token: &str, method: &str, body: &JsValue, hash: &str) -> Promise;
}

const T: &str = "inspections";

fn file_url(key: &str, column: &str) -> String {
    format!("{}/api/files/{T}/'{key}'/{column}", server_url())
}

/// The server's answer to `method` on a cell's file: status and body text.
/// `GET` of a cell's file on the server, as `token`: status and body text.
async fn server_get(token: &str, key: &str, column: &str) -> (u16, String) {
    on_server(token, "GET", key, column, &JsValue::UNDEFINED, "").await
}

async fn on_server(
    token: &str,
    method: &str,
    key: &str,
    column: &str,
    body: &JsValue,
    hash: &str,
) -> (u16, String) {
    let r = JsFuture::from(server_file(
        &file_url(key, column),
        token,
        method,
        body,
        hash,
    ))
    .await
    .unwrap();
    let status = Reflect::get(&r, &"status".into())
        .unwrap()
        .as_f64()
        .unwrap() as u16;
    let text = Reflect::get(&r, &"text".into())
        .unwrap()
        .as_string()
        .unwrap();
    (status, text)
}

async fn text_of(b: &JsValue) -> String {
    assert!(is_blob(b), "not a Blob: {}", json(b));
    JsFuture::from(blob_text(b))
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

async fn get_file(store: &OfflineStore, key: &str, column: &str) -> JsValue {
    ok(store.table(T).unwrap().get_file(key.into(), column.into())).await
}

async fn put_file(store: &OfflineStore, key: &str, column: &str, blob: &JsValue) -> Value {
    parse(
        &ok_json(
            store
                .table(T)
                .unwrap()
                .put_file(key.into(), column.into(), blob.clone()),
        )
        .await,
    )
}

async fn usage_files(store: &OfflineStore) -> Value {
    parse(&ok_json(store.usage()).await)["files"].clone()
}

/// Opens `name` with `profile`, syncing only on `sync()`, with the server at `url`.
async fn open_at(name: &str, token: &str, profile: &str, url: &str) -> OfflineStore {
    let o = server_options(name, profile, token);
    let server = Reflect::get(&o, &"server".into()).unwrap();
    Reflect::set(&server, &"url".into(), &url.into()).unwrap();
    Reflect::set(&o, &"sync".into(), &js(r#"{"auto":false}"#)).unwrap();
    OfflineStore::open_async(o)
        .await
        .unwrap_or_else(|e| panic!("open {name}: {e}"))
}

/// A port nothing listens on: the server is unreachable (offline).
const NOWHERE: &str = "http://127.0.0.1:9";

#[wasm_bindgen_test]
async fn a_photo_put_offline_survives_a_reopen_and_reaches_the_server_once() {
    let name = unique_name("files-offline");
    let key = unique("i");
    // Offline from the start: the server is unreachable.
    let store = open_at(&name, "dev-token-tess", FIXTURE_PROFILE, NOWHERE).await;
    put(
        &store,
        T,
        json!({ "id": key, "ownerId": "tess", "site": "North" }),
    )
    .await;
    let table = store.table(T).unwrap();
    // Refusals store nothing.
    let photo = blob_of("jpeg!", 5000, "image/jpeg");
    assert_eq!(
        code_of(table.put_file(key.clone().into(), "site".into(), photo.clone())).await,
        "invalid_argument"
    );
    assert_eq!(
        code_of(table.put_file("missing".into(), "photo".into(), photo.clone())).await,
        "not_found"
    );
    assert_eq!(
        code_of(table.put_file(
            key.clone().into(),
            "photo".into(),
            js(r#"{"not":"a blob"}"#)
        ))
        .await,
        "invalid_argument"
    );
    let big = blob_of("x", 100_001, "image/jpeg");
    assert_eq!(
        code_of(table.put_file(key.clone().into(), "photo".into(), big)).await,
        "payload_too_large"
    );
    assert_eq!(
        usage_files(&store).await,
        json!({ "count": 0, "bytes": 0, "pending": 0 })
    );

    let meta = put_file(&store, &key, "photo", &photo).await;
    assert_eq!(meta["size"], 5000, "{meta}");
    assert_eq!(meta["type"], "image/jpeg", "{meta}");
    let hash = meta["hash"].as_str().unwrap().to_string();
    assert!(hash.starts_with("sha256-") && hash.len() == 71, "{meta}");
    let st = status_field_becomes(
        &store,
        "files",
        json!({ "pending": 1, "pendingBytes": 5000 }),
    )
    .await;
    assert_eq!(st["pending"], 1, "the row's change is pending too: {st}");
    // The row names the file; the file reads back offline.
    assert_eq!(local(&store, T, &key).await["photo"], meta);
    assert_eq!(
        text_of(&get_file(&store, &key, "photo").await).await,
        "jpeg!".repeat(1000)
    );
    assert_eq!(
        usage_files(&store).await,
        json!({ "count": 1, "bytes": 5000, "pending": 1 })
    );
    store.close();

    // A reload, now online: the row is pushed, then its file.
    let store = open_at(&name, "dev-token-tess", FIXTURE_PROFILE, server_url()).await;
    assert_eq!(usage_files(&store).await["pending"], 1);
    synced(&store).await;
    // (The sync also downloads the photos of earlier runs' rows of this user.)
    assert_eq!(usage_files(&store).await["pending"], 0);
    let st = status_field_becomes(&store, "pending", json!(0)).await;
    assert_eq!(
        st["files"],
        json!({ "pending": 0, "pendingBytes": 0 }),
        "{st}"
    );
    let (_, row) = server_row("dev-token-tess", T, &key)
        .await
        .expect("the row is on the server");
    assert_eq!(row["photo"], meta, "{row}");
    let (status, text) = server_get("dev-token-tess", &key, "photo").await;
    assert_eq!((status, text.len()), (200, 5000));
    assert_eq!(text, "jpeg!".repeat(1000));
    // Stored once, by the client: the same bytes again are 200 (already there), not 201.
    let (status, _) = on_server("dev-token-tess", "PUT", &key, "photo", &photo, &hash).await;
    assert_eq!(status, 200);
    // Another sync sends nothing more (the queue is empty).
    synced(&store).await;

    // deleteFile: the column is cleared, the bytes go here and then on the server.
    let before = usage_files(&store).await;
    ok(table_of(&store).delete_file(key.clone().into(), "photo".into())).await;
    assert!(get_file(&store, &key, "photo").await.is_undefined());
    let after = usage_files(&store).await;
    assert_eq!(after["pending"], 1, "{after}");
    assert_eq!(
        after["bytes"].as_u64().unwrap() + 5000,
        before["bytes"].as_u64().unwrap()
    );
    synced(&store).await;
    assert_eq!(usage_files(&store).await["pending"], 0);
    let (_, row) = server_row("dev-token-tess", T, &key).await.unwrap();
    assert_eq!(row["photo"], Value::Null, "{row}");
    let (status, _) = server_get("dev-token-tess", &key, "photo").await;
    assert_eq!(status, 404);
    finish(store).await;
}

fn table_of(store: &OfflineStore) -> offline_tables::Table {
    store.table(T).unwrap()
}

#[wasm_bindgen_test]
async fn a_synced_file_is_readable_offline_after_the_first_download_and_a_viewed_one_is_kept() {
    let key = unique("i");
    let writer = open_at(
        &unique_name("files-w"),
        "dev-token-tina",
        FIXTURE_PROFILE,
        server_url(),
    )
    .await;
    put(&writer, T, json!({ "id": key, "ownerId": "tina" })).await;
    put_file(&writer, &key, "photo", &blob_of("png?", 4000, "image/png")).await;
    put_file(
        &writer,
        &key,
        "report",
        &blob_of("pdf.", 3000, "application/pdf"),
    )
    .await;
    synced(&writer).await;
    assert_eq!(usage_files(&writer).await["pending"], 0);
    finish(writer).await;

    let name = unique_name("files-r");
    let reader = open_at(&name, "dev-token-tina", FIXTURE_PROFILE, server_url()).await;
    synced(&reader).await;
    // The first download's progress counts the photos (sync) it brought, all of them,
    // and the download is done only with them: as many as the store holds now.
    let s = status(&reader);
    let files = &s["initialSync"]["files"];
    assert_eq!(s["initialSync"]["done"], true, "{s}");
    assert!(files["total"].as_u64().is_some_and(|n| n >= 1), "{s}");
    assert_eq!(files["done"], files["total"], "{s}");
    assert_eq!(files["total"], usage_files(&reader).await["count"], "{s}");
    // The photo (sync) came with the rows; the report (view) waits for a read.
    // (Earlier runs' rows of this user bring their photos too: counted relatively.)
    let before = usage_files(&reader).await;
    assert_eq!(before["pending"], 0);
    assert_eq!(
        text_of(&get_file(&reader, &key, "report").await).await,
        "pdf.".repeat(750)
    );
    let after = usage_files(&reader).await;
    assert_eq!(
        after["count"].as_u64().unwrap(),
        before["count"].as_u64().unwrap() + 1,
        "{after}"
    );
    assert_eq!(
        after["bytes"].as_u64().unwrap(),
        before["bytes"].as_u64().unwrap() + 3000,
        "{after}"
    );
    reader.close();

    // Offline: both read from the store.
    let reader = open_at(&name, "dev-token-tina", FIXTURE_PROFILE, NOWHERE).await;
    assert_eq!(
        text_of(&get_file(&reader, &key, "photo").await).await,
        "png?".repeat(1000)
    );
    assert_eq!(
        text_of(&get_file(&reader, &key, "report").await).await,
        "pdf.".repeat(750)
    );
    finish(reader).await;
}

#[wasm_bindgen_test]
async fn a_file_the_server_refuses_as_too_large_is_a_sync_error_and_the_queue_goes_on() {
    // The client allows larger photos than the server (100000 bytes).
    let profile = FIXTURE_PROFILE.replace(r#""maxBytes": 100000"#, r#""maxBytes": 1000000"#);
    assert_ne!(profile, FIXTURE_PROFILE);
    let store = open_at(
        &unique_name("files-413"),
        "dev-token-tess",
        &profile,
        server_url(),
    )
    .await;
    let (big, small) = (unique("big"), unique("small"));
    put(&store, T, json!({ "id": big, "ownerId": "tess" })).await;
    put(&store, T, json!({ "id": small, "ownerId": "tess" })).await;
    put_file(&store, &big, "photo", &blob_of("b", 150_000, "image/jpeg")).await;
    put_file(&store, &small, "photo", &blob_of("s", 2000, "image/jpeg")).await;
    let r = synced(&store).await;
    assert_eq!(r["errors"], 1, "{r}");
    let errors = list(store.sync_errors()).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["table"], T);
    assert_eq!(errors[0]["key"], json!(big));
    assert_eq!(errors[0]["column"], "photo");
    assert_eq!(errors[0]["reason"], "payload_too_large");
    // Not retried, and not blocking: the small one landed in the same cycle.
    assert_eq!(usage_files(&store).await["pending"], 0);
    let (status, text) = server_get("dev-token-tess", &small, "photo").await;
    assert_eq!((status, text.len()), (200, 2000));
    let (status, _) = server_get("dev-token-tess", &big, "photo").await;
    assert_eq!(status, 404);
    let id = errors[0]["id"].as_f64().unwrap();
    assert_eq!(
        code_of(store.retry_sync_error(id)).await,
        "invalid_argument"
    );
    finish(store).await;
}

/// The interceptor answers a file GET under `/api/files/` (the default prefix's sibling)
/// from the local bytes, offline; a file not here goes to the network.
#[wasm_bindgen_test]
async fn the_interceptor_answers_a_file_get_from_the_local_bytes() {
    let store = open_at(
        &unique_name("files-x"),
        "dev-token-tess",
        FIXTURE_PROFILE,
        NOWHERE,
    )
    .await;
    let key = unique("i");
    put(&store, T, json!({ "id": key, "ownerId": "tess" })).await;
    let meta = put_file(&store, &key, "photo", &blob_of("gif", 300, "image/gif")).await;
    let origin = js_sys::eval("location.origin")
        .unwrap()
        .as_string()
        .unwrap();
    let url = format!("{origin}/api/files/{T}/'{key}'/photo");
    let request = web_sys::Request::new_with_str(&url).unwrap();
    let resp = ok(store.handle_fetch(request.into(), None)).await;
    let resp: web_sys::Response = resp.dyn_into().expect("answered locally");
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(h.get("content-type").unwrap().as_deref(), Some("image/gif"));
    assert_eq!(h.get("x-offline-tables").unwrap().as_deref(), Some("local"));
    assert_eq!(
        h.get("etag").unwrap(),
        Some(format!("\"{}\"", meta["hash"].as_str().unwrap()))
    );
    let text = JsFuture::from(resp.text().unwrap()).await.unwrap();
    assert_eq!(text.as_string().unwrap(), "gif".repeat(100));
    // No local bytes (the report column): not answered here.
    let other =
        web_sys::Request::new_with_str(&format!("{origin}/api/files/{T}/'{key}'/report")).unwrap();
    assert!(ok(store.handle_fetch(other.into(), None))
        .await
        .is_undefined());
    finish(store).await;
}

/// A `503` to an upload leaves it queued (the sync still completes: the row went); the
/// next sync sends it.
#[wasm_bindgen_test]
async fn an_upload_the_server_fails_stays_queued_and_goes_at_the_next_sync() {
    let faults = crate::common::faults::Faults::begin("tess").await;
    let store = open_at(
        &unique_name("files-503"),
        "dev-token-tess",
        FIXTURE_PROFILE,
        server_url(),
    )
    .await;
    let key = unique("i");
    put(&store, T, json!({ "id": key, "ownerId": "tess" })).await;
    put_file(&store, &key, "photo", &blob_of("retry", 1000, "image/jpeg")).await;
    faults
        .add(
            json!([{ "path": "/api/files/*", "method": "PUT", "times": 1,
                      "fault": { "kind": "status", "status": 503 } }]),
        )
        .await;
    synced(&store).await;
    faults.assert_used_up().await;
    assert_eq!(usage_files(&store).await["pending"], 1, "still queued");
    assert!(
        server_row("dev-token-tess", T, &key).await.is_some(),
        "the row went"
    );
    let (status, _) = server_get("dev-token-tess", &key, "photo").await;
    assert_eq!(status, 404, "not uploaded yet");
    synced(&store).await;
    assert_eq!(usage_files(&store).await["pending"], 0);
    let (status, text) = server_get("dev-token-tess", &key, "photo").await;
    assert_eq!((status, text), (200, "retry".repeat(200)));
    assert!(list(store.sync_errors()).await.is_empty());
    finish(store).await;
}
