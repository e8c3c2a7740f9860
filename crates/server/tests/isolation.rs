//! Access control between two users, through every endpoint, on every backend: bob can
//! never read, pull, push or infer alice's rows. Pulls, the estimate, REST listings with
//! every option, reads by key (alice's key answers exactly like a missing one) and
//! refused writes give bob the same answers whatever alice's rows hold; bob's writes
//! into alice's scope are refused and leave her rows as they were.
//!
//! What bob can learn, by design: that a key is taken (an insert of it is refused, as a
//! table has one key space; keys should be unguessable ids), and how busy the server is
//! (checkpoints are one counter for everyone). Neither gives him any of alice's data.

mod common;

use common::*;
use serde_json::{json, Value};

/// Alice's private values, which must appear in no answer bob gets.
const ALICE_TEXTS: &[&str] = &[
    "Account 0",
    "Account 2",
    "Account 4",
    "Note 0",
    "Note 5",
    "Draft 0",
    "Draft 5",
    "Work order 6",
    "Work order 10",
    "secret",
];

fn assert_no_leak(what: &str, text: &str) {
    for s in ALICE_TEXTS {
        assert!(!text.contains(s), "{what}: alice's {s:?} leaked: {text}");
    }
}

/// Every answer bob gets from the read endpoints, and from writes that must be refused
/// (their status and body), labelled by request.
async fn bob_view(ctx: &Ctx, round: &str) -> Vec<(String, u16, Option<String>, Value)> {
    let mut out = Vec::new();
    // A first download, all pages: its changes (not its checkpoint: one counter for all).
    let mut replica = Replica::new(BOB, &format!("bob-{round}"));
    let changes = replica.sync(ctx, Some(3)).await;
    let text = serde_json::to_string(&changes).unwrap();
    assert_no_leak("pull", &text);
    out.push(("pull".into(), 200, None, Value::Array(changes)));
    let mut record = |label: String, r: Resp| {
        assert!(r.status.as_u16() < 500, "{label}: {}", r.text);
        assert_no_leak(&label, &r.text);
        out.push((label, r.status.as_u16(), r.etag(), r.body));
    };
    record("profile".into(), ctx.get(BOB, "/sync/profile").await);
    record("estimate".into(), ctx.get(BOB, "/sync/estimate").await);

    let queries = [
        "",
        "?$count=true",
        "?$filter=ownerId%20eq%20'alice'&$count=true",
        "?$filter=ownerId%20ne%20'bob'&$count=true",
        "?$filter=id%20in%20('a0','a1','a2','n0','d0','w6')&$count=true",
        "?$filter=startswith(name,'Account')&$orderby=name%20desc&$top=2&$skip=1&$count=true",
        "?$filter=contains(text,'0')%20or%20contains(title,'0')&$count=true",
        "?$filter=accountId%20eq%20'a0'%20or%20accountId%20eq%20'a99'&$count=true",
        "?$filter=not%20(ownerId%20eq%20'bob')&$count=true",
        "?$orderby=city%20desc,id&$select=id,city",
        "?$orderby=ownerId&$top=1&$skip=0",
        "?$top=100&$skip=2&$count=true",
        "?$skip=1000&$count=true",
    ];
    for table in ["accounts", "workorders", "notes", "drafts", "products"] {
        for q in queries {
            let uri = format!("/api/data/{table}{q}");
            record(format!("GET {uri}"), ctx.get(BOB, &uri).await);
        }
    }
    let keys = [
        ("accounts", ["a0", "a1", "a2", "a3", "a4", "a99"].as_slice()),
        ("workorders", &["w0", "w1", "w2", "w6", "w10", "w99"]),
        ("notes", &["n0", "n1", "n2", "n5", "n99"]),
        ("drafts", &["d0", "d1", "d5", "d99"]),
    ];
    for (table, ks) in keys {
        for k in ks {
            for seg in [k.to_string(), format!("'{k}'")] {
                let uri = format!("/api/data/{table}/{seg}");
                record(format!("GET {uri}"), ctx.get(BOB, &uri).await);
            }
        }
        // Writes to keys bob cannot see: refused alike, whether the row exists or not.
        for k in ks
            .iter()
            .filter(|k| !["a1", "a3", "w1", "n1", "d1"].contains(k))
        {
            let uri = format!("/api/data/{table}/{k}");
            let patch = json!({ "ownerId": "bob", "text": "mine" });
            record(format!("PATCH {uri}"), ctx.patch(BOB, &uri, patch).await);
            record(format!("DELETE {uri}"), ctx.delete(BOB, &uri).await);
        }
    }
    out
}

/// Alice's world changes (as an administrator would change it): rows of hers edited,
/// deleted and added, in every scoped table.
async fn change_alices_rows(ctx: &Ctx) {
    ctx.admin_put(
        "accounts",
        json!({ "id": "a0", "name": "Account 0 secret", "city": "Lyon", "ownerId": "alice" }),
    )
    .await;
    ctx.admin_delete("accounts", json!("a2")).await;
    ctx.admin_put(
        "accounts",
        json!({ "id": "a99", "name": "secret", "city": "Lyon", "ownerId": "alice" }),
    )
    .await;
    ctx.admin_put(
        "workorders",
        json!({ "id": "w99", "accountId": "a0", "status": "open", "title": "secret",
                "modifiedOn": "2026-11-24T00:00:00Z" }),
    )
    .await;
    ctx.admin_put(
        "notes",
        json!({ "id": "n0", "ownerId": "alice", "text": "Note 0 secret" }),
    )
    .await;
    ctx.admin_put(
        "notes",
        json!({ "id": "n99", "ownerId": "carol", "text": "secret" }),
    )
    .await;
    ctx.admin_delete("drafts", json!("d5")).await;
}

#[tokio::test]
async fn nothing_bob_gets_depends_on_alices_rows() {
    for_each_backend(|kind| async move {
        let (ctx, mut follower) = Ctx::demo_with_replica(kind, BOB, "bob-follower").await;
        let before_rows = ctx.snapshot().await;
        let first = bob_view(&ctx, "1").await;
        ctx.assert_unchanged(&before_rows, "bob's refused writes wrote")
            .await;

        // The view is not vacuous: bob sees his own rows, and 404s for the others.
        let get = |label: &str| {
            first
                .iter()
                .find(|(l, ..)| l == label)
                .unwrap_or_else(|| panic!("no {label}"))
                .clone()
        };
        assert_eq!(get("GET /api/data/accounts/a1").1, 200);
        assert_eq!(get("GET /api/data/accounts/a0").1, 404);
        assert_eq!(
            get("GET /api/data/accounts?$count=true").3["count"],
            json!(3)
        );
        assert_eq!(
            get("GET /api/data/accounts?$filter=ownerId%20eq%20'alice'&$count=true").3,
            json!({ "value": [], "count": 0, "@odata.count": 0 })
        );
        assert_eq!(get("estimate").3["tables"]["accounts"]["rows"], json!(3));

        change_alices_rows(&ctx).await;
        let changed = ctx.snapshot().await;
        assert_ne!(changed, before_rows, "alice's rows did change");
        let second = bob_view(&ctx, "2").await;
        ctx.assert_unchanged(&changed, "bob's refused writes wrote")
            .await;
        assert_eq!(first.len(), second.len());
        for (a, b) in first.iter().zip(&second) {
            assert_eq!(
                a, b,
                "{kind:?}: bob's answer to {} depends on alice's rows",
                a.0
            );
        }
        // A client of bob's that was in sync gets nothing from alice's changes.
        let news = follower.sync(&ctx, None).await;
        assert_eq!(news, Vec::<Value>::new(), "{kind:?}");
    })
    .await;
}

#[tokio::test]
async fn an_out_of_scope_key_reads_exactly_like_a_missing_one() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        // Accounts last: deleting a0 takes w6 out of alice's scope too.
        for (table, theirs) in [
            ("workorders", "w6"),
            ("notes", "n0"),
            ("drafts", "d5"),
            ("accounts", "a0"),
        ] {
            let hidden = ctx.get(BOB, &format!("/api/data/{table}/{theirs}")).await;
            hidden.assert_error(404, "not_found");
            assert_eq!(hidden.etag(), None);
            // The same key once it does not exist at all (deleted, then purged).
            let live = ctx.get(ALICE, &format!("/api/data/{table}/{theirs}")).await;
            ctx.admin_delete(table, json!(theirs)).await;
            let missing = ctx.get(BOB, &format!("/api/data/{table}/{theirs}")).await;
            assert_eq!(
                (hidden.status, &hidden.headers.get("etag"), &hidden.body),
                (missing.status, &missing.headers.get("etag"), &missing.body),
                "{kind:?}: {table}/{theirs}"
            );
            // And a key that never existed answers alike, its own key in the message.
            let never = ctx.get(BOB, &format!("/api/data/{table}/zz")).await;
            assert_eq!(never.status, hidden.status);
            assert_eq!(
                never.body,
                json!({ "error": { "code": "not_found",
                        "message": hidden.body["error"]["message"].as_str().unwrap()
                            .replace(&format!("'{theirs}'"), "'zz'") } })
            );
            // (alice, for whom the row was in scope, did see it: the test can fail.)
            assert_eq!(live.status, 200, "{table}/{theirs}: {}", live.text);
        }
    })
    .await;
}

async fn version(ctx: &Ctx, table: &str, key: &str) -> String {
    ctx.server_rows(table).await[key].0.clone()
}

/// One push of one mutation by bob; its outcome.
async fn bob_pushes(ctx: &Ctx, id: u64, m: Value) -> Value {
    let mut m = m;
    m["id"] = json!(id);
    let r = ctx
        .post_push(BOB, push_body("bob-pusher", json!([m])))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_no_leak("push", &r.text);
    r.body["outcomes"][0].clone()
}

#[tokio::test]
async fn bobs_pushes_cannot_write_into_alices_scope() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let a0 = version(&ctx, "accounts", "a0").await;
        let n0 = version(&ctx, "notes", "n0").await;
        let d0 = version(&ctx, "drafts", "d0").await;
        let w6 = version(&ctx, "workorders", "w6").await;
        let a1 = version(&ctx, "accounts", "a1").await;
        let w1 = version(&ctx, "workorders", "w1").await;
        let before = ctx.snapshot().await;
        let refused = [
            // Inserts of rows that would be alice's, in tables of every conflict policy.
            json!({ "table": "accounts", "key": "x1", "op": "insert",
                    "row": { "id": "x1", "ownerId": "alice", "name": "planted" } }),
            json!({ "table": "notes", "key": "x2", "op": "insert",
                    "row": { "id": "x2", "ownerId": "alice" } }),
            json!({ "table": "drafts", "key": "x3", "op": "insert",
                    "row": { "id": "x3", "ownerId": "alice" } }),
            json!({ "table": "workorders", "key": "x4", "op": "insert",
                    "row": { "id": "x4", "accountId": "a0", "modifiedOn": "2026-11-24T00:00:00Z" } }),
            // Inserts over alice's keys with bob as owner: no overwrite, no serverRow.
            json!({ "table": "accounts", "key": "a0", "op": "insert",
                    "row": { "id": "a0", "ownerId": "bob" } }),
            json!({ "table": "notes", "key": "n0", "op": "insert",
                    "row": { "id": "n0", "ownerId": "bob" } }),
            json!({ "table": "drafts", "key": "d0", "op": "insert",
                    "row": { "id": "d0", "ownerId": "bob" } }),
            // Updates of alice's rows, with her current version, as a row or as columns.
            json!({ "table": "accounts", "key": "a0", "op": "update", "baseVersion": a0,
                    "columns": { "name": "mine" } }),
            json!({ "table": "accounts", "key": "a0", "op": "update", "baseVersion": a0,
                    "row": { "id": "a0", "ownerId": "bob" } }),
            json!({ "table": "notes", "key": "n0", "op": "update", "baseVersion": n0,
                    "columns": { "ownerId": "bob" } }),
            json!({ "table": "drafts", "key": "d0", "op": "update",
                    "columns": { "text": "client wins?" } }),
            json!({ "table": "workorders", "key": "w6", "op": "update", "baseVersion": w6,
                    "columns": { "accountId": "a1" } }),
            // Deletes of alice's rows.
            json!({ "table": "accounts", "key": "a0", "op": "delete", "baseVersion": a0 }),
            json!({ "table": "notes", "key": "n0", "op": "delete", "baseVersion": n0 }),
            json!({ "table": "drafts", "key": "d0", "op": "delete", "baseVersion": d0 }),
            json!({ "table": "workorders", "key": "w6", "op": "delete", "baseVersion": w6 }),
            // Moving bob's own rows into alice's scope.
            json!({ "table": "accounts", "key": "a1", "op": "update", "baseVersion": a1,
                    "columns": { "ownerId": "alice" } }),
            json!({ "table": "workorders", "key": "w1", "op": "update", "baseVersion": w1,
                    "columns": { "accountId": "a0" } }),
            json!({ "table": "drafts", "key": "d1", "op": "update",
                    "row": { "id": "d1", "ownerId": "alice" } }),
        ];
        let mut id = 0;
        for m in refused {
            id += 1;
            let out = bob_pushes(&ctx, id, m.clone()).await;
            assert_eq!(
                (&out["status"], &out["reason"]),
                (&json!("rejected"), &json!("permission")),
                "{kind:?}: {m} -> {out}"
            );
            assert_eq!(out.get("serverRow"), None);
        }
        // Pointing a row of bob's at alice's account answers like a missing account.
        id += 1;
        let at_alice = bob_pushes(&ctx, id, json!({ "table": "workorders", "key": "w1",
            "op": "update", "baseVersion": w1, "columns": { "accountId": "a0" } }))
        .await;
        id += 1;
        let at_nothing = bob_pushes(&ctx, id, json!({ "table": "workorders", "key": "w1",
            "op": "update", "baseVersion": w1, "columns": { "accountId": "zz" } }))
        .await;
        at_alice.as_object().unwrap().iter().for_each(|(k, v)| {
            if k != "id" {
                assert_eq!(v, &at_nothing[k], "{kind:?}: {k}");
            }
        });
        ctx.assert_unchanged(&before, "a refused push wrote").await;
        // Alice still pulls her rows as they were.
        let alice = Replica::synced(&ctx, ALICE, "alice-1").await;
        assert_eq!(alice.row("accounts", "a0").unwrap().1["name"], json!("Account 0"));
        assert_eq!(alice.row("drafts", "d0").unwrap().1["text"], json!("Draft 0"));
        // The control: the same client's push within bob's scope applies.
        id += 1;
        let ok = bob_pushes(&ctx, id, json!({ "table": "accounts", "key": "a1", "op": "update",
            "baseVersion": a1, "columns": { "name": "renamed" } }))
        .await;
        assert_eq!(ok["status"], "applied", "{ok}");
    })
    .await;
}

#[tokio::test]
async fn bobs_rest_writes_cannot_reach_into_alices_scope() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        // New rows in alice's scope, and moves of bob's rows into it: 403.
        for (table, body) in [
            ("accounts", json!({ "id": "x1", "ownerId": "alice" })),
            ("notes", json!({ "id": "x2", "ownerId": "alice" })),
            ("drafts", json!({ "id": "x3", "ownerId": "alice" })),
            (
                "workorders",
                json!({ "id": "x4", "accountId": "a0", "modifiedOn": "2026-11-24T00:00:00Z" }),
            ),
        ] {
            let r = ctx.post(BOB, &format!("/api/data/{table}"), body).await;
            r.assert_error(403, "forbidden");
            assert_no_leak("POST", &r.text);
        }
        for (uri, body) in [
            ("/api/data/accounts/a1", json!({ "ownerId": "alice" })),
            ("/api/data/workorders/w1", json!({ "accountId": "a0" })),
            ("/api/data/drafts/d1", json!({ "ownerId": "alice" })),
        ] {
            ctx.patch(BOB, uri, body)
                .await
                .assert_error(403, "forbidden");
        }
        // Alice's rows: 404, as if they did not exist, for reads and writes alike.
        for uri in [
            "/api/data/accounts/a0",
            "/api/data/notes/n0",
            "/api/data/drafts/d0",
            "/api/data/workorders/w6",
        ] {
            ctx.patch(BOB, uri, json!({ "ownerId": "bob" }))
                .await
                .assert_error(404, "not_found");
            ctx.delete(BOB, uri).await.assert_error(404, "not_found");
        }
        // A taken key is refused without showing the row that holds it.
        let r = ctx
            .post(
                BOB,
                "/api/data/accounts",
                json!({ "id": "a0", "ownerId": "bob" }),
            )
            .await;
        r.assert_error(409, "conflict");
        assert_no_leak("POST a0", &r.text);
        ctx.assert_unchanged(&before, "a refused write wrote").await;
        // The control: bob's own row takes his write.
        let r = ctx
            .patch(BOB, "/api/data/accounts/a1", json!({ "name": "renamed" }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    })
    .await;
}

#[tokio::test]
async fn another_users_client_id_is_refused_on_pull_and_push() {
    for_each_backend(|kind| async move {
        // Alice's phone has pulled: its client id is hers.
        let (ctx, _alice) = Ctx::demo_with_replica(kind, ALICE, "alice-phone").await;
        let before = ctx.snapshot().await;
        // Bob presenting alice's client id gets neither her pages nor her replays.
        let r = ctx.post_pull(BOB, pull_body("alice-phone")).await;
        r.assert_error(403, "user_mismatch");
        assert_no_leak("pull", &r.text);
        let r = ctx
            .post_push(
                BOB,
                json!({ "protocolVersion": 1,
                "clientId": "alice-phone", "mutations": [] }),
            )
            .await;
        r.assert_error(403, "user_mismatch");
        ctx.assert_unchanged(&before, "something was written").await;
    })
    .await;
}
