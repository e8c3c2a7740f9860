//! Shared helpers of the browser tests: the field-service profile, a store on a fresh
//! randomly named database, awaiting promises and reading error codes, snapshots of
//! everything stored, change-event recording, and a little raw JavaScript.

use js_sys::{Array, Function, Object, Promise, Reflect, JSON};
use offline_tables::testing::RemoteChange;
use offline_tables::{Error, OfflineStore};
use offline_tables_core::Key;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The issue's profile: an owned table with two indexes, a related one, a read-only one.
pub mod buckets;
pub mod faults;
pub mod push_spy;
pub mod server;
pub mod sync;

pub const PROFILE: &str = r#"{ "version": 1, "tables": {
  "accounts":   { "key": "id", "indexes": ["ownerId", "city"], "conflict": "merge", "syncIntervalSeconds": 300, "scope": { "owner": "ownerId" } },
  "workorders": { "key": "id", "indexes": ["accountId", "status", "modifiedOn"], "conflict": "manual",
                  "scope": { "related": { "table": "accounts", "column": "accountId" }, "modifiedWithinDays": { "column": "modifiedOn", "days": 30 } } },
  "products":   { "key": "id", "readOnly": true, "scope": "all" } } }"#;

pub const TABLES: [&str; 3] = ["accounts", "workorders", "products"];

#[wasm_bindgen(inline_js = r#"
const TIMEOUT = new Error("the promise did not settle in time");
export function within(p, ms) {
  let timer;
  const t = new Promise((_, reject) => { timer = setTimeout(() => reject(TIMEOUT), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
export function isTimeout(e) { return e === TIMEOUT; }
export function sortedJson(v) {
  const sort = (x) => Array.isArray(x) ? x.map(sort)
    : x && typeof x === "object" ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort(x[k])]).filter(([, y]) => y !== undefined))
    : x;
  return JSON.stringify(sort(v));
}
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
export function race(p, ms) {
  return Promise.race([p.then(() => "done", (e) => { throw e; }), new Promise((r) => setTimeout(() => r("timeout"), ms))]);
}
export function nonJson(kind) {
  switch (kind) {
    case "function": return () => 1;
    case "symbol": return Symbol("s");
    case "date": return new Date(0);
    case "map": return new Map([["a", 1]]);
    case "set": return new Set([1]);
    case "nan": return NaN;
    case "infinity": return Infinity;
    case "bigint": return BigInt(1);
    case "undefinedInArray": return [1, undefined];
    case "class": return new (class Money { constructor() { this.cents = 1; } })();
    case "typedArray": return new Uint8Array(2);
    case "symbolKey": return { [Symbol("k")]: 1 };
    case "circular": { const o = { a: {} }; o.a.back = o; return o; }
    case "loneSurrogate": return "a\uD800b";
    case "loneSurrogateKey": return { ["k\uDC00"]: 1 };
    case "protoKey": return JSON.parse('{"__proto__": {"polluted": true}}');
    default: throw new Error("unknown kind " + kind);
  }
}
export function flakyRow(id) {
  // Plain JSON when checked, a function when IndexedDB clones it: fails inside the write.
  let reads = 0;
  const o = { id };
  Object.defineProperty(o, "x", { enumerable: true, get() { return reads++ === 0 ? 1 : () => 1; } });
  return o;
}
export function withUndefined(obj, column) { const o = Object.assign({}, obj); o[column] = undefined; return o; }
export function rawCreate(name, version) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name, version);
    r.onupgradeneeded = () => r.result.createObjectStore("foreign");
    r.onsuccess = () => { r.result.close(); resolve(); };
    r.onerror = () => reject(r.error);
  });
}
export function rawVersion(name) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onsuccess = () => { const v = r.result.version; r.result.close(); resolve(v); };
    r.onerror = () => reject(r.error);
  });
}
export function rawAdd(name, store, value) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onsuccess = () => {
      const db = r.result;
      const tx = db.transaction(store, "readwrite");
      tx.objectStore(store).add(value);
      tx.oncomplete = () => { db.close(); resolve(); };
      tx.onabort = () => { db.close(); reject(tx.error); };
    };
    r.onerror = () => reject(r.error);
  });
}
export function rawOp(name, store, op, key) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onsuccess = () => {
      const db = r.result;
      const tx = db.transaction(store, op === "get" ? "readonly" : "readwrite");
      const q = tx.objectStore(store)[op](key);
      tx.oncomplete = () => { db.close(); resolve(q.result); };
      tx.onabort = () => { db.close(); reject(tx.error); };
    };
    r.onerror = () => reject(r.error);
  });
}
export function rawIndexNames(name, store) {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name);
    r.onsuccess = () => {
      const db = r.result;
      const names = Array.from(db.transaction(store).objectStore(store).indexNames);
      db.close();
      resolve(names);
    };
    r.onerror = () => reject(r.error);
  });
}
export async function dbExists(name) {
  return (await indexedDB.databases()).some((d) => d.name === name);
}
let indexReads = 0;
let spying = false;
export function spyIndexReads() {
  if (spying) return;
  spying = true;
  for (const m of ["getAll", "count", "openCursor", "get", "getAllKeys"]) {
    const orig = IDBIndex.prototype[m];
    IDBIndex.prototype[m] = function (...args) { indexReads++; return orig.apply(this, args); };
  }
}
export function takeIndexReads() { const n = indexReads; indexReads = 0; return n; }
"#)]
extern "C" {
    fn within(p: &Promise, ms: u32) -> Promise;
    #[wasm_bindgen(js_name = isTimeout)]
    fn is_timeout(e: &JsValue) -> bool;
    fn sleep(ms: u32) -> Promise;
    /// JSON.stringify with object keys sorted, computed in JS (lone surrogates survive).
    #[wasm_bindgen(js_name = sortedJson)]
    pub fn sorted_json(v: &JsValue) -> String;
    fn race(p: &Promise, ms: u32) -> Promise;
    /// A value rows cannot hold: "function", "symbol", "date", "map", "nan", "circular"...
    #[wasm_bindgen(js_name = nonJson)]
    pub fn non_json(kind: &str) -> JsValue;
    /// A row `{ id, x }` whose `x` passes the JSON check but fails IndexedDB's clone.
    #[wasm_bindgen(js_name = flakyRow)]
    pub fn flaky_row(id: &str) -> JsValue;
    /// A copy of `obj` with `column` set to `undefined`.
    #[wasm_bindgen(js_name = withUndefined)]
    pub fn with_undefined(obj: &JsValue, column: &str) -> JsValue;
    #[wasm_bindgen(js_name = rawCreate)]
    fn raw_create(name: &str, version: u32) -> Promise;
    #[wasm_bindgen(js_name = rawVersion)]
    fn raw_version(name: &str) -> Promise;
    #[wasm_bindgen(js_name = rawAdd)]
    fn raw_add(name: &str, store: &str, value: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = dbExists)]
    fn db_exists(name: &str) -> Promise;
    /// `get` or `delete` of `key` in an object store of the database `name`, bypassing
    /// the package.
    #[wasm_bindgen(js_name = rawOp)]
    fn raw_op(name: &str, store: &str, op: &str, key: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = rawIndexNames)]
    fn raw_index_names(name: &str, store: &str) -> Promise;
    /// Counts reads through any IndexedDB index from now on (idempotent).
    #[wasm_bindgen(js_name = spyIndexReads)]
    pub fn spy_index_reads();
    /// Index reads since the last call.
    #[wasm_bindgen(js_name = takeIndexReads)]
    pub fn take_index_reads() -> u32;
}

/// Parses JSON text into a JS value.
/// A JS array of table names (`store.transaction`'s first argument).
pub fn tables(names: &[&str]) -> JsValue {
    names
        .iter()
        .map(|n| JsValue::from(*n))
        .collect::<js_sys::Array>()
        .into()
}

pub fn js(json: &str) -> JsValue {
    JSON::parse(json).unwrap_or_else(|e| panic!("bad JSON in test: {json}: {e:?}"))
}

/// JSON.stringify of a value ("undefined" for undefined).
pub fn json(v: &JsValue) -> String {
    if v.is_undefined() {
        return "undefined".into();
    }
    JSON::stringify(v)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{v:?}"))
}

/// A key or name no other test run uses: `prefix-<random digits>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", js_sys::Math::random())
}

pub fn options(name: &str, profile: &str) -> JsValue {
    let o = Object::new();
    Reflect::set(&o, &"name".into(), &name.into()).unwrap();
    Reflect::set(&o, &"profile".into(), &js(profile)).unwrap();
    o.into()
}

pub async fn try_open(name: &str, profile: &str) -> Result<OfflineStore, Error> {
    OfflineStore::open_async(options(name, profile)).await
}

pub async fn open(name: &str, profile: &str) -> OfflineStore {
    match try_open(name, profile).await {
        Ok(s) => s,
        Err(e) => panic!("opening {name}: {e}"),
    }
}

/// A store with the issue's profile on a new database.
pub async fn fresh() -> OfflineStore {
    open(&unique_name("t"), PROFILE).await
}

/// The code of a failed open (panics when it succeeds).
pub async fn open_code(name: &str, profile: &str) -> String {
    match try_open(name, profile).await {
        Ok(s) => {
            s.close();
            panic!("opening {name} with {profile} should fail")
        }
        Err(e) => e.code.as_str().to_string(),
    }
}

/// Closes the store and deletes its database.
pub async fn finish(store: OfflineStore) {
    let name = store.name();
    store.close();
    drop(store);
    delete(&name).await;
}

pub async fn delete(name: &str) {
    if let Err(e) = OfflineStore::delete_database_async(name).await {
        panic!("deleteDatabase({name}): {e}");
    }
}

fn describe_rejection(e: &JsValue) -> String {
    let code = Reflect::get(e, &"code".into()).unwrap_or_default();
    let msg = Reflect::get(e, &"message".into()).unwrap_or_default();
    format!("{:?}: {:?}", code.as_string(), msg.as_string())
}

/// Every promise of the API must settle within this time: a hang fails the test
/// instead of stalling the whole file until the runner kills the browser.
pub const SETTLE_MS: u32 = 2500;

async fn settle(p: Promise, at: &std::panic::Location<'_>) -> Result<JsValue, JsValue> {
    match JsFuture::from(within(&p, SETTLE_MS)).await {
        Err(e) if is_timeout(&e) => panic!("{at}: the promise never settled (hang)"),
        r => r,
    }
}

/// Awaits a promise that must resolve.
#[track_caller]
pub fn ok(p: Promise) -> impl Future<Output = JsValue> {
    let at = std::panic::Location::caller();
    async move {
        match settle(p, at).await {
            Ok(v) => v,
            Err(e) => panic!("{at}: unexpected rejection {}", describe_rejection(&e)),
        }
    }
}

/// Awaits a promise that must reject, and returns the rejection.
#[track_caller]
pub fn rejection(p: Promise) -> impl Future<Output = JsValue> {
    let at = std::panic::Location::caller();
    async move {
        match settle(p, at).await {
            Ok(v) => panic!("{at}: expected a rejection, got {}", json(&v)),
            Err(e) => e,
        }
    }
}

/// The `code` of the rejection of a promise that must reject.
#[track_caller]
pub fn code_of(p: Promise) -> impl Future<Output = String> {
    let r = rejection(p);
    async move {
        let e = r.await;
        assert!(
            e.is_instance_of::<js_sys::Error>(),
            "a rejection must be a JS Error: {e:?}"
        );
        Reflect::get(&e, &"code".into())
            .ok()
            .and_then(|c| c.as_string())
            .unwrap_or_else(|| panic!("rejection without a code: {e:?}"))
    }
}

/// The message of a promise's rejection.
pub async fn message_of(p: Promise) -> String {
    let e = rejection(p).await;
    Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default()
}

#[track_caller]
pub fn ok_json(p: Promise) -> impl Future<Output = String> {
    let v = ok(p);
    async move { json(&v.await) }
}

/// Every row of every profile table plus the pending changes, as JSON: a test takes
/// one before a failing call and compares after, to show nothing stored changed.
pub async fn snapshot(store: &OfflineStore) -> String {
    let out = Object::new();
    for t in TABLES {
        let rows = ok(store.table(t).unwrap().query(None)).await;
        Reflect::set(&out, &t.into(), &rows).unwrap();
    }
    Reflect::set(&out, &"pending".into(), &ok(store.pending()).await).unwrap();
    json(&out.into())
}

pub async fn pending_count(store: &OfflineStore) -> u32 {
    ok(store.pending_count()).await.as_f64().unwrap() as u32
}

pub async fn pending_json(store: &OfflineStore) -> String {
    ok_json(store.pending()).await
}

/// Applies the pull answer `page` (its JSON) as a pull does: split by the transport, then
/// written with its checkpoint, as pulled from the store's checkpoint. True when it took
/// changes out of the outbox.
pub async fn apply_pulled(
    db: &offline_tables::testing::Db,
    page: impl std::fmt::Display,
) -> offline_tables::Result<bool> {
    let p = offline_tables::testing::Pulled::split(&page.to_string(), &db.profile())
        .expect("a valid page");
    let asked = db.checkpoint().await?;
    match db.apply_page(&p.page, &p.rows, asked.as_deref()).await? {
        offline_tables::testing::Applied::Written { moot } => Ok(moot),
        stale => panic!("{stale:?}: the checkpoint it was pulled from is the stored one"),
    }
}

/// A change as if pulled from the server (`row` None: deleted on the server).
pub fn remote(table: &str, key: Key, version: &str, row: Option<&str>) -> RemoteChange {
    RemoteChange {
        table: table.into(),
        key,
        version: version.into(),
        row: row.map(|r| serde_json::from_str(r).expect("bad JSON in test")),
    }
}

pub fn skey(s: &str) -> Key {
    Key::Str(s.into())
}

pub async fn apply_remote(store: &OfflineStore, changes: &[RemoteChange]) {
    if let Err(e) = store.db().apply_remote(changes).await {
        panic!("apply_remote: {e}");
    }
}

/// Applies rows as if pulled from the server in one page: `(table, key, version, row)`,
/// string keys, rows as JSON.
pub async fn apply_rows(store: &OfflineStore, rows: &[(&str, &str, &str, &str)]) {
    let changes: Vec<RemoteChange> = rows
        .iter()
        .map(|&(table, key, version, row)| remote(table, skey(key), version, Some(row)))
        .collect();
    apply_remote(store, &changes).await;
}

/// Applies one row as if pulled from the server: `row` (JSON) of `table` under the
/// string key `key` at `version`.
pub async fn apply_row(store: &OfflineStore, table: &str, key: &str, version: &str, row: &str) {
    apply_remote(store, &[remote(table, skey(key), version, Some(row))]).await;
}

pub async fn pause(ms: u32) {
    JsFuture::from(sleep(ms)).await.unwrap();
}

/// Runs `fut` and says whether it finished within `ms` (it keeps running if not).
pub async fn finishes_within<F>(ms: u32, fut: F) -> bool
where
    F: Future<Output = ()> + 'static,
{
    let p = wasm_bindgen_futures::future_to_promise(async move {
        fut.await;
        Ok(JsValue::UNDEFINED)
    });
    let r = JsFuture::from(race(&p, ms)).await.unwrap();
    r.as_string().as_deref() == Some("done")
}

/// Creates a database `name` that offline-tables did not make, at IndexedDB `version`.
pub async fn create_foreign_db(name: &str, version: u32) {
    JsFuture::from(raw_create(name, version)).await.unwrap();
}

pub async fn idb_version_of(name: &str) -> f64 {
    JsFuture::from(raw_version(name))
        .await
        .unwrap()
        .as_f64()
        .unwrap()
}

/// Adds a record to an internal store behind the library's back.
pub async fn add_raw(name: &str, store: &str, value: &JsValue) {
    JsFuture::from(raw_add(name, store, value)).await.unwrap();
}

/// The record of `key` in the object store `store` of the database `name`, as JSON
/// ("undefined" when there is none).
pub async fn raw_get(name: &str, store: &str, key: &JsValue) -> String {
    let v = JsFuture::from(raw_op(name, store, "get", key))
        .await
        .unwrap();
    if v.is_undefined() {
        "undefined".into()
    } else {
        json(&v)
    }
}

pub async fn raw_delete(name: &str, store: &str, key: &JsValue) {
    JsFuture::from(raw_op(name, store, "delete", key))
        .await
        .unwrap();
}

pub async fn database_exists(name: &str) -> bool {
    JsFuture::from(db_exists(name)).await.unwrap().is_truthy()
}

pub async fn index_names(name: &str, store: &str) -> Vec<String> {
    let a: Array = JsFuture::from(raw_index_names(name, store))
        .await
        .unwrap()
        .into();
    let mut v: Vec<String> = a.iter().filter_map(|s| s.as_string()).collect();
    v.sort();
    v
}

/// Records change events of a store; `off` is the unsubscribe function `on` returned.
pub struct Recorder {
    events: Rc<RefCell<Vec<String>>>,
    _listener: Closure<dyn FnMut(JsValue)>,
    pub off: Function,
}

impl Recorder {
    pub fn new(store: &OfflineStore) -> Recorder {
        let events: Rc<RefCell<Vec<String>>> = Rc::default();
        let sink = events.clone();
        let listener =
            Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| sink.borrow_mut().push(json(&e)));
        let off = match store.on(
            "change",
            listener.as_ref().unchecked_ref::<Function>().clone(),
        ) {
            Ok(f) => f.dyn_into::<Function>().expect("on() returns a function"),
            Err(e) => panic!("on(change): {e}"),
        };
        Recorder {
            events,
            _listener: listener,
            off,
        }
    }

    /// The events so far, as JSON, emptying the list.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.events.borrow_mut())
    }

    /// Waits up to `ms` for at least `n` events, then takes them.
    pub async fn wait_for(&self, n: usize, ms: u32) -> Vec<String> {
        let mut waited = 0;
        while self.events.borrow().len() < n && waited < ms {
            pause(10).await;
            waited += 10;
        }
        self.take()
    }

    pub fn unsubscribe(&self) {
        self.off.call0(&JsValue::UNDEFINED).unwrap();
    }
}

/// A change event as the listener sees it, in JSON.
pub fn event(table: &str, keys: &str, source: &str) -> String {
    format!(r#"{{"table":"{table}","keys":{keys},"source":"{source}"}}"#)
}

/// JSON text with object keys sorted, to compare values whose column order may differ
/// (rows that went through the server or serde come back with sorted columns).
pub fn canon(json_text: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(json_text).unwrap_or_else(|e| panic!("not JSON: {json_text}: {e}"));
    v.to_string()
}
