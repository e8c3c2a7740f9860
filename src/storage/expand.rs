//! `$expand` for the fetch interceptor (protocol.md §8, core `expand`): a page of rows
//! given the related rows their lookups name, read from the local store by key, one
//! `getMany` per lookup, so an answer costs what its page costs. The local store holds
//! exactly the rows of the caller's scope, so a lookup the server would answer `null`
//! (a row the caller does not see, or none) finds nothing here either.

use super::js::{lookup_keys, with_lookups};
use super::read::columns_js;
use super::Db;
use crate::error::Result;
use js_sys::{Array, Object, Reflect};
use offline_tables_core::expand::Expand;
use wasm_bindgen::prelude::*;

impl Db {
    /// `rows` (whole rows, as stored) projected onto `select`, each with a property per
    /// `expand` holding its related row (projected onto the expand's `$select`) or null.
    pub async fn expand(
        &self,
        rows: &Array,
        select: Option<&[String]>,
        expand: &[Expand],
    ) -> Result<Array> {
        let navs = Array::new();
        for e in expand {
            let keys = lookup_keys(rows, &e.column);
            let found = match keys.length() {
                0 => Array::new(),
                _ => self.get_rows(&e.table, &keys).await?,
            };
            // A fresh plain object: setting its properties cannot throw.
            let nav = Object::new();
            for (k, v) in [
                ("name", JsValue::from_str(&e.name)),
                ("column", JsValue::from_str(&e.column)),
                ("keys", keys.into()),
                ("found", found.into()),
                ("cols", columns_js(e.select.as_deref())),
            ] {
                let _ = Reflect::set(&nav, &k.into(), &v);
            }
            navs.push(&nav);
        }
        Ok(with_lookups(rows, &columns_js(select), &navs))
    }
}
