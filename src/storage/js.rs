//! The storage layer's bindings to its JavaScript modules (`rows.js`: checking rows are
//! plain JSON, picking and gathering columns, JSON text; `put_rows.js`: a download's loop
//! of puts) and the JSON-text conversions rows take across the boundary, the fastest path
//! for whole rows and pages of them.

use crate::error::FromJs;
use offline_tables_core::protocol::wire::{self, FromValue};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/storage/rows.js")]
extern "C" {
    /// None when `k` is a valid key, else what is wrong with it.
    #[wasm_bindgen(js_name = checkKey)]
    pub fn check_key(k: &JsValue, what: &str) -> Option<String>;
    /// None when `v` is a plain object of JSON values, else what is wrong with it.
    #[wasm_bindgen(js_name = checkJson)]
    pub fn check_json(v: &JsValue, what: &str) -> Option<String>;
    /// The keys of `rows` (an array), or a message (a string) saying what is wrong.
    #[wasm_bindgen(js_name = prepareRows)]
    pub fn prepare_rows(rows: &JsValue, key_col: &str, what: &str) -> JsValue;
    /// The first column of `rows` not in `kept`, as `[row index, column]`, or null.
    pub fn unkept(rows: &js_sys::Array, kept: &js_sys::Array) -> JsValue;
    /// `current` with `patch` applied; an `undefined` in the patch removes the column.
    #[wasm_bindgen(js_name = mergePatch)]
    pub fn merge_patch(current: &JsValue, patch: &JsValue) -> JsValue;
    /// `v` as text for a message (strings quoted, errors as "Name: message").
    pub fn describe(v: &JsValue) -> String;
    /// The JSON text of copies of `rows` holding only `cols`.
    #[wasm_bindgen(js_name = pickJson)]
    pub fn pick_json(rows: &js_sys::Array, cols: &js_sys::Array) -> String;
    #[wasm_bindgen(catch, js_name = jsonText)]
    fn json_text(v: &JsValue, nulls: bool) -> Result<String, JsValue>;
    /// The distinct keys `column` of `rows` holds (`$expand`'s keyed read).
    #[wasm_bindgen(js_name = lookupKeys)]
    pub fn lookup_keys(rows: &js_sys::Array, column: &str) -> js_sys::Array;
    /// `rows` projected onto `cols` (null: all), each with its lookups set (`navs`).
    #[wasm_bindgen(js_name = withLookups)]
    pub fn with_lookups(
        rows: &js_sys::Array,
        cols: &JsValue,
        navs: &js_sys::Array,
    ) -> js_sys::Array;
    /// `rows` at the indexes in `order`, projected onto `cols` when given.
    pub fn gather(
        rows: &js_sys::Array,
        order: &js_sys::Uint32Array,
        cols: &JsValue,
    ) -> js_sys::Array;
}

#[wasm_bindgen(module = "/src/storage/put_rows.js")]
extern "C" {
    /// Puts `rows[at[i]]` into `store` (an `IDBObjectStore` keyed by `key_col`), in order,
    /// and gives their keys: the download's hot loop, in JS where the rows are (one call
    /// per page, not one crossing per row). Throws what `put` throws.
    #[wasm_bindgen(catch, js_name = putRows)]
    pub fn put_rows(
        store: &JsValue,
        rows: &js_sys::Array,
        at: &js_sys::Uint32Array,
        key_col: &str,
    ) -> Result<js_sys::Array, JsValue>;
}

/// `v` read as `T` through its JSON text: `JSON.stringify` in the page, then serde_json
/// into a `Value` and `FromValue`. The way rows (and app input such as
/// queries and profiles) cross into Rust: one stringify beats a JS call per field on
/// large reads, and undefined columns drop out exactly as they do on the wire. `nulls`:
/// undefined reads as null (for app input such as queries), not as a missing field.
pub fn from_js<T: FromValue>(v: &JsValue, nulls: bool) -> std::result::Result<T, String> {
    let text = json_text(v, nulls).map_err(|e| json_error(&e))?;
    wire::from_str(&text).map_err(|e| e.to_string())
}

/// The message of what `JSON.parse` or `JSON.stringify` threw.
pub fn json_error(thrown: &JsValue) -> String {
    thrown
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| "not JSON".into())
}

/// `v` (rows, pages of rows) as JavaScript values through its JSON text (`JSON.parse`):
/// one parse for a whole page, not one conversion per field.
pub fn rows_to_js<T: serde::Serialize>(v: &T, ctx: &str) -> crate::error::Result<JsValue> {
    let text = serde_json::to_string(v)
        .map_err(|_| crate::error::Error::storage(format!("{ctx}: a row does not serialize")))?;
    js_sys::JSON::parse(&text).map_err(|e| crate::error::Error::from_js(&e, ctx))
}
