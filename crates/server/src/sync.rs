//! The sync endpoints: the profile, pull (changes since a checkpoint, scoped to the
//! caller, with move-in and move-out) and push (mutations applied exactly once per
//! client, conflicts detected by row version).

use crate::auth::User;
use crate::db::{self, key_text, Stored, Tx};
use crate::error::{AppError, AppResult};
use crate::json::JsonBody;
use crate::scope::{Scoper, Src};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use offline_tables_core::protocol::{
    Change, Outcome, PullRequest, PullResponse, PushMutation, PushRequest, PushResponse,
    RejectReason, RemoveReason, PROTOCOL_VERSION,
};
use offline_tables_core::{ConflictPolicy, Key, MutationOp, Scope};
use serde_json::{Map, Value};
use sqlx::Row;

pub const DEFAULT_PULL_LIMIT: u32 = 1000;
pub const MAX_PULL_LIMIT: u32 = 5000;
pub const MAX_PUSH_BATCH: usize = 1000;

pub async fn profile(State(s): State<AppState>, _user: User) -> Json<Value> {
    Json(s.profile.to_json())
}

fn check_protocol(v: u32) -> AppResult<()> {
    if v != PROTOCOL_VERSION {
        return Err(AppError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            format!("protocolVersion {v} is not supported (this server speaks {PROTOCOL_VERSION})"),
        ));
    }
    Ok(())
}

fn check_client_id(id: &str) -> AppResult<()> {
    if id.is_empty() || id.len() > 200 {
        return Err(AppError::bad_request(
            "clientId must be a non-empty string of at most 200 characters",
        ));
    }
    Ok(())
}

/// Registers the client for this user, or refuses a client id of another user. Runs a
/// write first, so a SQLite transaction holds the write lock from the start.
async fn claim_client(tx: &mut Tx, client: &str, user: &str) -> AppResult<i64> {
    sqlx::query("INSERT INTO ot_clients (client_id, user_id, last_mutation_id) VALUES ($1, $2, 0) ON CONFLICT (client_id) DO NOTHING")
        .bind(client)
        .bind(user)
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query("UPDATE ot_clients SET user_id = user_id WHERE client_id = $1 RETURNING user_id, last_mutation_id")
        .bind(client)
        .fetch_one(&mut **tx)
        .await?;
    let owner: String = row.try_get(0)?;
    if owner != user {
        return Err(AppError::forbidden(format!(
            "client '{client}' belongs to another user"
        )));
    }
    Ok(row.try_get(1)?)
}

fn parse_key(text: &str) -> AppResult<Key> {
    serde_json::from_str(text).map_err(|_| AppError::internal("a stored key is malformed"))
}

pub async fn pull(
    State(s): State<AppState>,
    User(user): User,
    JsonBody(req): JsonBody<PullRequest>,
) -> AppResult<Json<PullResponse>> {
    check_protocol(req.protocol_version)?;
    check_client_id(&req.client_id)?;
    if req.limit == Some(0) {
        return Err(AppError::bad_request("limit must be at least 1"));
    }
    let limit = req.limit.unwrap_or(DEFAULT_PULL_LIMIT).min(MAX_PULL_LIMIT) as i64;
    let after: i64 = match req.checkpoint.as_deref() {
        None | Some("") => 0,
        Some(c) => c.parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(|| {
            AppError::bad_request(format!("checkpoint '{c}' is not one this server gave"))
        })?,
    };
    let now = (s.clock)();
    let client = req.client_id.as_str();
    {
        let mut tx = s.db.begin().await?;
        claim_client(&mut tx, client, &user).await?;
        if after == 0 {
            // A fresh start: the client holds nothing synced.
            sqlx::query("DELETE FROM ot_views WHERE client_id = $1")
                .bind(client)
                .execute(&mut *tx)
                .await?;
        } else {
            // Removals the client has acknowledged by sending a later checkpoint.
            sqlx::query("DELETE FROM ot_views WHERE client_id = $1 AND removed_at IS NOT NULL AND removed_at <= $2")
                .bind(client)
                .bind(after)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    // Older than the tombstone horizon, or newer than any version (a restored backup).
    if after > 0 && (after < s.db.horizon().await? || after > s.db.counter().await?) {
        return Ok(Json(PullResponse {
            protocol_version: PROTOCOL_VERSION,
            changes: vec![],
            checkpoint: "0".into(),
            has_more: false,
            resync: true,
        }));
    }
    age_out(&s, client, &user, now).await?;

    // Read the counter first: every version up to it is committed (see db.rs).
    let upto = s.db.counter().await?;
    let logged = db::changes(&s.db, after, upto, limit + 1).await?;
    let removals = sqlx::query(
        "SELECT tbl, key, removed_at FROM ot_views WHERE client_id = $1 AND removed_at > $2 AND removed_at <= $3 ORDER BY removed_at LIMIT $4",
    )
    .bind(client)
    .bind(after)
    .bind(upto)
    .bind(limit + 1)
    .fetch_all(&s.db.pool)
    .await?;
    // Merge the two streams by version; keep `limit`.
    enum Ev {
        Row(db::Logged),
        Gone(String, String, i64),
    }
    let mut events: Vec<(i64, Ev)> = logged
        .into_iter()
        .map(|l| (l.version, Ev::Row(l)))
        .collect();
    for r in removals {
        let v: i64 = r.try_get(2)?;
        events.push((v, Ev::Gone(r.try_get(0)?, r.try_get(1)?, v)));
    }
    events.sort_by_key(|(v, _)| *v);
    let has_more = events.len() as i64 > limit;
    events.truncate(limit as usize);
    let checkpoint = if has_more {
        events.last().map(|(v, _)| *v).unwrap_or(upto)
    } else {
        upto
    };

    // Pass 1: what each event means for this user, before asking which rows it holds.
    enum Step {
        Send(Change),
        /// Out of scope now: a removal if the client may hold the row.
        MaybeRemove(String, String, i64, RemoveReason),
    }
    let mut scoper = Scoper::new(Src::Pool(&s.db), &s.profile, &user, now);
    let mut steps = Vec::with_capacity(events.len());
    let mut view_adds: Vec<(String, String)> = Vec::new();
    for (version, ev) in events {
        match ev {
            Ev::Gone(table, key, v) => {
                if s.profile.tables.contains_key(&table) {
                    steps.push(Step::Send(Change::Remove {
                        table,
                        key: parse_key(&key)?,
                        version: v.to_string(),
                        reason: RemoveReason::Scope,
                    }));
                }
            }
            Ev::Row(l) => {
                let Some(def) = s.profile.tables.get(&l.table) else {
                    continue;
                };
                let everyone = def.scope == Scope::All;
                let visible = match &l.data {
                    None => false,
                    Some(row) => everyone || scoper.row_in_scope(&l.table, row).await?,
                };
                let reason = if l.data.is_none() {
                    RemoveReason::Deleted
                } else {
                    RemoveReason::Scope
                };
                if visible {
                    steps.push(Step::Send(Change::Upsert {
                        table: l.table.clone(),
                        key: parse_key(&l.key)?,
                        version: version.to_string(),
                        row: Value::Object(l.data.unwrap_or_default()),
                    }));
                    if !everyone {
                        view_adds.push((l.table, l.key));
                    }
                } else if everyone {
                    steps.push(Step::Send(Change::Remove {
                        table: l.table,
                        key: parse_key(&l.key)?,
                        version: version.to_string(),
                        reason,
                    }));
                } else {
                    steps.push(Step::MaybeRemove(l.table, l.key, version, reason));
                }
            }
        }
    }
    // Pass 2: one query per table and chunk for the rows the client may hold.
    let mut candidates: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for st in &steps {
        if let Step::MaybeRemove(t, k, _, _) = st {
            candidates.entry(t.as_str()).or_default().push(k.as_str());
        }
    }
    let mut held: std::collections::HashSet<(String, String)> = Default::default();
    for (table, keys) in candidates {
        for chunk in keys.chunks(500) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
            let sql = format!(
                "SELECT key FROM ot_views WHERE client_id = $1 AND tbl = $2 AND (removed_at IS NULL OR removed_at > $3) AND key IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(client).bind(table).bind(after);
            for k in chunk {
                q = q.bind(*k);
            }
            for r in q.fetch_all(&s.db.pool).await? {
                held.insert((table.to_string(), r.try_get(0)?));
            }
        }
    }
    let mut changes = Vec::with_capacity(steps.len());
    let mut view_removes: Vec<(String, String, i64)> = Vec::new();
    // A row is removed at most once per page: aging and the log can both report a row
    // whose related parent left the scope.
    let mut removed: std::collections::HashSet<(String, String)> = Default::default();
    for st in steps {
        match st {
            Step::Send(c) => {
                if let Change::Remove { table, key, .. } = &c {
                    if !removed.insert((table.clone(), key_text(key))) {
                        continue;
                    }
                }
                changes.push(c)
            }
            Step::MaybeRemove(table, key, version, reason) => {
                // Held, or removed at a version the client has not acknowledged yet.
                if held.contains(&(table.clone(), key.clone()))
                    && removed.insert((table.clone(), key.clone()))
                {
                    changes.push(Change::Remove {
                        table: table.clone(),
                        key: parse_key(&key)?,
                        version: version.to_string(),
                        reason,
                    });
                    view_removes.push((table, key, version));
                }
            }
        }
    }
    if !view_adds.is_empty() || !view_removes.is_empty() {
        let mut tx = s.db.begin().await?;
        view_adds.sort();
        view_adds.dedup();
        for chunk in view_adds.chunks(300) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, ${}, ${}, NULL)", 2 * i + 2, 2 * i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO ot_views (client_id, tbl, key, removed_at) VALUES {} \
                 ON CONFLICT (client_id, tbl, key) DO UPDATE SET removed_at = NULL",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(client);
            for (t, k) in chunk {
                q = q.bind(t.as_str()).bind(k.as_str());
            }
            q.execute(&mut *tx).await?;
        }
        for (t, k, v) in &view_removes {
            sqlx::query("UPDATE ot_views SET removed_at = $1 WHERE client_id = $2 AND tbl = $3 AND key = $4 AND (removed_at IS NULL OR removed_at < $5)")
                .bind(*v)
                .bind(client)
                .bind(t.as_str())
                .bind(k.as_str())
                .bind(*v)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(Json(PullResponse {
        protocol_version: PROTOCOL_VERSION,
        changes,
        checkpoint: checkpoint.to_string(),
        has_more,
        resync: false,
    }))
}

/// True when rows of `table` can leave a scope as time passes: its own
/// `modifiedWithinDays`, or a related parent's (recursively; profiles have no cycles).
fn depends_on_time(profile: &offline_tables_core::Profile, table: &str) -> bool {
    profile.tables.get(table).is_some_and(|d| {
        d.scope.is_time_dependent()
            || d.scope
                .parents()
                .iter()
                .any(|p| depends_on_time(profile, p))
    })
}

/// Rows the client holds that time took out of scope (`modifiedWithinDays`) get a
/// removal at a new version, so they travel in version order like every change.
async fn age_out(s: &AppState, client: &str, user: &str, now: i64) -> AppResult<()> {
    let aging: Vec<&String> = s
        .profile
        .tables
        .keys()
        .filter(|t| depends_on_time(&s.profile, t))
        .collect();
    for table in aging {
        let held: Vec<String> = sqlx::query(
            "SELECT key FROM ot_views WHERE client_id = $1 AND tbl = $2 AND removed_at IS NULL",
        )
        .bind(client)
        .bind(table.as_str())
        .fetch_all(&s.db.pool)
        .await?
        .into_iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
        let mut scoper = Scoper::new(Src::Pool(&s.db), &s.profile, user, now);
        let mut gone = Vec::new();
        for key in held {
            if !scoper.key_in_scope(table, &key).await? {
                gone.push(key);
            }
        }
        if gone.is_empty() {
            continue;
        }
        let mut tx = s.db.begin().await?;
        for key in gone {
            let v = db::next_version(&mut tx).await?;
            sqlx::query("UPDATE ot_views SET removed_at = $1 WHERE client_id = $2 AND tbl = $3 AND key = $4 AND removed_at IS NULL")
                .bind(v)
                .bind(client)
                .bind(table.as_str())
                .bind(key.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

pub async fn push(
    State(s): State<AppState>,
    User(user): User,
    JsonBody(req): JsonBody<PushRequest>,
) -> AppResult<Json<PushResponse>> {
    check_protocol(req.protocol_version)?;
    check_client_id(&req.client_id)?;
    if req.mutations.len() > MAX_PUSH_BATCH {
        return Err(AppError::bad_request(format!(
            "at most {MAX_PUSH_BATCH} mutations per push"
        )));
    }
    if req.mutations.windows(2).any(|w| w[1].id <= w[0].id) {
        return Err(AppError::bad_request(
            "mutation ids must strictly increase within a push",
        ));
    }
    let now = (s.clock)();
    let client = req.client_id.as_str();
    let mut tx = s.db.begin().await?;
    let mut last = claim_client(&mut tx, client, &user).await?;
    // Before reading any row: a concurrent push must not decide on the same stale
    // version (PostgreSQL; on SQLite claim_client's write already holds the lock).
    db::lock_writes(&mut tx).await?;
    let mut outcomes = Vec::with_capacity(req.mutations.len());
    for m in &req.mutations {
        if (m.id as i64) <= last {
            // Already applied: answer what was answered then, change nothing.
            let stored = sqlx::query(
                "SELECT outcome FROM ot_outcomes WHERE client_id = $1 AND mutation_id = $2",
            )
            .bind(client)
            .bind(m.id as i64)
            .fetch_optional(&mut *tx)
            .await?;
            let outcome = match stored {
                Some(r) => {
                    serde_json::from_str(&r.try_get::<String, _>(0)?).map_err(AppError::internal)?
                }
                None => Outcome::Rejected {
                    id: m.id,
                    reason: RejectReason::Validation,
                    message: format!(
                        "mutation {} is older than this client's last acknowledged batch",
                        m.id
                    ),
                },
            };
            outcomes.push(outcome);
            continue;
        }
        let outcome = apply(&s, &mut tx, &user, m, now).await?;
        if matches!(outcome, Outcome::Applied { .. }) {
            record_in_view(&s, &mut tx, client, m).await?;
        }
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
    Ok(Json(PushResponse {
        protocol_version: PROTOCOL_VERSION,
        outcomes,
    }))
}

/// The client now holds what it pushed: a later server delete or move-out must reach it
/// even if it never pulled the row.
async fn record_in_view(
    s: &AppState,
    tx: &mut Tx,
    client: &str,
    m: &PushMutation,
) -> AppResult<()> {
    if s.profile
        .tables
        .get(&m.table)
        .map_or(true, |d| d.scope == Scope::All)
    {
        return Ok(());
    }
    let key = key_text(&m.key);
    let q = if m.op == MutationOp::Delete {
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

/// Checks a whole row: an object whose key column holds `key`.
pub fn check_row(row: &Value, key_col: &str, key: &Key) -> Result<Map<String, Value>, String> {
    let Value::Object(map) = row else {
        return Err("the row must be a JSON object".into());
    };
    match map.get(key_col).map(|v| Key::from_json(v, key_col)) {
        Some(Ok(k)) if &k == key => Ok(map.clone()),
        Some(Ok(k)) => Err(format!(
            "the row's {key_col} is {k}, not the mutation's key {key}"
        )),
        Some(Err(e)) => Err(e.message),
        None => Err(format!("the row has no {key_col} (its key column)")),
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
    s: &AppState,
    tx: &mut Tx,
    user: &str,
    m: &PushMutation,
    now: i64,
) -> AppResult<Outcome> {
    let Some(def) = s.profile.tables.get(&m.table) else {
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
    let key = key_text(&m.key);
    let current: Option<Stored> = db::load(&mut **tx, &m.table, &key).await?;
    let live = current.as_ref().and_then(|c| c.data.clone());
    let version = current.as_ref().map(|c| c.version);
    if let Some(row) = &live {
        let mut scoper = Scoper::new(Src::Tx(tx), &s.profile, user, now);
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
        server_row: live.clone().map(Value::Object),
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
                Ok(r) => Some(r),
                Err(e) => return Ok(rejected(m.id, RejectReason::Validation, e)),
            }
        }
        MutationOp::Update => {
            if !client_wins && (live.is_none() || base != version) {
                return Ok(conflict());
            }
            match (&m.row, &m.columns) {
                (Some(row), _) => match check_row(row, &def.key, &m.key) {
                    Ok(r) => Some(r),
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
            if !client_wins && (live.is_none() || base != version) {
                return Ok(conflict());
            }
            // client-wins on a row already gone: a fresh tombstone (protocol.md §5).
            None
        }
    };
    if let Some(row) = &new_row {
        let mut scoper = Scoper::new(Src::Tx(tx), &s.profile, user, now);
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
        &s.profile,
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
    })
}
