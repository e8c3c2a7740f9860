//! Push settlement: the server's outcomes for the batch in flight (`push_batch.rs`),
//! applied in one transaction by each table's policy, units settled whole, trimming
//! exactly the writes the batch covered: writes made while it was in flight stay
//! pending, against the new base. The conflict and error lists the app settles are in
//! `lists.rs`.

use super::js::rows_to_js;
use super::outbox::{drop_from_log, read_log, to_json};
use super::push_batch::Batch;
use super::records::{self, base_key, key_js, KeptConflict, RefusedChange, UnitChange};
use super::rename::Rename;
use super::tx::{delete, get, put, put_at};
use super::{Db, Tx, BASE, CONFLICTS, ERRORS, META, OUTBOX};
use crate::driver::events::Source;
use crate::error::{Error, Result};
use indexed_db_futures::object_store::ObjectStore;
use indexed_db_futures::prelude::*;
use offline_tables_core::conflict::{settle, Settlement};
use offline_tables_core::protocol::wire::{self};
use offline_tables_core::protocol::{Outcome, PushMutation, RejectReason};
use offline_tables_core::units::{self, Fate};
use offline_tables_core::{Key, LogEntry, Mutation, MutationOp};
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// What settling a batch did, for the sync report and events.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Settled {
    pub applied: usize,
    pub conflicts: usize,
    pub resent: usize,
    pub rejected: usize,
    /// Conflicts newly kept for the app (as stored, without their id).
    pub kept: Vec<Value>,
    /// Changes newly refused by the server (as stored, without their id).
    pub refused: Vec<Value>,
}

impl Db {
    /// Settles the batch in flight with the server's outcomes (one per mutation, any
    /// order), in one transaction.
    pub async fn settle_batch(&self, outcomes: &[Outcome]) -> Result<Settled> {
        let ctx = "settling a push";
        let stores = self.all_stores()?;
        let refs: Vec<&str> = stores.iter().map(String::as_str).collect();
        let conn = self.conn()?;
        let tx = self.tx(&conn, &refs, true, ctx)?;
        let Some(text) = Self::meta_get(&tx, "inflight").await?.as_string() else {
            tx.abort().await;
            return Ok(Settled::default());
        };
        let batch: Batch = wire::from_str(&text)
            .map_err(|e| Error::storage(format!("{ctx}: the batch in flight is malformed: {e}")))?;
        // A batch holds at most PUSH_BATCH (500) mutations, and `answers::check_push` has
        // checked one outcome per mutation: a scan per mutation is cheap, and one map type
        // fewer is a few kB less wasm.
        let outcome_of = |id: u64| {
            outcomes
                .iter()
                .find(|o| match o {
                    Outcome::Applied { id: i, .. }
                    | Outcome::Conflict { id: i, .. }
                    | Outcome::Rejected { id: i, .. } => *i == id,
                    Outcome::Unknown => false,
                })
                .unwrap_or(&Outcome::Unknown)
        };
        let log = read_log(&tx, &tx.store(OUTBOX)?).await?;
        let profile = self.profile();
        let policy_of = |t: &str| {
            profile
                .tables
                .get(t)
                .map(|d| d.conflict)
                .unwrap_or_default()
        };
        // How each mutation settles alone, then each unit's fate from its members'.
        let alone: Vec<Settlement> = batch
            .mutations
            .iter()
            .zip(&batch.base_rows)
            .map(|(m, b)| settle(policy_of(&m.table), &core_of(m, b), outcome_of(m.id)))
            .collect();
        let fates = unit_fates(&batch, &alone);
        let fate_of = |m: &PushMutation| {
            let u = m.unit.as_deref()?;
            fates.iter().find(|(f, _)| f == u).map(|(_, fate)| fate)
        };
        // The rows of each refused unit, for its one sync error.
        let mut refused_units: Vec<(String, Vec<UnitChange>)> = Vec::new();
        let mut renames: Vec<Rename> = Vec::new();
        let mut report = Settled::default();
        let mut touched = super::Touched::default();
        let mut trim: Vec<(String, Key)> = Vec::new();
        let base_store = tx.store(BASE)?;
        let latest = latest_rows(&tx, &base_store, &batch, &alone, ctx).await?;
        let rows = batch.mutations.iter().zip(&batch.base_rows).zip(latest);
        for (((m, base_row), latest), settled) in rows.zip(alone) {
            let mut settlement = settled;
            let mut in_refused_unit = false;
            match (fate_of(m), &settlement) {
                // A unit that goes again: the mutations the server skipped stay pending.
                (Some(Fate::Retry), Settlement::Reject { .. }) => continue,
                (Some(Fate::Refused { .. }), s) => {
                    in_refused_unit = true;
                    settlement = match s {
                        // A conflict's row takes the server's state.
                        Settlement::TakeServer { .. } | Settlement::Applied { .. } => {
                            settlement.clone()
                        }
                        Settlement::Manual {
                            server_row,
                            server_version,
                        } => Settlement::TakeServer {
                            row: server_row.clone(),
                            version: server_version.clone(),
                        },
                        // Everything else goes back to its base.
                        _ => Settlement::Reject {
                            reason: RejectReason::Transaction,
                            message: String::new(),
                        },
                    };
                    let change = UnitChange {
                        table: m.table.clone(),
                        key: m.key.clone(),
                        op: m.op,
                        row: m.row.clone(),
                    };
                    let u = m.unit.clone().unwrap_or_default();
                    match refused_units.iter_mut().find(|(x, _)| *x == u) {
                        Some((_, list)) => list.push(change),
                        None => refused_units.push((u, vec![change])),
                    }
                }
                _ => {}
            }
            if let (
                Settlement::Applied { .. },
                Outcome::Applied {
                    key: Some(real), ..
                },
            ) = (&settlement, outcome_of(m.id))
            {
                if m.temp_key {
                    renames.push(Rename {
                        table: m.table.clone(),
                        from: m.key.clone(),
                        to: real.clone(),
                    });
                }
            }
            let k = key_js(&m.key);
            let bk = base_key(&m.table, &k);
            let later = later_writes(&log, batch.upto_seq, &m.table, &m.key);
            let table = tx.store(&m.table)?;
            let fail = |e| tx.fail(e);
            let set_row = |row: &Option<Value>| -> Result<()> {
                match row {
                    Some(r) => put(&table, &rows_to_js(r, ctx)?).map_err(fail),
                    None => delete(&table, &k).map_err(fail),
                }
            };
            // The base keeps the server's row only while the row stays pending (see
            // `Base`); a settled row's table copy is the server's.
            let set_base =
                |version: &Option<String>, row: &Option<Value>, pending: bool| -> Result<()> {
                    match (version, row) {
                        (Some(v), Some(r)) => {
                            let row = match pending {
                                true => rows_to_js(r, ctx)?,
                                false => JsValue::UNDEFINED,
                            };
                            put_at(&base_store, &records::server_base(v, row, ctx)?, &bk)
                                .map_err(fail)
                        }
                        // No server row, and written again since: the row is the app's.
                        _ if pending => {
                            put_at(&base_store, &records::local_base(ctx)?, &bk).map_err(fail)
                        }
                        _ => delete(&base_store, &bk).map_err(fail),
                    }
                };
            let step: Result<()> = (|| {
                match settlement {
                    Settlement::Applied { version } => {
                        report.applied += 1;
                        let row = if m.op == MutationOp::Delete {
                            None
                        } else {
                            m.row.clone()
                        };
                        set_base(&Some(version), &row, later)?;
                        trim.push((m.table.clone(), m.key.clone()));
                    }
                    Settlement::TakeServer { row, version } => {
                        report.conflicts += 1;
                        set_base(&version, &row, later)?;
                        if !later {
                            set_row(&row)?;
                            touched.add(&m.table, &k);
                        }
                        trim.push((m.table.clone(), m.key.clone()));
                    }
                    Settlement::Resend {
                        row,
                        base_version,
                        base_row,
                    } => {
                        report.resent += 1;
                        set_base(&base_version, &base_row, true)?;
                        if !later && row.is_some() && row != m.row {
                            set_row(&row)?;
                            touched.add(&m.table, &k);
                        }
                        // Not trimmed: the row stays pending, now against the server's version.
                    }
                    Settlement::Manual {
                        server_row,
                        server_version,
                    } => {
                        report.conflicts += 1;
                        let entry = KeptConflict {
                            table: m.table.clone(),
                            key: m.key.clone(),
                            base: base_row.clone(),
                            local: m.row.clone(),
                            server: server_row,
                            server_version,
                        };
                        add_to(&tx, CONFLICTS, &entry)?;
                        report.kept.push(as_value(&entry, ctx)?);
                        trim.push((m.table.clone(), m.key.clone()));
                    }
                    Settlement::Reject { reason, message } => {
                        report.rejected += 1;
                        if !in_refused_unit {
                            let entry = RefusedChange {
                                table: m.table.clone(),
                                key: m.key.clone(),
                                op: m.op,
                                row: m.row.clone(),
                                reason: reason.as_str().to_string(),
                                message,
                                unit: None,
                                changes: None,
                            };
                            add_to(&tx, ERRORS, &entry)?;
                            report.refused.push(as_value(&entry, ctx)?);
                        }
                        if !later {
                            // Back to the server's state: its newest row pulled meanwhile,
                            // else the base, or gone if it never had it.
                            let (version, row) = match latest {
                                Some((v, row)) => (Some(v), row),
                                None => (m.base_version.clone(), base_row.clone()),
                            };
                            set_base(&version, &row, false)?;
                            set_row(&row)?;
                            touched.add(&m.table, &k);
                        }
                        trim.push((m.table.clone(), m.key.clone()));
                    }
                }
                Ok(())
            })();
            if let Err(e) = step {
                drop((table, base_store));
                tx.abort().await;
                return Err(e);
            }
        }
        // One sync error per refused unit, naming every change it held.
        for (unit, changes) in refused_units {
            let Some(Fate::Refused { reason, message }) =
                fates.iter().find(|(u, _)| *u == unit).map(|(_, f)| f)
            else {
                continue;
            };
            let first = &changes[0];
            let entry = RefusedChange {
                table: first.table.clone(),
                key: first.key.clone(),
                op: first.op,
                row: first.row.clone(),
                reason: reason.clone(),
                message: message.clone(),
                unit: Some(unit.clone()),
                changes: Some(changes),
            };
            let added = add_to(&tx, ERRORS, &entry).and_then(|_| as_value(&entry, ctx));
            match added {
                Ok(v) => report.refused.push(v),
                Err(e) => {
                    drop(base_store);
                    tx.abort().await;
                    return Err(e);
                }
            }
        }
        let outbox = tx.store(OUTBOX)?;
        let trimmed = drop_from_log(&tx, &outbox, &log, |e, k| {
            e.seq <= batch.upto_seq && trim.iter().any(|(t, tk)| *t == e.table && tk == k)
        })
        .and_then(|_| delete(&tx.store(META)?, &"inflight".into()).map_err(|e| tx.fail(e)));
        drop((outbox, base_store));
        let renamed = match trimmed {
            Ok(()) => super::rename::apply(self, &tx, &renames, &mut touched).await,
            Err(e) => Err(e),
        };
        tx.commit_or_abort(renamed).await?;
        touched.emit(&self.events, Source::Remote);
        super::rename::emit(&self.events, &renames);
        Ok(report)
    }
}

/// A mutation as the core's `settle` takes it.
fn core_of(m: &PushMutation, base_row: &Option<Value>) -> Mutation {
    Mutation {
        seq: 0,
        table: m.table.clone(),
        key: m.key.clone(),
        op: m.op,
        row: m.row.clone(),
        base_version: m.base_version.clone(),
        base_row: base_row.clone(),
    }
}

/// For each mutation of `batch` that may go back to the server's state (all but those
/// applied), the server's newest row and version a pull noted on its base while it was
/// pending (`records::with_latest`).
async fn latest_rows(
    tx: &Tx<'_>,
    base_store: &ObjectStore<'_>,
    batch: &Batch,
    alone: &[Settlement],
    ctx: &str,
) -> Result<Vec<Option<(String, Option<Value>)>>> {
    let mut reads = Vec::with_capacity(alone.len());
    for (m, s) in batch.mutations.iter().zip(alone) {
        reads.push(match s {
            Settlement::Applied { .. } => None,
            _ => {
                let bk = base_key(&m.table, &key_js(&m.key));
                Some(get(base_store, &bk).map_err(|e| tx.fail(e))?)
            }
        });
    }
    let mut latest = Vec::with_capacity(reads.len());
    for read in reads {
        let Some(read) = read else {
            latest.push(None);
            continue;
        };
        let Some(raw) = tx.wait(read).await?.filter(JsValue::is_object) else {
            latest.push(None);
            continue;
        };
        let base: records::BaseRecord = records::from_js(raw, "a stored base", ctx)?;
        latest.push(match base.latest_version {
            Some(v) if base.latest.is_null() || base.latest.is_undefined() => Some((v, None)),
            Some(v) => Some((v, to_json(&base.latest, ctx)?)),
            None => None,
        });
    }
    Ok(latest)
}

/// The fate of each unit in `batch`, from how its mutations settle alone (`alone`, in
/// the batch's order).
fn unit_fates(batch: &Batch, alone: &[Settlement]) -> Vec<(String, Fate)> {
    let mut fates: Vec<(String, Fate)> = Vec::new();
    for m in &batch.mutations {
        let Some(u) = &m.unit else { continue };
        if fates.iter().any(|(f, _)| f == u) {
            continue;
        }
        let members: Vec<(&str, String, &Settlement)> = batch
            .mutations
            .iter()
            .zip(alone)
            .filter(|(x, _)| x.unit.as_ref() == Some(u))
            .map(|(x, s)| (x.table.as_str(), x.key.to_string(), s))
            .collect();
        fates.push((u.clone(), units::fate(&members)));
    }
    fates
}

/// True when the row was written again after the batch froze (those writes stay pending).
fn later_writes(log: &[LogEntry], upto: u64, table: &str, key: &Key) -> bool {
    log.iter()
        .any(|e| e.seq > upto && e.table == table && e.keys.contains(key))
}

/// Adds `entry` to the list store `store` (`_conflicts`, `_errors`), which gives its id.
fn add_to<T: Serialize>(tx: &Tx<'_>, store: &str, entry: &T) -> Result<()> {
    let value = records::to_js(entry, tx.context())?;
    tx.store(store)?
        .add(value)
        .primitive()
        .map(drop)
        .map_err(|e| tx.fail(e))
}

/// `entry` as the JSON value the sync report and events carry.
fn as_value<T: Serialize>(entry: &T, ctx: &str) -> Result<Value> {
    serde_json::to_value(entry)
        .map_err(|_| Error::storage(format!("{ctx}: a list entry does not serialize")))
}
