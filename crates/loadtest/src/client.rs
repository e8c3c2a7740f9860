//! One simulated client per goose user: its own user, token and clientId, a replica of its
//! rows built from its pulls, and the rows it expects (seeded plus every push the server
//! applied). Goose runs its transactions: a first download at start and again now and then,
//! pulls (idle, or with the changes its pushes made) and pushes, some sent twice with the
//! same mutation ids as after a lost response.

use crate::fixture::{now_ms, Rows};
use goose::metrics::GooseRequestMetric;
use goose::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Rows per pull page, as the wasm client asks.
pub const LIMIT: u64 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

/// A mutation as planned: what the row becomes if the server applies it.
#[derive(Clone, Debug)]
pub struct Planned {
    pub table: String,
    pub key: String,
    pub op: Op,
    pub after: Option<Value>,
}

/// A push whose outcomes are not in yet (the request failed or was cut off): sent again,
/// same body and ids, before anything else, as a real client does.
#[derive(Clone, Debug)]
pub struct Pending {
    pub body: Value,
    pub planned: Vec<Planned>,
}

pub type Replica = BTreeMap<(String, String), (String, Value)>;

pub struct Client {
    pub user: String,
    pub token: String,
    pub client_id: String,
    /// Index into the servers' URLs.
    pub server: usize,
    pub checkpoint: Option<String>,
    pub replica: Replica,
    pub expected: Rows,
    next_id: u64,
    pushes: u64,
    /// Per row, the last applied mutation's op and version: what the server must show.
    pub last_applied: BTreeMap<(String, String), (Op, String)>,
    pub applied: u64,
    pub pending: Option<Pending>,
    /// Pushed since the last pull: the next pull must bring changes.
    dirty: bool,
    /// Work orders this client inserted and has not deleted, with their versions.
    inserted: Vec<String>,
    /// A resent batch whose outcomes differed from the first answer's.
    pub replay_mismatches: u64,
    /// Outcomes other than `applied` (none is expected: each client writes only its rows).
    pub not_applied: u64,
}

impl Client {
    pub fn new(user: &crate::fixture::User, index: usize, servers: usize) -> Client {
        Client {
            user: user.id.clone(),
            token: user.token.clone(),
            client_id: format!("load-{}-{index}", user.id),
            server: index % servers,
            checkpoint: None,
            replica: Replica::new(),
            expected: user.seeded.clone(),
            next_id: 1,
            pushes: 0,
            last_applied: BTreeMap::new(),
            applied: 0,
            pending: None,
            dirty: false,
            inserted: Vec::new(),
            replay_mismatches: 0,
            not_applied: 0,
        }
    }

    /// Applies a pull page to the replica and moves the checkpoint (together, as the real
    /// client's one transaction does); returns (hasMore, changes in the page).
    pub fn apply_page(&mut self, page: &Value) -> Result<(bool, usize), String> {
        let (more, checkpoint, n) = apply_changes(&mut self.replica, page)?;
        self.checkpoint = Some(checkpoint);
        Ok((more, n))
    }

    /// Takes a push's outcomes: applied ones go into the expected rows.
    pub fn take_outcomes(&mut self, pending: &Pending, answer: &Value) -> Result<(), String> {
        let outcomes = answer["outcomes"].as_array().ok_or("push: no outcomes")?;
        if outcomes.len() != pending.planned.len() {
            return Err(format!(
                "push: {} outcomes for {} mutations",
                outcomes.len(),
                pending.planned.len()
            ));
        }
        for (p, o) in pending.planned.iter().zip(outcomes) {
            if o["status"] != "applied" {
                self.not_applied += 1;
                return Err(format!("push: {} {} not applied: {o}", p.table, p.key));
            }
            let version = o["version"]
                .as_str()
                .ok_or("push: applied without a version")?;
            let id = (p.table.clone(), p.key.clone());
            // The client holds its own write, as the real one does from the moment it
            // writes: the server sends no `remove` for a row this client deleted itself.
            match &p.after {
                Some(row) => {
                    self.expected.0.insert(id.clone(), row.clone());
                    self.replica
                        .insert(id.clone(), (version.to_string(), row.clone()));
                }
                None => {
                    self.expected.0.remove(&id);
                    self.replica.remove(&id);
                }
            }
            if p.op == Op::Insert {
                self.inserted.push(p.key.clone());
            }
            self.last_applied.insert(id, (p.op, version.to_string()));
            self.applied += 1;
        }
        Ok(())
    }

    /// The version this client last saw of a row: the newer of its pulls' and its pushes'.
    fn version_of(&self, table: &str, key: &str) -> Option<String> {
        let id = (table.to_string(), key.to_string());
        let pulled = self.replica.get(&id).map(|(v, _)| v.clone());
        let pushed = self.last_applied.get(&id).map(|(_, v)| v.clone());
        [pulled, pushed]
            .into_iter()
            .flatten()
            .max_by_key(|v| v.parse::<u64>().unwrap_or(0))
    }

    /// The next batch: a new work order, an account's `visits` bumped, and every fourth
    /// time the deletion of an earlier work order.
    fn plan_push(&mut self) -> Pending {
        let seq = self.pushes;
        self.pushes += 1;
        let account = format!("acc-{}-{}", self.user, seq % 3);
        let mut mutations = Vec::new();
        let mut planned = Vec::new();
        let mut ids = self.next_id..;
        let mut id = || ids.next().expect("ids never run out");
        let wo_key = format!("wo-{}-n{seq}", self.user);
        let wo = json!({ "id": wo_key, "accountId": account, "status": "open",
                         "modifiedOn": now_ms(), "note": format!("push {seq}") });
        mutations.push(
            json!({ "id": id(), "table": "workorders", "key": wo_key, "op": "insert", "row": wo }),
        );
        planned.push(Planned {
            table: "workorders".into(),
            key: wo_key,
            op: Op::Insert,
            after: Some(wo),
        });
        let acc_id = ("accounts".to_string(), account.clone());
        if let (Some(base), Some(row)) = (
            self.version_of("accounts", &account),
            self.expected.0.get(&acc_id),
        ) {
            let mut after = row.clone();
            after["visits"] = json!(seq + 1);
            mutations.push(
                json!({ "id": id(), "table": "accounts", "key": account, "op": "update",
                                   "columns": { "visits": seq + 1 }, "baseVersion": base }),
            );
            planned.push(Planned {
                table: "accounts".into(),
                key: account,
                op: Op::Update,
                after: Some(after),
            });
        }
        if seq % 4 == 3 && !self.inserted.is_empty() {
            let key = self.inserted.remove(0);
            if let Some(base) = self.version_of("workorders", &key) {
                mutations.push(
                    json!({ "id": id(), "table": "workorders", "key": key, "op": "delete",
                                       "baseVersion": base }),
                );
                planned.push(Planned {
                    table: "workorders".into(),
                    key,
                    op: Op::Delete,
                    after: None,
                });
            }
        }
        self.next_id += mutations.len() as u64;
        let body = json!({ "protocolVersion": 1, "clientId": self.client_id, "user": self.user,
                           "mutations": mutations });
        Pending { body, planned }
    }
}

/// Applies a pull page's changes to `rows`; returns (hasMore, checkpoint, changes).
pub fn apply_changes(rows: &mut Replica, page: &Value) -> Result<(bool, String, usize), String> {
    if page["protocolVersion"] != 1 || page["resync"] == true {
        return Err(format!("pull: unexpected page {page}"));
    }
    let checkpoint = page["checkpoint"]
        .as_str()
        .ok_or("pull: no checkpoint")?
        .to_string();
    let changes = page["changes"].as_array().ok_or("pull: no changes")?;
    for c in changes {
        let (table, key) = (c["table"].as_str(), c["key"].as_str());
        let (Some(table), Some(key)) = (table, key) else {
            return Err(format!("pull: change without table or string key: {c}"));
        };
        let id = (table.to_string(), key.to_string());
        match c["kind"].as_str() {
            Some("upsert") => {
                let version = c["version"]
                    .as_str()
                    .ok_or("pull: upsert without version")?;
                rows.insert(id, (version.to_string(), c["row"].clone()));
            }
            Some("remove") => {
                rows.remove(&id);
            }
            _ => return Err(format!("pull: unknown change {c}")),
        }
    }
    let more = page["hasMore"].as_bool().ok_or("pull: no hasMore")?;
    Ok((more, checkpoint, changes.len()))
}

pub static CLIENTS: OnceLock<Vec<Mutex<Client>>> = OnceLock::new();
pub static SERVERS: OnceLock<Vec<String>> = OnceLock::new();
/// When the attack ends: a client stops between two pages past it, so goose's stop waits for
/// one request at most, not for a long download (the checker then settles every client).
pub static STOP_AT: OnceLock<Instant> = OnceLock::new();

fn stopping() -> bool {
    STOP_AT.get().is_some_and(|t| Instant::now() >= *t)
}

/// Runs `f` on goose user `user`'s client, under its lock (never held across an await).
fn with<T>(user: &GooseUser, f: impl FnOnce(&mut Client) -> T) -> T {
    let clients = CLIENTS.get().expect("clients set before the attack");
    let mut c = clients[user.weighted_users_index % clients.len()]
        .lock()
        .expect("client lock");
    f(&mut c)
}

/// POSTs `body` as one goose request named `name`; the answer's JSON, or a goose failure.
async fn post(
    user: &mut GooseUser,
    name: &str,
    path: &str,
    token: &str,
    body: &Value,
) -> Result<(GooseRequestMetric, Value), Box<TransactionError>> {
    let builder = user
        .get_request_builder(&GooseMethod::Post, path)?
        .bearer_auth(token)
        .json(body);
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(path)
        .name(name)
        .set_request_builder(builder)
        .build();
    let goose = user.request(request).await?;
    let mut metric = goose.request;
    let failure = match goose.response {
        Ok(resp) if resp.status().is_success() => match resp.json::<Value>().await {
            Ok(v) => return Ok((metric, v)),
            Err(e) => format!("{name}: body is not JSON: {e}"),
        },
        Ok(resp) => {
            let status = resp.status();
            format!(
                "{name}: HTTP {status}: {}",
                resp.text().await.unwrap_or_default()
            )
        }
        Err(e) => format!("{name}: {e}"),
    };
    Err(fail(user, &failure, &mut metric))
}

fn fail(user: &mut GooseUser, why: &str, metric: &mut GooseRequestMetric) -> Box<TransactionError> {
    match user.set_failure(why, metric, None, None) {
        Err(e) => e,
        Ok(()) => Box::new(TransactionError::Custom(why.to_string())),
    }
}

/// At start: this client's server, then its first download.
pub async fn start(user: &mut GooseUser) -> TransactionResult {
    let server = with(user, |c| c.server);
    let url = SERVERS.get().expect("servers")[server].clone();
    user.set_base_url(&url)?;
    download(user).await
}

/// A first download: every page from no checkpoint (the server forgets this client's view).
pub async fn download(user: &mut GooseUser) -> TransactionResult {
    let (token, client_id, name) = with(user, |c| {
        (c.token.clone(), c.client_id.clone(), c.user.clone())
    });
    let mut rows = Replica::new();
    let mut checkpoint: Option<String> = None;
    loop {
        let body = json!({ "protocolVersion": 1, "clientId": client_id, "user": name,
                           "checkpoint": checkpoint, "limit": LIMIT });
        let (mut metric, page) =
            post(user, "first download (pull)", "/sync/pull", &token, &body).await?;
        match apply_changes(&mut rows, &page) {
            Ok((more, cp, _)) => {
                checkpoint = Some(cp);
                if !more {
                    break;
                }
                if stopping() {
                    return Ok(());
                }
            }
            Err(e) => return Err(fail(user, &e, &mut metric)),
        }
    }
    with(user, |c| {
        c.replica = rows;
        c.checkpoint = checkpoint;
        c.dirty = false;
    });
    Ok(())
}

/// A pull from the checkpoint to the end: idle, or bringing what this client pushed.
pub async fn pull(user: &mut GooseUser) -> TransactionResult {
    let (token, client_id, name, checkpoint, dirty) = with(user, |c| {
        (
            c.token.clone(),
            c.client_id.clone(),
            c.user.clone(),
            c.checkpoint.clone(),
            c.dirty,
        )
    });
    let Some(mut checkpoint) = checkpoint else {
        return download(user).await;
    };
    let label = if dirty {
        "pull with changes"
    } else {
        "idle pull"
    };
    let mut changes = 0;
    loop {
        let body = json!({ "protocolVersion": 1, "clientId": client_id, "user": name,
                           "checkpoint": checkpoint, "limit": LIMIT });
        let (mut metric, page) = post(user, label, "/sync/pull", &token, &body).await?;
        let applied = with(user, |c| c.apply_page(&page));
        let (more, n) = match applied {
            Ok(x) => x,
            Err(e) => return Err(fail(user, &e, &mut metric)),
        };
        changes += n;
        checkpoint = with(user, |c| c.checkpoint.clone()).unwrap_or_default();
        if !more {
            // Only this client writes its rows: an idle pull brings nothing, a pull after
            // a push brings that push's rows.
            with(user, |c| c.dirty = false);
            if dirty && changes == 0 {
                return Err(fail(
                    user,
                    "a pull after a push brought no changes",
                    &mut metric,
                ));
            }
            if !dirty && changes > 0 {
                return Err(fail(
                    user,
                    &format!("an idle pull brought {changes} changes"),
                    &mut metric,
                ));
            }
            return Ok(());
        }
        if stopping() {
            return Ok(());
        }
    }
}

/// A push of the next batch (after any batch whose answer was lost); every third batch is
/// sent twice, and the second answer must repeat the first.
pub async fn push(user: &mut GooseUser) -> TransactionResult {
    let token = with(user, |c| c.token.clone());
    if let Some(pending) = with(user, |c| c.pending.clone()) {
        send(user, &token, pending, "push (resent after an error)").await?;
    }
    let (pending, resend) = with(user, |c| {
        let p = c.plan_push();
        c.pending = Some(p.clone());
        c.dirty = true;
        (p, c.pushes % 3 == 0)
    });
    let first = send(user, &token, pending.clone(), "push").await?;
    if resend {
        let (mut metric, again) = post(
            user,
            "push (resent, same ids)",
            "/sync/push",
            &token,
            &pending.body,
        )
        .await?;
        if again != first {
            with(user, |c| c.replay_mismatches += 1);
            return Err(fail(
                user,
                &format!("a resent push was answered {again}, first {first}"),
                &mut metric,
            ));
        }
    }
    Ok(())
}

async fn send(
    user: &mut GooseUser,
    token: &str,
    pending: Pending,
    name: &str,
) -> Result<Value, Box<TransactionError>> {
    let (mut metric, answer) = post(user, name, "/sync/push", token, &pending.body).await?;
    let taken = with(user, |c| {
        let r = c.take_outcomes(&pending, &answer);
        c.pending = None;
        r
    });
    match taken {
        Ok(()) => Ok(answer),
        Err(e) => Err(fail(user, &e, &mut metric)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn client() -> Client {
        let fx = fixture::build(2, now_ms());
        let mut c = Client::new(&fx.users[0], 0, 2);
        // As after a first download: every seeded row at version 7.
        for (id, row) in &c.expected.0 {
            c.replica.insert(id.clone(), ("7".into(), row.clone()));
        }
        c
    }

    fn applied(p: &Pending, first_version: u64) -> Value {
        let outcomes: Vec<Value> = p.body["mutations"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, m)| json!({ "status": "applied", "id": m["id"], "version": (first_version + i as u64).to_string() }))
            .collect();
        json!({ "protocolVersion": 1, "outcomes": outcomes })
    }

    #[test]
    fn pushes_plan_increasing_ids_against_the_last_version_seen_and_the_outcomes_update_the_expectation(
    ) {
        let mut c = client();
        let p1 = c.plan_push();
        let m = p1.body["mutations"].as_array().unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0]["id"].clone(), m[1]["id"].clone()),
            (json!(1), json!(2))
        );
        assert_eq!(m[1]["baseVersion"], "7");
        c.take_outcomes(&p1, &applied(&p1, 100)).unwrap();
        assert_eq!(c.applied, 2);
        // The account's next update is against the version its push got, not the pulled one.
        for _ in 0..2 {
            let p = c.plan_push();
            c.take_outcomes(&p, &applied(&p, 200)).unwrap();
        }
        let p4 = c.plan_push();
        let m = p4.body["mutations"].as_array().unwrap();
        assert_eq!(m[0]["id"], 7);
        assert_eq!(m[1]["baseVersion"], "101", "acc 0 was last applied at 101");
        // Every fourth push deletes the first work order this client inserted.
        assert_eq!(
            (m[2]["op"].clone(), m[2]["key"].clone()),
            (json!("delete"), json!("wo-u0000-n0"))
        );
        c.take_outcomes(&p4, &applied(&p4, 300)).unwrap();
        let id = ("workorders".to_string(), "wo-u0000-n0".to_string());
        assert!(!c.expected.0.contains_key(&id));
        assert_eq!(c.last_applied[&id], (Op::Delete, "302".to_string()));
        let acc = &c.expected.0[&("accounts".to_string(), "acc-u0000-0".to_string())];
        assert_eq!(acc["visits"], 4);
    }

    #[test]
    fn an_outcome_other_than_applied_is_an_error_and_counted() {
        let mut c = client();
        let p = c.plan_push();
        let mut answer = applied(&p, 10);
        answer["outcomes"][1] =
            json!({ "status": "conflict", "id": 2, "serverRow": null, "serverVersion": null });
        assert!(c.take_outcomes(&p, &answer).is_err());
        assert_eq!(c.not_applied, 1);
        let short = json!({ "protocolVersion": 1, "outcomes": [] });
        assert!(c.take_outcomes(&p, &short).is_err());
    }

    #[test]
    fn pull_pages_upsert_and_remove_and_malformed_pages_are_refused() {
        let mut rows = Replica::new();
        let page = json!({ "protocolVersion": 1, "checkpoint": "9", "hasMore": true, "changes": [
            { "kind": "upsert", "table": "accounts", "key": "a", "version": "8", "row": { "id": "a" } },
            { "kind": "upsert", "table": "accounts", "key": "b", "version": "9", "row": { "id": "b" } },
            { "kind": "remove", "table": "accounts", "key": "a", "version": "9", "reason": "deleted" } ] });
        assert_eq!(
            apply_changes(&mut rows, &page).unwrap(),
            (true, "9".to_string(), 3)
        );
        assert_eq!(rows.len(), 1);
        assert!(rows.contains_key(&("accounts".to_string(), "b".to_string())));
        for bad in [
            json!({ "protocolVersion": 1, "checkpoint": "1", "hasMore": false, "changes": [], "resync": true }),
            json!({ "protocolVersion": 2, "checkpoint": "1", "hasMore": false, "changes": [] }),
            json!({ "protocolVersion": 1, "hasMore": false, "changes": [] }),
            json!({ "protocolVersion": 1, "checkpoint": "1", "hasMore": false, "changes": [{ "kind": "upsert", "table": "t", "key": 1 }] }),
        ] {
            assert!(apply_changes(&mut rows, &bad).is_err(), "{bad}");
        }
    }
}
