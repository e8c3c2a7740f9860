//! Pull apply: the server's changes written to the local store in one transaction: rows,
//! the bases of rows with kept conflicts or server removals under local changes and, for
//! a pulled page, the new checkpoint, so the checkpoint never runs ahead of the data it
//! covers. A row with pending local changes keeps its local state and the base it was
//! made against, so its push meets the server's newer row as a conflict.

use super::checkpoints::{lowest, write_last_pull, Pending, LAST_PULL};
use super::js::{put_rows, rows_to_js};
use super::outbox::{coalesce_present, drop_from_log, read_log};
use super::records::{self, base_key, key_js, parse_base, row_set, ConflictId, RowSet};
use super::tx::{delete, get, meta_get, or_undefined, put, put_at};
use super::{Db, Tx, BASE, CONFLICTS, META, OUTBOX};
use crate::driver::events::Source;
use crate::error::Result;
use indexed_db_futures::internals::SystemRepr;
use indexed_db_futures::prelude::*;
use js_sys::Array;
use offline_tables_core::protocol::checkpoint_of;
use offline_tables_core::protocol::{Change, PullResponse};
use offline_tables_core::Key;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// The `_meta` key set once a first download ran to its end.
pub(super) const INITIAL_SYNC: &str = "initialSyncDone";

type AllReq = indexed_db_futures::future::GetAllPrimitiveRequest<JsValue>;

/// The rows with a conflict kept for the app, as (table, key), read in `tx`.
pub(super) async fn kept_conflicts(tx: &Tx<'_>) -> Result<Vec<(String, Key)>> {
    let kept = kept_from(tx, kept_request(tx)?).await?;
    Ok(kept.into_iter().map(|(t, k, _)| (t, k)).collect())
}

/// Issues the read of `kept_conflicts`, to await with `kept_from` once other reads are out.
fn kept_request(tx: &Tx<'_>) -> Result<AllReq> {
    tx.store(CONFLICTS)?
        .get_all::<JsValue>()
        .primitive()
        .map_err(|e| tx.fail(e))
}

/// The kept conflicts as (table, key, the stored entry).
async fn kept_from(tx: &Tx<'_>, req: AllReq) -> Result<Vec<(String, Key, JsValue)>> {
    let kept = req.await.map_err(|e| tx.fail(e))?;
    let mut out = Vec::new();
    for c in kept {
        let entry = c.map_err(|e| tx.fail(e))?;
        let c: ConflictId = records::from_js(entry.clone(), "a kept conflict", tx.context())?;
        out.push((c.table, c.key, entry));
    }
    Ok(out)
}

/// One change from the server: an upsert (`row` is Some) or a removal.
#[derive(Debug, Clone)]
pub struct RemoteChange {
    pub table: String,
    pub key: Key,
    pub version: String,
    pub row: Option<Value>,
}

/// What `Db::apply_page` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Written with its checkpoint. `moot`: it took changes out of the outbox (local
    /// writes the server's rows made moot); only then can the count of pending changes
    /// differ.
    Written { moot: bool },
    /// Nothing written: the store's checkpoint is no longer the one the page was pulled
    /// from (another tab or a resync moved it meanwhile). Pull again from the stored one.
    Stale,
}

/// A page's checkpoint moves: each table pulled, from the checkpoint it was pulled from
/// to the page's; `done`: the page ends its pull.
struct Moves<'a> {
    from: &'a [(String, Option<String>)],
    to: Vec<(&'a str, &'a str)>,
    done: bool,
}

/// See `Db::pull_state`.
pub struct PullState {
    pub client_id: Option<String>,
    /// Every table of the profile, with its checkpoint (None: never pulled).
    pub checkpoints: Vec<(String, Option<String>)>,
    pub user: Option<String>,
}

/// A change as the store applies it: an upsert's row is `rows[row]`, the JavaScript
/// object written (indexes, not values, so a page's rows cross into wasm only where one
/// is needed there).
struct Incoming<'a> {
    table: &'a str,
    key: &'a Key,
    version: &'a str,
    row: Option<u32>,
}

/// Rows written as they came, with no base, in a run of one table: one call of
/// `put_rows.js` for the run.
struct Run<'a> {
    table: &'a str,
    at: Vec<u32>,
}

impl Db {
    /// Applies server changes without a checkpoint (for tests): with no checkpoint to
    /// bound their versions, every row's base keeps its version.
    pub async fn apply_remote(&self, changes: &[RemoteChange]) -> Result<()> {
        let rows: Vec<Option<&Value>> = changes.iter().map(|c| c.row.as_ref()).collect();
        let rows_js: Array = rows_to_js(&rows, "applying server changes")?.unchecked_into();
        let incoming: Vec<Incoming> = changes
            .iter()
            .enumerate()
            .map(|(i, c)| Incoming {
                table: &c.table,
                key: &c.key,
                version: &c.version,
                row: c.row.as_ref().map(|_| i as u32),
            })
            .collect();
        self.apply_changes(&incoming, &rows_js, None)
            .await
            .map(drop)
    }

    /// Applies a page of every table pulled from the one checkpoint `asked` (None: from
    /// the start); see `apply_pulled_page`.
    pub async fn apply_page(
        &self,
        page: &PullResponse,
        rows: &Array,
        asked: Option<&str>,
    ) -> Result<Applied> {
        let asked: Vec<(String, Option<String>)> = self
            .profile()
            .tables
            .keys()
            .map(|t| (t.clone(), asked.map(str::to_string)))
            .collect();
        self.apply_pulled_page(page, rows, &asked).await
    }

    /// Applies a page pulled for the tables of `asked`, each from its checkpoint there
    /// (None: from the start), whose rows are `rows` (`rows[i]` is the row of
    /// `page.changes[i]`, see `transport::Pulled`), and stores each table's new
    /// checkpoint in the same transaction (the page's `checkpoints`, or its `checkpoint`
    /// for every table from a server without them), provided the store's checkpoints are
    /// still those of `asked` (else `Stale`, nothing written). Change kinds this client
    /// does not know, and tables outside its profile, are skipped.
    pub async fn apply_pulled_page(
        &self,
        page: &PullResponse,
        rows: &Array,
        asked: &[(String, Option<String>)],
    ) -> Result<Applied> {
        let profile = self.profile();
        let changes: Vec<Incoming> = page
            .changes
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Change::Upsert {
                    table,
                    key,
                    version,
                    ..
                } => Some(Incoming {
                    table,
                    key,
                    version,
                    row: Some(i as u32),
                }),
                Change::Remove {
                    table,
                    key,
                    version,
                    ..
                } => Some(Incoming {
                    table,
                    key,
                    version,
                    row: None,
                }),
                Change::Unknown => None,
            })
            .filter(|c| profile.tables.contains_key(c.table))
            .collect();
        let to = asked
            .iter()
            .map(|(t, _)| {
                let c = page
                    .checkpoints
                    .as_deref()
                    .and_then(|m| checkpoint_of(m, t));
                (t.as_str(), c.unwrap_or(&page.checkpoint).as_str())
            })
            .collect();
        let moves = Moves {
            from: asked,
            to,
            done: !page.has_more,
        };
        self.apply_changes(&changes, rows, Some(moves)).await
    }

    /// True once a first download ran to its end (cleared by a full resync).
    pub async fn initial_sync_done(&self) -> Result<bool> {
        let ctx = "reading the first download's state";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[META], false, ctx)?;
        let req = meta_get(&tx.store(META)?, INITIAL_SYNC).map_err(|e| tx.fail(e))?;
        Ok(tx.wait(req).await?.and_then(|v| v.as_bool()) == Some(true))
    }

    /// Records that the first download reached its end.
    pub async fn mark_initial_sync_done(&self) -> Result<()> {
        let ctx = "recording the end of the first download";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[META], true, ctx)?;
        let written = tx
            .store(META)
            .and_then(|m| put_at(&m, &JsValue::TRUE, &INITIAL_SYNC.into()).map_err(|e| tx.fail(e)));
        tx.commit_or_abort(written).await
    }

    /// What a pull request needs, read in one transaction: the client id (None until the
    /// first push or pull creates it, see `client_id`), the checkpoint and the user the
    /// store is bound to.
    pub async fn pull_state(&self) -> Result<PullState> {
        let ctx = "reading the pull state";
        let conn = self.conn()?;
        let tx = self.tx(&conn, &[META], false, ctx)?;
        let meta = tx.store(META)?;
        let cps = Pending::issue(&tx, &meta)?;
        let reqs = ["clientId", "user"].map(|k| meta_get(&meta, k));
        let mut out = [None, None];
        for (slot, req) in out.iter_mut().zip(reqs) {
            *slot = tx
                .wait(req.map_err(|e| tx.fail(e))?)
                .await?
                .and_then(|v| v.as_string());
        }
        let cps = cps.read(&tx).await?;
        let [client_id, user] = out;
        Ok(PullState {
            client_id,
            checkpoints: self
                .profile()
                .tables
                .keys()
                .map(|t| (t.clone(), cps.of(t)))
                .collect(),
            user,
        })
    }

    /// The lowest checkpoint of the profile's tables (None while any table has none).
    pub async fn checkpoint(&self) -> Result<Option<String>> {
        let state = self.pull_state().await?;
        Ok(lowest(&state.checkpoints))
    }

    async fn apply_changes(
        &self,
        changes: &[Incoming<'_>],
        rows: &Array,
        moves: Option<Moves<'_>>,
    ) -> Result<Applied> {
        let checkpoint = moves.as_ref().map(|m| &m.to);
        let ctx = "applying server changes";
        let profile = self.profile();
        let mut tables: Vec<&str> = changes.iter().map(|c| c.table).collect();
        offline_tables_core::sort::sort(&mut tables);
        tables.dedup();
        for t in &tables {
            self.table(t)?;
        }
        let mut stores = tables.clone();
        stores.extend([OUTBOX, BASE, META, CONFLICTS]);
        let conn = self.conn()?;
        let tx = self.tx(&conn, &stores, true, ctx)?;
        let outbox = tx.store(OUTBOX)?;
        let meta = tx.store(META)?;
        // The three reads go out together: each awaited alone costs a round trip to
        // the database, once per page of a download.
        let stored = match moves {
            Some(_) => Some((
                Pending::issue(&tx, &meta)?,
                meta_get(&meta, LAST_PULL).map_err(|e| tx.fail(e))?,
            )),
            None => None,
        };
        let kept = kept_request(&tx)?;
        let log = read_log(&tx, &outbox).await?;
        let mut stored_cps = None;
        if let (Some(m), Some((cps, last))) = (&moves, stored) {
            let cps = cps.read(&tx).await?;
            let last = or_undefined(tx.wait(last).await?);
            if m.from.iter().any(|(t, from)| cps.of(t) != *from) {
                return Ok(Applied::Stale);
            }
            stored_cps = Some((cps, last));
        }
        let logged = RowSet::of(
            log.iter()
                .flat_map(|e| e.keys.iter().map(move |k| (e.table.as_str(), k))),
        );
        let base_store = tx.store(BASE)?;
        // A logged key whose local writes cancelled out (put then delete of a row the
        // server never had) has nothing pending: the server's row is taken, and the
        // key leaves the log so it does not look pending later.
        let mut checks = Vec::new();
        for c in changes
            .iter()
            .filter(|c| logged.contains(&(c.table, c.key)))
        {
            let k = key_js(c.key);
            let row = get(&tx.store(c.table)?, &k).map_err(|e| tx.fail(e))?;
            let base = get(&base_store, &base_key(c.table, &k)).map_err(|e| tx.fail(e))?;
            checks.push((c, row, base));
        }
        let mut dirty = Vec::new();
        let mut stale = Vec::new();
        // The stored base of each pending row, kept to note the server's newer row on it.
        let mut bases: Vec<((&str, &Key), JsValue)> = Vec::new();
        for (c, row, base) in checks {
            let row = or_undefined(tx.wait(row).await?);
            let raw = tx.wait(base).await?;
            let base = parse_base(raw.clone(), ctx)?;
            let id = (c.table, c.key);
            if coalesce_present(0, c.table, c.key, base.as_ref(), &row).is_some() {
                dirty.push(id);
                if let Some(raw) = raw.filter(JsValue::is_object) {
                    bases.push((id, raw));
                }
            } else {
                stale.push(id);
            }
        }
        // A row with a conflict kept for the app stays as the user left it, like a
        // pending one; its base follows the server, so the app settles on the newest row.
        let entries = kept_from(&tx, kept).await?;
        let ids: Vec<(String, Key)> = entries
            .iter()
            .map(|(t, k, _)| (t.clone(), k.clone()))
            .collect();
        let kept = row_set(&ids);
        // The kept conflict shows the server's newest row, so the app decides knowing it.
        let follow = |c: &Incoming, row: JsValue| -> Result<()> {
            let found = entries.iter().find(|(t, k, _)| t == c.table && k == c.key);
            let Some((_, _, entry)) = found else {
                return Ok(());
            };
            let _ = js_sys::Reflect::set(entry, &"server".into(), &row);
            let _ = js_sys::Reflect::set(entry, &"serverVersion".into(), &c.version.into());
            put(&tx.store(CONFLICTS)?, entry).map_err(|e| tx.fail(e))
        };
        for c in changes {
            if kept.contains(&(c.table, c.key)) {
                dirty.push((c.table, c.key));
            }
        }
        let moot = !stale.is_empty();
        let (dirty, stale) = (RowSet::of(dirty), RowSet::of(stale));
        let mut touched = super::Touched::default();
        let mut apply = || -> Result<()> {
            let fail = |e| tx.fail(e);
            if let (Some(m), Some((cps, last))) = (&moves, &stored_cps) {
                cps.write(&tx, &meta, &m.to)?;
                if m.done {
                    let tables: Vec<&str> = m.to.iter().map(|(t, _)| *t).collect();
                    write_last_pull(&tx, &meta, last.clone(), &tables, js_sys::Date::now())?;
                }
            }
            drop_from_log(&tx, &outbox, &log, |e, k| {
                stale.contains(&(e.table.as_str(), k))
            })?;
            // A page's rows are written as they came (no base: its checkpoint bounds their
            // versions, see `Base`) in runs per table, in the page's order.
            let mut run: Option<Run> = None;
            let put_run = |run: Option<Run>, touched: &mut super::Touched| -> Result<()> {
                let Some(Run { table, at }) = run else {
                    return Ok(());
                };
                let store = tx.store(table)?;
                let at = js_sys::Uint32Array::from(&at[..]);
                let key_col = &profile.table(table)?.key;
                let keys = put_rows(store.as_sys().as_ref(), rows, &at, key_col)
                    .map_err(|e| tx.fail(e.into()))?;
                touched.add_all(
                    table,
                    keys,
                    Some(super::js::gather(rows, &at, &JsValue::NULL)),
                );
                Ok(())
            };
            for c in changes {
                let local_on_top = dirty.contains(&(c.table, c.key));
                if let (Some(i), false, Some(_)) = (c.row, local_on_top, checkpoint) {
                    match &mut run {
                        Some(r) if r.table == c.table => r.at.push(i),
                        _ => {
                            let new = Run {
                                table: c.table,
                                at: vec![i],
                            };
                            put_run(run.replace(new), &mut touched)?;
                        }
                    }
                    continue;
                }
                put_run(run.take(), &mut touched)?;
                let k = key_js(c.key);
                let store = tx.store(c.table)?;
                // Built only where a base is written: a download writes none.
                let bk = || base_key(c.table, &k);
                match c.row.map(|i| rows.get(i)) {
                    // A pending change keeps the base it was made against: pushed against
                    // it, it meets this newer row as a conflict, settled by the table's
                    // policy. Moving the base here would let the push overwrite the
                    // server's change unseen (protocol §4 rule 3).
                    // The server's row is noted beside the base (`latest`): should the
                    // change be refused, the row goes back to it, not to the older base
                    // this checkpoint has passed.
                    Some(row_js) if local_on_top && !kept.contains(&(c.table, c.key)) => {
                        let found = bases.iter().find(|(id, _)| *id == (c.table, c.key));
                        if let Some((_, raw)) = found {
                            let noted = records::with_latest(raw, c.version, &row_js);
                            put_at(&base_store, &noted, &bk()).map_err(fail)?;
                        }
                    }
                    Some(row_js) => {
                        // Under a kept conflict the base takes the server's row and
                        // version. Otherwise the table takes the row, and a page's
                        // checkpoint bounds its version: no base is written, so a
                        // download writes each row once (see `Base`).
                        if local_on_top || checkpoint.is_none() {
                            let row = match local_on_top {
                                true => row_js.clone(),
                                false => JsValue::UNDEFINED,
                            };
                            if local_on_top {
                                follow(c, row_js.clone())?;
                            }
                            put_at(
                                &base_store,
                                &records::server_base(c.version, row, ctx)?,
                                &bk(),
                            )
                            .map_err(fail)?;
                        }
                        if !local_on_top {
                            put(&store, &row_js).map_err(fail)?;
                        }
                    }
                    None if local_on_top => {
                        // The local change stays; its base records that the server's
                        // row is gone (`row: null`, protocol §4 rule 4), so the change
                        // is pushed against that version, not as an insert that would
                        // re-create the row, and a kept conflict settles on it.
                        let gone = records::server_base(c.version, JsValue::NULL, ctx)?;
                        let gone = records::with_latest(&gone, c.version, &JsValue::NULL);
                        put_at(&base_store, &gone, &bk()).map_err(fail)?;
                        follow(c, JsValue::NULL)?;
                    }
                    None => {
                        delete(&base_store, &bk()).map_err(fail)?;
                        delete(&store, &k).map_err(fail)?;
                    }
                }
                if !local_on_top {
                    let row = c.row.map_or(JsValue::UNDEFINED, |i| rows.get(i));
                    touched.add_row(c.table, &k, &row);
                }
            }
            put_run(run, &mut touched)
        };
        let written = apply();
        drop((outbox, base_store, meta));
        tx.commit_or_abort(written).await?;
        touched.emit(&self.events, Source::Remote);
        Ok(Applied::Written { moot })
    }
}
