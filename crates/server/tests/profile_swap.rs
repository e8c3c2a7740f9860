//! The served profile changes while the server runs, on every backend: `POST
//! /_test/profile` (with `--test-faults`, so only in a build with the `test-faults`
//! feature) replaces it, `GET /sync/profile` and every pull page's `profileVersion`
//! follow, the handlers enforce the new one, and an invalid profile is refused with the
//! old one kept. (SIGHUP reloading is in `binary.rs`.)

mod common;

use common::*;
use serde_json::{json, Value};

async fn post_profile(ctx: &Ctx, profile: &Value) -> Resp {
    ctx.raw(
        "POST",
        "/_test/profile",
        None,
        Some(profile.to_string().into_bytes()),
    )
    .await
}

#[tokio::test]
async fn a_posted_profile_is_served_enforced_and_announced_in_pulls() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo_with_faults(kind).await;
        let before = ctx.get(ALICE, "/sync/profile").await;
        assert_eq!(before.body["version"], json!(1));
        let page = ctx.pull(ALICE, "c1", None, None).await;
        assert_eq!(page["profileVersion"], json!(1));

        // Version 2: notes become read-only.
        let mut v2 = demo_profile();
        v2["version"] = json!(2);
        v2["tables"]["notes"]["readOnly"] = json!(true);
        let r = post_profile(&ctx, &v2).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let served = ctx.get(ALICE, "/sync/profile").await;
        assert_eq!(served.body, r.body, "the answer is the profile as served");
        assert_eq!(served.body["version"], json!(2));
        assert_eq!(served.body["tables"]["notes"]["readOnly"], json!(true));
        assert_eq!(
            served.body["tables"]["notes"]["syncIntervalSeconds"],
            json!(300)
        );

        let page = ctx
            .pull(ALICE, "c1", page["checkpoint"].as_str(), None)
            .await;
        assert_eq!(page["profileVersion"], json!(2));
        let m = json!({ "id": 1, "table": "notes", "key": "n9", "op": "insert",
                        "row": { "id": "n9", "ownerId": "alice" } });
        let out = ctx.push_one(ALICE, "c1", m).await;
        assert_eq!(out["reason"], "read_only", "{out}");
        ctx.post(
            ALICE,
            "/api/data/notes",
            json!({ "id": "n9", "ownerId": "alice" }),
        )
        .await
        .assert_error(403, "forbidden");
    })
    .await;
}

#[tokio::test]
async fn an_invalid_profile_is_refused_and_the_old_one_kept() {
    let ctx = Ctx::demo_with_faults(Kind::Sqlite).await;
    let mut bad = demo_profile();
    bad["version"] = json!(2);
    bad["tables"]["workorders"]["scope"]["related"]["table"] = json!("acounts");
    let r = post_profile(&ctx, &bad).await;
    r.assert_error(400, "invalid_argument");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("workorders.scope.related.table"),
        "{}",
        r.text
    );
    post_profile(&ctx, &json!({ "version": 3, "tables": {} }))
        .await
        .assert_error(400, "invalid_argument");
    let r = ctx
        .raw("POST", "/_test/profile", None, Some(b"{ not json".to_vec()))
        .await;
    r.assert_error(400, "invalid_argument");

    assert_eq!(
        ctx.get(ALICE, "/sync/profile").await.body["version"],
        json!(1)
    );
    assert_eq!(
        ctx.pull(ALICE, "c1", None, None).await["profileVersion"],
        json!(1)
    );
}

#[tokio::test]
async fn without_test_faults_the_profile_cannot_be_posted() {
    let ctx = Ctx::demo(Kind::Sqlite).await;
    let mut v2 = demo_profile();
    v2["version"] = json!(2);
    post_profile(&ctx, &v2).await.assert_error(404, "not_found");
    assert_eq!(
        ctx.get(ALICE, "/sync/profile").await.body["version"],
        json!(1)
    );
}

#[tokio::test]
async fn a_download_begun_after_a_profile_change_runs_to_its_end() {
    // A new profile rebuilds what is derived from the rows and moves the resync horizon
    // to the counter: a checkpoint given before must resync. A download begun after the
    // change gets checkpoints below that horizon too (its rows are older); those were
    // given after it and must not resync, or a download of more than one page would
    // start over forever (seen in the browser tests: a first download never ended).
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo_with_faults(kind).await;
        let before = ctx.pull(ALICE, "before", None, Some(1)).await;
        assert_eq!(before["hasMore"], json!(true), "{before}");
        // Version 2: a new table, so what is derived from the rows is rebuilt.
        let mut v2 = demo_profile();
        v2["version"] = json!(2);
        v2["tables"]["tags"] =
            json!({ "key": "id", "conflict": "server-wins", "scope": { "owner": "ownerId" } });
        let r = post_profile(&ctx, &v2).await;
        assert_eq!(r.status, 200, "{}", r.text);

        let old = ctx
            .pull(ALICE, "before", before["checkpoint"].as_str(), Some(1))
            .await;
        assert_eq!(
            old["resync"],
            json!(true),
            "a checkpoint from before: {old}"
        );

        let mut checkpoint: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = ctx
                .pull(ALICE, "after", checkpoint.as_deref(), Some(1))
                .await;
            assert_eq!(page["resync"], json!(false), "page {pages}: {page}");
            pages += 1;
            if page["hasMore"] != json!(true) {
                break;
            }
            checkpoint = Some(page["checkpoint"].as_str().unwrap().to_string());
            assert!(pages < 10_000, "the download does not end");
        }
        assert!(pages > 2, "{pages} pages");
        // The client that resynced downloads from the start the same way.
        let again = ctx.pull(ALICE, "before", None, Some(1)).await;
        let next = ctx
            .pull(ALICE, "before", again["checkpoint"].as_str(), Some(1))
            .await;
        assert_eq!(next["resync"], json!(false), "{next}");
    })
    .await;
}
