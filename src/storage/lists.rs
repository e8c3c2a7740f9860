//! The lists the app settles: conflicts kept for it (`manual` policy) and changes the
//! server refused, with resolve, retry and discard, each in one transaction.

use super::js::rows_to_js;
use super::outbox::to_json;
use super::records::{self, base_key, key_js, parse_base, OutboxRecord};
use super::tx::{delete, get, or_undefined, put, put_at};
use super::write::{selected_only, write_logged};
use super::{Db, Tx, BASE, CONFLICTS, ERRORS, OUTBOX};
use crate::driver::events::{LocalWrite, Source};
use crate::error::{Error, Result};
use indexed_db_futures::prelude::*;
use js_sys::Array;
use offline_tables_core::Key;
use serde_json::Value;
use wasm_bindgen::prelude::*;

impl Db {
    async fn list(&self, store: &str, ctx: &str) -> Result<Array> {
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[store], false, ctx)?;
        let s = tx.store(store)?;
        let all = s
            .get_all::<JsValue>()
            .primitive()
            .map_err(|e| tx.fail(e))?
            .await
            .map_err(|e| tx.fail(e))?;
        let out = Array::new();
        for entry in all {
            out.push(&entry.map_err(|e| tx.fail(e))?);
        }
        Ok(out)
    }

    /// Conflicts kept for the app: `{ id, table, key, base, local, server, serverVersion }`.
    pub async fn conflicts(&self) -> Result<Array> {
        self.list(CONFLICTS, "reading conflicts").await
    }

    /// Mutations the server refused: `{ id, table, key, op, row, reason, message }`.
    pub async fn sync_errors(&self) -> Result<Array> {
        self.list(ERRORS, "reading sync errors").await
    }
}
/// How the app settles a kept conflict.
pub enum Resolution {
    /// Keep the local row: push it against the server's version.
    Local,
    /// Take the server's row.
    Server,
    /// Use this row (say, merged by the user) and push it.
    Merged(JsValue),
}

impl Db {
    async fn take_entry(tx: &Tx<'_>, store: &str, id: f64, what: &str, ctx: &str) -> Result<Value> {
        let req = get(&tx.store(store)?, &id.into()).map_err(|e| tx.fail(e))?;
        let entry = or_undefined(tx.wait(req).await?);
        if entry.is_undefined() {
            return Err(Error::new(
                offline_tables_core::ErrorCode::NotFound,
                format!("{ctx}: no {what} with id {}", Key::Num(id)),
            ));
        }
        to_json(&entry, ctx).map(|v| v.unwrap_or(Value::Null))
    }

    /// A write transaction over every store, with the entry `id` of `store` read in it.
    async fn open_entry<'c>(
        &self,
        conn: &'c indexed_db_futures::database::Database,
        store: &str,
        id: f64,
        what: &str,
        ctx: &str,
    ) -> Result<(Tx<'c>, Value)> {
        let stores = self.all_stores()?;
        let refs: Vec<&str> = stores.iter().map(String::as_str).collect();
        let tx = self.tx(conn, &refs, true, ctx)?;
        match Self::take_entry(&tx, store, id, what, ctx).await {
            Ok(e) => Ok((tx, e)),
            Err(e) => {
                tx.abort().await;
                Err(e)
            }
        }
    }

    /// Settles the kept conflict `id` as the app decided, in one transaction.
    pub async fn resolve_conflict(&self, id: f64, resolution: Resolution) -> Result<()> {
        let ctx = "resolveConflict";
        let conn = self.conn()?;
        let (tx, entry) = self
            .open_entry(&conn, CONFLICTS, id, "conflict", ctx)
            .await?;
        let table = entry["table"].as_str().unwrap_or_default().to_string();
        let def = self.table(&table)?;
        let key = Key::from_json(&entry["key"], "conflict key")?;
        let k = key_js(&key);
        let mut server = entry.get("server").filter(|v| !v.is_null()).cloned();
        let mut version = entry["serverVersion"].as_str().map(str::to_string);
        // Pulls since the conflict may have brought a newer server row: settle on that.
        let base_req = get(&tx.store(BASE)?, &base_key(&table, &k)).map_err(|e| tx.fail(e))?;
        // (A kept conflict's row counts as edited, so pulls store the server's row in its base.)
        if let Some(base) = parse_base(tx.wait(base_req).await?, ctx)? {
            let newer = |b: &str| {
                version.as_deref().and_then(|v| v.parse::<u64>().ok()) < b.parse::<u64>().ok()
            };
            // (A newer base without a row: the server's row is gone since.)
            if newer(&base.version) {
                version = Some(base.version.clone());
                server = base.row;
            }
        }
        let new_row: Option<JsValue> = match &resolution {
            Resolution::Server => server.as_ref().map(|r| rows_to_js(r, ctx)).transpose()?,
            Resolution::Local => {
                let req = get(&tx.store(&table)?, &k).map_err(|e| tx.fail(e))?;
                tx.wait(req).await?
            }
            Resolution::Merged(row) => {
                let keys = super::js::prepare_rows(&Array::of1(row).into(), &def.key, "row");
                if let Some(problem) = keys.as_string() {
                    tx.abort().await;
                    return Err(Error::invalid_argument(format!("{ctx}: {problem}")));
                }
                let one = Array::of1(row);
                if let Err(e) = selected_only(&def, &table, &one, ctx, false) {
                    tx.abort().await;
                    return Err(e);
                }
                let got = Array::from(&keys).get(0);
                if !js_sys::Object::is(&got, &k) {
                    tx.abort().await;
                    return Err(Error::invalid_argument(format!(
                        "{ctx}: the merged row's {} must stay {key}",
                        def.key
                    )));
                }
                Some(row.clone())
            }
        };
        let write = || -> Result<()> {
            let fail = |e| tx.fail(e);
            let bk = base_key(&table, &k);
            let bases = tx.store(BASE)?;
            match (&version, &server) {
                (Some(v), Some(r)) => {
                    // Taking the server's row leaves nothing pending: the table holds
                    // it, the base only its version (see `Base`).
                    let keep = !matches!(resolution, Resolution::Server);
                    let row = match keep {
                        true => rows_to_js(r, ctx)?,
                        false => JsValue::UNDEFINED,
                    };
                    put_at(&bases, &records::server_base(v, row, ctx)?, &bk).map_err(fail)?;
                }
                // No server row: a row kept from here on is the app's.
                _ if new_row.is_some() && !matches!(resolution, Resolution::Server) => {
                    put_at(&bases, &records::local_base(ctx)?, &bk).map_err(fail)?;
                }
                _ => delete(&bases, &bk).map_err(fail)?,
            }
            let rows = tx.store(&table)?;
            match &new_row {
                Some(r) => put(&rows, r).map_err(fail)?,
                None => delete(&rows, &k).map_err(fail)?,
            };
            if !matches!(resolution, Resolution::Server) {
                // Pending again, now against the server's version.
                let op = if new_row.is_some() { "put" } else { "delete" };
                let entry = OutboxRecord {
                    seq: None,
                    t: &table,
                    k: Array::of1(&k).into(),
                    op,
                    u: None,
                };
                let outbox = tx.store(OUTBOX)?;
                outbox
                    .add(records::to_js(&entry, ctx)?)
                    .primitive()
                    .map(drop)
                    .map_err(fail)?;
            }
            delete(&tx.store(CONFLICTS)?, &id.into()).map_err(fail)?;
            Ok(())
        };
        let written = write();
        tx.commit_or_abort(written).await?;
        let keys = Array::of1(&k);
        match resolution {
            Resolution::Server => self.events.emit(&table, &keys, Source::Remote),
            _ => self.events.emit_local(&table, &keys, LocalWrite::Other),
        }
        Ok(())
    }

    /// Drops the sync error `id` (the row already shows the server's state).
    pub async fn discard_sync_error(&self, id: f64) -> Result<()> {
        let ctx = "discardSyncError";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[ERRORS], true, ctx)?;
        let written = match Self::take_entry(&tx, ERRORS, id, "sync error", ctx).await {
            Ok(_) => tx
                .store(ERRORS)
                .and_then(|s| delete(&s, &id.into()).map_err(|e| tx.fail(e))),
            Err(e) => Err(e),
        };
        tx.commit_or_abort(written).await
    }

    /// Applies the refused change locally again, so it is pushed again; drops the error.
    /// A refused transaction's error applies every change it held again, as one unit.
    pub async fn retry_sync_error(&self, id: f64) -> Result<()> {
        let ctx = "retrySyncError";
        let conn = self.conn()?;
        let (tx, entry) = self
            .open_entry(&conn, ERRORS, id, "sync error", ctx)
            .await?;
        if entry["op"] == "file" {
            return Err(Error::invalid_argument(format!(
                "{ctx}: a refused file is not retried; putFile a smaller one, or discard the error"
            )));
        }
        let tx = match entry["unit"].as_str() {
            Some(u) => tx.with_unit(u),
            None => tx,
        };
        let changes: Vec<Value> = match &entry["changes"] {
            Value::Array(list) => list.clone(),
            _ => vec![entry.clone()],
        };
        let mut again = Vec::with_capacity(changes.len());
        for c in &changes {
            let table = c["table"].as_str().unwrap_or_default().to_string();
            self.table(&table)?;
            let key = Key::from_json(&c["key"], "sync error key")?;
            let row = c
                .get("row")
                .filter(|v| !v.is_null() && c["op"] != "delete")
                .cloned();
            again.push((table, key_js(&key), row));
        }
        let mut written = Ok(());
        for (table, k, row) in &again {
            let rows = tx.store(table)?;
            let op = if row.is_some() { "put" } else { "delete" };
            written = write_logged(&tx, &rows, table, &Array::of1(k), op, &mut || match row {
                Some(r) => put(&rows, &rows_to_js(r, ctx)?).map_err(|e| tx.fail(e)),
                None => delete(&rows, k).map_err(|e| tx.fail(e)),
            })
            .await;
            if written.is_err() {
                break;
            }
        }
        let written =
            written.and_then(|_| delete(&tx.store(ERRORS)?, &id.into()).map_err(|e| tx.fail(e)));
        tx.commit_or_abort(written).await?;
        for (table, k, _) in &again {
            self.events
                .emit_local(table, &Array::of1(k), LocalWrite::Other);
        }
        Ok(())
    }
}
