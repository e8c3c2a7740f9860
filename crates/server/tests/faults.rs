//! The test fault layer (`--test-faults`; built only with the `test-faults` feature), on
//! every backend: each fault kind, how rules pick requests (path, user, skip, times,
//! order), the log, CORS on injected answers, and that without the flag there is no
//! `/_test` route. The kinds that act on the connection (`close`, `hang`,
//! `dropAfterCommit`) are checked over real TCP.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn add_rules(ctx: &Ctx, rules: Value) -> Resp {
    ctx.raw(
        "POST",
        "/_test/faults",
        None,
        Some(json!({ "rules": rules }).to_string().into_bytes()),
    )
    .await
}

async fn fault_state(ctx: &Ctx) -> Value {
    let r = ctx.raw("GET", "/_test/faults", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body
}

/// One rule: `fault` on every request to `path`.
async fn fault_on(ctx: &Ctx, path: &str, fault: Value) -> Resp {
    add_rules(ctx, json!([{ "path": path, "fault": fault }])).await
}

/// The push the tests send: client `c1` inserts alice's account `f1`.
fn f1_push() -> Value {
    push_body("c1", f1_mutations())
}

fn f1_mutations() -> Value {
    json!([{ "id": 1, "table": "accounts", "key": "f1", "op": "insert",
             "row": { "id": "f1", "name": "Fault test", "ownerId": "alice" } }])
}

/// Alice's first pull as client `c1` through the router, whatever the answer holds.
async fn pull_bytes(ctx: &Ctx) -> (StatusCode, Vec<u8>) {
    post_bytes(ctx, "/sync/pull", ALICE, &pull_body("c1")).await
}

/// A POST through the router, whatever the body holds.
async fn post_bytes(ctx: &Ctx, uri: &str, token: &str, body: &Value) -> (StatusCode, Vec<u8>) {
    let req = Request::post(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, bytes) = ctx.call_bytes(req).await;
    (status, bytes)
}

/// What one HTTP/1.1 exchange over a fresh TCP connection got back.
#[derive(Debug, PartialEq)]
enum Got {
    /// A complete response: status and body.
    Answer(u16, String),
    /// The server closed (or reset) the connection before sending a single byte.
    Dropped,
    /// Nothing at all within the wait.
    Silent,
}

async fn over_tcp(addr: SocketAddr, path: &str, token: &str, body: &Value, wait: Duration) -> Got {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.to_string();
    let head = request_head("POST", path, &addr.to_string(), token, body.len());
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut raw)).await {
        Err(_) if raw.is_empty() => return Got::Silent,
        Err(_) => panic!("a partial response: {}", String::from_utf8_lossy(&raw)),
        // A reset is a drop too, as long as nothing came before it.
        Ok(Err(e)) if raw.is_empty() => {
            eprintln!("connection reset: {e}");
            return Got::Dropped;
        }
        Ok(Err(e)) => panic!("read failed after {} bytes: {e}", raw.len()),
        Ok(Ok(_)) if raw.is_empty() => return Got::Dropped,
        Ok(Ok(_)) => {}
    }
    let (status, body) = parse_response(&raw);
    Got::Answer(status, body)
}

/// The demo server with the fault layer, served over TCP: it and its address.
async fn served(kind: Kind) -> (Ctx, SocketAddr) {
    let ctx = Ctx::demo_with_faults(kind).await;
    let addr = ctx.serve().await;
    (ctx, addr)
}

/// Alice's first pull as client `c1`, over TCP.
async fn pull_over_tcp(addr: SocketAddr, wait: Duration) -> Got {
    over_tcp(addr, "/sync/pull", ALICE, &pull_body("c1"), wait).await
}

#[tokio::test]
async fn a_status_fault_answers_the_error_body_once_with_cors_and_is_logged() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo_with_faults(kind).await;
        let r = fault_on(
            &ctx,
            "/sync/push",
            json!({ "kind": "status", "status": 503 }),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["rules"][0]["times"], json!(1), "times defaults to 1");
        let before = ctx.snapshot().await;

        // Cross-origin, as a browser sends it: the injected answer carries CORS headers.
        let req = Request::post("/sync/push")
            .header("authorization", format!("Bearer {ALICE}"))
            .header("origin", "http://page.test")
            .body(Body::from(f1_push().to_string()))
            .unwrap();
        let r = ctx.call(req).await;
        r.assert_error(503, "internal");
        assert_eq!(r.headers["access-control-allow-origin"], "*");
        ctx.assert_unchanged(&before, "the handler did not run")
            .await;

        // Used up: the same push now goes through.
        let out = ctx.push(ALICE, "c1", f1_mutations()).await;
        assert_eq!(out[0]["status"], "applied");
        assert_eq!(
            fault_state(&ctx).await,
            json!({ "rules": [], "fired": [
                { "method": "POST", "path": "/sync/push", "user": "alice", "kind": "status" } ] })
        );
    })
    .await;
}

#[tokio::test]
async fn rules_pick_requests_by_user_skip_times_and_order() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo_with_faults(kind).await;
        // Bob's 2nd and 3rd pulls; alice is never touched.
        add_rules(
            &ctx,
            json!([{ "path": "/sync/pull", "user": "bob", "skip": 1, "times": 2,
                     "fault": { "kind": "unauthorized" } }]),
        )
        .await;
        let pull = |token: &'static str| {
            let ctx = &ctx;
            async move { ctx.post_pull(token, pull_body(token)).await }
        };
        let bad_token = ctx.post_pull("nobody", pull_body("x")).await;
        assert_eq!(pull(ALICE).await.status, StatusCode::OK);
        assert_eq!(pull(BOB).await.status, StatusCode::OK);
        let faulted = pull(BOB).await;
        faulted.assert_error(401, "unauthorized");
        assert_eq!(faulted.body, bad_token.body, "the server's own 401 body");
        assert_eq!(pull(ALICE).await.status, StatusCode::OK);
        assert_eq!(pull(BOB).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(pull(BOB).await.status, StatusCode::OK);
        let state = fault_state(&ctx).await;
        assert_eq!(state["rules"], json!([]));
        assert_eq!(state["fired"].as_array().unwrap().len(), 2);
        assert_eq!(state["fired"][1]["user"], "bob");

        // Every matching rule counts a request against its skip; the first ready one
        // fires. A prefix path ends in `*`; `method` narrows.
        add_rules(
            &ctx,
            json!([
                { "path": "/api/data/*", "method": "GET", "skip": 1,
                  "fault": { "kind": "status", "status": 500 } },
                { "path": "/api/data/accounts", "fault": { "kind": "status", "status": 502 } },
            ]),
        )
        .await;
        let sent = ctx
            .post(
                ALICE,
                "/api/data/accounts",
                json!({ "id": "r1", "ownerId": "alice" }),
            )
            .await;
        assert_eq!(
            sent.status,
            StatusCode::BAD_GATEWAY,
            "POST: only the 2nd rule matches"
        );
        assert_eq!(
            ctx.get(ALICE, "/api/data/accounts").await.status,
            StatusCode::OK
        );
        ctx.get(ALICE, "/api/data/products")
            .await
            .assert_error(500, "internal");
        assert_eq!(
            ctx.get(ALICE, "/api/data/accounts").await.status,
            StatusCode::OK
        );

        // DELETE clears rules and log.
        fault_on(&ctx, "/sync/pull", json!({ "kind": "close" })).await;
        let r = ctx.raw("DELETE", "/_test/faults", None, None).await;
        assert_eq!(r.body, json!({ "rules": [], "fired": [] }));
        assert_eq!(pull(ALICE).await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn bad_rules_are_refused_and_none_is_added() {
    let ctx = Ctx::demo_with_faults(Kind::Sqlite).await;
    for rules in [
        json!([{ "path": "/sync/pull", "fault": { "kind": "teleport" } }]),
        json!([{ "path": "/sync/pull", "fault": { "kind": "status" } }]),
        json!([{ "path": "/sync/pull", "fault": { "kind": "status", "status": 200 } }]),
        json!([{ "path": "/sync/pull", "times": 0, "fault": { "kind": "close" } }]),
        json!([{ "path": "sync/pull", "fault": { "kind": "close" } }]),
        json!([{ "path": "/sync/pull", "tiems": 2, "fault": { "kind": "close" } }]),
        json!([{ "path": "/sync/pull", "fault": { "kind": "close" } },
               { "path": "/sync/pull", "fault": { "kind": "delay" } }]),
    ] {
        add_rules(&ctx, rules.clone())
            .await
            .assert_error(400, "invalid_argument");
    }
    assert_eq!(fault_state(&ctx).await["rules"], json!([]));
}

#[tokio::test]
async fn body_faults_malformed_truncate_unknown_change_and_delay() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo_with_faults(kind).await;
        let (status, full) = pull_bytes(&ctx).await;
        assert_eq!(status, StatusCode::OK);
        let full_page: Value = serde_json::from_slice(&full).unwrap();

        fault_on(&ctx, "/sync/pull", json!({ "kind": "malformed" })).await;
        let (status, bytes) = pull_bytes(&ctx).await;
        assert_eq!(status, StatusCode::OK);
        assert!(serde_json::from_slice::<Value>(&bytes).is_err(), "not JSON");

        // The same first pull again, cut in half.
        fault_on(&ctx, "/sync/pull", json!({ "kind": "truncate" })).await;
        let req = Request::post("/sync/pull")
            .header("authorization", format!("Bearer {ALICE}"))
            .body(Body::from(pull_body("c1").to_string()))
            .unwrap();
        let (status, headers, bytes) = ctx.call_bytes(req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(bytes, full[..full.len() / 2]);

        // A change of an unknown kind first, then the real ones; a client skips it.
        fault_on(&ctx, "/sync/pull", json!({ "kind": "unknownChange" })).await;
        let (_, bytes) = pull_bytes(&ctx).await;
        let page: Value = serde_json::from_slice(&bytes).unwrap();
        let changes = page["changes"].as_array().unwrap();
        assert_eq!(changes[0]["kind"], "teleport");
        assert_eq!(changes[1..], full_page["changes"].as_array().unwrap()[..]);
        let parsed: offline_tables_core::protocol::PullResponse =
            serde_json::from_value(page.clone()).unwrap();
        assert_eq!(
            parsed.changes[0],
            offline_tables_core::protocol::Change::Unknown
        );

        fault_on(&ctx, "/sync/pull", json!({ "kind": "delay", "ms": 300 })).await;
        let start = Instant::now();
        let (status, bytes) = pull_bytes(&ctx).await;
        assert!(start.elapsed() >= Duration::from_millis(300));
        assert_eq!((status, bytes), (StatusCode::OK, full.clone()));

        // The answer held after the handler ran: same bytes, later.
        fault_on(
            &ctx,
            "/sync/pull",
            json!({ "kind": "holdAfterCommit", "ms": 300 }),
        )
        .await;
        let start = Instant::now();
        let (status, bytes) = pull_bytes(&ctx).await;
        assert!(start.elapsed() >= Duration::from_millis(300));
        assert_eq!((status, bytes), (StatusCode::OK, full.clone()));

        // Any JSON the test chooses, with any status, instead of the handler's answer.
        let hostile = json!({ "protocolVersion": 1, "changes": "not a list" });
        fault_on(
            &ctx,
            "/sync/pull",
            json!({ "kind": "respond", "status": 202, "body": hostile }),
        )
        .await;
        let (status, bytes) = pull_bytes(&ctx).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), hostile);
        let kinds: Vec<Value> = fault_state(&ctx).await["fired"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].clone())
            .collect();
        assert_eq!(
            kinds,
            [
                json!("malformed"),
                json!("truncate"),
                json!("unknownChange"),
                json!("delay"),
                json!("holdAfterCommit"),
                json!("respond")
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn close_drops_the_connection_before_any_byte_and_runs_nothing() {
    for_each_backend(|kind| async move {
        let (ctx, addr) = served(kind).await;
        let wait = Duration::from_secs(10);
        fault_on(&ctx, "/sync/push", json!({ "kind": "close" })).await;
        let before = ctx.snapshot().await;
        let got = over_tcp(addr, "/sync/push", ALICE, &f1_push(), wait).await;
        assert_eq!(got, Got::Dropped);
        ctx.assert_unchanged(&before, "the handler did not run")
            .await;
        // The next connection is served.
        let Got::Answer(200, body) = over_tcp(addr, "/sync/push", ALICE, &f1_push(), wait).await
        else {
            panic!("the push after the fault failed");
        };
        assert!(body.contains("\"applied\""), "{body}");
    })
    .await;
}

#[tokio::test]
async fn hang_answers_nothing_until_its_time_or_a_delete_then_drops() {
    for_each_backend(|kind| async move {
        let (ctx, addr) = served(kind).await;
        add_rules(
            &ctx,
            json!([{ "path": "/sync/pull", "times": 2, "fault": { "kind": "hang" } }]),
        )
        .await;
        // The client gives up (its connection closes, which ends the hang server-side).
        let got = pull_over_tcp(addr, Duration::from_millis(500)).await;
        assert_eq!(got, Got::Silent);

        // DELETE /_test/faults releases a hung request: its connection is dropped.
        let start = Instant::now();
        let hung = tokio::spawn(async move { pull_over_tcp(addr, Duration::from_secs(60)).await });
        while fault_state(&ctx).await["fired"].as_array().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!hung.is_finished(), "still hanging");
        ctx.raw("DELETE", "/_test/faults", None, None).await;
        assert_eq!(hung.await.unwrap(), Got::Dropped);
        assert!(start.elapsed() < Duration::from_secs(30));

        // With `ms`, the hang ends by itself.
        fault_on(&ctx, "/sync/pull", json!({ "kind": "hang", "ms": 300 })).await;
        let start = Instant::now();
        let got = pull_over_tcp(addr, Duration::from_secs(30)).await;
        assert_eq!(got, Got::Dropped);
        assert!(start.elapsed() >= Duration::from_millis(300));
    })
    .await;
}

#[tokio::test]
async fn drop_after_commit_commits_the_push_which_a_resend_replays_once() {
    for_each_backend(|kind| async move {
        let (ctx, addr) = served(kind).await;
        add_rules(
            &ctx,
            json!([{ "path": "/sync/push", "user": "alice", "fault": { "kind": "dropAfterCommit" } }]),
        )
        .await;
        let push = f1_push();
        let got = over_tcp(addr, "/sync/push", ALICE, &push, Duration::from_secs(10)).await;
        assert_eq!(got, Got::Dropped, "the answer is lost");
        let rows = ctx.server_rows("accounts").await;
        let (version, _) = rows.get("f1").expect("the push committed").clone();
        let counter = ctx.counter().await;

        // The client resends the same batch: the stored outcome, nothing written again.
        let out = ctx.push(ALICE, "c1", push["mutations"].clone()).await;
        assert_eq!(out, [json!({ "status": "applied", "id": 1, "version": version })]);
        assert_eq!(ctx.counter().await, counter);
        let stored: Vec<_> = ctx
            .snapshot()
            .await
            .into_iter()
            .filter(|(t, k, _, _)| t == "accounts" && k == "\"f1\"")
            .collect();
        assert_eq!(stored.len(), 1, "the row exists once");
        assert_eq!(ctx.server_rows("accounts").await["f1"].0, version);
    })
    .await;
}

#[tokio::test]
async fn without_test_faults_there_is_no_test_route_and_pushes_work() {
    let ctx = Ctx::demo(Kind::Sqlite).await;
    for method in ["GET", "POST", "DELETE"] {
        let body = json!({ "rules": [{ "path": "/sync/push", "fault": { "kind": "close" } }] });
        ctx.raw(
            method,
            "/_test/faults",
            None,
            Some(body.to_string().into_bytes()),
        )
        .await
        .assert_error(404, "not_found");
    }
    let out = ctx.push(ALICE, "c1", f1_mutations()).await;
    assert_eq!(out[0]["status"], "applied");
}
