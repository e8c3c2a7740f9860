//! `POST /sync/pull`: paging and checkpoints, the protocol checks (version, checkpoint,
//! limit, client ids, unknown fields) and the tombstone horizon, on every backend.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn pages_deliver_every_row_in_scope_exactly_once() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let top = ctx.counter().await;

        // The first page holds two of alice's changes (a0, a2: bob's a1 between them is
        // in no bucket of hers, so it takes no room) and says there is more.
        let first = ctx.pull(ALICE, "alice-1", None, Some(2)).await;
        assert_eq!(
            describe_all(first["changes"].as_array().unwrap()),
            strs(&["upsert accounts a0", "upsert accounts a2"])
        );
        assert_eq!(first["checkpoint"], first["changes"][1]["version"]);
        assert_eq!(first["hasMore"], json!(true));
        assert_eq!(first["resync"], json!(false));

        let mut alice = Replica::new(ALICE, "alice-1");
        let changes = alice.sync(&ctx, Some(2)).await;
        assert_eq!(
            describe_all(&changes),
            strs(&[
                "upsert accounts a0",
                "upsert accounts a2",
                "upsert accounts a4",
                "upsert drafts d0",
                "upsert drafts d5",
                "upsert notes n0",
                "upsert notes n5",
                "upsert products p0",
                "upsert products p1",
                "upsert products p2",
                "upsert workorders w10",
                "upsert workorders w2",
                "upsert workorders w6",
            ]),
            "{kind:?}: owner scope, related + window scope, all scope"
        );
        // Ordered by version, each row at its stored version and state.
        let versions: Vec<u64> = changes
            .iter()
            .map(|c| checkpoint_num(&c["version"]))
            .collect();
        assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
        for table in ["accounts", "workorders", "products"] {
            let server = ctx.server_rows(table).await;
            for key in alice.keys(table) {
                assert_eq!(alice.row(table, &key), server.get(&key), "{table} {key}");
            }
        }
        assert_eq!(alice.checkpoint.as_deref(), Some(top.to_string().as_str()));

        // Up to date: an empty page at the same checkpoint.
        let again = ctx
            .pull(ALICE, "alice-1", alice.checkpoint.as_deref(), Some(2))
            .await;
        assert_eq!(again["changes"], json!([]));
        assert_eq!(again["hasMore"], json!(false));
        assert_eq!(again["checkpoint"], json!(top.to_string()));

        // Bob: his accounts, all six of their (recent) work orders, the products, two notes, two drafts.
        let mut bob = Replica::new(BOB, "bob-1");
        let changes = bob.sync(&ctx, Some(1000)).await;
        assert_eq!(changes.len(), 16);
        assert_eq!(bob.keys("accounts"), strs(&["a1", "a3", "a5"]));
        assert_eq!(
            bob.keys("workorders"),
            strs(&["w1", "w11", "w3", "w5", "w7", "w9"])
        );
        // Carol owns no account: the products, her two notes and two drafts, no work order.
        let carol = Replica::synced(&ctx, CAROL, "carol-1").await;
        assert_eq!(carol.rows.len(), 7);
        assert_eq!(carol.keys("products"), strs(&["p0", "p1", "p2"]));
        assert!(carol.keys("workorders").is_empty());

        // A limit above the cap is served, not refused.
        let big = ctx.pull(BOB, "bob-2", None, Some(1_000_000)).await;
        assert_eq!(big["changes"].as_array().unwrap().len(), 16);
        assert_eq!(big["hasMore"], json!(false));
    })
    .await;
}

#[tokio::test]
async fn pages_stay_consistent_while_rows_change_between_them() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let mut alice = Replica::new(ALICE, "alice-1");
        let page = ctx.pull(ALICE, "alice-1", None, Some(3)).await;
        alice.apply(&page);
        // A row already sent changes, and a new one appears, before the next page.
        let v0 = ctx
            .admin_put(
                "accounts",
                json!({ "id": "a0", "name": "Renamed", "ownerId": "alice" }),
            )
            .await;
        let v9 = ctx
            .admin_put("accounts", json!({ "id": "a9", "ownerId": "alice" }))
            .await;
        alice.sync(&ctx, Some(3)).await;
        assert_eq!(alice.row("accounts", "a0").unwrap().0, v0.to_string());
        assert_eq!(alice.row("accounts", "a0").unwrap().1["name"], "Renamed");
        assert_eq!(alice.row("accounts", "a9").unwrap().0, v9.to_string());
        assert_eq!(alice.rows.len(), 14);
    })
    .await;
}

#[tokio::test]
async fn protocol_version_checkpoint_and_limit_are_checked() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        for v in [0, 2, 99] {
            let mut pull = pull_body("c1");
            pull["protocolVersion"] = json!(v);
            let r = ctx.post_pull(ALICE, pull).await;
            r.assert_error(400, "unsupported_protocol");
        }
        // A push may say 2 (it holds units or temporary keys); 3 and beyond are too new.
        for v in [0, 3, 99] {
            let mut push = push_body("c1", json!([insert_account(1, "n1", "alice")]));
            push["protocolVersion"] = json!(v);
            let r = ctx.post_push(ALICE, push).await;
            r.assert_error(400, "unsupported_protocol");
        }
        let bad: Vec<Value> = vec![
            json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": "abc" }),
            json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": "-1" }),
            json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": "1.5" }),
            json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": "99999999999999999999999" }),
            json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": 5 }),
            json!({ "protocolVersion": 1, "clientId": "c1", "limit": 0 }),
            json!({ "protocolVersion": 1, "clientId": "c1", "limit": -1 }),
            json!({ "protocolVersion": 1, "clientId": "c1", "limit": "10" }),
            json!({ "protocolVersion": 1, "clientId": "" }),
            json!({ "protocolVersion": 1, "clientId": 7 }),
            json!({ "protocolVersion": 1 }),
            json!({ "clientId": "c1" }),
        ];
        for body in bad {
            let r = ctx.post_pull(ALICE, body.clone()).await;
            assert_eq!(r.status, 400, "{body} -> {}", r.text);
            r.assert_error(400, "invalid_argument");
        }
        ctx.assert_unchanged(&before, "something was written").await;

        // Unknown fields are ignored, at the top and in mutations.
        let future = json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": null,
                             "futureField": { "x": [1, 2] }, "compression": "zstd" });
        let r = ctx.post_pull(ALICE, future).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["changes"].as_array().unwrap().len(), 13);
        let m = json!({ "id": 1, "table": "accounts", "key": "n1", "op": "insert",
                        "row": { "id": "n1", "ownerId": "alice" }, "priority": "high",
                        "clientTimestamp": 12345 });
        let out = ctx.push_one(ALICE, "c1", m).await;
        assert_eq!(out["status"], "applied", "{out}");
    })
    .await;
}

#[tokio::test]
async fn a_client_id_belongs_to_its_first_user() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        ctx.pull(ALICE, "shared", None, None).await;
        let before = ctx.snapshot().await;
        let r = ctx.post_pull(BOB, pull_body("shared")).await;
        r.assert_error(403, "user_mismatch");
        let push = push_body("shared", json!([insert_account(1, "b9", "bob")]));
        let r = ctx.post_push(BOB, push).await;
        r.assert_error(403, "user_mismatch");
        ctx.assert_unchanged(&before, "the refused push wrote")
            .await;
        // First use by push claims it too.
        ctx.push(BOB, "bobs", json!([])).await;
        let r = ctx.post_pull(ALICE, pull_body("bobs")).await;
        r.assert_error(403, "user_mismatch");
        // The owner still can.
        assert_eq!(
            ctx.pull(ALICE, "shared", None, None).await["changes"]
                .as_array()
                .unwrap()
                .len(),
            13
        );
    })
    .await;
}

/// A store names its user in pulls and pushes: a token of another user (someone else
/// signed in on the same browser) is refused before anything is read or written, even
/// for a client id the server has never seen (a server restored from an old backup).
#[tokio::test]
async fn a_request_naming_another_user_is_refused_and_changes_nothing() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let mut pull = pull_body("fresh");
        pull["user"] = json!("alice");
        let r = ctx.post_pull(BOB, pull.clone()).await;
        r.assert_error(403, "user_mismatch");
        assert!(r.text.contains("'alice'"), "{}", r.text);
        let mut push = push_body("fresh", json!([insert_account(1, "b9", "bob")]));
        push["user"] = json!("alice");
        let r = ctx.post_push(BOB, push).await;
        r.assert_error(403, "user_mismatch");
        ctx.assert_unchanged(&before, "a refused request wrote")
            .await;
        // The right user passes, and every pull answer says whose token it was.
        let r = ctx.post_pull(ALICE, pull).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
        assert_eq!(r.body["user"], "alice");
    })
    .await;
}

#[tokio::test]
async fn purged_tombstones_make_older_checkpoints_resync() {
    for_each_backend(|kind| async move {
        let (ctx, early) = Ctx::demo_with_replica(kind, ALICE, "early").await;
        let old_checkpoint = early.checkpoint.clone().unwrap();

        let r = ctx.delete(ALICE, "/api/data/accounts/a4").await;
        assert_eq!(r.status, 204, "{}", r.text);
        let late = Replica::synced(&ctx, ALICE, "late").await;

        // Nothing is old enough yet: no purge, no resync.
        assert_eq!(ctx.db.purge_tombstones(NOW - 30 * DAY).await.unwrap(), 0);
        let page = ctx.pull(ALICE, "early", Some(&old_checkpoint), None).await;
        assert_eq!(page["resync"], json!(false));

        ctx.advance(31 * DAY);
        let purged = ctx.db.purge_tombstones(NOW + DAY).await.unwrap();
        assert_eq!(purged, 1);
        let page = ctx.pull(ALICE, "early", Some(&old_checkpoint), None).await;
        assert_eq!(page["resync"], json!(true), "{page}");
        assert_eq!(page["changes"], json!([]));
        assert_eq!(page["hasMore"], json!(false));

        // A checkpoint taken after the deletion is still good.
        let page = ctx
            .pull(ALICE, "late", late.checkpoint.as_deref(), None)
            .await;
        assert_ne!(page["resync"], json!(true), "{page}");

        // Starting over works and no longer has the deleted row.
        let fresh = Replica::synced(&ctx, ALICE, "early").await;
        assert_eq!(fresh.keys("accounts"), strs(&["a0", "a2"]));
    })
    .await;
}

#[tokio::test]
async fn a_checkpoint_the_server_never_gave_makes_the_client_resync() {
    // protocol.md §4: resync when the checkpoint is newer than anything the server knows
    // (e.g. a database restored from a backup).
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let top = ctx.counter().await;
        let page = ctx
            .pull(ALICE, "c1", Some(&(top + 1000).to_string()), None)
            .await;
        assert_eq!(page["resync"], json!(true), "{kind:?}: {page}");
        assert_eq!(page["changes"], json!([]));
        assert_eq!(page["hasMore"], json!(false));
    })
    .await;
}
