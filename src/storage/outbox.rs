//! Pending changes: reads the outbox log, the bases and the current rows, and lets the
//! core coalesce them into one mutation per row. Also the per-row sync metadata.

use super::records::{self, base_key, parse_base, version_max, OutboxRecord, StoredEntry};
pub(crate) use super::records::{key_js, key_of};
use super::tx::{delete, get, or_undefined, put, Tx};
use super::{Db, BASE, META, OUTBOX};
use crate::error::{Error, Result};
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use js_sys::Array;
use offline_tables_core::outbox::dirty_rows;
use offline_tables_core::{coalesce, Base, Key, LogEntry, Mutation, MutationOp};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// A pending change: the coalesced mutation (its `row` left empty) and the stored row.
pub struct Pending {
    pub mutation: Mutation,
    pub row: JsValue,
}

/// A pending change as the app sees it (`PendingChange` in types.d.ts): the row is the
/// stored JS object itself.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PendingChange<'a> {
    table: &'a str,
    key: &'a Key,
    op: MutationOp,
    #[serde(with = "serde_wasm_bindgen::preserve")]
    row: JsValue,
    base_version: &'a Option<String>,
    base_row: &'a Option<Value>,
}

impl Pending {
    /// `{ table, key, op, row, baseVersion, baseRow }` for JS.
    pub fn to_js(&self) -> Result<JsValue> {
        let m = &self.mutation;
        let row = match self.row.is_undefined() {
            true => JsValue::NULL,
            false => self.row.clone(),
        };
        records::to_js(
            &PendingChange {
                table: &m.table,
                key: &m.key,
                op: m.op,
                row,
                base_version: &m.base_version,
                base_row: &m.base_row,
            },
            "reading pending changes",
        )
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

/// A stored row as JSON; None when undefined. Through JSON.stringify, so undefined
/// columns drop out exactly as they do on the wire.
pub(crate) fn to_json(v: &JsValue, ctx: &str) -> Result<Option<Value>> {
    if v.is_undefined() {
        return Ok(None);
    }
    super::js::from_js(v, false)
        .map(Some)
        .map_err(|e| Error::storage(format!("{ctx}: reading a stored value: {e}")))
}

/// The coalesced pending changes of the rows `log` touched, in order of first write,
/// for tables `include` accepts (rows of tables without a store read as deleted). Reads
/// rows and bases a chunk at a time, all requests of a chunk issued before awaiting, and
/// stops once `limit` changes are found.
pub(crate) async fn coalesced(
    tx: &Tx<'_>,
    log: &[LogEntry],
    stores: &[String],
    include: &dyn Fn(&str) -> bool,
    limit: usize,
) -> Result<Vec<Pending>> {
    let ctx = tx.context();
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
                true => Some(get(&tx.store(table)?, &k).map_err(|e| tx.fail(e))?),
                false => None,
            };
            let base = get(&base_store, &base_key(table, &k)).map_err(|e| tx.fail(e))?;
            reqs.push((row, base));
        }
        for ((seq, table, key), (row, base)) in chunk.iter().zip(reqs) {
            let row = match row {
                Some(r) => or_undefined(tx.wait(r).await?),
                None => JsValue::UNDEFINED,
            };
            let base = parse_base(tx.wait(base).await?, ctx)?;
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
    tx: &Tx<'_>,
    outbox: &ObjectStore<'_>,
    log: &[LogEntry],
    settled: impl Fn(&LogEntry, &Key) -> bool,
) -> Result<()> {
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
            delete(outbox, &(e.seq as f64).into()).map_err(|e| tx.fail(e))?;
        } else {
            let entry = OutboxRecord {
                seq: Some(e.seq),
                t: &e.table,
                k: keep.into(),
                op: "put",
                u: e.unit.as_deref(),
            };
            put(outbox, &records::to_js(&entry, tx.context())?).map_err(|e| tx.fail(e))?;
        }
    }
    Ok(())
}

pub(crate) async fn read_log(tx: &Tx<'_>, store: &ObjectStore<'_>) -> Result<Vec<LogEntry>> {
    let ctx = tx.context();
    let all = store
        .get_all::<JsValue>()
        .primitive()
        .map_err(|e| tx.fail(e))?
        .await
        .map_err(|e| tx.fail(e))?;
    let mut log = Vec::with_capacity(all.len());
    for e in all {
        let e: StoredEntry =
            serde_wasm_bindgen::from_value(e.map_err(|e| tx.fail(e))?).map_err(|e| {
                Error::storage(format!("{ctx}: the outbox holds a malformed entry: {e}"))
            })?;
        log.push(LogEntry {
            seq: e.seq,
            table: e.table,
            keys: e.keys,
            unit: e.unit,
        });
    }
    Ok(log)
}

impl Db {
    /// Every pending change, coalesced per row, in the order of first write. The row of
    /// each is the stored JS object itself (never converted), so what will be pushed is
    /// exactly what the app wrote.
    pub async fn pending(&self) -> Result<Vec<Pending>> {
        let ctx = "reading pending changes";
        let stores = self.all_stores()?;
        let refs: Vec<&str> = stores.iter().map(String::as_str).collect();
        let conn = self.conn()?;
        let tx = self.tx(&conn, &refs, false, ctx)?;
        let log = read_log(&tx, &tx.store(OUTBOX)?).await?;
        coalesced(&tx, &log, &stores, &|_| true, usize::MAX).await
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
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[table, OUTBOX, BASE, META], false, &ctx)?;
        let fail = |e| tx.fail(e);
        let row_req = get(&tx.store(table)?, key).map_err(fail)?;
        let base_req = get(&tx.store(BASE)?, &base_key(table, key)).map_err(fail)?;
        let checkpoints = super::checkpoints::Pending::issue(&tx, &tx.store(META)?)?;
        let log = read_log(&tx, &tx.store(OUTBOX)?).await?;
        let row = or_undefined(tx.wait(row_req).await?);
        let base = parse_base(tx.wait(base_req).await?, &ctx)?;
        let checkpoint = checkpoints.read(&tx).await?.of(table);
        let k = records::key_of(key).ok_or_else(|| {
            Error::invalid_argument("meta: key must be a string or a finite number")
        })?;
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
