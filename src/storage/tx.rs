//! One storage operation's transaction, through indexed_db_futures: started over the
//! stores it needs, its failures sorted with the operation's context, and committed
//! (or rolled back, also when dropped) as one unit. Also the few request shapes the
//! storage layer issues, so each is spelled once.

use super::upgrade::AbortCause;
use super::Db;
use crate::error::{DomError, Error, FromJs, Result};
use indexed_db_futures::database::Database;
use indexed_db_futures::future::BasicRequest;
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{Transaction, TransactionMode};
use wasm_bindgen::prelude::*;

/// A request issued and not awaited yet: requests of one transaction run in the order
/// they were issued, so several go out before the first is awaited.
pub(crate) type Req<T> = BasicRequest<T>;

/// A transaction in progress on the connection `'c`. Dropping it rolls it back.
pub(crate) struct Tx<'c> {
    tx: Transaction<'c>,
    ctx: String,
    /// The app's transaction (`store.transaction`) the writes belong to, logged with them.
    unit: Option<String>,
}

impl Db {
    /// Starts a transaction over `stores` on `conn` (this store's connection, see
    /// `Db::conn`).
    pub(crate) fn tx<'c>(
        &self,
        conn: &'c Database,
        stores: &[&str],
        write: bool,
        context: &str,
    ) -> Result<Tx<'c>> {
        Tx::begin(conn, stores, write, context).map_err(|err| {
            // `IDBDatabase.transaction()` throws InvalidStateError only when the
            // connection is closing (closed under us, or by the browser).
            if err.dom() == Some(DomError::InvalidState) || self.is_closed() {
                Error::closed(&self.name)
            } else {
                err
            }
        })
    }
}

impl<'c> Tx<'c> {
    /// Starts a transaction over `stores` on `conn`.
    pub fn begin(
        conn: &'c Database,
        stores: &[&str],
        write: bool,
        context: &str,
    ) -> Result<Tx<'c>> {
        let mode = if write {
            TransactionMode::Readwrite
        } else {
            TransactionMode::Readonly
        };
        // One store by name, not as a list: no JS array per transaction (a `get` is one).
        let built = match stores {
            [one] => conn.transaction(*one).with_mode(mode).build(),
            _ => conn.transaction(stores).with_mode(mode).build(),
        };
        match built {
            Ok(tx) => Ok(Tx {
                tx,
                ctx: context.to_string(),
                unit: None,
            }),
            Err(e) => Err(Error::indexed_db(e, context)),
        }
    }

    /// Logs the writes of this transaction as the app's transaction `unit`.
    pub fn with_unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.to_string());
        self
    }

    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    pub fn store(&self, name: &str) -> Result<ObjectStore<'_>> {
        self.tx.object_store(name).map_err(|e| self.fail(e))
    }

    /// A failure of this transaction's work, with its context.
    pub fn fail(&self, e: indexed_db_futures::error::Error) -> Error {
        Error::indexed_db(e, &self.ctx)
    }

    /// The `IDBTransaction` itself, for the JS helpers that issue requests in it.
    pub fn raw(&self) -> JsValue {
        use indexed_db_futures::internals::SystemRepr;
        self.tx.as_sys().clone().into()
    }

    pub fn context(&self) -> &str {
        &self.ctx
    }

    /// Commits and waits until the data is stored. A transaction the browser aborted
    /// (a full quota at commit, a request that failed) fails with its cause.
    pub async fn commit(self) -> Result<()> {
        let cause = AbortCause::of(&self.tx);
        let ctx = self.ctx;
        match self.tx.commit().await {
            Ok(()) => Ok(()),
            Err(e) => Err(cause
                .error(&ctx)
                .unwrap_or_else(|| Error::indexed_db(e, &ctx))),
        }
    }

    /// Rolls back everything this transaction wrote.
    pub async fn abort(self) {
        let _ = self.tx.abort().await;
    }

    /// Commits when every write was issued, else rolls all of them back.
    pub async fn commit_or_abort(self, written: Result<()>) -> Result<()> {
        match written {
            Ok(()) => self.commit().await,
            Err(e) => {
                self.abort().await;
                Err(e)
            }
        }
    }

    /// Awaits a request issued in this transaction.
    pub async fn wait<T>(&self, req: Req<T>) -> Result<T> {
        req.await.map_err(|e| self.fail(e))
    }
}

/// Issues a get of `key` (undefined once awaited when there is no such record).
pub(crate) fn get(
    store: &ObjectStore<'_>,
    key: &JsValue,
) -> indexed_db_futures::Result<Req<Option<JsValue>>> {
    store.get::<JsValue, _, _>(key).primitive()
}

/// Issues a get of the `_meta` value `key`.
pub(crate) fn meta_get(
    meta: &ObjectStore<'_>,
    key: &str,
) -> indexed_db_futures::Result<Req<Option<JsValue>>> {
    get(meta, &JsValue::from_str(key))
}

/// Issues a put of `value` under `key` (for stores without a key path).
pub(crate) fn put_at(
    store: &ObjectStore<'_>,
    value: &JsValue,
    key: &JsValue,
) -> indexed_db_futures::Result<()> {
    store
        .put(value)
        .with_key(key)
        .without_key_type()
        .primitive()
        .map(drop)
}

/// Issues a put of `value` (for stores with a key path: the tables, `_outbox`).
pub(crate) fn put(store: &ObjectStore<'_>, value: &JsValue) -> indexed_db_futures::Result<()> {
    store.put(value).primitive().map(drop)
}

/// Issues a delete of the record `key`.
pub(crate) fn delete(store: &ObjectStore<'_>, key: &JsValue) -> indexed_db_futures::Result<()> {
    store.delete(key).primitive().map(drop)
}

/// The value of a get, undefined when there was none.
pub(crate) fn or_undefined(v: Option<JsValue>) -> JsValue {
    v.unwrap_or(JsValue::UNDEFINED)
}
