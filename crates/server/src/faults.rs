//! The test-only fault layer (`--test-faults`, compiled only with the `test-faults` cargo
//! feature, which the release binary lacks): rules posted to `/_test/faults` make
//! matching requests fail the way networks and servers fail — error statuses, hangs,
//! dropped connections, a push that commits but never answers, cut or malformed bodies,
//! unknown change kinds — so client tests can check that nothing is lost; and
//! `/_test/profile` replaces the served profile. Without the flag none of this is
//! mounted: no `/_test/*` routes, no middleware.
//!
//! **How a connection is dropped.** `close`, `dropAfterCommit` and a released `hang`
//! answer with a response whose body fails on its first read ([`Abort`]). hyper buffers
//! the status line and headers and only writes them out together with the first body
//! bytes; when the body fails instead, hyper stops serving the connection and closes the
//! socket, so the client reads end-of-stream (FIN; RST if unread request bytes remain)
//! before a single byte of a response: a network error, exactly as when a server or a
//! proxy dies mid-request. `tests/faults.rs` checks this over a real TCP connection
//! (curl reports "Empty reply from server").
//!
//! **Browsers may retry such a drop by themselves.** When a *reused* keep-alive
//! connection closes before any response byte, Chromium (and others) assume a stale
//! connection and resend the request, without telling the page: up to twice in
//! Chromium, each time maybe on another idle connection of its pool. A `close` or
//! `dropAfterCommit` rule with fewer than `times: 3` may then never reach the client
//! code: a resent request goes through. Use `times: 3`, read `fired` to see how many
//! requests the rule took, and clear what is left once the page has seen the error.
//!
//! **The push journal.** Every `POST /sync/push` whose handler answered `200` (faulted
//! or not: a `dropAfterCommit` or `truncate` push still committed) is recorded, one entry
//! per mutation with its outcome, in `GET /_test/journal` (`DELETE` clears it). A
//! replayed batch is recorded again with the stored outcomes, so a test that checks
//! "exactly once" reads the journal by `(clientId, id)`: the same pair must always carry
//! the same outcome, and one logical change must not be applied under two ids.

use crate::error::AppError;
use crate::json::JsonBody;
use crate::AppState;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use offline_tables_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a `hang` holds a request when the rule gives no `ms`: ten minutes, longer
/// than any client timeout. A client that gives up closes the connection, which ends
/// the hang at once (hyper drops the request's future).
pub const DEFAULT_HANG_MS: u64 = 600_000;

/// What happens to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Fault {
    /// This status with the server's JSON error body; the handler does not run.
    Status { status: u16 },
    /// No answer: the request is held open `ms` milliseconds (default ten minutes), or
    /// until the client closes the connection or `DELETE /_test/faults`; then the
    /// connection is dropped. The handler does not run.
    Hang {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ms: Option<u64>,
    },
    /// The connection is dropped without a response; the handler does not run.
    Close,
    /// The handler runs (a push commits), then the connection is dropped without a
    /// response.
    DropAfterCommit,
    /// The handler runs; its body is cut in half (headers and status kept).
    Truncate,
    /// `200` with a body that is not JSON; the handler does not run.
    Malformed,
    /// The handler runs; a change of kind `teleport` is put first in `changes` (for
    /// `/sync/pull`; other responses pass unchanged).
    UnknownChange,
    /// `401` with the server's `unauthorized` error body; the handler does not run.
    Unauthorized,
    /// Waits `ms` milliseconds, then the handler runs normally.
    Delay { ms: u64 },
    /// The handler runs (a push commits), then the answer waits `ms` milliseconds: a
    /// window in which a test kills the client between the server's commit and the
    /// client's settle.
    HoldAfterCommit { ms: u64 },
    /// Answers `status` (default 200) with `body` as JSON; the handler does not run. A
    /// hostile or broken server: valid JSON the client must not trust blindly.
    Respond {
        #[serde(default = "ok_status")]
        status: u16,
        body: Value,
    },
}

fn ok_status() -> u16 {
    200
}

impl Fault {
    fn kind(&self) -> &'static str {
        match self {
            Fault::Status { .. } => "status",
            Fault::Hang { .. } => "hang",
            Fault::Close => "close",
            Fault::DropAfterCommit => "dropAfterCommit",
            Fault::Truncate => "truncate",
            Fault::Malformed => "malformed",
            Fault::UnknownChange => "unknownChange",
            Fault::Unauthorized => "unauthorized",
            Fault::Delay { .. } => "delay",
            Fault::HoldAfterCommit { .. } => "holdAfterCommit",
            Fault::Respond { .. } => "respond",
        }
    }
}

fn one() -> u32 {
    1
}

/// One rule. A request matches when its path is `path` (or starts with it, when `path`
/// ends in `*`), its method is `method` (any when absent) and its bearer token resolves
/// to `user` (anyone, even without a token, when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Matching requests still to let through before the fault starts.
    #[serde(default)]
    pub skip: u32,
    /// Matching requests still to fault; the rule goes when this reaches 0.
    #[serde(default = "one")]
    pub times: u32,
    pub fault: Fault,
}

impl Rule {
    fn matches(&self, method: &Method, path: &str, user: Option<&str>) -> bool {
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        };
        path_ok
            && self
                .method
                .as_deref()
                .map_or(true, |m| m.eq_ignore_ascii_case(method.as_str()))
            && self.user.as_deref().map_or(true, |u| Some(u) == user)
    }

    fn check(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err(format!("path '{}' must start with '/'", self.path));
        }
        if self.times == 0 {
            return Err("times must be at least 1".into());
        }
        if let Fault::Status { status } = self.fault {
            if !(400..=599).contains(&status) {
                return Err(format!("status {status} is not an error status (400-599)"));
            }
        }
        if let Fault::Respond { status, .. } = self.fault {
            if StatusCode::from_u16(status).is_err() {
                return Err(format!("status {status} is not an HTTP status"));
            }
        }
        Ok(())
    }
}

/// A fault that fired, for `GET /_test/faults`.
#[derive(Debug, Clone, Serialize)]
pub struct Fired {
    pub method: String,
    pub path: String,
    pub user: Option<String>,
    pub kind: &'static str,
}

#[derive(Default, Serialize)]
struct Book {
    rules: Vec<Rule>,
    fired: Vec<Fired>,
}

/// One pushed mutation and the outcome the server answered for it, for `GET /_test/journal`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Order of arrival of the push (entries of one push share it).
    pub push: u64,
    pub user: Option<String>,
    pub client_id: Value,
    pub id: Value,
    pub table: Value,
    pub key: Value,
    pub op: Value,
    pub row: Value,
    pub columns: Value,
    /// `applied`, `conflict` or `rejected`.
    pub status: Value,
    /// The outcome's `version` (applied) or `serverVersion` (conflict).
    pub version: Value,
    pub reason: Value,
    /// The mutation's unit (revision 3), null when it has none.
    pub unit: Value,
    /// The key the server assigned (a `tempKey` insert applied), else null.
    pub assigned: Value,
}

#[derive(Default)]
struct Journal {
    pushes: u64,
    entries: Vec<Entry>,
}

/// The rules and the log, shared by the middleware and the `/_test` routes.
pub struct Faults {
    app: AppState,
    book: Mutex<Book>,
    journal: Mutex<Journal>,
    /// Wakes every hung request (on `DELETE /_test/faults`).
    release: Notify,
}

impl Faults {
    pub fn new(app: AppState) -> Arc<Faults> {
        Arc::new(Faults {
            app,
            book: Mutex::default(),
            journal: Mutex::default(),
            release: Notify::new(),
        })
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        // A panic while holding the lock cannot leave the book half-updated: keep going.
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snapshot(&self) -> Json<Value> {
        Json(json!(&*self.book()))
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a push request and its `200` answer, mutation by mutation.
    fn record_push(&self, user: Option<&str>, request: &[u8], response: &[u8]) {
        let (Ok(req), Ok(resp)) = (
            serde_json::from_slice::<Value>(request),
            serde_json::from_slice::<Value>(response),
        ) else {
            return;
        };
        let (Some(mutations), Some(outcomes)) =
            (req["mutations"].as_array(), resp["outcomes"].as_array())
        else {
            return;
        };
        let mut journal = self.journal();
        journal.pushes += 1;
        let push = journal.pushes;
        for (m, o) in mutations.iter().zip(outcomes) {
            let version = if o["status"] == "conflict" {
                o["serverVersion"].clone()
            } else {
                o["version"].clone()
            };
            journal.entries.push(Entry {
                push,
                user: user.map(str::to_string),
                client_id: req["clientId"].clone(),
                id: m["id"].clone(),
                table: m["table"].clone(),
                key: m["key"].clone(),
                op: m["op"].clone(),
                row: m["row"].clone(),
                columns: m["columns"].clone(),
                status: o["status"].clone(),
                version,
                reason: o["reason"].clone(),
                unit: m["unit"].clone(),
                assigned: o["key"].clone(),
            });
        }
    }

    /// The fault for this request, if a rule takes it. Every matching rule counts the
    /// request against its `skip`; the first one whose `skip` was already used up fires.
    fn take(&self, method: &Method, path: &str, user: Option<&str>) -> Option<Fault> {
        let mut book = self.book();
        let mut chosen = None;
        for (i, rule) in book.rules.iter_mut().enumerate() {
            if !rule.matches(method, path, user) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
            } else if chosen.is_none() {
                rule.times -= 1;
                chosen = Some((i, rule.fault.clone()));
            }
        }
        let (i, fault) = chosen?;
        if book.rules[i].times == 0 {
            book.rules.remove(i);
        }
        book.fired.push(Fired {
            method: method.to_string(),
            path: path.to_string(),
            user: user.map(str::to_string),
            kind: fault.kind(),
        });
        Some(fault)
    }
}

/// `POST /_test/faults` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddRules {
    rules: Vec<Rule>,
}

/// `router` with the `/_test/*` routes and the fault middleware around its own routes.
pub fn mount(router: Router, app: &AppState) -> Router {
    tracing::warn!("test faults are on: /_test/* can break requests on purpose");
    let faults = Faults::new(app.clone());
    router
        .merge(routes(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(faults, middleware))
}

/// The `/_test/*` routes: `/_test/faults` (GET the rules left and the log, POST to
/// append rules, DELETE to clear both and release hung requests) and `/_test/profile`
/// (POST a profile to serve from now on).
pub fn routes(faults: Arc<Faults>) -> Router {
    Router::new()
        .route("/_test/faults", get(list).post(add).delete(clear))
        .route("/_test/profile", axum::routing::post(set_profile))
        .route("/_test/journal", get(journal).delete(clear_journal))
        .with_state(faults)
}

async fn list(State(f): State<Arc<Faults>>) -> Json<Value> {
    f.snapshot()
}

async fn add(
    State(f): State<Arc<Faults>>,
    JsonBody(body): JsonBody<AddRules>,
) -> Result<Json<Value>, AppError> {
    for (i, rule) in body.rules.iter().enumerate() {
        rule.check()
            .map_err(|e| Error::invalid_argument(format!("rules[{i}]: {e}")))?;
    }
    f.book().rules.extend(body.rules);
    Ok(f.snapshot())
}

async fn journal(State(f): State<Arc<Faults>>) -> Json<Value> {
    Json(json!({ "entries": &f.journal().entries }))
}

async fn clear_journal(State(f): State<Arc<Faults>>) -> Json<Value> {
    *f.journal() = Journal::default();
    Json(json!({ "entries": [] }))
}

async fn clear(State(f): State<Arc<Faults>>) -> Json<Value> {
    *f.book() = Book::default();
    f.release.notify_waiters();
    f.snapshot()
}

/// Serves the posted profile, validated as at startup (`400 invalid_argument` and the
/// old one kept otherwise); answers it normalized, as `GET /sync/profile` will.
async fn set_profile(
    State(f): State<Arc<Faults>>,
    JsonBody(profile): JsonBody<Value>,
) -> Result<Json<Value>, AppError> {
    let profile = offline_tables_core::Profile::from_json(&profile)?;
    let json = profile.to_json();
    f.app.set_profile(profile);
    Ok(Json(json))
}

/// A request with this header is never faulted nor journaled: a test's own probes (a pull
/// to read the server's rows and counter) go through while its clients meet the faults.
pub const BYPASS_HEADER: &str = "x-test-no-faults";

/// The middleware: applies the first rule that takes the request. The `/_test` routes,
/// CORS preflights and requests marked with [`BYPASS_HEADER`] are never faulted.
pub async fn middleware(State(f): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_test/")
        || req.method() == Method::OPTIONS
        || req.headers().contains_key(BYPASS_HEADER)
    {
        return next.run(req).await;
    }
    let user = f
        .app
        .auth
        .user_of_headers(req.headers())
        .await
        .ok()
        .map(|c| c.id);
    let fault = f.take(req.method(), &path, user.as_deref());
    let next = Handler {
        faults: f.clone(),
        next,
        user: user.clone(),
        journaled: req.method() == Method::POST && path == "/sync/push",
    };
    let Some(fault) = fault else {
        return next.run(req).await;
    };
    tracing::info!(
        "test fault {} on {} {path} (user {user:?})",
        fault.kind(),
        req.method()
    );
    match fault {
        Fault::Status { status } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            AppError::from(Error::http(
                status.as_u16(),
                ErrorCode::of_status(status.as_u16()),
                format!("{status} injected by the test fault layer"),
            ))
            .into_response()
        }
        Fault::Unauthorized => {
            AppError::from(Error::unauthorized(crate::auth::INVALID_TOKEN)).into_response()
        }
        Fault::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "<html><body>Not JSON: a test fault answered instead of the server</body></html>",
        )
            .into_response(),
        Fault::Hang { ms } => {
            let released = f.release.notified();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms.unwrap_or(DEFAULT_HANG_MS))) => {}
                _ = released => {}
            }
            abort()
        }
        Fault::Close => abort(),
        Fault::DropAfterCommit => {
            // The handler's response is complete, so its transaction has committed.
            drop(next.run(req).await);
            abort()
        }
        Fault::Delay { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(req).await
        }
        Fault::HoldAfterCommit { ms } => {
            let answer = next.run(req).await;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            answer
        }
        Fault::Respond { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            Json(body),
        )
            .into_response(),
        Fault::Truncate => {
            let (mut parts, bytes) = match body_of(next.run(req).await).await {
                Some(p) => p,
                None => return abort(),
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)))
        }
        Fault::UnknownChange => {
            let (mut parts, bytes) = match body_of(next.run(req).await).await {
                Some(p) => p,
                None => return abort(),
            };
            let bytes = match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut page) if page["changes"].is_array() => {
                    let table = f.app.profile().tables.keys().next().cloned();
                    let teleport = json!({
                        "kind": "teleport", "table": table, "key": "teleport-1",
                        "version": page["checkpoint"].clone(), "to": "elsewhere"
                    });
                    if let Some(changes) = page["changes"].as_array_mut() {
                        changes.insert(0, teleport);
                    }
                    Bytes::from(page.to_string())
                }
                _ => bytes,
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}

/// The rest of the stack, recording pushes in the journal on the way.
struct Handler {
    faults: Arc<Faults>,
    next: Next,
    user: Option<String>,
    journaled: bool,
}

impl Handler {
    async fn run(self, req: Request) -> Response {
        if !self.journaled {
            return self.next.run(req).await;
        }
        let (parts, body) = req.into_parts();
        let Ok(request) = axum::body::to_bytes(body, usize::MAX).await else {
            return abort();
        };
        let req = Request::from_parts(parts, Body::from(request.clone()));
        let resp = self.next.run(req).await;
        if resp.status() != StatusCode::OK {
            return resp;
        }
        let Some((parts, response)) = body_of(resp).await else {
            return abort();
        };
        self.faults
            .record_push(self.user.as_deref(), &request, &response);
        Response::from_parts(parts, Body::from(response))
    }
}

/// A response split into its head and its whole body (None if the body fails).
async fn body_of(resp: Response) -> Option<(axum::http::response::Parts, Bytes)> {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.ok()?;
    Some((parts, bytes))
}

/// A response that makes hyper drop the connection before writing anything.
fn abort() -> Response {
    Response::new(Body::new(Abort))
}

/// A body whose first read fails (see the module comment).
struct Abort;

impl HttpBody for Abort {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by the test fault layer",
        ))))
    }
}
