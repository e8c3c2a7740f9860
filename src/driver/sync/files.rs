//! The sync cycle's file transfers (protocol.md §11): the queued uploads and deletes,
//! sent once the push phase is over (a row's change pushed and applied before its file
//! goes), and after a complete pull the downloads of `download: "sync"` columns.

use super::Syncer;
use crate::driver::leadership::Message;
use crate::storage::files::field;
use offline_tables_core::profile::Download;
use serde_json::{json, Value};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// A JS key (a string or a number) as JSON.
fn key_json(k: &JsValue) -> Value {
    match k.as_string() {
        Some(s) => Value::String(s),
        None => k.as_f64().map_or(Value::Null, |n| json!(n)),
    }
}

impl Syncer {
    /// Sends the queued uploads whose rows have nothing pending. `200`/`201` (and `204`
    /// for a delete) end one; `409` (the row names another file now) and `404` (the row
    /// is gone) drop it; `413` ends it as a sync error; no answer stops here (offline);
    /// anything else leaves it queued for the next cycle. One's failure never stops the
    /// others.
    pub(super) async fn send_uploads(self: &Rc<Self>) {
        let Ok(queue) = self.db.ready_uploads().await else {
            return;
        };
        if queue.length() == 0 {
            return;
        }
        for u in queue.iter() {
            let (Some(table), Some(column), Some(op)) = (
                field(&u, "table").as_string(),
                field(&u, "column").as_string(),
                field(&u, "op").as_string(),
            ) else {
                continue;
            };
            let key = field(&u, "key");
            let put = op == "put";
            let answer = self
                .server
                .file(
                    if put { "PUT" } else { "DELETE" },
                    (&table, &key, &column),
                    &field(&u, "blob"),
                    &field(&u, "hash"),
                    &field(&u, "type"),
                )
                .await;
            let status = field(&answer, "status").as_f64().unwrap_or(0.0) as u16;
            let error = match (put, status) {
                (_, 0) => break,
                (true, 200 | 201 | 404 | 409) | (false, 200..=299 | 404) => None,
                (true, 413) => Some(json!({
                    "table": table,
                    "key": key_json(&key),
                    "column": column,
                    "op": "file",
                    "row": null,
                    "reason": "payload_too_large",
                    "message": format!(
                        "the server refused the file of '{column}': larger than it accepts (413)"
                    ),
                })),
                _ => continue,
            };
            let entry = match &error {
                Some(e) => {
                    crate::api::convert::to_js(&crate::api::convert::Json(e)).unwrap_or_default()
                }
                None => JsValue::UNDEFINED,
            };
            if self.db.upload_done(&u, &entry).await.is_err() {
                break;
            }
            if let Some(e) = &error {
                self.board.pushed(0, 0, 1);
                self.announce(&self.error_events, Message::SyncError, e);
            }
        }
        self.refresh_counts();
    }

    /// After a complete pull of `tables` (None: every table): downloads the files of
    /// `download: "sync"` columns that the rows name and the store lacks. A failed
    /// download is tried again after the next pull; no answer stops them all (offline).
    pub(super) async fn fetch_files(&self, tables: Option<&[String]>) {
        let profile = self.db.profile();
        for (name, def) in &profile.tables {
            if tables.is_some_and(|t| !t.contains(name)) {
                continue;
            }
            let cols: Vec<&String> = def
                .files
                .iter()
                .filter(|(_, f)| f.download == Download::Sync)
                .map(|(c, _)| c)
                .collect();
            if cols.is_empty() {
                continue;
            }
            let Ok(list) = self.db.files_to_fetch(name, &cols).await else {
                continue;
            };
            for cell in list.iter() {
                let (key, meta) = (field(&cell, "key"), field(&cell, "meta"));
                let Some(column) = field(&cell, "column").as_string() else {
                    continue;
                };
                let none = JsValue::UNDEFINED;
                let answer = self
                    .server
                    .file("GET", (name, &key, &column), &none, &none, &none)
                    .await;
                match field(&answer, "status").as_f64().unwrap_or(0.0) as u16 {
                    0 => return,
                    200 => {
                        let blob = field(&answer, "blob");
                        let _ = self.db.keep_file(name, &key, &column, &meta, &blob).await;
                    }
                    _ => {}
                }
            }
        }
    }

    /// `getFile` of a `download: "view"` column without local bytes: GETs them, keeps
    /// them (when the row still names them) and gives them; undefined without an answer.
    pub async fn view_file(
        &self,
        table: &str,
        key: &JsValue,
        column: &str,
        meta: &JsValue,
    ) -> JsValue {
        let none = JsValue::UNDEFINED;
        let answer = self
            .server
            .file("GET", (table, key, column), &none, &none, &none)
            .await;
        if field(&answer, "status").as_f64() != Some(200.0) {
            return none;
        }
        let blob = field(&answer, "blob");
        let _ = self.db.keep_file(table, key, column, meta, &blob).await;
        blob
    }
}
