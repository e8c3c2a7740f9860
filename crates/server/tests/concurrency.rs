//! Concurrent writers, on a real SQLite file and on PostgreSQL: a puller running at the
//! same time as many small write transactions never skips a row (checkpoints never pass
//! an uncommitted version), concurrent pushes against one base version conflict instead
//! of overwriting each other, and purging tombstones works while writers run.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const ROUNDS: usize = 30;

fn profile() -> Value {
    json!({ "version": 1, "tables": {
        "items": { "key": "id", "conflict": "client-wins", "scope": "all" },
        "accounts": { "key": "id", "scope": { "owner": "ownerId" } },
        "orders": { "key": "id",
            "scope": { "related": { "table": "accounts", "column": "accountId" } } } } })
}

/// Alice's pushes: each batch one transaction inserting, updating and deleting.
async fn push_writer(ctx: Arc<Ctx>, w: usize) {
    let client = format!("writer-{w}");
    let mut id = 0u64;
    let mut next = || {
        id += 1;
        id
    };
    for r in 0..ROUNDS {
        let mut batch = vec![
            json!({ "id": next(), "table": "items", "key": format!("p{w}-{r}"), "op": "insert",
                    "row": { "id": format!("p{w}-{r}"), "n": r } }),
            json!({ "id": next(), "table": "accounts", "key": format!("acc{w}-{r}"), "op": "insert",
                    "row": { "id": format!("acc{w}-{r}"), "ownerId": "alice" } }),
            json!({ "id": next(), "table": "orders", "key": format!("o{w}-{r}"), "op": "insert",
                    "row": { "id": format!("o{w}-{r}"), "accountId": format!("acc{w}-{r}") } }),
        ];
        if r > 0 {
            batch.push(
                json!({ "id": next(), "table": "items", "key": format!("p{w}-{}", r - 1),
                "op": "update", "columns": { "n": r * 100 }, "baseVersion": "0" }),
            );
        }
        if r >= 3 && r % 3 == 0 {
            batch.push(
                json!({ "id": next(), "table": "items", "key": format!("p{w}-{}", r - 3),
                "op": "delete", "baseVersion": "0" }),
            );
        }
        let out = ctx.push(ALICE, &client, Value::Array(batch)).await;
        for o in out {
            assert_eq!(o["status"], "applied", "{:?}: {o}", ctx.kind);
        }
    }
}

/// Alice's REST writes: one transaction per request.
async fn rest_writer(ctx: Arc<Ctx>, w: usize) {
    for r in 0..ROUNDS {
        let key = format!("r{w}-{r}");
        let resp = ctx
            .post(ALICE, "/api/data/items", json!({ "id": key, "n": r }))
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text);
        if r > 0 {
            let uri = format!("/api/data/items/'r{w}-{}'", r - 1);
            let resp = ctx.patch(ALICE, &uri, json!({ "n": -1 })).await;
            assert_eq!(resp.status, 200, "{}", resp.text);
        }
        if r % 4 == 1 {
            let uri = format!("/api/data/items/'r{w}-{}'", r - 1);
            let resp = ctx.delete(ALICE, &uri).await;
            assert_eq!(resp.status, 204, "{}", resp.text);
        }
    }
}

/// Another user's writes (outside alice's scope), and accounts handed between the two
/// (alice's orders follow them in and out).
async fn other_writer(ctx: Arc<Ctx>) {
    for r in 0..ROUNDS {
        let resp = ctx
            .post(
                BOB,
                "/api/data/accounts",
                json!({ "id": format!("bob-{r}"), "ownerId": "bob" }),
            )
            .await;
        assert_eq!(resp.status, 201, "{}", resp.text);
        let owner = if r % 2 == 0 { "bob" } else { "alice" };
        ctx.admin_put(
            "accounts",
            json!({ "id": format!("moving-{}", r % 3), "ownerId": owner }),
        )
        .await;
    }
}

/// The rows of each table in alice's scope on the server now: (table, key) → (version, row).
async fn alice_expected(ctx: &Ctx) -> BTreeMap<(String, String), (String, Value)> {
    let mut out = BTreeMap::new();
    let accounts = ctx.server_rows("accounts").await;
    for (k, v) in ctx.server_rows("items").await {
        out.insert(("items".to_string(), k), v);
    }
    for (k, v) in &accounts {
        if v.1["ownerId"] == "alice" {
            out.insert(("accounts".to_string(), k.clone()), v.clone());
        }
    }
    for (k, v) in ctx.server_rows("orders").await {
        let parent = v.1["accountId"].as_str().unwrap_or("");
        if accounts
            .get(parent)
            .is_some_and(|a| a.1["ownerId"] == "alice")
        {
            out.insert(("orders".to_string(), k), v);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_puller_running_beside_concurrent_writers_never_skips_a_row() {
    for_each_backend(|kind| async move {
        let ctx = Arc::new(Ctx::new(kind, profile(), 1 << 20).await);
        let mut seed = vec![];
        for i in 0..3 {
            seed.push(json!({ "id": format!("moving-{i}"), "ownerId": "alice" }));
        }
        ctx.seed(&json!({ "accounts": seed, "orders": [
            { "id": "om-0", "accountId": "moving-0" }, { "id": "om-1", "accountId": "moving-1" },
            { "id": "om-2", "accountId": "moving-2" } ] }))
            .await;

        let done = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..3 {
            writers.push(tokio::spawn(push_writer(ctx.clone(), w)));
        }
        for w in 0..2 {
            writers.push(tokio::spawn(rest_writer(ctx.clone(), w)));
        }
        writers.push(tokio::spawn(other_writer(ctx.clone())));

        let puller = {
            let ctx = ctx.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut replica = Replica::new(ALICE, "puller");
                // The versions each key was sent at must only ever rise.
                let mut seen: BTreeMap<(String, String), u64> = BTreeMap::new();
                let mut pages = 0;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let page = ctx
                        .pull(ALICE, "puller", replica.checkpoint.as_deref(), Some(7))
                        .await;
                    pages += 1;
                    if let Some(before) = &replica.checkpoint {
                        let (b, a) = (
                            checkpoint_num(&json!(before)),
                            checkpoint_num(&page["checkpoint"]),
                        );
                        assert!(a >= b, "checkpoint went back {b} -> {a}");
                    }
                    for c in page["changes"].as_array().unwrap() {
                        let id = (c["table"].as_str().unwrap().to_string(), label(&c["key"]));
                        let v = checkpoint_num(&c["version"]);
                        if let Some(prev) = seen.insert(id.clone(), v) {
                            assert!(v > prev, "{id:?} sent at {v} after {prev}: {c}");
                        }
                    }
                    replica.apply(&page);
                    if finished && page["hasMore"] == json!(false) {
                        return (replica, pages);
                    }
                }
            })
        };
        for w in writers {
            w.await.expect("writer");
        }
        done.store(true, Ordering::SeqCst);
        let (replica, pages) = puller.await.expect("puller");

        let expected = alice_expected(&ctx).await;
        let missing: Vec<_> = expected
            .iter()
            .filter(|(k, v)| replica.rows.get(k) != Some(v))
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.0.clone(),
                    replica.rows.get(k).map(|r| r.0.clone()),
                )
            })
            .collect();
        let extra: Vec<_> = replica
            .rows
            .keys()
            .filter(|k| !expected.contains_key(k))
            .collect();
        assert!(
            missing.is_empty(),
            "{kind:?}: rows skipped or stale (key, server version, seen): {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "{kind:?}: rows the puller should have removed: {extra:?}"
        );
        // Sanity: the writers wrote what they meant to, and the puller ran beside them.
        assert_eq!(
            expected.keys().filter(|(t, _)| t == "orders").count(),
            3 * ROUNDS + 3 - expected_moved_out(&ctx).await
        );
        assert!(pages > 10, "{pages} pages");
        eprintln!("{kind:?}: {} rows in scope, {pages} pages", expected.len());

        // A client starting now gets the same.
        let mut fresh = Replica::new(ALICE, "fresh");
        fresh.sync(&ctx, Some(50)).await;
        assert_eq!(fresh.rows, expected);
    })
    .await;
}

/// Orders of the `moving-*` accounts that ended with bob.
async fn expected_moved_out(ctx: &Ctx) -> usize {
    ctx.server_rows("accounts")
        .await
        .iter()
        .filter(|(k, v)| k.starts_with("moving-") && v.1["ownerId"] == "bob")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_on_one_base_version_apply_once_and_conflict_otherwise() {
    for_each_backend(|kind| async move {
        let ctx = Arc::new(Ctx::demo(kind).await);
        let clients = 4;
        for round in 0..10 {
            let (base, _) = ctx.server_rows("accounts").await["a0"].clone();
            let barrier = Arc::new(tokio::sync::Barrier::new(clients));
            let mut tasks = Vec::new();
            for c in 0..clients {
                let ctx = ctx.clone();
                let barrier = barrier.clone();
                let base = base.clone();
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    let m = json!([{ "id": round + 1, "table": "accounts", "key": "a0", "op": "update",
                        "columns": { "name": format!("by {c} in {round}") }, "baseVersion": base }]);
                    ctx.push(ALICE, &format!("client-{c}"), m).await.remove(0)
                }));
            }
            let mut outcomes = Vec::new();
            for t in tasks {
                outcomes.push(t.await.unwrap());
            }
            let applied: Vec<&Value> = outcomes.iter().filter(|o| o["status"] == "applied").collect();
            assert_eq!(applied.len(), 1, "{kind:?} round {round}: {outcomes:?}");
            let (version, row) = ctx.server_rows("accounts").await["a0"].clone();
            assert_eq!(applied[0]["version"], json!(version));
            for o in outcomes.iter().filter(|o| o["status"] != "applied") {
                assert_eq!(o["status"], "conflict", "{o}");
                assert_eq!(o["serverVersion"], json!(version), "{o}");
                assert_eq!(o["serverRow"], row, "{o}");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn purging_tombstones_beside_concurrent_writers_succeeds() {
    for_each_backend(|kind| async move {
        let ctx = Arc::new(Ctx::new(kind, profile(), 1 << 20).await);
        let done = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..2 {
            writers.push(tokio::spawn(rest_writer(ctx.clone(), w)));
        }
        let purger = {
            let (ctx, done) = (ctx.clone(), done.clone());
            tokio::spawn(async move {
                let mut runs = 0;
                while !done.load(Ordering::SeqCst) {
                    // Every tombstone is "old": the clock is far ahead of the writes.
                    if let Err(e) = ctx.db.purge_tombstones(NOW + 365 * DAY).await {
                        panic!(
                            "{:?}: purge failed beside writers: {}",
                            ctx.kind, e.0.message
                        );
                    }
                    runs += 1;
                }
                runs
            })
        };
        for w in writers {
            w.await.expect("writer");
        }
        done.store(true, Ordering::SeqCst);
        let runs = purger.await.expect("purger");
        assert!(runs > 0);
    })
    .await;
}
