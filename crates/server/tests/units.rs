//! Push units (protocol.md §5, revision 3), on every backend: a unit's mutations are
//! applied all together or not at all; when one is not applied it keeps its own outcome,
//! its siblings are answered `rejected`/`transaction`, and nothing of the unit is stored
//! (no row, no version, the counter unmoved); mutations outside the unit are processed as
//! before; a unit split in the push, or a unit in a version-1 push, is `400`; a replayed
//! push answers the same outcomes and applies nothing twice.

mod common;

use common::*;
use serde_json::{json, Value};

/// The body of a revision-3 push (`protocolVersion` 2).
fn push2_body(client: &str, mutations: Value) -> Value {
    json!({ "protocolVersion": 2, "clientId": client, "mutations": mutations })
}

/// A revision-3 push (asserts 200, the answer's version and one outcome per mutation).
async fn push2(ctx: &Ctx, token: &str, client: &str, mutations: Value) -> Vec<Value> {
    let n = mutations.as_array().map_or(0, Vec::len);
    let r = ctx.post_push(token, push2_body(client, mutations)).await;
    assert_eq!(r.status, 200, "{:?} push: {}", ctx.kind, r.text);
    assert_eq!(r.body["protocolVersion"], json!(2), "{}", r.text);
    let outcomes = r.body["outcomes"].as_array().cloned().unwrap_or_default();
    assert_eq!(outcomes.len(), n, "one outcome per mutation: {}", r.text);
    outcomes
}

/// `m` as a member of `unit`.
fn in_unit(unit: &str, mut m: Value) -> Value {
    m["unit"] = json!(unit);
    m
}

fn update_account(id: u64, key: &str, base: &str, city: &str) -> Value {
    json!({ "id": id, "table": "accounts", "key": key, "op": "update",
            "columns": { "city": city }, "baseVersion": base })
}

#[track_caller]
fn assert_status(o: &Value, status: &str, reason: Option<&str>) {
    assert_eq!(o["status"].as_str(), Some(status), "{o}");
    assert_eq!(o["reason"].as_str(), reason, "{o}");
}

/// A sibling of a refused unit: `rejected`/`transaction`, naming the culprit's id.
#[track_caller]
fn assert_sibling(o: &Value, culprit: u64) {
    assert_status(o, "rejected", Some("transaction"));
    let message = o["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("mutation {culprit} ")),
        "the message names the culprit {culprit}: {message}"
    );
}

#[tokio::test]
async fn a_unit_whose_members_all_apply_is_applied_whole() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let top = ctx.counter().await;
        let base = alice.version("accounts", "a0");
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                in_unit("u1", insert_account(1, "a9", "alice")),
                // Sees the insert before it, inside the unit.
                in_unit(
                    "u1",
                    json!({ "id": 2, "table": "workorders", "key": 900, "op": "insert",
                    "row": { "id": 900, "accountId": "a9", "modifiedOn": "2026-11-24T10:00:00Z" } })
                ),
                in_unit("u1", update_account(3, "a0", &base, "Lyon")),
            ]),
        )
        .await;
        for (i, o) in out.iter().enumerate() {
            assert_status(o, "applied", None);
            assert_eq!(o["id"], json!(i + 1));
            assert!(
                o.get("key").is_none(),
                "no assigned key without tempKey: {o}"
            );
        }
        assert_eq!(ctx.counter().await, top + 3, "{kind:?}: three new versions");
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&[
                "upsert accounts a0",
                "upsert accounts a9",
                "upsert workorders 900"
            ])
        );
        assert_eq!(alice.row("accounts", "a0").unwrap().1["city"], "Lyon");
    })
    .await;
}

#[tokio::test]
async fn one_member_rejected_stores_nothing_of_the_unit() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let bob = Replica::synced(&ctx, BOB, "bob-1").await;
        let a0 = alice.version("accounts", "a0");
        let a1 = bob.version("accounts", "a1");
        let before = ctx.snapshot().await;
        let batch = json!([
            in_unit("u1", insert_account(1, "a9", "alice")),
            // Bob's account: outside Alice's scope.
            in_unit("u1", update_account(2, "a1", &a1, "Rome")),
            in_unit("u1", update_account(3, "a0", &a0, "Lyon")),
        ]);
        let out = push2(&ctx, ALICE, "alice-1", batch.clone()).await;
        assert_sibling(&out[0], 2);
        assert_status(&out[1], "rejected", Some("permission"));
        assert_sibling(&out[2], 2);
        ctx.assert_unchanged(&before, "a refused unit").await;
        assert!(
            alice.sync(&ctx, None).await.is_empty(),
            "{kind:?}: a pull sees nothing of a refused unit"
        );
        assert_eq!(alice.row("accounts", "a0").unwrap().1["city"], "Paris");

        // The ids are consumed: sent again (a lost answer), the same outcomes, nothing stored.
        let again = push2(&ctx, ALICE, "alice-1", batch).await;
        assert_eq!(again, out, "{kind:?}: a replay answers what was answered");
        ctx.assert_unchanged(&before, "a replayed refused unit")
            .await;

        // The next mutation, under a new id, applies.
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([insert_account(4, "a9", "alice")]),
        )
        .await;
        assert_status(&out[0], "applied", None);
    })
    .await;
}

#[tokio::test]
async fn a_refused_unit_leaves_the_mutations_around_it_alone() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let a0 = alice.version("accounts", "a0");
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                insert_account(1, "a8", "alice"),
                in_unit("u1", insert_account(2, "a9", "alice")),
                // Read-only table: the culprit.
                in_unit(
                    "u1",
                    json!({ "id": 3, "table": "products", "key": "p0", "op": "delete",
                                      "baseVersion": "1" })
                ),
                in_unit("u2", update_account(4, "a0", &a0, "Lyon")),
                insert_account(5, "a7", "alice"),
            ]),
        )
        .await;
        assert_status(&out[0], "applied", None);
        assert_sibling(&out[1], 3);
        assert_status(&out[2], "rejected", Some("read_only"));
        assert_status(&out[3], "applied", None);
        assert_status(&out[4], "applied", None);
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&[
                "upsert accounts a0",
                "upsert accounts a7",
                "upsert accounts a8"
            ])
        );
        assert!(!ctx.server_rows("accounts").await.contains_key("a9"));
        assert!(ctx.server_rows("products").await.contains_key("p0"));
    })
    .await;
}

#[tokio::test]
async fn a_member_in_conflict_rolls_the_unit_back_and_keeps_its_conflict() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let stale = alice.version("accounts", "a0");
        let a2 = alice.version("accounts", "a2");
        let now_a0 = json!({ "id": "a0", "name": "Changed", "city": "Paris", "ownerId": "alice" });
        let v0 = ctx.admin_put("accounts", now_a0.clone()).await;
        let before = ctx.snapshot().await;
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                in_unit("u1", update_account(1, "a2", &a2, "Lyon")),
                in_unit("u1", update_account(2, "a0", &stale, "Lyon")),
                in_unit("u1", insert_account(3, "a9", "alice")),
            ]),
        )
        .await;
        assert_sibling(&out[0], 2);
        assert_status(&out[1], "conflict", None);
        assert_eq!(out[1]["serverRow"], now_a0, "{kind:?}: {}", out[1]);
        assert_eq!(out[1]["serverVersion"], json!(v0.to_string()));
        assert_sibling(&out[2], 2);
        ctx.assert_unchanged(&before, "a unit in conflict").await;
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(describe_all(&changes), strs(&["upsert accounts a0"]));
        assert_eq!(alice.version("accounts", "a0"), v0.to_string());
        assert_eq!(alice.row("accounts", "a2").unwrap().1["city"], "Nice");
    })
    .await;
}

#[tokio::test]
async fn a_unit_split_in_the_push_is_refused_whole() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        for mutations in [
            json!([
                in_unit("u1", insert_account(1, "a7", "alice")),
                insert_account(2, "a8", "alice"),
                in_unit("u1", insert_account(3, "a9", "alice")),
            ]),
            json!([
                in_unit("u1", insert_account(1, "a7", "alice")),
                in_unit("u2", insert_account(2, "a8", "alice")),
                in_unit("u1", insert_account(3, "a9", "alice")),
            ]),
        ] {
            let r = ctx.post_push(ALICE, push2_body("alice-1", mutations)).await;
            r.assert_error(400, "invalid_argument");
            assert!(r.text.contains("'u1'"), "names the unit: {}", r.text);
            ctx.assert_unchanged(&before, "a split unit").await;
        }
        for unit in [String::new(), "u".repeat(201)] {
            let m = json!([in_unit(&unit, insert_account(1, "a7", "alice"))]);
            let r = ctx.post_push(ALICE, push2_body("alice-1", m)).await;
            r.assert_error(400, "invalid_argument");
            ctx.assert_unchanged(&before, "a badly named unit").await;
        }
        // No id was consumed: id 1 is new to the server.
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([insert_account(1, "a7", "alice")]),
        )
        .await;
        assert_status(&out[0], "applied", None);
    })
    .await;
}

#[tokio::test]
async fn a_version_1_push_may_carry_no_unit_nor_temporary_key() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let temp = json!({ "id": 1, "table": "jobs", "key": "~tmp:j1", "op": "insert", "tempKey": true,
                           "row": { "id": "~tmp:j1", "ownerId": "alice" } });
        for m in [in_unit("u1", insert_account(1, "a9", "alice")), temp] {
            let r = ctx.post_push(ALICE, push_body("alice-1", json!([m]))).await;
            r.assert_error(400, "invalid_argument");
            assert!(r.text.contains("protocolVersion 2"), "{}", r.text);
            ctx.assert_unchanged(&before, "a version-1 push with a unit").await;
        }
        // A version the server does not speak.
        let mut body = push2_body("alice-1", json!([insert_account(1, "a9", "alice")]));
        body["protocolVersion"] = json!(3);
        ctx.post_push(ALICE, body)
            .await
            .assert_error(400, "unsupported_protocol");
        ctx.assert_unchanged(&before, "a version-3 push").await;
        // Version 2 without units is an ordinary push, answered in version 2.
        let out = push2(&ctx, ALICE, "alice-1", json!([insert_account(1, "a9", "alice")])).await;
        assert_status(&out[0], "applied", None);
    })
    .await;
}

#[tokio::test]
async fn an_applied_unit_sent_again_applies_nothing_twice() {
    for_each_backend(|kind| async move {
        let (ctx, alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let a0 = alice.version("accounts", "a0");
        let batch = json!([
            in_unit("u1", insert_account(1, "a9", "alice")),
            in_unit("u1", update_account(2, "a0", &a0, "Lyon")),
            in_unit("u2", insert_account(3, "a8", "alice")),
            in_unit(
                "u2",
                json!({ "id": 4, "table": "accounts", "key": "a1", "op": "delete",
                                  "baseVersion": "1" })
            ),
        ]);
        let out = push2(&ctx, ALICE, "alice-1", batch.clone()).await;
        assert_status(&out[0], "applied", None);
        assert_status(&out[1], "applied", None);
        assert_sibling(&out[2], 4);
        assert_status(&out[3], "rejected", Some("permission"));
        let after = ctx.snapshot().await;
        let again = push2(&ctx, ALICE, "alice-1", batch.clone()).await;
        assert_eq!(again, out, "{kind:?}: the same outcomes");
        ctx.assert_unchanged(&after, "a replayed push").await;

        // A replay whose tail is new: the old ids answered as stored, the new unit applied.
        let mut longer = batch.as_array().unwrap().clone();
        longer.push(in_unit("u3", insert_account(5, "a7", "alice")));
        let out2 = push2(&ctx, ALICE, "alice-1", Value::Array(longer)).await;
        assert_eq!(out2[..4], out[..], "{kind:?}");
        assert_status(&out2[4], "applied", None);
        assert_eq!(ctx.counter().await, after.last().unwrap().2 + 1);

        // A unit cannot be partly old and partly new: the push is refused whole.
        let grown = ctx.snapshot().await;
        let mut split = batch.as_array().unwrap().clone();
        split.push(in_unit("u2", insert_account(6, "a6", "alice")));
        let r = ctx
            .post_push(ALICE, push2_body("alice-1", Value::Array(split)))
            .await;
        r.assert_error(400, "invalid_argument");
        assert!(r.text.contains("'u2'"), "names the unit: {}", r.text);
        ctx.assert_unchanged(&grown, "a unit partly processed")
            .await;
    })
    .await;
}
