//! Schema upgrades while the store is open. IndexedDB upgrades a database only once
//! every connection to it is closed, so the store closes its connection, reopens at the
//! new version (or, when another tab upgrades, at whatever version that tab installed)
//! and swaps connection and profile in place. Calls made meanwhile wait (`ready()`)
//! rather than fail; rows, pending changes and checkpoints are untouched by the upgrade.

use super::{factory, idb_version, schema, Db};
use crate::error::{Error, Result};
use js_sys::{Function, Promise};
use offline_tables_core::Profile;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// A promise and the function that resolves it.
fn latch() -> (Promise, Function) {
    let mut resolve = None;
    let promise = Promise::new(&mut |r, _| resolve = Some(r));
    (promise, resolve.expect("the executor runs at once"))
}

impl Db {
    /// Resolves when the store is usable: at once, or when a reopen in progress ends.
    pub async fn ready(&self) {
        let waiting = self.reopening.borrow().clone();
        if let Some(p) = waiting {
            let _ = JsFuture::from(p).await;
        }
    }

    /// Runs `reopen` with calls held back until it ends.
    async fn while_reopening<T>(&self, reopen: impl std::future::Future<Output = T>) -> T {
        let (promise, resolve) = latch();
        *self.reopening.borrow_mut() = Some(promise);
        let out = reopen.await;
        *self.reopening.borrow_mut() = None;
        let _ = resolve.call0(&JsValue::UNDEFINED);
        out
    }

    /// Upgrades the open store to `profile` when it is newer than the installed one,
    /// keeping every row and pending change; true when it did. Another tab's store on
    /// the same database follows by itself.
    pub async fn upgrade_to(self: &Rc<Self>, profile: Profile) -> Result<bool> {
        if profile.version <= self.profile().version || self.closed_by_app.get() {
            return Ok(false);
        }
        self.ready().await;
        self.while_reopening(async {
            // Transactions in flight finish before the connection really closes.
            self.disconnect();
            let opened =
                schema::open_at(&factory()?, &self.name, idb_version(&profile), &profile).await;
            match opened {
                Ok(conn) => {
                    self.attach(conn)?;
                    *self.profile.borrow_mut() = Rc::new(profile);
                    Ok(true)
                }
                Err(e) => {
                    // The upgrade rolled back: carry on with the schema as it was.
                    self.reopen_stored().await?;
                    Err(e)
                }
            }
        })
        .await
    }

    /// Another tab wants the database: an upgrade (`new_version`) or a deletion (None).
    pub(super) fn yield_to_other_tab(self: Rc<Self>, new_version: Option<f64>) {
        self.disconnect();
        if new_version.is_none() || self.closed_by_app.get() {
            self.events.close();
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            let reopened = self.while_reopening(self.reopen_stored()).await;
            if reopened.is_err() {
                self.events.close();
            }
        });
    }

    /// Opens the database again at its current version, with the profile it holds
    /// (the open waits until another tab's upgrade is done).
    async fn reopen_stored(self: &Rc<Self>) -> Result<()> {
        let conn = schema::open_current(&factory()?, &self.name)
            .await?
            .ok_or_else(|| Error::closed(&self.name))?;
        let profile = schema::stored_profile(&conn).await?;
        if self.closed_by_app.get() {
            conn.close();
            return Err(Error::closed(&self.name));
        }
        self.attach(conn)?;
        if let Some(p) = profile {
            *self.profile.borrow_mut() = Rc::new(p);
        }
        Ok(())
    }
}
