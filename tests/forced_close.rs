//! A connection the browser closes under an open store (here: its Storage Bucket is
//! deleted, as "clear site data" would): the store answers `closed`, never `storage`,
//! whether the call meets the closing connection (InvalidStateError where a transaction
//! starts) or comes after the `close` event. Alone in its file because it swaps
//! `globalThis.indexedDB` while it runs.

mod common;

use common::*;
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
let saved = null;
let bucketName = null;
export function bucketsSupported() { return !!(navigator.storageBuckets && navigator.storageBuckets.open); }
export async function useBucket() {
  bucketName = "closing-" + String(Math.random()).slice(2);
  const bucket = await navigator.storageBuckets.open(bucketName);
  saved = Object.getOwnPropertyDescriptor(globalThis, "indexedDB");
  Object.defineProperty(globalThis, "indexedDB", { value: bucket.indexedDB, configurable: true, writable: true });
}
export async function deleteBucket() { await navigator.storageBuckets.delete(bucketName); }
export function restore() {
  if (saved) Object.defineProperty(globalThis, "indexedDB", saved);
  saved = null;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = bucketsSupported)]
    fn buckets_supported() -> bool;
    #[wasm_bindgen(js_name = useBucket)]
    fn use_bucket() -> Promise;
    #[wasm_bindgen(js_name = deleteBucket)]
    fn delete_bucket() -> Promise;
    fn restore();
}

#[wasm_bindgen_test]
async fn a_connection_the_browser_closes_makes_the_store_closed() {
    if !buckets_supported() {
        web_sys::console::warn_1(&"no Storage Buckets API: forced close not tested".into());
        return;
    }
    JsFuture::from(use_bucket()).await.unwrap();
    let store = open(&unique_name("forced"), PROFILE).await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"a","city":"Paris"}"#))).await;
    JsFuture::from(delete_bucket()).await.unwrap();
    // Right away (the connection is closing, or closed), and once the close event ran.
    let first = code_of(t.get("a".into())).await;
    pause(50).await;
    let later = code_of(t.put(js(r#"{"id":"b"}"#))).await;
    restore();
    assert_eq!(first, "closed");
    assert_eq!(later, "closed");
    store.close();
}
