//! The outbox as seen through pending(), pendingCount() and meta(): local writes
//! coalesce to one change per row against the row's server base, in the order of first
//! write, and rows pulled from the server (apply_remote) never overwrite pending ones.

use crate::common::*;
use offline_tables_core::Key;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

const BASE_A: &str = r#"{"id":"a","name":"Acme","city":"Paris","ownerId":"u1"}"#;

fn change(key: &str, op: &str, row: &str, base_version: &str, base_row: &str) -> String {
    format!(
        r#"{{"table":"accounts","key":{key},"op":"{op}","row":{row},"baseVersion":{base_version},"baseRow":{base_row}}}"#
    )
}

#[track_caller]
fn assert_pending(
    store: &offline_tables::OfflineStore,
    expected: String,
) -> impl std::future::Future<Output = ()> + '_ {
    let at = std::panic::Location::caller();
    async move {
        let got = pending_json(store).await;
        assert_eq!(canon(&got), canon(&expected), "pending() at {at}");
    }
}

#[wasm_bindgen_test]
async fn insert_then_update_is_one_insert_of_the_final_row() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"a","name":"A","city":"Paris"}"#))).await;
    ok(t.update("a".into(), js(r#"{"city":"Lyon"}"#))).await;
    ok(t.update("a".into(), with_undefined(&js("{}"), "name"))).await;
    ok(t.put(js(r#"{"id":9,"n":1}"#))).await;
    ok(t.update(JsValue::from(9), js(r#"{"n":2}"#))).await;
    assert_pending(
        &store,
        format!(
            "[{},{}]",
            change(
                r#""a""#,
                "insert",
                r#"{"id":"a","city":"Lyon"}"#,
                "null",
                "null"
            ),
            change("9", "insert", r#"{"id":9,"n":2}"#, "null", "null")
        ),
    )
    .await;
    assert_eq!(pending_count(&store).await, 2);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn update_then_update_keeps_the_original_base() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    apply_remote(&store, &[remote("accounts", skey("a"), "5", Some(BASE_A))]).await;
    assert_eq!(canon(&ok_json(t.get("a".into())).await), canon(BASE_A));
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(pending_json(&store).await, "[]");

    ok(t.update("a".into(), js(r#"{"city":"Lyon"}"#))).await;
    ok(t.update("a".into(), js(r#"{"phone":"1"}"#))).await;
    let last = r#"{"id":"a","name":"Acme","city":"Lyon","ownerId":"u1","phone":"1"}"#;
    assert_pending(
        &store,
        format!("[{}]", change(r#""a""#, "update", last, r#""5""#, BASE_A)),
    )
    .await;
    // A put over a synced row is an update against the same base too.
    ok(t.put(js(r#"{"id":"a","name":"Replaced"}"#))).await;
    assert_pending(
        &store,
        format!(
            "[{}]",
            change(
                r#""a""#,
                "update",
                r#"{"id":"a","name":"Replaced"}"#,
                r#""5""#,
                BASE_A
            )
        ),
    )
    .await;
    assert_eq!(pending_count(&store).await, 1);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn insert_then_delete_is_nothing() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"x"}"#))).await;
    ok(t.update("x".into(), js(r#"{"n":1}"#))).await;
    ok(t.delete("x".into())).await;
    ok(t.bulk_put(js(r#"[{"id":1},{"id":2}]"#))).await;
    ok(t.bulk_delete(js("[1,2]"))).await;
    assert_eq!(pending_json(&store).await, "[]");
    assert_eq!(pending_count(&store).await, 0);
    assert!(ok(t.meta("x".into())).await.is_undefined());
    assert!(ok(t.meta(JsValue::from(1))).await.is_undefined());
    // Deleting a row that never existed is nothing to send either.
    ok(t.delete("ghost".into())).await;
    assert_eq!(pending_count(&store).await, 0);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn update_then_delete_is_one_delete() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    apply_remote(
        &store,
        &[
            remote("accounts", skey("a"), "5", Some(BASE_A)),
            remote("accounts", Key::Num(4.0), "9", Some(r#"{"id":4}"#)),
        ],
    )
    .await;
    ok(t.update("a".into(), js(r#"{"city":"Lyon"}"#))).await;
    ok(t.delete("a".into())).await;
    ok(t.bulk_delete(js("[4]"))).await;
    assert_pending(
        &store,
        format!(
            "[{},{}]",
            change(r#""a""#, "delete", "null", r#""5""#, BASE_A),
            change("4", "delete", "null", r#""9""#, r#"{"id":4}"#)
        ),
    )
    .await;
    // Put back after the delete: an update against the base again.
    ok(t.put(js(r#"{"id":4,"back":true}"#))).await;
    assert_pending(
        &store,
        format!(
            "[{},{}]",
            change(r#""a""#, "delete", "null", r#""5""#, BASE_A),
            change(
                "4",
                "update",
                r#"{"id":4,"back":true}"#,
                r#""9""#,
                r#"{"id":4}"#
            )
        ),
    )
    .await;
    finish(store).await;
}

#[wasm_bindgen_test]
async fn pending_is_in_the_order_of_first_write() {
    let store = fresh().await;
    let a = store.table("accounts").unwrap();
    let w = store.table("workorders").unwrap();
    apply_row(&store, "accounts", "s", "1", r#"{"id":"s"}"#).await;
    ok(a.put(js(r#"{"id":"z"}"#))).await;
    ok(w.put(js(r#"{"id":"w1","accountId":"z"}"#))).await;
    ok(a.put(js(r#"{"id":3}"#))).await;
    ok(a.update("s".into(), js(r#"{"n":1}"#))).await;
    ok(a.update("z".into(), js(r#"{"n":2}"#))).await;
    ok(w.bulk_put(js(
        r#"[{"id":"w2"},{"id":"w1","accountId":"z","status":"open"}]"#,
    )))
    .await;
    let pending: js_sys::Array = ok(store.pending()).await.into();
    let order: Vec<String> = pending
        .iter()
        .map(|c| {
            let get = |f: &str| json(&js_sys::Reflect::get(&c, &f.into()).unwrap());
            format!("{}:{}:{}", get("table"), get("key"), get("op"))
        })
        .collect();
    assert_eq!(
        order,
        [
            r#""accounts":"z":"insert""#,
            r#""workorders":"w1":"insert""#,
            r#""accounts":3:"insert""#,
            r#""accounts":"s":"update""#,
            r#""workorders":"w2":"insert""#,
        ]
    );
    assert_eq!(pending_count(&store).await, 5);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn meta_reports_version_pending_and_deleted() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    let meta = |k: JsValue| ok_json(t.meta(k));
    assert!(ok(t.meta("unknown".into())).await.is_undefined());
    assert!(ok(t.meta(JsValue::from(1))).await.is_undefined());

    ok(t.put(js(r#"{"id":"local"}"#))).await;
    assert_eq!(
        meta("local".into()).await,
        r#"{"version":null,"pending":true,"deleted":false}"#
    );

    apply_remote(
        &store,
        &[
            remote("accounts", skey("a"), "5", Some(BASE_A)),
            remote("accounts", Key::Num(1.0), "7", Some(r#"{"id":1}"#)),
        ],
    )
    .await;
    assert_eq!(
        meta("a".into()).await,
        r#"{"version":"5","pending":false,"deleted":false}"#
    );
    assert_eq!(
        meta(JsValue::from(1)).await,
        r#"{"version":"7","pending":false,"deleted":false}"#
    );
    assert!(ok(t.meta("1".into())).await.is_undefined());

    ok(t.update("a".into(), js(r#"{"city":"Lyon"}"#))).await;
    assert_eq!(
        meta("a".into()).await,
        r#"{"version":"5","pending":true,"deleted":false}"#
    );
    ok(t.delete("a".into())).await;
    assert_eq!(
        meta("a".into()).await,
        r#"{"version":"5","pending":true,"deleted":true}"#
    );
    ok(t.delete(JsValue::from(1))).await;
    assert_eq!(
        meta(JsValue::from(1)).await,
        r#"{"version":"7","pending":true,"deleted":true}"#
    );
    ok(t.delete("local".into())).await;
    assert!(ok(t.meta("local".into())).await.is_undefined());
    // The row itself never carries any of this.
    ok(t.put(js(r#"{"id":1,"x":1}"#))).await;
    assert_eq!(ok_json(t.get(JsValue::from(1))).await, r#"{"id":1,"x":1}"#);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn pulled_rows_never_overwrite_pending_local_changes() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    let server2 = r#"{"id":"a","name":"Acme Corp","city":"Paris","ownerId":"u1"}"#;
    apply_remote(
        &store,
        &[
            remote("accounts", skey("a"), "5", Some(BASE_A)),
            remote(
                "accounts",
                skey("clean"),
                "1",
                Some(r#"{"id":"clean","v":1}"#),
            ),
            remote("accounts", skey("gone"), "1", Some(r#"{"id":"gone"}"#)),
        ],
    )
    .await;
    let local = ok_json(t.update("a".into(), js(r#"{"city":"Lyon"}"#))).await;
    ok(t.put(js(r#"{"id":"new","v":0}"#))).await;
    apply_remote(
        &store,
        &[
            remote("accounts", skey("a"), "6", Some(server2)),
            remote(
                "accounts",
                skey("new"),
                "1",
                Some(r#"{"id":"new","v":"server"}"#),
            ),
            remote(
                "accounts",
                skey("clean"),
                "2",
                Some(r#"{"id":"clean","v":2}"#),
            ),
            remote("accounts", skey("gone"), "2", None),
        ],
    )
    .await;
    // The pending rows keep their local state and the base they were made against: the
    // update still stands against version 5, the insert is still an insert, so each
    // meets the server's newer row as a conflict instead of overwriting it.
    assert_eq!(ok_json(t.get("a".into())).await, local);
    assert_eq!(ok_json(t.get("new".into())).await, r#"{"id":"new","v":0}"#);
    assert_pending(
        &store,
        format!(
            "[{},{}]",
            change(r#""a""#, "update", &local, r#""5""#, BASE_A),
            change(
                r#""new""#,
                "insert",
                r#"{"id":"new","v":0}"#,
                "null",
                "null"
            )
        ),
    )
    .await;
    // Rows without local changes follow the server.
    assert_eq!(
        ok_json(t.get("clean".into())).await,
        r#"{"id":"clean","v":2}"#
    );
    assert_eq!(
        ok_json(t.meta("clean".into())).await,
        r#"{"version":"2","pending":false,"deleted":false}"#
    );
    assert!(ok(t.get("gone".into())).await.is_undefined());
    assert!(ok(t.meta("gone".into())).await.is_undefined());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_pulled_row_is_stored_when_local_writes_on_its_key_cancelled_out() {
    // Put then delete leaves nothing pending; a row the server then sends with that key
    // has no local change to keep, so it must be stored like any other pulled row.
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"x","v":"local"}"#))).await;
    ok(t.delete("x".into())).await;
    assert_eq!(pending_count(&store).await, 0);
    apply_row(&store, "accounts", "x", "1", r#"{"id":"x","v":"server"}"#).await;
    assert_eq!(
        ok_json(t.get("x".into())).await,
        r#"{"id":"x","v":"server"}"#
    );
    // Nothing to push: the row is the server's.
    assert_pending(&store, "[]".into()).await;
    assert_eq!(
        ok_json(t.meta("x".into())).await,
        r#"{"version":"1","pending":false,"deleted":false}"#
    );
    finish(store).await;
}

/// The row a pending change carries must be the stored row as JSON, nothing more or less.
async fn assert_pending_row_is_stored_row(row: wasm_bindgen::JsValue, key: &str) {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    match wasm_bindgen_futures::JsFuture::from(t.put(row)).await {
        // Refusing such a row up front is fine too: then nothing can be lost.
        Err(e) => {
            let code = js_sys::Reflect::get(&e, &"code".into()).unwrap();
            assert_eq!(code.as_string().as_deref(), Some("invalid_argument"));
        }
        Ok(_) => {
            let stored = sorted_json(&ok(t.get(key.into())).await);
            let pending: js_sys::Array = ok(store.pending()).await.into();
            let sent = js_sys::Reflect::get(&pending.get(0), &"row".into()).unwrap();
            assert_eq!(
                sorted_json(&sent),
                stored,
                "the change to push differs from the row"
            );
        }
    }
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_column_left_undefined_is_not_pushed_as_null() {
    let row = with_undefined(&js(r#"{"id":"u","a":1}"#), "x");
    assert_pending_row_is_stored_row(row, "u").await;
}

#[wasm_bindgen_test]
async fn a_lone_surrogate_is_not_replaced_in_the_pushed_row() {
    assert_pending_row_is_stored_row(js(r#"{"id":"s","name":"a\ud83d"}"#), "s").await;
}

#[wasm_bindgen_test]
async fn a_column_named_proto_is_not_dropped_from_the_pushed_row() {
    assert_pending_row_is_stored_row(js(r#"{"id":"p","__proto__":{"x":1}}"#), "p").await;
}
