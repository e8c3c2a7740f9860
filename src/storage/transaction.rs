//! An app's transaction (`store.transaction`), committed: the writes it buffered run in
//! order in one IndexedDB transaction with their outbox entries, each entry marked with
//! the transaction's unit, so the changes also go to the server as one unit (see
//! `offline_tables_core::units`). Any failure rolls all of them back.

use super::capture::write_logged;
use super::tx::{delete, put};
use super::write::{read_checked, Expect};
use super::{Db, BASE, META, OUTBOX};
use crate::driver::events::LocalWrite;
use crate::error::Result;
use js_sys::Array;
use wasm_bindgen::prelude::*;

/// One write of a transaction, checked when it was made and again when it commits.
pub enum TxWrite {
    /// Insert or replace the row.
    Put { table: String, row: JsValue },
    /// Insert the row; `conflict` if its key exists.
    Insert { table: String, row: JsValue },
    /// Merge `patch` into the row; `not_found` if it is missing.
    Update {
        table: String,
        key: JsValue,
        patch: JsValue,
    },
    /// Delete the row; `not_found` if it is missing.
    Delete { table: String, key: JsValue },
}

impl TxWrite {
    pub fn table(&self) -> &str {
        match self {
            TxWrite::Put { table, .. }
            | TxWrite::Insert { table, .. }
            | TxWrite::Update { table, .. }
            | TxWrite::Delete { table, .. } => table,
        }
    }
}

/// The keys each table's writes touched and the rows they left (undefined: deleted),
/// for the change events after the commit.
#[derive(Default)]
struct Written(Vec<(String, Array, Array, bool)>);

impl Written {
    fn add(&mut self, table: &str, key: &JsValue, row: &JsValue) {
        let deleted = row.is_undefined();
        match self.0.iter_mut().find(|(t, ..)| t == table) {
            Some((_, keys, rows, any_delete)) => {
                keys.push(key);
                rows.push(row);
                *any_delete |= deleted;
            }
            None => self
                .0
                .push((table.to_string(), Array::of1(key), Array::of1(row), deleted)),
        }
    }
}

impl Db {
    /// Commits `writes` as the transaction `unit`: all of them, or (on any error, which
    /// it returns) none.
    pub async fn commit_unit(&self, unit: &str, writes: &[TxWrite]) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut stores: Vec<&str> = vec![OUTBOX, BASE, META];
        for w in writes {
            let def = self.writable(w.table(), "transaction")?;
            if let TxWrite::Put { row, .. } | TxWrite::Insert { row, .. } = w {
                self.checked_key(row, &def, w.table(), "transaction")?;
            }
            if !stores.contains(&w.table()) {
                stores.push(w.table());
            }
        }
        let ctx = "committing a transaction";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &stores, true, ctx)?.with_unit(unit);
        let mut written = Written::default();
        let mut done: Result<()> = Ok(());
        for w in writes {
            let table = w.table();
            let key_col = self.table(table)?.key;
            let store = tx.store(table)?;
            let fail = |e| tx.fail(e);
            done = match w {
                TxWrite::Put { row, .. } | TxWrite::Insert { row, .. } => {
                    let key =
                        js_sys::Reflect::get(row, &key_col.as_str().into()).unwrap_or_default();
                    let checked = match w {
                        TxWrite::Insert { .. } => {
                            read_checked(&tx, &store, &key, ctx, Expect::Missing).await
                        }
                        _ => Ok(JsValue::UNDEFINED),
                    };
                    written.add(table, &key, row);
                    match checked {
                        Ok(_) => {
                            write_logged(&tx, &store, table, &Array::of1(&key), "put", &mut || {
                                put(&store, row).map_err(fail)
                            })
                            .await
                        }
                        Err(e) => Err(e),
                    }
                }
                TxWrite::Update { key, patch, .. } => {
                    match read_checked(&tx, &store, key, ctx, Expect::Present).await {
                        Ok(current) => {
                            let row = super::js::merge_patch(&current, patch);
                            written.add(table, key, &row);
                            write_logged(
                                &tx,
                                &store,
                                table,
                                &Array::of1(key),
                                "update",
                                &mut || put(&store, &row).map_err(fail),
                            )
                            .await
                        }
                        Err(e) => Err(e),
                    }
                }
                TxWrite::Delete { key, .. } => {
                    written.add(table, key, &JsValue::UNDEFINED);
                    match read_checked(&tx, &store, key, ctx, Expect::Present).await {
                        Ok(_) => {
                            write_logged(
                                &tx,
                                &store,
                                table,
                                &Array::of1(key),
                                "delete",
                                &mut || delete(&store, key).map_err(fail),
                            )
                            .await
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            if done.is_err() {
                break;
            }
        }
        tx.commit_or_abort(done).await?;
        for (table, keys, rows, any_delete) in written.0 {
            let wrote = match any_delete {
                true => LocalWrite::Other,
                false => LocalWrite::Put,
            };
            self.events
                .emit_local_rows(&table, &keys, Some(&rows), wrote);
        }
        Ok(())
    }
}
