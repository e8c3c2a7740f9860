//! Storage for pushing: the frozen batch and its settlement. A batch is frozen once (its
//! mutations get ids and are kept in `_meta`) and resent as is until the server answers,
//! so a lost answer never changes what a mutation id means. Settling applies each
//! outcome by the table's policy and trims exactly the writes the batch covered: writes
//! made while it was in flight stay pending, against the new base.

use super::js::outbox_entry;
use super::outbox::{base_key, coalesce_present, key_js, parse_base, read_log, to_js};
use super::{wait, Db, Tx, BASE, CONFLICTS, ERRORS, META, OUTBOX};
use crate::driver::events::Source;
use crate::error::{Error, Result};
use js_sys::Array;
use offline_tables_core::conflict::{settle, Settlement};
use offline_tables_core::outbox::dirty_rows;
use offline_tables_core::protocol::{Outcome, PushMutation};
use offline_tables_core::{Base, Key, LogEntry, Mutation, MutationOp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// A frozen push batch, as kept in `_meta` under "inflight".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub client_id: String,
    /// The outbox writes this batch covers: those with seq ≤ this.
    pub upto_seq: u64,
    pub mutations: Vec<PushMutation>,
    /// The base row each mutation was made against (for merge).
    pub base_rows: Vec<Option<Value>>,
}

/// What settling a batch did, for the sync report and events.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Settled {
    pub applied: usize,
    pub conflicts: usize,
    pub resent: usize,
    pub rejected: usize,
    /// Conflicts newly kept for the app (as stored, without their id).
    pub kept: Vec<Value>,
    /// Changes newly refused by the server (as stored, without their id).
    pub refused: Vec<Value>,
}

fn json_of(v: &JsValue, ctx: &str) -> Result<Option<Value>> {
    if v.is_undefined() {
        return Ok(None);
    }
    // JSON.stringify, not serde: it drops undefined columns exactly as the wire will.
    let text = js_sys::JSON::stringify(v)
        .map_err(|e| Error::from_js(&e, ctx))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::storage(format!("{ctx}: a stored row is not JSON: {e}")))
}

fn random_id() -> String {
    let mut s = String::from("c-");
    for _ in 0..4 {
        s.push_str(&format!(
            "{:08x}",
            (js_sys::Math::random() * 4_294_967_296.0) as u64
        ));
    }
    s
}

impl Db {
    fn all_stores(&self) -> Result<Vec<String>> {
        let names = self.idb()?.object_store_names();
        Ok((0..names.length()).filter_map(|i| names.get(i)).collect())
    }

    async fn meta_get(tx: &Tx, key: &str, ctx: &str) -> Result<JsValue> {
        let req = tx.store(META)?.get(&key.into()).map_err(|e| tx.fail(e))?;
        wait(&req, ctx).await
    }

    /// The batch to push: the one in flight if any (sent again, unchanged), else the
    /// oldest `max` pending changes, frozen with new mutation ids. None: nothing to push.
    pub async fn freeze_batch(&self, max: usize) -> Result<Option<Batch>> {
        let ctx = "preparing a push";
        let stores = self.all_stores()?;
        let refs: Vec<&str> = stores.iter().map(String::as_str).collect();
        let tx = self.tx(&refs, true, ctx)?;
        if let Some(text) = Self::meta_get(&tx, "inflight", ctx).await?.as_string() {
            let batch: Batch = serde_json::from_str(&text).map_err(|e| {
                Error::storage(format!("{ctx}: the batch in flight is malformed: {e}"))
            })?;
            tx.abort().await;
            return Ok(Some(batch));
        }
        let log = read_log(&tx.store(OUTBOX)?, ctx).await?;
        let upto_seq = log.iter().map(|e| e.seq).max().unwrap_or(0);
        let mut batch = Batch {
            client_id: String::new(),
            upto_seq,
            mutations: Vec::new(),
            base_rows: Vec::new(),
        };
        let mut next_id = Self::meta_get(&tx, "nextMutationId", ctx)
            .await?
            .as_f64()
            .unwrap_or(1.0) as u64;
        for (seq, table, key) in dirty_rows(&log) {
            if batch.mutations.len() >= max {
                break;
            }
            if !self.profile.tables.contains_key(&table) {
                continue;
            }
            let k = key_js(&key);
            let row = wait(&tx.store(&table)?.get(&k).map_err(|e| tx.fail(e))?, ctx).await?;
            let base_req = tx
                .store(BASE)?
                .get(&base_key(&table, &k))
                .map_err(|e| tx.fail(e))?;
            let base = parse_base(&wait(&base_req, ctx).await?, ctx)?;
            let Some(m) = coalesce_present(seq, &table, &key, base.as_ref(), &row) else {
                continue;
            };
            batch.mutations.push(PushMutation {
                id: next_id,
                table: table.clone(),
                key: key.clone(),
                op: m.op,
                row: json_of(&row, ctx)?,
                columns: None,
                base_version: m.base_version.clone(),
            });
            batch.base_rows.push(m.base_row.clone());
            next_id += 1;
        }
        if batch.mutations.is_empty() {
            tx.abort().await;
            return Ok(None);
        }
        batch.client_id = match Self::meta_get(&tx, "clientId", ctx).await?.as_string() {
            Some(id) => id,
            None => random_id(),
        };
        let meta = tx.store(META)?;
        let text =
            serde_json::to_string(&batch).map_err(|e| Error::storage(format!("{ctx}: {e}")))?;
        let writes = meta
            .put_with_key(&text.into(), &"inflight".into())
            .and_then(|_| meta.put_with_key(&(next_id as f64).into(), &"nextMutationId".into()))
            .and_then(|_| meta.put_with_key(&batch.client_id.clone().into(), &"clientId".into()));
        if let Err(e) = writes {
            let err = tx.fail(e);
            tx.abort().await;
            return Err(err);
        }
        tx.commit().await?;
        Ok(Some(batch))
    }

    /// Settles the batch in flight with the server's outcomes (one per mutation, any
    /// order), in one transaction.
    pub async fn settle_batch(&self, outcomes: &[Outcome]) -> Result<Settled> {
        let ctx = "settling a push";
        let stores = self.all_stores()?;
        let refs: Vec<&str> = stores.iter().map(String::as_str).collect();
        let tx = self.tx(&refs, true, ctx)?;
        let Some(text) = Self::meta_get(&tx, "inflight", ctx).await?.as_string() else {
            tx.abort().await;
            return Ok(Settled::default());
        };
        let batch: Batch = serde_json::from_str(&text)
            .map_err(|e| Error::storage(format!("{ctx}: the batch in flight is malformed: {e}")))?;
        let by_id: BTreeMap<u64, &Outcome> = outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Applied { id, .. }
                | Outcome::Conflict { id, .. }
                | Outcome::Rejected { id, .. } => Some((*id, o)),
                Outcome::Unknown => None,
            })
            .collect();
        let log = read_log(&tx.store(OUTBOX)?, ctx).await?;
        let mut report = Settled::default();
        let mut touched: BTreeMap<String, Array> = BTreeMap::new();
        let mut trim: Vec<(String, Key)> = Vec::new();
        let base_store = tx.store(BASE)?;
        for (m, base_row) in batch.mutations.iter().zip(&batch.base_rows) {
            let outcome = by_id.get(&m.id).copied().unwrap_or(&Outcome::Unknown);
            let policy = self
                .profile
                .tables
                .get(&m.table)
                .map(|d| d.conflict)
                .unwrap_or_default();
            let core = Mutation {
                seq: 0,
                table: m.table.clone(),
                key: m.key.clone(),
                op: m.op,
                row: m.row.clone(),
                base_version: m.base_version.clone(),
                base_row: base_row.clone(),
            };
            let k = key_js(&m.key);
            let bk = base_key(&m.table, &k);
            let later = later_writes(&log, batch.upto_seq, &m.table, &m.key);
            let table = tx.store(&m.table)?;
            let set_row = |row: &Option<Value>| -> std::result::Result<(), JsValue> {
                match row {
                    Some(r) => table.put(&to_js(r)).map(|_| ()),
                    None => table.delete(&k).map(|_| ()),
                }
            };
            let set_base = |version: &Option<String>,
                            row: &Option<Value>|
             -> std::result::Result<(), JsValue> {
                match (version, row) {
                    (Some(v), Some(r)) => base_store
                        .put_with_key(
                            &to_js(&Base {
                                version: v.clone(),
                                row: r.clone(),
                            }),
                            &bk,
                        )
                        .map(|_| ()),
                    _ => base_store.delete(&bk).map(|_| ()),
                }
            };
            let step: std::result::Result<(), JsValue> = (|| {
                match settle(policy, &core, outcome) {
                    Settlement::Applied { version } => {
                        report.applied += 1;
                        let row = if m.op == MutationOp::Delete {
                            None
                        } else {
                            m.row.clone()
                        };
                        set_base(&Some(version), &row)?;
                        trim.push((m.table.clone(), m.key.clone()));
                    }
                    Settlement::TakeServer { row, version } => {
                        report.conflicts += 1;
                        set_base(&version, &row)?;
                        if !later {
                            set_row(&row)?;
                            touched.entry(m.table.clone()).or_default().push(&k);
                        }
                        trim.push((m.table.clone(), m.key.clone()));
                    }
                    Settlement::Resend {
                        row,
                        base_version,
                        base_row,
                    } => {
                        report.resent += 1;
                        set_base(&base_version, &base_row)?;
                        if !later && row.is_some() && row != m.row {
                            set_row(&row)?;
                            touched.entry(m.table.clone()).or_default().push(&k);
                        }
                        // Not trimmed: the row stays pending, now against the server's version.
                    }
                    Settlement::Manual {
                        server_row,
                        server_version,
                    } => {
                        report.conflicts += 1;
                        let entry = json!({
                            "table": m.table, "key": m.key, "base": base_row, "local": m.row,
                            "server": server_row, "serverVersion": server_version,
                        });
                        tx.store(CONFLICTS)
                            .map_err(|e| e.to_js())?
                            .add(&to_js(&entry))?;
                        report.kept.push(entry);
                        trim.push((m.table.clone(), m.key.clone()));
                    }
                    Settlement::Reject { reason, message } => {
                        report.rejected += 1;
                        let entry = json!({
                            "table": m.table, "key": m.key, "op": m.op, "row": m.row,
                            "reason": reason, "message": message,
                        });
                        tx.store(ERRORS)
                            .map_err(|e| e.to_js())?
                            .add(&to_js(&entry))?;
                        report.refused.push(entry);
                        if !later {
                            // Back to the server's state (the base), or gone if it never had it.
                            set_row(&base_row.clone())?;
                            touched.entry(m.table.clone()).or_default().push(&k);
                        }
                        trim.push((m.table.clone(), m.key.clone()));
                    }
                }
                Ok(())
            })();
            if let Err(e) = step {
                let err = tx.fail(e);
                tx.abort().await;
                return Err(err);
            }
        }
        let outbox = tx.store(OUTBOX)?;
        let trimmed = || -> std::result::Result<(), JsValue> {
            for e in log.iter().filter(|e| e.seq <= batch.upto_seq) {
                let keep: Vec<&Key> = e
                    .keys
                    .iter()
                    .filter(|k| !trim.iter().any(|(t, tk)| *t == e.table && tk == *k))
                    .collect();
                if keep.len() == e.keys.len() {
                    continue;
                }
                if keep.is_empty() {
                    outbox.delete(&(e.seq as f64).into())?;
                } else {
                    let keys: Array = keep.into_iter().map(key_js).collect();
                    let entry = outbox_entry(&e.table, &keys, "put");
                    js_sys::Reflect::set(&entry, &"seq".into(), &(e.seq as f64).into())?;
                    outbox.put(&entry)?;
                }
            }
            tx.store(META)
                .map_err(|e| e.to_js())?
                .delete(&"inflight".into())?;
            Ok(())
        };
        if let Err(e) = trimmed() {
            let err = tx.fail(e);
            tx.abort().await;
            return Err(err);
        }
        tx.commit().await?;
        for (table, keys) in touched {
            self.events.emit(&table, &keys, Source::Remote);
        }
        Ok(report)
    }
}

impl Db {
    /// This store's client id for the sync protocol, created on first use.
    pub async fn client_id(&self) -> Result<String> {
        let ctx = "reading the client id";
        let tx = self.tx(&[META], true, ctx)?;
        if let Some(id) = Self::meta_get(&tx, "clientId", ctx).await?.as_string() {
            tx.abort().await;
            return Ok(id);
        }
        let id = random_id();
        let req = tx
            .store(META)?
            .put_with_key(&id.clone().into(), &"clientId".into())
            .map_err(|e| tx.fail(e))?;
        wait(&req, ctx).await?;
        tx.commit().await?;
        Ok(id)
    }

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

/// True when the row was written again after the batch froze (those writes stay pending).
fn later_writes(log: &[LogEntry], upto: u64, table: &str, key: &Key) -> bool {
    log.iter()
        .any(|e| e.seq > upto && e.table == table && e.keys.contains(key))
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
                format!("{ctx}: no {what} with id {id}"),
            ));
        }
        json_of(&entry, ctx).map(|v| v.unwrap_or(Value::Null))
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

    /// Commits when every write was issued, else rolls all of them back.
    async fn commit_or_abort(tx: Tx, written: std::result::Result<(), JsValue>) -> Result<()> {
        if let Err(e) = written {
            let err = tx.fail(e);
            tx.abort().await;
            return Err(err);
        }
        tx.commit().await
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
        if let Some(base) = parse_base(&wait(&base_req, ctx).await?, ctx)? {
            let newer = |b: &str| {
                version.as_deref().and_then(|v| v.parse::<u64>().ok()) < b.parse::<u64>().ok()
            };
            if newer(&base.version) {
                version = Some(base.version.clone());
                server = Some(base.row.clone());
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
                    tx.store(BASE).map_err(|e| e.to_js())?.put_with_key(
                        &to_js(&Base {
                            version: v.clone(),
                            row: r.clone(),
                        }),
                        &bk,
                    )?;
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
        let write = || -> std::result::Result<(), JsValue> {
            let rows = tx.store(&table).map_err(|e| e.to_js())?;
            match &row {
                Some(r) => rows.put(&to_js(r))?,
                None => rows.delete(&k)?,
            };
            let op = if row.is_some() { "put" } else { "delete" };
            tx.store(OUTBOX).map_err(|e| e.to_js())?.add(&outbox_entry(
                &table,
                &Array::of1(&k),
                op,
            ))?;
            tx.store(ERRORS)
                .map_err(|e| e.to_js())?
                .delete(&id.into())?;
            Ok(())
        };
        let written = write();
        Self::commit_or_abort(tx, written).await?;
        self.events.emit(&table, &Array::of1(&k), Source::Local);
        Ok(())
    }
}
