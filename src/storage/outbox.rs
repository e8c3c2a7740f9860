//! Pending changes: reads the outbox log, the bases and the current rows, and lets the
//! core coalesce them into one mutation per row. Also the per-row sync metadata.

use super::{wait, Db, Tx, BASE, META, OUTBOX};
use crate::error::{Error, Result};
use js_sys::Array;
use offline_tables_core::outbox::dirty_rows;
use offline_tables_core::protocol::wire::{self, FromValue};
use offline_tables_core::{coalesce, Base, Key, LogEntry, Mutation, MutationOp};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// An outbox record as stored: `{ seq, t: table, k: [keys], op }`, read as a log entry.
struct StoredEntry(LogEntry);

impl FromValue for StoredEntry {
    fn from_value(v: Value) -> std::result::Result<Self, wire::E> {
        let mut f = wire::Fields::of(v, "an outbox entry")?;
        let seq = f.take("seq")?;
        Ok(StoredEntry(LogEntry {
            seq: seq
                .as_f64()
                .filter(|n| *n >= 0.0)
                .ok_or_else(|| wire::invalid(&seq, "a sequence number"))? as u64,
            table: f.string("t")?,
            keys: f.list("k", wire::key)?,
        }))
    }
}

/// A pending change: the coalesced mutation (its `row` left empty) and the stored row.
pub struct Pending {
    pub mutation: Mutation,
    pub row: JsValue,
}

impl Pending {
    /// `{ table, key, op, row, baseVersion, baseRow }` for JS.
    pub fn to_js(&self) -> JsValue {
        let obj = to_js(&self.mutation);
        let row = if self.row.is_undefined() {
            JsValue::NULL
        } else {
            self.row.clone()
        };
        let _ = js_sys::Reflect::set(&obj, &"row".into(), &row);
        obj
    }
}

/// Coalesces knowing only whether the row is present locally; the mutation's `row` is
/// left None, as the caller holds the stored JS row.
pub(crate) fn coalesce_present(
    seq: u64,
    table: &str,
    key: &Key,
    base: Option<&Base>,
    row: &JsValue,
) -> Option<Mutation> {
    let present = (!row.is_undefined()).then_some(&Value::Null);
    coalesce(seq, table, key, base, present).map(|mut m| {
        m.row = None;
        m
    })
}

#[derive(Serialize)]
pub struct RowMeta {
    pub version: Option<String>,
    pub pending: bool,
    pub deleted: bool,
}

pub(crate) fn base_key(table: &str, key: &JsValue) -> JsValue {
    Array::of2(&JsValue::from_str(table), key).into()
}

pub(crate) fn key_js(k: &Key) -> JsValue {
    match k {
        Key::Num(n) => JsValue::from_f64(*n),
        Key::Str(s) => JsValue::from_str(s),
    }
}

/// A stored value (row, entry, key) as JSON; None when undefined. Through JSON.stringify,
/// so undefined columns drop out exactly as they do on the wire.
pub(crate) fn to_json(v: &JsValue, ctx: &str) -> Result<Option<Value>> {
    if v.is_undefined() {
        return Ok(None);
    }
    super::js::from_js(v, false)
        .map(Some)
        .map_err(|e| Error::storage(format!("{ctx}: reading a stored value: {e}")))
}

pub(crate) use super::js::to_js;

/// The base of a row created here and not on the server yet, `{ local: true }` (see
/// `js::capture`): it reads as no base, and tells later writes the row is not the server's.
pub(crate) fn local_base() -> JsValue {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"local".into(), &true.into());
    o.into()
}

pub(crate) fn parse_base(v: &JsValue, ctx: &str) -> Result<Option<Base>> {
    if v.is_undefined() {
        return Ok(None);
    }
    // A row created here and not on the server yet (`LOCAL`, see `js::capture`).
    if js_sys::Reflect::get(v, &"local".into())
        .ok()
        .and_then(|l| l.as_bool())
        == Some(true)
    {
        return Ok(None);
    }
    // Straight from the JSON text, not through a `Value` and `serde_json::from_value`
    // (whose `Value` deserializer would be one more copy of serde's machinery in the wasm).
    super::js::from_js::<Base>(v, false)
        .map(Some)
        .map_err(|e| Error::storage(format!("{ctx}: a stored base is malformed: {e}")))
}

/// The coalesced pending changes of the rows `log` touched, in order of first write,
/// for tables `include` accepts (rows of tables without a store read as deleted). Reads
/// rows and bases a chunk at a time, all requests of a chunk issued before awaiting, and
/// stops once `limit` changes are found.
pub(crate) async fn coalesced(
    tx: &Tx,
    log: &[LogEntry],
    stores: &[String],
    include: &dyn Fn(&str) -> bool,
    limit: usize,
    ctx: &str,
) -> Result<Vec<Pending>> {
    let dirty: Vec<(u64, String, Key)> = dirty_rows(log)
        .into_iter()
        .filter(|(_, t, _)| include(t))
        .collect();
    let base_store = tx.store(BASE)?;
    let mut out = Vec::new();
    for chunk in dirty.chunks(limit.clamp(1, 500)) {
        let mut reqs = Vec::with_capacity(chunk.len());
        for (_, table, key) in chunk {
            let k = key_js(key);
            let row = match stores.contains(table) {
                true => Some(tx.store(table)?.get(&k).map_err(|e| tx.fail(e))?),
                false => None,
            };
            let base = base_store
                .get(&base_key(table, &k))
                .map_err(|e| tx.fail(e))?;
            reqs.push((row, base));
        }
        for ((seq, table, key), (row, base)) in chunk.iter().zip(reqs) {
            let row = match row {
                Some(r) => wait(&r, ctx).await?,
                None => JsValue::UNDEFINED,
            };
            let base = parse_base(&wait(&base, ctx).await?, ctx)?;
            if let Some(mutation) = coalesce_present(*seq, table, key, base.as_ref(), &row) {
                out.push(Pending { mutation, row });
            }
        }
        if out.len() >= limit {
            out.truncate(limit);
            break;
        }
    }
    Ok(out)
}

/// Drops from the logged writes every key `settled` accepts; an entry left with no key
/// goes. Writes not covered stay pending.
pub(crate) fn drop_from_log(
    outbox: &web_sys::IdbObjectStore,
    log: &[LogEntry],
    settled: impl Fn(&LogEntry, &Key) -> bool,
) -> std::result::Result<(), JsValue> {
    for e in log {
        if !e.keys.iter().any(|k| settled(e, k)) {
            continue;
        }
        let keep: Array = e
            .keys
            .iter()
            .filter(|k| !settled(e, k))
            .map(key_js)
            .collect();
        if keep.length() == 0 {
            outbox.delete(&(e.seq as f64).into())?;
        } else {
            let entry = super::js::outbox_entry(&e.table, &keep, "put");
            js_sys::Reflect::set(&entry, &"seq".into(), &(e.seq as f64).into())?;
            outbox.put(&entry)?;
        }
    }
    Ok(())
}

pub(crate) async fn read_log(store: &web_sys::IdbObjectStore, ctx: &str) -> Result<Vec<LogEntry>> {
    let all = wait(&store.get_all().map_err(|e| Error::from_js(&e, ctx))?, ctx).await?;
    let entries: Vec<StoredEntry> = super::js::from_js(&all, false)
        .map_err(|e| Error::storage(format!("{ctx}: the outbox holds a malformed entry: {e}")))?;
    Ok(entries.into_iter().map(|e| e.0).collect())
}

impl Db {
    /// Every pending change, coalesced per row, in the order of first write. The row of
    /// each is the stored JS object itself (never converted), so what will be pushed is
    /// exactly what the app wrote.
    pub async fn pending(&self) -> Result<Vec<Pending>> {
        let ctx = "reading pending changes";
        let idb = self.idb()?;
        let names = idb.object_store_names();
        let stores: Vec<String> = (0..names.length()).filter_map(|i| names.get(i)).collect();
        let refs: Vec<&str> = stores.iter().map(String::as_str).collect();
        let tx = self.tx(&refs, false, ctx)?;
        let log = read_log(&tx.store(OUTBOX)?, ctx).await?;
        coalesced(&tx, &log, &stores, &|_| true, usize::MAX, ctx).await
    }

    /// Sync state of one row; None when the row is unknown here.
    pub async fn meta(&self, table: &str, key: &JsValue) -> Result<Option<RowMeta>> {
        Ok(self.row_and_meta(table, key).await?.1)
    }

    /// The row with `key` (undefined when missing) and its sync state, read together.
    pub async fn row_and_meta(
        &self,
        table: &str,
        key: &JsValue,
    ) -> Result<(JsValue, Option<RowMeta>)> {
        self.table(table)?;
        super::write::check_key(key, "meta: key")?;
        let ctx = format!("meta on '{table}'");
        let tx = self.tx(&[table, OUTBOX, BASE, META], false, &ctx)?;
        let row_req = tx.store(table)?.get(key).map_err(|e| tx.fail(e))?;
        let base_req = tx
            .store(BASE)?
            .get(&base_key(table, key))
            .map_err(|e| tx.fail(e))?;
        let checkpoint = tx
            .store(META)?
            .get(&"checkpoint".into())
            .map_err(|e| tx.fail(e))?;
        let log = read_log(&tx.store(OUTBOX)?, &ctx).await?;
        let row = wait(&row_req, &ctx).await?;
        let base = parse_base(&wait(&base_req, &ctx).await?, &ctx)?;
        let checkpoint = wait(&checkpoint, &ctx).await?.as_string();
        let k = Key::from_json(&to_json(key, &ctx)?.unwrap_or(Value::Null), "meta: key")?;
        let dirty = log.iter().any(|e| e.table == table && e.keys.contains(&k));
        let pending = if dirty {
            coalesce_present(0, table, &k, base.as_ref(), &row)
        } else {
            None
        };
        if row.is_undefined() && base.is_none() && pending.is_none() {
            return Ok((row, None));
        }
        // A row not edited since it was downloaded is known at the checkpoint (or at
        // the version its last push settled at, if later); see `Base`.
        let version = match (base, dirty) {
            (b, true) => b.map(|b| b.version),
            (b, false) if !row.is_undefined() => version_max(b.map(|b| b.version), checkpoint),
            (b, false) => b.map(|b| b.version),
        };
        let meta = RowMeta {
            version,
            deleted: pending.as_ref().is_some_and(|m| m.op == MutationOp::Delete),
            pending: pending.is_some(),
        };
        Ok((row, Some(meta)))
    }
}

/// The later of two versions (decimal strings of unsigned integers).
fn version_max(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let later = (a.len(), a.as_str()) >= (b.len(), b.as_str());
            Some(if later { a } else { b })
        }
        (a, b) => a.or(b),
    }
}
