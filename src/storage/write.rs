//! Local writes. Each write and its outbox entry commit in one transaction; rows go to
//! IndexedDB as the app's own JS objects (checked to be plain JSON first, never
//! converted), and the outbox logs only which keys changed, so a bulk write costs one
//! extra small record however many rows it holds. A synced row's first local write also
//! copies the server's row into its base (see `Base`).

use super::{js, wait, Db, Tx, BASE, META, OUTBOX};
use crate::driver::events::Source;
use crate::error::{Error, Result};
use js_sys::Array;
use offline_tables_core::ErrorCode;
use wasm_bindgen::prelude::*;

impl Db {
    fn writable(&self, table: &str, what: &str) -> Result<offline_tables_core::TableDef> {
        let def = self.table(table)?;
        if def.read_only {
            return Err(Error::new(
                ErrorCode::ReadOnly,
                format!("{what} on '{table}': the table is read-only in the offline profile"),
            ));
        }
        Ok(def)
    }

    /// Validates rows and returns their keys (as JS values, in order).
    fn keys_of(&self, rows: &JsValue, key_col: &str, what: &str) -> Result<Array> {
        let out = js::prepare_rows(rows, key_col, what);
        match out.as_string() {
            Some(problem) => Err(Error::invalid_argument(problem)),
            None => Ok(out.into()),
        }
    }

    /// Inserts or replaces rows in one transaction.
    pub async fn put_rows(&self, table: &str, rows: &JsValue, what: &str) -> Result<Array> {
        let def = self.writable(table, what)?;
        let keys = self.keys_of(rows, &def.key, if what == "put" { "row" } else { "rows" })?;
        let rows: &Array = rows.unchecked_ref();
        if rows.length() == 0 {
            return Ok(keys);
        }
        let ctx = format!("{what} on '{table}'");
        let tx = self.tx(&[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let written = write_logged(&tx, &store, table, &keys, "put", || {
            rows.iter().try_for_each(|row| store.put(&row).map(|_| ()))
        })
        .await;
        Self::commit_or_abort(tx, written).await?;
        self.events.emit(table, &keys, Source::Local);
        Ok(keys)
    }

    /// Inserts `row` unless a row with its key exists (`conflict`), checked in the same
    /// transaction as the write; resolves to its key.
    pub async fn insert_row(&self, table: &str, row: &JsValue) -> Result<JsValue> {
        let def = self.writable(table, "insert")?;
        let keys = self.keys_of(&Array::of1(row).into(), &def.key, "row")?;
        let key = keys.get(0);
        let ctx = format!("insert on '{table}'");
        let tx = self.tx(&[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let (tx, _) = read_checked(tx, &store, &key, &ctx, Expect::Missing).await?;
        let written = write_logged(&tx, &store, table, &keys, "put", || {
            store.put(row).map(|_| ())
        })
        .await;
        Self::commit_or_abort(tx, written).await?;
        self.events.emit(table, &keys, Source::Local);
        Ok(key)
    }

    /// Merges `patch` into the stored row and resolves to the new row.
    pub async fn update_row(&self, table: &str, key: &JsValue, patch: &JsValue) -> Result<JsValue> {
        let def = self.writable(table, "update")?;
        check_key(key, "update: key")?;
        if let Some(problem) = js::check_json(patch, "patch") {
            return Err(Error::invalid_argument(format!(
                "update on '{table}': {problem}"
            )));
        }
        let new_key = js_sys::Reflect::get(patch, &JsValue::from_str(&def.key)).unwrap_or_default();
        if !new_key.is_undefined() && !js_sys::Object::is(&new_key, key) {
            return Err(Error::invalid_argument(format!(
                "update on '{table}': patch.{} would change the key; delete the row and put a new one",
                def.key
            )));
        }
        let ctx = format!("update on '{table}'");
        let tx = self.tx(&[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let (tx, current) = read_checked(tx, &store, key, &ctx, Expect::Present).await?;
        let row = js::merge_patch(&current, patch);
        let keys = Array::of1(key);
        let written = write_logged(&tx, &store, table, &keys, "update", || {
            store.put(&row).map(|_| ())
        })
        .await;
        Self::commit_or_abort(tx, written).await?;
        self.events.emit(table, &keys, Source::Local);
        Ok(row)
    }

    /// Deletes the row with `key`, or fails with `not_found` when there is none, checked
    /// in the same transaction as the delete.
    pub async fn delete_existing(&self, table: &str, key: &JsValue) -> Result<()> {
        self.writable(table, "delete")?;
        check_key(key, "delete: key")?;
        let ctx = format!("delete on '{table}'");
        let tx = self.tx(&[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let (tx, _) = read_checked(tx, &store, key, &ctx, Expect::Present).await?;
        let keys = Array::of1(key);
        let written = write_logged(&tx, &store, table, &keys, "delete", || {
            store.delete(key).map(|_| ())
        })
        .await;
        Self::commit_or_abort(tx, written).await?;
        self.events.emit(table, &keys, Source::Local);
        Ok(())
    }

    /// Deletes rows by key in one transaction (missing rows are fine).
    pub async fn delete_rows(&self, table: &str, keys: &JsValue, what: &str) -> Result<()> {
        self.writable(table, what)?;
        let keys: Array = match keys.dyn_ref::<Array>() {
            Some(a) => a.clone(),
            None => {
                return Err(Error::invalid_argument(format!(
                    "{what}: keys must be an array"
                )))
            }
        };
        for (i, k) in keys.iter().enumerate() {
            let label = if what == "delete" {
                "delete: key".to_string()
            } else {
                format!("{what}: keys[{i}]")
            };
            check_key(&k, &label)?;
        }
        if keys.length() == 0 {
            return Ok(());
        }
        let ctx = format!("{what} on '{table}'");
        let tx = self.tx(&[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let written = write_logged(&tx, &store, table, &keys, "delete", || {
            keys.iter().try_for_each(|k| store.delete(&k).map(|_| ()))
        })
        .await;
        Self::commit_or_abort(tx, written).await?;
        self.events.emit(table, &keys, Source::Local);
        Ok(())
    }
}

/// Issues a local write on `keys` (`write`) and its outbox entry, capturing the bases
/// of synced rows it overwrites first (see `js::capture`); resolves once all is issued.
pub(super) async fn write_logged(
    tx: &Tx,
    store: &web_sys::IdbObjectStore,
    table: &str,
    keys: &Array,
    op: &str,
    write: impl FnOnce() -> std::result::Result<(), JsValue>,
) -> std::result::Result<(), JsValue> {
    let s = |name| tx.store(name).map_err(|e| e.to_js());
    let capture = js::capture(store, &s(BASE)?, &s(META)?, &s(OUTBOX)?, table, keys)?;
    wasm_bindgen_futures::JsFuture::from(capture.ready()).await?;
    write()?;
    let logged = capture.log(&js::outbox_entry(table, keys, op))?;
    wasm_bindgen_futures::JsFuture::from(logged).await?;
    Ok(())
}

/// What a write that checks first expects of the row it writes.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// `insert`: no row with the key yet (`conflict` otherwise).
    Missing,
    /// `update`, `delete` of an existing row: the row is there (`not_found` otherwise).
    Present,
}

/// Reads the row `key` in `tx`; when it is not as `expect` says, aborts `tx` and fails
/// with `conflict` or `not_found`. Hands `tx` back with the row (undefined when missing).
async fn read_checked(
    tx: Tx,
    store: &web_sys::IdbObjectStore,
    key: &JsValue,
    ctx: &str,
    expect: Expect,
) -> Result<(Tx, JsValue)> {
    let current = wait(&store.get(key).map_err(|e| tx.fail(e))?, ctx).await?;
    let k = describe_key(key);
    let problem = match (expect, current.is_undefined()) {
        (Expect::Missing, false) => {
            Some((ErrorCode::Conflict, format!("a row with key {k} exists")))
        }
        (Expect::Present, true) => Some((ErrorCode::NotFound, format!("no row with key {k}"))),
        _ => None,
    };
    if let Some((code, what)) = problem {
        tx.abort().await;
        return Err(Error::new(code, format!("{ctx}: {what}")));
    }
    Ok((tx, current))
}

/// Checks that `k` is a string or a finite number.
pub fn check_key(k: &JsValue, what: &str) -> Result<()> {
    match js::check_key(k, what) {
        Some(problem) => Err(Error::invalid_argument(problem)),
        None => Ok(()),
    }
}

pub fn describe_key(k: &JsValue) -> String {
    match k.as_string() {
        Some(s) => format!("'{s}'"),
        None => k
            .as_f64()
            .map(|n| offline_tables_core::Key::Num(n).to_string()) // not f64's Display: see Key's
            .unwrap_or_else(|| super::js::describe(k)),
    }
}
