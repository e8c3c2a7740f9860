//! A test's IndexedDB in a Storage Bucket of its own (`buckets.js`): a small quota for
//! real QuotaExceededErrors, or a bucket to delete under an open store. Tests run one at
//! a time in one page, so a test that takes a bucket restores `globalThis.indexedDB`
//! before it ends.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/tests/common/buckets.js")]
extern "C" {
    #[wasm_bindgen(js_name = useBucket)]
    fn use_bucket_js(prefix: &str, quota: Option<u32>) -> Promise;
    #[wasm_bindgen(js_name = deleteBucket)]
    fn delete_bucket_js() -> Promise;
    #[wasm_bindgen(js_name = restore)]
    fn restore_js() -> Promise;
}

async fn settle(p: Promise, what: &str) -> JsValue {
    JsFuture::from(p)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e:?}"))
}

/// Swaps `globalThis.indexedDB` for a new bucket's; returns the bucket's quota in bytes.
/// Panics (the test fails) where the browser has no Storage Buckets.
pub async fn use_bucket(prefix: &str, quota: Option<u32>) -> f64 {
    let q = settle(use_bucket_js(prefix, quota), "open a Storage Bucket").await;
    q.as_f64().expect("a bucket's quota is a number")
}

/// Deletes the bucket under whatever is open on it.
pub async fn delete_bucket() {
    settle(delete_bucket_js(), "delete the Storage Bucket").await;
}

/// Puts the page's own `indexedDB` back and deletes the bucket if still there.
pub async fn restore() {
    settle(restore_js(), "restore indexedDB").await;
}
