//! The server's profile changes while stores are open (through the test server's
//! `POST /_test/profile`): the syncing store fetches it at the next pull, upgrades its
//! schema in place, keeps every row and pending change, and resyncs when the change can
//! bring rows it never pulled (a new table); a second store on the same database (another
//! tab) follows by itself. Alone in its file: it changes the server's profile, and puts
//! the test fixture back before asserting anything.

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen_test::*;

const JUDY: &str = "dev-token-judy";

fn profile_of(store: &OfflineStore) -> Value {
    serde_json::from_str(&json(&store.profile().unwrap())).unwrap()
}

/// The promise's value as JSON, or its error as text: nothing here may panic before the
/// server's profile is put back.
async fn settle(p: Result<js_sys::Promise, offline_tables::Error>) -> String {
    match p {
        Ok(p) => match wasm_bindgen_futures::JsFuture::from(p).await {
            Ok(v) => json(&v),
            Err(e) => format!("rejected: {e:?}"),
        },
        Err(e) => format!("error: {e}"),
    }
}

async fn serve_profile(profile: &Value) -> u16 {
    rest_as(JUDY, "POST", "/_test/profile", Some(&profile.to_string()))
        .await
        .0
}

#[wasm_bindgen_test]
async fn a_newer_server_profile_upgrades_open_stores_and_keeps_everything() {
    // Nothing lost: the row pending before the upgrade is pushed once, rows synced before
    // it are still there, and the new table's rows (older than the checkpoint) arrive.
    let fixture: Value = serde_json::from_str(FIXTURE_PROFILE).unwrap();
    let mut v2 = fixture.clone();
    v2["version"] = json!(2);
    v2["tables"]["notes"]["indexes"] = json!(["ownerId", "text"]);
    v2["tables"]["tags"] =
        json!({ "key": "id", "indexes": ["ownerId"], "scope": { "owner": "ownerId" } });
    let stamp = js_sys::Date::now() as u64;
    let (mine, tag) = (format!("judy-note-{stamp}"), format!("judy-tag-{stamp}"));

    let name = unique_name("profile");
    let a = open_manual(&name, JUDY).await;
    let b = open_manual(&name, JUDY).await; // another tab on the same database
    let first = sync(&a).await;
    let notes_before = ok_json(a.table("notes").unwrap().query(None)).await;
    ok(a.table("notes").unwrap().put(js(&format!(
        r#"{{"id":"{mine}","ownerId":"judy","text":"pending"}}"#
    ))))
    .await;

    // The server moves to version 2, and a row lands in its new table.
    let swapped = serve_profile(&v2).await;
    let (tag_status, _) = rest_as(
        JUDY,
        "POST",
        "/api/data/tags",
        Some(&format!(
            r#"{{"id":"{tag}","ownerId":"judy","label":"urgent"}}"#
        )),
    )
    .await;
    let second = sync(&a).await;
    let profile_a = profile_of(&a);
    let tags_a = settle(
        a.table("tags")
            .map_err(|e| e.0)
            .map(|t| t.get(tag.as_str().into())),
    )
    .await;
    let notes_after = ok_json(a.table("notes").unwrap().query(None)).await;
    let pending_after = pending_count(&a).await;
    let (_, pushed) = rest_as(
        JUDY,
        "GET",
        &format!("/api/data/notes?$filter=id%20eq%20'{mine}'&$count=true"),
        None,
    )
    .await;
    // The other tab reopened on the upgraded database and works on the new table.
    let mut profile_b = profile_of(&b);
    for _ in 0..50 {
        if profile_b["version"] == 2 {
            break;
        }
        pause(20).await;
        profile_b = profile_of(&b);
    }
    let tags_b = settle(
        b.table("tags")
            .map_err(|e| e.0)
            .map(|t| t.get(tag.as_str().into())),
    )
    .await;
    let b_wrote = settle(b.table("notes").map_err(|e| e.0).map(|t| {
        t.put(js(&format!(
            r#"{{"id":"{mine}-b","ownerId":"judy","text":"from b"}}"#
        )))
    }))
    .await;

    // Put the fixture back before asserting, so a failure here cannot leak into others.
    let restored = serve_profile(&fixture).await;
    rest_as(JUDY, "DELETE", &format!("/api/data/tags/{tag}"), None).await;
    rest_as(JUDY, "DELETE", &format!("/api/data/notes/{mine}"), None).await;

    assert_eq!(swapped, 200);
    assert_eq!(restored, 200);
    assert_eq!(tag_status, 201);
    assert_eq!(first["result"], "completed", "{first}");
    assert_eq!(second["result"], "completed", "{second}");
    assert_eq!(second["pushed"], 1, "{second}");
    assert_eq!(profile_a["version"], 2, "{profile_a}");
    assert_eq!(
        profile_a["tables"]["notes"]["indexes"],
        json!(["ownerId", "text"])
    );
    assert!(
        tags_a.contains("urgent"),
        "the new table's older row arrived: {tags_a}"
    );
    assert_eq!(pending_after, 0);
    assert_eq!(pushed["count"], 1, "pushed once: {pushed}");
    let before: Vec<Value> = serde_json::from_str(&notes_before).unwrap();
    let after: Vec<Value> = serde_json::from_str(&notes_after).unwrap();
    for row in &before {
        assert!(
            after.contains(row),
            "{row} kept through the upgrade: {after:?}"
        );
    }
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(
        profile_b["version"], 2,
        "the other tab follows: {profile_b}"
    );
    assert!(tags_b.contains("urgent"), "{tags_b}");
    assert_eq!(
        b_wrote,
        format!("\"{mine}-b\""),
        "the other tab still writes"
    );
    a.close();
    finish(b).await;
}
