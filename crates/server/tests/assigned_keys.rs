//! Server-assigned keys (protocol.md §12, revision 3), on every backend: a `tempKey`
//! insert gets the next key of its table (by its `keyPattern`, or an integer), columns
//! pointing at a server-keyed table and later mutations naming a temporary key are mapped
//! to the real key, a replay gets the same key, keys already taken are skipped, unknown
//! temporary keys and misplaced `tempKey`s are refused, REST `POST` assigns too,
//! concurrent clients get distinct keys, and a refused unit takes its keys back.
//!
//! The fixture's `jobs` are keyed `JOB-{n:05}`, its `tasks` by integers, and a task's
//! `jobId` references `jobs`; both are owned by `ownerId`.

mod common;

use common::*;
use serde_json::{json, Value};

async fn push2(ctx: &Ctx, token: &str, client: &str, mutations: Value) -> Vec<Value> {
    let n = mutations.as_array().map_or(0, Vec::len);
    let body = json!({ "protocolVersion": 2, "clientId": client, "mutations": mutations });
    let r = ctx.post_push(token, body).await;
    assert_eq!(r.status, 200, "{:?} push: {}", ctx.kind, r.text);
    let outcomes = r.body["outcomes"].as_array().cloned().unwrap_or_default();
    assert_eq!(outcomes.len(), n, "one outcome per mutation: {}", r.text);
    outcomes
}

/// Mutation `id` inserting the job with temporary key `temp`, owned by `owner`.
fn new_job(id: u64, temp: &str, owner: &str) -> Value {
    json!({ "id": id, "table": "jobs", "key": temp, "op": "insert", "tempKey": true,
            "row": { "id": temp, "ownerId": owner, "title": format!("job {temp}") } })
}

/// Mutation `id` inserting the task `temp` of job `job` (a temporary or real key).
fn new_task(id: u64, temp: &str, job: &str, owner: &str) -> Value {
    json!({ "id": id, "table": "tasks", "key": temp, "op": "insert", "tempKey": true,
            "row": { "id": temp, "jobId": job, "ownerId": owner } })
}

#[track_caller]
fn applied_key(o: &Value) -> Value {
    assert_eq!(o["status"], "applied", "{o}");
    o["key"].clone()
}

#[track_caller]
fn assert_rejected(o: &Value, reason: &str, says: &str) {
    assert_eq!(
        (o["status"].as_str(), o["reason"].as_str()),
        (Some("rejected"), Some(reason)),
        "{o}"
    );
    let message = o["message"].as_str().unwrap();
    assert!(message.contains(says), "'{says}' in: {message}");
}

/// The stored row `table`/`key` (panics when there is none).
async fn stored(ctx: &Ctx, table: &str, key: &str) -> Value {
    ctx.server_rows(table)
        .await
        .get(key)
        .unwrap_or_else(|| panic!("{:?}: no {table} {key}", ctx.kind))
        .1
        .clone()
}

#[tokio::test]
async fn temporary_keys_get_pattern_and_integer_keys_and_children_follow() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                new_job(1, "~tmp:j1", "alice"),
                new_job(2, "~tmp:j2", "alice"),
                // In the same push as its parent: points at the parent's real key.
                new_task(3, "~tmp:t1", "~tmp:j2", "alice"),
                new_task(4, "~tmp:t2", "~tmp:j1", "alice"),
            ]),
        )
        .await;
        let keys: Vec<Value> = out.iter().map(applied_key).collect();
        assert_eq!(
            keys,
            [json!("JOB-00001"), json!("JOB-00002"), json!(1), json!(2)]
        );
        assert_eq!(
            stored(&ctx, "jobs", "JOB-00002").await,
            json!({ "id": "JOB-00002", "ownerId": "alice", "title": "job ~tmp:j2" })
        );
        assert_eq!(
            stored(&ctx, "tasks", "1").await,
            json!({ "id": 1, "jobId": "JOB-00002", "ownerId": "alice" })
        );
        assert_eq!(stored(&ctx, "tasks", "2").await["jobId"], "JOB-00001");

        // A pull brings the rows under their real keys only.
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&[
                "upsert jobs JOB-00001",
                "upsert jobs JOB-00002",
                "upsert tasks 1",
                "upsert tasks 2"
            ])
        );
        assert_eq!(alice.row("tasks", "1").unwrap().0, out[2]["version"]);
    })
    .await;
}

#[tokio::test]
async fn a_later_push_naming_a_temporary_key_is_mapped() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let out = push2(&ctx, ALICE, "alice-1", json!([new_job(1, "~tmp:j1", "alice")])).await;
        assert_eq!(applied_key(&out[0]), "JOB-00001");
        let v = out[0]["version"].as_str().unwrap().to_string();
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                new_task(2, "~tmp:t1", "~tmp:j1", "alice"),
                // The job by its temporary key: the key and the row's key column mapped.
                { "id": 3, "table": "jobs", "key": "~tmp:j1", "op": "update", "baseVersion": v,
                  "row": { "id": "~tmp:j1", "ownerId": "alice", "title": "renamed" } },
            ]),
        )
        .await;
        assert_eq!(applied_key(&out[0]), 1);
        assert_eq!(out[1]["status"], "applied", "{}", out[1]);
        assert!(out[1].get("key").is_none(), "only a tempKey insert answers a key");
        assert_eq!(stored(&ctx, "tasks", "1").await["jobId"], "JOB-00001");
        assert_eq!(
            stored(&ctx, "jobs", "JOB-00001").await,
            json!({ "id": "JOB-00001", "ownerId": "alice", "title": "renamed" })
        );
        // A columns update of the task, pointing it at the job by its temporary key, and a
        // delete of the job by its temporary key.
        let v_task = out[0]["version"].as_str().unwrap().to_string();
        let v_job = out[1]["version"].as_str().unwrap().to_string();
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                { "id": 4, "table": "tasks", "key": "~tmp:t1", "op": "update", "baseVersion": v_task,
                  "columns": { "jobId": "~tmp:j1", "done": true } },
                { "id": 5, "table": "jobs", "key": "~tmp:j1", "op": "delete", "baseVersion": v_job },
            ]),
        )
        .await;
        assert_eq!(out[0]["status"], "applied", "{}", out[0]);
        assert_eq!(out[1]["status"], "applied", "{}", out[1]);
        assert_eq!(
            stored(&ctx, "tasks", "1").await,
            json!({ "id": 1, "jobId": "JOB-00001", "ownerId": "alice", "done": true })
        );
        assert!(ctx.server_rows("jobs").await.is_empty(), "{kind:?}");
    })
    .await;
}

#[tokio::test]
async fn a_replayed_push_gets_the_same_keys() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let batch = json!([
            new_job(1, "~tmp:j1", "alice"),
            new_task(2, "~tmp:t1", "~tmp:j1", "alice")
        ]);
        let out = push2(&ctx, ALICE, "alice-1", batch.clone()).await;
        let after = ctx.snapshot().await;
        // The answer was lost: the client sends the same push again.
        let again = push2(&ctx, ALICE, "alice-1", batch).await;
        assert_eq!(again, out, "{kind:?}");
        assert_eq!(applied_key(&again[0]), "JOB-00001");
        assert_eq!(applied_key(&again[1]), 1);
        ctx.assert_unchanged(&after, "a replay").await;
        assert_eq!(ctx.server_rows("jobs").await.len(), 1);
        // The sequence did not move either: the next job is number 2.
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([new_job(3, "~tmp:j2", "alice")]),
        )
        .await;
        assert_eq!(applied_key(&out[0]), "JOB-00002");
    })
    .await;
}

#[tokio::test]
async fn keys_already_taken_are_skipped() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        // Rows under the first keys of the sequence, written as the seed writes them:
        // JOB-00001 live, JOB-00002 deleted (its tombstone keeps the key), task 1 live.
        ctx.admin_put("jobs", json!({ "id": "JOB-00001", "ownerId": "bob" }))
            .await;
        ctx.admin_put("jobs", json!({ "id": "JOB-00002", "ownerId": "alice" }))
            .await;
        ctx.admin_delete("jobs", json!("JOB-00002")).await;
        ctx.admin_put("tasks", json!({ "id": 1, "ownerId": "alice" }))
            .await;
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                new_job(1, "~tmp:j1", "alice"),
                new_task(2, "~tmp:t1", "~tmp:j1", "alice")
            ]),
        )
        .await;
        assert_eq!(applied_key(&out[0]), "JOB-00003");
        assert_eq!(applied_key(&out[1]), 2);
        assert_eq!(
            stored(&ctx, "jobs", "JOB-00001").await,
            json!({ "id": "JOB-00001", "ownerId": "bob" }),
            "{kind:?}: the seeded row is untouched"
        );
        assert_eq!(stored(&ctx, "tasks", "2").await["jobId"], "JOB-00003");
    })
    .await;
}

#[tokio::test]
async fn a_temporary_key_never_assigned_is_refused() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let out = push2(&ctx, ALICE, "alice-1", json!([new_job(1, "~tmp:j1", "alice")])).await;
        assert_eq!(applied_key(&out[0]), "JOB-00001");
        let before = ctx.snapshot().await;
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                new_task(2, "~tmp:t1", "~tmp:nope", "alice"),
                { "id": 3, "table": "jobs", "key": "~tmp:nope", "op": "update", "baseVersion": "1",
                  "columns": { "title": "x" } },
                { "id": 4, "table": "jobs", "key": "~tmp:nope", "op": "delete", "baseVersion": "1" },
            ]),
        )
        .await;
        for o in &out {
            assert_rejected(o, "validation", "'~tmp:nope' is a temporary key of 'jobs'");
        }
        // A temporary key belongs to the client that made it: another client of the same
        // user, and another user, cannot use it.
        for (token, client, owner) in [(ALICE, "alice-2", "alice"), (BOB, "bob-1", "bob")] {
            let out = push2(
                &ctx,
                token,
                client,
                json!([new_task(1, "~tmp:t1", "~tmp:j1", owner)]),
            )
            .await;
            assert_rejected(&out[0], "validation", "never assigned");
        }
        ctx.assert_unchanged(&before, "unknown temporary keys").await;
    })
    .await;
}

#[tokio::test]
async fn temp_key_only_on_inserts_into_server_keyed_tables() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                // A table whose keys the client gives.
                { "id": 1, "table": "accounts", "key": "~tmp:a1", "op": "insert", "tempKey": true,
                  "row": { "id": "~tmp:a1", "ownerId": "alice" } },
                // A server-keyed table without tempKey: with a real-looking key, or a
                // temporary one.
                { "id": 2, "table": "jobs", "key": "JOB-00042", "op": "insert",
                  "row": { "id": "JOB-00042", "ownerId": "alice" } },
                { "id": 3, "table": "jobs", "key": "~tmp:j1", "op": "insert",
                  "row": { "id": "~tmp:j1", "ownerId": "alice" } },
                // tempKey with a key that is not temporary, or on an update.
                { "id": 4, "table": "jobs", "key": "j1", "op": "insert", "tempKey": true,
                  "row": { "id": "j1", "ownerId": "alice" } },
                { "id": 5, "table": "jobs", "key": "~tmp:j1", "op": "update", "tempKey": true,
                  "baseVersion": "1", "columns": { "title": "x" } },
            ]),
        )
        .await;
        assert_rejected(&out[0], "validation", "does not assign");
        assert_rejected(
            &out[1],
            "validation",
            "the server assigns the keys of 'jobs'",
        );
        assert_rejected(&out[2], "validation", "never assigned");
        assert_rejected(&out[3], "validation", "tempKey is for an insert");
        assert_rejected(&out[4], "validation", "tempKey is for an insert");
        ctx.assert_unchanged(&before, "misplaced tempKeys").await;
        // Nothing was taken from the sequence.
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([new_job(6, "~tmp:j1", "alice")]),
        )
        .await;
        assert_eq!(applied_key(&out[0]), "JOB-00001");
    })
    .await;
}

#[tokio::test]
async fn rest_post_assigns_the_key_and_refuses_one_in_the_body() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let r = ctx
            .post(
                ALICE,
                "/api/data/jobs",
                json!({ "ownerId": "alice", "title": "t" }),
            )
            .await;
        assert_eq!(r.status, 201, "{kind:?}: {}", r.text);
        assert_eq!(
            r.body,
            json!({ "id": "JOB-00001", "ownerId": "alice", "title": "t" })
        );
        assert_eq!(
            r.headers.get("location").and_then(|v| v.to_str().ok()),
            Some("/api/data/jobs/%27JOB%2D00001%27")
        );
        let r = ctx
            .post(
                ALICE,
                "/api/data/tasks",
                json!({ "ownerId": "alice", "jobId": "JOB-00001" }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["id"], json!(1));
        assert_eq!(stored(&ctx, "tasks", "1").await["jobId"], "JOB-00001");

        let before = ctx.snapshot().await;
        for body in [
            json!({ "id": "JOB-00009", "ownerId": "alice" }),
            json!({ "id": "~tmp:x", "ownerId": "alice" }),
        ] {
            let r = ctx.post(ALICE, "/api/data/jobs", body).await;
            r.assert_error(400, "invalid_argument");
            assert!(r.text.contains("leave 'id' out"), "{}", r.text);
        }
        // Out of scope: 403, and the number it took is given back.
        ctx.post(ALICE, "/api/data/jobs", json!({ "ownerId": "bob" }))
            .await
            .assert_error(403, "forbidden");
        ctx.assert_unchanged(&before, "refused REST POSTs").await;
        // REST and push share the sequence.
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([new_job(1, "~tmp:j1", "alice")]),
        )
        .await;
        assert_eq!(applied_key(&out[0]), "JOB-00002");
    })
    .await;
}

#[tokio::test]
async fn concurrent_clients_get_distinct_keys() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let batch = |owner: &str| {
            let jobs: Vec<Value> = (1..=20)
                .map(|i| new_job(i, &format!("~tmp:{owner}-{i}"), owner))
                .collect();
            Value::Array(jobs)
        };
        let (a, b) = tokio::join!(
            push2(&ctx, ALICE, "alice-1", batch("alice")),
            push2(&ctx, BOB, "bob-1", batch("bob")),
        );
        let mut keys: Vec<String> = a
            .iter()
            .chain(&b)
            .map(|o| applied_key(o).as_str().unwrap().to_string())
            .collect();
        keys.sort();
        let want: Vec<String> = (1..=40).map(|n| format!("JOB-{n:05}")).collect();
        assert_eq!(keys, want, "{kind:?}: every key once");
        let rows = ctx.server_rows("jobs").await;
        assert_eq!(rows.len(), 40);
        for (o, owner) in a
            .iter()
            .map(|o| (o, "alice"))
            .chain(b.iter().map(|o| (o, "bob")))
        {
            let key = o["key"].as_str().unwrap();
            assert_eq!(rows[key].1["ownerId"], owner, "{key}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_refused_unit_gives_its_keys_back() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let unit = |mut m: Value| {
            m["unit"] = json!("u1");
            m
        };
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                unit(new_job(1, "~tmp:j1", "alice")),
                unit(new_task(2, "~tmp:t1", "~tmp:j1", "alice")),
                // Bob's: outside Alice's scope, so the unit is refused.
                unit(new_task(3, "~tmp:t2", "~tmp:j1", "bob")),
            ]),
        )
        .await;
        assert_rejected(&out[0], "transaction", "mutation 3");
        assert!(out[0].get("key").is_none(), "{}", out[0]);
        assert_rejected(&out[1], "transaction", "mutation 3");
        assert_rejected(&out[2], "permission", "outside your scope");
        ctx.assert_unchanged(&before, "a refused unit").await;
        // The temporary key was never assigned: the record went with the unit.
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([new_task(4, "~tmp:t1", "~tmp:j1", "alice")]),
        )
        .await;
        assert_rejected(&out[0], "validation", "never assigned");
        // Sent again as new mutations, it gets the numbers the refused unit had taken.
        let out = push2(
            &ctx,
            ALICE,
            "alice-1",
            json!([
                unit(new_job(5, "~tmp:j1", "alice")),
                unit(new_task(6, "~tmp:t1", "~tmp:j1", "alice")),
            ]),
        )
        .await;
        assert_eq!(applied_key(&out[0]), "JOB-00001");
        assert_eq!(applied_key(&out[1]), 1);
        assert_eq!(stored(&ctx, "tasks", "1").await["jobId"], "JOB-00001");
    })
    .await;
}
