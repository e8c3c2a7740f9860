//! Local writes. Each write and its outbox entry commit in one transaction; rows go to
//! IndexedDB as the app's own JS objects (checked to be plain JSON first, never
//! converted), and the outbox logs only which keys changed, so a bulk write costs one
//! extra small record however many rows it holds. A synced row's first local write also
//! copies the server's row into its base (see `Base`).

pub(super) use super::capture::write_logged;
use super::tx::{delete, get, or_undefined, put};
use super::{js, Db, Tx, BASE, META, OUTBOX};
use crate::driver::events::LocalWrite;
use crate::error::{Error, Result};
use indexed_db_futures::object_store::ObjectStore;
use js_sys::Array;
use offline_tables_core::ErrorCode;
use wasm_bindgen::prelude::*;

impl Db {
    pub(crate) fn writable(
        &self,
        table: &str,
        what: &str,
    ) -> Result<offline_tables_core::TableDef> {
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
        selected_only(&def, table, rows, what, what == "bulkPut")?;
        if rows.length() == 0 {
            return Ok(keys);
        }
        let ctx = format!("{what} on '{table}'");
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let written = write_logged(&tx, &store, table, &keys, "put", &mut || {
            rows.iter()
                .try_for_each(|row| put(&store, &row))
                .map_err(|e| tx.fail(e))
        })
        .await;
        drop(store);
        tx.commit_or_abort(written).await?;
        self.events
            .emit_local_rows(table, &keys, Some(rows), LocalWrite::Put);
        Ok(keys)
    }

    /// Inserts `row` unless a row with its key exists (`conflict`), checked in the same
    /// transaction as the write; resolves to its key.
    pub async fn insert_row(&self, table: &str, row: &JsValue) -> Result<JsValue> {
        let def = self.writable(table, "insert")?;
        give_temp_key(&def, table, row)?;
        let keys = self.keys_of(&Array::of1(row).into(), &def.key, "row")?;
        selected_only(&def, table, &Array::of1(row), "insert", false)?;
        let key = keys.get(0);
        let ctx = format!("insert on '{table}'");
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let checked = read_checked(&tx, &store, &key, &ctx, Expect::Missing).await;
        let written = match checked {
            Ok(_) => {
                write_logged(&tx, &store, table, &keys, "put", &mut || {
                    put(&store, row).map_err(|e| tx.fail(e))
                })
                .await
            }
            Err(e) => Err(e),
        };
        drop(store);
        tx.commit_or_abort(written).await?;
        self.events
            .emit_local_rows(table, &keys, Some(&Array::of1(row)), LocalWrite::Put);
        Ok(key)
    }

    /// The key of `row`, a row to write to `table` (`def`), once checked as `put` checks it.
    pub(crate) fn checked_key(
        &self,
        row: &JsValue,
        def: &offline_tables_core::TableDef,
        table: &str,
        what: &str,
    ) -> Result<JsValue> {
        let one = Array::of1(row);
        let keys = self.keys_of(&one.clone().into(), &def.key, "row")?;
        selected_only(def, table, &one, what, false)?;
        Ok(keys.get(0))
    }

    /// Checks an update's `key` and `patch` for `table` as `update` does; gives the table.
    pub(crate) fn checked_update(
        &self,
        table: &str,
        key: &JsValue,
        patch: &JsValue,
    ) -> Result<offline_tables_core::TableDef> {
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
        selected_only(&def, table, &Array::of1(patch), "update", false)?;
        Ok(def)
    }

    /// Merges `patch` into the stored row and resolves to the new row.
    pub async fn update_row(&self, table: &str, key: &JsValue, patch: &JsValue) -> Result<JsValue> {
        self.checked_update(table, key, patch)?;
        let ctx = format!("update on '{table}'");
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let keys = Array::of1(key);
        let mut row = JsValue::UNDEFINED;
        let written = match read_checked(&tx, &store, key, &ctx, Expect::Present).await {
            Ok(current) => {
                row = js::merge_patch(&current, patch);
                write_logged(&tx, &store, table, &keys, "update", &mut || {
                    put(&store, &row).map_err(|e| tx.fail(e))
                })
                .await
            }
            Err(e) => Err(e),
        };
        drop(store);
        tx.commit_or_abort(written).await?;
        self.events
            .emit_local_rows(table, &keys, Some(&Array::of1(&row)), LocalWrite::Put);
        Ok(row)
    }

    /// Deletes the row with `key`, or fails with `not_found` when there is none, checked
    /// in the same transaction as the delete.
    pub async fn delete_existing(&self, table: &str, key: &JsValue) -> Result<()> {
        self.writable(table, "delete")?;
        check_key(key, "delete: key")?;
        let ctx = format!("delete on '{table}'");
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let keys = Array::of1(key);
        let written = match read_checked(&tx, &store, key, &ctx, Expect::Present).await {
            Ok(_) => {
                write_logged(&tx, &store, table, &keys, "delete", &mut || {
                    delete(&store, key).map_err(|e| tx.fail(e))
                })
                .await
            }
            Err(e) => Err(e),
        };
        drop(store);
        tx.commit_or_abort(written).await?;
        let gone = Array::new_with_length(keys.length());
        self.events
            .emit_local_rows(table, &keys, Some(&gone), LocalWrite::Other);
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
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table, OUTBOX, BASE, META], true, &ctx)?;
        let store = tx.store(table)?;
        let written = write_logged(&tx, &store, table, &keys, "delete", &mut || {
            keys.iter()
                .try_for_each(|k| delete(&store, &k))
                .map_err(|e| tx.fail(e))
        })
        .await;
        drop(store);
        tx.commit_or_abort(written).await?;
        let gone = Array::new_with_length(keys.length());
        self.events
            .emit_local_rows(table, &keys, Some(&gone), LocalWrite::Other);
        Ok(())
    }
}

/// Refuses `rows` when one names a column the profile does not select for `table`
/// (`columns`): the device never holds such a column, and the server would refuse it.
/// `indexed`: name the row by its index (`bulkPut`).
pub(super) fn selected_only(
    def: &offline_tables_core::TableDef,
    table: &str,
    rows: &Array,
    what: &str,
    indexed: bool,
) -> Result<()> {
    let Some(cols) = &def.columns else {
        return Ok(());
    };
    let kept: Array = cols.iter().chain([&def.key]).map(JsValue::from).collect();
    let found = js::unkept(rows, &kept);
    let Some(found) = found.dyn_ref::<Array>() else {
        return Ok(());
    };
    let column = found.get(1).as_string().unwrap_or_default();
    let mut context = format!("{what} on '{table}': ");
    if indexed {
        context += &format!("rows[{}]: ", found.get(0).as_f64().unwrap_or(0.0) as u32);
    }
    Err(Error::unselected(&context, table, &column))
}

/// On a table whose keys the server assigns, gives `row` (the app's object) a temporary
/// key, unless it already holds one; a row that names a key of its own is refused.
pub(crate) fn give_temp_key(
    def: &offline_tables_core::TableDef,
    table: &str,
    row: &JsValue,
) -> Result<()> {
    if !def.key_assigned || !row.is_object() {
        return Ok(());
    }
    let col = JsValue::from_str(&def.key);
    let key = js_sys::Reflect::get(row, &col).unwrap_or_default();
    if key.is_undefined() || key.is_null() {
        let mut temp = String::from(offline_tables_core::keys::TEMP_KEY_PREFIX);
        for _ in 0..3 {
            temp.push_str(&format!(
                "{:08x}",
                (js_sys::Math::random() * 4_294_967_296.0) as u64
            ));
        }
        let _ = js_sys::Reflect::set(row, &col, &temp.into());
        return Ok(());
    }
    if key
        .as_string()
        .is_some_and(|k| k.starts_with(offline_tables_core::keys::TEMP_KEY_PREFIX))
    {
        return Ok(());
    }
    Err(Error::invalid_argument(format!(
        "insert on '{table}': the server assigns its keys; leave '{}' out and insert gives the row a temporary key",
        def.key
    )))
}

/// What a write that checks first expects of the row it writes.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Expect {
    /// `insert`: no row with the key yet (`conflict` otherwise).
    Missing,
    /// `update`, `delete` of an existing row: the row is there (`not_found` otherwise).
    Present,
}

/// Reads the row `key` in `tx`: the row (undefined when missing) when it is as `expect`
/// says, else `conflict` or `not_found` (the caller rolls `tx` back).
pub(super) async fn read_checked(
    tx: &Tx<'_>,
    store: &ObjectStore<'_>,
    key: &JsValue,
    ctx: &str,
    expect: Expect,
) -> Result<JsValue> {
    let current = or_undefined(tx.wait(get(store, key).map_err(|e| tx.fail(e))?).await?);
    let k = describe_key(key);
    let problem = match (expect, current.is_undefined()) {
        (Expect::Missing, false) => {
            Some((ErrorCode::Conflict, format!("a row with key {k} exists")))
        }
        (Expect::Present, true) => Some((ErrorCode::NotFound, format!("no row with key {k}"))),
        _ => None,
    };
    match problem {
        Some((code, what)) => Err(Error::new(code, format!("{ctx}: {what}"))),
        None => Ok(current),
    }
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
