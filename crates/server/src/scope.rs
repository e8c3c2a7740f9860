//! Row scope on the server: whether a row is in a user's scope, loading the related
//! parent rows a `related` scope needs (memoised per request).

use crate::db::{self, key_text, Db};
use crate::error::AppResult;
use offline_tables_core::scope::{Caller, ScopeContext};
use offline_tables_core::{Key, Profile, Scope};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;

/// Where parent rows are read from: committed state, or a transaction in progress (a
/// push batch must see its own earlier writes).
pub enum Src<'a> {
    Pool(&'a Db),
    Tx(&'a mut db::Tx),
}

pub struct Scoper<'a> {
    src: Src<'a>,
    profile: &'a Profile,
    pub caller: &'a Caller,
    pub now_ms: i64,
    memo: HashMap<(String, String), bool>,
}

fn related(scope: &Scope, out: &mut Vec<(String, String)>) {
    if let Scope::Where {
        related: r, any_of, ..
    } = scope
    {
        if let Some(r) = r {
            out.push((r.table.clone(), r.column.clone()));
        }
        for s in any_of.iter().flatten() {
            related(s, out);
        }
    }
}

type BoxFut<'b, T> = Pin<Box<dyn Future<Output = T> + Send + 'b>>;

impl<'a> Scoper<'a> {
    pub fn new(src: Src<'a>, profile: &'a Profile, caller: &'a Caller, now_ms: i64) -> Self {
        Scoper {
            src,
            profile,
            caller,
            now_ms,
            memo: HashMap::new(),
        }
    }

    /// True when `row` of `table` is in the user's scope.
    pub fn row_in_scope<'b>(
        &'b mut self,
        table: &'b str,
        row: &'b Map<String, Value>,
    ) -> BoxFut<'b, AppResult<bool>>
    where
        'a: 'b,
    {
        Box::pin(async move {
            let Some(def) = self.profile.tables.get(table) else {
                return Ok(false);
            };
            if def.scope == Scope::All {
                return Ok(true);
            }
            let mut rels = Vec::new();
            related(&def.scope, &mut rels);
            let mut parents: HashSet<(String, String)> = HashSet::new();
            for (ptable, col) in rels {
                if let Some(k) = row.get(&col).and_then(|v| Key::from_json(v, "").ok()) {
                    let kt = key_text(&k);
                    if self.key_in_scope(&ptable, &kt).await? {
                        parents.insert((ptable, kt));
                    }
                }
            }
            let lookup = |t: &str, v: &Value| {
                Key::from_json(v, "")
                    .map(|k| parents.contains(&(t.to_string(), key_text(&k))))
                    .unwrap_or(false)
            };
            let ctx = ScopeContext {
                caller: self.caller,
                now_ms: self.now_ms,
                parent_in_scope: &lookup,
            };
            Ok(def.scope.matches(row, &ctx))
        })
    }

    /// True when the live row `key` of `table` exists and is in the user's scope.
    pub fn key_in_scope<'b>(
        &'b mut self,
        table: &'b str,
        key: &'b str,
    ) -> BoxFut<'b, AppResult<bool>>
    where
        'a: 'b,
    {
        Box::pin(async move {
            let id = (table.to_string(), key.to_string());
            if let Some(v) = self.memo.get(&id) {
                return Ok(*v);
            }
            let stored = match &mut self.src {
                Src::Pool(db) => db::load(&db.pool, table, key).await?,
                Src::Tx(tx) => db::load(&mut ***tx, table, key).await?,
            };
            let v = match stored.and_then(|s| s.data) {
                Some(row) => self.row_in_scope(table, &row).await?,
                None => false,
            };
            self.memo.insert(id, v);
            Ok(v)
        })
    }
}
