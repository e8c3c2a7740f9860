//! The sync cycle's file transfers (protocol.md §11): the queued uploads and deletes,
//! sent once the push phase is over (a row's change pushed and applied before its file
//! goes), and after a complete pull the downloads of `download: "sync"` columns. The
//! loops are in JavaScript (`storage/files.js`, `transport/files.js`), where the blobs
//! are; each step here is one call.

use super::Syncer;
use crate::driver::leadership::Message;
use js_sys::{Array, Object, Reflect};
use offline_tables_core::profile::Download;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

impl Syncer {
    /// Sends the queued uploads whose rows have nothing pending, then settles them in
    /// one transaction (`settleUploads` says which answers end one); a `413` is a sync
    /// error, announced as a refused push is. One's failure never stops the others.
    pub(super) async fn send_uploads(self: &Rc<Self>) {
        let Ok(queue) = self.db.ready_uploads().await else {
            return;
        };
        if queue.length() == 0 {
            return;
        }
        let statuses = self.server.send_files(&queue).await;
        if let Ok(errors) = self.db.settle_uploads(&queue, &statuses).await {
            for e in errors.iter() {
                self.board.pushed(0, 0, 1);
                self.error_events.emit_value(&e);
                self.leadership.post(Message::SyncError(e));
            }
        }
        self.refresh_counts();
    }

    /// After a complete pull of `tables` (None: every table): drops the local bytes no
    /// row names any more, and downloads the files of `download: "sync"` columns that the
    /// rows name and the store lacks. A failed download is tried again after the next pull.
    /// During the first download (`initial`), the files count in its progress.
    pub(super) async fn fetch_files(&self, tables: Option<&[String]>, initial: bool) {
        let profile = self.db.profile();
        let specs = Array::new();
        for (name, def) in &profile.tables {
            if tables.is_some_and(|t| !t.contains(name)) {
                continue;
            }
            let (cols, all) = (Array::new(), Array::new());
            for (c, f) in &def.files {
                all.push(&c.into());
                if f.download == Download::Sync {
                    cols.push(&c.into());
                }
            }
            if all.length() > 0 {
                let spec = Array::of4(&name.into(), &def.key.as_str().into(), &cols, &all);
                specs.push(&spec);
            }
        }
        if specs.length() == 0 {
            return;
        }
        let Ok(cells) = self.db.files_to_fetch(&specs).await else {
            return;
        };
        let total = cells.length() as u64;
        if initial {
            self.board.files_progress(0, total);
            self.publish();
        }
        if total > 0 {
            let answers = self.server.get_files(&cells).await;
            let kept = self.db.keep_files(&cells, &answers).await.is_ok();
            if initial {
                // An answer with bytes is a file downloaded (`files.js`, `getFiles`).
                let got = answers
                    .iter()
                    .filter(|a| {
                        js_sys::Reflect::get(a, &"blob".into()).is_ok_and(|b| !b.is_undefined())
                    })
                    .count() as u64;
                self.board.files_progress(if kept { got } else { 0 }, total);
            }
        }
    }

    /// `getFile` of a `download: "view"` column without local bytes: GETs them, keeps
    /// them (when the row still names them) and gives them; undefined without them.
    pub async fn view_file(
        &self,
        table: &str,
        key: &JsValue,
        column: &str,
        meta: &JsValue,
    ) -> JsValue {
        let cell = Object::new();
        for (k, v) in [
            ("table", &JsValue::from_str(table)),
            ("key", key),
            ("column", &JsValue::from_str(column)),
            ("meta", meta),
        ] {
            let _ = Reflect::set(&cell, &k.into(), v);
        }
        let cells = Array::of1(&cell);
        let answers = self.server.get_files(&cells).await;
        let _ = self.db.keep_files(&cells, &answers).await;
        let answer = answers.get(0);
        match crate::storage::files::field(&answer, "status").as_f64() {
            Some(200.0) => crate::storage::files::field(&answer, "blob"),
            _ => JsValue::UNDEFINED,
        }
    }
}
