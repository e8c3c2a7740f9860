//! Profile upgrades: a higher version adds tables and indexes and drops indexes keeping
//! every row and pending change, new indexes serve queries; another schema at the same
//! version, or a changed key column, is invalid_profile and loses nothing; a table
//! dropped from the profile keeps its rows and pending changes.

use crate::common::*;
use offline_tables::OfflineStore;
use wasm_bindgen_test::*;

/// v2: accounts drops the `city` index and gains `name`; a new `contacts` table.
const PROFILE_V2: &str = r#"{ "version": 2, "tables": {
  "accounts":   { "key": "id", "indexes": ["ownerId", "name"], "conflict": "merge", "scope": { "owner": "ownerId" } },
  "workorders": { "key": "id", "indexes": ["accountId", "status", "modifiedOn"], "conflict": "manual",
                  "scope": { "related": { "table": "accounts", "column": "accountId" } } },
  "products":   { "key": "id", "readOnly": true, "scope": "all" },
  "contacts":   { "key": "contactId", "indexes": ["accountId"] } } }"#;

const ROWS: &str = r#"[
  {"id":"a1","name":"Acme","city":"Paris","ownerId":"u1"},
  {"id":"a2","name":"Blue","city":"Lyon","ownerId":"u1"},
  {"id":"a3","name":"Acorn","city":"Paris","ownerId":"u2"},
  {"id":4,"name":"Delta","ownerId":"u2"},
  {"id":"a5","city":"Nice"},
  {"id":"a6","name":7,"city":"Paris"},
  {"id":"a7","name":"Éclair","city":"Lyon"},
  {"id":"a8","name":true},
  {"id":"a9","name":["Acme"]},
  {"id":"b1","name":{"n":"Acme"}}
]"#;

async fn fill(store: &OfflineStore) {
    apply_rows(
        store,
        &[
            (
                "accounts",
                "s1",
                "3",
                r#"{"id":"s1","name":"Synced","city":"Paris"}"#,
            ),
            ("accounts", "s2", "4", r#"{"id":"s2","name":"Gone"}"#),
            ("products", "p", "1", r#"{"id":"p"}"#),
        ],
    )
    .await;
    let a = store.table("accounts").unwrap();
    ok(a.bulk_put(js(ROWS))).await;
    ok(a.update("s1".into(), js(r#"{"name":"Synced 2"}"#))).await;
    ok(a.delete("s2".into())).await;
    ok(store
        .table("workorders")
        .unwrap()
        .put(js(r#"{"id":"w1","accountId":"a1","status":"open"}"#)))
    .await;
}

async fn ids(store: &OfflineStore, q: &str) -> String {
    let rows: js_sys::Array = ok(store.table("accounts").unwrap().query(Some(js(q))))
        .await
        .into();
    let ids: js_sys::Array = rows
        .iter()
        .map(|r| js_sys::Reflect::get(&r, &"id".into()).unwrap())
        .collect();
    json(&ids.into())
}

#[wasm_bindgen_test]
async fn a_higher_version_adds_and_drops_indexes_and_tables_keeping_everything() {
    spy_index_reads();
    let name = unique_name("up");
    let store = open(&name, PROFILE).await;
    fill(&store).await;
    let before = snapshot(&store).await;
    let pending_before = pending_count(&store).await;
    assert_eq!(pending_before, 13);
    store.close();
    drop(store);

    let store = open(&name, PROFILE_V2).await;
    assert_eq!(snapshot(&store).await, before, "rows and pending kept");
    assert_eq!(index_names(&name, "accounts").await, ["name", "ownerId"]);
    assert_eq!(index_names(&name, "contacts").await, ["accountId"]);

    // The new index serves queries over the rows that were there before it.
    take_index_reads();
    let cases = [
        (r#"{"where":{"name":"Acme"}}"#, r#"["a1"]"#),
        (
            r#"{"where":{"name":{"startsWith":"Ac"}}}"#,
            r#"["a1","a3"]"#,
        ),
        (r#"{"where":{"name":{"gte":"B","lt":"E"}}}"#, r#"[4,"a2"]"#),
        (r#"{"where":{"name":{"gt":"Z"}}}"#, r#"["a7"]"#),
        (r#"{"where":{"name":7}}"#, r#"["a6"]"#),
        (
            r#"{"where":{"name":{"in":["Blue","Synced 2",7]}}}"#,
            r#"["a2","a6","s1"]"#,
        ),
        (
            r#"{"where":{"name":{"gte":"A"}},"orderBy":[["name","desc"]],"limit":3}"#,
            r#"["a7","s1",4]"#,
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(ids(&store, q).await, expected, "{q}");
        assert!(take_index_reads() > 0, "{q} should read the new index");
    }
    // The dropped index is no longer used, and the answers stay right.
    assert_eq!(
        ids(&store, r#"{"where":{"city":"Paris"}}"#).await,
        r#"["a1","a3","a6","s1"]"#
    );
    assert_eq!(take_index_reads(), 0, "city is not indexed any more");
    assert_eq!(
        ids(&store, r#"{"where":{"ownerId":"u2"}}"#).await,
        r#"[4,"a3"]"#
    );
    assert!(take_index_reads() > 0, "the kept index still serves");

    // The new table works, writes to it are pending like any other.
    let c = store.table("contacts").unwrap();
    ok(c.put(js(r#"{"contactId":"c1","accountId":"a1"}"#))).await;
    assert_eq!(
        code_of(c.put(js(r#"{"id":"c2"}"#))).await,
        "invalid_argument"
    );
    assert_eq!(pending_count(&store).await, pending_before + 1);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn another_schema_at_the_same_version_is_invalid_profile() {
    let name = unique_name("same");
    let store = open(&name, PROFILE).await;
    fill(&store).await;
    let before = snapshot(&store).await;
    store.close();
    drop(store);

    let extra_index = PROFILE.replace(r#"["ownerId", "city"]"#, r#"["ownerId", "city", "name"]"#);
    let fewer_indexes = PROFILE.replace(r#"["ownerId", "city"]"#, r#"["ownerId"]"#);
    let other_key = PROFILE.replace(
        r#""products":   { "key": "id""#,
        r#""products":   { "key": "sku""#,
    );
    let extra_table = PROFILE.replace(
        r#""products":"#,
        r#""contacts": { "key": "id" }, "products":"#,
    );
    let fewer_tables =
        r#"{"version":1,"tables":{"accounts":{"key":"id","indexes":["ownerId","city"]}}}"#;
    for (what, profile) in [
        ("an extra index", extra_index.as_str()),
        ("a dropped index", &fewer_indexes),
        ("another key", &other_key),
        ("an extra table", &extra_table),
        ("fewer tables", fewer_tables),
    ] {
        assert_ne!(profile, PROFILE, "{what}: the test edit must apply");
        assert_eq!(open_code(&name, profile).await, "invalid_profile", "{what}");
    }
    // Profile version 1 is IndexedDB version 15 (version * 10 + internal schema 5).
    assert_eq!(idb_version_of(&name).await, 15.0, "no upgrade happened");

    // The same indexes in another order are the same schema.
    let reordered = PROFILE.replace(r#"["ownerId", "city"]"#, r#"["city", "ownerId"]"#);
    assert_ne!(reordered, PROFILE);
    open(&name, &reordered).await.close();

    // Policies, scopes and intervals may change at the same version.
    let policies = PROFILE
        .replace(r#""conflict": "merge""#, r#""conflict": "client-wins""#)
        .replace(
            r#""syncIntervalSeconds": 300"#,
            r#""syncIntervalSeconds": 60"#,
        );
    assert_ne!(policies, PROFILE);
    let store = open(&name, &policies).await;
    let p = store.profile().unwrap();
    let accounts = js_sys::Reflect::get(
        &js_sys::Reflect::get(&p, &"tables".into()).unwrap(),
        &"accounts".into(),
    )
    .unwrap();
    assert_eq!(
        json(&js_sys::Reflect::get(&accounts, &"conflict".into()).unwrap()),
        r#""client-wins""#
    );
    assert_eq!(snapshot(&store).await, before, "nothing lost");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn changing_a_key_column_is_invalid_profile_and_loses_nothing() {
    let name = unique_name("key");
    let store = open(&name, PROFILE).await;
    fill(&store).await;
    let before = snapshot(&store).await;
    store.close();
    drop(store);

    let v2_new_key = PROFILE_V2.replace(
        r#""accounts":   { "key": "id""#,
        r#""accounts":   { "key": "accountNumber""#,
    );
    assert_ne!(v2_new_key, PROFILE_V2);
    let code = open_code(&name, &v2_new_key).await;
    assert_eq!(code, "invalid_profile");
    match try_open(&name, &v2_new_key).await {
        Ok(_) => unreachable!(),
        Err(e) => assert!(
            e.message.contains("profile.tables.accounts.key")
                && e.message.contains(r#"stored with key "id""#),
            "names the table and its stored key: {}",
            e.message
        ),
    }
    assert_eq!(
        idb_version_of(&name).await,
        15.0,
        "the upgrade was rolled back"
    );
    assert_eq!(index_names(&name, "accounts").await, ["city", "ownerId"]);

    let store = open(&name, PROFILE).await;
    assert_eq!(snapshot(&store).await, before);
    store.close();
    drop(store);
    // The same profile with the right key still upgrades afterwards.
    let store = open(&name, PROFILE_V2).await;
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_table_dropped_from_the_profile_keeps_its_rows_and_pending_changes() {
    let name = unique_name("drop");
    let store = open(&name, PROFILE).await;
    fill(&store).await;
    let before = snapshot(&store).await;
    store.close();
    drop(store);

    let v3 = r#"{"version":3,"tables":{"accounts":{"key":"id","indexes":["ownerId","city"]},"products":{"key":"id","readOnly":true}}}"#;
    let store = open(&name, v3).await;
    assert!(store.table("workorders").is_err());
    let pending = pending_json(&store).await;
    assert!(
        pending.contains(r#""table":"workorders","key":"w1","op":"insert""#),
        "a dropped table's pending change is still there to push: {pending}"
    );
    store.close();
    drop(store);

    let v4 = PROFILE.replace(r#""version": 1"#, r#""version": 4"#);
    let store = open(&name, &v4).await;
    assert_eq!(
        snapshot(&store).await,
        before,
        "the table comes back with its rows"
    );
    finish(store).await;
}

/// Rows created here carry the base `{"local":true}`, so a later write tells them from
/// downloaded rows without reading the outbox; a delete drops the mark with the row; an
/// upgrade marks the pending rows an older layout left unmarked, and they stay inserts.
#[wasm_bindgen_test]
async fn rows_created_here_are_marked_and_stay_inserts_across_an_upgrade() {
    let name = unique_name("local-mark");
    let store = open(&name, PROFILE).await;
    let page = r#"{ "protocolVersion": 1, "checkpoint": "17", "hasMore": false, "changes": [
        { "kind": "upsert", "table": "accounts", "key": "d1", "version": "9",
          "row": { "id": "d1", "ownerId": "u1" } } ] }"#;
    apply_pulled(store.db(), page).await.unwrap();
    let t = store.table("accounts").unwrap();
    let base = |key: &str| {
        let k = js(&format!(r#"["accounts","{key}"]"#));
        let name = name.clone();
        async move { raw_get(&name, "_base", &k).await }
    };
    ok(t.put(js(r#"{"id":"n1","ownerId":"u1"}"#))).await;
    assert_eq!(base("n1").await, r#"{"local":true}"#);
    // A downloaded row's first write captures the server's row instead.
    ok(t.put(js(r#"{"id":"d1","ownerId":"u1","name":"edited"}"#))).await;
    assert_eq!(
        base("d1").await,
        r#"{"version":"17","row":{"id":"d1","ownerId":"u1"}}"#
    );
    ok(t.update("n1".into(), js(r#"{"name":"later"}"#))).await;
    assert_eq!(base("n1").await, r#"{"local":true}"#, "still the mark");
    ok(t.delete("n1".into())).await;
    assert_eq!(base("n1").await, "undefined", "the mark goes with the row");

    // A bulk write marks nothing (one more record per row would slow it down): the
    // first later write that meets one of its rows reads the outbox once and marks them all.
    let bulk: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"id":"b{i:02}","ownerId":"u1"}}"#))
        .collect();
    ok(t.bulk_put(js(&format!("[{}]", bulk.join(","))))).await;
    assert_eq!(base("b03").await, "undefined");
    assert_eq!(raw_get(&name, "_meta", &"unmarked".into()).await, "true");
    ok(t.update("b03".into(), js(r#"{"name":"one of many"}"#))).await;
    assert_eq!(base("b03").await, r#"{"local":true}"#);
    assert_eq!(
        base("b17").await,
        r#"{"local":true}"#,
        "the whole bulk write"
    );
    assert_eq!(
        raw_get(&name, "_meta", &"unmarked".into()).await,
        "undefined"
    );
    let ops = pending_ops(&store).await;
    assert!(ops.contains(&("b03".into(), "insert".into())), "{ops:?}");
    let keys: Vec<String> = (0..20).map(|i| format!(r#""b{i:02}""#)).collect();
    ok(t.bulk_delete(js(&format!("[{}]", keys.join(","))))).await;
    assert_eq!(base("b17").await, "undefined", "deletes drop the marks");

    // A row created by the previous layout, which kept no mark.
    ok(t.put(js(r#"{"id":"n2","ownerId":"u1"}"#))).await;
    store.close();
    raw_delete(&name, "_base", &js(r#"["accounts","n2"]"#)).await;
    let v2 = PROFILE.replacen(r#""version": 1"#, r#""version": 2"#, 1);
    assert_ne!(v2, PROFILE);
    let store = open(&name, &v2).await;
    assert_eq!(
        base("n2").await,
        r#"{"local":true}"#,
        "the upgrade marks it"
    );
    let t = store.table("accounts").unwrap();
    ok(t.update("n2".into(), js(r#"{"name":"after the upgrade"}"#))).await;
    assert_eq!(
        pending_ops(&store).await,
        [
            ("d1".into(), "update".into()),
            ("n2".into(), "insert".into())
        ]
    );
    finish(store).await;
}

/// The pending changes as (key, op).
async fn pending_ops(store: &OfflineStore) -> Vec<(String, String)> {
    let pending: serde_json::Value = serde_json::from_str(&pending_json(store).await).unwrap();
    pending
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_string(),
                p["op"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[wasm_bindgen::prelude::wasm_bindgen(module = "/tests/browser/storage/old_layout.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeLayout4)]
    fn make_layout4(
        name: &str,
        profile: &str,
        table: &str,
        key_path: &str,
        rows: &wasm_bindgen::JsValue,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = storeNames)]
    fn store_names(name: &str) -> js_sys::Promise;
}

/// A database of internal schema 4 (before file columns) opens upgraded: `_files` and
/// `_uploads` are created, its rows stay, and a file can be put at once.
#[wasm_bindgen_test]
async fn a_database_from_before_file_columns_gains_their_stores_and_keeps_its_rows() {
    let name = unique_name("layout4");
    let profile = r#"{"version":1,"tables":{"inspections":{"key":"id","files":{"photo":{}}}}}"#;
    ok(make_layout4(
        &name,
        profile,
        "inspections",
        "id",
        &js(r#"[{"id":"i1","site":"North"}]"#),
    ))
    .await;
    let before = json(&ok(store_names(&name)).await);
    assert!(
        !before.contains("_files") && !before.contains("_uploads"),
        "{before}"
    );
    let store = open(&name, profile).await;
    assert_eq!(idb_version_of(&name).await, 15.0);
    let after = json(&ok(store_names(&name)).await);
    assert!(
        after.contains("\"_files\"") && after.contains("\"_uploads\""),
        "{after}"
    );
    let t = store.table("inspections").unwrap();
    assert!(ok_json(t.get("i1".into())).await.contains("North"));
    let blob = js_sys::eval("new Blob(['abc'])").unwrap();
    let meta = ok_json(t.put_file("i1".into(), "photo".into(), blob)).await;
    assert!(
        meta.contains("sha256-ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        "{meta}"
    );
    assert!(ok_json(t.get("i1".into())).await.contains("sha256-"));
    finish(store).await;
}
