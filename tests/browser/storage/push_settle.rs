//! Freezing a push batch and settling the server's outcomes: a batch is resent unchanged
//! until answered, ids keep growing, writes made while it was in flight stay pending
//! against the new base, and each conflict policy and rejection leaves the row, the
//! outbox, the conflict list and the error list as specified.

use crate::common::*;
use offline_tables::OfflineStore;
use offline_tables_core::protocol::{Outcome, RejectReason};
use offline_tables_core::MutationOp;
use serde_json::json;
use wasm_bindgen_test::*;

const POLICIES: &str = r#"{ "version": 1, "tables": {
  "sw": { "key": "id", "conflict": "server-wins" },
  "cw": { "key": "id", "conflict": "client-wins" },
  "mg": { "key": "id", "conflict": "merge" },
  "mn": { "key": "id", "conflict": "manual" } } }"#;

fn applied(id: u64, version: &str) -> Outcome {
    Outcome::Applied {
        id,
        version: version.into(),
        key: None,
    }
}

#[wasm_bindgen_test]
async fn a_batch_is_frozen_resent_unchanged_and_settled_around_later_writes() {
    let store = fresh().await;
    let db = store.db();
    let a = store.table("accounts").unwrap();
    apply_row(&store, "accounts", "a1", "3", r#"{"id":"a1","name":"A"}"#).await;
    ok(a.update("a1".into(), js(r#"{"name":"B"}"#))).await;
    ok(a.put(js(r#"{"id":"a2","name":"New"}"#))).await;

    let batch = db.freeze_batch(500).await.unwrap().expect("a batch");
    let ids: Vec<u64> = batch.mutations.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(batch.mutations[0].op, MutationOp::Update);
    assert_eq!(batch.mutations[0].base_version.as_deref(), Some("3"));
    assert_eq!(
        batch.mutations[0].row,
        Some(json!({ "id": "a1", "name": "B" }))
    );
    assert_eq!(batch.mutations[1].op, MutationOp::Insert);
    // No answer yet: the same batch goes again, however often it is asked for.
    assert_eq!(db.freeze_batch(500).await.unwrap(), Some(batch.clone()));

    // The user edits a1 again while the batch is in flight.
    ok(a.update("a1".into(), js(r#"{"name":"C"}"#))).await;
    let settled = db
        .settle_batch(&[applied(2, "11"), applied(1, "10")])
        .await
        .unwrap();
    assert_eq!(
        (settled.applied, settled.conflicts, settled.rejected),
        (2, 0, 0)
    );
    assert_eq!(
        canon(&pending_json(&store).await),
        canon(
            r#"[{"table":"accounts","key":"a1","op":"update","row":{"id":"a1","name":"C"},"baseVersion":"10","baseRow":{"id":"a1","name":"B"}}]"#
        )
    );
    assert_eq!(
        ok_json(a.meta("a2".into())).await,
        r#"{"version":"11","pending":false,"deleted":false}"#
    );
    // The next batch carries only the later write, with the next id.
    let next = db
        .freeze_batch(500)
        .await
        .unwrap()
        .expect("the later write");
    assert_eq!(next.mutations.len(), 1);
    assert_eq!(next.mutations[0].id, 3);
    assert_eq!(next.client_id, batch.client_id);
    db.settle_batch(&[applied(3, "12")]).await.unwrap();
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(db.freeze_batch(500).await.unwrap(), None);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn batches_hold_at_most_the_asked_number_in_write_order() {
    let store = fresh().await;
    let db = store.db();
    let a = store.table("accounts").unwrap();
    for i in 0..5 {
        ok(a.put(js(&format!(r#"{{"id":"k{i}"}}"#)))).await;
    }
    let b = db.freeze_batch(2).await.unwrap().unwrap();
    let keys: Vec<String> = b.mutations.iter().map(|m| format!("{}", m.key)).collect();
    assert_eq!(keys, vec!["'k0'", "'k1'"]);
    db.settle_batch(&[applied(1, "1"), applied(2, "2")])
        .await
        .unwrap();
    assert_eq!(pending_count(&store).await, 3);
    finish(store).await;
}

async fn policy_store() -> OfflineStore {
    let store = open(&unique_name("policies"), POLICIES).await;
    for t in ["sw", "cw", "mg", "mn"] {
        apply_remote(
            &store,
            &[remote(t, skey("r"), "1", Some(r#"{"id":"r","a":1,"b":1}"#))],
        )
        .await;
        ok(store.table(t).unwrap().update("r".into(), js(r#"{"a":2}"#))).await;
    }
    store
}

#[wasm_bindgen_test]
async fn each_conflict_policy_settles_as_specified() {
    let store = policy_store().await;
    let db = store.db();
    let batch = db.freeze_batch(500).await.unwrap().unwrap();
    let server = Some(json!({ "id": "r", "a": 1, "b": 5 }));
    let outcomes: Vec<Outcome> = batch
        .mutations
        .iter()
        .map(|m| Outcome::Conflict {
            id: m.id,
            server_row: server.clone(),
            server_version: Some("7".into()),
        })
        .collect();
    let settled = db.settle_batch(&outcomes).await.unwrap();
    assert_eq!((settled.conflicts, settled.resent), (2, 2));
    let row = |t: &'static str| {
        let store = &store;
        async move { ok_json(store.table(t).unwrap().get("r".into())).await }
    };
    // server-wins: the server's row replaces the local change.
    assert_eq!(row("sw").await, r#"{"id":"r","a":1,"b":5}"#);
    // client-wins: the local row stays and goes again against version 7.
    assert_eq!(row("cw").await, r#"{"id":"r","a":2,"b":1}"#);
    // merge: one-sided changes of both sides, pushed again against version 7.
    assert_eq!(canon(&row("mg").await), canon(r#"{"id":"r","a":2,"b":5}"#));
    // manual: the local row stays as the user left it; the conflict waits for the app.
    assert_eq!(row("mn").await, r#"{"id":"r","a":2,"b":1}"#);
    let pending = pending_json(&store).await;
    assert!(
        pending.contains(r#""table":"cw""#) && pending.contains(r#""table":"mg""#),
        "{pending}"
    );
    assert!(
        !pending.contains(r#""table":"sw""#) && !pending.contains(r#""table":"mn""#),
        "{pending}"
    );
    assert!(pending.contains(r#""baseVersion":"7""#), "{pending}");
    let conflicts = json(&db.conflicts().await.unwrap().into());
    assert_eq!(
        canon(&conflicts),
        canon(
            r#"[{"table":"mn","key":"r","base":{"id":"r","a":1,"b":1},"local":{"id":"r","a":2,"b":1},"server":{"id":"r","a":1,"b":5},"serverVersion":"7","id":1}]"#
        )
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_rejected_mutation_reverts_its_row_and_does_not_block_the_others() {
    let store = fresh().await;
    let db = store.db();
    let a = store.table("accounts").unwrap();
    apply_row(&store, "accounts", "s", "2", r#"{"id":"s","x":1}"#).await;
    ok(a.update("s".into(), js(r#"{"x":2}"#))).await;
    ok(a.put(js(r#"{"id":"n","x":3}"#))).await;
    ok(a.put(js(r#"{"id":"ok","x":4}"#))).await;
    db.freeze_batch(500).await.unwrap().unwrap();
    let settled = db
        .settle_batch(&[
            Outcome::Rejected {
                id: 1,
                reason: RejectReason::Permission,
                message: "not yours".into(),
            },
            Outcome::Rejected {
                id: 2,
                reason: RejectReason::Validation,
                message: "bad".into(),
            },
            applied(3, "9"),
        ])
        .await
        .unwrap();
    assert_eq!((settled.rejected, settled.applied), (2, 1));
    assert_eq!(
        ok_json(a.get("s".into())).await,
        r#"{"id":"s","x":1}"#,
        "back to the server's row"
    );
    assert_eq!(
        ok_json(a.get("n".into())).await,
        "undefined",
        "the server never had it"
    );
    assert_eq!(ok_json(a.get("ok".into())).await, r#"{"id":"ok","x":4}"#);
    assert_eq!(pending_count(&store).await, 0);
    let errors = json(&db.sync_errors().await.unwrap().into());
    assert!(
        errors.contains(r#""reason":"permission","message":"not yours""#),
        "{errors}"
    );
    assert!(errors.contains(r#""key":"n","op":"insert""#), "{errors}");
    finish(store).await;
}

/// Chaos seed 689702900: a change refused on the server goes back to the newest server
/// row the client was sent, not to the older base it was made against. A pull that
/// arrives while the change is pending leaves the local row alone, and its checkpoint
/// passes the server's row, so that row would otherwise never come again.
#[wasm_bindgen_test]
async fn a_refused_change_goes_back_to_the_server_row_pulled_while_it_was_pending() {
    let store = fresh().await;
    let db = store.db();
    let a = store.table("accounts").unwrap();
    apply_row(&store, "accounts", "u", "2", r#"{"id":"u","x":1}"#).await;
    ok(a.update("u".into(), js(r#"{"x":2}"#))).await;
    ok(a.put(js(r#"{"id":"n","x":3}"#))).await;
    apply_row(&store, "accounts", "g", "3", r#"{"id":"g","x":5}"#).await;
    ok(a.update("g".into(), js(r#"{"x":6}"#))).await;
    // One pull before the batch is frozen, one while it is in flight.
    apply_row(&store, "accounts", "u", "7", r#"{"id":"u","x":70}"#).await;
    db.freeze_batch(500).await.unwrap().unwrap();
    apply_row(&store, "accounts", "n", "8", r#"{"id":"n","x":80}"#).await;
    apply_remote(&store, &[remote("accounts", skey("g"), "9", None)]).await;
    assert_eq!(
        ok_json(a.get("u".into())).await,
        r#"{"id":"u","x":2}"#,
        "a pending row keeps its local state"
    );
    let refused = |id| Outcome::Rejected {
        id,
        reason: RejectReason::Transaction,
        message: String::new(),
    };
    let settled = db
        .settle_batch(&[refused(1), refused(2), refused(3)])
        .await
        .unwrap();
    assert_eq!(settled.rejected, 3);
    assert_eq!(ok_json(a.get("u".into())).await, r#"{"id":"u","x":70}"#);
    assert_eq!(ok_json(a.get("n".into())).await, r#"{"id":"n","x":80}"#);
    assert_eq!(ok_json(a.get("g".into())).await, "undefined");
    assert_eq!(
        ok_json(a.meta("u".into())).await,
        r#"{"version":"7","pending":false,"deleted":false}"#
    );
    assert_eq!(
        ok_json(a.meta("n".into())).await,
        r#"{"version":"8","pending":false,"deleted":false}"#
    );
    assert_eq!(pending_count(&store).await, 0);
    finish(store).await;
}
