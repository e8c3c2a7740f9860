//! RS256 and ES256 JWTs as identity providers issue them: verified against PEM public keys,
//! a JWKS file and a JWKS URL (served here by a loopback server that counts its fetches),
//! with `kid`, `iss`, `aud`, `exp` and `nbf` checks; HS256 and static tokens beside them.
//! The keys are real (tests/fixtures, made by make-keys.sh). Authentication does not touch
//! the database, so these run on SQLite only.

mod common;

use axum::routing::get;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use offline_tables_server::auth::{Auth, INVALID_TOKEN};
use offline_tables_server::jwks::{parse_jwks, RefreshPolicy, RemoteJwks, VerifyingKey};
use offline_tables_server::{app, Config};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ISS: &str = "https://idp.example.test/tenant-1/";
const AUD: &str = "api://offline-tables";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).expect(&path)
}

/// A token signed with the private key in `fixtures/{key}-private.pem`.
fn sign(alg: Algorithm, key: &str, kid: Option<&str>, claims: Value) -> String {
    let pem = fixture(&format!("{key}-private.pem"));
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        _ => unreachable!(),
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

/// Claims an identity provider would issue for `sub`, valid for an hour.
fn claims(sub: &str) -> Value {
    json!({ "sub": sub, "iss": ISS, "aud": AUD, "iat": unix_secs(), "exp": unix_secs() + 3600 })
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

fn pem_key(name: &str) -> VerifyingKey {
    VerifyingKey::from_pem(&fixture(name)).unwrap()
}

/// The demo server (SQLite) with `auth` in place of the usual test authentication.
async fn server(auth: Auth) -> Ctx {
    let mut ctx = Ctx::demo(Kind::Sqlite).await;
    let now = ctx.now.clone();
    ctx.app = app(Config {
        db: ctx.db.clone(),
        profile: ctx.profile.clone(),
        auth,
        clock: Arc::new(move || now.load(Ordering::SeqCst)),
        cors_origins: vec![],
        body_limit: 2 * 1024 * 1024,
        files: ctx.files.clone(),
        #[cfg(feature = "test-faults")]
        test_faults: false,
    });
    ctx
}

/// The accounts the token's user sees: which user the server took the token for.
async fn accounts(ctx: &Ctx, token: &str) -> Vec<String> {
    let r = ctx.get(token, "/api/data/accounts").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn assert_refused(r: &Resp, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.text);
    r.assert_error(401, "unauthorized");
    assert_eq!(r.body["error"]["message"], INVALID_TOKEN, "{what}");
}

async fn refused(ctx: &Ctx, token: &str, what: &str) {
    assert_refused(&ctx.get(token, "/sync/profile").await, what);
}

fn checked(keys: Vec<VerifyingKey>) -> Auth {
    Auth {
        keys,
        issuers: vec![ISS.into()],
        audiences: vec![AUD.into()],
        ..Auth::default()
    }
}

#[tokio::test]
async fn rs256_and_es256_against_pem_keys_with_iss_aud_exp_and_nbf_checks() {
    use Algorithm::{ES256, RS256};
    let ctx = server(checked(vec![
        pem_key("rsa-public.pem"),
        pem_key("ec-public.pem"),
    ]))
    .await;
    let alice = strs(&["a0", "a2", "a4"]);
    assert_eq!(
        accounts(&ctx, &sign(RS256, "rsa", None, claims("alice"))).await,
        alice
    );
    let bob_es = sign(ES256, "ec", None, claims("bob"));
    assert_ne!(accounts(&ctx, &bob_es).await, alice);
    // `aud` as a list holding ours (Auth0 issues such), and `exp` just past but within
    // the leeway.
    let listed = with(claims("alice"), "aud", json!(["https://other", AUD]));
    assert_eq!(
        accounts(&ctx, &sign(ES256, "ec", None, listed)).await,
        alice
    );
    let skewed = with(claims("alice"), "exp", json!(unix_secs() - 10));
    assert_eq!(
        accounts(&ctx, &sign(RS256, "rsa", None, skewed)).await,
        alice
    );

    let good = claims("alice");
    let rsa_pub_pem = fixture("rsa-public.pem");
    let bad: Vec<(&str, String)> = vec![
        (
            "RS256, another key",
            sign(RS256, "rsa2", None, good.clone()),
        ),
        ("ES256, another key", sign(ES256, "ec2", None, good.clone())),
        (
            "wrong iss",
            sign(
                RS256,
                "rsa",
                None,
                with(good.clone(), "iss", json!("https://evil/")),
            ),
        ),
        (
            "no iss",
            sign(RS256, "rsa", None, with(good.clone(), "iss", Value::Null)),
        ),
        (
            "wrong aud",
            sign(
                ES256,
                "ec",
                None,
                with(good.clone(), "aud", json!("api://other")),
            ),
        ),
        (
            "aud list without ours",
            sign(
                ES256,
                "ec",
                None,
                with(good.clone(), "aud", json!(["a", "b"])),
            ),
        ),
        (
            "expired",
            sign(
                RS256,
                "rsa",
                None,
                with(good.clone(), "exp", json!(unix_secs() - 120)),
            ),
        ),
        (
            "nbf in the future",
            sign(
                ES256,
                "ec",
                None,
                with(good.clone(), "nbf", json!(unix_secs() + 600)),
            ),
        ),
        (
            "no sub",
            sign(RS256, "rsa", None, with(good.clone(), "sub", Value::Null)),
        ),
        // Key confusion: HS256 with the RSA public key as the secret.
        (
            "HS256 keyed with the public PEM",
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &good,
                &EncodingKey::from_secret(&rsa_pub_pem),
            )
            .unwrap(),
        ),
    ];
    for (what, token) in bad {
        refused(&ctx, &token, what).await;
    }
    let mut no_aud = claims("alice");
    no_aud.as_object_mut().unwrap().remove("aud");
    refused(&ctx, &sign(RS256, "rsa", None, no_aud), "no aud").await;
    let mut no_iss = claims("alice");
    no_iss.as_object_mut().unwrap().remove("iss");
    refused(&ctx, &sign(RS256, "rsa", None, no_iss), "no iss (absent)").await;
    // An RS256 signature relabelled ES256 is not an ES256 signature.
    let rs = sign(RS256, "rsa", None, claims("alice"));
    let (_, rest) = rs.split_once('.').unwrap();
    let relabelled = format!(
        "{}.{rest}",
        b64url(
            json!({ "alg": "ES256", "typ": "JWT" })
                .to_string()
                .as_bytes()
        )
    );
    refused(&ctx, &relabelled, "RS256 relabelled ES256").await;
    // Without HS256 configured, an HS256 token is refused whatever its secret.
    refused(&ctx, &jwt("alice", 3600), "HS256 without a secret").await;
}

#[tokio::test]
async fn a_jwks_file_chooses_the_key_by_kid() {
    use Algorithm::{ES256, RS256};
    let ctx = server(checked(parse_jwks(&fixture("jwks.json")).unwrap())).await;
    let alice = strs(&["a0", "a2", "a4"]);
    let rsa = sign(RS256, "rsa", Some("rsa-1"), claims("alice"));
    assert_eq!(accounts(&ctx, &rsa).await, alice);
    // The EC key of the set has no `alg`: P-256 means ES256.
    let ec = sign(ES256, "ec", Some("ec-1"), claims("alice"));
    assert_eq!(accounts(&ctx, &ec).await, alice);
    // No `kid`: every key of the token's algorithm is tried.
    let no_kid = sign(RS256, "rsa", None, claims("alice"));
    assert_eq!(accounts(&ctx, &no_kid).await, alice);

    for (what, token) in [
        (
            "unknown kid",
            sign(RS256, "rsa", Some("rsa-9"), claims("alice")),
        ),
        (
            "kid of the EC key on an RS256 token",
            sign(RS256, "rsa", Some("ec-1"), claims("alice")),
        ),
        (
            "a key the set does not hold, under a known kid",
            sign(RS256, "rsa2", Some("rsa-1"), claims("alice")),
        ),
        (
            "a key the set does not hold, no kid",
            sign(RS256, "rsa2", None, claims("alice")),
        ),
        (
            "expired",
            sign(
                ES256,
                "ec",
                Some("ec-1"),
                with(claims("alice"), "exp", json!(unix_secs() - 120)),
            ),
        ),
    ] {
        refused(&ctx, &token, what).await;
    }
    // A JWKS without a usable key is refused when it is read, with what is wrong.
    let oct = br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"s"}]}"#;
    let e = parse_jwks(oct).err().expect("an oct-only JWKS");
    assert!(e.0.contains("no RS256 or ES256"), "{e}");
    assert!(parse_jwks(b"{}").is_err());
    assert!(VerifyingKey::from_pem(
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    )
    .is_err());
}

/// A loopback HTTP server serving `doc` at /jwks (a 500 while `doc` is empty), counting
/// requests.
async fn jwks_server(doc: Arc<Mutex<Vec<u8>>>, hits: Arc<AtomicU64>) -> String {
    let router = axum::Router::new().route(
        "/jwks",
        get(move || {
            let doc = doc.lock().unwrap().clone();
            hits.fetch_add(1, Ordering::SeqCst);
            async move {
                if doc.is_empty() {
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Vec::new())
                } else {
                    (axum::http::StatusCode::OK, doc)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/jwks")
}

#[tokio::test]
async fn a_jwks_url_is_cached_and_fetched_again_for_a_new_kid_at_most_every_min_refresh() {
    use Algorithm::RS256;
    let doc = Arc::new(Mutex::new(fixture("jwks.json")));
    let hits = Arc::new(AtomicU64::new(0));
    let url = jwks_server(doc.clone(), hits.clone()).await;
    let min_refresh = Duration::from_secs(3);
    let policy = RefreshPolicy {
        min_refresh,
        max_age: Duration::from_secs(3600),
        timeout: Duration::from_secs(5),
    };
    let remote = RemoteJwks::fetch_at_start(&url, policy).await.unwrap();
    let ctx = server(Auth {
        jwks: Some(remote),
        issuers: vec![ISS.into()],
        audiences: vec![AUD.into()],
        ..Auth::default()
    })
    .await;
    let alice = strs(&["a0", "a2", "a4"]);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched once at start");
    let old = sign(RS256, "rsa", Some("rsa-1"), claims("alice"));
    for _ in 0..5 {
        assert_eq!(accounts(&ctx, &old).await, alice);
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "known kids come from the cache"
    );

    // The provider rotates in rsa-2. Within `min_refresh` of the last fetch neither the
    // new kid nor a flood of made-up ones fetches again.
    *doc.lock().unwrap() = fixture("jwks-rotated.json");
    let new = sign(RS256, "rsa2", Some("rsa-2"), claims("alice"));
    refused(&ctx, &new, "new kid within min_refresh").await;
    for i in 0..10 {
        let made_up = sign(RS256, "rsa", Some(&format!("nope-{i}")), claims("alice"));
        refused(&ctx, &made_up, "made-up kid").await;
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "bounded by min_refresh");

    tokio::time::sleep(min_refresh + Duration::from_millis(200)).await;
    assert_eq!(accounts(&ctx, &new).await, alice, "the new kid, fetched");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(accounts(&ctx, &new).await, alice);
    assert_eq!(accounts(&ctx, &old).await, alice);
    for i in 0..10 {
        let made_up = sign(RS256, "rsa", Some(&format!("nope-{i}")), claims("alice"));
        refused(&ctx, &made_up, "made-up kid after the refresh").await;
    }
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // The provider fails: the fetch is tried (once) and the cached keys stay in use.
    doc.lock().unwrap().clear();
    tokio::time::sleep(min_refresh + Duration::from_millis(200)).await;
    refused(
        &ctx,
        &sign(RS256, "rsa", Some("nope"), claims("alice")),
        "outage",
    )
    .await;
    refused(
        &ctx,
        &sign(RS256, "rsa", Some("nope"), claims("alice")),
        "outage",
    )
    .await;
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(
        accounts(&ctx, &new).await,
        alice,
        "cached keys survive an outage"
    );
}

#[tokio::test]
async fn keys_older_than_max_age_are_fetched_again_so_a_revoked_key_goes() {
    use Algorithm::{ES256, RS256};
    let doc = Arc::new(Mutex::new(fixture("jwks.json")));
    let hits = Arc::new(AtomicU64::new(0));
    let url = jwks_server(doc.clone(), hits.clone()).await;
    let policy = RefreshPolicy {
        min_refresh: Duration::ZERO,
        max_age: Duration::ZERO,
        timeout: Duration::from_secs(5),
    };
    let ctx = server(checked_remote(
        RemoteJwks::fetch_at_start(&url, policy).await.unwrap(),
    ))
    .await;
    let rsa = sign(RS256, "rsa", Some("rsa-1"), claims("alice"));
    assert_eq!(accounts(&ctx, &rsa).await, strs(&["a0", "a2", "a4"]));
    // The provider drops rsa-1 and keeps ec-1.
    let mut set: Value = serde_json::from_slice(&fixture("jwks.json")).unwrap();
    set["keys"]
        .as_array_mut()
        .unwrap()
        .retain(|k| k["kid"] != "rsa-1");
    *doc.lock().unwrap() = set.to_string().into_bytes();
    refused(&ctx, &rsa, "revoked key").await;
    let ec = sign(ES256, "ec", Some("ec-1"), claims("alice"));
    assert_eq!(accounts(&ctx, &ec).await, strs(&["a0", "a2", "a4"]));
    assert!(hits.load(Ordering::SeqCst) >= 3);
}

fn checked_remote(remote: RemoteJwks) -> Auth {
    Auth {
        jwks: Some(remote),
        ..checked(vec![])
    }
}

#[tokio::test]
async fn a_jwks_url_that_cannot_be_read_at_start_is_an_error() {
    let policy = RefreshPolicy {
        timeout: Duration::from_secs(2),
        ..RefreshPolicy::default()
    };
    let doc = Arc::new(Mutex::new(Vec::new()));
    let url = jwks_server(doc.clone(), Arc::new(AtomicU64::new(0))).await;
    let e = RemoteJwks::fetch_at_start(&url, policy)
        .await
        .err()
        .unwrap();
    assert!(e.0.contains("HTTP 500"), "{e}");
    *doc.lock().unwrap() = b"not json".to_vec();
    let e = RemoteJwks::fetch_at_start(&url, policy)
        .await
        .err()
        .unwrap();
    assert!(e.0.contains("not JSON"), "{e}");
    // Nothing listens on port 9 of loopback here (discard): connection refused.
    let e = RemoteJwks::fetch_at_start("http://127.0.0.1:9/jwks", policy)
        .await
        .err()
        .unwrap();
    assert!(e.0.contains("cannot fetch JWKS"), "{e}");
}

#[tokio::test]
async fn hs256_and_static_tokens_keep_working_beside_public_keys() {
    let mut tokens = std::collections::HashMap::new();
    tokens.insert("tok-alice".to_string(), Caller::user("alice"));
    let ctx = server(Auth {
        tokens,
        jwt: Some(jsonwebtoken::DecodingKey::from_secret(
            JWT_SECRET.as_bytes(),
        )),
        keys: parse_jwks(&fixture("jwks.json")).unwrap(),
        ..Auth::default()
    })
    .await;
    let alice = strs(&["a0", "a2", "a4"]);
    assert_eq!(accounts(&ctx, "tok-alice").await, alice);
    assert_eq!(accounts(&ctx, &jwt("alice", 3600)).await, alice);
    let rs = sign(
        Algorithm::RS256,
        "rsa",
        Some("rsa-1"),
        json!({ "sub": "alice", "exp": unix_secs() + 60 }),
    );
    assert_eq!(accounts(&ctx, &rs).await, alice);
    refused(&ctx, &jwt("alice", -3600), "expired HS256").await;
    // With no audience configured, a token meant for some audience is not for us.
    let rs_aud = sign(
        Algorithm::RS256,
        "rsa",
        Some("rsa-1"),
        json!({ "sub": "alice", "exp": unix_secs() + 60, "aud": "api://other" }),
    );
    refused(&ctx, &rs_aud, "aud while none is configured").await;
    refused(&ctx, "tok-mallory", "unknown static token").await;
}

#[tokio::test]
async fn the_user_id_can_come_from_another_claim() {
    let ctx = server(Auth {
        user_claim: Some("oid".into()),
        ..checked(vec![pem_key("rsa-public.pem")])
    })
    .await;
    let entra = with(claims("pairwise-subject"), "oid", json!("alice"));
    let token = sign(Algorithm::RS256, "rsa", None, entra);
    assert_eq!(accounts(&ctx, &token).await, strs(&["a0", "a2", "a4"]));
    let no_oid = sign(Algorithm::RS256, "rsa", None, claims("alice"));
    refused(&ctx, &no_oid, "no oid claim").await;
}
