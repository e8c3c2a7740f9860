//! Applies the server's changes to the local store in one transaction: rows, the bases
//! of rows with local changes (server row and version) and, for a pulled page, the new checkpoint, so the
//! checkpoint never runs ahead of the data it covers. A row with pending local changes
//! keeps its local state on top; only its base moves (the change is rebased).

use super::outbox::{
    base_key, coalesce_present, drop_from_log, key_js, parse_base, read_log, to_js,
};
use super::{wait, Db, Tx, BASE, CONFLICTS, META, OUTBOX};
use crate::driver::events::Source;
use crate::error::Result;
use js_sys::Array;
use offline_tables_core::protocol::wire::{self, FromValue};
use offline_tables_core::protocol::{Change, PullResponse};
use offline_tables_core::Key;
use serde_json::Value;

/// The `_meta` key set once a first download ran to its end.
const INITIAL_SYNC: &str = "initialSyncDone";

/// A kept conflict's row, `(table, key)`, read from the stored conflict.
struct ConflictId(String, Key);

impl FromValue for ConflictId {
    fn from_value(v: Value) -> std::result::Result<Self, wire::E> {
        let mut f = wire::Fields::of(v, "a kept conflict")?;
        Ok(ConflictId(f.string("table")?, f.key("key")?))
    }
}

/// Rows named by `(table, key)`, borrowed, sorted and searched by halves: the one set type
/// the storage layer uses. Built whole, then only read: a sorted list does that with the
/// one sort the wasm carries (`offline_tables_core::sort`), where each `BTreeSet` element
/// type was another few kB of wasm.
pub(super) struct RowSet<'a>(Vec<(&'a str, &'a Key)>);

impl<'a> RowSet<'a> {
    pub(super) fn of(ids: impl IntoIterator<Item = (&'a str, &'a Key)>) -> RowSet<'a> {
        let mut v: Vec<(&'a str, &'a Key)> = ids.into_iter().collect();
        offline_tables_core::sort::sort(&mut v);
        v.dedup();
        RowSet(v)
    }

    pub(super) fn contains(&self, id: &(&str, &Key)) -> bool {
        self.0.binary_search_by(|p| p.cmp(id)).is_ok()
    }

    /// The rows in (table, key) order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &(&'a str, &'a Key)> {
        self.0.iter()
    }
}

/// The set of `ids`.
pub(super) fn row_set<'a>(ids: impl IntoIterator<Item = &'a (String, Key)>) -> RowSet<'a> {
    RowSet::of(ids.into_iter().map(|(t, k)| (t.as_str(), k)))
}

/// The rows with a conflict kept for the app, as (table, key), read in `tx`.
pub(super) async fn kept_conflicts(tx: &Tx, ctx: &str) -> Result<Vec<(String, Key)>> {
    let kept = wait(
        &tx.store(CONFLICTS)?.get_all().map_err(|e| tx.fail(e))?,
        ctx,
    )
    .await?;
    let kept: Vec<ConflictId> = super::js::from_js(&kept, false).map_err(|e| {
        crate::error::Error::storage(format!("{ctx}: a kept conflict is malformed: {e}"))
    })?;
    Ok(kept.into_iter().map(|c| (c.0, c.1)).collect())
}

/// One change from the server: an upsert (`row` is Some) or a removal.
#[derive(Debug, Clone)]
pub struct RemoteChange {
    pub table: String,
    pub key: Key,
    pub version: String,
    pub row: Option<Value>,
}

impl Db {
    /// Applies server changes without a checkpoint (for tests): with no checkpoint to
    /// bound their versions, every row's base keeps its version.
    pub async fn apply_remote(&self, changes: &[RemoteChange]) -> Result<()> {
        self.apply_changes(changes, None).await
    }

    /// Applies a pulled page and stores its checkpoint in the same transaction. Change
    /// kinds this client does not know, and tables outside its profile, are skipped.
    pub async fn apply_page(&self, page: &PullResponse) -> Result<()> {
        let changes: Vec<RemoteChange> = page
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Upsert {
                    table,
                    key,
                    version,
                    row,
                } => Some(RemoteChange {
                    table: table.clone(),
                    key: key.clone(),
                    version: version.clone(),
                    row: Some(row.clone()),
                }),
                Change::Remove {
                    table,
                    key,
                    version,
                    ..
                } => Some(RemoteChange {
                    table: table.clone(),
                    key: key.clone(),
                    version: version.clone(),
                    row: None,
                }),
                Change::Unknown => None,
            })
            .filter(|c| self.profile().tables.contains_key(&c.table))
            .collect();
        self.apply_changes(&changes, Some(&page.checkpoint)).await
    }

    /// True once a first download ran to its end (cleared by a full resync).
    pub async fn initial_sync_done(&self) -> Result<bool> {
        let ctx = "reading the first download's state";
        let tx = self.tx(&[META], false, ctx)?;
        let req = tx
            .store(META)?
            .get(&INITIAL_SYNC.into())
            .map_err(|e| tx.fail(e))?;
        Ok(wait(&req, ctx).await?.as_bool() == Some(true))
    }

    /// Records that the first download reached its end.
    pub async fn mark_initial_sync_done(&self) -> Result<()> {
        let ctx = "recording the end of the first download";
        let tx = self.tx(&[META], true, ctx)?;
        let written = tx
            .store(META)?
            .put_with_key(&true.into(), &INITIAL_SYNC.into())
            .map(|_| ());
        Self::commit_or_abort(tx, written).await
    }

    /// The checkpoint of the last page applied, if any.
    pub async fn checkpoint(&self) -> Result<Option<String>> {
        let ctx = "reading the checkpoint";
        let tx = self.tx(&[META], false, ctx)?;
        let req = tx
            .store(META)?
            .get(&"checkpoint".into())
            .map_err(|e| tx.fail(e))?;
        Ok(wait(&req, ctx).await?.as_string())
    }

    async fn apply_changes(
        &self,
        changes: &[RemoteChange],
        checkpoint: Option<&str>,
    ) -> Result<()> {
        let ctx = "applying server changes";
        let mut tables: Vec<&str> = changes.iter().map(|c| c.table.as_str()).collect();
        offline_tables_core::sort::sort(&mut tables);
        tables.dedup();
        for t in &tables {
            self.table(t)?;
        }
        let mut stores = tables.clone();
        stores.extend([OUTBOX, BASE, META, CONFLICTS]);
        let tx = self.tx(&stores, true, ctx)?;
        let outbox = tx.store(OUTBOX)?;
        let log = read_log(&outbox, ctx).await?;
        let logged = RowSet::of(
            log.iter()
                .flat_map(|e| e.keys.iter().map(move |k| (e.table.as_str(), k))),
        );
        let base_store = tx.store(BASE)?;
        // A logged key whose local writes cancelled out (put then delete of a row the
        // server never had) has nothing pending: the server's row is taken, and the
        // key leaves the log so it does not look pending later.
        let mut checks = Vec::new();
        for c in changes
            .iter()
            .filter(|c| logged.contains(&(c.table.as_str(), &c.key)))
        {
            let k = key_js(&c.key);
            let row = tx
                .tx
                .object_store(&c.table)
                .and_then(|s| s.get(&k))
                .map_err(|e| tx.fail(e))?;
            let base = base_store
                .get(&base_key(&c.table, &k))
                .map_err(|e| tx.fail(e))?;
            checks.push((c, row, base));
        }
        let mut dirty = Vec::new();
        let mut stale = Vec::new();
        for (c, row, base) in checks {
            let row = wait(&row, ctx).await?;
            let base = parse_base(&wait(&base, ctx).await?, ctx)?;
            let id = (c.table.as_str(), &c.key);
            if coalesce_present(0, &c.table, &c.key, base.as_ref(), &row).is_some() {
                dirty.push(id);
            } else {
                stale.push(id);
            }
        }
        // A row with a conflict kept for the app stays as the user left it, like a
        // pending one: only its base moves.
        let kept = kept_conflicts(&tx, ctx).await?;
        let kept = row_set(&kept);
        for c in changes {
            if kept.contains(&(c.table.as_str(), &c.key)) {
                dirty.push((c.table.as_str(), &c.key));
            }
        }
        let (dirty, stale) = (RowSet::of(dirty), RowSet::of(stale));
        let mut touched = super::Touched::default();
        let meta = tx.store(META)?;
        // The page's rows as JavaScript objects in one JSON.parse, not one conversion per row.
        let rows: Vec<Option<&Value>> = changes.iter().map(|c| c.row.as_ref()).collect();
        let rows_js: Array = wasm_bindgen::JsCast::unchecked_into(to_js(&rows));
        let mut apply = || -> Result<(), wasm_bindgen::JsValue> {
            if let Some(cp) = checkpoint {
                meta.put_with_key(&cp.into(), &"checkpoint".into())?;
            }
            drop_from_log(&outbox, &log, |e, k| stale.contains(&(e.table.as_str(), k)))?;
            for (i, c) in changes.iter().enumerate() {
                let k = key_js(&c.key);
                let store = tx.tx.object_store(&c.table)?;
                let local_on_top = dirty.contains(&(c.table.as_str(), &c.key));
                match &c.row {
                    Some(_) => {
                        // Under a local change the base takes the server's row and version
                        // (the change is rebased on them). Otherwise the table takes the
                        // row, and a page's checkpoint bounds its version: no base is
                        // written, so a download writes each row once (see `Base`).
                        let row_js = rows_js.get(i as u32);
                        if local_on_top || checkpoint.is_none() {
                            let row = local_on_top.then_some(&row_js);
                            base_store.put_with_key(
                                &base_of(&c.version, row)?,
                                &base_key(&c.table, &k),
                            )?;
                        }
                        if !local_on_top {
                            store.put(&row_js)?;
                        }
                    }
                    None if local_on_top => {
                        // The local change stays; its base records that the server's
                        // row is gone (`row: null`, protocol §4 rule 4), so the change
                        // is pushed against that version, not as an insert that would
                        // re-create the row, and a kept conflict settles on it.
                        let gone = base_of(&c.version, Some(&wasm_bindgen::JsValue::NULL))?;
                        base_store.put_with_key(&gone, &base_key(&c.table, &k))?;
                    }
                    None => {
                        base_store.delete(&base_key(&c.table, &k))?;
                        store.delete(&k)?;
                    }
                }
                if !local_on_top {
                    touched.add(&c.table, &k);
                }
            }
            Ok(())
        };
        if let Err(e) = apply() {
            let err = tx.fail(e);
            tx.abort().await;
            return Err(err);
        }
        tx.commit().await?;
        touched.emit(&self.events, Source::Remote);
        Ok(())
    }
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
        let tx = self.tx(&stores, true, ctx)?;
        let log = read_log(&tx.store(OUTBOX)?, ctx).await?;
        let kept = kept_conflicts(&tx, ctx).await?;
        let keep = RowSet::of(
            kept.iter().map(|(t, k)| (t.as_str(), k)).chain(
                log.iter()
                    .flat_map(|e| e.keys.iter().map(|k| (e.table.as_str(), k))),
            ),
        );
        let mut reads = Vec::new();
        for t in &tables {
            reads.push(tx.store(t)?.get_all_keys().map_err(|e| tx.fail(e))?);
        }
        let base_store = tx.store(BASE)?;
        let bases = base_store.get_all_keys().map_err(|e| tx.fail(e))?;
        let mut keys: Vec<Vec<Key>> = Vec::new();
        for req in &reads {
            keys.push(
                super::js::from_js(&wait(req, ctx).await?, false).map_err(|e| {
                    crate::error::Error::storage(format!("{ctx}: a key is malformed: {e}"))
                })?,
            );
        }
        let bases: Vec<(String, Key)> = super::js::from_js(&wait(&bases, ctx).await?, false)
            .map_err(|e| {
                crate::error::Error::storage(format!("{ctx}: a base key is malformed: {e}"))
            })?;
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
        let mut drop_all = || -> std::result::Result<(), wasm_bindgen::JsValue> {
            for &(table, key) in drop.iter().filter(|id| !keep.contains(id)) {
                let k = key_js(key);
                base_store.delete(&base_key(table, &k))?;
                tx.tx.object_store(table)?.delete(&k)?;
                dropped.add(table, &k);
            }
            let meta = tx.store(META).map_err(|e| e.to_js())?;
            meta.delete(&"checkpoint".into())?;
            meta.delete(&INITIAL_SYNC.into())?;
            Ok(())
        };
        let written = drop_all();
        Self::commit_or_abort(tx, written).await?;
        dropped.emit(&self.events, Source::Remote);
        Ok(())
    }
}

/// A base `{ version, row? }` built in JS (the pulled row is already a JS value).
fn base_of(
    version: &str,
    row: Option<&wasm_bindgen::JsValue>,
) -> std::result::Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue> {
    let base = js_sys::Object::new();
    js_sys::Reflect::set(&base, &"version".into(), &version.into())?;
    if let Some(r) = row {
        js_sys::Reflect::set(&base, &"row".into(), r)?;
    }
    Ok(base.into())
}
