//! The local store on IndexedDB, through indexed_db_futures: one object store per profile
//! table plus `_outbox` (the log of local writes), `_base` (the server's last known row
//! and version of synced rows with local changes), `_meta` (the installed profile, the
//! checkpoint), `_conflicts`, `_errors`, and `_files` and `_uploads` (file columns' blobs
//! and upload queue, `files.rs`). Only this folder talks to IndexedDB, and only
//! `upgrade.rs` does so without the crate (it says why).

mod capture;
pub(crate) mod checkpoints;
mod expand;
pub mod files;
pub(crate) mod js;
pub mod lists;
mod live;
pub mod outbox;
pub mod pull_apply;
pub use pull_apply::Applied;
pub mod push_batch;
pub mod push_settle;
pub mod read;
mod records;
mod rename;
mod resync;
mod schema;
pub mod transaction;
mod tx;
mod upgrade;
mod usage;
pub mod write;

pub(crate) use tx::Tx;

use crate::driver::events::Emitter;
use crate::error::{DomError, Error, FromJs, Result};
use indexed_db_futures::database::{Database, VersionChangeListener};
use indexed_db_futures::factory::DBFactory;
use js_sys::{Array, Promise};
use offline_tables_core::Profile;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::task::Poll;
use wasm_bindgen::prelude::*;

pub(crate) const OUTBOX: &str = "_outbox";
pub(crate) const BASE: &str = "_base";
pub(crate) const META: &str = "_meta";
/// Conflicts kept for the app (`manual` policy).
pub(crate) const CONFLICTS: &str = "_conflicts";
/// Mutations the server refused for good.
pub(crate) const ERRORS: &str = "_errors";

/// Bumped when the internal stores change shape; part of the IndexedDB version.
const INTERNAL_SCHEMA: f64 = 5.0;

fn idb_version(profile: &Profile) -> f64 {
    profile.version as f64 * 10.0 + INTERNAL_SCHEMA
}

/// An open local store.
pub struct Db {
    pub name: String,
    /// The installed profile; replaced when the schema is upgraded while open (`live.rs`).
    profile: RefCell<Rc<Profile>>,
    conn: RefCell<Option<Database>>,
    /// Other tabs' `versionchange` events on `conn`, polled by a task `attach` starts;
    /// dropped with the connection, which ends the task.
    version_changes: RefCell<Option<VersionChangeListener>>,
    /// Which `attach` the listener is from, so a task of an older connection never
    /// polls a newer one's.
    attached: Cell<u32>,
    pub events: Emitter,
    /// Set while the connection is replaced (a schema upgrade here or in another tab);
    /// settles when it is usable again (`ready()`).
    reopening: RefCell<Option<Promise>>,
    /// `close()` was called: stay closed whatever happens.
    closed_by_app: Cell<bool>,
}

pub(crate) fn factory() -> Result<DBFactory> {
    DBFactory::new().map_err(|e| Error::opening(e, "opening IndexedDB"))
}

/// The keys one transaction wrote, per table, for the change events sent once it
/// commits, and the rows it left of them (undefined: deleted) while every write added
/// its row (`add_row`); a write added by key alone makes the table's rows unknown.
#[derive(Default)]
pub(crate) struct Touched(offline_tables_core::by_name::ByName<(Array, Option<Array>)>);

impl Touched {
    fn of(&mut self, table: &str) -> &mut (Array, Option<Array>) {
        self.0.entry(table, || (Array::new(), Some(Array::new())))
    }

    pub fn add(&mut self, table: &str, key: &JsValue) {
        let had = self.of(table);
        had.0.push(key);
        had.1 = None;
    }

    /// Adds `key` and the row it has now (undefined when deleted).
    pub fn add_row(&mut self, table: &str, key: &JsValue, row: &JsValue) {
        let had = self.of(table);
        had.0.push(key);
        if let Some(rows) = &had.1 {
            rows.push(row);
        }
    }

    /// Adds `keys`, in order, after the keys of `table` added so far, and their `rows`.
    pub fn add_all(&mut self, table: &str, keys: Array, rows: Option<Array>) {
        let had = self.of(table);
        let join = |a: &Array, b: Array| match a.length() {
            0 => b,
            _ => a.concat(&b),
        };
        had.0 = join(&had.0, keys);
        had.1 = match (&had.1, rows) {
            (Some(a), Some(b)) => Some(join(a, b)),
            _ => None,
        };
    }

    /// One event per table, in the order of table names.
    pub fn emit(self, events: &Emitter, source: crate::driver::events::Source) {
        for (table, (keys, rows)) in self.0.iter() {
            events.emit_rows(table, keys, rows.as_ref(), source);
        }
    }
}

/// What another tab's `versionchange` (or the browser) did to the connection.
enum Change {
    /// Another tab upgrades to this version, or deletes the database (None).
    Wanted(Option<f64>),
    /// The browser closed the connection (storage cleared, bucket deleted…).
    Closed,
    /// The connection was replaced or closed here: nothing to do.
    Gone,
}

impl Db {
    /// The connection, or `closed`.
    pub fn conn(&self) -> Result<Database> {
        self.conn
            .borrow()
            .clone()
            .ok_or_else(|| Error::closed(&self.name))
    }

    pub fn is_closed(&self) -> bool {
        self.conn.borrow().is_none()
    }

    /// Drops the connection (and what watches it).
    fn disconnect(&self) {
        self.version_changes.borrow_mut().take();
        if let Some(conn) = self.conn.borrow_mut().take() {
            conn.close();
        }
    }

    pub fn close(&self) {
        self.closed_by_app.set(true);
        self.disconnect();
        self.events.close();
    }

    /// The installed profile.
    pub fn profile(&self) -> Rc<Profile> {
        self.profile.borrow().clone()
    }

    /// The table's definition, or `unknown_table`.
    pub fn table(&self, name: &str) -> Result<offline_tables_core::TableDef> {
        Ok(self.profile().table(name)?.clone())
    }

    /// The names of the object stores the database holds.
    pub(crate) fn all_stores(&self) -> Result<Vec<String>> {
        Ok(self.conn()?.object_store_names().collect())
    }

    /// Opens (creating or upgrading) the database `name` for `profile`. A database that
    /// already holds a newer profile (say, fetched from the server) keeps it.
    pub async fn open(name: &str, profile: Profile) -> Result<Rc<Db>> {
        if name.is_empty() {
            return Err(Error::invalid_argument("name must be a non-empty string"));
        }
        let factory = factory()?;
        let (conn, profile) =
            match schema::open_at(&factory, name, idb_version(&profile), &profile).await {
                Ok(conn) => (conn, profile),
                Err(e) if e.dom() == Some(DomError::Version) => {
                    // The database is newer than this profile: use what it holds.
                    let Some(conn) = schema::open_current(&factory, name).await? else {
                        return Err(e);
                    };
                    match schema::stored_profile(&conn).await? {
                        Some(stored) if stored.version >= profile.version => (conn, stored),
                        _ => {
                            conn.close();
                            return Err(e);
                        }
                    }
                }
                Err(e) => return Err(e),
            };
        if let Err(e) = schema::reconcile(&conn, &profile).await {
            conn.close();
            return Err(e);
        }
        Self::wrap(name, conn, profile)
    }

    /// Opens `name` with the profile it already holds, without creating anything: None
    /// when there is no such database (a first launch).
    pub async fn open_stored(name: &str) -> Result<Option<Rc<Db>>> {
        let Some(conn) = schema::open_current(&factory()?, name).await? else {
            return Ok(None);
        };
        match schema::stored_profile(&conn).await? {
            Some(profile) => Ok(Some(Self::wrap(name, conn, profile)?)),
            None => {
                conn.close();
                Ok(None)
            }
        }
    }

    fn wrap(name: &str, conn: Database, profile: Profile) -> Result<Rc<Db>> {
        let db = Rc::new(Db {
            name: name.to_string(),
            profile: RefCell::new(Rc::new(profile)),
            conn: RefCell::default(),
            version_changes: RefCell::default(),
            attached: Cell::new(0),
            events: Emitter::new(name),
            reopening: RefCell::default(),
            closed_by_app: Default::default(),
        });
        db.attach(conn)?;
        Ok(db)
    }

    /// Makes `conn` this store's connection, and starts watching it for other tabs'
    /// upgrades (and deletions) and for the browser closing it.
    fn attach(self: &Rc<Self>, conn: Database) -> Result<()> {
        let listener = match conn.version_changes() {
            Ok(l) => l,
            Err(e) => {
                conn.close();
                return Err(Error::indexed_db(e, "watching for other tabs' upgrades"));
            }
        };
        let generation = self.attached.get().wrapping_add(1);
        self.attached.set(generation);
        *self.version_changes.borrow_mut() = Some(listener);
        *self.conn.borrow_mut() = Some(conn);
        let weak = Rc::downgrade(self);
        wasm_bindgen_futures::spawn_local(async move {
            let change = next_change(&weak, generation).await;
            if let Some(db) = weak.upgrade() {
                match change {
                    Change::Wanted(version) => db.yield_to_other_tab(version),
                    Change::Closed => {
                        db.disconnect();
                        db.events.close();
                    }
                    Change::Gone => {}
                }
            }
        });
        Ok(())
    }

    pub async fn delete_database(name: &str) -> Result<()> {
        let ctx = format!("deleteDatabase('{name}')");
        factory()?
            .delete_db(name)
            .map_err(|e| Error::indexed_db(e, &ctx))?
            .await
            .map_err(|e| Error::indexed_db(e, &ctx))
    }
}

/// The next change to the connection of `attach` number `generation`. The listener
/// stays with the `Db` (so dropping it, with its connection, ends this wait: the task
/// is never woken again and goes).
async fn next_change(db: &Weak<Db>, generation: u32) -> Change {
    std::future::poll_fn(|cx| {
        let Some(db) = db.upgrade() else {
            return Poll::Ready(Change::Gone);
        };
        if db.attached.get() != generation {
            return Poll::Ready(Change::Gone);
        }
        let mut listener = db.version_changes.borrow_mut();
        let Some(listener) = listener.as_mut() else {
            return Poll::Ready(Change::Gone);
        };
        listener.poll_recv(cx).map(|event| match event {
            Some(e) => Change::Wanted(e.new_version()),
            None => Change::Closed,
        })
    })
    .await
}

impl Drop for Db {
    fn drop(&mut self) {
        self.close();
    }
}
