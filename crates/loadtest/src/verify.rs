//! After the attack, through the servers: each client resends a push whose answer it never
//! got and pulls to the end (as a real client does when it comes back); then every push
//! must show exactly once, and each client's rows, and a fresh download of its user's rows
//! from the other server, must equal the scope computed from what was seeded and pushed.

use crate::client::{apply_changes, Client, Op, Replica, CLIENTS};
use crate::fixture::{now_ms, Rows};
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Clone, Debug, Default)]
pub struct Check {
    pub clients: usize,
    /// Mutations the servers answered `applied`.
    pub applied: u64,
    /// Applied mutations whose effect is missing (row absent or older than the outcome).
    pub lost: u64,
    /// Applied mutations found applied again (row newer than its last outcome, or a resent
    /// batch answered differently).
    pub duplicated: u64,
    /// Outcomes other than `applied` (each client writes only its own rows: none expected).
    pub not_applied: u64,
    /// Clients whose replica is not their scope.
    pub client_mismatches: u64,
    /// Users whose fresh download (from the other server) is not their scope.
    pub server_mismatches: u64,
    /// Settling requests that failed.
    pub errors: u64,
    pub first_problems: Vec<String>,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.lost
            + self.duplicated
            + self.not_applied
            + self.client_mismatches
            + self.server_mismatches
            + self.errors
            == 0
    }
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> Result<Value, String> {
    let resp = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{url}: not JSON: {e}"))
}

/// Pulls from `checkpoint` (none: a first download) to the end into `rows`.
async fn pull_all(
    http: &reqwest::Client,
    server: &str,
    token: &str,
    client_id: &str,
    user: &str,
    mut checkpoint: Option<String>,
    rows: &mut Replica,
) -> Result<Option<String>, String> {
    loop {
        let body = json!({ "protocolVersion": 1, "clientId": client_id, "user": user,
                           "checkpoint": checkpoint, "limit": 5000 });
        let page = post(http, &format!("{server}/sync/pull"), token, &body).await?;
        let (more, cp, _) = apply_changes(rows, &page)?;
        checkpoint = Some(cp);
        if !more {
            return Ok(checkpoint);
        }
    }
}

fn problem(check: &mut Check, p: String) {
    if check.first_problems.len() < 5 {
        check.first_problems.push(p);
    }
}

fn rows_of(replica: &Replica) -> Rows {
    Rows(
        replica
            .iter()
            .map(|(k, (_, row))| (k.clone(), row.clone()))
            .collect(),
    )
}

/// One client, settled and checked; adds to `check`.
async fn one(http: reqwest::Client, servers: Arc<Vec<String>>, i: usize) -> Check {
    let mut check = Check {
        clients: 1,
        ..Check::default()
    };
    let clients = CLIENTS.get().expect("clients");
    let c = {
        let guard = clients[i].lock().expect("client lock");
        snapshot(&guard)
    };
    let own = &servers[c.server];
    let other = &servers[(c.server + 1) % servers.len()];
    // 1. A push whose answer was lost goes again, to the other server: same ids, so it
    //    applies at most once whichever process takes it.
    if let Some(pending) = c.pending.clone() {
        match post(
            &http,
            &format!("{other}/sync/push"),
            &c.token,
            &pending.body,
        )
        .await
        {
            Ok(answer) => {
                let mut guard = clients[i].lock().expect("client lock");
                if let Err(e) = guard.take_outcomes(&pending, &answer) {
                    problem(&mut check, format!("{}: resent push: {e}", c.user));
                }
                guard.pending = None;
            }
            Err(e) => {
                check.errors += 1;
                problem(&mut check, format!("{}: resent push: {e}", c.user));
            }
        }
    }
    // 2. The client catches up.
    let (checkpoint, mut replica) = {
        let guard = clients[i].lock().expect("client lock");
        (guard.checkpoint.clone(), guard.replica.clone())
    };
    if let Err(e) = pull_all(
        &http,
        own,
        &c.token,
        &c.client_id,
        &c.user,
        checkpoint,
        &mut replica,
    )
    .await
    {
        check.errors += 1;
        problem(&mut check, format!("{}: catch-up pull: {e}", c.user));
    }
    // 3. A fresh download of the user's rows from the other server.
    let mut fresh = Replica::new();
    let verifier = format!("verify-{}", c.client_id);
    if let Err(e) = pull_all(&http, other, &c.token, &verifier, &c.user, None, &mut fresh).await {
        check.errors += 1;
        problem(&mut check, format!("{}: fresh download: {e}", c.user));
    }
    let guard = clients[i].lock().expect("client lock");
    let expected = guard.expected.scope_of(&guard.user, now_ms());
    if rows_of(&replica) != expected {
        check.client_mismatches += 1;
        problem(
            &mut check,
            diff(&guard.user, "client", &rows_of(&replica), &expected),
        );
    }
    if rows_of(&fresh) != expected {
        check.server_mismatches += 1;
        problem(
            &mut check,
            diff(&guard.user, "fresh download", &rows_of(&fresh), &expected),
        );
    }
    // 4. Exactly once: each row a push touched is at the version of its last outcome.
    for (id, (op, version)) in &guard.last_applied {
        let want: u64 = version.parse().unwrap_or(0);
        match (op, fresh.get(id)) {
            (Op::Delete, None) => {}
            (Op::Delete, Some(_)) => check.lost += 1,
            (_, None) => check.lost += 1,
            (_, Some((v, _))) => {
                let got: u64 = v.parse().unwrap_or(0);
                if got < want {
                    check.lost += 1;
                } else if got > want {
                    check.duplicated += 1;
                }
            }
        }
    }
    check.applied = guard.applied;
    check.not_applied = guard.not_applied;
    check.duplicated += guard.replay_mismatches;
    check
}

struct Snapshot {
    user: String,
    token: String,
    client_id: String,
    server: usize,
    pending: Option<crate::client::Pending>,
}

fn snapshot(c: &Client) -> Snapshot {
    Snapshot {
        user: c.user.clone(),
        token: c.token.clone(),
        client_id: c.client_id.clone(),
        server: c.server,
        pending: c.pending.clone(),
    }
}

fn diff(user: &str, what: &str, got: &Rows, want: &Rows) -> String {
    let missing: Vec<_> = want
        .0
        .keys()
        .filter(|k| !got.0.contains_key(*k))
        .take(3)
        .collect();
    let extra: Vec<_> = got
        .0
        .keys()
        .filter(|k| !want.0.contains_key(*k))
        .take(3)
        .collect();
    let changed: Vec<_> = want
        .0
        .iter()
        .filter(|(k, r)| got.0.get(*k).is_some_and(|g| g != *r))
        .map(|(k, _)| k)
        .take(3)
        .collect();
    format!("{user}: {what}: missing {missing:?}, extra {extra:?}, different {changed:?}")
}

/// Settles and checks every client, `parallel` at a time.
pub async fn run(servers: Vec<String>, parallel: usize, within: std::time::Duration) -> Check {
    let deadline = tokio::time::Instant::now() + within;
    let http = reqwest::Client::new();
    let servers = Arc::new(servers);
    let n = CLIENTS.get().map_or(0, Vec::len);
    let limit = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (http, servers, limit) = (http.clone(), servers.clone(), limit.clone());
        tasks.spawn(async move {
            let checked = tokio::time::timeout_at(deadline, async {
                let _permit = limit.acquire_owned().await.expect("semaphore");
                one(http, servers, i).await
            })
            .await;
            checked.unwrap_or_else(|_| Check {
                clients: 1,
                errors: 1,
                first_problems: vec![format!("client {i}: not checked within {within:?}")],
                ..Check::default()
            })
        });
    }
    let mut total = Check::default();
    while let Some(done) = tasks.join_next().await {
        let c = done.expect("check task");
        total.clients += c.clients;
        total.applied += c.applied;
        total.lost += c.lost;
        total.duplicated += c.duplicated;
        total.not_applied += c.not_applied;
        total.client_mismatches += c.client_mismatches;
        total.server_mismatches += c.server_mismatches;
        total.errors += c.errors;
        for p in c.first_problems {
            if total.first_problems.len() < 10 {
                total.first_problems.push(p);
            }
        }
    }
    total
}
