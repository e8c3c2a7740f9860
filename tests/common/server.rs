//! Helpers for tests against the reference server that `npm test` starts.

use super::*;
use js_sys::{Function, Reflect};
use offline_tables::OfflineStore;
use serde_json::Value;

pub fn server_url() -> &'static str {
    // Read at build time: clippy and other builds without a server still compile.
    match option_env!("OT_TEST_SERVER") {
        Some(url) => url,
        None => panic!("OT_TEST_SERVER is not set: run the browser tests through `npm test`, which starts the reference server"),
    }
}

/// Open options for the store `name` of `profile`, syncing with the test server as the
/// user of `token`.
pub fn server_options(name: &str, profile: &str, token: &str) -> JsValue {
    let o = options(name, profile);
    let server = js(&format!(
        r#"{{"url":"{}","token":"{token}"}}"#,
        server_url()
    ));
    Reflect::set(&o, &"server".into(), &server).unwrap();
    o
}

/// `server_options` of the fixture profile, syncing only when `sync()` is called.
pub fn manual_options(name: &str, token: &str) -> JsValue {
    let o = server_options(name, FIXTURE_PROFILE, token);
    Reflect::set(&o, &"sync".into(), &js(r#"{"auto":false}"#)).unwrap();
    o
}

/// Opens the store `name` of `manual_options`.
pub async fn open_manual(name: &str, token: &str) -> OfflineStore {
    OfflineStore::open_async(manual_options(name, token))
        .await
        .unwrap_or_else(|e| panic!("open {name}: {e}"))
}

pub async fn open_synced(token: &str, get_token: Option<&str>) -> OfflineStore {
    open_synced_named(&unique_name("sync"), token, get_token).await
}

/// Opens (or opens again, as another tab would) the synced store `name`.
pub async fn open_synced_named(name: &str, token: &str, get_token: Option<&str>) -> OfflineStore {
    let o = server_options(name, PROFILE, token);
    if let Some(body) = get_token {
        let server = Reflect::get(&o, &"server".into()).unwrap();
        Reflect::set(&server, &"getToken".into(), &Function::new_no_args(body)).unwrap();
    }
    OfflineStore::open_async(o)
        .await
        .unwrap_or_else(|e| panic!("open: {e}"))
}

/// A REST call as Alice: status and JSON body (Null when there is none).
pub async fn rest(method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let (status, _, body) = rest_full("dev-token-alice", method, path, body).await;
    (status, body)
}

/// Waits (up to 2 s) until the store's status has `field` equal to `want`.
pub async fn status_field_becomes(store: &OfflineStore, field: &str, want: Value) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = serde_json::from_str(&json(&store.status().unwrap())).unwrap_or(Value::Null);
        if last[field] == want {
            return last;
        }
        pause(20).await;
    }
    panic!("status.{field} never became {want}: {last}");
}

/// What `collect` saw, as JSON texts.
pub type Seen = std::rc::Rc<std::cell::RefCell<Vec<String>>>;
/// Keeps a `collect` listener alive.
pub type Guard = wasm_bindgen::closure::Closure<dyn FnMut(wasm_bindgen::JsValue)>;

/// Collects the JSON of every `event` the store emits (keep the returned guard alive).
pub fn collect(store: &OfflineStore, event: &str) -> (Seen, Guard) {
    let seen: std::rc::Rc<std::cell::RefCell<Vec<String>>> = Default::default();
    let sink = seen.clone();
    let cb = wasm_bindgen::closure::Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(
        move |v: wasm_bindgen::JsValue| sink.borrow_mut().push(json(&v)),
    );
    store
        .on(
            event,
            wasm_bindgen::JsCast::unchecked_ref::<Function>(cb.as_ref()).clone(),
        )
        .unwrap_or_else(|e| panic!("on({event}): {e}"));
    (seen, cb)
}

/// The profile the test server serves (tests/fixtures/profile.json): besides the
/// field-service tables, `notes` (server-wins), `drafts` (client-wins) and `visits`
/// (a column selection: its seed rows hold columns the devices never get), `jobs` and
/// `tasks` (keys the server assigns; a task's `jobId` references its job).
pub const FIXTURE_PROFILE: &str = include_str!("../fixtures/profile.json");

/// The tables of `FIXTURE_PROFILE`.
pub const FIXTURE_TABLES: [&str; 9] = [
    "accounts",
    "workorders",
    "products",
    "notes",
    "drafts",
    "visits",
    "inspections",
    "jobs",
    "tasks",
];

/// Opens (or opens again) the synced store `name` with `profile` and the bearer `token`.
pub async fn open_synced_with(name: &str, token: &str, profile: &str) -> OfflineStore {
    OfflineStore::open_async(server_options(name, profile, token))
        .await
        .unwrap_or_else(|e| panic!("open {name}: {e}"))
}

/// A REST call as the user of `token`: status, `ETag` (the row's version, unquoted) and
/// JSON body (Null when there is none).
pub async fn rest_full(
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Option<String>, Value) {
    let url = format!("{}{path}", server_url());
    let req = gloo_net::http::RequestBuilder::new(&url)
        .method(method.parse().unwrap())
        .header("authorization", &format!("Bearer {token}"));
    let resp = match body {
        Some(b) => {
            req.header("content-type", "application/json")
                .body(b.to_string())
                .unwrap()
                .send()
                .await
        }
        None => req.send().await,
    }
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let etag = resp
        .headers()
        .get("etag")
        .map(|t| t.trim_matches('"').to_string());
    let text = resp.text().await.unwrap_or_default();
    (
        resp.status(),
        etag,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// A REST call as the user of `token`: status and JSON body.
pub async fn rest_as(token: &str, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let (status, _, v) = rest_full(token, method, path, body).await;
    (status, v)
}

/// The sorted keys (as strings) of the rows of `table` in the store.
pub async fn local_ids(store: &OfflineStore, table: &str) -> Vec<String> {
    let rows: Vec<Value> =
        serde_json::from_str(&ok_json(store.table(table).unwrap().query(None)).await).unwrap();
    let mut ids: Vec<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}
