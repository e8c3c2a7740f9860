//! Full resync: in one transaction, every synced row and base is dropped and every
//! checkpoint cleared, keeping rows with pending changes or kept conflicts (protocol §4,
//! rule 7); the next pulls bring back what the server still has.

use super::checkpoints::{CHECKPOINTS, LEGACY};
use super::outbox::read_log;
use super::pull_apply::{kept_conflicts, INITIAL_SYNC};
use super::records::{self, base_key, key_js, RowSet};
use super::tx::delete;
use super::{Db, Tx, BASE, CONFLICTS, META, OUTBOX};
use crate::driver::events::Source;
use crate::error::Result;
use indexed_db_futures::prelude::*;
use offline_tables_core::Key;
use wasm_bindgen::prelude::*;

/// The keys a getAllKeys read, as `T`.
async fn all_keys<T: serde::de::DeserializeOwned>(
    tx: &Tx<'_>,
    req: indexed_db_futures::future::GetAllPrimitiveRequest<JsValue>,
    what: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for k in req.await.map_err(|e| tx.fail(e))? {
        out.push(records::from_js(
            k.map_err(|e| tx.fail(e))?,
            what,
            tx.context(),
        )?);
    }
    Ok(out)
}

impl Db {
    /// Prepares a full resync, in one transaction: every row without a pending change or
    /// a kept conflict is dropped with its base (the next pulls bring back what the
    /// server still has); rows with pending changes or kept conflicts stay, with their
    /// bases; the checkpoint is cleared.
    pub async fn reset_for_resync(&self) -> Result<()> {
        let ctx = "preparing a full resync";
        let profile = self.profile();
        let tables: Vec<&str> = profile.tables.keys().map(String::as_str).collect();
        let mut stores = tables.clone();
        stores.extend([OUTBOX, BASE, META, CONFLICTS]);
        let conn = self.conn()?;
        let tx = self.tx(&conn, &stores, true, ctx)?;
        let log = read_log(&tx, &tx.store(OUTBOX)?).await?;
        let kept = kept_conflicts(&tx).await?;
        let keep = RowSet::of(
            kept.iter().map(|(t, k)| (t.as_str(), k)).chain(
                log.iter()
                    .flat_map(|e| e.keys.iter().map(|k| (e.table.as_str(), k))),
            ),
        );
        let mut reads = Vec::new();
        for t in &tables {
            let s = tx.store(t)?;
            reads.push(
                s.get_all_keys::<JsValue>()
                    .primitive()
                    .map_err(|e| tx.fail(e))?,
            );
        }
        let base_store = tx.store(BASE)?;
        let bases = base_store
            .get_all_keys::<JsValue>()
            .primitive()
            .map_err(|e| tx.fail(e))?;
        let mut keys: Vec<Vec<Key>> = Vec::new();
        for req in reads {
            keys.push(all_keys(&tx, req, "a key").await?);
        }
        let bases: Vec<(String, Key)> = all_keys(&tx, bases, "a base key").await?;
        let drop = RowSet::of(
            tables
                .iter()
                .zip(&keys)
                .flat_map(|(t, ks)| ks.iter().map(move |k| (*t, k)))
                .chain(
                    bases
                        .iter()
                        .filter(|(t, _)| profile.tables.contains_key(t))
                        .map(|(t, k)| (t.as_str(), k)),
                ),
        );
        let mut dropped = super::Touched::default();
        let mut drop_all = || -> Result<()> {
            let fail = |e| tx.fail(e);
            for &(table, key) in drop.iter().filter(|id| !keep.contains(id)) {
                let k = key_js(key);
                delete(&base_store, &base_key(table, &k)).map_err(fail)?;
                delete(&tx.store(table)?, &k).map_err(fail)?;
                dropped.add_row(table, &k, &JsValue::UNDEFINED);
            }
            let meta = tx.store(META)?;
            for k in [LEGACY, CHECKPOINTS, INITIAL_SYNC] {
                delete(&meta, &k.into()).map_err(fail)?;
            }
            Ok(())
        };
        let written = drop_all();
        std::mem::drop(base_store);
        tx.commit_or_abort(written).await?;
        dropped.emit(&self.events, Source::Remote);
        Ok(())
    }
}
