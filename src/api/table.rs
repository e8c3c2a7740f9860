//! `Table`: reads and writes of one table of the profile.

use super::promise;
use crate::driver::sync::Syncer;
use crate::storage::files::field;
use crate::storage::Db;
use js_sys::{Array, Promise};
use offline_tables_core::profile::Download;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// One table of the offline profile. Every method returns a promise; a rejected one
/// carries an `Error` with a stable `code`.
#[wasm_bindgen]
pub struct Table {
    pub(super) db: Rc<Db>,
    pub(super) name: String,
    /// The store's syncer (for `getFile` of a `download: "view"` column).
    syncer: Option<Rc<Syncer>>,
}

impl Table {
    pub(crate) fn new(db: Rc<Db>, name: &str, syncer: Option<Rc<Syncer>>) -> Table {
        Table {
            db,
            name: name.to_string(),
            syncer,
        }
    }
}

#[wasm_bindgen]
impl Table {
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The row with `key`, or undefined.
    #[wasm_bindgen(unchecked_return_type = "Promise<Row | undefined>")]
    pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            db.get_row(&t, &key).await
        })
    }

    /// Inserts `row`: `conflict` if a row with its key exists. On a table whose keys the
    /// server assigns (`keyAssigned: "server"`), leave the key out: the row gets a
    /// temporary key (set on `row` too), replaced by the server's when it is pushed.
    /// Resolves to the key.
    #[wasm_bindgen(unchecked_return_type = "Promise<Key>")]
    pub fn insert(&self, #[wasm_bindgen(unchecked_param_type = "Row")] row: JsValue) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            db.insert_row(&t, &row).await
        })
    }

    /// The rows with `keys`, in order (undefined where missing).
    #[wasm_bindgen(js_name = getMany, unchecked_return_type = "Promise<(Row | undefined)[]>")]
    pub fn get_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key[]")] keys: JsValue,
    ) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            Ok(db.get_rows(&t, &keys).await?.into())
        })
    }

    /// Inserts or replaces `row`; resolves to its key.
    #[wasm_bindgen(unchecked_return_type = "Promise<Key>")]
    pub fn put(&self, #[wasm_bindgen(unchecked_param_type = "Row")] row: JsValue) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            let keys = db.put_rows(&t, &Array::of1(&row).into(), "put").await?;
            Ok(keys.get(0))
        })
    }

    /// Inserts or replaces `rows` in one transaction: all of them or none.
    #[wasm_bindgen(js_name = bulkPut, unchecked_return_type = "Promise<void>")]
    pub fn bulk_put(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Row[]")] rows: JsValue,
    ) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            db.put_rows(&t, &rows, "bulkPut").await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Merges `patch` into the row with `key` (an undefined value removes a column);
    /// resolves to the new row. Rejects with `not_found` when there is no such row.
    #[wasm_bindgen(unchecked_return_type = "Promise<Row>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Partial<Row>")] patch: JsValue,
    ) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            let row = db.update_row(&t, &key, &patch).await?;
            Ok(row)
        })
    }

    /// Deletes the row with `key` (a missing row is not an error).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn delete(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            db.delete_rows(&t, &Array::of1(&key).into(), "delete")
                .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Deletes the rows with `keys` in one transaction.
    #[wasm_bindgen(js_name = bulkDelete, unchecked_return_type = "Promise<void>")]
    pub fn bulk_delete(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key[]")] keys: JsValue,
    ) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            db.delete_rows(&t, &keys, "bulkDelete").await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The rows matching `q` (a query object or an OData string), ordered by
    /// `orderBy` then key. Uses an index when the query allows it.
    #[wasm_bindgen(unchecked_return_type = "Promise<Row[]>")]
    pub fn query(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "Query")] q: Option<JsValue>,
    ) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            let q = super::convert::query(q.unwrap_or_default())?;
            Ok(db.query_rows(&t, &q).await?.into())
        })
    }

    /// How many rows match `q` (after its offset and limit).
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn count(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "Query")] q: Option<JsValue>,
    ) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            let q = super::convert::query(q.unwrap_or_default())?;
            Ok(JsValue::from(db.count_rows(&t, &q).await?))
        })
    }

    /// Sync state of the row with `key`: `{ version, pending, deleted }`, or undefined
    /// when the row is unknown. No hidden fields are ever added to rows themselves.
    #[wasm_bindgen(unchecked_return_type = "Promise<RowMeta | undefined>")]
    pub fn meta(&self, #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            Ok(match db.meta(&t, &key).await? {
                Some(m) => super::convert::to_js(&m)?,
                None => JsValue::UNDEFINED,
            })
        })
    }

    /// Attaches `blob` (a Blob or File) to the row `key` in the file column `column`: in
    /// one transaction the row's column becomes its `FileMeta` (a write pushed as any),
    /// the bytes are kept here and their upload is queued. Rejects with
    /// `invalid_argument` (not a file column, not a Blob), `not_found` (no such row) or
    /// `payload_too_large` (above the column's `maxBytes`; nothing is stored).
    #[wasm_bindgen(js_name = putFile, unchecked_return_type = "Promise<FileMeta>")]
    pub fn put_file(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        column: String,
        #[wasm_bindgen(unchecked_param_type = "Blob")] blob: JsValue,
    ) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            db.put_file(&t, &key, &column, &blob).await
        })
    }

    /// The file in `column` of the row `key`: the local bytes when they are those the
    /// row names; else, for a `download: "view"` column, fetched from the server (and
    /// kept) when it answers; else undefined.
    #[wasm_bindgen(js_name = getFile, unchecked_return_type = "Promise<Blob | undefined>")]
    pub fn get_file(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        column: String,
    ) -> Promise {
        let (db, t, syncer) = (self.db.clone(), self.name.clone(), self.syncer.clone());
        promise(async move {
            db.ready().await;
            let def = db.file_column(&t, &key, &column, "getFile")?;
            let found = db.read_file(&t, &key, &column).await?;
            let (blob, meta) = (field(&found, "blob"), field(&found, "meta"));
            if !blob.is_undefined() || meta.is_undefined() {
                return Ok(blob);
            }
            match (&syncer, def.download) {
                (Some(s), Download::View) => Ok(s.view_file(&t, &key, &column, &meta).await),
                _ => Ok(JsValue::UNDEFINED),
            }
        })
    }

    /// Clears `column` of the row `key` (a write pushed as any), drops the local bytes
    /// and queues the server's delete. Rejects with `not_found` when there is no such row.
    #[wasm_bindgen(js_name = deleteFile, unchecked_return_type = "Promise<void>")]
    pub fn delete_file(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Key")] key: JsValue,
        column: String,
    ) -> Promise {
        let (db, t) = (self.db.clone(), self.name.clone());
        promise(async move {
            db.ready().await;
            db.delete_file(&t, &key, &column).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
