//! `offline-tables-server`: the reference sync server. Reads the offline profile, seeds
//! an empty database, and serves the sync protocol, the REST data API and (optionally)
//! a static folder such as the demo PWA. `SIGHUP` re-reads the profile file.

use clap::Parser;
use offline_tables_core::Profile;
use offline_tables_server::auth::Auth;
use offline_tables_server::db::Db;
use offline_tables_server::files::Store;
use offline_tables_server::jwks::{parse_jwks, RefreshPolicy, RemoteJwks, VerifyingKey};
use offline_tables_server::{build, bulk, seed, system_clock, AppState, Config};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(version, about = "Reference sync server for offline-tables")]
struct Args {
    /// The offline profile (JSON); re-read on SIGHUP (an invalid file is logged and the
    /// profile in use kept).
    #[arg(long)]
    profile: PathBuf,
    /// Rows to load into an empty database: { "table": [rows] }, and optionally
    /// "$anchor": an RFC 3339 timestamp; its rows' timestamps then move by now − anchor.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Rows to import in bulk, in the seed's format, into a database with or without
    /// rows (an existing key is replaced as a write would); then exit, printing rows/s.
    #[arg(long)]
    import: Option<PathBuf>,
    /// Development tokens: { "token": "userId" } or { "token": { "user": "userId", "teams": ["team"] } }.
    #[arg(long)]
    tokens: Option<PathBuf>,
    /// HS256 secret for JWTs (`sub` = user id, `exp` required).
    #[arg(long, env = "OT_JWT_SECRET")]
    jwt_secret: Option<String>,
    /// A PEM public key (RSA: RS256, EC P-256: ES256) for JWTs (repeatable).
    #[arg(long)]
    jwt_public_key: Vec<PathBuf>,
    /// A JWKS document for RS256 / ES256 JWTs, chosen by `kid`: a file, or an identity
    /// provider's https:// URL (fetched at start, cached, fetched again for an unknown
    /// `kid` at most every 30 s, and hourly). Repeatable for files; one URL.
    #[arg(long, env = "OT_JWKS")]
    jwks: Vec<String>,
    /// Accepted JWT issuer (`iss`), repeatable; without it `iss` is not checked.
    #[arg(long, env = "OT_JWT_ISSUER")]
    jwt_issuer: Vec<String>,
    /// Accepted JWT audience (`aud`), repeatable; without it tokens with an `aud` are refused.
    #[arg(long, env = "OT_JWT_AUDIENCE")]
    jwt_audience: Vec<String>,
    /// The JWT claim that holds the user id (e.g. `oid` for Entra ID).
    #[arg(long, default_value = "sub")]
    jwt_user_claim: String,
    /// The JWT claim holding the user's teams (an array of strings), which `owner` scopes
    /// match as well as the user id: `teams` (default), or e.g. `groups`.
    #[arg(long, default_value = "teams")]
    jwt_teams_claim: String,
    /// sqlite:PATH (created if missing) or postgres://...
    #[arg(long, default_value = "sqlite:./data/offline.db")]
    db: String,
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: String,
    /// Serve this folder at / (for the demo PWA, same origin as the API).
    #[arg(long = "static")]
    static_dir: Option<PathBuf>,
    /// Allowed CORS origin (repeatable; `*` for any).
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    /// Days a deleted row's tombstone is kept; older checkpoints must resync.
    #[arg(long, default_value_t = 30)]
    tombstone_days: u32,
    /// Largest request body, in bytes (file uploads: their column's `maxBytes` instead).
    #[arg(long, default_value_t = 2 * 1024 * 1024)]
    body_limit: usize,
    /// Keep the files of file columns in this directory (made if missing). Without it:
    /// beside a SQLite database (`<database file>.files/`), in a PostgreSQL one (`ot_file_blobs`).
    #[arg(long)]
    files_dir: Option<PathBuf>,
    /// For tests only: mount /_test/faults, whose rules make requests fail on purpose.
    /// Exists only in a build with the `test-faults` feature; the release binary refuses it.
    #[cfg(feature = "test-faults")]
    #[arg(long)]
    test_faults: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn read_profile(path: &PathBuf) -> Result<Profile, BoxError> {
    Ok(Profile::from_json(&read_json(path, "profile")?).map_err(|e| e.message)?)
}

/// On every SIGHUP, serves the profile file anew if it is valid.
#[cfg(unix)]
fn reload_on_sighup(state: AppState, path: PathBuf) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Installed before the server listens: SIGHUP would otherwise end the process.
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match read_profile(&path) {
                Ok(profile) => state.set_profile(profile),
                Err(e) => tracing::warn!(
                    "SIGHUP: keeping profile version {}: {e}",
                    state.profile().version
                ),
            }
        }
    });
    Ok(())
}

fn read_json(path: &PathBuf, what: &str) -> Result<Value, BoxError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{what} {} is not valid JSON: {e}", path.display()).into())
}

async fn read_auth(args: &Args) -> Result<Auth, BoxError> {
    let mut auth = Auth::default();
    if let Some(path) = &args.tokens {
        auth.tokens = offline_tables_server::auth::parse_tokens(read_json(path, "tokens")?)?;
    }
    if let Some(secret) = &args.jwt_secret {
        auth.jwt = Some(jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()));
    }
    for path in &args.jwt_public_key {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read --jwt-public-key {}: {e}", path.display()))?;
        auth.keys.push(
            VerifyingKey::from_pem(&pem)
                .map_err(|e| format!("--jwt-public-key {}: {e}", path.display()))?,
        );
    }
    for source in &args.jwks {
        if source.starts_with("https://") || source.starts_with("http://") {
            if auth.jwks.is_some() {
                return Err("--jwks: give at most one URL".into());
            }
            if source.starts_with("http://") {
                tracing::warn!("--jwks {source}: plain http, keys can be forged in transit");
            }
            let remote = RemoteJwks::fetch_at_start(source, RefreshPolicy::default())
                .await
                .map_err(|e| format!("--jwks: {e}"))?;
            auth.jwks = Some(remote);
        } else {
            let bytes =
                std::fs::read(source).map_err(|e| format!("cannot read --jwks {source}: {e}"))?;
            auth.keys
                .extend(parse_jwks(&bytes).map_err(|e| format!("--jwks {source}: {e}"))?);
        }
    }
    auth.issuers = args.jwt_issuer.clone();
    auth.audiences = args.jwt_audience.clone();
    if args.jwt_teams_claim != offline_tables_server::auth::TEAMS_CLAIM {
        auth.teams_claim = Some(args.jwt_teams_claim.clone());
    }
    if args.jwt_user_claim != "sub" {
        auth.user_claim = Some(args.jwt_user_claim.clone());
    }
    if !auth.is_configured() {
        return Err(
            "no way to authenticate: give --tokens, --jwt-secret, --jwt-public-key and/or --jwks"
                .into(),
        );
    }
    Ok(auth)
}

/// Loads `rows` through the bulk path (bulk.rs) and logs the rate; `only_if_empty`
/// leaves a database that has rows alone (`--seed`).
async fn load(
    db: &Db,
    profile: &Profile,
    rows: &Value,
    now: i64,
    only_if_empty: bool,
) -> Result<usize, BoxError> {
    if only_if_empty {
        let count: i64 = sqlx::Row::try_get(
            &sqlx::query("SELECT COUNT(*) FROM ot_rows")
                .fetch_one(&db.pool)
                .await?,
            0,
        )?;
        if count > 0 {
            return Ok(0);
        }
    }
    let start = std::time::Instant::now();
    // Dates written for the seed's `$anchor` move to the same distance from now.
    let tables = seed::tables_at(rows, now).map_err(|e| e.0.message)?;
    let tables = seed::row_lists(tables).map_err(|e| e.0.message)?;
    let n = bulk::load(db, profile, &tables, now)
        .await
        .map_err(|e| e.0.message)?;
    let secs = start.elapsed().as_secs_f64();
    tracing::info!(
        "loaded {n} rows in {secs:.2} s ({:.0} rows/s)",
        n as f64 / secs.max(1e-9)
    );
    Ok(n)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let args = Args::parse();
    let profile = read_profile(&args.profile)?;
    if let Some(path) = &args.import {
        let db = Db::connect(&args.db).await?;
        let now = system_clock()();
        load(&db, &profile, &read_json(path, "import")?, now, false).await?;
        return Ok(());
    }
    let auth = read_auth(&args).await?;
    let db = Db::connect(&args.db).await?;
    let files = Store::for_database(&args.db, args.files_dir.as_deref())
        .map_err(|e| format!("cannot open the files directory: {e}"))?;
    match files.path() {
        Some(dir) => tracing::info!("files in {}", dir.display()),
        None => tracing::info!("files in the database (ot_file_blobs)"),
    }
    let clock = system_clock();
    if let Some(path) = &args.seed {
        load(&db, &profile, &read_json(path, "seed")?, clock(), true).await?;
    }
    {
        // Tombstones older than the retention go, hourly; older checkpoints resync. Blobs
        // let go of by writes whose request did not remove them (a stop, an import) and
        // uploads that never committed go too.
        let db = db.clone();
        let clock = clock.clone();
        let files = files.clone();
        let keep_ms = args.tombstone_days as i64 * 86_400_000;
        tokio::spawn(async move {
            loop {
                if let Err(e) = db.purge_tombstones(clock() - keep_ms).await {
                    tracing::warn!("purging tombstones failed: {}", e.0.message);
                }
                match files.sweep(&db, clock()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("removed {n} files no row names"),
                    Err(e) => tracing::warn!("sweeping files failed: {}", e.0.message),
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
    }
    let (mut router, state) = build(Config {
        db,
        profile,
        auth,
        clock,
        cors_origins: args.cors_origins,
        body_limit: args.body_limit,
        files,
        #[cfg(feature = "test-faults")]
        test_faults: args.test_faults,
    });
    #[cfg(unix)]
    reload_on_sighup(state, args.profile.clone())?;
    #[cfg(not(unix))]
    drop(state);
    if let Some(dir) = &args.static_dir {
        router = router.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    tracing::info!(
        "offline-tables-server listening on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
