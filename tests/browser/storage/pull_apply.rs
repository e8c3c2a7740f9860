//! Applying a pulled page: rows, removals and the checkpoint commit in one transaction;
//! unknown change kinds and tables are skipped; a page that fails to store leaves rows
//! and checkpoint as they were; pending local changes stay on top while the base moves.

use crate::common::*;
use serde_json::{json, Value};
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
async fn a_page_and_its_checkpoint_are_applied_together() {
    let store = fresh().await;
    let db = store.db();
    assert_eq!(db.checkpoint().await.unwrap(), None);
    let events = Recorder::new(&store);
    apply_pulled(db, json!({
        "protocolVersion": 1, "checkpoint": "17", "hasMore": true,
        "changes": [
            { "kind": "upsert", "table": "accounts", "key": "a1", "version": "3", "row": { "id": "a1", "ownerId": "u1" } },
            { "kind": "upsert", "table": "accounts", "key": "a2", "version": "4", "row": { "id": "a2", "ownerId": "u1" } },
            { "kind": "teleport", "table": "accounts", "key": "a9" },
            { "kind": "upsert", "table": "invoices", "key": "i1", "version": "5", "row": { "id": "i1" } },
            { "kind": "upsert", "table": "products", "key": 7, "version": "6", "row": { "id": 7, "name": "Bolt" } }
        ]
    }))
    .await
    .unwrap();
    assert_eq!(db.checkpoint().await.unwrap().as_deref(), Some("17"));
    let a = store.table("accounts").unwrap();
    assert_eq!(
        ok_json(a.get("a1".into())).await,
        r#"{"id":"a1","ownerId":"u1"}"#
    );
    // A downloaded row's version is not kept row by row: the checkpoint bounds it.
    assert_eq!(
        ok_json(a.meta("a2".into())).await,
        r#"{"version":"17","pending":false,"deleted":false}"#
    );
    let p = store.table("products").unwrap();
    assert_eq!(ok_json(p.get(7.into())).await, r#"{"id":7,"name":"Bolt"}"#);
    assert_eq!(
        pending_count(&store).await,
        0,
        "pulled rows are not local changes"
    );
    let seen = events.wait_for(2, 2_000).await;
    assert!(
        seen.contains(&event("accounts", r#"["a1","a2"]"#, "remote")),
        "{seen:?}"
    );

    // The next page removes one row (deleted on the server) and moves the checkpoint.
    apply_pulled(db, json!({
        "protocolVersion": 1, "checkpoint": "20", "hasMore": false,
        "changes": [ { "kind": "remove", "table": "accounts", "key": "a1", "version": "19", "reason": "deleted" } ]
    }))
    .await
    .unwrap();
    assert_eq!(ok_json(a.get("a1".into())).await, "undefined");
    assert_eq!(ok_json(a.meta("a1".into())).await, "undefined");
    assert_eq!(db.checkpoint().await.unwrap().as_deref(), Some("20"));
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_page_that_cannot_be_stored_changes_nothing() {
    let store = fresh().await;
    let db = store.db();
    apply_pulled(db, json!({
        "protocolVersion": 1, "checkpoint": "5", "hasMore": true,
        "changes": [ { "kind": "upsert", "table": "accounts", "key": "a1", "version": "5", "row": { "id": "a1", "name": "Old" } } ]
    }))
    .await
    .unwrap();
    let before = snapshot(&store).await;
    // The second row has no key column, so IndexedDB refuses it: the whole page and its
    // checkpoint must roll back, including the first row's change.
    let err = apply_pulled(db, json!({
            "protocolVersion": 1, "checkpoint": "9", "hasMore": false,
            "changes": [
                { "kind": "upsert", "table": "accounts", "key": "a1", "version": "8", "row": { "id": "a1", "name": "New" } },
                { "kind": "upsert", "table": "accounts", "key": "a2", "version": "9", "row": { "name": "no key" } }
            ]
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code.as_str(), "invalid_argument", "{}", err.message);
    assert_eq!(snapshot(&store).await, before);
    assert_eq!(db.checkpoint().await.unwrap().as_deref(), Some("5"));
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_pending_local_change_keeps_its_row_and_its_base() {
    // The change was made against version 3: pushed against 3 it meets the server's
    // version 8 as a conflict, settled by the table's policy. Were its base moved to 8,
    // the push would overwrite the server's change unseen (protocol §4 rule 3).
    let store = fresh().await;
    let db = store.db();
    let a = store.table("accounts").unwrap();
    apply_pulled(db, json!({
        "protocolVersion": 1, "checkpoint": "3", "hasMore": false,
        "changes": [ { "kind": "upsert", "table": "accounts", "key": "a1", "version": "3", "row": { "id": "a1", "name": "A", "city": "Paris" } } ]
    }))
    .await
    .unwrap();
    ok(a.update("a1".into(), js(r#"{"city":"Lyon"}"#))).await;
    apply_pulled(db, json!({
        "protocolVersion": 1, "checkpoint": "8", "hasMore": false,
        "changes": [ { "kind": "upsert", "table": "accounts", "key": "a1", "version": "8", "row": { "id": "a1", "name": "B", "city": "Paris" } } ]
    }))
    .await
    .unwrap();
    // The user's row is untouched; the pending update still stands against version 3.
    assert_eq!(
        ok_json(a.get("a1".into())).await,
        r#"{"id":"a1","name":"A","city":"Lyon"}"#
    );
    assert_eq!(
        canon(&pending_json(&store).await),
        canon(
            r#"[{"table":"accounts","key":"a1","op":"update","row":{"id":"a1","name":"A","city":"Lyon"},"baseVersion":"3","baseRow":{"id":"a1","name":"A","city":"Paris"}}]"#
        )
    );
    assert_eq!(db.checkpoint().await.unwrap().as_deref(), Some("8"));
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_downloaded_rows_first_local_write_captures_its_base() {
    // Downloaded rows keep no base; the first local write must capture the server's row
    // and a version bound (the checkpoint, or a later settled version), or a conflict
    // would merge against nothing and a refusal would revert to nothing.
    let store = fresh().await;
    let db = store.db();
    let a = store.table("accounts").unwrap();
    apply_pulled(db, json!({
        "protocolVersion": 1, "checkpoint": "12", "hasMore": false,
        "changes": [
            { "kind": "upsert", "table": "accounts", "key": "a1", "version": "3", "row": { "id": "a1", "name": "A" } },
            { "kind": "upsert", "table": "accounts", "key": "a2", "version": "4", "row": { "id": "a2", "name": "B" } },
            { "kind": "upsert", "table": "accounts", "key": "a3", "version": "5", "row": { "id": "a3", "name": "C" } }
        ]
    }))
    .await
    .unwrap();
    // A version known row by row and later than the checkpoint wins over it.
    apply_row(&store, "accounts", "a4", "30", r#"{"id":"a4","name":"D"}"#).await;
    ok(a.bulk_put(js(
        r#"[{"id":"a1","name":"A2"},{"id":"new","name":"N"},{"id":"a4","name":"D2"}]"#,
    )))
    .await;
    ok(a.delete("a2".into())).await;
    // Second writes keep the first capture; a local insert stays an insert.
    ok(a.put(js(r#"{"id":"a1","name":"A3"}"#))).await;
    ok(a.put(js(r#"{"id":"new","name":"N2"}"#))).await;
    assert_eq!(
        canon(&pending_json(&store).await),
        canon(
            r#"[{"table":"accounts","key":"a1","op":"update","row":{"id":"a1","name":"A3"},"baseVersion":"12","baseRow":{"id":"a1","name":"A"}},
                {"table":"accounts","key":"new","op":"insert","row":{"id":"new","name":"N2"},"baseVersion":null,"baseRow":null},
                {"table":"accounts","key":"a4","op":"update","row":{"id":"a4","name":"D2"},"baseVersion":"30","baseRow":{"id":"a4","name":"D"}},
                {"table":"accounts","key":"a2","op":"delete","row":null,"baseVersion":"12","baseRow":{"id":"a2","name":"B"}}]"#
        )
    );
    // A full resync drops the untouched downloaded row and keeps every pending one.
    db.reset_for_resync().await.unwrap();
    assert_eq!(ok_json(a.get("a3".into())).await, "undefined");
    assert_eq!(db.checkpoint().await.unwrap(), None);
    assert_eq!(pending_count(&store).await, 4);
    assert_eq!(
        ok_json(a.get("a1".into())).await,
        r#"{"id":"a1","name":"A3"}"#
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_bulk_write_over_downloaded_rows_captures_each_base() {
    // The bulk path reads key ranges instead of every key: the rows it overwrites must
    // still have their server rows captured, the new ones none, and a local insert not
    // yet pushed must stay an insert.
    let store = fresh().await;
    let db = store.db();
    let a = store.table("accounts").unwrap();
    let changes: Vec<Value> = (0..30)
        .map(|i| json!({ "kind": "upsert", "table": "accounts", "key": format!("k{i:02}"), "version": "2", "row": { "id": format!("k{i:02}"), "n": i } }))
        .collect();
    apply_pulled(
        db,
        json!({ "protocolVersion": 1, "checkpoint": "9", "hasMore": false, "changes": changes }),
    )
    .await
    .unwrap();
    ok(a.put(js(r#"{"id":"k25x","n":-1}"#))).await; // a local insert inside the range
                                                    // 20 rows: k10..k29 exist (downloaded), k25x is pending, z0..z4 are new.
    let mut rows: Vec<Value> = (10..30)
        .map(|i| json!({ "id": format!("k{i:02}"), "n": 100 + i }))
        .collect();
    rows.push(json!({ "id": "k25x", "n": -2 }));
    rows.extend((0..5).map(|i| json!({ "id": format!("z{i}"), "n": i })));
    ok(a.bulk_put(js(&Value::Array(rows).to_string()))).await;
    let pending: Vec<Value> = serde_json::from_str(&pending_json(&store).await).unwrap();
    assert_eq!(pending.len(), 26, "{pending:?}");
    for m in &pending {
        let key = m["key"].as_str().unwrap();
        if key.starts_with('z') || key == "k25x" {
            assert_eq!(m["op"], "insert", "{m}");
            assert_eq!(m["baseRow"], Value::Null, "{m}");
        } else {
            let i: i64 = key[1..].parse().unwrap();
            assert_eq!(m["op"], "update", "{m}");
            assert_eq!(m["baseVersion"], "9", "{m}");
            assert_eq!(m["baseRow"], json!({ "id": key, "n": i }), "{m}");
        }
    }
    // Untouched downloaded rows stay clean.
    assert_eq!(
        ok_json(a.meta("k03".into())).await,
        r#"{"version":"9","pending":false,"deleted":false}"#
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_page_pulled_from_a_checkpoint_the_store_has_left_writes_nothing() {
    use offline_tables::testing::Applied;
    let store = fresh().await;
    let db = store.db();
    apply_pulled(db, json!({
        "protocolVersion": 1, "checkpoint": "10", "hasMore": true,
        "changes": [ { "kind": "upsert", "table": "accounts", "key": "a1", "version": "3", "row": { "id": "a1", "ownerId": "u1" } } ]
    }))
    .await
    .unwrap();
    // A page fetched ahead from checkpoint 5 (another tab moved the store to 10 meanwhile),
    // or from the start after the store was reset: neither may move the checkpoint back.
    let page = offline_tables::testing::Pulled::split(
        &json!({
            "protocolVersion": 1, "checkpoint": "8", "hasMore": false,
            "changes": [ { "kind": "upsert", "table": "accounts", "key": "a1", "version": "7", "row": { "id": "a1", "ownerId": "old" } } ]
        })
        .to_string(),
        &db.profile(),
    )
    .expect("a valid page");
    for asked in [Some("5"), None] {
        let applied = db.apply_page(&page.page, &page.rows, asked).await.unwrap();
        assert_eq!(applied, Applied::Stale, "asked from {asked:?}");
    }
    assert_eq!(db.checkpoint().await.unwrap().as_deref(), Some("10"));
    let a = store.table("accounts").unwrap();
    assert_eq!(
        ok_json(a.get("a1".into())).await,
        r#"{"id":"a1","ownerId":"u1"}"#
    );
}
