//! A connection the browser closes under an open store (here: its Storage Bucket is
//! deleted, as "clear site data" would): the store answers `closed`, never `storage`,
//! whether the call meets the closing connection (InvalidStateError where a transaction
//! starts) or comes after the `close` event. The bucket comes from `common::buckets`.

use crate::common::buckets::*;
use crate::common::*;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn a_connection_the_browser_closes_makes_the_store_closed() {
    use_bucket("closing", None).await;
    let store = open(&unique_name("forced"), PROFILE).await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"a","city":"Paris"}"#))).await;
    delete_bucket().await;
    // Right away (the connection is closing, or closed), and once the close event ran.
    let first = code_of(t.get("a".into())).await;
    pause(50).await;
    let later = code_of(t.put(js(r#"{"id":"b"}"#))).await;
    restore().await;
    assert_eq!(first, "closed");
    assert_eq!(later, "closed");
    store.close();
}
