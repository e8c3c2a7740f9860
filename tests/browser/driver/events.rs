//! Change events: on("change") after every local write ("local"), after pulled server
//! changes ("remote"), from another store instance on the same database ("tab", over
//! BroadcastChannel); unsubscribing stops delivery; failed writes emit nothing.

use crate::common::*;
use js_sys::Function;
use offline_tables_core::Key;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn every_local_write_emits_one_local_event() {
    let store = fresh().await;
    let rec = Recorder::new(&store);
    let t = store.table("accounts").unwrap();
    let w = store.table("workorders").unwrap();

    ok(t.put(js(r#"{"id":"a","n":1}"#))).await;
    assert_eq!(rec.take(), [event("accounts", r#"["a"]"#, "local")]);
    ok(w.bulk_put(js(r#"[{"id":"w1"},{"id":2}]"#))).await;
    assert_eq!(rec.take(), [event("workorders", r#"["w1",2]"#, "local")]);
    ok(t.update("a".into(), js(r#"{"n":2}"#))).await;
    assert_eq!(rec.take(), [event("accounts", r#"["a"]"#, "local")]);
    ok(t.put(js(r#"{"id":5}"#))).await;
    assert_eq!(rec.take(), [event("accounts", "[5]", "local")]);
    ok(t.delete("a".into())).await;
    assert_eq!(rec.take(), [event("accounts", r#"["a"]"#, "local")]);
    ok(w.bulk_delete(js(r#"[2,"w1"]"#))).await;
    assert_eq!(rec.take(), [event("workorders", r#"[2,"w1"]"#, "local")]);

    // Reads and failed writes emit nothing.
    ok(t.get(JsValue::from(5))).await;
    ok(t.query(None)).await;
    ok(store.pending()).await;
    code_of(t.update("missing".into(), js("{}"))).await;
    code_of(t.put(js(r#"{"no":"key"}"#))).await;
    code_of(t.bulk_put(js(r#"[{"id":"ok"},{"id":true}]"#))).await;
    code_of(store.table("products").unwrap().put(js(r#"{"id":"p"}"#))).await;
    pause(20).await;
    assert!(rec.take().is_empty());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn pulled_changes_emit_remote_events() {
    let store = fresh().await;
    let rec = Recorder::new(&store);
    apply_remote(
        &store,
        &[
            remote("accounts", skey("a"), "1", Some(r#"{"id":"a"}"#)),
            remote("products", skey("p1"), "1", Some(r#"{"id":"p1"}"#)),
            remote("accounts", Key::Num(2.0), "1", Some(r#"{"id":2}"#)),
        ],
    )
    .await;
    let mut got = rec.take();
    got.sort();
    assert_eq!(
        got,
        [
            event("accounts", r#"["a",2]"#, "remote"),
            event("products", r#"["p1"]"#, "remote")
        ]
    );
    apply_remote(&store, &[remote("accounts", skey("a"), "2", None)]).await;
    assert_eq!(rec.take(), [event("accounts", r#"["a"]"#, "remote")]);

    // A row with a pending local change keeps its state, so nothing changed for the page.
    let t = store.table("accounts").unwrap();
    ok(t.update(JsValue::from(2), js(r#"{"n":1}"#))).await;
    rec.take();
    apply_remote(
        &store,
        &[remote(
            "accounts",
            Key::Num(2.0),
            "2",
            Some(r#"{"id":2,"n":9}"#),
        )],
    )
    .await;
    assert!(rec.take().is_empty());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn unsubscribing_stops_delivery() {
    let store = fresh().await;
    let first = Recorder::new(&store);
    let second = Recorder::new(&store);
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"a"}"#))).await;
    assert_eq!(first.take().len(), 1);
    assert_eq!(second.take().len(), 1);

    first.unsubscribe();
    ok(t.put(js(r#"{"id":"b"}"#))).await;
    assert!(first.take().is_empty());
    assert_eq!(second.take(), [event("accounts", r#"["b"]"#, "local")]);
    first.unsubscribe();
    second.unsubscribe();
    ok(t.delete("a".into())).await;
    apply_row(&store, "accounts", "c", "1", r#"{"id":"c"}"#).await;
    pause(20).await;
    assert!(first.take().is_empty() && second.take().is_empty());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_throwing_listener_breaks_neither_the_write_nor_other_listeners() {
    let store = fresh().await;
    let thrower = Function::new_no_args("throw new Error('listener failed on purpose')");
    store.on("change", thrower).unwrap();
    let rec = Recorder::new(&store);
    let t = store.table("accounts").unwrap();
    assert_eq!(
        ok(t.put(js(r#"{"id":"a"}"#))).await.as_string().as_deref(),
        Some("a")
    );
    assert_eq!(rec.take(), [event("accounts", r#"["a"]"#, "local")]);
    assert_eq!(pending_count(&store).await, 1);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn on_accepts_only_change() {
    let store = fresh().await;
    let f = Function::new_no_args("");
    for name in ["changes", "", "Change", "sync"] {
        match store.on(name, f.clone()) {
            Ok(_) => panic!("on({name:?}) should throw"),
            Err(e) => assert_eq!(e.code.as_str(), "invalid_argument"),
        }
    }
    finish(store).await;
}

#[wasm_bindgen_test]
async fn another_store_on_the_same_database_hears_tab_events() {
    let name = unique_name("tabs");
    let a = open(&name, PROFILE).await;
    let b = open(&name, PROFILE).await;
    let rec_a = Recorder::new(&a);
    let rec_b = Recorder::new(&b);

    ok(a.table("accounts").unwrap().put(js(r#"{"id":"x"}"#))).await;
    assert_eq!(rec_a.take(), [event("accounts", r#"["x"]"#, "local")]);
    assert_eq!(
        rec_b.wait_for(1, 2000).await,
        [event("accounts", r#"["x"]"#, "tab")]
    );
    // B sees A's write in the shared database.
    assert_eq!(
        ok_json(b.table("accounts").unwrap().get("x".into())).await,
        r#"{"id":"x"}"#
    );

    ok(b.table("workorders")
        .unwrap()
        .bulk_put(js(r#"[{"id":1},{"id":"w"}]"#)))
    .await;
    assert_eq!(
        rec_a.wait_for(1, 2000).await,
        [event("workorders", r#"[1,"w"]"#, "tab")]
    );
    assert_eq!(rec_b.take(), [event("workorders", r#"[1,"w"]"#, "local")]);

    // Pulled changes reach the other tab too.
    apply_row(&a, "products", "p", "1", r#"{"id":"p"}"#).await;
    assert_eq!(
        rec_b.wait_for(1, 2000).await,
        [event("products", r#"["p"]"#, "tab")]
    );
    pause(50).await;
    assert_eq!(
        rec_a.take(),
        [event("products", r#"["p"]"#, "remote")],
        "no echo of its own writes"
    );

    rec_b.unsubscribe();
    ok(a.table("accounts").unwrap().delete("x".into())).await;
    pause(100).await;
    assert!(rec_b.take().is_empty(), "unsubscribed");
    assert_eq!(rec_a.take(), [event("accounts", r#"["x"]"#, "local")]);

    // A closed store hears nothing and breaks nothing.
    let rec_b2 = Recorder::new(&b);
    a.close();
    ok(b.table("accounts").unwrap().put(js(r#"{"id":"y"}"#))).await;
    pause(100).await;
    assert!(rec_a.take().is_empty());
    assert_eq!(rec_b2.take().len(), 1);
    b.close();
    delete(&name).await;
}
