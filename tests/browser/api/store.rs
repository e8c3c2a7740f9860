//! OfflineStore itself: open (and its invalid_argument / invalid_profile rejections),
//! the name and profile getters, close then `closed`, reopening with rows and outbox
//! intact, another connection's upgrade closing this one, and deleteDatabase.

use crate::common::*;
use js_sys::Reflect;
use offline_tables::{OfflineStore, Table};
use offline_tables_core::Key;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

const PROFILE_V2: &str = r#"{ "version": 2, "tables": {
  "accounts":   { "key": "id", "indexes": ["ownerId", "city"], "conflict": "merge", "scope": { "owner": "ownerId" } },
  "workorders": { "key": "id", "indexes": ["accountId", "status", "modifiedOn"], "conflict": "manual" },
  "products":   { "key": "id", "readOnly": true },
  "contacts":   { "key": "id" } } }"#;

fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.')
        .fold(v.clone(), |v, p| Reflect::get(&v, &p.into()).unwrap())
}

/// Writes of every kind: synced rows (one updated, one deleted), local inserts with
/// string and number keys, rows in two tables.
async fn fill(store: &OfflineStore) {
    apply_rows(
        store,
        &[
            ("accounts", "s1", "5", r#"{"id":"s1","name":"Synced"}"#),
            ("accounts", "s2", "6", r#"{"id":"s2"}"#),
            ("accounts", "s3", "7", r#"{"id":"s3","clean":true}"#),
        ],
    )
    .await;
    let pump = remote(
        "products",
        Key::Num(1.0),
        "1",
        Some(r#"{"id":1,"name":"Pump"}"#),
    );
    apply_remote(store, &[pump]).await;
    let a = store.table("accounts").unwrap();
    ok(a.put(js(r#"{"id":"n1","city":"Paris","ownerId":"u1"}"#))).await;
    ok(a.put(js(r#"{"id":42,"city":"Lyon"}"#))).await;
    ok(a.update("s1".into(), js(r#"{"name":"Edited"}"#))).await;
    ok(a.delete("s2".into())).await;
    let w = store.table("workorders").unwrap();
    ok(w.bulk_put(js(
        r#"[{"id":"w1","accountId":"n1","status":"open"},{"id":2,"accountId":42}]"#,
    )))
    .await;
}

async fn metas(t: &Table) -> String {
    let mut out = String::new();
    for k in [
        js(r#""s1""#),
        js(r#""s2""#),
        js(r#""s3""#),
        js(r#""n1""#),
        js("42"),
    ] {
        out.push_str(&ok_json(t.meta(k)).await);
    }
    out
}

#[wasm_bindgen_test]
async fn open_exposes_the_name_and_the_profile_with_defaults() {
    let name = unique_name("getters");
    let store = open(&name, PROFILE).await;
    assert_eq!(store.name(), name);
    let p = store.profile().unwrap();
    assert_eq!(get(&p, "version").as_f64(), Some(1.0));
    let tables = js_sys::Object::keys(get(&p, "tables").unchecked_ref::<js_sys::Object>());
    assert_eq!(
        json(&tables.into()),
        r#"["accounts","products","workorders"]"#
    );
    assert_eq!(
        json(&get(&p, "tables.accounts.indexes")),
        r#"["ownerId","city"]"#
    );
    assert_eq!(json(&get(&p, "tables.accounts.key")), r#""id""#);
    assert_eq!(json(&get(&p, "tables.accounts.conflict")), r#""merge""#);
    assert_eq!(
        json(&get(&p, "tables.accounts.scope")),
        r#"{"owner":"ownerId"}"#
    );
    assert_eq!(json(&get(&p, "tables.workorders.conflict")), r#""manual""#);
    assert_eq!(
        canon(&json(&get(&p, "tables.workorders.scope.related"))),
        canon(r#"{"table":"accounts","column":"accountId"}"#)
    );
    // Defaults filled in.
    assert_eq!(json(&get(&p, "tables.products.readOnly")), "true");
    assert_eq!(
        json(&get(&p, "tables.products.conflict")),
        r#""server-wins""#
    );
    assert_eq!(json(&get(&p, "tables.products.indexes")), "[]");
    assert_eq!(
        json(&get(&p, "tables.workorders.syncIntervalSeconds")),
        "300"
    );
    assert_eq!(json(&get(&p, "tables.accounts.readOnly")), "false");
    assert_eq!(json(&get(&p, "tables.products.scope")), r#""all""#);
    assert_eq!(store.table("workorders").unwrap().name(), "workorders");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn open_rejects_bad_options_and_bad_profiles() {
    let name = unique_name("bad");
    for bad in [
        JsValue::NULL,
        JsValue::UNDEFINED,
        "opts".into(),
        JsValue::from(1),
    ] {
        match OfflineStore::open_async(bad).await {
            Ok(_) => panic!("open should reject non-object options"),
            Err(e) => assert_eq!(e.code.as_str(), "invalid_argument"),
        }
    }
    for bad in [r#"{"profile":{}}"#, r#"{"name":5}"#, r#"{"name":""}"#] {
        let opts = js(bad);
        Reflect::set(&opts, &"profile".into(), &js(PROFILE)).unwrap();
        match OfflineStore::open_async(opts).await {
            Ok(_) => panic!("open({bad}) should reject"),
            Err(e) => assert_eq!(e.code.as_str(), "invalid_argument", "{bad}"),
        }
    }
    match OfflineStore::open_async(js(&format!(r#"{{"name":"{name}"}}"#))).await {
        Ok(_) => panic!("open without a profile should reject"),
        Err(e) => assert_eq!(e.code.as_str(), "invalid_profile"),
    }
    let t = |table: &str| format!(r#"{{"version":1,"tables":{{"t":{table}}}}}"#);
    let profiles = [
        r#""a string""#.to_string(),
        r#"[]"#.into(),
        r#"{"tables":{"t":{"key":"id"}}}"#.into(),
        r#"{"version":0,"tables":{"t":{"key":"id"}}}"#.into(),
        r#"{"version":1.5,"tables":{"t":{"key":"id"}}}"#.into(),
        r#"{"version":"1","tables":{"t":{"key":"id"}}}"#.into(),
        r#"{"version":1}"#.into(),
        r#"{"version":1,"tables":{}}"#.into(),
        r#"{"version":1,"tables":{"_t":{"key":"id"}}}"#.into(),
        r#"{"version":1,"tables":{"1t":{"key":"id"}}}"#.into(),
        t(r#"{}"#),
        t(r#"{"key":"a b"}"#),
        t(r#"{"key":"id","indexes":["id"]}"#),
        t(r#"{"key":"id","indexes":["a","a"]}"#),
        t(r#"{"key":"id","indexes":"a"}"#),
        t(r#"{"key":"id","conflict":"last-wins"}"#),
        t(r#"{"key":"id","syncIntervalSeconds":1}"#),
        t(r#"{"key":"id","readOnly":"yes"}"#),
        t(r#"{"key":"id","scope":"some"}"#),
        t(r#"{"key":"id","scope":{}}"#),
        t(r#"{"key":"id","scope":{"mine":true}}"#),
        t(r#"{"key":"id","scope":{"related":{"table":"nope","column":"x"}}}"#),
        t(r#"{"key":"id","scope":{"related":{"table":"t","column":"x"}}}"#),
        t(r#"{"key":"id","scope":{"filter":"city like 'x'"}}"#),
        t(r#"{"key":"id","scope":{"modifiedWithinDays":{"column":"m","days":0}}}"#),
        r#"{"version":1,"tables":{"a":{"key":"id","scope":{"related":{"table":"b","column":"x"}}},"b":{"key":"id","scope":{"related":{"table":"a","column":"y"}}}}}"#.into(),
    ];
    for profile in &profiles {
        assert_eq!(
            open_code(&name, profile).await,
            "invalid_profile",
            "{profile}"
        );
    }
    assert!(
        !database_exists(&name).await,
        "a rejected open creates no database"
    );
}

#[wasm_bindgen_test]
async fn reopening_keeps_rows_and_pending_changes() {
    let name = unique_name("reload");
    let store = open(&name, PROFILE).await;
    fill(&store).await;
    let before = snapshot(&store).await;
    let meta_before = metas(&store.table("accounts").unwrap()).await;
    assert_eq!(pending_count(&store).await, 6);
    store.close();
    drop(store);

    let store = open(&name, PROFILE).await;
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(metas(&store.table("accounts").unwrap()).await, meta_before);
    // Coalescing continues across the reload: n1 is still an insert, of the row exactly
    // as stored (the app's own object, columns in its order).
    let a = store.table("accounts").unwrap();
    ok(a.update("n1".into(), js(r#"{"city":"Nice"}"#))).await;
    let pending = pending_json(&store).await;
    assert!(
        pending
            .contains(r#""key":"n1","op":"insert","row":{"id":"n1","city":"Nice","ownerId":"u1"}"#),
        "{pending}"
    );
    assert_eq!(pending_count(&store).await, 6);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn after_close_every_call_rejects_with_closed() {
    let name = unique_name("closed");
    let store = open(&name, PROFILE).await;
    fill(&store).await;
    let a = store.table("accounts").unwrap();
    store.close();
    store.close();
    let k = || JsValue::from("n1");
    assert_eq!(code_of(a.get(k())).await, "closed");
    assert_eq!(code_of(a.get_many(js(r#"["n1"]"#))).await, "closed");
    assert_eq!(code_of(a.put(js(r#"{"id":"x"}"#))).await, "closed");
    assert_eq!(code_of(a.bulk_put(js(r#"[{"id":"x"}]"#))).await, "closed");
    assert_eq!(code_of(a.update(k(), js("{}"))).await, "closed");
    assert_eq!(code_of(a.delete(k())).await, "closed");
    assert_eq!(code_of(a.bulk_delete(js(r#"["n1"]"#))).await, "closed");
    assert_eq!(code_of(a.query(None)).await, "closed");
    assert_eq!(
        code_of(a.query(Some(js(r#"{"where":{"city":"Paris"}}"#)))).await,
        "closed"
    );
    assert_eq!(code_of(a.count(None)).await, "closed");
    assert_eq!(code_of(a.meta(k())).await, "closed");
    assert_eq!(code_of(store.pending()).await, "closed");
    assert_eq!(code_of(store.pending_count()).await, "closed");
    // Tables handed out after close are closed too.
    let w = store.table("workorders").unwrap();
    assert_eq!(code_of(w.get("w1".into())).await, "closed");
    match store
        .db()
        .apply_remote(&[remote("accounts", skey("z"), "1", Some(r#"{"id":"z"}"#))])
        .await
    {
        Ok(()) => panic!("apply_remote on a closed store"),
        Err(e) => assert_eq!(e.code.as_str(), "closed"),
    }
    assert_eq!(store.name(), name, "getters still answer");
    // Nothing was lost by closing.
    let again = open(&name, PROFILE).await;
    assert_eq!(pending_count(&again).await, 6);
    assert_eq!(
        ok_json(again.table("accounts").unwrap().get("n1".into())).await,
        r#"{"id":"n1","city":"Paris","ownerId":"u1"}"#
    );
    finish(again).await;
}

#[wasm_bindgen_test]
async fn a_newer_version_opened_elsewhere_is_followed_by_this_store() {
    // Another tab upgrades the schema: this store lets it (the upgrade does not wait for
    // it), then reopens on the upgraded database and goes on with everything kept.
    let name = unique_name("vchange");
    let a = open(&name, PROFILE).await;
    fill(&a).await;
    let before = snapshot(&a).await;
    let pending_before = pending_count(&a).await;
    let n = name.clone();
    let opened = finishes_within(SETTLE_MS, async move {
        let b = open(&n, PROFILE_V2).await;
        b.close();
    })
    .await;
    assert!(opened, "the upgrade must not wait for store A");

    // Calls made while A reopens wait for it rather than fail.
    let t = a.table("accounts").unwrap();
    assert_eq!(
        ok_json(t.get("n1".into())).await,
        r#"{"id":"n1","city":"Paris","ownerId":"u1"}"#
    );
    assert_eq!(get(&a.profile().unwrap(), "version").as_f64(), Some(2.0));
    assert_eq!(snapshot(&a).await, before, "the upgrade kept everything");
    ok(t.put(js(r#"{"id":"late"}"#))).await;
    ok(a.table("contacts").unwrap().put(js(r#"{"id":"c"}"#))).await;
    a.close();
    let b = open(&name, PROFILE_V2).await;
    assert!(!ok(b.table("accounts").unwrap().get("late".into()))
        .await
        .is_undefined());
    assert_eq!(pending_count(&b).await, pending_before + 2);
    finish(b).await;
}

#[wasm_bindgen_test]
async fn an_older_profile_opens_a_newer_database_as_it_is() {
    let name = unique_name("older");
    let store = open(&name, PROFILE_V2).await;
    ok(store.table("contacts").unwrap().put(js(r#"{"id":"c"}"#))).await;
    store.close();
    let old = open(&name, PROFILE).await;
    assert_eq!(get(&old.profile().unwrap(), "version").as_f64(), Some(2.0));
    assert_eq!(
        ok_json(old.table("contacts").unwrap().get("c".into())).await,
        r#"{"id":"c"}"#
    );
    finish(old).await;
}

#[wasm_bindgen_test]
async fn delete_database_removes_everything_and_closes_open_stores() {
    let name = unique_name("del");
    let a = open(&name, PROFILE).await;
    fill(&a).await;
    let n = name.clone();
    let deleted = finishes_within(SETTLE_MS, async move { delete(&n).await }).await;
    assert!(deleted, "deleteDatabase must not wait for the open store");
    assert!(!database_exists(&name).await);
    assert_eq!(
        code_of(a.table("accounts").unwrap().get("n1".into())).await,
        "closed"
    );
    assert_eq!(code_of(a.pending_count()).await, "closed");

    let b = open(&name, PROFILE).await;
    assert_eq!(pending_count(&b).await, 0);
    assert_eq!(
        ok_json(b.table("accounts").unwrap().query(None)).await,
        "[]"
    );
    finish(b).await;
    // Deleting a database that does not exist is fine.
    delete(&unique_name("never")).await;
}
