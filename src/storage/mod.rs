//! The local store on IndexedDB: one object store per profile table plus `_outbox` (the
//! log of local writes), `_base` (the server's last known row and version of synced
//! rows with local changes) and `_meta` (the installed profile, the checkpoint). Only this
//! folder talks to IndexedDB.

pub(crate) mod js;
pub mod lists;
mod live;
pub mod outbox;
pub mod read;
pub mod remote;
mod schema;
pub mod sync;
pub mod write;

use crate::driver::events::Emitter;
use crate::error::{Error, Result};
use js_sys::{Array, Promise};
use offline_tables_core::Profile;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbRequest, IdbTransaction, IdbTransactionMode};

pub(crate) const OUTBOX: &str = "_outbox";
pub(crate) const BASE: &str = "_base";
pub(crate) const META: &str = "_meta";
/// Conflicts kept for the app (`manual` policy).
pub(crate) const CONFLICTS: &str = "_conflicts";
/// Mutations the server refused for good.
pub(crate) const ERRORS: &str = "_errors";

/// Bumped when the internal stores change shape; part of the IndexedDB version.
const INTERNAL_SCHEMA: f64 = 4.0;

fn idb_version(profile: &Profile) -> f64 {
    profile.version as f64 * 10.0 + INTERNAL_SCHEMA
}

type Listener = Closure<dyn FnMut(JsValue)>;

/// An open local store.
pub struct Db {
    pub name: String,
    /// The installed profile; replaced when the schema is upgraded while open (`live.rs`).
    profile: RefCell<Rc<Profile>>,
    idb: Rc<RefCell<Option<IdbDatabase>>>,
    pub events: Emitter,
    on_version_change: RefCell<Option<Listener>>,
    /// Set while the connection is replaced (a schema upgrade here or in another tab);
    /// settles when it is usable again (`ready()`).
    reopening: RefCell<Option<Promise>>,
    /// `close()` was called: stay closed whatever happens.
    closed_by_app: std::cell::Cell<bool>,
}

pub(crate) fn factory() -> Result<IdbFactory> {
    js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into())
        .ok()
        .and_then(|f| f.dyn_into::<IdbFactory>().ok())
        .ok_or_else(|| Error::storage("IndexedDB is not available in this context"))
}

/// The keys one transaction wrote, per table, for the change events sent once it
/// commits.
#[derive(Default)]
pub(crate) struct Touched(offline_tables_core::by_name::ByName<Array>);

impl Touched {
    pub fn add(&mut self, table: &str, key: &JsValue) {
        self.0.entry(table, Array::new).push(key);
    }

    /// One event per table, in the order of table names.
    pub fn emit(self, events: &Emitter, source: crate::driver::events::Source) {
        for (table, keys) in self.0.iter() {
            events.emit(table, keys, source);
        }
    }
}

/// Awaits a request's result.
pub(crate) async fn wait(r: &IdbRequest, context: &str) -> Result<JsValue> {
    JsFuture::from(js::req(r))
        .await
        .map_err(|e| Error::from_js(&e, context))
}

/// A transaction in progress: its completion promise is watched from the start, so a
/// failure anywhere (including a quota error at commit) is reported, never lost.
pub(crate) struct Tx {
    pub tx: IdbTransaction,
    /// Watched for write transactions only; reads report failures through requests.
    done: Option<Promise>,
    context: String,
}

impl Tx {
    pub fn store(&self, name: &str) -> Result<web_sys::IdbObjectStore> {
        self.tx
            .object_store(name)
            .map_err(|e| Error::from_js(&e, &self.context))
    }

    pub fn fail(&self, e: JsValue) -> Error {
        Error::from_js(&e, &self.context)
    }

    /// Commits and waits until the data is stored.
    pub async fn commit(self) -> Result<()> {
        js::tx_commit(&self.tx);
        match self.done {
            Some(done) => JsFuture::from(done)
                .await
                .map(|_| ())
                .map_err(|e| Error::from_js(&e, &self.context)),
            None => Ok(()),
        }
    }

    /// Rolls back everything this transaction wrote.
    pub async fn abort(self) {
        let _ = self.tx.abort();
        if let Some(done) = self.done {
            let _ = JsFuture::from(done).await;
        }
    }
}

impl Db {
    pub fn idb(&self) -> Result<IdbDatabase> {
        self.idb
            .borrow()
            .clone()
            .ok_or_else(|| Error::closed(&self.name))
    }

    pub fn is_closed(&self) -> bool {
        self.idb.borrow().is_none()
    }

    pub fn close(&self) {
        self.closed_by_app.set(true);
        if let Some(db) = self.idb.borrow_mut().take() {
            db.close();
        }
        self.events.close();
    }

    /// The installed profile.
    pub fn profile(&self) -> Rc<Profile> {
        self.profile.borrow().clone()
    }

    /// Starts a transaction over `stores`.
    pub(crate) fn tx(&self, stores: &[&str], write: bool, context: &str) -> Result<Tx> {
        let db = self.idb()?;
        let mode = if write {
            IdbTransactionMode::Readwrite
        } else {
            IdbTransactionMode::Readonly
        };
        let tx = match stores {
            [one] => db.transaction_with_str_and_mode(one, mode),
            _ => {
                let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
                db.transaction_with_str_sequence_and_mode(&names, mode)
            }
        }
        .map_err(|e| {
            let err = Error::from_js(&e, context);
            if self.is_closed() {
                Error::closed(&self.name)
            } else {
                err
            }
        })?;
        let done = write.then(|| js::tx_done(&tx));
        Ok(Tx {
            tx,
            done,
            context: context.to_string(),
        })
    }

    /// The table's definition, or `unknown_table`.
    pub fn table(&self, name: &str) -> Result<offline_tables_core::TableDef> {
        Ok(self.profile().table(name)?.clone())
    }

    /// Opens (creating or upgrading) the database `name` for `profile`. A database that
    /// already holds a newer profile (say, fetched from the server) keeps it.
    pub async fn open(name: &str, profile: Profile) -> Result<Rc<Db>> {
        if name.is_empty() {
            return Err(Error::invalid_argument("name must be a non-empty string"));
        }
        let factory = factory()?;
        let (idb, profile) =
            match schema::open(&factory, name, Some(idb_version(&profile)), &profile).await {
                Ok(db) => (db, profile),
                Err(e) if e.message.contains("VersionError") => {
                    // The database is newer than this profile: use what it holds.
                    let db = schema::open(&factory, name, None, &profile).await?;
                    match schema::stored_profile(&db).await? {
                        Some(stored) if stored.version >= profile.version => (db, stored),
                        _ => {
                            db.close();
                            return Err(e);
                        }
                    }
                }
                Err(e) => return Err(e),
            };
        if let Err(e) = schema::reconcile(&idb, &profile).await {
            idb.close();
            return Err(e);
        }
        Ok(Self::wrap(name, idb, profile))
    }

    /// Opens `name` with the profile it already holds, without creating anything: None
    /// when there is no such database (a first launch).
    pub async fn open_stored(name: &str) -> Result<Option<Rc<Db>>> {
        let Some(idb) = schema::open_existing(&factory()?, name).await? else {
            return Ok(None);
        };
        match schema::stored_profile(&idb).await? {
            Some(profile) => Ok(Some(Self::wrap(name, idb, profile))),
            None => {
                idb.close();
                Ok(None)
            }
        }
    }

    fn wrap(name: &str, idb: IdbDatabase, profile: Profile) -> Rc<Db> {
        let db = Rc::new_cyclic(|weak: &std::rc::Weak<Db>| {
            let weak = weak.clone();
            let on_version_change = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                // Another tab upgrades the schema (or deletes the database): let it.
                let new_version = js_sys::Reflect::get(&e, &"newVersion".into())
                    .ok()
                    .and_then(|v| v.as_f64());
                if let Some(db) = weak.upgrade() {
                    db.yield_to_other_tab(new_version);
                }
            });
            Db {
                name: name.to_string(),
                profile: RefCell::new(Rc::new(profile)),
                idb: Rc::new(RefCell::new(None)),
                events: Emitter::new(name),
                on_version_change: RefCell::new(Some(on_version_change)),
                reopening: RefCell::default(),
                closed_by_app: Default::default(),
            }
        });
        db.attach(idb);
        db
    }

    /// Makes `idb` this store's connection, listening for other tabs' upgrades.
    fn attach(&self, idb: IdbDatabase) {
        if let Some(cb) = self.on_version_change.borrow().as_ref() {
            idb.set_onversionchange(Some(cb.as_ref().unchecked_ref()));
        }
        *self.idb.borrow_mut() = Some(idb);
    }

    pub async fn delete_database(name: &str) -> Result<()> {
        let req = factory()?
            .delete_database(name)
            .map_err(|e| Error::from_js(&e, "deleteDatabase"))?;
        wait(&req, &format!("deleteDatabase('{name}')")).await?;
        Ok(())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.close();
    }
}
