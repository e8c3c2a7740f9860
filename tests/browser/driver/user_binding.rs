//! A store is bound to its user: opening another user's store with `user` is refused
//! before anything is read, and syncing it with another user's token pushes and pulls
//! nothing (`user_mismatch`), keeping the first user's pending changes for when they
//! come back. Against the real reference server (users quinn and rosa).

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen_test::*;

const QUINN: &str = "dev-token-quinn";
const ROSA: &str = "dev-token-rosa";

/// Opens `name` on the fixture profile, syncing with `token` only when asked, opened for
/// `user` when given.
async fn try_open_as(
    name: &str,
    token: &str,
    user: Option<&str>,
) -> Result<OfflineStore, offline_tables::Error> {
    let o = manual_options(name, token);
    if let Some(u) = user {
        js_sys::Reflect::set(&o, &"user".into(), &u.into()).unwrap();
    }
    OfflineStore::open_async(o).await
}

async fn open_as(name: &str, token: &str, user: Option<&str>) -> OfflineStore {
    try_open_as(name, token, user)
        .await
        .unwrap_or_else(|e| panic!("open {name} as {user:?}: {e}"))
}

async fn user_of(store: &OfflineStore) -> Value {
    serde_json::from_str(&json(&ok(store.user()).await)).unwrap()
}

#[wasm_bindgen_test]
async fn opening_another_users_store_is_refused_and_changes_nothing() {
    let name = unique_name("bound");
    let store = open_as(&name, QUINN, Some("quinn")).await;
    assert_eq!(user_of(&store).await, json!("quinn"));
    ok(store
        .table("accounts")
        .unwrap()
        .put(js(r#"{"id":"qb-1","ownerId":"quinn","name":"Quinn's"}"#)))
    .await;
    store.close();

    let refused = try_open_as(&name, ROSA, Some("rosa")).await;
    let e = refused.err().expect("rosa opened quinn's store");
    assert_eq!(e.code.as_str(), "user_mismatch", "{e}");
    assert!(e.message.contains("'quinn'"), "{e}");
    assert!(
        OfflineStore::open_async(js(
            r#"{"name":"x","profile":{"version":1,"tables":{}},"user":7}"#
        ))
        .await
        .err()
        .is_some_and(|e| e.code.as_str() == "invalid_argument"),
        "a user that is not a string was taken"
    );

    // Quinn's store is as quinn left it: the row and its pending change.
    let store = open_as(&name, QUINN, Some("quinn")).await;
    assert_eq!(local_ids(&store, "accounts").await, vec!["qb-1"]);
    assert_eq!(pending_count(&store).await, 1);
    finish(store).await;

    // Signing out wipes it; then rosa gets a store of her own under the same name.
    let store = open_as(&name, ROSA, Some("rosa")).await;
    assert_eq!(user_of(&store).await, json!("rosa"));
    assert!(local_ids(&store, "accounts").await.is_empty());
    finish(store).await;
}

#[wasm_bindgen_test]
async fn another_users_token_pushes_and_pulls_nothing_and_the_changes_wait() {
    let name = unique_name("bound-sync");
    // Bound by its first pull: no `user` given.
    let store = open_as(&name, QUINN, None).await;
    assert_eq!(user_of(&store).await, Value::Null);
    assert_eq!(sync(&store).await["result"], "completed");
    assert_eq!(user_of(&store).await, json!("quinn"));
    let table = store.table("accounts").unwrap();
    ok(table.put(js(
        r#"{"id":"qs-1","ownerId":"quinn","name":"written by quinn"}"#,
    )))
    .await;
    store.close();

    // Rosa's token on quinn's store (the app forgot to pass `user`): nothing leaves,
    // nothing comes in, the status says why.
    let store = open_as(&name, ROSA, None).await;
    let r = sync(&store).await;
    assert_eq!(r["result"], "failed", "{r}");
    let status: Value = serde_json::from_str(&json(&store.status().unwrap())).unwrap();
    assert_eq!(status["errorCode"], "user_mismatch", "{status}");
    assert_eq!(status["state"], "unauthorized", "{status}");
    assert_eq!(status["pending"], 1, "{status}");
    let (code, _) = rest_as(QUINN, "GET", "/api/data/accounts/qs-1", None).await;
    assert_eq!(
        code, 404,
        "quinn's change reached the server under rosa's token"
    );
    let (_, rosas) = rest_as(ROSA, "GET", "/api/data/accounts", None).await;
    let rosas: Vec<&str> = rosas["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        !local_ids(&store, "accounts")
            .await
            .iter()
            .any(|id| rosas.contains(&id.as_str())),
        "rosa's rows were pulled into quinn's store"
    );
    assert_eq!(user_of(&store).await, json!("quinn"));
    store.close();

    // Quinn comes back: the change goes out once.
    let store = open_as(&name, QUINN, Some("quinn")).await;
    assert_eq!(sync(&store).await["result"], "completed");
    assert_eq!(pending_count(&store).await, 0);
    let (code, row) = rest_as(QUINN, "GET", "/api/data/accounts/qs-1", None).await;
    assert_eq!(code, 200, "{row}");
    assert_eq!(row["name"], "written by quinn");
    let (code, _) = rest_as(QUINN, "DELETE", "/api/data/accounts/qs-1", None).await;
    assert_eq!(code, 204);
    finish(store).await;
}
