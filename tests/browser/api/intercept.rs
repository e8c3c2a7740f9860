//! The fetch interceptor against the reference server: for the same requests by the same
//! user, the store's local answers (after a sync) equal the server's online answers
//! (status, body with its rows, order and counts, error code and message, `Location`),
//! writes made through it go to the outbox and reach the server exactly once, other
//! requests pass through, and uninstalling restores `fetch`. Users kim (reads) and lee
//! (writes) only, with unique keys, so other test files sharing the server are not
//! disturbed.

use crate::common::server::*;
use crate::common::*;
use js_sys::{Function, Promise, Reflect};
use offline_tables::OfflineStore;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

const KIM: &str = "dev-token-kim";
const LEE: &str = "dev-token-lee";

#[wasm_bindgen(inline_js = r#"
async function record(r) {
  const text = await r.text();
  return JSON.stringify({
    status: r.status, local: r.headers.get("x-offline-tables"), etag: r.headers.get("etag"),
    location: r.headers.get("location"), type: r.headers.get("content-type"), text,
  });
}
// fetch(url, { method, body, headers }) through whatever globalThis.fetch is now.
export async function call(url, method, body, token) {
  const headers = {};
  if (token) headers.authorization = "Bearer " + token;
  const init = { method, headers };
  if (body !== undefined) { init.body = body; headers["content-type"] = "application/json"; }
  return record(await fetch(url, init));
}
// The other forms of fetch's first argument: a Request, a URL object.
export async function callRequest(url) { return record(await fetch(new Request(url))); }
export async function callUrl(url) { return record(await fetch(new URL(url))); }
export async function callAborted(url) {
  const c = new AbortController();
  c.abort();
  try { await fetch(url, { signal: c.signal }); return "resolved"; } catch (e) { return e.name; }
}
// fetch(relative) under a <base href> element, which fetch resolves against.
export async function callUnderBase(href, relative) {
  const b = document.createElement("base");
  b.href = href;
  document.head.prepend(b);
  try { return await record(await fetch(relative)); } finally { b.remove(); }
}
export function currentFetch() { return globalThis.fetch; }
export function makeRequest(url, method, body) {
  return new Request(url, body === undefined ? { method } : { method, body });
}
export async function describe(response) {
  return response === undefined ? "undefined" : record(response);
}
"#)]
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

async fn synced(store: &OfflineStore) -> Value {
    let r = sync(store).await;
    assert_eq!(r["result"], "completed", "{r}");
    r
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

/// The rows kim owns for the read comparisons: ties, nulls, missing columns, mixed
/// types, non-ASCII text, keys with a slash and a quote, numeric keys. (The server
/// refuses rows outside the caller's scope, so out-of-scope reads use alice's rows.)
async fn seed_kim(t: &str, n1: u64, n2: u64) {
    let now = iso_days_ago(0.0);
    let accounts = [
        json!({ "id": format!("{t}-a1"), "name": "Zed", "city": "Lyon", "rating": 3, "active": true, "ownerId": "kim", "tags": ["x"] }),
        json!({ "id": format!("{t}-a2"), "name": "alpha", "city": "Paris", "rating": 3.5, "active": false, "ownerId": "kim" }),
        json!({ "id": format!("{t}-a3"), "name": "Émile", "city": null, "rating": 10, "ownerId": "kim" }),
        json!({ "id": format!("{t}-a4"), "name": "O'Brien", "city": "Lyon", "rating": "3", "ownerId": "kim" }),
        json!({ "id": format!("{t}-a5"), "name": "😀 smile", "ownerId": "kim" }),
        json!({ "id": format!("{t}-a6"), "name": "ｚ wide", "city": "Lyon", "rating": -1, "ownerId": "kim", "nested": { "a": 1 } }),
        json!({ "id": format!("{t}/a7"), "name": "slash", "city": "Paris", "rating": 3, "ownerId": "kim" }),
        json!({ "id": format!("{t}'a8"), "name": "quote", "city": "Nice", "rating": 0, "ownerId": "kim" }),
        json!({ "id": n1, "name": "number", "city": "Nice", "rating": 3, "ownerId": "kim" }),
    ];
    for a in accounts {
        let r = request(KIM, "POST", "/api/data/accounts", Some(&a.to_string())).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let workorders = [
        json!({ "id": n2, "accountId": format!("{t}-a1"), "status": "open", "priority": 2, "modifiedOn": now }),
        json!({ "id": n2.to_string(), "accountId": format!("{t}-a2"), "status": "closed", "priority": 1, "modifiedOn": now }),
        json!({ "id": format!("{t}-w1"), "accountId": format!("{t}-a1"), "status": "open", "priority": 1, "modifiedOn": now }),
    ];
    for w in workorders {
        let r = request(KIM, "POST", "/api/data/workorders", Some(&w.to_string())).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

/// Reads: collections with each OData option and their combinations, single rows by
/// every kind of key, and the errors.
fn read_paths(t: &str, n1: u64, n2: u64) -> Vec<String> {
    let a = "/api/data/accounts";
    let mine = format!("startswith(id,'{t}')");
    let mut paths: Vec<String> = [
        "",
        "?$count=true",
        "?$count=false",
        "?$filter=city eq 'Lyon'",
        "?$filter=city eq null",
        "?$filter=city ne 'Lyon'",
        "?$filter=rating gt 3",
        "?$filter=rating ge 3 and rating lt 10",
        "?$filter=rating eq '3'",
        "?$filter=rating in (3, '3', 10)",
        "?$filter=startswith(name,'O''B')",
        "?$filter=contains(name,'e') or active eq true",
        "?$filter=not (city eq 'Lyon')",
        "?$filter=(city eq 'Paris' or city eq 'Nice') and rating le 3",
        "?$filter=nested eq null",
        "?$filter=name gt 'a'",
        "?$filter=city+eq+'Lyon'",
        "?%24filter=city%20eq%20'Nice'",
        "?$filter=ownerId eq 'kim'&$orderby=city",
        "?$orderby=city",
        "?$orderby=city desc",
        "?$orderby=rating desc,name",
        "?$orderby=id desc",
        "?$orderby=name",
        "?$orderby=active,city desc",
        "?$orderby=city,rating desc&$top=3&$skip=1",
        "?$top=2",
        "?$skip=3",
        "?$top=0",
        "?$skip=100000",
        "?$top=0&$count=true",
        "?$skip=2&$top=2&$count=true",
        "?$orderby=city&$skip=100000&$count=true",
        "?$select=name,city",
        "?$select=id",
        "?$select=missing",
        "?$select=city&$filter=city eq 'Lyon'&$orderby=id desc",
        "?cache=123&$top=1",
        // Errors: the core parser's messages, with positions.
        "?$filter=city equals 'x'",
        "?$filter=city eq",
        "?$filter=(city eq 'x'",
        "?$orderby=city sideways",
        "?$top=-1",
        "?$skip=1.5",
        "?$count=maybe",
        "?$expand=x",
        "?$top=1&$top=2",
        "?$select=1bad",
    ]
    .iter()
    .map(|q| format!("{a}{q}"))
    .collect();
    paths.extend([
        format!("{a}?$filter={mine}&$orderby=name"),
        format!(
            "{a}?$filter={mine}&$orderby=city desc,name&$top=3&$skip=1&$select=id,city&$count=true"
        ),
        format!("{a}?$filter={mine} and city ne null&$orderby=city,id desc&$count=true"),
        format!("{a}?$filter=name eq 'O''Brien' and {mine}"),
        "/api/data/workorders".into(),
        "/api/data/workorders?$orderby=priority desc,status&$count=true".into(),
        format!("/api/data/workorders?$filter=accountId eq '{t}-a1'&$orderby=priority"),
        "/api/data/workorders?$filter=status in ('open','closed')&$select=id,status&$count=true"
            .into(),
        "/api/data/products?$orderby=price desc&$top=5&$count=true".into(),
        "/api/data/products?$filter=price ge 12&$select=name".into(),
        "/api/data/ghosts".into(),
        "/api/data/ghosts?$filter=bad bad".into(),
        "/api/data/%FF".into(),
        // Single rows.
        format!("{a}/{t}-a1"),
        format!("{a}/'{t}-a1'"),
        format!("{a}/{t}%2Fa7"),
        format!("{a}/'{t}''a8'"),
        format!("{a}/%27{t}%27%27a8%27"),
        format!("{a}/{n1}"),
        format!("{a}/'{n1}'"),
        format!("/api/data/acc%6Funts/{t}-a2"),
        format!("/api/data/workorders/{n2}"),
        format!("/api/data/workorders/'{n2}'"),
        format!("/api/data/workorders/{n2}.0"),
        "/api/data/products/p1".into(),
        // Missing: never created, or another user's (outside the scope).
        format!("{a}/{t}-missing"),
        "/api/data/workorders/w0".into(),
        format!("{a}/a0"),
        format!("{a}/1e3"),
        "/api/data/ghosts/1".into(),
        format!("{a}/%FF"),
    ]);
    paths
}

#[wasm_bindgen_test]
async fn reads_answer_offline_as_the_server_answers_online() {
    let (t, n1, n2) = (unique("k"), unique_number(), unique_number());
    seed_kim(&t, n1, n2).await;
    let store = open_user(KIM).await;
    synced(&store).await;
    let paths = read_paths(&t, n1, n2);
    let mut online = Vec::new();
    for p in &paths {
        online.push(request(KIM, "GET", p, None).await);
    }
    let off = install(&store, &prefix());
    let mut local = Vec::new();
    for p in &paths {
        local.push(request(KIM, "GET", p, None).await);
    }
    uninstall(&off);
    let mut ok_lists = 0;
    for ((p, on), lo) in paths.iter().zip(&online).zip(&local) {
        assert_same(&format!("GET {p}"), on, lo);
        if on.body.get("value").is_some() && on.body["value"].as_array().unwrap().len() > 1 {
            ok_lists += 1;
        }
        // A row's ETag: the version the store knows it at, never before the server's.
        if on.status == 200 && on.body.get("value").is_none() {
            assert!(
                version(&lo.etag) >= version(&on.etag),
                "GET {p}: local ETag {:?}, server's {:?}",
                lo.etag,
                on.etag
            );
        }
    }
    // The comparison saw real data: many non-trivial lists, and every error kind.
    assert!(
        ok_lists >= 25,
        "only {ok_lists} lists with more than one row"
    );
    let statuses: Vec<u16> = online.iter().map(|a| a.status).collect();
    for s in [200, 400, 404] {
        assert!(statuses.contains(&s), "no {s} among {statuses:?}");
    }
    let all_mine = paths
        .iter()
        .position(|p| p.ends_with(&format!("startswith(id,'{t}')&$orderby=name")))
        .unwrap();
    let rows = online[all_mine].body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 8, "this run's string-keyed accounts: {rows:?}");
    finish(store).await;
}

/// One step of the write comparison: `{K}` becomes the side's key prefix and `{N}`
/// its numeric key, so the online and the local sequence write different rows.
struct Step {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
}

const fn step(method: &'static str, path: &'static str, body: Option<&'static str>) -> Step {
    Step { method, path, body }
}

const WRITES: &[Step] = &[
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-1","name":"One","ownerId":"lee","city":"Lyon"}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-1","name":"Again","ownerId":"lee"}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"name":"no key","ownerId":"lee"}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":null,"ownerId":"lee"}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":true,"ownerId":"lee"}"#),
    ),
    step("POST", "/api/data/accounts", Some("[1,2]")),
    step("POST", "/api/data/accounts", Some("{bad")),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-9"} trailing"#),
    ),
    step("POST", "/api/data/accounts", Some("")),
    step("POST", "/api/data/accounts", None),
    step("POST", "/api/data/products", Some(r#"{"id":"{K}-p"}"#)),
    step("POST", "/api/data/products", Some("{bad")),
    step("POST", "/api/data/ghosts", Some(r#"{"id":1}"#)),
    step("POST", "/api/data/ghosts", Some("{bad")),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}'2 /é","name":"Odd","ownerId":"lee","n":1.5}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-x","name":"Doomed","ownerId":"lee"}"#),
    ),
    step(
        "POST",
        "/api/data/workorders",
        Some(r#"{"id":{N},"accountId":"{K}-1","status":"open","modifiedOn":"{NOW}"}"#),
    ),
    step(
        "PATCH",
        "/api/data/accounts/{K}-1",
        Some(r#"{"city":"Nice","phone":null}"#),
    ),
    step(
        "PATCH",
        "/api/data/accounts/'{K}-1'",
        Some(r#"{"id":"{K}-1","name":"Uno"}"#),
    ),
    step(
        "PATCH",
        "/api/data/accounts/{K}-1",
        Some(r#"{"id":"{K}-other"}"#),
    ),
    step("PATCH", "/api/data/accounts/{K}-1", Some(r#"{"id":7}"#)),
    step("PATCH", "/api/data/accounts/{K}-1", Some("[1]")),
    step("PATCH", "/api/data/accounts/{K}-1", Some("nope")),
    step(
        "PATCH",
        "/api/data/accounts/{K}-missing",
        Some(r#"{"a":1}"#),
    ),
    step(
        "PATCH",
        "/api/data/accounts/{K}-missing",
        Some(r#"{"id":"x"}"#),
    ),
    step("PATCH", "/api/data/products/p1", Some(r#"{"price":1}"#)),
    step("PATCH", "/api/data/ghosts/x", Some("{}")),
    step(
        "PATCH",
        "/api/data/workorders/{N}",
        Some(r#"{"status":"done","id":{N}}"#),
    ),
    step(
        "PATCH",
        "/api/data/workorders/'{N}'",
        Some(r#"{"status":"x"}"#),
    ),
    step("DELETE", "/api/data/accounts/{K}-x", None),
    step("DELETE", "/api/data/accounts/{K}-x", None),
    step("DELETE", "/api/data/products/p1", None),
    step("DELETE", "/api/data/ghosts/x", None),
    step("GET", "/api/data/accounts/{K}-x", None),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-x","name":"Back","ownerId":"lee"}"#),
    ),
    step("GET", "/api/data/accounts/{K}-x", None),
    step("GET", "/api/data/accounts/{K}-1", None),
    step("GET", "/api/data/workorders/{N}", None),
    step(
        "GET",
        "/api/data/accounts?$filter=startswith(id,'{K}')&$orderby=id&$count=true",
        None,
    ),
];

fn fill(text: &str, k: &str, n: u64, now: &str) -> String {
    text.replace("{K}", k)
        .replace("{N}", &n.to_string())
        .replace("{NOW}", now)
}

async fn run_writes(k: &str, n: u64, now: &str) -> Vec<Answer> {
    let mut out = Vec::new();
    for s in WRITES {
        let path = fill(s.path, k, n, now);
        let body = s.body.map(|b| fill(b, k, n, now));
        out.push(request(LEE, s.method, &path, body.as_deref()).await);
    }
    out
}

#[wasm_bindgen_test]
async fn writes_answer_offline_as_the_server_answers_online() {
    // No "-" in the keys: Location headers carry them percent-encoded (%2D), and the
    // answers are compared with the key replaced by {K}.
    let t = format!("l{}", unique_number());
    let (on_k, lo_k) = (format!("on{t}"), format!("lo{t}"));
    let (on_n, lo_n) = (unique_number(), unique_number());
    let now = iso_days_ago(0.0);
    let online = run_writes(&on_k, on_n, &now).await;
    let store = open_user(LEE).await;
    synced(&store).await;
    let off = install(&store, &prefix());
    let local = run_writes(&lo_k, lo_n, &now).await;
    uninstall(&off);
    // The local rows, read through the store, before anything is pushed.
    let pending: Vec<Value> = serde_json::from_str(&pending_json(&store).await).unwrap();
    for ((s, on), lo) in WRITES.iter().zip(&online).zip(&local) {
        let what = format!("{} {} {}", s.method, s.path, s.body.unwrap_or(""));
        let as_online = |text: &str| {
            text.replace(&lo_k, &on_k)
                .replace(&lo_n.to_string(), &on_n.to_string())
        };
        let mut lo = lo.clone();
        lo.text = as_online(&lo.text);
        lo.body = serde_json::from_str(&lo.text).unwrap_or(lo.body);
        lo.location = lo.location.as_deref().map(as_online);
        assert_same(&what, on, &lo);
        // Written rows are pending: no version yet, so no ETag (the server's is new).
        if ["POST", "PATCH"].contains(&s.method) && on.status < 300 {
            assert!(
                on.etag.is_some() && lo.etag.is_none(),
                "{what}: ETags {:?} {:?}",
                on.etag,
                lo.etag
            );
        }
    }
    let statuses: Vec<u16> = local.iter().map(|a| a.status).collect();
    for s in [200, 201, 204, 400, 403, 404, 409] {
        assert!(statuses.contains(&s), "no {s} among {statuses:?}");
    }
    // Every accepted write is in the outbox, coalesced per row: four new rows.
    let keys: Vec<Value> = pending.iter().map(|p| p["key"].clone()).collect();
    assert_eq!(
        keys,
        [
            json!(format!("{lo_k}-1")),
            json!(format!("{lo_k}'2 /é")),
            json!(format!("{lo_k}-x")),
            json!(lo_n)
        ],
        "{pending:?}"
    );
    assert!(pending.iter().all(|p| p["op"] == "insert"), "{pending:?}");

    // Pushed once, the server holds what the server's own sequence produced.
    let r = synced(&store).await;
    assert_eq!(r["pushed"], 4, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(pending_count(&store).await, 0);
    let list = |k: &str| {
        format!("/api/data/accounts?$filter=startswith(id,'{k}')&$orderby=id&$count=true")
    };
    let on_rows = request(LEE, "GET", &list(&on_k), None).await;
    let lo_rows = request(LEE, "GET", &list(&lo_k), None).await;
    assert_eq!(lo_rows.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&lo_rows.text.replace(&lo_k, &on_k)).unwrap(),
        on_rows.body,
        "the pushed rows are the rows the server's own REST writes made"
    );
    assert_eq!(on_rows.body["count"], 3);
    let wo = |n: u64| format!("/api/data/workorders/{n}");
    let (on_wo, lo_wo) = (
        request(LEE, "GET", &wo(on_n), None).await,
        request(LEE, "GET", &wo(lo_n), None).await,
    );
    assert_eq!(lo_wo.status, 200, "{}", lo_wo.text);
    assert_eq!(
        serde_json::from_str::<Value>(
            &lo_wo
                .text
                .replace(&lo_k, &on_k)
                .replace(&lo_n.to_string(), &on_n.to_string())
        )
        .unwrap(),
        on_wo.body
    );
    // Nothing more to push, nothing refused, nothing in conflict.
    let again = synced(&store).await;
    assert_eq!(again["pushed"], 0, "{again}");
    assert_eq!(ok_json(store.sync_errors()).await, "[]");
    assert_eq!(ok_json(store.conflicts()).await, "[]");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn updates_and_deletes_through_fetch_sync_exactly_once() {
    let k = unique("lee-u");
    let now = iso_days_ago(0.0);
    for id in ["a", "b", "c"] {
        let row = json!({ "id": format!("{k}-{id}"), "name": id, "ownerId": "lee" });
        let r = request(LEE, "POST", "/api/data/accounts", Some(&row.to_string())).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let store = open_user(LEE).await;
    synced(&store).await;
    let recorder = Recorder::new(&store);
    let off = install(&store, &prefix());
    let a = format!("/api/data/accounts/{k}-a");
    status_field_becomes(&store, "pending", 0.into()).await;
    let r = request(LEE, "PATCH", &a, Some(r#"{"name":"A2","phone":"1"}"#)).await;
    assert_eq!((r.status, r.local), (200, true), "{}", r.text);
    // Read-your-writes on the status: the answered write is counted already.
    let status: Value = serde_json::from_str(&json(&store.status().unwrap())).unwrap();
    assert_eq!(status["pending"], 1, "after an intercepted PATCH: {status}");
    let r = request(LEE, "DELETE", &format!("/api/data/accounts/{k}-b"), None).await;
    assert_eq!((r.status, r.local, r.text.as_str()), (204, true, ""));
    assert_eq!(r.content_type, None);
    let body = json!({ "id": format!("{k}-d"), "name": "d", "ownerId": "lee", "modifiedOn": now });
    let r = request(LEE, "POST", "/api/data/accounts", Some(&body.to_string())).await;
    assert_eq!((r.status, r.local), (201, true), "{}", r.text);
    uninstall(&off);
    // Each write is a local change: an event, and a pending change of its kind.
    let events = recorder.wait_for(3, 1000).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events.iter().all(|e| e.contains(r#""source":"local""#)),
        "{events:?}"
    );
    let pending: Vec<Value> = serde_json::from_str(&pending_json(&store).await).unwrap();
    let ops: Vec<(Value, Value)> = pending
        .iter()
        .map(|p| (p["key"].clone(), p["op"].clone()))
        .collect();
    assert_eq!(
        ops,
        [
            (json!(format!("{k}-a")), json!("update")),
            (json!(format!("{k}-b")), json!("delete")),
            (json!(format!("{k}-d")), json!("insert"))
        ]
    );
    // Not on the server yet.
    assert_eq!(request(LEE, "GET", &a, None).await.body["name"], "a");
    let r = synced(&store).await;
    assert_eq!(
        (r["pushed"].clone(), r["errors"].clone()),
        (json!(3), json!(0)),
        "{r}"
    );
    let on = request(LEE, "GET", &a, None).await;
    assert_eq!(
        on.body,
        json!({ "id": format!("{k}-a"), "name": "A2", "ownerId": "lee", "phone": "1" })
    );
    assert_eq!(
        request(LEE, "GET", &format!("/api/data/accounts/{k}-b"), None)
            .await
            .status,
        404
    );
    let listed = request(
        LEE,
        "GET",
        &format!("/api/data/accounts?$filter=startswith(id,'{k}')&$select=id&$count=true"),
        None,
    )
    .await;
    assert_eq!(
        listed.body,
        json!({ "value": [{ "id": format!("{k}-a") }, { "id": format!("{k}-c") }, { "id": format!("{k}-d") }], "count": 3 }),
        "each change took effect once"
    );
    assert_eq!(synced(&store).await["pushed"], 0);

    // ETags: a synced row reads with the version the store knows it at. Written last and
    // then synced, the row's version is exactly the server's.
    let off = install(&store, &prefix());
    let r = request(LEE, "PATCH", &a, Some(r#"{"name":"A3"}"#)).await;
    assert_eq!(r.etag, None, "a pending row has no known version");
    let pending_read = request(LEE, "GET", &a, None).await;
    assert_eq!(
        (pending_read.status, pending_read.etag.clone()),
        (200, None)
    );
    uninstall(&off);
    synced(&store).await;
    let on = request(LEE, "GET", &a, None).await;
    let off = install(&store, &prefix());
    let lo = request(LEE, "GET", &a, None).await;
    uninstall(&off);
    assert_same("GET after sync", &on, &lo);
    assert_eq!(
        lo.etag, on.etag,
        "the last change's version is known exactly"
    );
    let meta: Value = serde_json::from_str(
        &ok_json(
            store
                .table("accounts")
                .unwrap()
                .meta(format!("{k}-a").into()),
        )
        .await,
    )
    .unwrap();
    assert_eq!(
        lo.etag,
        Some(format!("\"{}\"", meta["version"].as_str().unwrap()))
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn other_requests_pass_through_untouched() {
    let store = open_user(KIM).await;
    synced(&store).await;
    let off = install(&store, &prefix());
    // Outside the prefix: the sync API answers itself.
    let r = request(KIM, "GET", "/sync/profile", None).await;
    assert_eq!((r.status, r.local), (200, false), "{}", r.text);
    assert!(r.body["tables"]["accounts"].is_object());
    // Under the prefix, what no route answers: other methods, other path shapes.
    for (method, path) in [
        ("PUT", "/api/data/accounts/x"),
        ("patch", "/api/data/accounts/x"),
        ("POST", "/api/data/accounts/x"),
        ("DELETE", "/api/data/accounts"),
        ("HEAD", "/api/data/accounts"),
        ("GET", "/api/data/accounts/x/y"),
        ("GET", "/api/data/accounts/"),
        ("GET", "/api/data/"),
    ] {
        let r = request(KIM, method, path, None).await;
        assert!(!r.local, "{method} {path} went to the server");
        assert!(
            matches!(r.status, 200 | 404 | 405),
            "{method} {path}: {}",
            r.status
        );
    }
    // The store's own sync requests pass too while fetch is wrapped.
    synced(&store).await;
    // Requests given as a Request or a URL object are answered like strings.
    let r = recorded(call_request(&url("/api/data/products/p1"))).await;
    assert_eq!((r.status, r.local), (200, true), "{}", r.text);
    let r = recorded(call_url(&url("/api/data/products/p1"))).await;
    assert_eq!((r.status, r.local), (200, true), "{}", r.text);
    // An aborted signal rejects as fetch does, locally too.
    let name = ok(call_aborted(&url("/api/data/products/p1"))).await;
    assert_eq!(name.as_string().as_deref(), Some("AbortError"));
    uninstall(&off);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn uninstall_restores_fetch() {
    let store = open_user(KIM).await;
    synced(&store).await;
    let original = current_fetch();
    let path = "/api/data/products/p1";
    let first = install(&store, &prefix());
    assert!(current_fetch() != original, "fetch is wrapped");
    assert!(request(KIM, "GET", path, None).await.local);
    uninstall(&first);
    assert!(current_fetch() == original, "the original fetch is back");
    assert!(!request(KIM, "GET", path, None).await.local);
    uninstall(&first);
    assert!(
        current_fetch() == original,
        "uninstalling twice changes nothing"
    );

    // Two wrappers: removed in reverse order, each puts back what it wrapped; removed
    // out of order, the inner one only passes through until the outer one goes.
    let a = install(&store, &prefix());
    let wrapped_once = current_fetch();
    let b = install(&store, &prefix());
    uninstall(&b);
    assert!(current_fetch() == wrapped_once);
    uninstall(&a);
    assert!(current_fetch() == original);
    let a = install(&store, &prefix());
    let b = install(&store, &prefix());
    uninstall(&a);
    assert!(
        request(KIM, "GET", path, None).await.local,
        "b still answers"
    );
    uninstall(&b);
    assert!(
        current_fetch() != original,
        "b wrapped a, which is still in the chain"
    );
    assert!(
        !request(KIM, "GET", path, None).await.local,
        "and only passes through"
    );
    // Leave the page's fetch as it was for the next tests.
    Reflect::set(&js_sys::global(), &"fetch".into(), &original).unwrap();
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_path_prefix_answers_the_pages_own_origin() {
    let store = fresh().await;
    let accounts = store.table("accounts").unwrap();
    ok(accounts.bulk_put(js(r#"[{"id":"x1","name":"B"},{"id":"x2","name":"A"}]"#))).await;
    // The default prefix is "/api/data/"; a missing trailing slash is added.
    let off = store
        .intercept_fetch(Some(prefix_options("/api/data")))
        .unwrap()
        .dyn_into::<Function>()
        .unwrap();
    let page = |p: &str| recorded(call(p, "GET", None, None));
    let r = page("/api/data/accounts?$orderby=name&$select=id").await;
    assert_eq!((r.status, r.local), (200, true), "{}", r.text);
    assert_eq!(r.body, json!({ "value": [{ "id": "x2" }, { "id": "x1" }] }));
    let origin = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|l| Reflect::get(&l, &"origin".into()))
        .unwrap()
        .as_string()
        .unwrap();
    let r = page(&format!("{origin}/api/data/accounts/x1")).await;
    assert_eq!((r.status, r.body["name"].clone()), (200, json!("B")));
    assert_eq!(r.etag, None, "a row never synced has no version");
    // A relative URL resolves against the document's base URL, as fetch resolves it.
    let r = recorded(call_under_base(
        &format!("{origin}/api/"),
        "data/accounts/x2",
    ))
    .await;
    assert_eq!(
        (r.status, r.local, r.body["name"].clone()),
        (200, true, json!("A"))
    );
    let r = recorded(call_under_base(
        &format!("{origin}/elsewhere/"),
        "api/data/accounts/x2",
    ))
    .await;
    assert!(
        !r.local,
        "{origin}/elsewhere/api/data/... is not under the prefix"
    );
    // Not under the prefix: another path, the same path on another origin.
    assert!(!page("/api/database").await.local);
    assert!(!page(&url("/api/data/accounts")).await.local);
    // A closed store answers nothing: requests go to the network.
    store.close();
    assert!(!page("/api/data/accounts").await.local);
    uninstall(&off);
    delete(&store.name()).await;
}

#[wasm_bindgen_test]
async fn interception_options_are_checked() {
    let store = open_user(KIM).await;
    for bad in [
        json!({ "prefix": 5 }),
        json!({ "prefix": "api/data/" }),
        json!({ "prefix": "ftp://host/api/data/" }),
        json!({ "prefix": "/api/data/?x=1" }),
        json!("/api/data/"),
        // Covering the sync server's /sync/ endpoints would answer the store's own sync.
        json!({ "prefix": format!("{}/", server_url()) }),
        json!({ "prefix": format!("{}/sync", server_url()) }),
    ] {
        let e = store
            .intercept_fetch(Some(js(&bad.to_string())))
            .map(|_| ())
            .expect_err(&format!("{bad} is refused"));
        assert_eq!(e.code.as_str(), "invalid_argument", "{bad}: {e}");
    }
    let code = code_of(store.handle_fetch("/api/data/accounts".into(), None)).await;
    assert_eq!(code, "invalid_argument", "handleFetch takes a Request");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn handle_fetch_answers_a_request_without_touching_fetch() {
    let store = open_user(KIM).await;
    synced(&store).await;
    let original = current_fetch();
    let opts = || Some(prefix_options(&prefix()));
    let answer = |req: JsValue, o: Option<JsValue>| {
        let p = store.handle_fetch(req, o);
        async move { ok(describe(&ok(p).await)).await.as_string().unwrap() }
    };
    let r = answer_of(
        &answer(
            make_request(&url("/api/data/products/p1"), "GET", None),
            opts(),
        )
        .await,
    );
    let online = request(KIM, "GET", "/api/data/products/p1", None).await;
    assert_same("handleFetch GET", &online, &r);
    let r = answer_of(
        &answer(
            make_request(&url("/api/data/products"), "POST", Some("{bad".into())),
            opts(),
        )
        .await,
    );
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (400, json!("invalid_argument"))
    );
    // Not ours: undefined, for the worker to pass on.
    for (u, m) in [("/sync/profile", "GET"), ("/api/data/accounts/x", "PUT")] {
        assert_eq!(
            answer(make_request(&url(u), m, None), opts()).await,
            "undefined",
            "{m} {u}"
        );
    }
    // The default prefix is the page's (or worker's) own origin.
    let r = answer_of(&answer(make_request("/api/data/products/p1", "GET", None), None).await);
    assert_eq!((r.status, r.local), (200, true));
    assert_eq!(
        answer(
            make_request(&url("/api/data/products/p1"), "GET", None),
            None
        )
        .await,
        "undefined"
    );
    assert!(
        current_fetch() == original,
        "handleFetch does not wrap fetch"
    );
    finish(store).await;
}
