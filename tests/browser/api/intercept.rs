//! The fetch interceptor against the reference server: for the same requests by the same
//! user, the store's local answers (after a sync) equal the server's online answers
//! (status, body with its rows, order and counts, error code and message, `Location`),
//! writes made through it go to the outbox and reach the server exactly once, other
//! requests pass through, and uninstalling restores `fetch`. Users kim (reads), lee
//! (writes) and val (a table with a column selection) only, with unique keys, so other
//! test files sharing the server are not disturbed.

mod columns;
mod install;
mod reads;
mod writes;

use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use js_sys::{Function, Promise, Reflect};
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

const KIM: &str = "dev-token-kim";
const LEE: &str = "dev-token-lee";

#[wasm_bindgen(module = "/tests/browser/api/intercept.js")]
extern "C" {
    fn call(url: &str, method: &str, body: Option<String>, token: Option<String>) -> Promise;
    #[wasm_bindgen(js_name = callRequest)]
    fn call_request(url: &str) -> Promise;
    #[wasm_bindgen(js_name = callUrl)]
    fn call_url(url: &str) -> Promise;
    #[wasm_bindgen(js_name = callAborted)]
    fn call_aborted(url: &str) -> Promise;
    #[wasm_bindgen(js_name = callUnderBase)]
    fn call_under_base(href: &str, relative: &str) -> Promise;
    #[wasm_bindgen(js_name = currentFetch)]
    fn current_fetch() -> JsValue;
    #[wasm_bindgen(js_name = makeRequest)]
    fn make_request(url: &str, method: &str, body: Option<String>) -> JsValue;
    fn describe(response: &JsValue) -> Promise;
}

/// One HTTP answer as the page sees it.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    /// It carries `x-offline-tables: local`.
    local: bool,
    etag: Option<String>,
    location: Option<String>,
    content_type: Option<String>,
    text: String,
    /// The body as JSON (Null when empty).
    body: Value,
}

fn answer_of(record: &str) -> Answer {
    let r: Value = serde_json::from_str(record).unwrap();
    let s = |k: &str| r[k].as_str().map(str::to_string);
    let text = s("text").unwrap_or_default();
    Answer {
        status: r["status"].as_u64().unwrap() as u16,
        local: match s("local").as_deref() {
            None => false,
            Some("local") => true,
            Some(other) => panic!("x-offline-tables: {other}"),
        },
        etag: s("etag"),
        location: s("location"),
        content_type: s("type"),
        body: if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text.clone()))
        },
        text,
    }
}

async fn recorded(p: Promise) -> Answer {
    answer_of(&ok(p).await.as_string().unwrap())
}

/// `path` (under the server) with spaces written as `%20`.
fn url(path: &str) -> String {
    format!("{}{}", server_url(), path.replace(' ', "%20"))
}

async fn request(token: &str, method: &str, path: &str, body: Option<&str>) -> Answer {
    recorded(call(
        &url(path),
        method,
        body.map(str::to_string),
        Some(token.to_string()),
    ))
    .await
}

/// A number no other run uses as a key.
fn unique_number() -> u64 {
    100_000_000 + (js_sys::Math::random() * 8e8) as u64
}

fn iso_days_ago(days: f64) -> String {
    let ms = js_sys::Date::now() - days * 86_400_000.0;
    js_sys::Date::new(&JsValue::from_f64(ms))
        .to_iso_string()
        .as_string()
        .unwrap()
}

/// The API prefix on the test server (another origin than the test page).
fn prefix() -> String {
    format!("{}/api/data/", server_url())
}

fn prefix_options(prefix: &str) -> JsValue {
    js(&json!({ "prefix": prefix }).to_string())
}

/// A store of the fixture profile syncing with the server as `token`, only on `sync()`.
async fn open_user(token: &str) -> OfflineStore {
    open_manual(&unique_name("intercept"), token).await
}

fn install(store: &OfflineStore, prefix: &str) -> Function {
    store
        .intercept_fetch(Some(prefix_options(prefix)))
        .unwrap_or_else(|e| panic!("interceptFetch: {e}"))
        .dyn_into::<Function>()
        .expect("interceptFetch returns a function")
}

fn uninstall(f: &Function) {
    f.call0(&JsValue::UNDEFINED).unwrap();
}

/// Asserts that the local answer is the server's: same status, content type,
/// `Location`, and the same JSON (rows, their order, counts, error code and message).
fn assert_same(what: &str, online: &Answer, local: &Answer) {
    assert!(!online.local, "{what}: the online answer is the server's");
    assert!(local.local, "{what}: the local answer says it is local");
    assert_eq!(
        local.status, online.status,
        "{what}: status\nonline: {}\nlocal: {}",
        online.text, local.text
    );
    assert_eq!(
        local.content_type, online.content_type,
        "{what}: content-type"
    );
    assert_eq!(local.location, online.location, "{what}: Location");
    assert_eq!(
        local.body, online.body,
        "{what}: body\nonline: {}\nlocal:  {}",
        online.text, local.text
    );
    // Byte for byte, too: columns in the same order, numbers written alike (true of rows
    // that went through JSON text on both sides, as all of these did).
    assert_eq!(local.text, online.text, "{what}: body text");
}

fn version(etag: &Option<String>) -> u64 {
    etag.as_deref()
        .and_then(|t| t.strip_prefix('"')?.strip_suffix('"')?.parse().ok())
        .unwrap_or_else(|| panic!("not a version ETag: {etag:?}"))
}
