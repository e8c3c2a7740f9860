//! Table CRUD (get, getMany, put, bulkPut, update, delete, bulkDelete) with string and
//! number keys, plain rows, and the errors of each call: invalid_argument, not_found,
//! read_only, unknown_table, each leaving everything already stored unchanged.

use crate::common::*;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

const ROW_A: &str = r#"{"id":"a","name":"Acme","city":"Paris","ownerId":"u1","tags":["x","y"],"geo":{"lat":48.85,"lng":2.35},"active":true,"note":null,"n":-1.5,"label":"Zürich 東京 😀"}"#;

#[wasm_bindgen_test]
async fn put_resolves_to_the_key_and_get_returns_the_row_as_put() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    assert_eq!(t.name(), "accounts");

    let key = ok(t.put(js(ROW_A))).await;
    assert_eq!(key.as_string().as_deref(), Some("a"));
    let got = ok(t.get("a".into())).await;
    assert_eq!(
        json(&got),
        json(&js(ROW_A)),
        "no hidden fields, nothing lost"
    );
    let cols = Object::keys(got.unchecked_ref::<Object>());
    assert_eq!(cols.length(), 10);

    // Number keys are keys of their own: 7 and "7" are different rows.
    let key = ok(t.put(js(r#"{"id":7,"name":"Seven"}"#))).await;
    assert_eq!(key.as_f64(), Some(7.0));
    assert_eq!(
        ok_json(t.get(JsValue::from(7))).await,
        r#"{"id":7,"name":"Seven"}"#
    );
    assert!(ok(t.get("7".into())).await.is_undefined());
    let key = ok(t.put(js(r#"{"id":0.5,"name":"Half"}"#))).await;
    assert_eq!(key.as_f64(), Some(0.5));

    // put replaces the whole row: columns not in the new row are gone.
    ok(t.put(js(r#"{"id":"a","name":"Acme 2"}"#))).await;
    assert_eq!(
        ok_json(t.get("a".into())).await,
        r#"{"id":"a","name":"Acme 2"}"#
    );
    assert!(ok(t.get("missing".into())).await.is_undefined());
    assert!(ok(t.get(JsValue::from(8))).await.is_undefined());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn get_many_returns_rows_in_order_with_undefined_where_missing() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(r#"[{"id":"a","n":1},{"id":"b","n":2},{"id":3,"n":3}]"#))).await;
    let got: Array = ok(t.get_many(js(r#"["b",3,"zz","a",4,"b"]"#))).await.into();
    assert_eq!(got.length(), 6);
    assert!(got.get(2).is_undefined() && got.get(4).is_undefined());
    assert_eq!(
        json(&got.into()),
        r#"[{"id":"b","n":2},{"id":3,"n":3},null,{"id":"a","n":1},null,{"id":"b","n":2}]"#
    );
    assert_eq!(ok_json(t.get_many(Array::new().into())).await, "[]");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn bulk_put_stores_every_row() {
    let store = fresh().await;
    let t = store.table("workorders").unwrap();
    let rows = r#"[{"id":"w1","accountId":"a","status":"open"},{"id":2,"accountId":"a","status":"done"},{"id":"w3","status":"new"}]"#;
    assert!(ok(t.bulk_put(js(rows))).await.is_undefined());
    assert_eq!(
        ok_json(t.get_many(js(r#"["w1",2,"w3"]"#))).await,
        json(&js(rows))
    );
    assert_eq!(pending_count(&store).await, 3);
    ok(t.bulk_put(Array::new().into())).await;
    assert_eq!(pending_count(&store).await, 3);
    // The same key twice in a batch: the later row wins, one pending insert.
    ok(t.bulk_put(js(r#"[{"id":"w4","v":1},{"id":"w4","v":2}]"#))).await;
    assert_eq!(ok_json(t.get("w4".into())).await, r#"{"id":"w4","v":2}"#);
    assert_eq!(pending_count(&store).await, 4);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn bulk_put_with_one_bad_row_stores_nothing() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(r#"[{"id":"a","name":"A"},{"id":"b","name":"B"}]"#))).await;
    let before = snapshot(&store).await;

    let good = r#"{"id":"new","name":"N"},{"id":"a","name":"A replaced"}"#;
    for bad in [
        r#"{"name":"no key"}"#,
        r#"{"id":true}"#,
        r#"{"id":{"x":1}}"#,
        r#"{"id":null}"#,
        r#""a string""#,
        r#"null"#,
        r#"[1,2]"#,
    ] {
        let batch = js(&format!("[{good},{bad}]"));
        assert_eq!(
            code_of(t.bulk_put(batch)).await,
            "invalid_argument",
            "{bad}"
        );
        assert_eq!(snapshot(&store).await, before, "after a batch with {bad}");
    }
    for kind in ["function", "date", "nan", "circular", "map"] {
        let batch = js(&format!("[{good},{{\"id\":\"c\"}}]"));
        let last = batch.unchecked_ref::<Array>().get(2);
        Reflect::set(&last, &"bad".into(), &non_json(kind)).unwrap();
        assert_eq!(
            code_of(t.bulk_put(batch)).await,
            "invalid_argument",
            "{kind}"
        );
        assert_eq!(
            snapshot(&store).await,
            before,
            "after a batch with a {kind}"
        );
    }
    // A row that fails inside IndexedDB, after the rows before it were written.
    let batch = js(&format!("[{good}]"));
    batch.unchecked_ref::<Array>().push(&flaky_row("late"));
    assert_eq!(code_of(t.bulk_put(batch)).await, "invalid_argument");
    assert_eq!(snapshot(&store).await, before, "the batch was rolled back");
    assert_eq!(
        code_of(t.bulk_put(js(r#"{"id":"a"}"#))).await,
        "invalid_argument",
        "bulkPut takes an array"
    );
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn rows_without_a_valid_key_are_invalid_argument() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"a","name":"A"}"#))).await;
    let before = snapshot(&store).await;
    for bad in [
        r#"{"name":"no key"}"#,
        r#"{"id":true,"name":"x"}"#,
        r#"{"id":false}"#,
        r#"{"id":{"a":1}}"#,
        r#"{"id":["a"]}"#,
        r#"{"id":null}"#,
        r#""just a string""#,
        r#"42"#,
        r#"null"#,
        r#"[{"id":"a"}]"#,
    ] {
        assert_eq!(code_of(t.put(js(bad))).await, "invalid_argument", "{bad}");
    }
    for kind in ["nan", "infinity"] {
        let row = js(r#"{"name":"x"}"#);
        Reflect::set(&row, &"id".into(), &non_json(kind)).unwrap();
        assert_eq!(code_of(t.put(row)).await, "invalid_argument", "key {kind}");
    }
    let msg = message_of(t.put(js(r#"{"name":"x"}"#))).await;
    assert!(
        msg.contains("id"),
        "the message names the key column: {msg}"
    );
    assert!(code_of(t.put(JsValue::UNDEFINED)).await == "invalid_argument");
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn values_json_cannot_hold_are_invalid_argument() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"a","name":"A"}"#))).await;
    let before = snapshot(&store).await;
    for kind in [
        "function",
        "symbol",
        "date",
        "map",
        "set",
        "nan",
        "infinity",
        "bigint",
        "undefinedInArray",
        "class",
        "typedArray",
        "symbolKey",
        "circular",
        "loneSurrogate",
        "loneSurrogateKey",
        "protoKey",
    ] {
        // As a column, deep inside a column, and replacing an existing row.
        let row = js(r#"{"id":"new","name":"x"}"#);
        Reflect::set(&row, &"bad".into(), &non_json(kind)).unwrap();
        assert_eq!(code_of(t.put(row)).await, "invalid_argument", "{kind}");
        let row = js(r#"{"id":"a","deep":{"list":[1,{}]}}"#);
        let inner = Array::from(
            &Reflect::get(&Reflect::get(&row, &"deep".into()).unwrap(), &"list".into()).unwrap(),
        )
        .get(1);
        Reflect::set(&inner, &"bad".into(), &non_json(kind)).unwrap();
        let msg = message_of(t.put(row.clone())).await;
        assert!(msg.contains("deep.list[1].bad"), "{kind}: path in {msg:?}");
        assert_eq!(code_of(t.put(row)).await, "invalid_argument", "deep {kind}");
        let patch = Object::new();
        Reflect::set(&patch, &"bad".into(), &non_json(kind)).unwrap();
        assert_eq!(
            code_of(t.update("a".into(), patch.into())).await,
            "invalid_argument",
            "update with {kind}"
        );
    }
    for kind in ["date", "map", "circular"] {
        assert_eq!(code_of(t.put(non_json(kind))).await, "invalid_argument");
    }
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn update_merges_columns_and_resolves_to_the_new_row() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(
        r#"[{"id":"a","name":"Acme","city":"Paris","ownerId":"u1"},{"id":5,"name":"Five","city":"Rome"}]"#,
    )))
    .await;

    let row = ok(t.update(
        "a".into(),
        js(r#"{"city":"Lyon","phone":"+33 1","id":"a"}"#),
    ))
    .await;
    let expected = r#"{"id":"a","name":"Acme","city":"Lyon","ownerId":"u1","phone":"+33 1"}"#;
    assert_eq!(json(&row), expected);
    assert_eq!(ok_json(t.get("a".into())).await, expected);

    // An undefined value in the patch removes the column.
    let patch = with_undefined(&js(r#"{"name":"Acme SA"}"#), "city");
    let row = ok(t.update("a".into(), patch)).await;
    assert_eq!(
        json(&row),
        r#"{"id":"a","name":"Acme SA","ownerId":"u1","phone":"+33 1"}"#
    );
    let stored = ok(t.get("a".into())).await;
    assert!(
        !Reflect::has(&stored, &"city".into()).unwrap(),
        "city is gone, not undefined"
    );
    assert_eq!(json(&stored), json(&row));

    // Number keys; an empty patch keeps the row; nested values replace, not merge.
    let row = ok(t.update(JsValue::from(5), js(r#"{"geo":{"lat":1}}"#))).await;
    assert_eq!(
        json(&row),
        r#"{"id":5,"name":"Five","city":"Rome","geo":{"lat":1}}"#
    );
    let row = ok(t.update(JsValue::from(5), js(r#"{"geo":{"lng":2}}"#))).await;
    assert_eq!(
        json(&row),
        r#"{"id":5,"name":"Five","city":"Rome","geo":{"lng":2}}"#
    );
    let row = ok(t.update(JsValue::from(5), js("{}"))).await;
    assert_eq!(
        json(&row),
        r#"{"id":5,"name":"Five","city":"Rome","geo":{"lng":2}}"#
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn update_errors_leave_everything_unchanged() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(r#"[{"id":"a","name":"A"},{"id":1,"name":"One"}]"#))).await;
    let before = snapshot(&store).await;

    assert_eq!(
        code_of(t.update("zz".into(), js(r#"{"name":"x"}"#))).await,
        "not_found"
    );
    assert_eq!(
        code_of(t.update(JsValue::from(2), js("{}"))).await,
        "not_found"
    );
    assert_eq!(code_of(t.update("1".into(), js("{}"))).await, "not_found");
    let msg = message_of(t.update("zz".into(), js("{}"))).await;
    assert!(msg.contains("zz"), "names the key: {msg}");
    // The patch may not move the row to another key.
    assert_eq!(
        code_of(t.update("a".into(), js(r#"{"id":"b"}"#))).await,
        "invalid_argument"
    );
    assert_eq!(
        code_of(t.update(JsValue::from(1), js(r#"{"id":"1"}"#))).await,
        "invalid_argument"
    );
    for patch in [r#"null"#, r#""name""#, r#"[1]"#, r#"3"#] {
        assert_eq!(
            code_of(t.update("a".into(), js(patch))).await,
            "invalid_argument",
            "{patch}"
        );
    }
    for key in [r#"true"#, r#"{"id":"a"}"#, r#"null"#, r#"["a"]"#] {
        assert_eq!(
            code_of(t.update(js(key), js("{}"))).await,
            "invalid_argument",
            "{key}"
        );
    }
    assert_eq!(
        code_of(t.update(non_json("nan"), js("{}"))).await,
        "invalid_argument"
    );
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn delete_and_bulk_delete() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(
        r#"[{"id":"a"},{"id":"b"},{"id":"c"},{"id":1},{"id":2},{"id":"2"}]"#,
    )))
    .await;
    assert!(ok(t.delete("a".into())).await.is_undefined());
    assert!(ok(t.get("a".into())).await.is_undefined());
    ok(t.delete("never-there".into())).await;
    ok(t.delete(JsValue::from(1))).await;
    assert!(ok(t.bulk_delete(js(r#"["b",2,"missing"]"#)))
        .await
        .is_undefined());
    assert_eq!(ok_json(t.query(None)).await, r#"[{"id":"2"},{"id":"c"}]"#);
    ok(t.bulk_delete(Array::new().into())).await;

    let before = snapshot(&store).await;
    assert_eq!(
        code_of(t.bulk_delete(js(r#"["c",true]"#))).await,
        "invalid_argument"
    );
    assert_eq!(
        code_of(t.bulk_delete(js(r#""c""#))).await,
        "invalid_argument"
    );
    assert_eq!(
        code_of(t.bulk_delete(js(r#"["c",null]"#))).await,
        "invalid_argument"
    );
    assert_eq!(code_of(t.delete(js("{}"))).await, "invalid_argument");
    assert_eq!(code_of(t.delete(non_json("nan"))).await, "invalid_argument");
    assert_eq!(
        code_of(t.delete(JsValue::UNDEFINED)).await,
        "invalid_argument"
    );
    assert_eq!(
        snapshot(&store).await,
        before,
        "a batch with a bad key deletes nothing"
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn read_calls_check_their_keys() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"a"}"#))).await;
    let before = snapshot(&store).await;
    for key in [r#"true"#, r#"{}"#, r#"null"#, r#"[1]"#] {
        assert_eq!(
            code_of(t.get(js(key))).await,
            "invalid_argument",
            "get {key}"
        );
        assert_eq!(
            code_of(t.meta(js(key))).await,
            "invalid_argument",
            "meta {key}"
        );
    }
    assert_eq!(code_of(t.get(non_json("nan"))).await, "invalid_argument");
    assert_eq!(
        code_of(t.get_many(js(r#"["a",false]"#))).await,
        "invalid_argument"
    );
    assert_eq!(code_of(t.get_many(js(r#""a""#))).await, "invalid_argument");
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn read_only_tables_reject_every_write() {
    let store = fresh().await;
    apply_row(
        &store,
        "products",
        "p1",
        "1",
        r#"{"id":"p1","name":"Pump"}"#,
    )
    .await;
    let t = store.table("products").unwrap();
    assert_eq!(
        ok_json(t.get("p1".into())).await,
        r#"{"id":"p1","name":"Pump"}"#
    );
    let before = snapshot(&store).await;
    assert_eq!(code_of(t.put(js(r#"{"id":"p2"}"#))).await, "read_only");
    assert_eq!(
        code_of(t.put(js(r#"{"id":"p1","name":"X"}"#))).await,
        "read_only"
    );
    assert_eq!(
        code_of(t.bulk_put(js(r#"[{"id":"p3"}]"#))).await,
        "read_only"
    );
    assert_eq!(
        code_of(t.update("p1".into(), js(r#"{"name":"X"}"#))).await,
        "read_only"
    );
    assert_eq!(
        code_of(t.update("nope".into(), js("{}"))).await,
        "read_only"
    );
    assert_eq!(code_of(t.delete("p1".into())).await, "read_only");
    assert_eq!(code_of(t.bulk_delete(js(r#"["p1"]"#))).await, "read_only");
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(ok(t.count(None)).await.as_f64(), Some(1.0));
    finish(store).await;
}

#[wasm_bindgen_test]
async fn unknown_tables_throw_unknown_table() {
    let store = fresh().await;
    ok(store.table("accounts").unwrap().put(js(r#"{"id":"a"}"#))).await;
    let before = snapshot(&store).await;
    // Internal stores are not tables either.
    for name in ["nope", "Accounts", "", "_outbox", "_base", "_meta"] {
        match store.table(name) {
            Ok(_) => panic!("table({name:?}) should throw"),
            Err(e) => assert_eq!(e.code.as_str(), "unknown_table", "{name}: {e}"),
        }
    }
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn rejections_are_errors_with_a_stable_code() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    let e = rejection(t.update("zz".into(), js("{}"))).await;
    let e: &js_sys::Error = e.unchecked_ref();
    assert_eq!(String::from(e.name()), "OfflineTablesError");
    assert!(String::from(e.message()).contains("accounts"));
    assert_eq!(
        Reflect::get(e, &"code".into())
            .unwrap()
            .as_string()
            .as_deref(),
        Some("not_found")
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn concurrent_writes_each_apply_once_in_call_order() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.put(js(r#"{"id":"c"}"#))).await;
    // Fired together, not awaited one by one: every update reads the previous one's row.
    let all: Array = (0..20)
        .map(|i| JsValue::from(t.update("c".into(), js(&format!(r#"{{"c{i}":{i},"last":{i}}}"#)))))
        .collect();
    all.push(&t.put(js(r#"{"id":"d","n":1}"#)));
    all.push(&t.update("d".into(), js(r#"{"n":2}"#)));
    ok(js_sys::Promise::all(&all)).await;
    let row = ok(t.get("c".into())).await;
    assert_eq!(
        Object::keys(row.unchecked_ref::<Object>()).length(),
        22,
        "{}",
        json(&row)
    );
    assert_eq!(json(&Reflect::get(&row, &"last".into()).unwrap()), "19");
    assert_eq!(ok_json(t.get("d".into())).await, r#"{"id":"d","n":2}"#);
    assert_eq!(pending_count(&store).await, 2);
    finish(store).await;
}
