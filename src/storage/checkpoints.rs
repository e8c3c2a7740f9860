//! Per-table checkpoints in `_meta`: `checkpoints` maps each table to the checkpoint of
//! its last applied page (protocol §4, revision 2), `lastPull` to the time its last pull
//! ran to its end. Stores from before keep one `checkpoint` for every table; a table
//! without its own entry reads that one, so they carry on where they were.

use super::tx::{meta_get, put_at, Req};
use super::Tx;
use crate::error::Result;
use indexed_db_futures::object_store::ObjectStore;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

/// The `_meta` key of the per-table checkpoints.
pub(super) const CHECKPOINTS: &str = "checkpoints";
/// The `_meta` key of the one checkpoint of stores from before per-table checkpoints.
pub(super) const LEGACY: &str = "checkpoint";
/// The `_meta` key of each table's last complete pull (ms since the epoch).
pub(super) const LAST_PULL: &str = "lastPull";

/// The checkpoints as read in a transaction.
pub(crate) struct Checkpoints {
    own: Object,
    legacy: Option<String>,
}

/// The two reads of `Checkpoints::read`, issued together.
pub(super) struct Pending(Req<Option<JsValue>>, Req<Option<JsValue>>);

impl Pending {
    pub(super) fn issue(tx: &Tx<'_>, meta: &ObjectStore<'_>) -> Result<Pending> {
        let fail = |e| tx.fail(e);
        Ok(Pending(
            meta_get(meta, CHECKPOINTS).map_err(fail)?,
            meta_get(meta, LEGACY).map_err(fail)?,
        ))
    }

    pub(super) async fn read(self, tx: &Tx<'_>) -> Result<Checkpoints> {
        let own = tx
            .wait(self.0)
            .await?
            .and_then(|v| v.dyn_into::<Object>().ok());
        let legacy = tx.wait(self.1).await?.and_then(|v| v.as_string());
        Ok(Checkpoints {
            own: own.unwrap_or_default(),
            legacy,
        })
    }
}

impl Checkpoints {
    /// The checkpoint `table` was last pulled to, if any.
    pub(crate) fn of(&self, table: &str) -> Option<String> {
        Reflect::get(&self.own, &table.into())
            .ok()
            .and_then(|v| v.as_string())
            .or_else(|| self.legacy.clone())
    }

    /// Issues the write of `moves` (table, new checkpoint) onto these.
    pub(super) fn write(
        &self,
        tx: &Tx<'_>,
        meta: &ObjectStore<'_>,
        moves: &[(&str, &str)],
    ) -> Result<()> {
        for (t, c) in moves {
            let _ = Reflect::set(&self.own, &(*t).into(), &(*c).into());
        }
        put_at(meta, &self.own, &CHECKPOINTS.into()).map_err(|e| tx.fail(e))
    }
}

/// Issues the write of `at` as the last complete pull of `tables`, onto `previous` (the
/// stored value, undefined when none).
pub(super) fn write_last_pull(
    tx: &Tx<'_>,
    meta: &ObjectStore<'_>,
    previous: JsValue,
    tables: &[&str],
    at: f64,
) -> Result<()> {
    let o: Object = previous.dyn_into().unwrap_or_default();
    for t in tables {
        let _ = Reflect::set(&o, &(*t).into(), &at.into());
    }
    put_at(meta, &o, &LAST_PULL.into()).map_err(|e| tx.fail(e))
}

/// The lowest of `checkpoints` (None while any is None, or when there are none).
pub fn lowest(checkpoints: &[(String, Option<String>)]) -> Option<String> {
    let mut out: Option<(u64, &String)> = None;
    for (_, c) in checkpoints {
        let c = c.as_ref()?;
        let n = c.parse::<u64>().ok()?;
        if out.map_or(true, |(m, _)| n < m) {
            out = Some((n, c));
        }
    }
    out.map(|(_, c)| c.clone())
}
