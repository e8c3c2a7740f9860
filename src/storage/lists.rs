//! The lists the app settles: conflicts kept for it (`manual` policy) and changes the
//! server refused, with resolve, retry and discard, each in one transaction.

use super::js::outbox_entry;
use super::outbox::{base_key, key_js, parse_base, to_js, to_json};
use super::write::write_logged;
use super::{wait, Db, Tx, BASE, CONFLICTS, ERRORS, OUTBOX};
use crate::driver::events::Source;
use crate::error::{Error, Result};
use js_sys::Array;
use offline_tables_core::{Base, Key};
use serde_json::Value;
use wasm_bindgen::prelude::*;

impl Db {
    async fn list(&self, store: &str, ctx: &str) -> Result<Array> {
        let tx = self.tx(&[store], false, ctx)?;
        let req = tx.store(store)?.get_all().map_err(|e| tx.fail(e))?;
        Ok(wait(&req, ctx).await?.into())
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
    async fn take_entry(tx: &Tx, store: &str, id: f64, what: &str, ctx: &str) -> Result<Value> {
        let req = tx.store(store)?.get(&id.into()).map_err(|e| tx.fail(e))?;
        let entry = wait(&req, ctx).await?;
        if entry.is_undefined() {
            return Err(Error::new(
                offline_tables_core::ErrorCode::NotFound,
                format!("{ctx}: no {what} with id {}", Key::Num(id)),
            ));
        }
        to_json(&entry, ctx).map(|v| v.unwrap_or(Value::Null))
    }

    /// A write transaction over every store, with the entry `id` of `store` read in it.
    async fn open_entry(&self, store: &str, id: f64, what: &str, ctx: &str) -> Result<(Tx, Value)> {
        let stores = self.all_stores()?;
        let refs: Vec<&str> = stores.iter().map(String::as_str).collect();
        let tx = self.tx(&refs, true, ctx)?;
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
        let (tx, entry) = self.open_entry(CONFLICTS, id, "conflict", ctx).await?;
        let table = entry["table"].as_str().unwrap_or_default().to_string();
        let def = self.table(&table)?;
        let key = Key::from_json(&entry["key"], "conflict key")?;
        let k = key_js(&key);
        let mut server = entry.get("server").filter(|v| !v.is_null()).cloned();
        let mut version = entry["serverVersion"].as_str().map(str::to_string);
        // Pulls since the conflict may have brought a newer server row: settle on that.
        let base_req = tx
            .store(BASE)?
            .get(&base_key(&table, &k))
            .map_err(|e| tx.fail(e))?;
        // (A kept conflict's row counts as edited, so pulls store the server's row in its base.)
        if let Some(base) = parse_base(&wait(&base_req, ctx).await?, ctx)? {
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
            Resolution::Server => server.as_ref().map(to_js),
            Resolution::Local => {
                let req = tx.store(&table)?.get(&k).map_err(|e| tx.fail(e))?;
                let current = wait(&req, ctx).await?;
                (!current.is_undefined()).then_some(current)
            }
            Resolution::Merged(row) => {
                let keys = super::js::prepare_rows(&Array::of1(row).into(), &def.key, "row");
                if let Some(problem) = keys.as_string() {
                    tx.abort().await;
                    return Err(Error::invalid_argument(format!("{ctx}: {problem}")));
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
        let write = || -> std::result::Result<(), JsValue> {
            let bk = base_key(&table, &k);
            match (&version, &server) {
                (Some(v), Some(r)) => {
                    // Taking the server's row leaves nothing pending: the table holds
                    // it, the base only its version (see `Base`).
                    let keep = !matches!(resolution, Resolution::Server);
                    tx.store(BASE).map_err(|e| e.to_js())?.put_with_key(
                        &to_js(&Base {
                            version: v.clone(),
                            row: keep.then(|| r.clone()),
                        }),
                        &bk,
                    )?;
                }
                // No server row: a row kept from here on is the app's.
                _ if new_row.is_some() && !matches!(resolution, Resolution::Server) => {
                    tx.store(BASE)
                        .map_err(|e| e.to_js())?
                        .put_with_key(&super::outbox::local_base(), &bk)?;
                }
                _ => {
                    tx.store(BASE).map_err(|e| e.to_js())?.delete(&bk)?;
                }
            }
            let rows = tx.store(&table).map_err(|e| e.to_js())?;
            match &new_row {
                Some(r) => rows.put(r)?,
                None => rows.delete(&k)?,
            };
            if !matches!(resolution, Resolution::Server) {
                // Pending again, now against the server's version.
                let op = if new_row.is_some() { "put" } else { "delete" };
                tx.store(OUTBOX).map_err(|e| e.to_js())?.add(&outbox_entry(
                    &table,
                    &Array::of1(&k),
                    op,
                ))?;
            }
            tx.store(CONFLICTS)
                .map_err(|e| e.to_js())?
                .delete(&id.into())?;
            Ok(())
        };
        let written = write();
        Self::commit_or_abort(tx, written).await?;
        let source = if matches!(resolution, Resolution::Server) {
            Source::Remote
        } else {
            Source::Local
        };
        self.events.emit(&table, &Array::of1(&k), source);
        Ok(())
    }

    /// Drops the sync error `id` (the row already shows the server's state).
    pub async fn discard_sync_error(&self, id: f64) -> Result<()> {
        let ctx = "discardSyncError";
        let tx = self.tx(&[ERRORS], true, ctx)?;
        if let Err(e) = Self::take_entry(&tx, ERRORS, id, "sync error", ctx).await {
            tx.abort().await;
            return Err(e);
        }
        let req = tx
            .store(ERRORS)?
            .delete(&id.into())
            .map_err(|e| tx.fail(e))?;
        wait(&req, ctx).await?;
        tx.commit().await
    }

    /// Applies the refused change locally again, so it is pushed again; drops the error.
    pub async fn retry_sync_error(&self, id: f64) -> Result<()> {
        let ctx = "retrySyncError";
        let (tx, entry) = self.open_entry(ERRORS, id, "sync error", ctx).await?;
        let table = entry["table"].as_str().unwrap_or_default().to_string();
        self.table(&table)?;
        let key = Key::from_json(&entry["key"], "sync error key")?;
        let k = key_js(&key);
        let row = entry
            .get("row")
            .filter(|v| !v.is_null() && entry["op"] != "delete")
            .cloned();
        let rows = tx.store(&table)?;
        let op = if row.is_some() { "put" } else { "delete" };
        let keys = Array::of1(&k);
        let written = write_logged(&tx, &rows, &table, &keys, op, || {
            match &row {
                Some(r) => rows.put(&to_js(r))?,
                None => rows.delete(&k)?,
            };
            tx.store(ERRORS)
                .map_err(|e| e.to_js())?
                .delete(&id.into())
                .map(|_| ())
        })
        .await;
        Self::commit_or_abort(tx, written).await?;
        self.events.emit(&table, &Array::of1(&k), Source::Local);
        Ok(())
    }
}
