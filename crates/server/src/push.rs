//! `POST /sync/push`: mutations applied exactly once per client (the last id and every
//! outcome commit with the effects), conflicts detected by row version, refusals.

use crate::auth::User;
use crate::columns;
use crate::db::{self, key_text, Stored, Tx};
use crate::error::{AppError, AppResult};
use crate::json::JsonBody;
use crate::keys;
use crate::scope::{Scoper, Src};
use crate::sync::{check_client_id, check_protocol, check_user, claim_client, MAX_PUSH_BATCH};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use offline_tables_core::protocol::{
    Outcome, PushMutation, PushRequest, PushResponse, RejectReason, PUSH_UNITS_PROTOCOL_VERSION,
};
use offline_tables_core::scope::Caller;
use offline_tables_core::value::check_row;
use offline_tables_core::Error;
use offline_tables_core::{ConflictPolicy, MutationOp, Profile, Scope};
use serde_json::{Map, Value};
use sqlx::Row;
pub async fn push(
    State(s): State<AppState>,
    User(user): User,
    JsonBody(req): JsonBody<PushRequest>,
) -> AppResult<Json<PushResponse>> {
    check_push_version(&req)?;
    check_client_id(&req.client_id)?;
    check_user(req.user.as_deref(), &user.id)?;
    if req.mutations.len() > MAX_PUSH_BATCH {
        return Err(Error::invalid_argument(format!(
            "at most {MAX_PUSH_BATCH} mutations per push"
        ))
        .into());
    }
    if req.mutations.windows(2).any(|w| w[1].id <= w[0].id) {
        return Err(
            Error::invalid_argument("mutation ids must strictly increase within a push").into(),
        );
    }
    check_units(&req.mutations)?;
    let now = (s.clock)();
    // One profile for the whole batch, even if it is replaced meanwhile.
    let profile = s.profile();
    let client = req.client_id.as_str();
    let mut tx = s.db.begin().await?;
    let mut last = claim_client(&mut tx, client, &user.id).await?;
    // Before reading any row: a concurrent push must not decide on the same stale
    // version (PostgreSQL; on SQLite claim_client's write already holds the lock).
    db::lock_writes(&mut tx).await?;
    let mut outcomes = Vec::with_capacity(req.mutations.len());
    let mut i = 0;
    while i < req.mutations.len() {
        let m = &req.mutations[i];
        if (m.id as i64) <= last {
            // A unit's outcomes are stored together, so a unit is new or answered whole.
            if let Some(u) = &m.unit {
                if let Some(x) = req.mutations[i..]
                    .iter()
                    .take_while(|x| x.unit.as_ref() == Some(u))
                    .find(|x| x.id as i64 > last)
                {
                    return Err(Error::invalid_argument(format!(
                        "unit '{u}' holds mutation {}, already processed, and mutation {}, new",
                        m.id, x.id
                    ))
                    .into());
                }
            }
            // Already applied: answer what was answered then, change nothing.
            outcomes.push(stored_outcome(&mut tx, client, m).await?);
            i += 1;
            continue;
        }
        // A unit (one transaction) runs inside a savepoint: all of it or none of it.
        let end = match &m.unit {
            Some(u) => {
                i + req.mutations[i..]
                    .iter()
                    .take_while(|x| x.unit.as_ref() == Some(u))
                    .count()
            }
            None => i + 1,
        };
        let unit = &req.mutations[i..end];
        if m.unit.is_some() {
            sqlx::query("SAVEPOINT ot_unit").execute(&mut *tx).await?;
        }
        let mut results = Vec::with_capacity(unit.len());
        for m in unit {
            results.push(apply_one(&profile, &mut tx, &user, client, m, now).await?);
        }
        if m.unit.is_some() {
            let culprit = results
                .iter()
                .zip(unit)
                .find(|(o, _)| !matches!(o, Outcome::Applied { .. }));
            if let Some((o, x)) = culprit {
                let why = match o {
                    Outcome::Rejected { message, .. } => format!("rejected: {message}"),
                    _ => "in conflict".to_string(),
                };
                let message = format!(
                    "not applied: mutation {} of the same transaction was {why}",
                    x.id
                );
                sqlx::query("ROLLBACK TO SAVEPOINT ot_unit")
                    .execute(&mut *tx)
                    .await?;
                for (o, x) in results.iter_mut().zip(unit) {
                    match o {
                        Outcome::Applied { .. } => {
                            *o = rejected(x.id, RejectReason::Transaction, message.clone())
                        }
                        // The client takes the server's row of a conflict: it holds it now
                        // (the bookkeeping of the rolled-back savepoint is gone).
                        Outcome::Conflict {
                            server_row: Some(_),
                            ..
                        } => record_in_view(&profile, &mut tx, client, x, true).await?,
                        _ => {}
                    }
                }
            }
            sqlx::query("RELEASE SAVEPOINT ot_unit")
                .execute(&mut *tx)
                .await?;
        }
        for (m, outcome) in unit.iter().zip(results) {
            sqlx::query(
                "INSERT INTO ot_outcomes (client_id, mutation_id, outcome) VALUES ($1, $2, $3)",
            )
            .bind(client)
            .bind(m.id as i64)
            .bind(serde_json::to_string(&outcome).map_err(AppError::internal)?)
            .execute(&mut *tx)
            .await?;
            last = m.id as i64;
            outcomes.push(outcome);
        }
        i = end;
    }
    if let Some(first) = req.mutations.first() {
        // Outcomes before this batch are acknowledged: the client has moved past them.
        sqlx::query("DELETE FROM ot_outcomes WHERE client_id = $1 AND mutation_id < $2")
            .bind(client)
            .bind(first.id as i64)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE ot_clients SET last_mutation_id = $1 WHERE client_id = $2")
        .bind(last)
        .bind(client)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    for (m, outcome) in req.mutations.iter().zip(&outcomes) {
        if let Outcome::Applied { key, .. } = outcome {
            let k = key.as_ref().unwrap_or(&m.key);
            crate::files::after_write(&s, &profile, &m.table, &key_text(k)).await;
        }
    }
    Ok(Json(PushResponse {
        protocol_version: req.protocol_version,
        outcomes,
    }))
}

/// Version 1, or 2 for a push holding units or temporary keys (revision 3); a version-1
/// push may hold neither.
fn check_push_version(req: &PushRequest) -> AppResult<()> {
    if req.protocol_version != PUSH_UNITS_PROTOCOL_VERSION {
        check_protocol(req.protocol_version)?;
        if req.mutations.iter().any(|m| m.unit.is_some() || m.temp_key) {
            return Err(Error::invalid_argument(format!(
                "a push with unit or tempKey must say protocolVersion {PUSH_UNITS_PROTOCOL_VERSION}"
            ))
            .into());
        }
    }
    Ok(())
}

/// The longest unit name, in characters.
const MAX_UNIT_CHARS: usize = 200;

/// A unit is named by 1 to 200 characters, and its mutations are contiguous in the push.
fn check_units(mutations: &[PushMutation]) -> AppResult<()> {
    let mut seen: Vec<&str> = Vec::new();
    let mut prev: Option<&str> = None;
    for m in mutations {
        let u = m.unit.as_deref();
        if let Some(name) = u {
            let n = name.chars().count();
            if n == 0 || n > MAX_UNIT_CHARS {
                return Err(Error::invalid_argument(format!(
                    "mutation {}: a unit is named by 1 to {MAX_UNIT_CHARS} characters, not {n}",
                    m.id
                ))
                .into());
            }
        }
        if u != prev {
            if let Some(u) = u {
                if seen.contains(&u) {
                    return Err(Error::invalid_argument(format!(
                        "the mutations of unit '{u}' must be contiguous in the push"
                    ))
                    .into());
                }
                seen.push(u);
            }
        }
        prev = u;
    }
    Ok(())
}

/// The outcome answered when mutation `m` was first applied.
async fn stored_outcome(tx: &mut Tx, client: &str, m: &PushMutation) -> AppResult<Outcome> {
    let stored =
        sqlx::query("SELECT outcome FROM ot_outcomes WHERE client_id = $1 AND mutation_id = $2")
            .bind(client)
            .bind(m.id as i64)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(match stored {
        Some(r) => serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(AppError::internal)?,
        None => Outcome::Rejected {
            id: m.id,
            reason: RejectReason::Validation,
            message: format!(
                "mutation {} is older than this client's last acknowledged batch",
                m.id
            ),
        },
    })
}

/// Applies one mutation with its temporary keys replaced, and keeps the client's view
/// and assigned keys up to date.
async fn apply_one(
    profile: &Profile,
    tx: &mut Tx,
    user: &Caller,
    client: &str,
    m: &PushMutation,
    now: i64,
) -> AppResult<Outcome> {
    let (m, temp) = match keys::map(tx, profile, client, m).await? {
        keys::Mapped::Apply { mutation, temp } => (*mutation, temp),
        keys::Mapped::Refuse(message) => {
            return Ok(rejected(m.id, RejectReason::Validation, message))
        }
    };
    let mut outcome = apply(profile, tx, user, &m, now).await?;
    match &mut outcome {
        Outcome::Applied { key, .. } => {
            let holds = m.op != MutationOp::Delete;
            record_in_view(profile, tx, client, &m, holds).await?;
            if let Some(temp) = temp {
                keys::record(tx, client, &m.table, &temp, &m.key).await?;
                *key = Some(m.key.clone());
            }
        }
        // The client takes the server's row from a conflict (server-wins, merge meeting an
        // insert) or keeps it beside its own (manual): it holds the row now, even if no
        // pull ever sent it, so a later deletion or move-out must reach it too.
        Outcome::Conflict {
            server_row: Some(_),
            ..
        } => record_in_view(profile, tx, client, &m, true).await?,
        _ => {}
    }
    Ok(outcome)
}

/// The client now holds the row (what it pushed, or the server's row from a conflict) or,
/// `holds` false, has deleted it: a later server delete or move-out must reach it even if
/// it never pulled the row.
async fn record_in_view(
    profile: &Profile,
    tx: &mut Tx,
    client: &str,
    m: &PushMutation,
    holds: bool,
) -> AppResult<()> {
    if profile
        .tables
        .get(&m.table)
        .map_or(true, |d| d.scope == Scope::All)
    {
        return Ok(());
    }
    let key = key_text(&m.key);
    let q = if !holds {
        "DELETE FROM ot_views WHERE client_id = $1 AND tbl = $2 AND key = $3"
    } else {
        "INSERT INTO ot_views (client_id, tbl, key, removed_at) VALUES ($1, $2, $3, NULL) \
         ON CONFLICT (client_id, tbl, key) DO UPDATE SET removed_at = NULL"
    };
    sqlx::query(q)
        .bind(client)
        .bind(m.table.as_str())
        .bind(key.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn rejected(id: u64, reason: RejectReason, message: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        id,
        reason,
        message: message.into(),
    }
}

/// The shape rules of protocol.md §5 step 3 that do not depend on the stored row (the
/// key column is checked with the row, in `check_row`).
fn shape_error(m: &PushMutation) -> Option<&'static str> {
    match m.op {
        MutationOp::Insert if m.columns.is_some() => {
            return Some("an insert sends the whole row, not columns")
        }
        MutationOp::Insert if m.base_version.is_some() => {
            return Some("an insert has no baseVersion")
        }
        MutationOp::Update if m.row.is_some() && m.columns.is_some() => {
            return Some("an update sends either row or columns, not both")
        }
        _ => {}
    }
    let row_cols = m.row.as_ref().and_then(Value::as_object);
    let proto = row_cols
        .into_iter()
        .chain(m.columns.as_ref())
        .any(|cols| cols.contains_key("__proto__"));
    proto.then_some("a column named __proto__ is not allowed")
}

async fn apply(
    profile: &Profile,
    tx: &mut Tx,
    user: &Caller,
    m: &PushMutation,
    now: i64,
) -> AppResult<Outcome> {
    let Some(def) = profile.tables.get(&m.table) else {
        return Ok(rejected(
            m.id,
            RejectReason::Validation,
            format!("unknown table '{}'", m.table),
        ));
    };
    if def.read_only {
        return Ok(rejected(
            m.id,
            RejectReason::ReadOnly,
            format!("table '{}' is read-only", m.table),
        ));
    }
    if let Some(message) = shape_error(m) {
        return Ok(rejected(m.id, RejectReason::Validation, message));
    }
    if let Some(message) = columns::refused(def, &m.table, m) {
        return Ok(rejected(m.id, RejectReason::Validation, message));
    }
    let key = key_text(&m.key);
    let current: Option<Stored> = db::load(&mut **tx, &m.table, &key).await?;
    let live = current.as_ref().and_then(|c| c.data.clone());
    let version = current.as_ref().map(|c| c.version);
    if let Some(row) = &live {
        let mut scoper = Scoper::new(Src::Tx(tx), profile, user, now);
        if !scoper.row_in_scope(&m.table, row).await? {
            return Ok(rejected(
                m.id,
                RejectReason::Permission,
                "the row is outside your scope",
            ));
        }
    }
    let client_wins = def.conflict == ConflictPolicy::ClientWins;
    let base = m
        .base_version
        .as_deref()
        .and_then(|b| b.parse::<i64>().ok());
    let conflict = || Outcome::Conflict {
        id: m.id,
        server_row: live.clone().map(|r| Value::Object(columns::sent(def, r))),
        server_version: current
            .as_ref()
            .filter(|c| c.data.is_some())
            .map(|c| c.version.to_string()),
    };
    let new_row: Option<Map<String, Value>> = match m.op {
        MutationOp::Insert => {
            if live.is_some() && !client_wins {
                return Ok(conflict());
            }
            let Some(row) = &m.row else {
                return Ok(rejected(
                    m.id,
                    RejectReason::Validation,
                    "an insert needs the whole row",
                ));
            };
            match check_row(row, &def.key, &m.key) {
                Ok(r) => Some(columns::kept(def, r, live.as_ref())),
                Err(e) => return Ok(rejected(m.id, RejectReason::Validation, e)),
            }
        }
        MutationOp::Update => {
            if !client_wins && (live.is_none() || changed_since(version, base)) {
                return Ok(conflict());
            }
            match (&m.row, &m.columns) {
                (Some(row), _) => match check_row(row, &def.key, &m.key) {
                    Ok(r) => Some(columns::kept(def, r, live.as_ref())),
                    Err(e) => return Ok(rejected(m.id, RejectReason::Validation, e)),
                },
                (None, Some(cols)) => {
                    let Some(mut merged) = live.clone() else {
                        return Ok(conflict());
                    };
                    for (c, v) in cols {
                        merged.insert(c.clone(), v.clone());
                    }
                    match check_row(&Value::Object(merged), &def.key, &m.key) {
                        Ok(r) => Some(r),
                        Err(e) => return Ok(rejected(m.id, RejectReason::Validation, e)),
                    }
                }
                (None, None) => {
                    return Ok(rejected(
                        m.id,
                        RejectReason::Validation,
                        "an update needs row or columns",
                    ))
                }
            }
        }
        MutationOp::Delete => {
            if !client_wins && (live.is_none() || changed_since(version, base)) {
                return Ok(conflict());
            }
            // client-wins on a row already gone: a fresh tombstone (protocol.md §5).
            None
        }
    };
    if let Some(row) = &new_row {
        let mut scoper = Scoper::new(Src::Tx(tx), profile, user, now);
        if !scoper.row_in_scope(&m.table, row).await? {
            return Ok(rejected(
                m.id,
                RejectReason::Permission,
                "the row would be outside your scope",
            ));
        }
    }
    let v = db::store(
        tx,
        profile,
        &m.table,
        &key,
        current.as_ref(),
        new_row.as_ref(),
        now,
    )
    .await?;
    Ok(Outcome::Applied {
        id: m.id,
        version: v.to_string(),
        key: None,
    })
}

/// True when the row changed after the state the client's change was made against:
/// `base` is the row's version as the client last saw it, or a later checkpoint whose
/// changes the client had all applied (versions and checkpoints are one counter).
fn changed_since(version: Option<i64>, base: Option<i64>) -> bool {
    match (version, base) {
        (Some(v), Some(b)) => v > b,
        _ => true,
    }
}
