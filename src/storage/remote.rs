//! Applies the server's changes to the local store in one transaction: rows, their
//! bases (server row and version) and nothing else. A row with pending local changes
//! keeps its local state on top; only its base moves (the change is rebased).

use super::outbox::{base_key, key_js, read_log, to_js};
use super::{Db, BASE, OUTBOX};
use crate::driver::events::Source;
use crate::error::Result;
use js_sys::Array;
use offline_tables_core::{Base, Key};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One change from the server: an upsert (`row` is Some) or a removal.
#[derive(Debug, Clone)]
pub struct RemoteChange {
    pub table: String,
    pub key: Key,
    pub version: String,
    pub row: Option<Value>,
}

impl Db {
    pub async fn apply_remote(&self, changes: &[RemoteChange]) -> Result<()> {
        let ctx = "applying server changes";
        let mut tables: Vec<&str> = changes.iter().map(|c| c.table.as_str()).collect();
        tables.sort();
        tables.dedup();
        for t in &tables {
            self.table(t)?;
        }
        let mut stores = tables.clone();
        stores.extend([OUTBOX, BASE]);
        let tx = self.tx(&stores, true, ctx)?;
        let log = read_log(&tx.store(OUTBOX)?, ctx).await?;
        let dirty: BTreeSet<(&str, &Key)> = log
            .iter()
            .flat_map(|e| e.keys.iter().map(move |k| (e.table.as_str(), k)))
            .collect();
        let base_store = tx.store(BASE)?;
        let mut touched: BTreeMap<&str, Array> = BTreeMap::new();
        let mut apply = || -> Result<(), wasm_bindgen::JsValue> {
            for c in changes {
                let k = key_js(&c.key);
                let store = tx.tx.object_store(&c.table)?;
                let local_on_top = dirty.contains(&(c.table.as_str(), &c.key));
                match &c.row {
                    Some(row) => {
                        let base = Base {
                            version: c.version.clone(),
                            row: row.clone(),
                        };
                        base_store.put_with_key(&to_js(&base), &base_key(&c.table, &k))?;
                        if !local_on_top {
                            store.put(&to_js(row))?;
                        }
                    }
                    None => {
                        base_store.delete(&base_key(&c.table, &k))?;
                        if !local_on_top {
                            store.delete(&k)?;
                        }
                    }
                }
                if !local_on_top {
                    touched.entry(c.table.as_str()).or_default().push(&k);
                }
            }
            Ok(())
        };
        if let Err(e) = apply() {
            let err = tx.fail(e);
            tx.abort().await;
            return Err(err);
        }
        tx.commit().await?;
        for (table, keys) in touched {
            self.events.emit(table, &keys, Source::Remote);
        }
        Ok(())
    }
}
