//! Push batches: the frozen batch, the store's client id and its user. A batch is frozen
//! once (its mutations get ids and are kept in `_meta`) and resent as is until the server
//! answers, so a lost answer never changes what a mutation id means; `push_settle.rs`
//! settles it.

use super::outbox::{coalesced, read_log, to_json};
use super::records::{self, RowSet};
use super::tx::{meta_get, put_at};
use super::{Db, Tx, META, OUTBOX};
use crate::error::{Error, ErrorCode, Result};
use offline_tables_core::keys::is_temp_key;
use offline_tables_core::outbox::dirty_rows;
use offline_tables_core::protocol::wire::{self, FromValue};
use offline_tables_core::protocol::PushMutation;
use offline_tables_core::units::{RowId, Units};
use offline_tables_core::{LogEntry, Mutation, MutationOp};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// A frozen push batch, as kept in `_meta` under "inflight".
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    pub client_id: String,
    /// The outbox writes this batch covers: those with seq ≤ this.
    pub upto_seq: u64,
    pub mutations: Vec<PushMutation>,
    /// The base row each mutation was made against (for merge).
    pub base_rows: Vec<Option<Value>>,
}

impl FromValue for Batch {
    fn from_value(v: Value) -> std::result::Result<Self, wire::E> {
        let mut f = wire::Fields::of(v, "a batch")?;
        Ok(Batch {
            client_id: f.string("clientId")?,
            upto_seq: f.u64("uptoSeq")?,
            mutations: f.list("mutations", PushMutation::from_value)?,
            base_rows: f.list("baseRows", |r| Ok((!r.is_null()).then_some(r)))?,
        })
    }
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
    /// The `_meta` value `key` (undefined when there is none).
    pub(super) async fn meta_get(tx: &Tx<'_>, key: &str) -> Result<JsValue> {
        let req = meta_get(&tx.store(META)?, key).map_err(|e| tx.fail(e))?;
        Ok(super::tx::or_undefined(tx.wait(req).await?))
    }

    /// The batch to push: the one in flight if any (sent again, unchanged), else the
    /// oldest `max` pending changes, frozen with new mutation ids. None: nothing to push.
    pub async fn freeze_batch(&self, max: usize) -> Result<Option<Batch>> {
        let ctx = "preparing a push";
        let stores = self.all_stores()?;
        let refs: Vec<&str> = stores.iter().map(String::as_str).collect();
        let conn = self.conn()?;
        let tx = self.tx(&conn, &refs, true, ctx)?;
        if let Some(text) = Self::meta_get(&tx, "inflight").await?.as_string() {
            let batch: Batch = wire::from_str(&text).map_err(|e| {
                Error::storage(format!("{ctx}: the batch in flight is malformed: {e}"))
            })?;
            tx.abort().await;
            return Ok(Some(batch));
        }
        let log = read_log(&tx, &tx.store(OUTBOX)?).await?;
        let upto_seq = log.iter().map(|e| e.seq).max().unwrap_or(0);
        // A row with a kept conflict waits for the app: writes made on top of it stay
        // pending (their log entries untouched) and go out once the conflict is resolved;
        // so does the rest of a transaction it is part of. A batch never splits a unit.
        let kept = super::pull_apply::kept_conflicts(&tx).await?;
        let kept = records::row_set(&kept);
        let include = |t: &str| self.profile().tables.contains_key(t);
        let units = Units::of(&log);
        let rows: Vec<RowId> = dirty_rows(&log)
            .into_iter()
            .filter(|(_, t, _)| include(t))
            .map(|(_, t, k)| (t, k))
            .collect();
        let held = |r: &RowId| kept.contains(&(r.0.as_str(), &r.1));
        let picked = units.pick(&rows, max, &held);
        let in_batch = RowSet::of(picked.iter().map(|(t, k)| (t.as_str(), k)));
        let log: Vec<LogEntry> = log
            .into_iter()
            .filter_map(|mut e| {
                e.keys.retain(|k| in_batch.contains(&(e.table.as_str(), k)));
                (!e.keys.is_empty()).then_some(e)
            })
            .collect();
        let mut batch = Batch {
            client_id: String::new(),
            upto_seq,
            mutations: Vec::new(),
            base_rows: Vec::new(),
        };
        let mut next_id = Self::meta_get(&tx, "nextMutationId")
            .await?
            .as_f64()
            .unwrap_or(1.0) as u64;
        let mut changes = coalesced(&tx, &log, &stores, &include, usize::MAX).await?;
        // A unit's rows follow its first row (`Units::pick`'s order).
        let position = |m: &Mutation| {
            picked
                .iter()
                .position(|(t, k)| *t == m.table && *k == m.key)
                .unwrap_or(usize::MAX)
        };
        offline_tables_core::sort::sort_by(&mut changes, |a, b| {
            position(&a.mutation).cmp(&position(&b.mutation))
        });
        for p in changes {
            let m = p.mutation;
            let unit = units.unit_of(&m.table, &m.key).map(str::to_string);
            let temp_key = m.op == MutationOp::Insert && is_temp_key(&m.key);
            batch.mutations.push(PushMutation {
                id: next_id,
                table: m.table,
                key: m.key,
                op: m.op,
                row: to_json(&p.row, ctx)?,
                columns: None,
                base_version: m.base_version,
                unit,
                temp_key,
            });
            batch.base_rows.push(m.base_row);
            next_id += 1;
        }
        if batch.mutations.is_empty() {
            tx.abort().await;
            return Ok(None);
        }
        batch.client_id = match Self::meta_get(&tx, "clientId").await?.as_string() {
            Some(id) => id,
            None => random_id(),
        };
        let meta = tx.store(META)?;
        // Our own types always serialize; the message does not format serde_json's error
        // (whose `Display` would link `std::io::Error`'s into the wasm).
        let text = serde_json::to_string(&batch)
            .map_err(|_| Error::storage(format!("{ctx}: the batch does not serialize")))?;
        let writes = put_at(&meta, &text.into(), &"inflight".into())
            .and_then(|_| put_at(&meta, &(next_id as f64).into(), &"nextMutationId".into()))
            .and_then(|_| put_at(&meta, &batch.client_id.as_str().into(), &"clientId".into()))
            .map_err(|e| tx.fail(e));
        drop(meta);
        tx.commit_or_abort(writes).await?;
        Ok(Some(batch))
    }
}

impl Db {
    /// This store's client id for the sync protocol, created on first use.
    pub async fn client_id(&self) -> Result<String> {
        let ctx = "reading the client id";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[META], true, ctx)?;
        if let Some(id) = Self::meta_get(&tx, "clientId").await?.as_string() {
            tx.abort().await;
            return Ok(id);
        }
        let id = random_id();
        let written = tx.store(META).and_then(|m| {
            put_at(&m, &id.as_str().into(), &"clientId".into()).map_err(|e| tx.fail(e))
        });
        tx.commit_or_abort(written).await?;
        Ok(id)
    }
}

impl Db {
    /// The user this store belongs to, once bound (by `open({ user })` or by the first
    /// pull, which says whose token it was).
    pub async fn user(&self) -> Result<Option<String>> {
        let ctx = "reading the store's user";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[META], false, ctx)?;
        Ok(Self::meta_get(&tx, "user").await?.as_string())
    }

    /// Binds the store to `user` if it is not bound yet; `user_mismatch` if it belongs to
    /// another user (nothing changes then).
    pub async fn bind_user(&self, user: &str) -> Result<()> {
        let ctx = "binding the store to its user";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[META], true, ctx)?;
        match Self::meta_get(&tx, "user").await?.as_string() {
            Some(u) if u == user => {
                tx.abort().await;
                Ok(())
            }
            Some(u) => {
                tx.abort().await;
                Err(Error::new(
                    ErrorCode::UserMismatch,
                    format!(
                        "store '{}' belongs to user '{u}', not '{user}': sign in as '{u}', or delete it with OfflineStore.deleteDatabase",
                        self.name
                    ),
                ))
            }
            None => {
                let written = tx
                    .store(META)
                    .and_then(|m| put_at(&m, &user.into(), &"user".into()).map_err(|e| tx.fail(e)));
                tx.commit_or_abort(written).await
            }
        }
    }
}
