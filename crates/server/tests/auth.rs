//! Authentication (dev tokens and HS256 JWTs) and `GET /sync/profile`, on every backend.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;
use offline_tables_core::Profile;
use serde_json::json;

/// Every endpoint behind authentication, with a body it would take from alice: (method,
/// URI, body bytes).
fn endpoints() -> Vec<(&'static str, &'static str, Option<Vec<u8>>)> {
    let push = push_body("c1", json!([insert_account(1, "x", "alice")]));
    [
        ("GET", "/sync/profile", None),
        ("GET", "/sync/estimate", None),
        ("POST", "/sync/pull", Some(pull_body("c1"))),
        ("POST", "/sync/push", Some(push)),
        ("GET", "/api/data/accounts", None),
        ("GET", "/api/data/accounts/a0", None),
        (
            "POST",
            "/api/data/accounts",
            Some(json!({ "id": "y", "ownerId": "alice" })),
        ),
        (
            "PATCH",
            "/api/data/accounts/a0",
            Some(json!({ "name": "z" })),
        ),
        ("DELETE", "/api/data/accounts/a0", None),
    ]
    .into_iter()
    .map(|(method, uri, body)| (method, uri, body.map(|b| b.to_string().into_bytes())))
    .collect()
}

async fn profile_with_header(ctx: &Ctx, header: Option<&str>) -> Resp {
    let mut req = Request::builder().method("GET").uri("/sync/profile");
    if let Some(h) = header {
        req = req.header("authorization", h);
    }
    ctx.call(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn bad_credentials_get_401_with_a_json_error_on_every_endpoint() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        for header in [
            None,
            Some("Basic YWxpY2U6cHc="),
            Some("Bearer"),
            Some("Bearer "),
            Some("Bearer tok-mallory"),
            Some("tok-alice"),
        ] {
            let r = profile_with_header(&ctx, header).await;
            r.assert_error(401, "unauthorized");
        }
        // The scheme is case-insensitive; the token is not.
        for ok in ["bearer tok-alice", "BEARER tok-alice"] {
            let r = profile_with_header(&ctx, Some(ok)).await;
            assert_eq!(r.status.as_u16(), 200, "{ok}: {}", r.text);
        }
        profile_with_header(&ctx, Some("Bearer TOK-ALICE"))
            .await
            .assert_error(401, "unauthorized");
        // Every endpoint refuses before looking at the body.
        for (method, uri, body) in endpoints() {
            for token in [None, Some("nope")] {
                let r = ctx.raw(method, uri, token, body.clone()).await;
                r.assert_error(401, "unauthorized");
            }
        }
        ctx.assert_unchanged(&before, "a refused request changed data")
            .await;
    })
    .await;
}

#[tokio::test]
async fn jwts_are_accepted_until_they_expire() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        // A valid JWT is the user in `sub`: alice sees her accounts only.
        let token = jwt("alice", 3600);
        let r = ctx.get(&token, "/api/data/accounts").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ids: Vec<_> = r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, strs(&["a0", "a2", "a4"]));
        assert_eq!(ctx.get(&jwt("bob", 60), "/sync/profile").await.status, 200);

        // Expired (beyond the default leeway), wrong secret, or no `exp`: refused.
        ctx.get(&jwt("alice", -3600), "/sync/profile")
            .await
            .assert_error(401, "unauthorized");
        use jsonwebtoken::Algorithm::{HS256, HS512};
        let far = json!({ "sub": "alice", "exp": 4_000_000_000u64 });
        let forged = signed(HS256, far.clone(), b"another secret");
        let no_exp = signed(HS256, json!({ "sub": "alice" }), JWT_SECRET.as_bytes());
        // HS512 with the right secret is not HS256.
        let hs512 = signed(HS512, far, JWT_SECRET.as_bytes());
        for token in [forged, no_exp, hs512] {
            ctx.get(&token, "/sync/profile")
                .await
                .assert_error(401, "unauthorized");
        }
    })
    .await;
}

#[tokio::test]
async fn the_profile_is_served_normalized() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let r = ctx.get(ALICE, "/sync/profile").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let expected = Profile::from_json(&demo_profile()).unwrap().to_json();
        assert_eq!(r.body, expected);
        // Normalized: defaults filled in, the scope as defined.
        let t = &r.body["tables"];
        assert_eq!(t["products"]["readOnly"], json!(true));
        assert_eq!(t["products"]["scope"], json!("all"));
        assert_eq!(t["products"]["conflict"], json!("server-wins"));
        assert_eq!(t["accounts"]["conflict"], json!("merge"));
        assert_eq!(t["accounts"]["scope"], json!({ "owner": "ownerId" }));
        assert_eq!(
            t["workorders"]["scope"]["modifiedWithinDays"],
            json!({ "column": "modifiedOn", "days": 30 })
        );
        // It parses back to the same profile: what a client validates.
        assert_eq!(
            Profile::from_json(&r.body).unwrap(),
            Profile::from_json(&demo_profile()).unwrap()
        );
        assert_eq!(ctx.get(BOB, "/sync/profile").await.body, expected);
    })
    .await;
}

#[tokio::test]
async fn forged_and_out_of_date_jwts_get_401_on_every_endpoint() {
    use jsonwebtoken::Algorithm::{HS256, HS384, HS512};
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let now = unix_secs();
        let secret = JWT_SECRET.as_bytes();
        let claims = json!({ "sub": "alice", "exp": now + 3600 });
        let good = signed(HS256, claims.clone(), secret);
        let (head, rest) = good.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let body = b64url(claims.to_string().as_bytes());
        let none_head = b64url(br#"{"alg":"none","typ":"JWT"}"#);
        // A signature with one character changed (the first: every bit of it counts).
        let flipped = {
            let first = if signature.starts_with('A') { "B" } else { "A" };
            format!("{head}.{payload}.{first}{}", &signature[1..])
        };
        let forged: Vec<(&str, String)> = vec![
            ("bad signature", flipped),
            ("no signature", format!("{head}.{payload}.")),
            ("two parts", format!("{head}.{payload}")),
            ("alg none", format!("{none_head}.{body}.")),
            (
                "alg none, signature kept",
                format!("{none_head}.{body}.{signature}"),
            ),
            (
                "alg None",
                format!("{}.{body}.", b64url(br#"{"alg":"None"}"#)),
            ),
            (
                "alg missing",
                format!("{}.{body}.{signature}", b64url(br#"{"typ":"JWT"}"#)),
            ),
            (
                "payload swapped under a valid signature",
                format!(
                    "{head}.{}.{signature}",
                    b64url(
                        json!({ "sub": "bob", "exp": now + 3600 })
                            .to_string()
                            .as_bytes()
                    )
                ),
            ),
            ("HS384, same secret", signed(HS384, claims.clone(), secret)),
            ("HS512, same secret", signed(HS512, claims.clone(), secret)),
            (
                "HS256, another secret",
                signed(HS256, claims.clone(), b"guess"),
            ),
            ("HS256, empty secret", signed(HS256, claims.clone(), b"")),
            (
                "expired",
                signed(HS256, json!({ "sub": "alice", "exp": now - 3600 }), secret),
            ),
            ("no exp", signed(HS256, json!({ "sub": "alice" }), secret)),
            (
                "exp as text",
                signed(
                    HS256,
                    json!({ "sub": "alice", "exp": "9999999999" }),
                    secret,
                ),
            ),
            (
                "no sub",
                signed(HS256, json!({ "exp": now + 3600 }), secret),
            ),
            (
                "sub not a string",
                signed(HS256, json!({ "sub": 7, "exp": now + 3600 }), secret),
            ),
            (
                "nbf in the future",
                signed(
                    HS256,
                    json!({ "sub": "alice", "exp": now + 7200, "nbf": now + 3600 }),
                    secret,
                ),
            ),
            ("garbage", "a.b.c".to_string()),
            ("empty parts", "..".to_string()),
        ];
        let before = ctx.snapshot().await;
        let endpoints = endpoints();
        for (method, uri, body) in &endpoints {
            for (what, token) in &forged {
                let r = ctx.raw(method, uri, Some(token), body.clone()).await;
                assert_eq!(
                    r.status, 401,
                    "{kind:?} {what}: {method} {uri} -> {}",
                    r.text
                );
                r.assert_error(401, "unauthorized");
            }
        }
        ctx.assert_unchanged(&before, "a refused request wrote")
            .await;
        // The control: the unforged token works on every endpoint, and a token whose
        // `nbf` has passed does too.
        let past_nbf = signed(
            HS256,
            json!({ "sub": "alice", "exp": now + 60, "nbf": now - 60 }),
            secret,
        );
        for (method, uri, body) in &endpoints {
            let r = ctx.raw(method, uri, Some(&good), body.clone()).await;
            assert!(r.status.is_success(), "{kind:?} {method} {uri}: {}", r.text);
        }
        let r = ctx.get(&past_nbf, "/sync/estimate").await;
        assert_eq!(r.status, 200, "{}", r.text);
    })
    .await;
}
