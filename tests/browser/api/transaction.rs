//! `store.transaction`: writes over several tables commit together, reads inside see
//! them, a throw leaves nothing, awaiting other promises inside is safe, and misuse gets
//! clear errors. (Sending a transaction to the server as one unit is in
//! `driver/sync/units.rs`.)

use crate::common::*;
use js_sys::{Function, Promise};
use offline_tables::OfflineStore;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(module = "/tests/browser/api/transaction.js")]
extern "C" {
    #[wasm_bindgen(js_name = accountAndOrder)]
    fn account_and_order(acc: &str, wo: &str) -> Function;
    #[wasm_bindgen(js_name = throwsAfterWrites)]
    fn throws_after_writes(acc: &str, wo: &str) -> Function;
    #[wasm_bindgen(js_name = awaitsATimer)]
    fn awaits_a_timer(acc: &str, wo: &str) -> Function;
    #[wasm_bindgen(js_name = doesNotAwait)]
    fn does_not_await(acc: &str) -> Function;
    #[wasm_bindgen(js_name = catchesAConflict)]
    fn catches_a_conflict(existing: &str, acc: &str) -> Function;
    #[wasm_bindgen(js_name = usesOtherTable)]
    fn uses_other_table() -> Function;
    #[wasm_bindgen(js_name = useAfterEnd)]
    fn use_after_end() -> Promise;
    #[wasm_bindgen(js_name = deletesAndQueries)]
    fn deletes_and_queries(gone: &str, kept: &str) -> Function;
}

fn run(store: &OfflineStore, names: &[&str], f: Function) -> Promise {
    store.transaction(tables(names), f)
}

#[wasm_bindgen_test]
async fn writes_commit_together_and_reads_inside_see_them() {
    let store = fresh().await;
    ok(store.table("accounts").unwrap().put(js(
        r#"{"id":"z-old","name":"Zed","ownerId":"u1","city":"Lyon"}"#,
    )))
    .await;
    let seen = ok(run(
        &store,
        &["accounts", "workorders"],
        account_and_order("a-new", "w-new"),
    ))
    .await;
    assert_eq!(
        seen.as_string().unwrap(),
        r#"{"seen":{"id":"a-new","name":"New account","ownerId":"u1","city":"Lyon"},"inLyon":[{"id":"a-new","name":"New account"},{"id":"z-old","name":"Zed"}],"n":1}"#
    );
    assert_eq!(
        ok_json(store.table("workorders").unwrap().get("w-new".into())).await,
        r#"{"id":"w-new","accountId":"a-new","status":"open"}"#
    );
    assert_eq!(
        ok_json(store.table("accounts").unwrap().get("a-new".into())).await,
        r#"{"id":"a-new","name":"New account","ownerId":"u1","city":"Lyon"}"#
    );
    // Both rows are pending, as one coalesced insert each.
    let pending = pending_json(&store).await;
    assert!(
        pending.contains(r#""key":"a-new","op":"insert""#),
        "{pending}"
    );
    assert!(
        pending.contains(r#""key":"w-new","op":"insert""#),
        "{pending}"
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_throw_leaves_nothing_behind() {
    let store = fresh().await;
    let before = snapshot(&store).await;
    let e = rejection(run(
        &store,
        &["accounts", "workorders"],
        throws_after_writes("a1", "w1"),
    ))
    .await;
    assert_eq!(
        js_sys::Reflect::get(&e, &"message".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("boom"),
        "the app's own error comes back"
    );
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(pending_count(&store).await, 0);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn awaiting_a_timer_inside_is_safe_and_unawaited_writes_count() {
    let store = fresh().await;
    let out = ok(run(
        &store,
        &["accounts", "workorders"],
        awaits_a_timer("a1", "w1"),
    ))
    .await;
    assert_eq!(out.as_string().as_deref(), Some("done"));
    assert!(!ok(store.table("workorders").unwrap().get("w1".into()))
        .await
        .is_undefined());
    let out = ok(run(&store, &["accounts"], does_not_await("a2"))).await;
    assert_eq!(out.as_f64(), Some(7.0));
    assert_eq!(
        ok_json(store.table("accounts").unwrap().get("a2".into())).await,
        r#"{"id":"a2","name":"Unawaited","ownerId":"u1"}"#
    );
    assert_eq!(pending_count(&store).await, 3);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_caught_failure_writes_nothing_and_the_rest_commits() {
    let store = fresh().await;
    ok(store
        .table("accounts")
        .unwrap()
        .put(js(r#"{"id":"a1","name":"Kept","ownerId":"u1"}"#)))
    .await;
    let code = ok(run(&store, &["accounts"], catches_a_conflict("a1", "a2"))).await;
    assert_eq!(code.as_string().as_deref(), Some("conflict"));
    assert_eq!(
        ok_json(store.table("accounts").unwrap().get("a1".into())).await,
        r#"{"id":"a1","name":"Kept","ownerId":"u1"}"#
    );
    assert!(!ok(store.table("accounts").unwrap().get("a2".into()))
        .await
        .is_undefined());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn deletes_and_updates_inside_are_seen_by_queries_inside() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(r#"[{"id":"a1","ownerId":"u1","city":"Paris"},{"id":"a2","ownerId":"u1"},{"id":"a3","ownerId":"u2"}]"#))).await;
    let seen = ok(run(&store, &["accounts"], deletes_and_queries("a1", "a2"))).await;
    assert_eq!(seen.as_string().as_deref(), Some(r#"[["a2","Nice"]]"#));
    assert!(ok(t.get("a1".into())).await.is_undefined());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn misuse_gets_clear_errors_and_changes_nothing() {
    let store = fresh().await;
    let before = snapshot(&store).await;
    // A table the transaction was not started with, and the handle used after the end.
    let code = ok(run(&store, &["accounts"], uses_other_table())).await;
    assert_eq!(code.as_string().as_deref(), Some("invalid_argument"));
    assert_eq!(
        ok(use_after_end()).await.as_string().as_deref(),
        Some("invalid_argument")
    );
    // Unknown tables, and tables that are not a list.
    assert_eq!(
        code_of(run(&store, &["nope"], does_not_await("x"))).await,
        "unknown_table"
    );
    assert_eq!(
        code_of(store.transaction("accounts".into(), does_not_await("x"))).await,
        "invalid_argument"
    );
    // A read-only table refuses writes inside as outside.
    let f = Function::new_with_args("tx", "return tx.table('products').put({ id: 'p1' })");
    assert_eq!(code_of(run(&store, &["products"], f)).await, "read_only");
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}
