//! Ownership by team against the reference server (`tests/fixtures/tokens.json`: noor in
//! "north", olaf in "north" and "east"): a row a member writes for the team reaches the
//! other member's device through sync, with its related work order, and the device of a
//! user outside the team never holds it; a write for a team the writer is not in stays a
//! sync error on that device and nowhere else. Users noor, olaf and quinn only, unique
//! keys.

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use serde_json::json;
use wasm_bindgen_test::*;

const NOOR: &str = "dev-token-noor";
const OLAF: &str = "dev-token-olaf";
const QUINN: &str = "dev-token-quinn";

#[wasm_bindgen_test]
async fn a_teams_rows_reach_each_member_and_nobody_else() {
    let noor = open_manual(&unique_name("team-noor"), NOOR).await;
    let olaf = open_manual(&unique_name("team-olaf"), OLAF).await;
    let quinn = open_manual(&unique_name("team-quinn"), QUINN).await;
    for s in [&noor, &olaf, &quinn] {
        synced(s).await;
    }
    let (account, order) = (unique("north-acc"), unique("north-wo"));
    put(
        &noor,
        "accounts",
        json!({ "id": account, "ownerId": "north", "name": "North depot" }),
    )
    .await;
    put(
        &noor,
        "workorders",
        json!({ "id": order, "accountId": account, "status": "open",
                "modifiedOn": js_sys::Date::new_0().to_iso_string().as_string().unwrap() }),
    )
    .await;
    let r = synced(&noor).await;
    assert_eq!(r["pushed"], 2, "{r}");
    assert_eq!(server_rows(NOOR, "accounts", &account).await.len(), 1);

    let r = synced(&olaf).await;
    assert_eq!(
        local(&olaf, "accounts", &account).await["name"],
        "North depot",
        "{r}"
    );
    assert_eq!(
        local(&olaf, "workorders", &order).await["status"],
        "open",
        "{r}"
    );

    synced(&quinn).await;
    assert!(local(&quinn, "accounts", &account).await.is_null());
    assert!(local(&quinn, "workorders", &order).await.is_null());
    assert!(server_rows(QUINN, "accounts", &account).await.is_empty());

    // olaf's other team is his alone here; noor's write for it is refused by the server
    // and kept on her device as a sync error.
    let east = unique("east-acc");
    put(&noor, "accounts", json!({ "id": east, "ownerId": "east" })).await;
    synced(&noor).await;
    let errors = list(noor.sync_errors()).await;
    assert!(
        errors.iter().any(|e| e["key"] == json!(east)),
        "a sync error for {east}: {errors:?}"
    );
    assert!(server_rows(OLAF, "accounts", &east).await.is_empty());

    for s in [noor, olaf, quinn] {
        finish(s).await;
    }
}
