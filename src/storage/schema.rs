//! Opening the database through indexed_db_futures at the profile's version, and the
//! profile it stores. A launch whose schema is already installed opens here and only
//! here; a schema change (a first launch, a newer profile) goes through `upgrade.rs`
//! first, which creates the stores and indexes, then opens here.

use super::tx::{meta_get, put_at, Tx};
use super::upgrade;
use super::META;
use crate::error::{Error, FromJs, Result};
use indexed_db_futures::database::{Database, VersionChangeEvent};
use indexed_db_futures::factory::DBFactory;
use offline_tables_core::Profile;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The version `indexedDB.databases()` lists for `name`: Some(None) when it lists no
/// such database, None when the browser cannot list.
async fn listed_version(factory: &DBFactory, name: &str) -> Option<Option<f64>> {
    let list = factory.databases().ok()?.await.ok()?;
    let mut found = None;
    for d in list.flatten() {
        if d.name() == name {
            found = Some(d.version());
        }
    }
    Some(found)
}

/// Opens `name` through the crate, at `version` when given. None when that would need
/// a version change (no such database, or an older one): the crate's upgrade callback
/// refuses it, so nothing is created or changed (`upgrade.rs` does that).
async fn connect(
    factory: &DBFactory,
    name: &str,
    version: Option<f64>,
) -> Result<Option<Database>> {
    let ctx = format!("opening database '{name}'");
    let refused = Rc::new(Cell::new(false));
    let on_upgrade = {
        let refused = refused.clone();
        move |_: VersionChangeEvent, _: Database| {
            refused.set(true);
            Err(JsValue::from_str(
                "offline-tables upgrades its schema in its own open (storage/upgrade.rs)",
            )
            .into())
        }
    };
    let builder = factory.open_db(name).with_on_upgrade_needed(on_upgrade);
    let opened = match version {
        Some(v) => builder.with_version(v).await,
        None => builder.await,
    };
    match opened {
        Ok(conn) => Ok(Some(conn)),
        Err(_) if refused.get() => Ok(None),
        Err(e) => Err(Error::opening(e, &ctx)),
    }
}

/// Opens `name` at `version`, upgrading its schema to `profile` first when the database
/// is missing or older. A newer database fails with `DomError::Version`.
pub(super) async fn open_at(
    factory: &DBFactory,
    name: &str,
    version: f64,
    profile: &Profile,
) -> Result<Database> {
    let upgrading = match listed_version(factory, name).await {
        Some(Some(v)) => v < version,
        Some(None) => true,
        None => false,
    };
    if !upgrading {
        if let Some(conn) = connect(factory, name, Some(version)).await? {
            return Ok(conn);
        }
        // Not listed as it is (no `databases()`, or another tab changed it meanwhile).
    }
    upgrade::open_upgrading(name, version, profile).await?;
    connect(factory, name, Some(version)).await?.ok_or_else(|| {
        Error::storage(format!(
            "opening database '{name}': it was deleted while it was being opened"
        ))
    })
}

/// Opens `name` at its current version if it exists; a missing database is not created.
pub(super) async fn open_current(factory: &DBFactory, name: &str) -> Result<Option<Database>> {
    if listed_version(factory, name).await == Some(None) {
        return Ok(None);
    }
    connect(factory, name, None).await
}

/// The profile the database was last opened with, if any.
pub(super) async fn stored_profile(conn: &Database) -> Result<Option<Profile>> {
    if !conn.object_store_names().any(|n| n == META) {
        return Ok(None);
    }
    let tx = Tx::begin(conn, &[META], false, "reading the stored profile")?;
    let meta = tx.store(META)?;
    let req = meta_get(&meta, "profile").map_err(|e| tx.fail(e))?;
    match tx.wait(req).await?.and_then(|v| v.as_string()) {
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

/// The profile as `_meta` keeps it (its JSON text).
pub(super) fn profile_text(profile: &Profile) -> JsValue {
    JsValue::from_str(&offline_tables_core::value::to_text(&profile.to_json()))
}

/// After opening without an upgrade: the stored schema must match the profile of the
/// same version; other settings (policies, scopes, intervals) may change freely.
pub(super) async fn reconcile(conn: &Database, profile: &Profile) -> Result<()> {
    let stored = stored_profile(conn).await?;
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
    let tx = Tx::begin(conn, &[META], true, "saving the profile")?;
    let meta = tx.store(META)?;
    let written = put_at(&meta, &profile_text(profile), &"profile".into()).map_err(|e| tx.fail(e));
    drop(meta);
    tx.commit_or_abort(written).await
}
