//! Pull throughput: 100,000 rows of ~500 B pulled in pages of 1,000 from SQLite through
//! the real router (handler, scope, JSON both ways), for a table every user sees and for
//! an owner-scoped table (where the server also records each client's view).
//! Run: `cargo bench -p offline-tables-server --bench pull` (prints rows per second).

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use offline_tables_core::protocol::PullResponse;
use offline_tables_core::Profile;
use offline_tables_server::auth::Auth;
use offline_tables_server::db::{self, Db};
use offline_tables_server::{app, system_clock, Config};
use serde_json::{json, Map, Value};
use std::time::Instant;
use tower::ServiceExt;

const ROWS: usize = 100_000;
const PAGE: u32 = 1_000;

fn row(i: usize) -> Map<String, Value> {
    let filler = "x".repeat(380);
    json!({ "id": format!("r{i:06}"), "ownerId": if i % 2 == 0 { "u1" } else { "u2" },
            "name": format!("Row number {i}"), "city": "Paris", "amount": i, "notes": filler })
    .as_object()
    .unwrap()
    .clone()
}

async fn run(scope: Value, label: &str, expected: usize) {
    let dir = std::env::temp_dir().join(format!("ot-bench-{}-{}", std::process::id(), label.len()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("sqlite:{}", dir.join("bench.db").display());
    let db = Db::connect(&url).await.expect("database");
    let profile = Profile::from_json(
        &json!({ "version": 1, "tables": { "t": { "key": "id", "scope": scope } } }),
    )
    .unwrap();
    let seed_start = Instant::now();
    let mut tx = db.begin().await.unwrap();
    for i in 0..ROWS {
        let r = row(i);
        let key = db::key_text(&offline_tables_core::Key::Str(format!("r{i:06}")));
        db::store(&mut tx, &profile, "t", &key, None, Some(&r), 0)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let seeded = seed_start.elapsed();
    let mut auth = Auth::default();
    auth.tokens
        .insert("tok".into(), offline_tables_core::scope::Caller::user("u1"));
    let router = app(Config {
        db,
        profile,
        auth,
        clock: system_clock(),
        cors_origins: vec![],
        body_limit: 1 << 20,
        files: offline_tables_server::files::Store::for_database(&url, None).expect("files"),
        #[cfg(feature = "test-faults")]
        test_faults: false,
    });
    let start = Instant::now();
    let (mut checkpoint, mut rows, mut bytes, mut pages) = (None::<String>, 0usize, 0usize, 0);
    loop {
        let body = json!({ "protocolVersion": 1, "clientId": format!("bench-{label}"), "checkpoint": checkpoint, "limit": PAGE });
        let req = Request::post("/sync/pull")
            .header("authorization", "Bearer tok")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
        let raw = resp.into_body().collect().await.unwrap().to_bytes();
        bytes += raw.len();
        let page: PullResponse = serde_json::from_slice(&raw).unwrap();
        rows += page.changes.len();
        pages += 1;
        checkpoint = Some(page.checkpoint);
        if !page.has_more {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(rows, expected, "every row in scope exactly once");
    println!(
        "pull {label:<28} {rows:>7} rows  {pages:>4} pages  {:>6.1} MB  {secs:>6.2} s  {:>8.0} rows/s   (seeding took {:.1} s)",
        bytes as f64 / 1e6,
        rows as f64 / secs,
        seeded.as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::main]
async fn main() {
    println!("{ROWS} rows of ~500 B, pages of {PAGE}, SQLite (WAL), through the router in-process");
    run(json!("all"), "scope all", ROWS).await;
    run(
        json!({ "owner": "ownerId" }),
        "scope owner (half the rows)",
        ROWS / 2,
    )
    .await;
}
