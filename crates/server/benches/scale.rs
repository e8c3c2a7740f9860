//! `npm run bench:scale`: a user's sync costs what that user's rows cost. On SQLite and
//! on PostgreSQL (OT_TEST_POSTGRES_URL), through the real router (`oneshot`), it prints
//! side by side, with pass/fail against the limits of issue 15:
//! - first download of one user's 1,000 rows (500 owned accounts, 500 related work
//!   orders) from 1,000 users x 1,000 rows vs from only that user's rows (<= 1.5x, in
//!   at most ceil(rows / limit) + 1 pulls);
//! - an idle pull after other users made 100,000 changes vs after none (<= 2x);
//! - a REST list, `$filter` on an indexed column and `$top=50`, from a table 100x
//!   larger vs the smaller one (<= 2x).
//!
//! Databases are seeded through the bulk path (`bulk::load`), whose rate it prints.
//! Times are medians of repeated requests. Exits 1 when a ratio fails.

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use http_body_util::BodyExt;
use offline_tables_core::{Key, Profile};
use offline_tables_server::auth::Auth;
use offline_tables_server::db::{self, key_text, Db};
use offline_tables_server::{app, bulk, Config};
use serde_json::{json, Map, Value};
use sqlx::Connection;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const USERS: usize = 1_000;
const PER_USER: usize = 500; // accounts, and as many work orders
const SMALL_REST_USERS: usize = 10; // 100x fewer accounts than USERS
const CHANGES: usize = 100_000;
const LIMIT: usize = 1_000;
const NOW: i64 = 1_795_564_800_000;
const STATUSES: [&str; 4] = ["open", "closed", "pending", "hold"];

fn profile() -> Profile {
    Profile::from_json(&json!({ "version": 1, "tables": {
        "accounts": { "key": "id", "indexes": ["ownerId", "status"], "scope": { "owner": "ownerId" } },
        "workorders": { "key": "id", "indexes": ["accountId", "status"],
                        "scope": { "related": { "table": "accounts", "column": "accountId" } } } } }))
    .unwrap()
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn account(u: usize, i: usize) -> Map<String, Value> {
    obj(
        json!({ "id": format!("a{u:04}-{i:03}"), "ownerId": format!("u{u:04}"),
                "status": STATUSES[i % 4], "name": format!("Account {i} of user {u}"),
                "city": "Lyon", "notes": "n".repeat(120) }),
    )
}

fn workorder(u: usize, i: usize) -> Map<String, Value> {
    obj(
        json!({ "id": format!("w{u:04}-{i:03}"), "accountId": format!("a{u:04}-{i:03}"),
                "status": STATUSES[(i / 4) % 4], "title": format!("Work order {i}"),
                "modifiedOn": NOW, "notes": "w".repeat(120) }),
    )
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Pg { admin: String, name: String },
}

struct Env {
    router: Router,
    db: Db,
    profile: Profile,
    cleanup: Cleanup,
}

fn pg_url_with(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let host_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    format!("{}/{name}", &url[..host_end])
}

/// A fresh database holding users 0..users, loaded in bulk; prints the load rate.
async fn env(pg: Option<&str>, label: &str, users: usize) -> Env {
    let tag = format!("ot_bench_scale_{}_{label}", std::process::id());
    let (url, cleanup) = match pg {
        None => {
            let dir = std::env::temp_dir().join(&tag);
            let _ = std::fs::remove_dir_all(&dir);
            (
                format!("sqlite:{}", dir.join("bench.db").display()),
                Cleanup::Dir(dir),
            )
        }
        Some(admin) => {
            let mut c = sqlx::PgConnection::connect(admin).await.expect("postgres");
            sqlx::query(&format!("CREATE DATABASE {tag}"))
                .execute(&mut c)
                .await
                .unwrap();
            let _ = c.close().await;
            (
                pg_url_with(admin, &tag),
                Cleanup::Pg {
                    admin: admin.into(),
                    name: tag,
                },
            )
        }
    };
    let db = Db::connect(&url).await.expect("database");
    let profile = profile();
    let accounts: Vec<_> = (0..users)
        .flat_map(|u| (0..PER_USER).map(move |i| account(u, i)))
        .collect();
    let orders: Vec<_> = (0..users)
        .flat_map(|u| (0..PER_USER).map(move |i| workorder(u, i)))
        .collect();
    let n = accounts.len() + orders.len();
    let tables = vec![
        ("accounts".to_string(), accounts),
        ("workorders".to_string(), orders),
    ];
    let start = Instant::now();
    bulk::load(&db, &profile, &tables, NOW)
        .await
        .expect("bulk load");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  seeded {label:<6} {n:>9} rows in {secs:>6.1} s: {:>8.0} rows/s (bulk path)",
        n as f64 / secs
    );
    let mut auth = Auth::default();
    auth.tokens.insert(
        "tok".into(),
        offline_tables_core::scope::Caller::user("u0000"),
    );
    let router = app(Config {
        db: db.clone(),
        profile: profile.clone(),
        auth,
        clock: Arc::new(|| NOW),
        cors_origins: vec![],
        body_limit: 1 << 20,
        files: offline_tables_server::files::Store::for_database(&url, None).expect("files"),
        #[cfg(feature = "test-faults")]
        test_faults: false,
    });
    Env {
        router,
        db,
        profile,
        cleanup,
    }
}

impl Env {
    async fn drop_db(self) {
        drop(self.router);
        self.db.pool.close().await;
        match self.cleanup {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::Pg { admin, name } => {
                let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                    .execute(&mut c)
                    .await;
            }
        }
    }

    async fn call(&self, req: Request<Body>) -> Value {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let raw = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(
            status.is_success(),
            "{status}: {}",
            String::from_utf8_lossy(&raw)
        );
        serde_json::from_slice(&raw).unwrap()
    }

    async fn pull(&self, client: &str, checkpoint: Option<&str>) -> Value {
        let body = json!({ "protocolVersion": 1, "clientId": client, "checkpoint": checkpoint, "limit": LIMIT });
        let req = Request::post("/sync/pull")
            .header("authorization", "Bearer tok")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.call(req).await
    }

    /// A first download: (time, pulls, rows, checkpoint).
    async fn first_download(&self, client: &str) -> (Duration, usize, usize, String) {
        let start = Instant::now();
        let (mut checkpoint, mut pulls, mut rows) = (None::<String>, 0, 0);
        loop {
            let page = self.pull(client, checkpoint.as_deref()).await;
            pulls += 1;
            rows += page["changes"].as_array().unwrap().len();
            checkpoint = Some(page["checkpoint"].as_str().unwrap().to_string());
            if page["hasMore"] != json!(true) {
                break;
            }
        }
        (start.elapsed(), pulls, rows, checkpoint.unwrap())
    }

    async fn rest(&self, query: &str) -> Value {
        let req = Request::get(format!("/api/data/accounts?{query}"))
            .header("authorization", "Bearer tok")
            .body(Body::empty())
            .unwrap();
        self.call(req).await
    }

    /// Idle pulls from `cp` (nothing of the user's changed since): the median of 30.
    async fn idle(&self, cp: &str) -> Duration {
        let mut times = Vec::new();
        for _ in 0..30 {
            let start = Instant::now();
            let page = self.pull("idle", Some(cp)).await;
            times.push(start.elapsed());
            assert_eq!(page["changes"], json!([]), "nothing of the user's changed");
        }
        median(times)
    }

    /// Other users change `n` of their accounts (status), through `db::store` as a push
    /// writes, 1,000 per transaction.
    async fn others_change(&self, n: usize) {
        for chunk in 0..n.div_ceil(1000) {
            let mut tx = self.db.begin().await.unwrap();
            db::lock_writes(&mut tx).await.unwrap();
            for j in chunk * 1000..((chunk + 1) * 1000).min(n) {
                let u = 1 + j % (USERS - 1);
                let i = (j / (USERS - 1)) % PER_USER;
                let mut row = account(u, i);
                row.insert("status".into(), json!(format!("changed-{j}")));
                let key = key_text(&Key::Str(format!("a{u:04}-{i:03}")));
                let old = db::load(&mut *tx, "accounts", &key).await.unwrap();
                db::store(
                    &mut tx,
                    &self.profile,
                    "accounts",
                    &key,
                    old.as_ref(),
                    Some(&row),
                    NOW,
                )
                .await
                .unwrap();
            }
            tx.commit().await.unwrap();
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Each ratio's verdict and line, printed again together at the end.
struct Verdicts(Vec<(bool, String)>);

impl Verdicts {
    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        backend: &str,
        what: &str,
        small: String,
        large: String,
        ratio: f64,
        limit: f64,
        extra_ok: bool,
    ) {
        let ok = ratio <= limit && extra_ok;
        let line = format!(
            "{backend:<10} {what:<48} {small:>24} {large:>24} {ratio:>7.2}x  <= {limit:<4} {}",
            if ok { "PASS" } else { "FAIL" }
        );
        println!("{line}");
        self.0.push((ok, line));
    }
}

async fn run(backend: &str, pg: Option<&str>, v: &mut Verdicts) {
    println!("{backend}: seeding");
    let only = env(pg, "only", 1).await;
    let ten = env(pg, "ten", SMALL_REST_USERS).await;
    let big = env(pg, "big", USERS).await;
    let max_pulls = (2 * PER_USER).div_ceil(LIMIT) + 1;

    // First download: one warm-up (pages just loaded), then the median of 9 fresh
    // clients, on each database alike.
    let mut row_out = Vec::new();
    for e in [&only, &big] {
        e.first_download("warm-up").await;
        let mut times = Vec::new();
        let (mut pulls, mut rows) = (0, 0);
        for k in 0..9 {
            let (t, p, r, _) = e.first_download(&format!("first-{k}")).await;
            times.push(t);
            (pulls, rows) = (p, r);
        }
        assert_eq!(rows, 2 * PER_USER, "{backend}: the user's rows, each once");
        row_out.push((median(times), pulls));
    }
    let ((ts, ps), (tl, pl)) = (row_out[0], row_out[1]);
    v.line(
        backend,
        &format!(
            "first download, {} rows (pulls <= {max_pulls})",
            2 * PER_USER
        ),
        format!("{:.1} ms, {ps} pull(s)", ms(ts)),
        format!("{:.1} ms, {pl} pull(s)", ms(tl)),
        ms(tl) / ms(ts),
        1.5,
        pl <= max_pulls && ps <= max_pulls,
    );

    // Idle pull from one checkpoint, before and after others' changes: median of 30.
    let (_, _, _, cp) = big.first_download("idle").await;
    let before = big.idle(&cp).await;
    let start = Instant::now();
    big.others_change(CHANGES).await;
    println!(
        "  {CHANGES} changes by other users written in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let after = big.idle(&cp).await;
    v.line(
        backend,
        &format!("idle pull, after {CHANGES} others' changes"),
        format!("{:.2} ms (none)", ms(before)),
        format!("{:.2} ms", ms(after)),
        ms(after) / ms(before),
        2.0,
        true,
    );

    // REST list through the index: median of 30.
    let query = "$filter=status%20eq%20'open'&$top=50";
    let mut rest = Vec::new();
    for e in [&ten, &big] {
        let mut times = Vec::new();
        for _ in 0..30 {
            let start = Instant::now();
            let body = e.rest(query).await;
            times.push(start.elapsed());
            assert_eq!(body["value"].as_array().unwrap().len(), 50);
        }
        rest.push(median(times));
    }
    v.line(
        backend,
        &format!(
            "REST $filter=status eq 'open'&$top=50, {}x table",
            USERS / SMALL_REST_USERS
        ),
        format!(
            "{:.2} ms ({} accts)",
            ms(rest[0]),
            SMALL_REST_USERS * PER_USER
        ),
        format!("{:.2} ms ({} accts)", ms(rest[1]), USERS * PER_USER),
        ms(rest[1]) / ms(rest[0]),
        2.0,
        true,
    );
    for e in [only, ten, big] {
        e.drop_db().await;
    }
}

#[tokio::main]
async fn main() {
    println!(
        "{USERS} users x {} rows ({PER_USER} owned accounts + {PER_USER} related work orders), pull limit {LIMIT}, \
         in-process router (oneshot), release build",
        2 * PER_USER
    );
    let mut v = Verdicts(Vec::new());
    let pg = std::env::var("OT_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let mut results: Vec<(&str, Option<String>)> = vec![("sqlite", None)];
    match &pg {
        Some(url) => results.push(("postgres", Some(url.clone()))),
        None => println!(
            "OT_TEST_POSTGRES_URL is not set: PostgreSQL skipped (npm run bench:scale sets it)"
        ),
    }
    for (name, url) in &results {
        run(name, url.as_deref(), &mut v).await;
    }
    println!();
    println!(
        "{:<10} {:<48} {:>24} {:>24} {:>8}  {:<7} result",
        "backend", "measure", "small", "large", "ratio", "limit"
    );
    for (_, line) in &v.0 {
        println!("{line}");
    }
    let passed = v.0.iter().filter(|(ok, _)| *ok).count();
    println!("{passed} passed, {} failed", v.0.len() - passed);
    if passed != v.0.len() || pg.is_none() {
        std::process::exit(1);
    }
}
