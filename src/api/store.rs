//! `OfflineStore`: opens the local database for an offline profile and hands out tables.

use super::convert::{self, OpenOptions, ServerOptions, SyncOptions};
use super::{promise, Table};
use crate::driver::sync::Syncer;
use crate::error::{Error, Thrown};
use crate::storage::lists::Resolution;
use crate::storage::Db;
use crate::transport::Server;
use js_sys::{Function, Promise};
use offline_tables_core::engine::{Config, Failure};
use offline_tables_core::Profile;
use serde_json::Value;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// A local offline store: the app's tables in IndexedDB, read and written locally.
///
/// ```js
/// const store = await OfflineStore.open({ name: "field-service", profile });
/// await store.table("accounts").put({ id: "a1", name: "Acme", ownerId: "u1" });
/// ```
#[wasm_bindgen]
pub struct OfflineStore {
    db: Rc<Db>,
    syncer: Option<Rc<Syncer>>,
}

/// Without a profile: the server's, fetched and kept (a newer one upgrades the schema);
/// offline, the one kept from an earlier launch.
async fn open_with_server_profile(name: &str, server: &Server) -> Result<Rc<Db>, Error> {
    let mut fetched: Result<Value, Failure> = server.get("/sync/profile").await;
    if fetched == Err(Failure::Unauthorized) && server.refresh_token().await {
        fetched = server.get("/sync/profile").await;
    }
    match fetched {
        Ok(v) => Db::open(name, Profile::from_json(&v)?).await,
        Err(failure) => match Db::open_stored(name).await? {
            Some(db) => Ok(db),
            None => {
                let code = if failure == Failure::Unauthorized {
                    crate::error::ErrorCode::Unauthorized
                } else {
                    crate::error::ErrorCode::Network
                };
                Err(Error::new(
                    code,
                    format!("open: no profile was given, none is stored yet, and the server's could not be fetched ({})", failure.describe()),
                ))
            }
        },
    }
}

/// `server: { url, token?, getToken?, timeoutMs? }`, checked.
fn server_options(v: ServerOptions) -> Result<Server, Error> {
    let ServerOptions {
        url,
        token,
        get_token,
        timeout_ms,
    } = v;
    if !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with('/')) {
        return Err(Error::invalid_argument(
            "open: server.url must be an http(s) URL",
        ));
    }
    let get_token = match get_token.dyn_into::<Function>() {
        Ok(f) => Some(f),
        Err(v) if v.is_undefined() || v.is_null() => None,
        Err(_) => {
            return Err(Error::invalid_argument(
                "open: server.getToken must be a function",
            ))
        }
    };
    let mut server = Server::new(&url, token, get_token);
    if let Some(t) = timeout_ms {
        if !(t.fract() == 0.0 && (1.0..=600_000.0).contains(&t)) {
            return Err(Error::invalid_argument(
                "open: server.timeoutMs must be a whole number of milliseconds from 1 to 600000",
            ));
        }
        server.timeout_ms = t as u32;
    }
    Ok(server)
}

/// The engine's settings from `options.sync` and the profile.
/// `sync()`'s `options.tables`: None for every table; each must be a table of `profile`.
fn sync_tables(options: &JsValue, profile: &Profile) -> Result<Option<Vec<String>>, Error> {
    let bad = |what: String| Error::invalid_argument(format!("sync: options.tables {what}"));
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let tables = js_sys::Reflect::get(options, &"tables".into()).unwrap_or_default();
    if tables.is_undefined() {
        return Ok(None);
    }
    if !js_sys::Array::is_array(&tables) {
        return Err(bad("must be an array of table names".into()));
    }
    let mut out = Vec::new();
    for t in js_sys::Array::from(&tables).iter() {
        match t.as_string() {
            Some(t) if profile.tables.contains_key(&t) => out.push(t),
            Some(t) => {
                return Err(bad(format!(
                    "names '{t}', which is not a table of the profile"
                )))
            }
            None => return Err(bad("must be an array of table names".into())),
        }
    }
    Ok(Some(out))
}

fn sync_config(sync: &SyncOptions, profile: &Profile) -> Result<Config, Error> {
    let mut config = Config::default();
    if let Some(auto) = sync.auto {
        config.auto = auto;
    }
    let seconds = match sync.interval_seconds {
        // Each sync group on its profile interval (`Profile::sync_groups`).
        None => {
            let groups = profile.sync_groups();
            config.group_intervals_ms = groups
                .iter()
                .map(|g| g.interval_seconds as u64 * 1000)
                .collect();
            if groups.len() < 2 {
                config.group_intervals_ms.clear();
            }
            groups
                .iter()
                .map(|g| g.interval_seconds as f64)
                .reduce(f64::min)
        }
        // One interval for every table: one group.
        Some(s) if s >= 1.0 => Some(s),
        Some(_) => {
            return Err(Error::invalid_argument(
                "open: sync.intervalSeconds must be a number of seconds, at least 1",
            ))
        }
    };
    if let Some(s) = seconds.filter(|s| *s >= 1.0) {
        config.interval_ms = (s * 1000.0) as u64;
    }
    Ok(config)
}

#[wasm_bindgen]
impl OfflineStore {
    /// Opens (creating or upgrading) the database `name` with one object store per table
    /// of `profile`. A higher `profile.version` upgrades the schema, keeping every row
    /// and pending change.
    // Not an `async fn`: wasm-bindgen would compile a `future_to_promise` of its own for
    // it (7 kB of wasm); `super::promise` is the one every API call shares.
    #[wasm_bindgen(unchecked_return_type = "Promise<OfflineStore>")]
    pub fn open(#[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue) -> Promise {
        super::promise(async move { Self::open_async(options).await.map(JsValue::from) })
    }

    /// Deletes the database `name` and everything in it, pending changes included.
    #[wasm_bindgen(js_name = deleteDatabase, unchecked_return_type = "Promise<void>")]
    pub fn delete_database(name: String) -> Promise {
        super::promise(async move {
            Self::delete_database_async(&name).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The table `name` of the profile; throws `unknown_table` for any other name.
    pub fn table(&self, name: &str) -> Result<Table, Thrown> {
        self.db.table(name)?;
        Ok(Table::new(self.db.clone(), name, self.syncer.clone()))
    }

    /// Runs `fn(tx)` as one transaction over `tables`: its writes (through
    /// `tx.table(name)`) commit together when `fn` resolves, in one IndexedDB transaction,
    /// and go to the server as one unit; if `fn` throws, none of them is written.
    #[wasm_bindgen(unchecked_return_type = "Promise<any>")]
    pub fn transaction(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] tables: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(tx: Transaction) => unknown")] f: Function,
    ) -> Promise {
        let db = self.db.clone();
        wasm_bindgen_futures::future_to_promise(super::transaction::run(db, tables, f))
    }

    /// Closes the database and stops syncing; later calls reject with `closed`.
    pub fn close(&self) {
        if let Some(s) = &self.syncer {
            s.stop();
        }
        self.db.close();
    }

    /// The user this store belongs to: the `user` it was opened with, or the one whose
    /// token its first pull used; `null` before either.
    #[wasm_bindgen(unchecked_return_type = "Promise<string | null>")]
    pub fn user(&self) -> Promise {
        let db = self.db.clone();
        promise(async move {
            db.ready().await;
            Ok(db.user().await?.map(JsValue::from).unwrap_or(JsValue::NULL))
        })
    }

    /// Syncs now (push, then pull every table, or `options.tables` and the tables that
    /// pull with them); resolves when that cycle ends. Offline, it resolves at once with
    /// `result: "offline"`: nothing is attempted and nothing is an error.
    #[wasm_bindgen(unchecked_return_type = "Promise<SyncResult>")]
    pub fn sync(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "SyncRequest")] options: Option<JsValue>,
    ) -> Promise {
        let Some(s) = &self.syncer else {
            return super::rejected(&Error::invalid_argument(
                "sync: this store was opened without a server",
            ));
        };
        match sync_tables(&options.unwrap_or_default(), &self.db.profile()) {
            Ok(tables) => s.request_sync(tables.as_deref()),
            Err(e) => super::rejected(&e),
        }
    }

    /// Conflicts kept for the app (tables with `conflict: "manual"`), oldest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<Conflict[]>")]
    pub fn conflicts(&self) -> Promise {
        let db = self.db.clone();
        promise(async move {
            db.ready().await;
            Ok(db.conflicts().await?.into())
        })
    }

    /// Settles a kept conflict: `"local"` pushes the local row against the server's
    /// version, `"server"` takes the server's row, a row object is used as the result.
    #[wasm_bindgen(js_name = resolveConflict, unchecked_return_type = "Promise<void>")]
    pub fn resolve_conflict(
        &self,
        id: f64,
        #[wasm_bindgen(unchecked_param_type = "\"local\" | \"server\" | Row")] choice: JsValue,
    ) -> Promise {
        let (db, syncer) = (self.db.clone(), self.syncer.clone());
        promise(async move {
            db.ready().await;
            let resolution = match choice.as_string().as_deref() {
                Some("local") => Resolution::Local,
                Some("server") => Resolution::Server,
                Some(other) => {
                    return Err(Error::invalid_argument(format!(
                        "resolveConflict: '{other}' is not \"local\", \"server\" or a row"
                    )))
                }
                None => Resolution::Merged(choice),
            };
            db.resolve_conflict(id, resolution).await?;
            if let Some(s) = &syncer {
                s.lists_changed();
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Changes the server refused for good, oldest first.
    #[wasm_bindgen(js_name = syncErrors, unchecked_return_type = "Promise<SyncError[]>")]
    pub fn sync_errors(&self) -> Promise {
        let db = self.db.clone();
        promise(async move {
            db.ready().await;
            Ok(db.sync_errors().await?.into())
        })
    }

    /// Applies the refused change locally again so that it is pushed again.
    #[wasm_bindgen(js_name = retrySyncError, unchecked_return_type = "Promise<void>")]
    pub fn retry_sync_error(&self, id: f64) -> Promise {
        let (db, syncer) = (self.db.clone(), self.syncer.clone());
        promise(async move {
            db.ready().await;
            db.retry_sync_error(id).await?;
            if let Some(s) = &syncer {
                s.lists_changed();
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Forgets a refused change (the row already shows the server's state).
    #[wasm_bindgen(js_name = discardSyncError, unchecked_return_type = "Promise<void>")]
    pub fn discard_sync_error(&self, id: f64) -> Promise {
        let (db, syncer) = (self.db.clone(), self.syncer.clone());
        promise(async move {
            db.ready().await;
            db.discard_sync_error(id).await?;
            if let Some(s) = &syncer {
                s.lists_changed();
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The sync status (null for a store without a server).
    #[wasm_bindgen(unchecked_return_type = "SyncStatus | null")]
    pub fn status(&self) -> Result<JsValue, Thrown> {
        match &self.syncer {
            Some(s) => Ok(s.status_js()?),
            None => Ok(JsValue::NULL),
        }
    }

    /// The database name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.db.name.clone()
    }

    /// The Background Sync tag this store registers while offline with changes to push:
    /// a Service Worker's `sync` event with this tag should `waitUntil(store.sync())`.
    #[wasm_bindgen(getter, js_name = backgroundSyncTag)]
    pub fn background_sync_tag(&self) -> String {
        crate::driver::leadership::background_sync_tag(&self.db.name)
    }

    /// The installed offline profile (with defaults filled in).
    #[wasm_bindgen(getter, unchecked_return_type = "Profile")]
    pub fn profile(&self) -> Result<JsValue, Thrown> {
        Ok(convert::to_js(&convert::Json(
            &self.db.profile().to_json(),
        ))?)
    }

    /// The pending local changes, coalesced to one per row, in the order they were made.
    #[wasm_bindgen(unchecked_return_type = "Promise<PendingChange[]>")]
    pub fn pending(&self) -> Promise {
        let db = self.db.clone();
        promise(async move {
            db.ready().await;
            let list = db
                .pending()
                .await?
                .iter()
                .map(|p| p.to_js())
                .collect::<crate::error::Result<js_sys::Array>>()?;
            Ok(list.into())
        })
    }

    /// What the store holds, for a status page: `{ tables: { [name]: { rows, bytes } },
    /// lastSyncAt: { [name]: ms }, files: { count, bytes, pending }, usage, quota }`, where
    /// `bytes` are the rows' as JSON, `files` the files kept here and the uploads queued,
    /// `lastSyncAt` each table's last complete pull, and `usage` and `quota` the browser's
    /// estimate for the whole origin (`navigator.storage.estimate()`; null without one).
    #[wasm_bindgen(unchecked_return_type = "Promise<StorageUsage>")]
    pub fn usage(&self) -> Promise {
        let db = self.db.clone();
        promise(async move {
            db.ready().await;
            let out = db.usage().await?;
            let (usage, quota) = crate::driver::initial::storage_estimate().await;
            for (k, v) in [("usage", usage), ("quota", quota)] {
                let v = v.map(JsValue::from_f64).unwrap_or(JsValue::NULL);
                let _ = js_sys::Reflect::set(&out, &k.into(), &v);
            }
            Ok(out)
        })
    }

    /// How many rows have pending local changes.
    #[wasm_bindgen(js_name = pendingCount, unchecked_return_type = "Promise<number>")]
    pub fn pending_count(&self) -> Promise {
        let db = self.db.clone();
        promise(async move {
            db.ready().await;
            Ok(JsValue::from(db.pending().await?.len() as u32))
        })
    }

    /// Subscribes to `"change"` (after every committed write; `source` is "local",
    /// "remote" or "tab") or `"status"` (every sync status change); returns a function
    /// that unsubscribes. Typed by overloads in `types.d.ts`.
    #[wasm_bindgen(skip_typescript)]
    pub fn on(&self, event: &str, listener: Function) -> Result<JsValue, Thrown> {
        let events = match (event, &self.syncer) {
            ("change", _) => self.db.events.clone(),
            ("status", Some(s)) => s.status_events.clone(),
            ("conflict", Some(s)) => s.conflict_events.clone(),
            ("syncerror", Some(s)) => s.error_events.clone(),
            ("status" | "conflict" | "syncerror", None) => {
                return Err(Error::invalid_argument(format!(
                    "on(\"{event}\"): this store was opened without a server"
                )).into())
            }
            _ => {
                return Err(Error::invalid_argument(format!(
                    "on: unknown event '{event}' (expected \"change\", \"status\", \"conflict\" or \"syncerror\")"
                )).into())
            }
        };
        let id = events.subscribe(listener);
        let off = Closure::<dyn FnMut()>::new(move || events.unsubscribe(id));
        Ok(off.into_js_value())
    }
}

impl OfflineStore {
    /// `OfflineStore.open` for Rust callers (the crate's tests): the store, not a promise.
    pub async fn open_async(options: JsValue) -> Result<OfflineStore, Error> {
        if !options.is_object() {
            return Err(Error::invalid_argument(
                "open: options must be { name, profile }",
            ));
        }
        let OpenOptions {
            name,
            profile,
            user,
            server,
            sync,
        } = convert::from_js(options).map_err(|e| {
            Error::invalid_argument(format!(
                "open: options must be {{ name: string, profile?, user?: string, server?: {{ url: string, token?: string, getToken?, timeoutMs?: number }}, sync?: {{ auto?: boolean, intervalSeconds?: number }} }}: {e}"
            ))
        })?;
        if user.as_deref() == Some("") {
            return Err(Error::invalid_argument(
                "open: options.user must be a non-empty string",
            ));
        }
        let server = server.map(server_options).transpose()?;
        let db = if profile.is_undefined() || profile.is_null() {
            let Some(server) = &server else {
                return Err(Error::invalid_profile(
                    "open: options.profile is required for a store without a server",
                ));
            };
            open_with_server_profile(&name, server).await?
        } else {
            if !profile.is_object() {
                return Err(Error::invalid_profile(
                    "open: options.profile must be an offline profile object",
                ));
            }
            let profile: Value = convert::from_js(profile)
                .map_err(|e| Error::invalid_profile(format!("profile: {e}")))?;
            Db::open(&name, Profile::from_json(&profile)?).await?
        };
        if let Some(user) = &user {
            // Another user's store is never served: refuse before any read can run.
            if let Err(e) = db.bind_user(user).await {
                db.close();
                return Err(e);
            }
        }
        let syncer = match server {
            Some(server) => Some(Syncer::start(
                db.clone(),
                server,
                sync_config(&sync.unwrap_or_default(), &db.profile())?,
            )),
            None => None,
        };
        Ok(OfflineStore { db, syncer })
    }

    /// `OfflineStore.deleteDatabase` for Rust callers.
    pub async fn delete_database_async(name: &str) -> Result<(), Error> {
        Db::delete_database(name).await
    }

    /// The storage layer, for the browser tests (see `crate::testing`).
    #[doc(hidden)]
    pub fn db(&self) -> &Rc<Db> {
        &self.db
    }

    /// The sync server's base URL, for a store opened with one.
    pub(super) fn server_url(&self) -> Option<String> {
        self.syncer.as_ref().map(|s| s.server_url().to_string())
    }

    /// True when this store is the one syncing its database (it holds the sync lock).
    pub fn is_sync_leader(&self) -> bool {
        self.syncer.as_ref().is_some_and(|s| s.is_leader())
    }
}
