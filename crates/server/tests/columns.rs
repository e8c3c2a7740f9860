//! Column selection (`columns`, protocol.md §2), on every backend: pulls, conflicts and
//! REST answers carry only the selected columns and the key; pushed rows and REST writes
//! replace only those and keep the stored row's other columns (read back from the
//! database); writes, `$filter`, `$orderby` and `$select` naming another column are
//! refused; a scope on an unselected column still holds.

mod common;

use common::*;
use serde_json::{json, Value};

/// `visits` selects three columns (its `internalCost` stays on the server); `audits`
/// is scoped on `auditor`, which it does not select; `drafts` is `client-wins`.
fn profile() -> Value {
    json!({ "version": 1, "tables": {
        "visits": { "key": "id", "indexes": ["status"], "columns": ["ownerId", "status", "notes"],
                    "scope": { "owner": "ownerId" } },
        "audits": { "key": "id", "columns": ["title"], "scope": { "owner": "auditor" } },
        "drafts": { "key": "id", "conflict": "client-wins", "columns": ["ownerId", "text"],
                    "scope": { "owner": "ownerId" } } } })
}

fn seed() -> Value {
    json!({
        "visits": [
            { "id": "v1", "ownerId": "alice", "status": "open", "notes": "n1", "internalCost": 120 },
            { "id": "v2", "ownerId": "alice", "status": "done", "internalCost": 80, "margin": 0.2 },
            { "id": "v3", "ownerId": "bob", "status": "open", "internalCost": 999 } ],
        "audits": [
            { "id": 1, "title": "alice's", "auditor": "alice" },
            { "id": 2, "title": "bob's", "auditor": "bob" } ],
        "drafts": [ { "id": "d1", "ownerId": "alice", "text": "t", "secret": "s" } ] })
}

async fn ctx(kind: Kind) -> Ctx {
    let ctx = Ctx::new(kind, profile(), 1 << 20).await;
    ctx.seed(&seed()).await;
    ctx
}

/// The row as the database holds it.
async fn stored(ctx: &Ctx, table: &str, key: &str) -> Value {
    let rows = ctx.server_rows(table).await;
    rows.get(key)
        .unwrap_or_else(|| panic!("{:?}: no {table} {key} on the server", ctx.kind))
        .1
        .clone()
}

#[track_caller]
fn rejected_for_column(o: &Value, column: &str, table: &str) {
    assert_eq!(
        (o["status"].as_str(), o["reason"].as_str()),
        (Some("rejected"), Some("validation")),
        "{o}"
    );
    let message = o["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("'{column}'")) && message.contains(&format!("'{table}'")),
        "{message}"
    );
}

#[tokio::test]
async fn pulls_and_estimates_carry_only_the_selected_columns() {
    for_each_backend(|kind| async move {
        let ctx = ctx(kind).await;
        let alice = Replica::synced(&ctx, ALICE, "alice-1").await;
        assert_eq!(alice.keys("visits"), strs(&["v1", "v2"]));
        assert_eq!(
            alice.row("visits", "v1").unwrap().1,
            json!({ "id": "v1", "ownerId": "alice", "status": "open", "notes": "n1" })
        );
        assert_eq!(
            alice.row("visits", "v2").unwrap().1,
            json!({ "id": "v2", "ownerId": "alice", "status": "done" })
        );
        // Scoped on a column it is never sent.
        assert_eq!(alice.keys("audits"), strs(&["1"]));
        assert_eq!(
            alice.row("audits", "1").unwrap().1,
            json!({ "id": 1, "title": "alice's" })
        );
        // The database still has everything.
        assert_eq!(stored(&ctx, "visits", "v2").await["margin"], json!(0.2));

        // The first-download estimate counts the bytes the client gets.
        let r = ctx.get(ALICE, "/sync/estimate").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let sent: usize = alice
            .rows
            .iter()
            .filter(|((t, _), _)| t == "visits")
            .map(|(_, (_, row))| row.to_string().len())
            .sum();
        assert_eq!(
            r.body["tables"]["visits"],
            json!({ "rows": 2, "bytes": sent })
        );
    })
    .await;
}

#[tokio::test]
async fn a_pushed_row_replaces_the_selected_columns_and_keeps_the_others() {
    for_each_backend(|kind| async move {
        let ctx = ctx(kind).await;
        let alice = Replica::synced(&ctx, ALICE, "alice-1").await;
        let base = |k: &str| alice.version("visits", k);
        let out = ctx
            .push(ALICE, "alice-1", json!([
                // `notes` left out: removed; `internalCost` not the client's: kept.
                { "id": 1, "table": "visits", "key": "v1", "op": "update", "baseVersion": base("v1"),
                  "row": { "id": "v1", "ownerId": "alice", "status": "done" } },
                { "id": 2, "table": "visits", "key": "v2", "op": "update", "baseVersion": base("v2"),
                  "columns": { "notes": "merged" } },
                { "id": 3, "table": "visits", "key": "v9", "op": "insert",
                  "row": { "id": "v9", "ownerId": "alice", "status": "new" } } ]))
            .await;
        for o in &out {
            assert_eq!(o["status"], "applied", "{kind:?}: {o}");
        }
        assert_eq!(
            stored(&ctx, "visits", "v1").await,
            json!({ "id": "v1", "ownerId": "alice", "status": "done", "internalCost": 120 })
        );
        assert_eq!(
            stored(&ctx, "visits", "v2").await,
            json!({ "id": "v2", "ownerId": "alice", "status": "done", "internalCost": 80,
                    "margin": 0.2, "notes": "merged" })
        );
        assert_eq!(
            stored(&ctx, "visits", "v9").await,
            json!({ "id": "v9", "ownerId": "alice", "status": "new" })
        );

        // client-wins: an insert over a live row replaces its selected columns only.
        let o = ctx
            .push_one(ALICE, "alice-1", json!({ "id": 4, "table": "drafts", "key": "d1", "op": "insert",
                "row": { "id": "d1", "ownerId": "alice", "text": "mine" } }))
            .await;
        assert_eq!(o["status"], "applied", "{o}");
        assert_eq!(
            stored(&ctx, "drafts", "d1").await,
            json!({ "id": "d1", "ownerId": "alice", "text": "mine", "secret": "s" })
        );
        // And the pull brings the client's own write back without them.
        let mut alice = alice;
        alice.sync(&ctx, None).await;
        assert_eq!(
            alice.row("visits", "v2").unwrap().1,
            json!({ "id": "v2", "ownerId": "alice", "status": "done", "notes": "merged" })
        );
    })
    .await;
}

#[tokio::test]
async fn a_mutation_naming_an_unselected_column_is_rejected_and_changes_nothing() {
    for_each_backend(|kind| async move {
        let ctx = ctx(kind).await;
        let alice = Replica::synced(&ctx, ALICE, "alice-1").await;
        let base = alice.version("visits", "v1");
        let before = ctx.snapshot().await;
        let out = ctx
            .push(
                ALICE,
                "alice-1",
                json!([
                { "id": 1, "table": "visits", "key": "v1", "op": "update", "baseVersion": base,
                  "columns": { "internalCost": 0 } },
                { "id": 2, "table": "visits", "key": "v1", "op": "update", "baseVersion": base,
                  "row": { "id": "v1", "ownerId": "alice", "status": "open", "internalCost": 0 } },
                { "id": 3, "table": "visits", "key": "v8", "op": "insert",
                  "row": { "id": "v8", "ownerId": "alice", "margin": null } } ]),
            )
            .await;
        rejected_for_column(&out[0], "internalCost", "visits");
        rejected_for_column(&out[1], "internalCost", "visits");
        rejected_for_column(&out[2], "margin", "visits");
        ctx.assert_unchanged(&before, "refused mutations").await;
    })
    .await;
}

#[tokio::test]
async fn a_conflict_sends_the_server_row_with_its_selected_columns() {
    for_each_backend(|kind| async move {
        let ctx = ctx(kind).await;
        let alice = Replica::synced(&ctx, ALICE, "alice-1").await;
        let stale = alice.version("visits", "v1");
        ctx.admin_put(
            "visits",
            json!({ "id": "v1", "ownerId": "alice", "status": "late", "internalCost": 130 }),
        )
        .await;
        let out = ctx
            .push(
                ALICE,
                "alice-1",
                json!([
                { "id": 1, "table": "visits", "key": "v1", "op": "update", "baseVersion": stale,
                  "columns": { "status": "done" } },
                { "id": 2, "table": "visits", "key": "v2", "op": "insert",
                  "row": { "id": "v2", "ownerId": "alice" } } ]),
            )
            .await;
        assert_eq!(out[0]["status"], "conflict", "{}", out[0]);
        assert_eq!(
            out[0]["serverRow"],
            json!({ "id": "v1", "ownerId": "alice", "status": "late" })
        );
        assert_eq!(out[1]["status"], "conflict", "{}", out[1]);
        assert_eq!(
            out[1]["serverRow"],
            json!({ "id": "v2", "ownerId": "alice", "status": "done" })
        );
        // Replayed as answered.
        let again = ctx
            .push(
                ALICE,
                "alice-1",
                json!([
                { "id": 1, "table": "visits", "key": "v1", "op": "update", "baseVersion": stale,
                  "columns": { "status": "done" } } ]),
            )
            .await;
        assert_eq!(again[0], out[0]);
    })
    .await;
}

#[tokio::test]
async fn rest_answers_carry_the_selected_columns_and_refuse_the_others() {
    for_each_backend(|kind| async move {
        let ctx = ctx(kind).await;
        let r = ctx
            .get(
                ALICE,
                "/api/data/visits?$orderby=status&$filter=status%20ne%20'x'",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body["value"],
            json!([{ "id": "v2", "ownerId": "alice", "status": "done" },
                   { "id": "v1", "ownerId": "alice", "status": "open", "notes": "n1" }])
        );
        let r = ctx.get(ALICE, "/api/data/visits/v1").await;
        assert_eq!(
            (r.status.as_u16(), &r.body),
            (
                200,
                &json!({ "id": "v1", "ownerId": "alice", "status": "open", "notes": "n1" })
            )
        );
        // The key and the selected columns may be selected; an index serves `status`.
        let r = ctx
            .get(
                ALICE,
                "/api/data/visits?$select=id,notes&$filter=status%20eq%20'open'",
            )
            .await;
        assert_eq!(
            r.body["value"],
            json!([{ "id": "v1", "notes": "n1" }]),
            "{}",
            r.text
        );

        let before = ctx.snapshot().await;
        for (uri, option) in [
            ("/api/data/visits?$select=id,internalCost", "$select"),
            (
                "/api/data/visits?$filter=internalCost%20gt%20100",
                "$filter",
            ),
            (
                "/api/data/visits?$filter=status%20eq%20'open'%20or%20margin%20eq%20null",
                "$filter",
            ),
            ("/api/data/visits?$orderby=internalCost%20desc", "$orderby"),
        ] {
            let r = ctx.get(ALICE, uri).await;
            r.assert_error(400, "invalid_argument");
            let message = r.body["error"]["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("{option}: column '")),
                "{message}"
            );
            assert!(message.contains("of 'visits'"), "{message}");
        }
        let r = ctx
            .patch(ALICE, "/api/data/visits/v1", json!({ "internalCost": 0 }))
            .await;
        r.assert_error(400, "invalid_argument");
        assert_eq!(
            r.body["error"]["message"],
            "column 'internalCost' is not among the columns of 'visits' in the offline profile"
        );
        let r = ctx
            .post(
                ALICE,
                "/api/data/visits",
                json!({ "id": "v7", "ownerId": "alice", "internalCost": 1 }),
            )
            .await;
        r.assert_error(400, "invalid_argument");
        ctx.assert_unchanged(&before, "refused REST requests").await;

        // Writes replace the selected columns; the answer holds only them.
        let r = ctx
            .patch(
                ALICE,
                "/api/data/visits/v1",
                json!({ "notes": null, "status": "done" }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body,
            json!({ "id": "v1", "ownerId": "alice", "status": "done", "notes": null })
        );
        assert_eq!(
            stored(&ctx, "visits", "v1").await["internalCost"],
            json!(120)
        );
        let r = ctx
            .post(
                ALICE,
                "/api/data/visits",
                json!({ "id": "v7", "ownerId": "alice", "status": "new" }),
            )
            .await;
        assert_eq!(
            (r.status.as_u16(), &r.body["status"]),
            (201, &json!("new")),
            "{}",
            r.text
        );
    })
    .await;
}

#[tokio::test]
async fn a_scope_on_an_unselected_column_holds_for_every_path() {
    for_each_backend(|kind| async move {
        let ctx = ctx(kind).await;
        let mut alice = Replica::synced(&ctx, ALICE, "alice-1").await;
        assert_eq!(ctx.get(ALICE, "/api/data/audits").await.ids(), [json!(1)]);
        ctx.get(ALICE, "/api/data/audits/2")
            .await
            .assert_error(404, "not_found");
        // The client never had `auditor`: its whole row keeps the stored one, in scope.
        let base = alice.version("audits", "1");
        let out = ctx
            .push(
                ALICE,
                "alice-1",
                json!([
                { "id": 1, "table": "audits", "key": 1, "op": "update", "baseVersion": base,
                  "row": { "id": 1, "title": "renamed" } },
                // Another's row, by the column it cannot see: out of scope.
                { "id": 2, "table": "audits", "key": 2, "op": "update", "baseVersion": base,
                  "columns": { "title": "mine now" } } ]),
            )
            .await;
        assert_eq!(out[0]["status"], "applied", "{}", out[0]);
        assert_eq!(
            (out[1]["status"].as_str(), out[1]["reason"].as_str()),
            (Some("rejected"), Some("permission")),
            "{}",
            out[1]
        );
        assert_eq!(
            stored(&ctx, "audits", "1").await,
            json!({ "id": 1, "title": "renamed", "auditor": "alice" })
        );
        let r = ctx
            .patch(ALICE, "/api/data/audits/1", json!({ "title": "again" }))
            .await;
        assert_eq!(r.body, json!({ "id": 1, "title": "again" }), "{}", r.text);
        // A move-out by that column reaches the client as a removal.
        ctx.admin_put(
            "audits",
            json!({ "id": 1, "title": "again", "auditor": "bob" }),
        )
        .await;
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(describe_all(&changes), strs(&["remove audits 1 scope"]));
        assert!(alice.keys("audits").is_empty());
    })
    .await;
}
