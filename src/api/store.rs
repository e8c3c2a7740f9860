//! `OfflineStore`: opens the local database for an offline profile and hands out tables.

use super::{promise, Table};
use crate::error::Error;
use crate::storage::outbox::to_js;
use crate::storage::Db;
use js_sys::{Function, Promise};
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
}

fn field(options: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(options, &name.into()).unwrap_or_default()
}

#[wasm_bindgen]
impl OfflineStore {
    /// Opens (creating or upgrading) the database `name` with one object store per table
    /// of `profile`. A higher `profile.version` upgrades the schema, keeping every row
    /// and pending change.
    pub async fn open(
        #[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue,
    ) -> Result<OfflineStore, Error> {
        if !options.is_object() {
            return Err(Error::invalid_argument(
                "open: options must be { name, profile }",
            ));
        }
        let name = field(&options, "name")
            .as_string()
            .ok_or_else(|| Error::invalid_argument("open: options.name must be a string"))?;
        let profile = field(&options, "profile");
        if !profile.is_object() {
            return Err(Error::new(
                crate::error::ErrorCode::InvalidProfile,
                "open: options.profile must be an offline profile object",
            ));
        }
        let profile: Value = serde_wasm_bindgen::from_value(profile).map_err(|e| {
            Error::new(
                crate::error::ErrorCode::InvalidProfile,
                format!("profile: {e}"),
            )
        })?;
        let profile = Profile::from_json(&profile)?;
        Ok(OfflineStore {
            db: Db::open(&name, profile).await?,
        })
    }

    /// Deletes the database `name` and everything in it, pending changes included.
    #[wasm_bindgen(js_name = deleteDatabase)]
    pub async fn delete_database(name: String) -> Result<(), Error> {
        Db::delete_database(&name).await
    }

    /// The table `name` of the profile; throws `unknown_table` for any other name.
    pub fn table(&self, name: &str) -> Result<Table, Error> {
        self.db.table(name)?;
        Ok(Table::new(self.db.clone(), name))
    }

    /// Closes the database; later calls reject with `closed`.
    pub fn close(&self) {
        self.db.close();
    }

    /// The database name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.db.name.clone()
    }

    /// The installed offline profile (with defaults filled in).
    #[wasm_bindgen(getter, unchecked_return_type = "Profile")]
    pub fn profile(&self) -> JsValue {
        to_js(&self.db.profile.to_json())
    }

    /// The pending local changes, coalesced to one per row, in the order they were made.
    #[wasm_bindgen(unchecked_return_type = "Promise<PendingChange[]>")]
    pub fn pending(&self) -> Promise {
        let db = self.db.clone();
        promise(async move {
            let list: js_sys::Array = db.pending().await?.iter().map(|p| p.to_js()).collect();
            Ok(list.into())
        })
    }

    /// How many rows have pending local changes.
    #[wasm_bindgen(js_name = pendingCount, unchecked_return_type = "Promise<number>")]
    pub fn pending_count(&self) -> Promise {
        let db = self.db.clone();
        promise(async move { Ok(JsValue::from(db.pending().await?.len() as u32)) })
    }

    /// Calls `listener` after every committed write (`source` is "local", "remote" or
    /// "tab"); returns a function that unsubscribes.
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "\"change\"")] event: &str,
        #[wasm_bindgen(unchecked_param_type = "(event: ChangeEvent) => void")] listener: Function,
    ) -> Result<JsValue, Error> {
        if event != "change" {
            return Err(Error::invalid_argument(format!(
                "on: unknown event '{event}' (expected \"change\")"
            )));
        }
        let id = self.db.events.subscribe(listener);
        let events = self.db.events.clone();
        let off = Closure::<dyn FnMut()>::new(move || events.unsubscribe(id));
        Ok(off.into_js_value())
    }
}

impl OfflineStore {
    /// The storage layer, for the crate's own tests and later layers.
    pub fn db(&self) -> &Rc<Db> {
        &self.db
    }
}
