//! `offline-tables-loadtest`: a bounded load test of the reference server on loopback. It
//! seeds one user (and token) per simulated client, starts the server (SQLite), or two
//! server processes over one fresh PostgreSQL database, runs goose (each goose user is one
//! client: first downloads, idle pulls, pulls with changes, pushes), prints goose's report
//! and a summary, checks through the servers that every push applied exactly once and each
//! client's rows equal its scope, and stops exactly the servers it started.

mod client;
mod fixture;
mod report;
mod servers;
mod verify;

use clap::{Parser, ValueEnum};
use goose::config::GooseConfiguration;
use goose::prelude::*;
use servers::{Launch, PgDb, Server};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DbKind {
    Sqlite,
    Postgres,
}

#[derive(Parser, Debug)]
#[command(
    about = "Load test of offline-tables-server with goose, then an exactly-once and scope check"
)]
struct Args {
    #[arg(long, value_enum, default_value = "sqlite")]
    db: DbKind,
    /// Simulated clients (goose users), each with its own user and clientId.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Seconds to run once every client has started.
    #[arg(long, default_value_t = 60)]
    run_time: u64,
    /// Clients started per second.
    #[arg(long, default_value_t = 100)]
    start_rate: usize,
    /// Think time between a client's transactions, in milliseconds: min,max.
    #[arg(long, default_value = "500,2000")]
    wait_ms: String,
    /// First port; a second server takes the next.
    #[arg(long, default_value_t = 8820)]
    port: u16,
    /// The server binary (default: beside this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// PostgreSQL URL of a role that may create databases (default: OT_TEST_POSTGRES_URL).
    #[arg(long, env = "OT_TEST_POSTGRES_URL")]
    pg_url: Option<String>,
    /// Server processes (default: 1 on SQLite, 2 on PostgreSQL).
    #[arg(long)]
    servers: Option<usize>,
    /// Seconds a request may take before it counts as an error.
    #[arg(long, default_value_t = 15)]
    timeout: u64,
    /// Seconds the after-run check may take; clients not checked by then count as errors.
    #[arg(long, default_value_t = 180)]
    check_time: u64,
    /// Write the summary as JSON here.
    #[arg(long)]
    summary: Option<PathBuf>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    match run(Args::parse()).await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("loadtest: {e}");
            std::process::exit(2);
        }
    }
}

async fn run(args: Args) -> Result<bool, BoxError> {
    let (min_wait, max_wait) = args
        .wait_ms
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)))
        .ok_or("--wait-ms must be min,max")?;
    let n_servers = args.servers.unwrap_or(match args.db {
        DbKind::Sqlite => 1,
        DbKind::Postgres => 2,
    });
    if args.db == DbKind::Sqlite && n_servers != 1 {
        return Err("SQLite runs one server process".into());
    }
    let dir = std::env::temp_dir().join(format!("ot-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let seeded_at = fixture::now_ms();
    let fx = fixture::build(args.clients, seeded_at);
    std::fs::write(dir.join("profile.json"), fixture::PROFILE)?;
    std::fs::write(dir.join("seed.json"), fx.seed.to_string())?;
    std::fs::write(dir.join("tokens.json"), fx.tokens.to_string())?;
    let (db_url, pg) = match args.db {
        DbKind::Sqlite => (format!("sqlite:{}", dir.join("load.db").display()), None),
        DbKind::Postgres => {
            let admin = args
                .pg_url
                .as_deref()
                .ok_or("--db postgres needs --pg-url or OT_TEST_POSTGRES_URL")?;
            let pg = PgDb::create(admin, "ot_loadtest").await?;
            (pg.url.clone(), Some(pg))
        }
    };
    let bin = args.server_bin.clone().unwrap_or_else(servers::default_bin);
    let probe = fx.users[0].token.clone();
    let mut started = Vec::new();
    // The first server seeds the empty database; the second starts once that is done, so
    // the two never both find it empty.
    let mut outcome = Err::<bool, BoxError>("not run".into());
    for s in 0..n_servers {
        let launch = Launch {
            bin: &bin,
            dir: &dir,
            db: &db_url,
            port: args.port + s as u16,
            seed: s == 0,
            jwt_secret: fixture::JWT_SECRET,
        };
        match Server::start(launch).await {
            Ok(mut server) => {
                let ready = server.ready(&probe, Duration::from_secs(120)).await;
                eprintln!("server {} pid {} at {}", s, server.pid(), server.url);
                started.push(server);
                if let Err(e) = ready {
                    outcome = Err(e.into());
                    break;
                }
            }
            Err(e) => {
                outcome = Err(e.into());
                break;
            }
        }
    }
    if started.len() == n_servers {
        let urls: Vec<String> = started.iter().map(|s| s.url.clone()).collect();
        outcome = attack_and_check(&args, fx, urls, (min_wait, max_wait), seeded_at).await;
    }
    for server in started {
        server.stop().await;
    }
    if let Some(pg) = pg {
        pg.drop_db().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn attack_and_check(
    args: &Args,
    fx: fixture::Fixture,
    urls: Vec<String>,
    (min_wait, max_wait): (u64, u64),
    seeded_at: i64,
) -> Result<bool, BoxError> {
    let clients = fx
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| Mutex::new(client::Client::new(u, i, urls.len())))
        .collect();
    let _ = client::CLIENTS.set(clients);
    let _ = client::SERVERS.set(urls.clone());
    let config = GooseConfiguration::parse_args_default(&[
        "--host",
        &urls[0],
        "--users",
        &args.clients.to_string(),
        "--increase-rate",
        &args.start_rate.to_string(),
        "--run-time",
        &format!("{}s", args.run_time),
        // The first downloads happen while clients start: keep them in the figures.
        "--no-reset-metrics",
        // A request that takes longer is an error, and bounds how long goose's stop waits.
        "--timeout",
        &args.timeout.to_string(),
        // No telnet or WebSocket controller: they would listen on ports of their own.
        "--no-telnet",
        "--no-websocket",
        "--quiet",
    ])?;
    let start_secs = args.clients.div_ceil(args.start_rate.max(1)) as u64;
    let _ = client::STOP_AT
        .set(std::time::Instant::now() + Duration::from_secs(start_secs + args.run_time));
    let started = std::time::Instant::now();
    // Random: each client draws its next transaction by weight, so pushes, pulls with their
    // changes, idle pulls and downloads interleave (round robin would fix one order).
    let metrics = GooseAttack::initialize_with_config(config)?
        .set_scheduler(GooseScheduler::Random)
        .register_scenario(
            scenario!("Client")
                .set_wait_time(
                    Duration::from_millis(min_wait),
                    Duration::from_millis(max_wait),
                )?
                .register_transaction(
                    transaction!(start)
                        .set_on_start()
                        .set_name("first download"),
                )
                .register_transaction(transaction!(pull).set_weight(6)?.set_name("pull"))
                .register_transaction(transaction!(push).set_weight(3)?.set_name("push"))
                .register_transaction(
                    transaction!(download)
                        .set_weight(1)?
                        .set_name("download again"),
                ),
        )
        .execute()
        .await?;
    let attack_secs = started.elapsed().as_secs_f64();
    eprintln!("checking every client through the servers…");
    let check = verify::run(urls.clone(), 16, Duration::from_secs(args.check_time)).await;
    let summary = report::Summary::new(
        &metrics,
        attack_secs,
        &check,
        args.db == DbKind::Postgres,
        urls.len(),
        seeded_at,
    );
    summary.print();
    if let Some(path) = &args.summary {
        std::fs::write(path, serde_json::to_string_pretty(&summary.to_json())?)?;
    }
    Ok(summary.passed())
}

use client::{download, pull, push, start};
