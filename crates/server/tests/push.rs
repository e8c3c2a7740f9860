//! `POST /sync/push`, on every backend: applied mutations and their versions, conflicts,
//! `client-wins`, rejections (read-only, permission, validation), exactly-once replay.

mod common;

use common::*;
use serde_json::{json, Value};

fn version_of(o: &Value) -> u64 {
    checkpoint_num(&o["version"])
}

#[tokio::test]
async fn inserts_updates_and_deletes_apply_at_new_versions() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let base = |k: &str| alice.version("accounts", k);
        let top = ctx.counter().await as u64;
        let batch = json!([
            { "id": 1, "table": "accounts", "key": "a9", "op": "insert",
              "row": { "id": "a9", "name": "New", "ownerId": "alice" }, "baseVersion": null },
            { "id": 2, "table": "accounts", "key": "a0", "op": "update",
              "columns": { "city": "Lyon", "phone": null }, "baseVersion": base("a0") },
            { "id": 3, "table": "accounts", "key": "a2", "op": "update",
              "row": { "id": "a2", "name": "Whole", "ownerId": "alice" }, "baseVersion": base("a2") },
            { "id": 4, "table": "accounts", "key": "a4", "op": "delete", "baseVersion": base("a4") },
            // Sees the insert above: a9 is in scope inside the same batch.
            { "id": 5, "table": "workorders", "key": 500, "op": "insert",
              "row": { "id": 500, "accountId": "a9", "modifiedOn": "2026-11-24T10:00:00Z" } }
        ]);
        let out = ctx.push(ALICE, "alice-1", batch).await;
        for (i, o) in out.iter().enumerate() {
            assert_eq!(o["status"], "applied", "{kind:?} mutation {}: {o}", i + 1);
            assert_eq!(o["id"], json!(i + 1));
        }
        let versions: Vec<u64> = out.iter().map(version_of).collect();
        assert!(versions[0] > top && versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");

        // The client deleted a4 itself: only the child it still holds is removed.
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&[
                "remove workorders w10 scope",
                "upsert accounts a0",
                "upsert accounts a2",
                "upsert accounts a9",
                "upsert workorders 500",
            ])
        );
        let row = |t: &str, k: &str| alice.row(t, k).unwrap().clone();
        assert_eq!(row("accounts", "a9").0, versions[0].to_string());
        assert_eq!(row("accounts", "a0").0, versions[1].to_string());
        assert_eq!(
            row("accounts", "a0").1,
            json!({ "id": "a0", "name": "Account 0", "city": "Lyon", "ownerId": "alice", "phone": null }),
            "columns merge onto the server's row"
        );
        assert_eq!(
            row("accounts", "a2").1,
            json!({ "id": "a2", "name": "Whole", "ownerId": "alice" }),
            "a whole row replaces it"
        );
        assert_eq!(row("workorders", "500").0, versions[4].to_string());
        let r = ctx.get(ALICE, "/api/data/accounts/a0").await;
        assert_eq!(r.etag(), Some(versions[1].to_string()));

        // An empty push is fine.
        assert!(ctx.push(ALICE, "alice-1", json!([])).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn stale_or_missing_bases_conflict_with_the_servers_row() {
    for_each_backend(|kind| async move {
        let (ctx, alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let stale = alice.version("accounts", "a0");
        let a0 = json!({ "id": "a0", "name": "Changed", "ownerId": "alice" });
        let v0 = ctx.admin_put("accounts", a0.clone()).await;
        let a4_base = alice.version("accounts", "a4");
        ctx.admin_delete("accounts", json!("a4")).await;
        let a2 = alice.row("accounts", "a2").unwrap().clone();
        let before = ctx.snapshot().await;

        let batch = json!([
             { "id": 1, "table": "accounts", "key": "a0", "op": "update",
               "columns": { "city": "Lyon" }, "baseVersion": stale },
             { "id": 2, "table": "accounts", "key": "a0", "op": "delete", "baseVersion": stale },
             { "id": 3, "table": "accounts", "key": "a2", "op": "insert",
               "row": { "id": "a2", "ownerId": "alice" } },
             { "id": 4, "table": "accounts", "key": "zz", "op": "update",
               "columns": { "city": "Lyon" }, "baseVersion": "1" },
             { "id": 5, "table": "accounts", "key": "zz", "op": "delete", "baseVersion": "1" },
             { "id": 6, "table": "accounts", "key": "a4", "op": "update",
               "columns": { "city": "Lyon" }, "baseVersion": a4_base },
             { "id": 7, "table": "accounts", "key": "a2", "op": "update",
               "columns": { "city": "Lyon" } }

        ]);

        let out = ctx.push(ALICE, "alice-1", batch).await;
        let conflict = |o: &Value, row: Value, version: Option<String>| {
            assert_eq!(o["status"], "conflict", "{kind:?}: {o}");
            assert_eq!(o["serverRow"], row, "{o}");
            assert_eq!(o["serverVersion"], json!(version), "{o}");
        };
        conflict(&out[0], a0.clone(), Some(v0.to_string()));
        conflict(&out[1], a0, Some(v0.to_string()));
        conflict(&out[2], a2.1.clone(), Some(a2.0.clone()));
        conflict(&out[3], Value::Null, None);
        conflict(&out[4], Value::Null, None);
        conflict(&out[5], Value::Null, None);
        conflict(&out[6], a2.1, Some(a2.0));
        let after = ctx.snapshot().await;
        assert_eq!(before, after, "conflicts write nothing");

        // A tombstone is no live row: inserting over it applies.
        let m = json!({ "id": 8, "table": "accounts", "key": "a4", "op": "insert",
                        "row": { "id": "a4", "ownerId": "alice" } });
        let out = ctx.push_one(ALICE, "alice-1", m).await;
        assert_eq!(out["status"], "applied", "{out}");
    })
    .await;
}

#[tokio::test]
async fn a_checkpoint_the_client_had_applied_serves_as_base_version() {
    // Clients send, for a row downloaded and not edited since, the checkpoint of the
    // pulls they applied: the row cannot have changed at or before it unseen.
    for_each_backend(|kind| async move {
        let (ctx, alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let checkpoint = alice.checkpoint.clone().unwrap();
        let a2 = alice.version("accounts", "a2");
        assert!(a2.parse::<i64>().unwrap() < checkpoint.parse::<i64>().unwrap());
        let m = json!({ "id": 1, "table": "accounts", "key": "a2", "op": "update",
                        "columns": { "city": "Lyon" }, "baseVersion": checkpoint });
        let out = ctx.push_one(ALICE, "alice-1", m).await;
        assert_eq!(out["status"], "applied", "{kind:?}: {out}");

        // A change after that checkpoint is a conflict.
        let changed = ctx
            .admin_put(
                "accounts",
                json!({ "id": "a0", "name": "Changed", "ownerId": "alice" }),
            )
            .await;
        let m = json!({ "id": 2, "table": "accounts", "key": "a0", "op": "update",
                        "columns": { "city": "Lyon" }, "baseVersion": checkpoint });
        let out = ctx.push_one(ALICE, "alice-1", m).await;
        assert_eq!(out["status"], "conflict", "{kind:?}: {out}");
        assert_eq!(out["serverVersion"], json!(changed.to_string()));
    })
    .await;
}

#[tokio::test]
async fn client_wins_tables_apply_despite_stale_bases() {
    for_each_backend(|kind| async move {
        let profile = json!({ "version": 1, "tables": {
            "notes": { "key": "id", "conflict": "client-wins", "scope": { "owner": "author" } } } });
        let ctx = Ctx::new(kind, profile, 1 << 20).await;
        ctx.seed(&json!({ "notes": [
            { "id": "n1", "author": "alice", "text": "one", "tag": "x" },
            { "id": "n2", "author": "alice", "text": "two" },
            { "id": "b1", "author": "bob", "text": "bob's" } ] }))
        .await;
        ctx.admin_put("notes", json!({ "id": "n1", "author": "alice", "text": "server", "tag": "y" }))
            .await;
        let top = ctx.counter().await as u64;
        let batch = json!([
            { "id": 1, "table": "notes", "key": "n1", "op": "update",
              "columns": { "text": "mine" }, "baseVersion": "1" },
            { "id": 2, "table": "notes", "key": "n2", "op": "insert",
              "row": { "id": "n2", "author": "alice", "text": "replaced" } },
            { "id": 3, "table": "notes", "key": "n9", "op": "update",
              "row": { "id": "n9", "author": "alice", "text": "re-created" }, "baseVersion": "5" },
            { "id": 4, "table": "notes", "key": "n8", "op": "update",
              "columns": { "text": "nothing to merge onto" }, "baseVersion": "5" },
            { "id": 5, "table": "notes", "key": "b1", "op": "update",
              "columns": { "text": "mine now" }, "baseVersion": "3" }
        ]);
        let out = ctx.push(ALICE, "alice-1", batch).await;
        for (i, o) in out.iter().take(3).enumerate() {
            assert_eq!(o["status"], "applied", "{kind:?} {}: {o}", i + 1);
            assert!(version_of(o) > top);
        }
        assert_eq!(out[3]["status"], "conflict", "{}", out[3]);
        assert_eq!(out[3]["serverRow"], Value::Null);
        assert_eq!(out[4]["status"], "rejected", "client-wins is no way around scope");
        assert_eq!(out[4]["reason"], "permission");

        let rows = ctx.server_rows("notes").await;
        assert_eq!(
            rows["n1"].1,
            json!({ "id": "n1", "author": "alice", "text": "mine", "tag": "y" })
        );
        assert_eq!(rows["n2"].1["text"], "replaced");
        assert_eq!(rows["n9"].1["text"], "re-created");
        assert_eq!(rows["b1"].1["text"], "bob's");
        assert!(!rows.contains_key("n8"));
    })
    .await;
}

#[tokio::test]
async fn a_client_wins_delete_of_a_missing_row_writes_a_fresh_tombstone() {
    // protocol.md §5 step 5: "a delete of a missing row writes a fresh tombstone".
    for_each_backend(|kind| async move {
        let profile = json!({ "version": 1, "tables": {
            "notes": { "key": "id", "conflict": "client-wins", "scope": "all" } } });
        let ctx = Ctx::new(kind, profile, 1 << 20).await;
        ctx.seed(&json!({ "notes": [ { "id": "n1" } ] })).await;
        let top = ctx.counter().await as u64;
        let m =
            json!({ "id": 1, "table": "notes", "key": "gone", "op": "delete", "baseVersion": "7" });
        let out = ctx.push_one(ALICE, "alice-1", m).await;
        assert_eq!(out["status"], "applied", "{out}");
        assert!(
            version_of(&out) > top,
            "{kind:?}: the tombstone's version is a new one, got {out}"
        );
    })
    .await;
}

#[tokio::test]
async fn rejections_are_final_and_do_not_block_the_mutations_behind_them() {
    for_each_backend(|kind| async move {
        let (ctx, alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let a0 = alice.version("accounts", "a0");
        let batch = json!([
            { "id": 1, "table": "products", "key": "p9", "op": "insert", "row": { "id": "p9" } },
            { "id": 2, "table": "accounts", "key": "a1", "op": "update",
              "columns": { "name": "mine" }, "baseVersion": "2" },
            { "id": 3, "table": "accounts", "key": "b9", "op": "insert",
              "row": { "id": "b9", "ownerId": "bob" } },
            { "id": 4, "table": "accounts", "key": "a0", "op": "update",
              "columns": { "ownerId": "bob" }, "baseVersion": a0 },
            { "id": 5, "table": "accounts", "key": "a7", "op": "insert",
              "row": { "id": "a8", "ownerId": "alice" } },
            { "id": 6, "table": "accounts", "key": "a7", "op": "insert",
              "row": { "ownerId": "alice" } },
            { "id": 7, "table": "accounts", "key": "a7", "op": "insert", "row": [1, 2] },
            { "id": 8, "table": "ghosts", "key": "g1", "op": "insert", "row": { "id": "g1" } },
            { "id": 9, "table": "accounts", "key": "7", "op": "insert",
              "row": { "id": 7, "ownerId": "alice" } },
            { "id": 10, "table": "accounts", "key": "a0", "op": "update", "baseVersion": a0 },
            { "id": 11, "table": "accounts", "key": "a7", "op": "insert",
              "row": { "id": "a7", "ownerId": "alice" } },
            { "id": 12, "table": "accounts", "key": "a0", "op": "update",
              "columns": { "name": "Still mine" }, "baseVersion": a0 }
        ]);
        let out = ctx.push(ALICE, "alice-1", batch).await;
        let expect = [
            (1, "read_only"),
            (2, "permission"),
            (3, "permission"),
            (4, "permission"),
            (5, "validation"),
            (6, "validation"),
            (7, "validation"),
            (8, "validation"),
            (9, "validation"),
            (10, "validation"),
        ];
        for (id, reason) in expect {
            let o = &out[id - 1];
            assert_eq!(o["status"], "rejected", "{kind:?} mutation {id}: {o}");
            assert_eq!(o["reason"], reason, "mutation {id}: {o}");
            assert!(!o["message"].as_str().unwrap_or("").is_empty(), "{o}");
            assert!(
                o.get("serverRow").is_none(),
                "a rejection leaks no row: {o}"
            );
        }
        assert_eq!(out[10]["status"], "applied", "{}", out[10]);
        assert_eq!(out[11]["status"], "applied", "{}", out[11]);

        let accounts = ctx.server_rows("accounts").await;
        assert!(!accounts.contains_key("b9") && !accounts.contains_key("a8"));
        assert_eq!(accounts["a1"].1["name"], "Account 1");
        assert_eq!(accounts["a0"].1["ownerId"], "alice");
        assert_eq!(accounts["a0"].1["name"], "Still mine");
        assert_eq!(ctx.server_rows("products").await.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn shape_rules_of_the_protocol_are_validation_rejections() {
    // protocol.md §5 step 3.
    for_each_backend(|kind| async move {
        let (ctx, alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let a0 = alice.version("accounts", "a0");
        let before = ctx.snapshot().await;
        let batch = json!([
            { "id": 1, "table": "accounts", "key": "a7", "op": "insert",
              "row": { "id": "a7", "ownerId": "alice" }, "columns": { "x": 1 } },
            { "id": 2, "table": "accounts", "key": "a7", "op": "insert",
              "row": { "id": "a7", "ownerId": "alice" }, "baseVersion": "3" },
            { "id": 3, "table": "accounts", "key": "a0", "op": "update", "baseVersion": a0,
              "row": { "id": "a0", "ownerId": "alice" }, "columns": { "name": "both" } },
            { "id": 4, "table": "accounts", "key": "a0", "op": "update", "baseVersion": a0,
              "columns": { "id": "a00" } },
            { "id": 5, "table": "accounts", "key": "a7", "op": "insert",
              "row": { "id": "a7", "ownerId": "alice", "__proto__": { "polluted": true } } },
            { "id": 6, "table": "accounts", "key": "a0", "op": "update", "baseVersion": a0,
              "columns": { "__proto__": 1 } }
        ]);
        let out = ctx.push(ALICE, "alice-1", batch).await;
        for (i, o) in out.iter().enumerate() {
            assert_eq!(o["status"], "rejected", "{kind:?} mutation {}: {o}", i + 1);
            assert_eq!(o["reason"], "validation", "mutation {}: {o}", i + 1);
        }
        let after = ctx.snapshot().await;
        assert_eq!(before, after);
    })
    .await;
}

#[tokio::test]
async fn a_replayed_batch_changes_nothing_and_returns_the_same_outcomes() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let base = |k: &str| alice.version("accounts", k);
        let batch = json!([
            { "id": 1, "table": "accounts", "key": "a9", "op": "insert",
              "row": { "id": "a9", "name": "New", "ownerId": "alice" } },
            { "id": 2, "table": "accounts", "key": "a0", "op": "update",
              "columns": { "city": "Lyon" }, "baseVersion": base("a0") },
            { "id": 3, "table": "accounts", "key": "a2", "op": "update",
              "columns": { "city": "Lyon" }, "baseVersion": "1" },
            { "id": 4, "table": "products", "key": "p0", "op": "delete", "baseVersion": "19" },
            { "id": 5, "table": "accounts", "key": "a4", "op": "delete", "baseVersion": base("a4") }
        ]);
        let first = ctx.push(ALICE, "alice-1", batch.clone()).await;
        let statuses: Vec<_> = first
            .iter()
            .map(|o| o["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["applied", "applied", "conflict", "rejected", "applied"],
            "{kind:?}"
        );
        let state = ctx.snapshot().await;

        // The response was lost: the same batch again.
        let again = ctx.push(ALICE, "alice-1", batch.clone()).await;
        assert_eq!(again, first, "same outcomes, versions included");
        ctx.assert_unchanged(&state, "nothing written, counter unmoved")
            .await;

        // The batch again with one more mutation behind it: only that one is new.
        let mut longer = batch.as_array().unwrap().clone();
        longer.push(
            json!({ "id": 6, "table": "accounts", "key": "a9", "op": "update",
                            "columns": { "name": "Newer" }, "baseVersion": first[0]["version"] }),
        );
        let third = ctx
            .push(ALICE, "alice-1", Value::Array(longer.clone()))
            .await;
        assert_eq!(third[..5], first[..]);
        assert_eq!(third[5]["status"], "applied", "{}", third[5]);
        let state = ctx.snapshot().await;
        assert_eq!(
            ctx.push(ALICE, "alice-1", Value::Array(longer)).await,
            third
        );
        ctx.assert_unchanged(&state, "something was written").await;

        // Each effect shows once in a pull.
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&[
                "remove workorders w10 scope",
                "upsert accounts a0",
                "upsert accounts a9",
            ])
        );
        assert_eq!(
            alice.row("accounts", "a9").unwrap().0,
            third[5]["version"].as_str().unwrap()
        );
        assert_eq!(alice.row("accounts", "a9").unwrap().1["name"], "Newer");

        // Ids are per client: another client's id 1 is a new mutation (a conflict now).
        let other = ctx
            .push(ALICE, "alice-2", Value::Array(vec![batch[0].clone()]))
            .await;
        assert_eq!(other[0]["status"], "conflict");

        // After a later batch, an id from long ago applies nothing.
        let m = json!({ "id": 7, "table": "accounts", "key": "a7", "op": "insert",
                        "row": { "id": "a7", "ownerId": "alice" } });
        let out = ctx.push_one(ALICE, "alice-1", m).await;
        assert_eq!(out["status"], "applied");
        let state = ctx.snapshot().await;
        let old = ctx
            .push(ALICE, "alice-1", Value::Array(vec![batch[0].clone()]))
            .await;
        assert_ne!(old[0]["status"], "applied", "{old:?}");
        ctx.assert_unchanged(&state, "something was written").await;
    })
    .await;
}

#[tokio::test]
async fn ids_must_strictly_increase_within_a_batch() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let m = |id: u64, key: &str| {
            json!({ "id": id, "table": "accounts", "key": key, "op": "insert",
                    "row": { "id": key, "ownerId": "alice" } })
        };
        for mutations in [
            json!([m(2, "x1"), m(1, "x2")]),
            json!([m(1, "x1"), m(1, "x2")]),
        ] {
            let r = ctx.post_push(ALICE, push_body("c1", mutations)).await;
            r.assert_error(400, "invalid_argument");
        }
        ctx.assert_unchanged(&before, "nothing applied").await;
        // No id was consumed.
        let out = ctx.push(ALICE, "c1", json!([m(1, "x1")])).await;
        assert_eq!(out[0]["status"], "applied");
    })
    .await;
}
