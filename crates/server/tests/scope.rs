//! Row scope on pull, on every backend: owner, related, modifiedWithinDays (aging out as
//! the clock moves), filter, anyOf and "all"; deletes reach only the clients that held
//! the row; move-out and move-in, with related children following their parent.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn rows_age_out_of_a_time_window_and_come_back_when_touched() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let mut bob = Replica::synced(&ctx, BOB, "bob-1").await;
        assert_eq!(alice.keys("workorders"), strs(&["w10", "w2", "w6"]));
        let before = checkpoint_num(&json!(alice.checkpoint.clone().unwrap()));

        // Nothing changes while the window still holds them (25 days later).
        ctx.advance(25 * DAY);
        assert_eq!(
            alice.sync(&ctx, None).await,
            Vec::<serde_json::Value>::new()
        );
        // 2026-11-20T20:02 + 30 days has passed on 2026-12-21.
        ctx.advance(DAY);
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&[
                "remove workorders w10 scope",
                "remove workorders w2 scope",
                "remove workorders w6 scope",
            ]),
            "{kind:?}"
        );
        for c in &changes {
            assert!(
                checkpoint_num(&c["version"]) > before,
                "removal at a new version: {c}"
            );
        }
        assert!(alice.keys("workorders").is_empty());
        assert_eq!(alice.keys("accounts").len(), 3, "the accounts stay");
        // Said once.
        assert!(alice.sync(&ctx, None).await.is_empty());
        assert_eq!(bob.sync(&ctx, None).await.len(), 6, "bob's six age out too");
        // Out of scope for REST and for a fresh client as well.
        ctx.get(ALICE, "/api/data/workorders/w2")
            .await
            .assert_error(404, "not_found");
        let fresh = Replica::synced(&ctx, ALICE, "alice-2").await;
        assert!(fresh.keys("workorders").is_empty());

        // A fresh modifiedOn brings w2 back, and the old w0 in for the first time.
        for (id, account) in [("w2", "a2"), ("w0", "a0")] {
            ctx.admin_put(
                "workorders",
                json!({ "id": id, "accountId": account, "modifiedOn": "2026-12-21T00:00:00Z" }),
            )
            .await;
        }
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&["upsert workorders w0", "upsert workorders w2"])
        );
    })
    .await;
}

#[tokio::test]
async fn deletes_reach_only_the_clients_that_held_the_row() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let mut bob = Replica::synced(&ctx, BOB, "bob-1").await;

        // Alice deletes a0 through REST: its recent child w6 leaves her scope with it.
        let r = ctx.delete(ALICE, "/api/data/accounts/a0").await;
        assert_eq!(r.status, 204);
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&["remove accounts a0 deleted", "remove workorders w6 scope"]),
            "{kind:?}"
        );
        // Bob never held either: he hears nothing, though his checkpoint moves on.
        let bob_before = bob.checkpoint.clone();
        assert!(bob.sync(&ctx, None).await.is_empty());
        assert_ne!(bob.checkpoint, bob_before);
        // Nor does a client that starts after the delete.
        let mut late = Replica::new(ALICE, "alice-2");
        let changes = late.sync(&ctx, None).await;
        assert!(changes.iter().all(|c| c["kind"] == "upsert"), "{changes:?}");
        assert_eq!(late.keys("accounts"), strs(&["a2", "a4"]));

        // Another of alice's clients deletes a2 by push; her first client hears of it.
        let base = alice.version("accounts", "a2");
        let m = json!({ "id": 1, "table": "accounts", "key": "a2", "op": "delete", "baseVersion": base });
        let out = ctx.push_one(ALICE, "alice-3", m).await;
        assert_eq!(out["status"], "applied", "{out}");
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&["remove accounts a2 deleted", "remove workorders w2 scope"])
        );

        // A row of an "all" table deleted on the server reaches everyone.
        ctx.admin_delete("products", json!("p1")).await;
        for replica in [&mut alice, &mut bob] {
            let changes = replica.sync(&ctx, None).await;
            assert_eq!(describe_all(&changes), strs(&["remove products p1 deleted"]));
        }
    })
    .await;
}

#[tokio::test]
async fn an_owner_change_moves_the_row_and_its_children_out_and_in() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let mut bob = Replica::synced(&ctx, BOB, "bob-1").await;
        let alice_cp = checkpoint_num(&json!(alice.checkpoint.clone().unwrap()));

        // An administrator hands a2 to bob: its recent work order w2 follows (w8 is too
        // old for anyone).
        let a2 = json!({ "id": "a2", "name": "Account 2", "city": "Nice", "ownerId": "bob" });
        ctx.admin_put("accounts", a2).await;
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&["remove accounts a2 scope", "remove workorders w2 scope"]),
            "{kind:?}: move-out"
        );
        assert!(changes
            .iter()
            .all(|c| checkpoint_num(&c["version"]) > alice_cp));
        let changes = bob.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&["upsert accounts a2", "upsert workorders w2"]),
            "{kind:?}: move-in brings the children"
        );
        assert_eq!(bob.row("workorders", "w2").unwrap().1["accountId"], "a2");
        let server = ctx.server_rows("workorders").await;
        assert_eq!(bob.row("workorders", "w2"), server.get("w2"));

        // And back.
        let a2 = json!({ "id": "a2", "name": "Account 2", "city": "Nice", "ownerId": "alice" });
        ctx.admin_put("accounts", a2).await;
        assert_eq!(
            describe_all(&alice.sync(&ctx, None).await),
            strs(&["upsert accounts a2", "upsert workorders w2"])
        );
        assert_eq!(
            describe_all(&bob.sync(&ctx, None).await),
            strs(&["remove accounts a2 scope", "remove workorders w2 scope"])
        );
        assert_eq!(alice.keys("workorders"), strs(&["w10", "w2", "w6"]));
        assert_eq!(bob.keys("accounts"), strs(&["a1", "a3", "a5"]));

        // A change to a column no scope reads does not touch the children.
        let counter = ctx.counter().await;
        let a2 = json!({ "id": "a2", "name": "Renamed", "city": "Nice", "ownerId": "alice" });
        ctx.admin_put("accounts", a2).await;
        assert_eq!(ctx.counter().await, counter + 1);
        assert_eq!(
            describe_all(&alice.sync(&ctx, None).await),
            strs(&["upsert accounts a2"])
        );
    })
    .await;
}

fn manager_profile() -> serde_json::Value {
    json!({ "version": 1, "tables": {
        "accounts": { "key": "id", "conflict": "merge",
            "scope": { "anyOf": [ { "owner": "ownerId" }, { "owner": "managerId" } ] } },
        "workorders": { "key": "id",
            "scope": { "related": { "table": "accounts", "column": "accountId" } } } } })
}

#[tokio::test]
async fn a_manager_reassigning_an_account_moves_it_out_of_the_old_owners_scope() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::new(kind, manager_profile(), 1 << 20).await;
        ctx.seed(&json!({
            "accounts": [
                { "id": "x1", "ownerId": "alice", "managerId": "carol" },
                { "id": "x2", "ownerId": "bob", "managerId": "carol" },
                { "id": "x3", "ownerId": "alice", "managerId": "dave" } ],
            "workorders": [
                { "id": 1, "accountId": "x1" }, { "id": 2, "accountId": "x2" },
                { "id": 3, "accountId": "x3" }, { "id": 4, "accountId": "nowhere" } ] }))
            .await;
        let mut alice = Replica::synced(&ctx, ALICE, "alice-1").await;
        assert_eq!(alice.keys("accounts"), strs(&["x1", "x3"]));
        assert_eq!(alice.keys("workorders"), strs(&["1", "3"]));
        let mut carol = Replica::synced(&ctx, CAROL, "carol-1").await;
        assert_eq!(carol.keys("accounts"), strs(&["x1", "x2"]));

        // Carol, the manager, gives x1 to bob through REST: still hers to see.
        let r = ctx
            .patch(CAROL, "/api/data/accounts/x1", json!({ "ownerId": "bob" }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            describe_all(&alice.sync(&ctx, None).await),
            strs(&["remove accounts x1 scope", "remove workorders 1 scope"]),
            "{kind:?}"
        );
        assert_eq!(
            describe_all(&carol.sync(&ctx, None).await),
            strs(&["upsert accounts x1", "upsert workorders 1"])
        );
        let bob = Replica::synced(&ctx, BOB, "bob-1").await;
        assert_eq!(bob.keys("accounts"), strs(&["x1", "x2"]));
        assert_eq!(bob.keys("workorders"), strs(&["1", "2"]));

        // Alice cannot do the same to x3 (dave manages it): it would leave her scope.
        let before = ctx.snapshot().await;
        ctx.patch(ALICE, "/api/data/accounts/x3", json!({ "ownerId": "bob" }))
            .await
            .assert_error(403, "forbidden");
        let base = alice.version("accounts", "x3");
        let m = json!({ "id": 1, "table": "accounts", "key": "x3", "op": "update",
                        "columns": { "ownerId": "bob" }, "baseVersion": base });
        let out = ctx.push_one(ALICE, "alice-1", m).await;
        assert_eq!(out["status"], "rejected");
        assert_eq!(out["reason"], "permission");
        let after = ctx.snapshot().await;
        assert_eq!(before[..before.len() - 1], after[..after.len() - 1]);
    })
    .await;
}

#[tokio::test]
async fn filter_any_of_and_all_scopes() {
    for_each_backend(|kind| async move {
        let profile = json!({ "version": 1, "tables": {
            "tickets": { "key": "id",
                "scope": { "anyOf": [ { "owner": "assignee" }, { "filter": "priority eq 'urgent'" } ] } },
            "notes": { "key": "id", "scope": { "owner": "author", "filter": "public eq true" } },
            "codes": { "key": "id", "scope": "all" } } });
        let ctx = Ctx::new(kind, profile, 1 << 20).await;
        ctx.seed(&json!({
            "tickets": [
                { "id": "t1", "assignee": "alice", "priority": "low" },
                { "id": "t2", "assignee": "bob", "priority": "urgent" },
                { "id": "t3", "assignee": "bob", "priority": "low" } ],
            "notes": [
                { "id": "n1", "author": "alice", "public": true },
                { "id": "n2", "author": "alice", "public": false },
                { "id": "n3", "author": "bob", "public": true } ],
            "codes": [ { "id": 1, "v": "x" }, { "id": "1", "v": "y" } ] }))
        .await;
        let mut alice = Replica::new(ALICE, "alice-1");
        let first = alice.sync(&ctx, None).await;
        assert_eq!(alice.keys("tickets"), strs(&["t1", "t2"]), "{kind:?}");
        assert_eq!(alice.keys("notes"), strs(&["n1"]), "AND-ed conditions");
        // "all": both codes, numeric 1 and string "1", as different keys.
        let mut codes: Vec<String> = first
            .iter()
            .filter(|c| c["table"] == "codes")
            .map(|c| c["key"].to_string())
            .collect();
        codes.sort();
        assert_eq!(codes, ["\"1\"", "1"]);
        let carol = Replica::synced(&ctx, CAROL, "carol-1").await;
        assert_eq!(carol.keys("tickets"), strs(&["t2"]));
        assert!(carol.keys("notes").is_empty());

        ctx.admin_put("tickets", json!({ "id": "t3", "assignee": "bob", "priority": "urgent" }))
            .await;
        ctx.admin_put("tickets", json!({ "id": "t2", "assignee": "bob", "priority": "low" }))
            .await;
        ctx.admin_put("notes", json!({ "id": "n2", "author": "alice", "public": true }))
            .await;
        ctx.admin_put("notes", json!({ "id": "n1", "author": "alice", "public": false }))
            .await;
        assert_eq!(
            describe_all(&alice.sync(&ctx, None).await),
            strs(&[
                "remove notes n1 scope",
                "remove tickets t2 scope",
                "upsert notes n2",
                "upsert tickets t3",
            ])
        );
        // REST lists the same rows.
        let r = ctx.get(ALICE, "/api/data/tickets").await;
        let ids: Vec<_> = r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["t1", "t3"]);
    })
    .await;
}

#[tokio::test]
async fn children_age_out_with_a_windowed_parent() {
    for_each_backend(|kind| async move {
        let profile = json!({ "version": 1, "tables": {
            "projects": { "key": "id",
                "scope": { "modifiedWithinDays": { "column": "updatedOn", "days": 10 } } },
            "tasks": { "key": "id",
                "scope": { "related": { "table": "projects", "column": "projectId" } } } } });
        let ctx = Ctx::new(kind, profile, 1 << 20).await;
        ctx.seed(&json!({
            "projects": [
                { "id": "old", "updatedOn": NOW - 5 * DAY },
                { "id": "new", "updatedOn": "2026-11-24T12:00:00Z" } ],
            "tasks": [
                { "id": 1, "projectId": "old" }, { "id": 2, "projectId": "new" },
                { "id": 3, "projectId": "old" } ] }))
            .await;
        let mut alice = Replica::new(ALICE, "alice-1");
        assert_eq!(alice.sync(&ctx, Some(2)).await.len(), 5, "{kind:?}");
        ctx.advance(6 * DAY); // "old" is 11 days old now, "new" 6.5 days.
        assert_eq!(
            describe_all(&alice.sync(&ctx, Some(2)).await),
            strs(&[
                "remove projects old scope",
                "remove tasks 1 scope",
                "remove tasks 3 scope"
            ]),
            "{kind:?}"
        );
        assert_eq!(alice.keys("tasks"), strs(&["2"]));
        assert!(alice.sync(&ctx, None).await.is_empty());
    })
    .await;
}
