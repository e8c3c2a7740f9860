//! Bad input gets a clear 4xx JSON error and changes nothing, on every backend:
//! malformed JSON, wrong shapes, oversized bodies, unknown tables and routes, bad query
//! options.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn malformed_json_and_wrong_shapes_are_400_and_change_nothing() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        ctx.pull(ALICE, "c1", None, None).await;
        let before = ctx.snapshot().await;
        let endpoints = [
            ("POST", "/sync/pull"),
            ("POST", "/sync/push"),
            ("POST", "/api/data/accounts"),
            ("PATCH", "/api/data/accounts/a0"),
        ];
        for (method, uri) in endpoints {
            for body in [
                &b"{\"protocolVersion\": 1, \"clientId\": "[..],
                b"{'protocolVersion': 1}",
                b"",
                b"not json",
                b"{\"a\":1} trailing",
            ] {
                let r = ctx.raw(method, uri, Some(ALICE), Some(body.to_vec())).await;
                r.assert_error(400, "invalid_argument");
            }
        }
        let r = ctx
            .raw(
                "POST",
                "/sync/pull",
                Some(ALICE),
                Some(b"{\"protocolVersion\": 1,".to_vec()),
            )
            .await;
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains("line 1"), "the parser's position: {msg}");
        // Bytes that are not UTF-8: refused before parsing, in the words the fetch
        // interceptor uses too (both read bodies through `RestError::body_text`).
        for (method, uri) in endpoints {
            let r = ctx
                .raw(
                    method,
                    uri,
                    Some(ALICE),
                    Some(b"{\"name\": \"\xff\"}".to_vec()),
                )
                .await;
            r.assert_error(400, "invalid_argument");
            let msg = r.body["error"]["message"].as_str().unwrap();
            assert!(
                msg.contains("not UTF-8 (at byte 10)"),
                "{method} {uri}: {msg}"
            );
        }

        let mutation = insert_account(1, "x1", "alice");
        let with = |field: &str, value: serde_json::Value| {
            let mut m = mutation.clone();
            m[field] = value;
            push_body("c1", json!([m]))
        };
        let mut missing_key = mutation.clone();
        missing_key.as_object_mut().unwrap().remove("key");
        let bad_pushes = [
            json!([]),
            json!("push"),
            json!({ "protocolVersion": 1, "clientId": "c1" }),
            json!({ "protocolVersion": 1, "clientId": "c1", "mutations": {} }),
            json!({ "protocolVersion": "1", "clientId": "c1", "mutations": [] }),
            json!({ "protocolVersion": 1, "clientId": "c1", "mutations": [missing_key] }),
            with("op", json!("upsert")),
            with("key", json!({ "id": 1 })),
            with("key", json!(true)),
            with("key", json!(null)),
            with("key", json!([1])),
            with("id", json!(-1)),
            with("id", json!("1")),
            with("id", json!(1.5)),
            with("table", json!(7)),
            with("baseVersion", json!(3)),
            with("columns", json!([1])),
        ];
        for body in bad_pushes {
            let r = ctx.post_push(ALICE, body.clone()).await;
            assert_eq!(r.status, 400, "{kind:?}: {body} -> {}", r.text);
            r.assert_error(400, "invalid_argument");
        }
        for body in [json!([]), json!("row"), json!(null), json!(17)] {
            ctx.post(ALICE, "/api/data/accounts", body.clone())
                .await
                .assert_error(400, "invalid_argument");
            ctx.patch(ALICE, "/api/data/accounts/a0", body)
                .await
                .assert_error(400, "invalid_argument");
        }
        ctx.assert_unchanged(&before, "a refused request wrote")
            .await;
    })
    .await;
}

#[tokio::test]
async fn oversized_bodies_are_413_and_change_nothing() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::new(kind, demo_profile(), 2048).await;
        ctx.seed(&demo_seed()).await;
        let before = ctx.snapshot().await;
        let big = "x".repeat(4096);
        let row = json!({ "id": "a9", "ownerId": "alice", "notes": big });
        let push = push_body(
            "c1",
            json!([{ "id": 1, "table": "accounts", "key": "a9", "op": "insert", "row": row }]),
        );
        ctx.post_push(ALICE, push)
            .await
            .assert_error(413, "payload_too_large");
        ctx.post(ALICE, "/api/data/accounts", row.clone())
            .await
            .assert_error(413, "payload_too_large");
        ctx.patch(ALICE, "/api/data/accounts/a0", json!({ "notes": big }))
            .await
            .assert_error(413, "payload_too_large");
        let pull = json!({ "protocolVersion": 1, "clientId": "c1", "pad": big });
        ctx.post_pull(ALICE, pull)
            .await
            .assert_error(413, "payload_too_large");
        ctx.assert_unchanged(&before, "something was written").await;
        // The push's client id was not even claimed: the same id applies from 1.
        let small = json!({ "id": "a9", "ownerId": "alice", "notes": "x".repeat(1000) });
        let out = ctx
            .push(ALICE, "c1", json!([{ "id": 1, "table": "accounts", "key": "a9", "op": "insert", "row": small }]))
            .await;
        assert_eq!(out[0]["status"], "applied", "a body under the limit is served");
    })
    .await;
}

#[tokio::test]
async fn unknown_tables_routes_and_bad_query_options_are_4xx() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        ctx.get(ALICE, "/api/data/ghosts")
            .await
            .assert_error(404, "not_found");
        ctx.get(ALICE, "/api/data/ghosts/1")
            .await
            .assert_error(404, "not_found");
        ctx.post(ALICE, "/api/data/ghosts", json!({ "id": 1 }))
            .await
            .assert_error(404, "not_found");
        ctx.patch(ALICE, "/api/data/ghosts/1", json!({ "a": 1 }))
            .await
            .assert_error(404, "not_found");
        ctx.delete(ALICE, "/api/data/ghosts/1")
            .await
            .assert_error(404, "not_found");
        ctx.get(ALICE, "/api/nothing")
            .await
            .assert_error(404, "not_found");
        ctx.get(ALICE, "/sync/elsewhere")
            .await
            .assert_error(404, "not_found");
        // A segment that is not UTF-8 once decoded: JSON like every other error.
        for uri in [
            "/api/data/accounts/%FF",
            "/api/data/%FF",
            "/api/data/%FF/a0",
        ] {
            ctx.get(ALICE, uri)
                .await
                .assert_error(400, "invalid_argument");
        }
        ctx.delete(ALICE, "/api/data/accounts/%C3")
            .await
            .assert_error(400, "invalid_argument");

        for query in [
            "$filter=city%20equals%20'Paris'",
            "$filter=city%20eq",
            "$filter=(city%20eq%20'Paris'",
            "$filter=city%20eq%20'Paris",
            "$filter=drop%20table",
            "$orderby=city%20sideways",
            "$top=-1",
            "$top=ten",
            "$skip=1.5",
            "$count=maybe",
            "$expand=orders",
            "$top=1&$top=2",
        ] {
            let r = ctx.get(ALICE, &format!("/api/data/accounts?{query}")).await;
            assert_eq!(r.status, 400, "{kind:?}: {query} -> {}", r.text);
            r.assert_error(400, "invalid_argument");
        }
        let r = ctx
            .get(ALICE, "/api/data/accounts?$filter=city%20equals%20'Paris'")
            .await;
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains("$filter") && msg.contains("position"), "{msg}");
        ctx.assert_unchanged(&before, "something was written").await;
    })
    .await;
}
