//! File columns, locally (protocol.md §11): a file put or cleared in one transaction with
//! its row's logged write and its queued upload, and the bindings to `files.js`, which
//! keeps the blobs (`_files`) and the upload queue (`_uploads`) over the raw database.

use super::write::{read_checked, write_logged, Expect};
use super::{js, Db, BASE, META, OUTBOX};
use crate::driver::events::LocalWrite;
use crate::error::{Error, FromJs, Result};
use js_sys::{Array, Object, Promise, Reflect};
use offline_tables_core::ErrorCode;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The blobs of file cells, keyed `[table, key, column]`.
pub(crate) const FILES: &str = "_files";
/// The queued uploads and deletes of file cells, keyed as `_files`.
pub(crate) const UPLOADS: &str = "_uploads";

#[wasm_bindgen(module = "/src/storage/files.js")]
extern "C" {
    #[wasm_bindgen(js_name = fileMeta)]
    fn file_meta(blob: &JsValue) -> Promise;
    #[wasm_bindgen(catch, js_name = queuePut)]
    fn queue_put(
        tx: &JsValue,
        table: &str,
        key: &JsValue,
        column: &str,
        meta: &JsValue,
        blob: &JsValue,
    ) -> std::result::Result<(), JsValue>;
    #[wasm_bindgen(catch, js_name = queueDelete)]
    fn queue_delete(
        tx: &JsValue,
        table: &str,
        key: &JsValue,
        column: &str,
    ) -> std::result::Result<(), JsValue>;
    #[wasm_bindgen(js_name = readFile)]
    fn read_file(db: &JsValue, table: &str, key: &JsValue, column: &str) -> Promise;
    #[wasm_bindgen(js_name = keepFiles)]
    fn keep_files(db: &JsValue, cells: &Array, answers: &Array) -> Promise;
    #[wasm_bindgen(js_name = readyUploads)]
    fn ready_uploads(db: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = settleUploads)]
    fn settle_uploads(db: &JsValue, queue: &Array, statuses: &Array) -> Promise;
    #[wasm_bindgen(js_name = filesToFetch)]
    fn files_to_fetch(db: &JsValue, specs: &Array) -> Promise;
    #[wasm_bindgen(js_name = fileResponse)]
    fn file_response(db: &JsValue, files: &str, url: &str) -> Promise;
    #[wasm_bindgen(js_name = fileCounts)]
    fn file_counts(db: &JsValue, kept: bool) -> Promise;
}

/// Awaits a promise of `files.js`, its rejection sorted as IndexedDB's.
async fn wait(p: Promise, ctx: &str) -> Result<JsValue> {
    JsFuture::from(p).await.map_err(|e| Error::from_js(&e, ctx))
}

/// `v.name` (undefined when missing).
pub(crate) fn field(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &name.into()).unwrap_or_default()
}

impl Db {
    /// The raw `IDBDatabase`, for `files.js`.
    fn raw_db(&self) -> Result<JsValue> {
        use indexed_db_futures::internals::SystemRepr;
        Ok(self.conn()?.as_sys().clone().into())
    }

    /// Checks that `column` is a file column of `table` and `key` a key; its definition.
    pub fn file_column(
        &self,
        table: &str,
        key: &JsValue,
        column: &str,
        what: &str,
    ) -> Result<offline_tables_core::profile::FileDef> {
        let def = self.table(table)?;
        super::write::check_key(key, &format!("{what}: key"))?;
        def.files.get(column).cloned().ok_or_else(|| {
            Error::invalid_argument(format!(
                "{what} on '{table}': '{column}' is not a file column of the table (profile files)"
            ))
        })
    }

    /// `putFile`: hashes `blob`, and in one transaction sets the row's `column` to its
    /// metadata (a logged write, pushed as any), keeps the blob and queues its upload.
    pub async fn put_file(
        &self,
        table: &str,
        key: &JsValue,
        column: &str,
        blob: &JsValue,
    ) -> Result<JsValue> {
        let ctx = format!("putFile on '{table}'");
        self.writable(table, "putFile")?;
        let def = self.file_column(table, key, column, "putFile")?;
        let meta = wait(file_meta(blob), &ctx).await?;
        if let Some(problem) = meta.as_string() {
            return Err(Error::invalid_argument(format!("{ctx}: {problem}")));
        }
        let size = field(&meta, "size").as_f64().unwrap_or(0.0);
        if size > def.max_bytes as f64 {
            return Err(Error::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "{ctx}: the file has {size} bytes, above the column's maxBytes ({})",
                    def.max_bytes
                ),
            ));
        }
        self.write_cell(table, key, column, &meta, Some(blob), &ctx)
            .await?;
        Ok(meta)
    }

    /// `deleteFile`: clears the row's `column` (a logged write), drops the local blob and
    /// queues the server's DELETE, in one transaction.
    pub async fn delete_file(&self, table: &str, key: &JsValue, column: &str) -> Result<()> {
        let ctx = format!("deleteFile on '{table}'");
        self.writable(table, "deleteFile")?;
        self.file_column(table, key, column, "deleteFile")?;
        self.write_cell(table, key, column, &JsValue::NULL, None, &ctx)
            .await
    }

    async fn write_cell(
        &self,
        table: &str,
        key: &JsValue,
        column: &str,
        meta: &JsValue,
        blob: Option<&JsValue>,
        ctx: &str,
    ) -> Result<()> {
        let conn = self.conn()?;
        let tx = self.tx(
            &conn,
            &[table, OUTBOX, BASE, META, FILES, UPLOADS],
            true,
            ctx,
        )?;
        let store = tx.store(table)?;
        let keys = Array::of1(key);
        let written = match read_checked(&tx, &store, key, ctx, Expect::Present).await {
            Ok(current) => {
                let patch = Object::new();
                let _ = Reflect::set(&patch, &column.into(), meta);
                let row = js::merge_patch(&current, &patch);
                let raw = tx.raw();
                write_logged(&tx, &store, table, &keys, "update", &mut || {
                    super::tx::put(&store, &row).map_err(|e| tx.fail(e))?;
                    match blob {
                        Some(b) => queue_put(&raw, table, key, column, meta, b),
                        None => queue_delete(&raw, table, key, column),
                    }
                    .map_err(|e| Error::from_js(&e, ctx))
                })
                .await
            }
            Err(e) => Err(e),
        };
        drop(store);
        tx.commit_or_abort(written).await?;
        self.events.emit_local(table, &keys, LocalWrite::Other);
        Ok(())
    }

    /// `{ exists, meta, blob }` of a cell: the row's metadata, and the local blob when it
    /// is the one the row names.
    pub async fn read_file(&self, table: &str, key: &JsValue, column: &str) -> Result<JsValue> {
        let ctx = format!("getFile on '{table}'");
        wait(read_file(&self.raw_db()?, table, key, column), &ctx).await
    }

    /// Keeps the downloaded bytes `answers[i]` of `cells[i]` (`files.js`, `keepFiles`).
    pub async fn keep_files(&self, cells: &Array, answers: &Array) -> Result<()> {
        let p = keep_files(&self.raw_db()?, cells, answers);
        wait(p, "keeping downloaded files").await.map(drop)
    }

    /// The uploads whose rows have nothing pending (see `files.js`).
    pub async fn ready_uploads(&self) -> Result<Array> {
        let p = ready_uploads(&self.raw_db()?);
        Ok(wait(p, "reading the upload queue").await?.into())
    }

    /// Settles the uploads `queue` sent, answered `statuses`; the sync errors it added
    /// (`files.js`, `settleUploads`).
    pub async fn settle_uploads(&self, queue: &Array, statuses: &Array) -> Result<Array> {
        let p = settle_uploads(&self.raw_db()?, queue, statuses);
        Ok(wait(p, "settling uploads").await?.into())
    }

    /// The cells whose bytes are not here yet, of the tables and `download: "sync"`
    /// columns in `specs` (`[table, keyColumn, columns]`); drops the bytes no row names.
    pub async fn files_to_fetch(&self, specs: &Array) -> Result<Array> {
        let p = files_to_fetch(&self.raw_db()?, specs);
        Ok(wait(p, "listing the files to download").await?.into())
    }

    /// The interceptor's answer to a file GET under `files` (a `Response` with the local
    /// bytes), or undefined.
    pub async fn file_response(&self, files: &str, url: &str) -> JsValue {
        match self.raw_db() {
            Ok(db) => JsFuture::from(file_response(&db, files, url))
                .await
                .unwrap_or_default(),
            Err(_) => JsValue::UNDEFINED,
        }
    }

    /// `{ count, bytes, pending }` of the local files and queued uploads; without
    /// `kept`, `{ pending, pendingBytes }` of the queue only.
    pub async fn file_counts(&self, kept: bool) -> Result<JsValue> {
        wait(file_counts(&self.raw_db()?, kept), "counting files").await
    }
}
