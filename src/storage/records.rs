//! The records the storage layer keeps beside the app's rows, each shape defined once
//! (here), and their conversions through serde-wasm-bindgen: outbox entries, bases (with
//! `LOCAL`, the mark of a row created here), kept conflicts and refused changes. Rows
//! inside them travel as JS values untouched (`serde_wasm_bindgen::preserve`).

use crate::error::{Error, Result};
use js_sys::Array;
use offline_tables_core::{Key, MutationOp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// `v` as a JS value (plain objects and arrays, as JSON would make them).
pub(crate) fn to_js<T: Serialize + ?Sized>(v: &T, ctx: &str) -> Result<JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::storage(format!("{ctx}: {e}")))
}

/// A stored value read as `T`; `what` names it in the error when it does not read.
pub(crate) fn from_js<T: DeserializeOwned>(v: JsValue, what: &str, ctx: &str) -> Result<T> {
    serde_wasm_bindgen::from_value(v)
        .map_err(|e| Error::storage(format!("{ctx}: {what} is malformed: {e}")))
}

/// The key of a row's base in `_base`: `[table, key]`.
pub(crate) fn base_key(table: &str, key: &JsValue) -> JsValue {
    Array::of2(&JsValue::from_str(table), key).into()
}

pub(crate) fn key_js(k: &Key) -> JsValue {
    match k {
        Key::Num(n) => JsValue::from_f64(*n),
        Key::Str(s) => JsValue::from_str(s),
    }
}

/// A JS key as a `Key` (None: not a string or a number).
pub(crate) fn key_of(k: &JsValue) -> Option<Key> {
    match k.as_string() {
        Some(s) => Some(Key::Str(s)),
        None => k.as_f64().map(Key::Num),
    }
}

/// The later of two versions (decimal strings of unsigned integers).
pub(crate) fn version_max(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let later = (a.len(), a.as_str()) >= (b.len(), b.as_str());
            Some(if later { a } else { b })
        }
        (a, b) => a.or(b),
    }
}

/// A `_base` record as read, without converting its row: `LOCAL` (`{ local: true }`, a
/// row created here and not on the server yet), or the server's version, with the
/// server's row (`row`, null when the server's row is gone) while the row has local
/// changes, without it when the table holds the server's row.
#[derive(Deserialize)]
pub(crate) struct BaseRecord {
    #[serde(default)]
    local: bool,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub row: JsValue,
    /// The server's newest row (null: gone) and version, pulled while the row had local
    /// changes (see `with_latest`).
    #[serde(default, with = "serde_wasm_bindgen::preserve")]
    pub latest: JsValue,
    #[serde(default, rename = "latestVersion")]
    pub latest_version: Option<String>,
}

impl BaseRecord {
    pub fn is_local(&self) -> bool {
        self.local
    }
    /// The base holds the server's row (or its absence, `null`).
    pub fn has_row(&self) -> bool {
        !self.row.is_undefined()
    }

    /// The core's `Base`: None for `LOCAL` (it reads as no base).
    pub fn into_base(self, ctx: &str) -> Result<Option<offline_tables_core::Base>> {
        if self.local {
            return Ok(None);
        }
        let version = self
            .version
            .ok_or_else(|| Error::storage(format!("{ctx}: a stored base has no version")))?;
        let row =
            match self.row.is_undefined() || self.row.is_null() {
                true => None,
                false => Some(super::js::from_js::<Value>(&self.row, false).map_err(|e| {
                    Error::storage(format!("{ctx}: a stored base is malformed: {e}"))
                })?),
            };
        Ok(Some(offline_tables_core::Base { version, row }))
    }
}

/// A stored base (undefined: none) as the core's `Base`.
pub(crate) fn parse_base(
    v: Option<JsValue>,
    ctx: &str,
) -> Result<Option<offline_tables_core::Base>> {
    match v {
        None => Ok(None),
        Some(v) => from_js::<BaseRecord>(v, "a stored base", ctx)?.into_base(ctx),
    }
}

#[derive(Serialize)]
struct LocalMark {
    local: bool,
}

#[derive(Serialize)]
struct ServerBase<'a> {
    version: &'a str,
    #[serde(
        skip_serializing_if = "wasm_bindgen::JsValue::is_undefined",
        with = "serde_wasm_bindgen::preserve"
    )]
    row: JsValue,
}

/// `LOCAL`: the base of a row created here, which tells later writes it is not the
/// server's (see `capture.rs`).
pub(crate) fn local_base(ctx: &str) -> Result<JsValue> {
    to_js(&LocalMark { local: true }, ctx)
}

/// The base `{ version, row }`: `row` undefined leaves it out (the table holds the
/// server's row), null records that the server's row is gone.
pub(crate) fn server_base(version: &str, row: JsValue, ctx: &str) -> Result<JsValue> {
    to_js(&ServerBase { version, row }, ctx)
}

/// The base record `base` noting the server's newest row (`latest`, null when
/// gone) at `version`, pulled while the row had local changes. The base itself stays: the
/// change is pushed against it and meets the newer row as a conflict. But a change the
/// server refuses brings back no row, and the pull's checkpoint has passed this one, so
/// the refused row goes back to `latest`.
pub(crate) fn with_latest(base: &JsValue, version: &str, latest: &JsValue) -> JsValue {
    // `base` is a record read (a structured clone) or built for this write: set in place.
    let _ = js_sys::Reflect::set(base, &"latest".into(), latest);
    let _ = js_sys::Reflect::set(base, &"latestVersion".into(), &version.into());
    base.clone()
}

/// An outbox record: which keys of which table a write touched (`seq` is given by the
/// store when left out).
#[derive(Serialize)]
pub(crate) struct OutboxRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub t: &'a str,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    pub k: JsValue,
    pub op: &'a str,
    /// The transaction that wrote it (`store.transaction`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u: Option<&'a str>,
}

/// An outbox record as read.
#[derive(Deserialize)]
pub(crate) struct StoredEntry {
    pub seq: u64,
    #[serde(rename = "t")]
    pub table: String,
    #[serde(rename = "k")]
    pub keys: Vec<Key>,
    #[serde(default)]
    pub op: Option<String>,
    #[serde(default, rename = "u")]
    pub unit: Option<String>,
}

/// The row of a kept conflict, as read.
#[derive(Deserialize)]
pub(crate) struct ConflictId {
    pub table: String,
    pub key: Key,
}

/// A conflict kept for the app (`_conflicts`; the store adds `id`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptConflict {
    pub table: String,
    pub key: Key,
    pub base: Option<Value>,
    pub local: Option<Value>,
    pub server: Option<Value>,
    pub server_version: Option<String>,
}

/// A change the server refused for good (`_errors`; the store adds `id`).
#[derive(Serialize)]
pub struct RefusedChange {
    pub table: String,
    pub key: Key,
    pub op: MutationOp,
    pub row: Option<Value>,
    pub reason: String,
    pub message: String,
    /// A refused transaction: its unit, and every change it held (the first is above).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<UnitChange>>,
}

/// One change of a refused transaction, as its sync error lists it.
#[derive(Serialize)]
pub struct UnitChange {
    pub table: String,
    pub key: Key,
    pub op: MutationOp,
    pub row: Option<Value>,
}

/// Rows named by `(table, key)`, borrowed, sorted and searched by halves: the one set
/// type the storage layer uses. Built whole, then only read.
pub(crate) struct RowSet<'a>(Vec<(&'a str, &'a Key)>);

impl<'a> RowSet<'a> {
    pub(crate) fn of(ids: impl IntoIterator<Item = (&'a str, &'a Key)>) -> RowSet<'a> {
        let mut v: Vec<(&'a str, &'a Key)> = ids.into_iter().collect();
        offline_tables_core::sort::sort(&mut v);
        v.dedup();
        RowSet(v)
    }

    pub(crate) fn contains(&self, id: &(&str, &Key)) -> bool {
        self.0.binary_search_by(|p| p.cmp(id)).is_ok()
    }

    /// The rows in (table, key) order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(&'a str, &'a Key)> {
        self.0.iter()
    }
}

/// The set of `ids`.
pub(crate) fn row_set<'a>(ids: impl IntoIterator<Item = &'a (String, Key)>) -> RowSet<'a> {
    RowSet::of(ids.into_iter().map(|(t, k)| (t.as_str(), k)))
}
