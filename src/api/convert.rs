//! The JS boundary's structured values, in one place. What the app hands in (open
//! options, interception options, query objects) is read with serde-wasm-bindgen; what
//! the package hands out (the sync status with its download progress, sync results,
//! announced conflicts and sync errors, change events, messages between tabs, REST list
//! bodies) is written with its `Serializer::json_compatible()`: plain objects and `null`
//! for a missing value, as `JSON.parse` of the same value's JSON would give.
//!
//! Rows do not come through here (storage moves them). `npm run bench` times both ways
//! for them ("rows across the boundary", with [`BoundaryRows`]; `docs/performance.md`): out to
//! JS, JSON text is about twice as fast; in from JS, serde-wasm-bindgen is (about 0.7×).

use crate::error::{Error, ErrorCode, Thrown};
use js_sys::Array;
use offline_tables_core::engine::{Finish, Status};
use offline_tables_core::Query;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use wasm_bindgen::prelude::*;

const OUT: serde_wasm_bindgen::Serializer = serde_wasm_bindgen::Serializer::json_compatible();

/// `v` as a JS value. The types written here hold only strings, booleans, numbers below
/// 2^53, JS values passed through and [`Json`], so a failure is a bug of ours: `internal`.
pub fn to_js<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, Error> {
    v.serialize(&OUT).map_err(|e| {
        Error::new(
            ErrorCode::Internal,
            format!("a value does not convert to JavaScript: {e}"),
        )
    })
}

/// For what is announced rather than answered (events, messages to other tabs): the
/// value, or `None` after reporting on the console the error no caller could receive.
pub fn reported(value: Result<JsValue, Error>) -> Option<JsValue> {
    value
        .map_err(|e| {
            web_sys::console::error_2(
                &"offline-tables: an announcement failed".into(),
                &crate::error::to_js(&e),
            )
        })
        .ok()
}

/// A JS value read as `T`; the error is serde's ("missing field `name`", "invalid
/// type: …"), for the caller to wrap with what was being read.
pub fn from_js<T: DeserializeOwned>(v: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(v).map_err(|e| e.to_string())
}

/// A `serde_json::Value` written as JS with every number a JS number, as `JSON.parse`
/// of its text would give: serde-wasm-bindgen refuses a 64-bit integer beyond 2^53
/// rather than round it, and a server row may hold one.
pub struct Json<'a>(pub &'a Value);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Number(n) => s.serialize_f64(n.as_f64().unwrap_or(f64::NAN)),
            Value::Array(items) => s.collect_seq(items.iter().map(Json)),
            Value::Object(map) => s.collect_map(map.iter().map(|(k, v)| (k, Json(v)))),
            other => other.serialize(s),
        }
    }
}

/// A JS value passed through as it is.
pub struct Js<'a>(pub &'a JsValue);

impl Serialize for Js<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_wasm_bindgen::preserve::serialize(self.0, s)
    }
}

// ---- in -------------------------------------------------------------------------------

/// `OfflineStore.open`'s options (`OpenOptions` in `types.d.ts`), checked further by
/// `api::store`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenOptions {
    pub name: String,
    /// Read on its own, so that a bad one is `invalid_profile`.
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub profile: JsValue,
    pub user: Option<String>,
    pub server: Option<ServerOptions>,
    pub sync: Option<SyncOptions>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerOptions {
    pub url: String,
    pub token: Option<String>,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub get_token: JsValue,
    pub timeout_ms: Option<f64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SyncOptions {
    pub auto: Option<bool>,
    pub interval_seconds: Option<f64>,
}

/// `interceptFetch`'s and `handleFetch`'s options (`InterceptOptions`).
#[derive(Deserialize, Default)]
pub struct InterceptOptions {
    pub prefix: Option<String>,
}

/// A query given from JS: an OData string, a query object, or nothing.
pub fn query(q: JsValue) -> Result<Query, Error> {
    if q.is_undefined() || q.is_null() {
        return Ok(Query::default());
    }
    if let Some(s) = q.as_string() {
        return Query::from_odata(&s);
    }
    if !q.is_object() || Array::is_array(&q) {
        return Err(Error::invalid_argument(
            "query must be an object or an OData string",
        ));
    }
    let v: Value = from_js(q).map_err(|e| Error::invalid_argument(format!("query: {e}")))?;
    Query::from_object(&v)
}

/// A message from another tab's change emitter.
#[derive(Deserialize)]
pub struct TabChange {
    pub table: String,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub keys: Array,
}

/// Keys given from JS or handed back by storage, for the status's count of pending rows.
pub fn keys(keys: &Array) -> Vec<offline_tables_core::Key> {
    let values: Vec<Value> = from_js(keys.into()).unwrap_or_default();
    values
        .iter()
        .filter_map(|k| offline_tables_core::Key::from_json(k, "key").ok())
        .collect()
}

/// A message on the sync channel between tabs.
#[derive(Deserialize)]
pub struct ChannelMessage {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub body: JsValue,
}

// ---- out ------------------------------------------------------------------------------

/// `store.status()` (`SyncStatus`): the engine's status, the local counts and the first
/// download's progress.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusOut<'a> {
    #[serde(flatten)]
    pub status: &'a Status,
    pub pending: u32,
    pub conflicts: u32,
    pub errors: u32,
    pub files: FilesOut,
    pub initial_sync: InitialSync<'a>,
}

/// `status().files`: the queued file uploads.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilesOut {
    pub pending: u32,
    pub pending_bytes: f64,
}

/// `{ done, tables: { name: { rows, total, done } }, files: { done, total } }`.
pub struct InitialSync<'a>(pub &'a crate::driver::initial::Progress);

impl Serialize for InitialSync<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Table {
            rows: u64,
            total: Option<u64>,
            done: bool,
        }
        struct Tables<'a>(&'a crate::driver::initial::Progress);
        impl Serialize for Tables<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.tables.iter().map(|(name, t)| {
                    let table = Table {
                        rows: t.rows,
                        total: t.total,
                        done: self.0.table_done(t),
                    };
                    (name, table)
                }))
            }
        }
        #[derive(Serialize)]
        struct Files {
            done: u64,
            total: Option<u64>,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            done: bool,
            tables: Tables<'a>,
            files: Files,
        }
        let (done, total) = self.0.files;
        Out {
            done: self.0.done,
            tables: Tables(self.0),
            files: Files { done, total },
        }
        .serialize(s)
    }
}

/// `sync()`'s answer (`SyncResult`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncResult<'a> {
    pub result: Finish,
    pub status: Js<'a>,
    pub pushed: u32,
    pub pulled: u32,
    pub conflicts: u32,
    pub errors: u32,
    pub duration_ms: u64,
}

/// A `"change"` event: `{ table, keys, source }`.
#[derive(Serialize)]
pub struct ChangeEvent<'a> {
    pub table: &'a str,
    pub keys: Js<'a>,
    pub source: &'static str,
    /// Temporary keys the server replaced: `[{ from, to }]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed: Option<Js<'a>>,
}

/// What the change emitter tells other tabs: `{ table, keys, rows? }`.
#[derive(Serialize)]
pub struct TabChangeOut<'a> {
    pub table: &'a str,
    pub keys: Js<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Js<'a>>,
}

/// A message on the sync channel: `{ type, body }`.
#[derive(Serialize)]
pub struct ChannelMessageOut<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub body: Js<'a>,
}

/// A REST list answer: `{ value, count? }`.
#[derive(Serialize)]
pub struct ListBody<'a> {
    pub value: Js<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// The same count under OData's name (protocol §8).
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub odata_count: Option<u32>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

// ---- rows, measured -------------------------------------------------------------------

/// For `npm run bench` only, not part of the API: rows read into Rust by one of the two
/// ways rows can cross the boundary, then written back out the same way, so the bench
/// can time each direction of each way on the same rows. `how`: `"json"` (the page's
/// `JSON.stringify` and `JSON.parse`, serde_json in Rust) or `"serde"`
/// (serde-wasm-bindgen, value by value).
#[wasm_bindgen(js_name = __BoundaryRows, skip_typescript)]
pub struct BoundaryRows(Vec<Value>);

#[wasm_bindgen(js_class = __BoundaryRows)]
impl BoundaryRows {
    pub fn read(rows: JsValue, how: &str) -> Result<BoundaryRows, Thrown> {
        let bad = |e: String| Error::invalid_argument(format!("rows: {e}"));
        Ok(BoundaryRows(match how {
            "json" => {
                let text = js_sys::JSON::stringify(&rows)
                    .map_err(|e| bad(crate::storage::js::describe(&e)))?;
                serde_json::from_str(&String::from(text)).map_err(|e| bad(e.to_string()))?
            }
            "serde" => from_js(rows).map_err(bad)?,
            _ => return Err(Error::invalid_argument("how must be \"json\" or \"serde\"").into()),
        }))
    }

    pub fn write(&self, how: &str) -> Result<JsValue, Thrown> {
        match how {
            "json" => {
                let text = serde_json::to_string(&self.0)
                    .map_err(|e| Error::invalid_argument(e.to_string()))?;
                Ok(js_sys::JSON::parse(&text)
                    .map_err(|e| Error::invalid_argument(crate::storage::js::describe(&e)))?)
            }
            "serde" => Ok(to_js(&self.0.iter().map(Json).collect::<Vec<_>>())?),
            _ => Err(Error::invalid_argument("how must be \"json\" or \"serde\"").into()),
        }
    }
}
