//! A local write and its outbox entry, with the bases it must capture first.
//!
//! A synced row the app has not edited since it was downloaded has no base: the table
//! holds the server's row, and the checkpoint bounds its version. Before a local write
//! replaces or deletes such rows, their bases are captured: the server's row (what a
//! conflict merges against and a refusal reverts to) and a version at or after the row's
//! (its settled version, or the checkpoint, whichever is later). A row the app created
//! here (not on the server yet) has no base either, and must not be captured: a write of
//! a few rows gives each new row the base `LOCAL`, so a later write tells it from a
//! downloaded row at once; a bulk write does not (one more record per row made `bulkPut`
//! 2.6 times slower) but sets `unmarked` in `_meta`. While `unmarked` is set, a write that
//! meets a row with no base reads the outbox to tell (rows still pending were created
//! here), marks `LOCAL` every row the bulk writes in it created, and clears `unmarked`; so
//! the outbox is read once per bulk write at most. A delete drops `LOCAL` with the row.
//!
//! Everything runs in the caller's transaction: the reads go out before the caller's
//! writes (requests run in order, so they see the rows as they were), the bases after.

use super::records::{
    self, base_key, key_js, key_of, version_max, BaseRecord, OutboxRecord, StoredEntry,
};
use super::tx::{delete, get, meta_get, put_at, Req, Tx};
use super::{BASE, META, OUTBOX};
use crate::error::{Error, Result};
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::KeyRange;
use js_sys::Array;
use offline_tables_core::Key;
use wasm_bindgen::prelude::*;

/// Up to this many keys a write reads each row and base by key; more (a bulk write) read
/// the table's keys and bases over the written key range at once, then only the rows
/// that need a capture, so a bulk insert of new rows costs three reads, not two per row.
const FEW: usize = 16;

/// A synced row whose base is captured: its key, base key, base version and row.
struct Found {
    key: JsValue,
    bk: JsValue,
    version: Option<String>,
    row: JsValue,
}

/// What the reads before the write tell.
#[derive(Default)]
struct Sorted {
    found: Vec<Found>,
    /// Rows with no row and no base: new rows (unless the write deletes).
    fresh: Vec<JsValue>,
    /// Rows whose base is `LOCAL` (dropped, if the write deletes).
    local: Vec<JsValue>,
    /// A bulk write creates rows it does not mark (`unmarked`).
    bulk_fresh: bool,
}

/// A read issued before the write.
enum Read {
    /// One key: its base and its row.
    Few(JsValue, JsValue, Req<Option<JsValue>>, Req<Option<JsValue>>),
    /// A row of a bulk write that needs a capture, with its base's version.
    Take(JsValue, JsValue, Option<String>, Req<Option<JsValue>>),
}

/// Issues a local write on `keys` of `table` (`write`) and its outbox entry (`op`),
/// capturing the bases of synced rows it overwrites; resolves once all is issued (the
/// caller commits).
pub(super) async fn write_logged(
    tx: &Tx<'_>,
    store: &ObjectStore<'_>,
    table: &str,
    keys: &Array,
    op: &str,
    // `dyn`, not generic: one copy of this (large) future in the wasm, not one per caller.
    write: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let fail = |e| tx.fail(e);
    let (bases, meta, outbox) = (tx.store(BASE)?, tx.store(META)?, tx.store(OUTBOX)?);
    let checkpoints = super::checkpoints::Pending::issue(tx, &meta)?;
    let unmarked = meta_get(&meta, "unmarked").map_err(fail)?;
    let mut sorted = Sorted::default();
    let mut reads = Vec::new();
    if keys.length() as usize <= FEW {
        for k in keys.iter() {
            let bk = base_key(table, &k);
            let base = get(&bases, &bk).map_err(fail)?;
            let row = get(store, &k).map_err(fail)?;
            reads.push(Read::Few(k, bk, base, row));
        }
    } else {
        reads = bulk_reads(tx, store, &bases, table, keys, &mut sorted).await?;
    }
    write()?;
    let record = OutboxRecord {
        seq: None,
        t: table,
        k: keys.clone().into(),
        op,
        u: tx.unit(),
    };
    let added = outbox
        .add(records::to_js(&record, tx.context())?)
        .with_key_type::<JsValue>()
        .primitive()
        .map_err(fail)?;
    let seq = tx.wait(added).await?;
    // The table's own checkpoint bounds the version of a row downloaded and not edited.
    let checkpoint = checkpoints.read(tx).await?.of(table);
    let unmarked = tx.wait(unmarked).await?.and_then(|v| v.as_bool()) == Some(true);
    for read in reads {
        match read {
            Read::Few(key, bk, base, row) => {
                let base = tx.wait(base).await?;
                let row = tx.wait(row).await?;
                let base: Option<BaseRecord> = base
                    .map(|b| records::from_js(b, "a stored base", tx.context()))
                    .transpose()?;
                let is_local = base.as_ref().is_some_and(BaseRecord::is_local);
                if is_local {
                    sorted.local.push(bk.clone());
                } else if row.is_none() && base.is_none() {
                    sorted.fresh.push(bk.clone());
                }
                if let Some(row) = row {
                    if needs_capture(base.as_ref()) {
                        let version = base.and_then(|b| b.version);
                        sorted.found.push(Found {
                            key,
                            bk,
                            version,
                            row,
                        });
                    }
                }
            }
            Read::Take(key, bk, version, row) => {
                if let Some(row) = tx.wait(row).await? {
                    sorted.found.push(Found {
                        key,
                        bk,
                        version,
                        row,
                    });
                }
            }
        }
    }
    // Earlier writes still pending (not this one): their rows are not the server's.
    let mut pending: Vec<Key> = Vec::new();
    if !sorted.found.is_empty() && unmarked {
        pending = mark_bulk_writes(tx, &outbox, &bases, &meta, table, &seq).await?;
    }
    offline_tables_core::sort::sort(&mut pending);
    let ctx = tx.context();
    for f in sorted.found {
        let Some(version) = version_max(f.version, checkpoint.clone()) else {
            continue;
        };
        let pending_here = key_of(&f.key).is_some_and(|k| pending.binary_search(&k).is_ok());
        if !pending_here {
            put_at(&bases, &records::server_base(&version, f.row, ctx)?, &f.bk).map_err(fail)?;
        }
    }
    if op == "delete" {
        for bk in &sorted.local {
            delete(&bases, bk).map_err(fail)?;
        }
    } else {
        let local = records::local_base(ctx)?;
        for bk in &sorted.fresh {
            put_at(&bases, &local, bk).map_err(fail)?;
        }
        if sorted.bulk_fresh {
            put_at(&meta, &JsValue::TRUE, &"unmarked".into()).map_err(fail)?;
        }
    }
    Ok(())
}

/// No base, or a settled version without the server's row (and not `LOCAL`): the table
/// holds the server's row, which the write must capture.
fn needs_capture(base: Option<&BaseRecord>) -> bool {
    match base {
        None => true,
        Some(b) => !b.has_row() && !b.is_local(),
    }
}

/// The range `[lo, hi]` of `keys` (in IndexedDB's key order).
fn bounds(keys: &[(Key, JsValue)]) -> Option<(&Key, &Key)> {
    let lo = keys.iter().map(|(k, _)| k).min()?;
    let hi = keys.iter().map(|(k, _)| k).max()?;
    Some((lo, hi))
}

/// A bulk write's reads: the table's keys and the bases over the written key range,
/// then a get of each row that needs a capture (issued before the write).
async fn bulk_reads(
    tx: &Tx<'_>,
    store: &ObjectStore<'_>,
    bases: &ObjectStore<'_>,
    table: &str,
    keys: &Array,
    sorted: &mut Sorted,
) -> Result<Vec<Read>> {
    let fail = |e| tx.fail(e);
    let ctx = tx.context();
    let mut written: Vec<(Key, JsValue)> = Vec::with_capacity(keys.length() as usize);
    for k in keys.iter() {
        let key = key_of(&k).ok_or_else(|| {
            Error::invalid_argument(format!("{ctx}: a key is not a string or a number"))
        })?;
        written.push((key, k));
    }
    let Some((lo, hi)) = bounds(&written) else {
        return Ok(Vec::new());
    };
    let (lo, hi) = (key_js(lo), key_js(hi));
    let present = store
        .get_all_keys::<JsValue>()
        .with_query::<JsValue, _>(KeyRange::Bound(lo.clone(), false, hi.clone(), false))
        .primitive()
        .map_err(fail)?;
    let range = KeyRange::Bound(base_key(table, &lo), false, base_key(table, &hi), false);
    let base_keys = bases
        .get_all_keys::<JsValue>()
        .with_query::<JsValue, _>(range.clone())
        .primitive()
        .map_err(fail)?;
    let base_values = bases
        .get_all::<JsValue>()
        .with_query::<JsValue, _>(range)
        .primitive()
        .map_err(fail)?;
    let mut have: Vec<Key> = Vec::new();
    for k in present.await.map_err(fail)? {
        have.extend(key_of(&k.map_err(fail)?));
    }
    let base_keys: Vec<JsValue> = base_keys
        .await
        .map_err(fail)?
        .collect::<std::result::Result<_, _>>()
        .map_err(fail)?;
    let mut based: Vec<(Key, BaseRecord)> = Vec::with_capacity(base_keys.len());
    for (bk, v) in base_keys.iter().zip(base_values.await.map_err(fail)?) {
        let (_, key): (String, Key) = records::from_js(bk.clone(), "a base key", ctx)?;
        based.push((
            key,
            records::from_js(v.map_err(fail)?, "a stored base", ctx)?,
        ));
    }
    offline_tables_core::sort::sort(&mut have);
    offline_tables_core::sort::sort_by(&mut based, |a, b| a.0.cmp(&b.0));
    offline_tables_core::sort::sort_by(&mut written, |a, b| a.0.cmp(&b.0));
    written.dedup_by(|a, b| a.0 == b.0);
    let mut reads = Vec::new();
    for (key, k) in written {
        let base = based
            .binary_search_by(|(b, _)| b.cmp(&key))
            .ok()
            .map(|i| &based[i].1);
        if base.is_some_and(BaseRecord::is_local) {
            sorted.local.push(base_key(table, &k));
        }
        if have.binary_search(&key).is_err() {
            if base.is_none() {
                sorted.bulk_fresh = true;
            }
            continue;
        }
        if needs_capture(base) {
            let version = base.and_then(|b| b.version.clone());
            let row = get(store, &k).map_err(fail)?;
            reads.push(Read::Take(k.clone(), base_key(table, &k), version, row));
        }
    }
    Ok(reads)
}

/// With `unmarked` set: marks `LOCAL` the rows the earlier bulk writes created (their
/// keys with no base), clears `unmarked`, and returns the keys of `table` that earlier
/// writes (before the entry `seq`) left pending.
async fn mark_bulk_writes(
    tx: &Tx<'_>,
    outbox: &ObjectStore<'_>,
    bases: &ObjectStore<'_>,
    meta: &ObjectStore<'_>,
    table: &str,
    seq: &JsValue,
) -> Result<Vec<Key>> {
    let fail = |e| tx.fail(e);
    let ctx = tx.context();
    let earlier = outbox
        .get_all::<JsValue>()
        .with_query::<JsValue, _>(KeyRange::UpperBound(seq.clone(), true))
        .primitive()
        .map_err(fail)?;
    let mut entries: Vec<StoredEntry> = Vec::new();
    for e in earlier.await.map_err(fail)? {
        entries.push(records::from_js(e.map_err(fail)?, "an outbox entry", ctx)?);
    }
    let mut pending = Vec::new();
    let mut checks = Vec::new();
    for e in &entries {
        if e.table == table {
            pending.extend(e.keys.iter().cloned());
        }
        if e.keys.len() <= FEW || e.op.as_deref() == Some("delete") {
            continue;
        }
        // A bulk write's rows: LOCAL where no base exists.
        let (Some(lo), Some(hi)) = (e.keys.iter().min(), e.keys.iter().max()) else {
            continue;
        };
        let range = KeyRange::Bound(
            base_key(&e.table, &key_js(lo)),
            false,
            base_key(&e.table, &key_js(hi)),
            false,
        );
        let req = bases
            .get_all_keys::<JsValue>()
            .with_query::<JsValue, _>(range)
            .primitive()
            .map_err(fail)?;
        checks.push((e, req));
    }
    let local = records::local_base(ctx)?;
    for (e, req) in checks {
        let mut based = Vec::new();
        for bk in req.await.map_err(fail)? {
            let (_, key): (String, Key) = records::from_js(bk.map_err(fail)?, "a base key", ctx)?;
            based.push(key);
        }
        offline_tables_core::sort::sort(&mut based);
        for k in &e.keys {
            if based.binary_search(k).is_err() {
                put_at(bases, &local, &base_key(&e.table, &key_js(k))).map_err(fail)?;
            }
        }
    }
    delete(meta, &"unmarked".into()).map_err(fail)?;
    Ok(pending)
}
