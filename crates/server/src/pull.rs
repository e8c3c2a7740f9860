//! `POST /sync/pull`: the changes since a checkpoint, scoped to the caller, a page at a
//! time, with move-in and move-out (the client's view) and aging of time windows.

use crate::auth::User;
use crate::db::{self, key_text};
use crate::error::AppResult;
use crate::json::JsonBody;
use crate::scope::{Scoper, Src};
use crate::sync::{
    check_client_id, check_protocol, check_user, claim_client, parse_key, DEFAULT_PULL_LIMIT,
    MAX_PULL_LIMIT,
};
use crate::AppState;
use crate::{bulk, members};
use axum::extract::State;
use axum::Json;
use offline_tables_core::protocol::{
    Change, PullRequest, PullResponse, RemoveReason, PROTOCOL_VERSION,
};
use offline_tables_core::scope::Caller;
use offline_tables_core::Error;
use offline_tables_core::{Profile, Scope};
use serde_json::Value;
use sqlx::Row;
pub async fn pull(
    State(s): State<AppState>,
    User(user): User,
    JsonBody(req): JsonBody<PullRequest>,
) -> AppResult<Json<PullResponse>> {
    check_protocol(req.protocol_version)?;
    check_client_id(&req.client_id)?;
    check_user(req.user.as_deref(), &user.id)?;
    if req.limit == Some(0) {
        return Err(Error::invalid_argument("limit must be at least 1").into());
    }
    let limit = req.limit.unwrap_or(DEFAULT_PULL_LIMIT).min(MAX_PULL_LIMIT) as i64;
    let now = (s.clock)();
    // One profile for the whole page, even if it is replaced meanwhile.
    let profile = s.profile();
    let asked = Asked::of(&req, &profile)?;
    // The lowest checkpoint of the tables pulled: every read below starts there, and
    // each table's rows are then taken from its own.
    let after = asked.pulled.iter().map(|(_, c)| *c).min().unwrap_or(0);
    bulk::ensure(&s.db, &profile).await?;
    let client = req.client_id.as_str();
    {
        let mut tx = s.db.begin().await?;
        claim_client(&mut tx, client, &user.id).await?;
        // The resync horizon moves when tombstones are purged or a new profile rebuilds
        // what is derived from the rows: a checkpoint below it that was given before it
        // moved must start over. A checkpoint below it given after it moved is good: a
        // download begun since then holds no row it missed the change of. Each client
        // keeps the horizon of its last answered pull (`ot_clients.horizon`), which
        // tells the two apart. One read: the horizon, the client's, and the counter.
        let row = sqlx::query(
            "SELECT (SELECT value FROM ot_settings WHERE name = 'horizon'), horizon, \
             (SELECT version FROM ot_counter WHERE id = 1) FROM ot_clients WHERE client_id = $1",
        )
        .bind(client)
        .fetch_one(&mut *tx)
        .await?;
        let (horizon, seen, counter): (i64, i64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        // Older than the horizon it has not seen, or newer than any version (a restored
        // backup): nothing changes, and the client starts over. Every table's checkpoint
        // counts, pulled now or not: the horizon is seen once for all of them.
        let stale = |c: i64| c > 0 && ((c < horizon && seen < horizon) || c > counter);
        if asked.all.iter().any(|c| stale(*c)) {
            tx.rollback().await?;
            return Ok(Json(PullResponse {
                protocol_version: PROTOCOL_VERSION,
                changes: vec![],
                checkpoint: "0".into(),
                has_more: false,
                resync: true,
                profile_version: Some(profile.version),
                user: Some(user.id.clone()),
                checkpoints: None,
            }));
        }
        if seen != horizon {
            sqlx::query("UPDATE ot_clients SET horizon = $1 WHERE client_id = $2")
                .bind(horizon)
                .bind(client)
                .execute(&mut *tx)
                .await?;
        }
        if !asked.per_table {
            forget(&mut tx, client, None, after).await?;
        } else {
            for (table, c) in &asked.pulled {
                forget(&mut tx, client, Some(table), *c).await?;
            }
        }
        tx.commit().await?;
    }
    age_out(&s, &profile, client, &user, now, &asked).await?;

    // Read the counter first: every version up to it is committed (see db.rs).
    let upto = s.db.counter().await?;
    // The caller's two buckets (members.rs), each read by version up to the page size,
    // merged below; a row can be in both only as a removal marker in one of them.
    let mut logged = Vec::new();
    let mut removals = Vec::new();
    let gone_sql = "SELECT tbl, key, removed_at FROM ot_views WHERE client_id = $1 \
         AND removed_at > $2 AND removed_at <= $3";
    if !asked.per_table {
        for bucket in members::buckets_of(&user) {
            logged.extend(db::changes(&s.db, &bucket, None, after, upto, limit + 1).await?);
        }
        removals = sqlx::query(&format!("{gone_sql} ORDER BY removed_at LIMIT $4"))
            .bind(client)
            .bind(after)
            .bind(upto)
            .bind(limit + 1)
            .fetch_all(&s.db.pool)
            .await?;
    } else {
        // Each table from its own checkpoint, by index (migration 4); merged by version
        // below, so at most `limit + 1` of each stream matter.
        for (table, c) in &asked.pulled {
            for bucket in members::buckets_of(&user) {
                let t = Some(table.as_str());
                logged.extend(db::changes(&s.db, &bucket, t, *c, upto, limit + 1).await?);
            }
            let sql = format!("{gone_sql} AND tbl = $5 ORDER BY removed_at LIMIT $4");
            removals.extend(
                sqlx::query(&sql)
                    .bind(client)
                    .bind(*c)
                    .bind(upto)
                    .bind(limit + 1)
                    .bind(table.as_str())
                    .fetch_all(&s.db.pool)
                    .await?,
            );
        }
    }
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
    // The same write seen through both buckets (a row moving between `*` and a user's
    // bucket) is one event.
    let mut seen: std::collections::HashSet<(String, String, i64)> = Default::default();
    events.retain(|(v, e)| match e {
        Ev::Row(l) => seen.insert((l.table.clone(), l.key.clone(), *v)),
        Ev::Gone(..) => true,
    });
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
    let mut scoper = Scoper::new(Src::Pool(&s.db), &profile, &user, now);
    let mut steps = Vec::with_capacity(events.len());
    let mut view_adds: Vec<(String, String)> = Vec::new();
    for (version, ev) in events {
        match ev {
            Ev::Gone(table, key, v) => {
                if profile.tables.contains_key(&table) {
                    steps.push(Step::Send(Change::Remove {
                        table,
                        key: parse_key(&key)?,
                        version: v.to_string(),
                        reason: RemoveReason::Scope,
                    }));
                }
            }
            Ev::Row(l) => {
                let Some(def) = profile.tables.get(&l.table) else {
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
                    // The row's own version: a marker older than the row's last write
                    // still sends the row as it is now, at the version it is at.
                    steps.push(Step::Send(Change::Upsert {
                        table: l.table.clone(),
                        key: parse_key(&l.key)?,
                        version: l.row_version.to_string(),
                        row: Value::Object(crate::columns::sent(def, l.data.unwrap_or_default())),
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
        let after = asked.from(table).unwrap_or(after);
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
    // Each pulled table's bound: the page's, unless the table's own is higher.
    let checkpoints = asked.per_table.then(|| {
        asked
            .pulled
            .iter()
            .map(|(t, c)| (t.clone(), checkpoint.max(*c).to_string()))
            .collect()
    });
    Ok(Json(PullResponse {
        protocol_version: PROTOCOL_VERSION,
        changes,
        checkpoint: checkpoint.to_string(),
        has_more,
        resync: false,
        profile_version: Some(profile.version),
        user: Some(user.id.clone()),
        checkpoints,
    }))
}

/// What a pull asks for: each table to pull with the checkpoint it is pulled from (0:
/// from the start), and every checkpoint the client holds (for the resync horizon).
struct Asked {
    /// Per-table checkpoints (revision 2); else one checkpoint for every table.
    per_table: bool,
    pulled: Vec<(String, i64)>,
    all: Vec<i64>,
}

impl Asked {
    fn of(req: &PullRequest, profile: &Profile) -> AppResult<Asked> {
        let parse = |c: Option<&str>| -> AppResult<i64> {
            match c {
                None | Some("") => Ok(0),
                Some(c) => c.parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(|| {
                    Error::invalid_argument(format!("checkpoint '{c}' is not one this server gave"))
                        .into()
                }),
            }
        };
        let Some(mine) = &req.checkpoints else {
            let after = parse(req.checkpoint.as_deref())?;
            let pulled = profile.tables.keys().map(|t| (t.clone(), after)).collect();
            return Ok(Asked {
                per_table: false,
                pulled,
                all: vec![after],
            });
        };
        let mut all = Vec::with_capacity(mine.len());
        for (_, c) in mine {
            all.push(parse(c.as_deref())?);
        }
        let names: Vec<&String> = match &req.tables {
            Some(t) => t.iter().collect(),
            None => mine.iter().map(|(t, _)| t).collect(),
        };
        let mut pulled = Vec::with_capacity(names.len());
        for t in names {
            let Some(c) = offline_tables_core::protocol::checkpoint_of(mine, t) else {
                return Err(Error::invalid_argument(format!(
                    "tables names '{t}', which checkpoints does not"
                ))
                .into());
            };
            profile.table(t)?;
            if pulled.iter().any(|(p, _)| p == t) {
                return Err(Error::invalid_argument(format!("tables names '{t}' twice")).into());
            }
            pulled.push((t.clone(), parse(c.as_deref())?));
        }
        Ok(Asked {
            per_table: true,
            pulled,
            all,
        })
    }

    /// The checkpoint `table` is pulled from, if it is pulled.
    fn from(&self, table: &str) -> Option<i64> {
        self.pulled
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, c)| *c)
    }
}

/// Forgets, for `client`, what a pull from checkpoint `c` makes moot in its view (of
/// `table`, or of every table): all of it on a start over (0), else the removals the
/// checkpoint acknowledges.
async fn forget(tx: &mut db::Tx, client: &str, table: Option<&str>, c: i64) -> AppResult<()> {
    let mut sql = String::from("DELETE FROM ot_views WHERE client_id = $1");
    if table.is_some() {
        sql.push_str(" AND tbl = $2");
    }
    if c > 0 {
        sql.push_str(if table.is_some() {
            " AND removed_at IS NOT NULL AND removed_at <= $3"
        } else {
            " AND removed_at IS NOT NULL AND removed_at <= $2"
        });
    }
    let mut q = sqlx::query(&sql).bind(client);
    if let Some(t) = table {
        q = q.bind(t);
    }
    if c > 0 {
        q = q.bind(c);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// True when rows of `table` can leave a scope as time passes: its own
/// `modifiedWithinDays`, or a related parent's (recursively; profiles have no cycles).
fn depends_on_time(profile: &Profile, table: &str) -> bool {
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
async fn age_out(
    s: &AppState,
    profile: &Profile,
    client: &str,
    user: &Caller,
    now: i64,
    asked: &Asked,
) -> AppResult<()> {
    let aging: Vec<&String> = profile
        .tables
        .keys()
        .filter(|t| asked.from(t).is_some() && depends_on_time(profile, t))
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
        let mut scoper = Scoper::new(Src::Pool(&s.db), profile, user, now);
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
