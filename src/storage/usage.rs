//! What the store holds, for a status page (`store.usage()`, which adds the browser's own
//! estimate of the origin's storage): rows and their bytes per table, and each table's
//! last complete pull, and the files kept and queued for upload (`files`). Read in one transaction; the bytes are those of the rows as JSON (what a
//! table costs the app, not IndexedDB's overhead), so this reads every row: a status
//! page's call, not a hot path.

use super::checkpoints::LAST_PULL;
use super::tx::{meta_get, or_undefined};
use super::{Db, META};
use crate::error::Result;
use indexed_db_futures::prelude::*;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

impl Db {
    /// `{ tables: { [name]: { rows, bytes } }, lastSyncAt: { [name]: ms },
    /// files: { count, bytes, pending } }`.
    pub async fn usage(&self) -> Result<JsValue> {
        let ctx = "reading the storage used";
        let profile = self.profile();
        let names: Vec<&str> = profile.tables.keys().map(String::as_str).collect();
        let mut stores = names.clone();
        stores.push(META);
        let conn = self.conn()?;
        let tx = self.tx(&conn, &stores, false, ctx)?;
        let last = meta_get(&tx.store(META)?, LAST_PULL).map_err(|e| tx.fail(e))?;
        let mut reads = Vec::new();
        for t in &names {
            let req = tx
                .store(t)?
                .get_all::<JsValue>()
                .primitive()
                .map_err(|e| tx.fail(e))?;
            reads.push(req);
        }
        let tables = Object::new();
        for (t, req) in names.iter().zip(reads) {
            let rows = js_sys::Array::new();
            for r in req.await.map_err(|e| tx.fail(e))? {
                rows.push(&r.map_err(|e| tx.fail(e))?);
            }
            let bytes = js_sys::JSON::stringify(&rows)
                .map(|s| s.length())
                .unwrap_or(0);
            // `[` and `]`, and a comma between rows: not the rows'.
            let bytes = bytes.saturating_sub(1 + rows.length().max(1));
            let entry = Object::new();
            let _ = Reflect::set(&entry, &"rows".into(), &rows.length().into());
            let _ = Reflect::set(&entry, &"bytes".into(), &bytes.into());
            let _ = Reflect::set(&tables, &(*t).into(), &entry);
        }
        let last = or_undefined(tx.wait(last).await?);
        let out = Object::new();
        let _ = Reflect::set(&out, &"tables".into(), &tables);
        let last_sync = if last.is_undefined() {
            Object::new().into()
        } else {
            last
        };
        let _ = Reflect::set(&out, &"lastSyncAt".into(), &last_sync);
        drop(tx);
        let files = self.file_counts(true).await?;
        let _ = Reflect::set(&out, &"files".into(), &files);
        Ok(out.into())
    }
}
