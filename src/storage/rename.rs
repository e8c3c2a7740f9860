//! Temporary keys replaced by the server's: when a push settles an insert whose key the
//! server assigned, the same transaction moves the row to its real key and rewrites
//! everything that named the temporary one: the row's base and logged writes, the
//! columns of other rows that point at it (the profile's `references` and `related`
//! scopes, `Profile::references_to`), their bases, and its file cells. It also records
//! the rename in `_meta.renamed`, so a `get` of the temporary key still finds the row
//! (the app may hold it), and the change event says `renamed: [{ from, to }]`.

use super::outbox::read_log;
use super::records::{self, base_key, key_js, OutboxRecord};
use super::tx::{delete, get, meta_get, put, put_at, Tx};
use super::{Db, Touched, BASE, META, OUTBOX};
use crate::driver::events::{Emitter, Source};
use crate::error::{Error, FromJs, Result};
use js_sys::{Array, Object, Promise, Reflect};
use offline_tables_core::Key;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// How many renames `_meta.renamed` remembers (the oldest go first).
const REMEMBERED: u32 = 1000;

#[wasm_bindgen(module = "/src/storage/rename.js")]
extern "C" {
    #[wasm_bindgen(js_name = rewriteReferences)]
    fn rewrite_references(
        tx: &JsValue,
        table: &str,
        column: &str,
        from: &JsValue,
        to: &JsValue,
    ) -> Promise;
    #[wasm_bindgen(js_name = renameFiles)]
    fn rename_files(tx: &JsValue, table: &str, from: &JsValue, to: &JsValue) -> Promise;
}

/// A temporary key of `table` and the key the server gave the row.
#[derive(Debug, Clone, PartialEq)]
pub struct Rename {
    pub table: String,
    pub from: Key,
    pub to: Key,
}

async fn wait(p: Promise, ctx: &str) -> Result<JsValue> {
    JsFuture::from(p).await.map_err(|e| Error::from_js(&e, ctx))
}

/// `obj.column = value` on a row read from IndexedDB (a fresh object).
fn set(obj: &JsValue, column: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &column.into(), value);
}

/// Carries out `renames` in `tx` (over every store), adding the rows of other tables it
/// rewrites to `touched` (the renamed rows themselves are `emit`'s).
pub(super) async fn apply(
    db: &Db,
    tx: &Tx<'_>,
    renames: &[Rename],
    touched: &mut Touched,
) -> Result<()> {
    if renames.is_empty() {
        return Ok(());
    }
    let ctx = tx.context().to_string();
    let fail = |e| tx.fail(e);
    let profile = db.profile();
    let (bases, meta, outbox) = (tx.store(BASE)?, tx.store(META)?, tx.store(OUTBOX)?);
    let log = read_log(tx, &outbox).await?;
    for r in renames {
        let (from, to) = (key_js(&r.from), key_js(&r.to));
        let key_col = db.table(&r.table)?.key;
        // The row itself, if it is still here (a later local delete may have removed it).
        let rows = tx.store(&r.table)?;
        if let Some(row) = tx.wait(get(&rows, &from).map_err(fail)?).await? {
            set(&row, &key_col, &to);
            delete(&rows, &from).map_err(fail)?;
            put(&rows, &row).map_err(fail)?;
        }
        // Its base, with the row it holds.
        let old_bk = base_key(&r.table, &from);
        if let Some(base) = tx.wait(get(&bases, &old_bk).map_err(fail)?).await? {
            let row = Reflect::get(&base, &"row".into()).unwrap_or_default();
            if row.is_object() {
                set(&row, &key_col, &to);
            }
            delete(&bases, &old_bk).map_err(fail)?;
            put_at(&bases, &base, &base_key(&r.table, &to)).map_err(fail)?;
        }
        // Writes logged on it since the push froze.
        for e in log
            .iter()
            .filter(|e| e.table == r.table && e.keys.contains(&r.from))
        {
            let keys: Array = e
                .keys
                .iter()
                .map(|k| if *k == r.from { to.clone() } else { key_js(k) })
                .collect();
            let entry = OutboxRecord {
                seq: Some(e.seq),
                t: &e.table,
                k: keys.into(),
                op: "put",
                u: e.unit.as_deref(),
            };
            put(&outbox, &records::to_js(&entry, &ctx)?).map_err(fail)?;
        }
        // Rows of other tables that point at it, and the bases that hold them.
        for (table, column) in profile.references_to(&r.table) {
            if !profile.tables.contains_key(table) {
                continue;
            }
            let rewritten = wait(
                rewrite_references(&tx.raw(), table, column, &from, &to),
                &ctx,
            )
            .await?;
            let child_key = db.table(table)?.key;
            for row in Array::from(&rewritten).iter() {
                let k = Reflect::get(&row, &child_key.as_str().into()).unwrap_or_default();
                touched.add(table, &k);
                let bk = base_key(table, &k);
                if let Some(base) = tx.wait(get(&bases, &bk).map_err(fail)?).await? {
                    let held = Reflect::get(&base, &"row".into()).unwrap_or_default();
                    let names_from = held.is_object()
                        && Reflect::get(&held, &column.into())
                            .is_ok_and(|v| js_sys::Object::is(&v, &from));
                    if names_from {
                        set(&held, column, &to);
                        put_at(&bases, &base, &bk).map_err(fail)?;
                    }
                }
            }
        }
        wait(rename_files(&tx.raw(), &r.table, &from, &to), &ctx).await?;
    }
    remember(tx, &meta, renames).await
}

/// Appends `renames` to `_meta.renamed` (`[table, from, to]` triples), keeping the last
/// `REMEMBERED`.
async fn remember(
    tx: &Tx<'_>,
    meta: &indexed_db_futures::object_store::ObjectStore<'_>,
    renames: &[Rename],
) -> Result<()> {
    let fail = |e| tx.fail(e);
    let stored = tx.wait(meta_get(meta, "renamed").map_err(fail)?).await?;
    let list: Array = stored.map(|v| Array::from(&v)).unwrap_or_default();
    for r in renames {
        list.push(&Array::of3(
            &r.table.as_str().into(),
            &key_js(&r.from),
            &key_js(&r.to),
        ));
    }
    let extra = list.length().saturating_sub(REMEMBERED);
    let list = list.slice(extra, list.length());
    put_at(meta, &list, &"renamed".into()).map_err(fail)
}

impl Db {
    /// The key the server gave the row whose temporary key was `key`, if it did.
    pub(crate) async fn renamed_to(&self, table: &str, key: &JsValue) -> Result<Option<JsValue>> {
        let ctx = "reading renamed keys";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[META], false, ctx)?;
        let stored = tx
            .wait(meta_get(&tx.store(META)?, "renamed").map_err(|e| tx.fail(e))?)
            .await?;
        let Some(list) = stored else { return Ok(None) };
        Ok(Array::from(&list).iter().rev().find_map(|t| {
            let t = Array::from(&t);
            (t.get(0).as_string().as_deref() == Some(table) && Object::is(&t.get(1), key))
                .then(|| t.get(2))
        }))
    }
}

/// Tells listeners, per table, which temporary keys were replaced:
/// `{ table, keys: [from, to, ...], source: "remote", renamed: [{ from, to }] }`.
pub(super) fn emit(events: &Emitter, renames: &[Rename]) {
    let mut tables: Vec<&str> = renames.iter().map(|r| r.table.as_str()).collect();
    tables.dedup();
    for t in tables {
        let keys = Array::new();
        let pairs = Array::new();
        for r in renames.iter().filter(|r| r.table == t) {
            let (from, to) = (key_js(&r.from), key_js(&r.to));
            keys.push(&from);
            keys.push(&to);
            let pair = Object::new();
            set(&pair, "from", &from);
            set(&pair, "to", &to);
            pairs.push(&pair);
        }
        events.emit_renamed(t, &keys, Source::Remote, &pairs);
    }
}
