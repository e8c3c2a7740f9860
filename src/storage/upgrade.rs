//! The version-change path, on raw web-sys: the one part of the storage layer that does
//! not go through indexed_db_futures.
//!
//! Why: the upgrade callback of indexed_db_futures 0.6 (checked in 0.6.4) gets the event
//! and the `Database` but not the version-change transaction (upstream issue 66; the fix,
//! PR 72, is not released). Without it an upgrade cannot reach the stores that already
//! exist: add or drop an index on a table, check a table's key path, bring `_base` records
//! up to date, store the new profile in `_meta`. So a schema change (a first launch, a
//! newer profile) opens the database here at the new version, upgrades it, closes, and
//! `schema::open_at` then opens it through the crate. A launch with the schema already
//! installed never comes here.
//!
//! When upstream releases the fix: run `upgrade` from `schema::connect`'s upgrade callback
//! with the crate's transaction (`object_store`, and `create_index`/`delete_index` of its
//! `indices` feature), delete `open_upgrading` and `settle`, and drop the `Idb*` web-sys
//! features from Cargo.toml.
//!
//! `AbortCause` (last in this file) is the other gap: 0.6's `Transaction::commit` reports a
//! transaction the browser aborted as `UnexpectedDataError::TransactionAborted`, without
//! the transaction's `error`, and Chromium reports a full quota at commit only there (an
//! `abort` event, no `error` event). It reads that one attribute; delete it once the crate
//! returns the cause (as `Error::DomException`).

use super::records::{self, BaseRecord, ConflictId, StoredEntry};
use super::{schema, BASE, CONFLICTS, ERRORS, META, OUTBOX};
use crate::error::{Error, FromJs, Result};
use offline_tables_core::{Key, Profile};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DomStringList, IdbDatabase, IdbFactory, IdbIndexParameters, IdbObjectStoreParameters,
    IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbVersionChangeEvent,
};

type Callbacks = Rc<RefCell<Vec<Closure<dyn FnMut(JsValue)>>>>;

fn raw_factory() -> Result<IdbFactory> {
    js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .and_then(|f| f.dyn_into::<IdbFactory>().ok())
        .ok_or_else(|| Error::storage("IndexedDB is not available in this context"))
}

fn upgrade(
    db: &IdbDatabase,
    tx: &IdbTransaction,
    profile: &Profile,
    failure: &Rc<RefCell<Option<Error>>>,
    callbacks: &Callbacks,
) -> Result<()> {
    let ctx = "upgrading the database schema";
    let fail = |e: JsValue| Error::from_js(&e, ctx);
    let names: DomStringList = db.object_store_names();
    if !names.contains(OUTBOX) {
        let p = IdbObjectStoreParameters::new();
        p.set_key_path(&"seq".into());
        p.set_auto_increment(true);
        db.create_object_store_with_optional_parameters(OUTBOX, &p)
            .map_err(fail)?;
    }
    for internal in [BASE, META, super::files::FILES, super::files::UPLOADS] {
        if !names.contains(internal) {
            db.create_object_store(internal).map_err(fail)?;
        }
    }
    if names.contains(BASE) && names.contains(CONFLICTS) {
        slim_bases(tx, &names, failure, callbacks).map_err(fail)?;
    }
    for listed in [CONFLICTS, ERRORS] {
        if !names.contains(listed) {
            let p = IdbObjectStoreParameters::new();
            p.set_key_path(&"id".into());
            p.set_auto_increment(true);
            db.create_object_store_with_optional_parameters(listed, &p)
                .map_err(fail)?;
        }
    }
    for (table, def) in &profile.tables {
        let store = if names.contains(table) {
            let store = tx.object_store(table).map_err(fail)?;
            let key_path = store.key_path().map_err(fail)?;
            if key_path.as_string().as_deref() != Some(def.key.as_str()) {
                return Err(Error::invalid_profile(format!(
                    "profile.tables.{table}.key: the table is stored with key {}, which cannot change; use a new table name",
                    super::js::describe(&key_path)
                )));
            }
            let existing = store.index_names();
            for i in 0..existing.length() {
                if let Some(idx) = existing.get(i) {
                    if !def.indexes.contains(&idx) {
                        store.delete_index(&idx).map_err(fail)?;
                    }
                }
            }
            store
        } else {
            let p = IdbObjectStoreParameters::new();
            p.set_key_path(&JsValue::from_str(&def.key));
            db.create_object_store_with_optional_parameters(table, &p)
                .map_err(fail)?
        };
        let existing = store.index_names();
        for column in &def.indexes {
            if !existing.contains(column) {
                store
                    .create_index_with_str_and_optional_parameters(
                        column,
                        column,
                        &IdbIndexParameters::new(),
                    )
                    .map_err(fail)?;
            }
        }
    }
    tx.object_store(META)
        .map_err(fail)?
        .put_with_key(&schema::profile_text(profile), &"profile".into())
        .map_err(fail)?;
    Ok(())
}

/// Opens `name` at `version` on raw web-sys, upgrading the schema to `profile` when the
/// database is older or missing, and closes it again (the store's own connection goes
/// through the crate). An upgrade that fails rolls back whole.
pub(super) async fn open_upgrading(name: &str, version: f64, profile: &Profile) -> Result<()> {
    let ctx = format!("opening database '{name}'");
    let req: IdbOpenDbRequest = raw_factory()?
        .open_with_f64(name, version)
        .map_err(|e| Error::from_js(&e, &ctx))?;
    let failure: Rc<RefCell<Option<Error>>> = Rc::default();
    let callbacks: Callbacks = Rc::default();
    let on_upgrade = {
        let req = req.clone();
        let failure = failure.clone();
        let callbacks = callbacks.clone();
        let profile = profile.clone();
        Closure::<dyn FnMut(IdbVersionChangeEvent)>::new(move |_ev: IdbVersionChangeEvent| {
            let (Ok(db), Some(tx)) = (req.result(), req.transaction()) else {
                return;
            };
            let db: IdbDatabase = db.unchecked_into();
            if let Err(e) = upgrade(&db, &tx, &profile, &failure, &callbacks) {
                *failure.borrow_mut() = Some(e);
                let _ = tx.abort();
            }
        })
    };
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let result = settle(&req, &ctx).await;
    req.set_onupgradeneeded(None);
    drop(on_upgrade);
    drop(callbacks);
    let failed = failure.borrow_mut().take();
    match (result, failed) {
        (Ok(conn), failed) => {
            conn.unchecked_into::<IdbDatabase>().close();
            failed.map_or(Ok(()), Err)
        }
        (Err(e), failed) => Err(failed.unwrap_or(e)),
    }
}

/// Awaits the open request's outcome: its result, or its error sorted into an `Error`.
async fn settle(req: &IdbRequest, ctx: &str) -> Result<JsValue> {
    let done = js_sys::Promise::new(&mut |resolve, reject| {
        req.set_onsuccess(Some(&resolve));
        req.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(done).await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    match outcome {
        Ok(_) => req.result().map_err(|e| Error::from_js(&e, ctx)),
        Err(_) => {
            let e = req
                .error()
                .ok()
                .flatten()
                .map(JsValue::from)
                .unwrap_or_default();
            Err(Error::from_js(&e, ctx))
        }
    }
}

/// Upgrading from an older layout (inside the upgrade transaction): marks LOCAL the
/// pending rows created here (layout 3 told them apart by reading the outbox), and drops
/// the server's row from the bases of rows with nothing pending and no kept conflict
/// (layout 2 kept it in every base). Reads everything it needs at once; the writes go
/// out when the last read succeeds (requests of a transaction complete in order).
fn slim_bases(
    tx: &IdbTransaction,
    names: &DomStringList,
    failure: &Rc<RefCell<Option<Error>>>,
    callbacks: &Callbacks,
) -> std::result::Result<(), JsValue> {
    let logged = tx.object_store(OUTBOX)?.get_all()?;
    let kept = tx.object_store(CONFLICTS)?.get_all()?;
    let bases = tx.object_store(BASE)?;
    let base_keys = bases.get_all_keys()?;
    let base_values = bases.get_all()?;
    let tables: Vec<String> = (0..names.length())
        .filter_map(|i| names.get(i))
        .filter(|n| !n.starts_with('_'))
        .collect();
    let mut present = Vec::new();
    for t in &tables {
        present.push(tx.object_store(t)?.get_all_keys()?);
    }
    let last: IdbRequest = present
        .last()
        .cloned()
        .unwrap_or_else(|| base_values.clone());
    let run = {
        let (tx, failure) = (tx.clone(), failure.clone());
        let last2 = last.clone();
        move |_: JsValue| {
            let result = (|| -> Result<()> {
                let ctx = "upgrading the stored bases";
                let read = |r: &IdbRequest| r.result().map_err(|e| Error::from_js(&e, ctx));
                let logged: Vec<StoredEntry> = records::from_js(read(&logged)?, "the outbox", ctx)?;
                let kept: Vec<ConflictId> = records::from_js(read(&kept)?, "a kept conflict", ctx)?;
                let keys: Vec<(String, Key)> =
                    records::from_js(read(&base_keys)?, "a base key", ctx)?;
                let values: js_sys::Array = read(&base_values)?.unchecked_into();
                let mut rows: Vec<(&str, Key)> = Vec::new();
                for (t, r) in tables.iter().zip(&present) {
                    let ks: Vec<Key> = records::from_js(read(r)?, "a key", ctx)?;
                    rows.extend(ks.into_iter().map(|k| (t.as_str(), k)));
                }
                let rows = records::RowSet::of(rows.iter().map(|(t, k)| (*t, k)));
                let based = records::RowSet::of(keys.iter().map(|(t, k)| (t.as_str(), k)));
                let busy = records::RowSet::of(
                    logged
                        .iter()
                        .flat_map(|e| e.keys.iter().map(move |k| (e.table.as_str(), k)))
                        .chain(kept.iter().map(|c| (c.table.as_str(), &c.key))),
                );
                let store = tx.object_store(BASE).map_err(|e| Error::from_js(&e, ctx))?;
                let put = |v: &JsValue, t: &str, k: &Key| {
                    store
                        .put_with_key(v, &records::base_key(t, &records::key_js(k)))
                        .map(drop)
                        .map_err(|e| Error::from_js(&e, ctx))
                };
                // Rows created here and still pending, from before bases marked them LOCAL.
                for e in &logged {
                    for k in &e.keys {
                        let id = (e.table.as_str(), k);
                        if rows.contains(&id) && !based.contains(&id) {
                            put(&records::local_base(ctx)?, &e.table, k)?;
                        }
                    }
                }
                for (i, (t, k)) in keys.iter().enumerate() {
                    let base: BaseRecord = records::from_js(values.get(i as u32), "a base", ctx)?;
                    if base.has_row() && !busy.contains(&(t.as_str(), k)) {
                        if let Some(v) = &base.version {
                            put(&records::server_base(v, JsValue::UNDEFINED, ctx)?, t, k)?;
                        }
                    }
                }
                Ok(())
            })();
            if let Err(e) = result {
                *failure.borrow_mut() = Some(e);
                let _ = tx.abort();
            }
            last2.set_onsuccess(None);
        }
    };
    let cb = Closure::<dyn FnMut(JsValue)>::new(run);
    last.set_onsuccess(Some(cb.as_ref().unchecked_ref()));
    callbacks.borrow_mut().push(cb);
    Ok(())
}

/// The cause of a transaction the browser aborted, read after the crate's `commit()`
/// failed (see the module comment).
pub(crate) struct AbortCause(IdbTransaction);

impl AbortCause {
    pub fn of(tx: &indexed_db_futures::transaction::Transaction<'_>) -> Self {
        use indexed_db_futures::internals::SystemRepr;
        AbortCause(SystemRepr::as_sys(tx).clone().unchecked_into())
    }

    /// The transaction's error, when it has one (not after an abort asked for here).
    pub fn error(&self, ctx: &str) -> Option<Error> {
        self.0.error().map(|e| Error::from_js(&e.into(), ctx))
    }
}
