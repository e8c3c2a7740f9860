//! Shared harness for the server tests: `app(...)` over a fresh SQLite file and, when
//! `OT_TEST_POSTGRES_URL` is set, over a fresh PostgreSQL database; helpers that call the
//! endpoints through `oneshot` (no socket), the protocol's request bodies, a `Replica` that
//! follows one client's pulls, and the few lines of HTTP/1.1 the tests over a real socket
//! write and read by hand.
#![allow(dead_code)]

pub mod files;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
pub use offline_tables_core::scope::Caller;
use offline_tables_core::{Key, Profile};
use offline_tables_server::auth::Auth;
use offline_tables_server::db::{self, key_text, Db};
pub use offline_tables_server::files::Store;
use offline_tables_server::{app, Config};
use serde_json::{json, Map, Value};
use sqlx::Connection;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use tower::ServiceExt;

/// The tests' "now": 2026-11-25T00:00:00Z, also the fixture seed's `$anchor`, so its dates
/// load as written. The demo seed's recent work orders date from 2026-11-20, its old ones
/// from 2026-10-11 (outside the 30-day window).
pub const NOW: i64 = 1_795_564_800_000;
pub const DAY: i64 = 86_400_000;
pub const JWT_SECRET: &str = "test-secret";
pub const ALICE: &str = "tok-alice";
pub const BOB: &str = "tok-bob";
pub const CAROL: &str = "tok-carol";
/// The owner of the fixture's `visits`, a table with a column selection.
pub const VAL: &str = "tok-val";
/// Development-token users in teams: `tok-<user>` is `<user>`, a member of these teams.
pub const TEAM_MEMBERS: [(&str, &[&str]); 2] = [("tara", &["north"]), ("uma", &["north", "east"])];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

fn postgres_url() -> Option<String> {
    std::env::var("OT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// The backends to run against: SQLite always, PostgreSQL when its URL is set.
pub fn kinds() -> Vec<Kind> {
    let mut out = vec![Kind::Sqlite];
    if postgres_url().is_some() {
        out.push(Kind::Postgres);
    }
    out
}

/// Runs `f` once per available backend, in turn.
pub async fn for_each_backend<F, Fut>(f: F)
where
    F: Fn(Kind) -> Fut,
    Fut: Future<Output = ()>,
{
    for kind in kinds() {
        eprintln!("--- backend {kind:?}");
        f(kind).await;
    }
}

/// A name no other test (of this or another process) uses at the same time.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh, empty database; removed (file) or dropped (PostgreSQL) when this goes.
pub struct FreshDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(PathBuf),
    Pg { admin_url: String, name: String },
}

/// `url` (`postgres://u:p@h:port/db?x`) naming the database `name` instead.
fn with_database(url: &str, name: &str) -> String {
    let mut u = url::Url::parse(url).unwrap_or_else(|e| panic!("not a URL: {url}: {e}"));
    u.set_path(name);
    u.into()
}

impl FreshDb {
    pub async fn new(kind: Kind) -> FreshDb {
        match kind {
            Kind::Sqlite => {
                let dir = std::env::temp_dir().join(unique("ot-server-test"));
                let url = format!("sqlite:{}", dir.join("data/offline.db").display());
                FreshDb {
                    url,
                    cleanup: Cleanup::Dir(dir),
                }
            }
            Kind::Postgres => {
                let admin_url = postgres_url().expect("OT_TEST_POSTGRES_URL");
                let name = unique("ot_test");
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to OT_TEST_POSTGRES_URL: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("CREATE DATABASE (the role needs CREATEDB)");
                let _ = conn.close().await;
                FreshDb {
                    url: with_database(&admin_url, &name),
                    cleanup: Cleanup::Pg { admin_url, name },
                }
            }
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Pg { admin_url, name } => {
                // Drop runs inside the test's runtime: use a thread with its own.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async {
                        if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .execute(&mut c)
                            .await;
                            let _ = c.close().await;
                        }
                    })
                })
                .join();
            }
        }
    }
}

pub fn demo_profile() -> Value {
    read_demo("profile.json")
}

pub fn demo_seed() -> Value {
    read_demo("seed.json")
}

/// The path of a demo file (the app's own fixtures: profile, seed, tokens).
pub fn demo_path(name: &str) -> String {
    format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn read_demo(name: &str) -> Value {
    let path = demo_path(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
}

/// The wall clock in seconds since the epoch, as JWTs count time.
pub fn unix_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A JWT with `claims`, signed by `alg` with the shared `secret`.
pub fn signed(alg: jsonwebtoken::Algorithm, claims: Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// An HS256 JWT for `sub` expiring `exp_in_secs` from now (negative: already expired).
pub fn jwt(sub: &str, exp_in_secs: i64) -> String {
    let claims = json!({ "sub": sub, "exp": unix_secs() + exp_in_secs });
    signed(
        jsonwebtoken::Algorithm::HS256,
        claims,
        JWT_SECRET.as_bytes(),
    )
}

/// The body of a pull from the start: `{protocolVersion: 1, clientId}`.
pub fn pull_body(client: &str) -> Value {
    json!({ "protocolVersion": 1, "clientId": client })
}

/// A mutation `id` inserting the account `key`, owned by `owner`.
pub fn insert_account(id: u64, key: &str, owner: &str) -> Value {
    json!({ "id": id, "table": "accounts", "key": key, "op": "insert",
            "row": { "id": key, "ownerId": owner } })
}

/// The body of a push of `mutations` (a JSON array).
pub fn push_body(client: &str, mutations: Value) -> Value {
    json!({ "protocolVersion": 1, "clientId": client, "mutations": mutations })
}

/// A response: status, headers and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// The `id` of each row of a list answer (`{ value: [...] }`), in its order.
    pub fn ids(&self) -> Vec<Value> {
        self.body["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no value: {}", self.text))
            .iter()
            .map(|row| row["id"].clone())
            .collect()
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn etag(&self) -> Option<String> {
        self.headers
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim_matches('"').to_string())
    }
    /// Asserts an error status with the JSON error body `{error:{code,message}}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.code(), code, "body: {}", self.text);
        let msg = self.body["error"]["message"].as_str().unwrap_or("");
        assert!(!msg.is_empty(), "error without a message: {}", self.text);
    }
}

/// What [`Ctx::snapshot`] returns: every row and tombstone, and the counter.
pub type Snapshot = Vec<(String, String, i64, Option<String>)>;

/// A server over a fresh database, with a clock the test moves.
pub struct Ctx {
    pub kind: Kind,
    pub app: axum::Router,
    pub db: Db,
    pub profile: Profile,
    pub now: Arc<AtomicI64>,
    /// Where the server keeps files: the default for the database unless the test chose.
    pub files: Store,
    _fresh: FreshDb,
}

impl Ctx {
    pub async fn new(kind: Kind, profile: Value, body_limit: usize) -> Ctx {
        Ctx::build(kind, profile, body_limit, false, None).await
    }

    /// A server keeping its files in `files` (None: the default for its database).
    pub async fn with_files(
        kind: Kind,
        profile: Value,
        body_limit: usize,
        files: Option<Store>,
    ) -> Ctx {
        Ctx::build(kind, profile, body_limit, false, files).await
    }

    /// The demo profile and seed, with the test fault layer (`--test-faults`).
    #[cfg(feature = "test-faults")]
    pub async fn demo_with_faults(kind: Kind) -> Ctx {
        let ctx = Ctx::build(kind, demo_profile(), 2 * 1024 * 1024, true, None).await;
        ctx.seed(&demo_seed()).await;
        ctx
    }

    async fn build(
        kind: Kind,
        profile: Value,
        body_limit: usize,
        // Always false in a build without the fault layer (`demo_with_faults` is not there).
        #[cfg_attr(not(feature = "test-faults"), allow(unused_variables))] test_faults: bool,
        files: Option<Store>,
    ) -> Ctx {
        let fresh = FreshDb::new(kind).await;
        let db = Db::connect(&fresh.url)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: connect {}: {e}", fresh.url));
        let files = match files {
            Some(f) => f,
            None => Store::for_database(&fresh.url, None).expect("files store"),
        };
        let profile = Profile::from_json(&profile).expect("test profile");
        let now = Arc::new(AtomicI64::new(NOW));
        let clock_now = now.clone();
        let mut tokens = std::collections::HashMap::new();
        for user in ["alice", "bob", "carol", "val"] {
            tokens.insert(format!("tok-{user}"), Caller::user(user));
        }
        // Two members of the team "north" (TEAM_MEMBERS).
        for (user, teams) in TEAM_MEMBERS {
            let teams = teams.iter().map(|t| t.to_string()).collect();
            tokens.insert(
                format!("tok-{user}"),
                Caller {
                    id: user.into(),
                    teams,
                },
            );
        }
        let app = app(Config {
            db: db.clone(),
            profile: profile.clone(),
            auth: Auth {
                tokens,
                jwt: Some(jsonwebtoken::DecodingKey::from_secret(
                    JWT_SECRET.as_bytes(),
                )),
                ..Auth::default()
            },
            clock: Arc::new(move || clock_now.load(Ordering::SeqCst)),
            cors_origins: vec!["*".into()],
            body_limit,
            files: files.clone(),
            #[cfg(feature = "test-faults")]
            test_faults,
        });
        Ctx {
            kind,
            app,
            db,
            profile,
            now,
            files,
            _fresh: fresh,
        }
    }

    /// The demo profile and seed.
    pub async fn demo(kind: Kind) -> Ctx {
        let ctx = Ctx::new(kind, demo_profile(), 2 * 1024 * 1024).await;
        ctx.seed(&demo_seed()).await;
        ctx
    }

    /// The demo server and one client of it after its first download.
    pub async fn demo_with_replica(kind: Kind, token: &str, client: &str) -> (Ctx, Replica) {
        let ctx = Ctx::demo(kind).await;
        let replica = Replica::synced(&ctx, token, client).await;
        (ctx, replica)
    }

    /// Serves this router over TCP on 127.0.0.1 (a free port), as the binary does with
    /// `axum::serve`, until the test's runtime ends; returns the address.
    pub async fn serve(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = self.app.clone();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    /// Any request; `body` is sent as is with `Content-Type: application/json`.
    pub async fn raw(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.call(req).await
    }

    /// Any request; the response's status, headers and body bytes, whatever they hold.
    pub async fn call_bytes(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, bytes.to_vec())
    }

    pub async fn call(&self, req: Request<Body>) -> Resp {
        let (status, headers, bytes) = self.call_bytes(req).await;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("response is not JSON ({e}): {text}"))
        };
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, token: &str, uri: &str) -> Resp {
        self.raw("GET", uri, Some(token), None).await
    }

    /// `GET uri` as `token` with a `Prefer` header, and the `Host` a browser would send
    /// (`api.test:8080`, which paging links are built from).
    pub async fn get_preferring(&self, token: &str, uri: &str, prefer: &str) -> Resp {
        let req = axum::http::Request::builder()
            .method("GET")
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("host", "api.test:8080")
            .header("prefer", prefer)
            .body(axum::body::Body::empty())
            .unwrap();
        self.call(req).await
    }

    pub async fn send(&self, method: &str, uri: &str, token: &str, body: Value) -> Resp {
        self.raw(
            method,
            uri,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn post(&self, token: &str, uri: &str, body: Value) -> Resp {
        self.send("POST", uri, token, body).await
    }

    pub async fn patch(&self, token: &str, uri: &str, body: Value) -> Resp {
        self.send("PATCH", uri, token, body).await
    }

    pub async fn delete(&self, token: &str, uri: &str) -> Resp {
        self.raw("DELETE", uri, Some(token), None).await
    }

    /// `POST /sync/pull` with this body, whatever it holds and whatever the answer.
    pub async fn post_pull(&self, token: &str, body: Value) -> Resp {
        self.post(token, "/sync/pull", body).await
    }

    /// `POST /sync/push` with this body, whatever it holds and whatever the answer.
    pub async fn post_push(&self, token: &str, body: Value) -> Resp {
        self.post(token, "/sync/push", body).await
    }

    /// One pull page (asserts 200).
    pub async fn pull(
        &self,
        token: &str,
        client: &str,
        checkpoint: Option<&str>,
        limit: Option<u32>,
    ) -> Value {
        let mut body = pull_body(client);
        if let Some(c) = checkpoint {
            body["checkpoint"] = json!(c);
        }
        if let Some(l) = limit {
            body["limit"] = json!(l);
        }
        let r = self.post_pull(token, body).await;
        assert_eq!(r.status, StatusCode::OK, "{:?} pull: {}", self.kind, r.text);
        r.body
    }

    /// A push (asserts 200 and one outcome per mutation); returns the outcomes.
    pub async fn push(&self, token: &str, client: &str, mutations: Value) -> Vec<Value> {
        let n = mutations.as_array().map_or(0, Vec::len);
        let r = self.post_push(token, push_body(client, mutations)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?} push: {}", self.kind, r.text);
        let outcomes = r.body["outcomes"].as_array().cloned().unwrap_or_default();
        assert_eq!(outcomes.len(), n, "one outcome per mutation: {}", r.text);
        outcomes
    }

    /// A push of one mutation (asserts 200); returns its outcome.
    pub async fn push_one(&self, token: &str, client: &str, mutation: Value) -> Value {
        let mut out = self.push(token, client, json!([mutation])).await;
        out.remove(0)
    }

    /// Loads `{ table: [rows] }` as the server's seed does (through `db::store`), with its
    /// dates moved from its `$anchor` to this server's clock (by 0 when they are equal).
    pub async fn seed(&self, seed: &Value) {
        let now = self.now.load(Ordering::SeqCst);
        for (table, rows) in &offline_tables_server::seed::tables_at(seed, now).unwrap() {
            for row in rows.as_array().unwrap() {
                self.admin_put(table, row.clone()).await;
            }
        }
    }

    /// Writes a row as an administrator would (no scope check), through `db::store`.
    pub async fn admin_put(&self, table: &str, row: Value) -> i64 {
        let def = &self.profile.tables[table];
        let key = Key::from_json(&row[&def.key], &def.key).unwrap();
        let map: Map<String, Value> = row.as_object().unwrap().clone();
        self.admin_write(table, &key, Some(map)).await
    }

    /// Deletes a row as an administrator would, leaving a tombstone.
    pub async fn admin_delete(&self, table: &str, key: Value) -> i64 {
        let key = Key::from_json(&key, "key").unwrap();
        self.admin_write(table, &key, None).await
    }

    async fn admin_write(&self, table: &str, key: &Key, row: Option<Map<String, Value>>) -> i64 {
        let kt = key_text(key);
        let mut tx = self.db.begin().await.unwrap();
        db::lock_writes(&mut tx).await.unwrap();
        let current = db::load(&mut *tx, table, &kt).await.unwrap();
        let v = db::store(
            &mut tx,
            &self.profile,
            table,
            &kt,
            current.as_ref(),
            row.as_ref(),
            self.now.load(Ordering::SeqCst),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        v
    }

    pub async fn counter(&self) -> i64 {
        self.db.counter().await.unwrap()
    }

    /// Asserts that nothing was written (no row, tombstone or counter moved) since
    /// `before` was taken; `what` says what should not have written.
    pub async fn assert_unchanged(&self, before: &Snapshot, what: &str) {
        let now = self.snapshot().await;
        assert_eq!(&now, before, "{:?}: {what}", self.kind);
    }

    /// Every stored row and tombstone: (table, key, version, data). Compared before and
    /// after a refused request to show that nothing changed.
    pub async fn snapshot(&self) -> Snapshot {
        use sqlx::Row;
        let rows = sqlx::query("SELECT tbl, key, version, data FROM ot_rows ORDER BY tbl, key")
            .fetch_all(&self.db.pool)
            .await
            .unwrap();
        let mut out: Vec<_> = rows
            .into_iter()
            .map(|r| {
                (
                    r.try_get(0).unwrap(),
                    r.try_get(1).unwrap(),
                    r.try_get(2).unwrap(),
                    r.try_get(3).unwrap(),
                )
            })
            .collect();
        out.push(("(counter)".into(), String::new(), 0, None));
        let c = self.counter().await;
        out.last_mut().unwrap().2 = c;
        out
    }

    /// The live rows of `table` on the server: key label → (version, row).
    pub async fn server_rows(&self, table: &str) -> BTreeMap<String, (String, Value)> {
        db::load_table(&self.db, table)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, v, row)| {
                let key: Value = serde_json::from_str(&k).unwrap();
                (label(&key), (v.to_string(), Value::Object(row)))
            })
            .collect()
    }
}

/// A key as a readable label: strings as themselves, numbers as their JSON text.
pub fn label(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A change as `"kind table key"` plus `reason` for removals, e.g. `remove accounts a2 scope`.
pub fn describe(c: &Value) -> String {
    let mut s = format!(
        "{} {} {}",
        c["kind"].as_str().unwrap_or("?"),
        c["table"].as_str().unwrap_or("?"),
        label(&c["key"])
    );
    if let Some(r) = c["reason"].as_str() {
        s.push(' ');
        s.push_str(r);
    }
    s
}

pub fn describe_all(changes: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = changes.iter().map(describe).collect();
    v.sort();
    v
}

pub fn checkpoint_num(c: &Value) -> u64 {
    c.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("checkpoint is not a decimal string: {c}"))
}

/// One client's local copy: what it learnt from its pulls, as the protocol says to apply it.
pub struct Replica {
    pub token: String,
    pub client: String,
    pub checkpoint: Option<String>,
    /// (table, key label) → (version, row)
    pub rows: BTreeMap<(String, String), (String, Value)>,
}

impl Replica {
    pub fn new(token: &str, client: &str) -> Replica {
        Replica {
            token: token.into(),
            client: client.into(),
            checkpoint: None,
            rows: BTreeMap::new(),
        }
    }

    /// A new client that has made its first download (every page).
    pub async fn synced(ctx: &Ctx, token: &str, client: &str) -> Replica {
        let mut replica = Replica::new(token, client);
        replica.sync(ctx, None).await;
        replica
    }

    /// Applies one page; returns its changes.
    pub fn apply(&mut self, page: &Value) -> Vec<Value> {
        let changes = page["changes"].as_array().cloned().unwrap_or_default();
        for c in &changes {
            let id = (c["table"].as_str().unwrap().to_string(), label(&c["key"]));
            match c["kind"].as_str() {
                Some("upsert") => {
                    let v = c["version"].as_str().expect("version string").to_string();
                    self.rows.insert(id, (v, c["row"].clone()));
                }
                Some("remove") => {
                    self.rows.remove(&id);
                }
                _ => {}
            }
        }
        self.checkpoint = page["checkpoint"].as_str().map(str::to_string);
        changes
    }

    /// Pulls until `hasMore` is false, checking that checkpoints never go back and move
    /// forward on every page that says there is more. Returns every change received.
    pub async fn sync(&mut self, ctx: &Ctx, limit: Option<u32>) -> Vec<Value> {
        let mut all = Vec::new();
        for _ in 0..10_000 {
            let page = ctx
                .pull(&self.token, &self.client, self.checkpoint.as_deref(), limit)
                .await;
            assert_eq!(page["protocolVersion"], json!(1));
            assert_ne!(page["resync"], json!(true), "unexpected resync");
            let before = self.checkpoint.as_ref().map(|c| checkpoint_num(&json!(c)));
            let after = checkpoint_num(&page["checkpoint"]);
            let more = page["hasMore"].as_bool().expect("hasMore");
            if let Some(b) = before {
                assert!(after >= b, "checkpoint went back: {b} -> {after}");
                if more {
                    assert!(after > b, "hasMore with a checkpoint that did not move");
                }
            }
            if let Some(l) = limit {
                assert!(page["changes"].as_array().unwrap().len() <= l as usize);
            }
            all.extend(self.apply(&page));
            if !more {
                return all;
            }
        }
        panic!("pull never finished");
    }

    /// Key labels held for `table`.
    pub fn keys(&self, table: &str) -> Vec<String> {
        self.rows
            .keys()
            .filter(|(t, _)| t == table)
            .map(|(_, k)| k.clone())
            .collect()
    }

    pub fn row(&self, table: &str, key: &str) -> Option<&(String, Value)> {
        self.rows.get(&(table.to_string(), key.to_string()))
    }

    /// The version held for a row (panics when it holds none): a push's `baseVersion`.
    pub fn version(&self, table: &str, key: &str) -> String {
        let row = self.row(table, key);
        row.unwrap_or_else(|| panic!("{} holds no {table} {key}", self.client))
            .0
            .clone()
    }
}

pub fn strs(v: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

/// Base64url without padding, to build tokens by hand.
pub fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | *b as u32) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The head of an HTTP/1.1 request with a JSON body of `len` bytes, over a connection the
/// server closes after answering.
pub fn request_head(method: &str, path: &str, host: &str, token: &str, len: usize) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
}

/// A whole HTTP/1.1 response as read from the socket: its status and its body (joined
/// from its chunks when it came chunked).
pub fn parse_response(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}
