//! Creates and upgrades the database schema from the profile: a store per table (key
//! path = the key column) with an index per listed column, and the internal stores.
//! Upgrades keep every row and pending change; tables dropped from the profile keep
//! their stores, so nothing is ever deleted by a schema change.

use super::{wait, BASE, CONFLICTS, ERRORS, META, OUTBOX};
use crate::error::{Error, Result};
use offline_tables_core::Profile;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    IdbDatabase, IdbFactory, IdbIndexParameters, IdbObjectStoreParameters, IdbOpenDbRequest,
    IdbTransaction, IdbVersionChangeEvent,
};

fn has(list: &web_sys::DomStringList, name: &str) -> bool {
    list.contains(name)
}

fn upgrade(db: &IdbDatabase, tx: &IdbTransaction, profile: &Profile) -> Result<()> {
    let ctx = "upgrading the database schema";
    let fail = |e: JsValue| Error::from_js(&e, ctx);
    let names = db.object_store_names();
    if !has(&names, OUTBOX) {
        let p = IdbObjectStoreParameters::new();
        p.set_key_path(&"seq".into());
        p.set_auto_increment(true);
        db.create_object_store_with_optional_parameters(OUTBOX, &p)
            .map_err(fail)?;
    }
    for internal in [BASE, META] {
        if !has(&names, internal) {
            db.create_object_store(internal).map_err(fail)?;
        }
    }
    if has(&names, BASE) && has(&names, CONFLICTS) {
        super::js::slim_bases(tx).map_err(fail)?;
    }
    for listed in [CONFLICTS, ERRORS] {
        if !has(&names, listed) {
            let p = IdbObjectStoreParameters::new();
            p.set_key_path(&"id".into());
            p.set_auto_increment(true);
            db.create_object_store_with_optional_parameters(listed, &p)
                .map_err(fail)?;
        }
    }
    for (table, def) in &profile.tables {
        let store = if has(&names, table) {
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
        .put_with_key(
            &JsValue::from_str(&offline_tables_core::value::to_text(&profile.to_json())),
            &"profile".into(),
        )
        .map_err(fail)?;
    Ok(())
}

/// Opens `name`, at `version` when given, upgrading the schema to `profile` if needed.
pub(super) async fn open(
    factory: &IdbFactory,
    name: &str,
    version: Option<f64>,
    profile: &Profile,
) -> Result<IdbDatabase> {
    let ctx = format!("opening database '{name}'");
    let req: IdbOpenDbRequest = match version {
        Some(v) => factory.open_with_f64(name, v),
        None => factory.open(name),
    }
    .map_err(|e| Error::from_js(&e, &ctx))?;
    let failure: Rc<RefCell<Option<Error>>> = Rc::default();
    let on_upgrade = {
        let req = req.clone();
        let failure = failure.clone();
        let profile = profile.clone();
        Closure::<dyn FnMut(IdbVersionChangeEvent)>::new(move |_ev: IdbVersionChangeEvent| {
            let (Ok(db), Some(tx)) = (req.result(), req.transaction()) else {
                return;
            };
            let db: IdbDatabase = db.unchecked_into();
            if let Err(e) = upgrade(&db, &tx, &profile) {
                *failure.borrow_mut() = Some(e);
                let _ = tx.abort();
            }
        })
    };
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let result = wait(&req, &ctx).await;
    req.set_onupgradeneeded(None);
    drop(on_upgrade);
    if let Some(e) = failure.borrow_mut().take() {
        if let Ok(db) = &result {
            db.clone().unchecked_into::<IdbDatabase>().close();
        }
        return Err(e);
    }
    Ok(result?.unchecked_into())
}

/// Opens `name` at its current version if it exists; a missing database is not created
/// (its creation is aborted in `upgradeneeded`).
pub(super) async fn open_existing(factory: &IdbFactory, name: &str) -> Result<Option<IdbDatabase>> {
    let ctx = format!("opening database '{name}'");
    let req = factory.open(name).map_err(|e| Error::from_js(&e, &ctx))?;
    let created = Rc::new(std::cell::Cell::new(false));
    let on_upgrade = {
        let req = req.clone();
        let created = created.clone();
        Closure::<dyn FnMut(IdbVersionChangeEvent)>::new(move |_ev: IdbVersionChangeEvent| {
            created.set(true);
            if let Some(tx) = req.transaction() {
                let _ = tx.abort();
            }
        })
    };
    req.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    let result = wait(&req, &ctx).await;
    req.set_onupgradeneeded(None);
    drop(on_upgrade);
    if created.get() {
        return Ok(None);
    }
    Ok(Some(result?.unchecked_into()))
}

/// The profile the database was last opened with, if any.
pub(super) async fn stored_profile(db: &IdbDatabase) -> Result<Option<Profile>> {
    if !db.object_store_names().contains(META) {
        return Ok(None);
    }
    let ctx = "reading the stored profile";
    let tx = db
        .transaction_with_str(META)
        .map_err(|e| Error::from_js(&e, ctx))?;
    let req = tx
        .object_store(META)
        .and_then(|s| s.get(&"profile".into()))
        .map_err(|e| Error::from_js(&e, ctx))?;
    let v = wait(&req, ctx).await?;
    match v.as_string() {
        Some(s) => Ok(Some(Profile::from_json_str(&s)?)),
        None => Ok(None),
    }
}

fn same_schema(a: &Profile, b: &Profile) -> bool {
    a.tables.len() == b.tables.len()
        && a.tables.iter().all(|(name, t)| {
            b.tables.get(name).is_some_and(|u| {
                let mut x = t.indexes.clone();
                let mut y = u.indexes.clone();
                offline_tables_core::sort::sort(&mut x);
                offline_tables_core::sort::sort(&mut y);
                t.key == u.key && x == y
            })
        })
}

/// After opening without an upgrade: the stored schema must match the profile of the
/// same version; other settings (policies, scopes, intervals) may change freely.
pub(super) async fn reconcile(db: &IdbDatabase, profile: &Profile) -> Result<()> {
    let stored = stored_profile(db).await?;
    if let Some(stored) = &stored {
        if stored == profile {
            return Ok(());
        }
        if stored.version == profile.version && !same_schema(stored, profile) {
            return Err(Error::invalid_profile(format!(
                "profile.version: version {} is already installed with other tables, keys or indexes; raise the version to upgrade the schema",
                profile.version
            )));
        }
        if stored.version > profile.version {
            return Ok(());
        }
    }
    let ctx = "saving the profile";
    let tx = db
        .transaction_with_str_and_mode(META, web_sys::IdbTransactionMode::Readwrite)
        .map_err(|e| Error::from_js(&e, ctx))?;
    let req = tx
        .object_store(META)
        .and_then(|s| {
            s.put_with_key(
                &JsValue::from_str(&offline_tables_core::value::to_text(&profile.to_json())),
                &"profile".into(),
            )
        })
        .map_err(|e| Error::from_js(&e, ctx))?;
    wait(&req, ctx).await?;
    Ok(())
}
