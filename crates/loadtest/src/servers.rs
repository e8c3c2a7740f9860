//! The servers under test: `offline-tables-server` processes this tool starts (by pid) and
//! stops (that pid, SIGINT for a graceful stop, then SIGKILL), and for PostgreSQL a fresh
//! database made and dropped through `psql`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

pub struct Server {
    pub url: String,
    child: Child,
    pid: u32,
}

pub struct Launch<'a> {
    pub bin: &'a Path,
    pub dir: &'a Path,
    pub db: &'a str,
    pub port: u16,
    pub seed: bool,
    pub jwt_secret: &'a str,
}

impl Server {
    pub async fn start(l: Launch<'_>) -> Result<Server, String> {
        let log = std::fs::File::create(l.dir.join(format!("server-{}.log", l.port)))
            .map_err(|e| format!("server log: {e}"))?;
        let mut cmd = Command::new(l.bin);
        cmd.arg("--profile")
            .arg(l.dir.join("profile.json"))
            .arg("--tokens")
            .arg(l.dir.join("tokens.json"))
            .arg("--db")
            .arg(l.db)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", l.port))
            .env("OT_JWT_SECRET", l.jwt_secret)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            // If this tool dies, its servers go with it.
            .kill_on_drop(true);
        if l.seed {
            cmd.arg("--seed").arg(l.dir.join("seed.json"));
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", l.bin.display()))?;
        let pid = child.id().ok_or("server exited at once")?;
        Ok(Server {
            url: format!("http://127.0.0.1:{}", l.port),
            child,
            pid,
        })
    }

    /// Waits until `GET /sync/profile` answers 200 (seeding happens before listening).
    pub async fn ready(&mut self, token: &str, within: Duration) -> Result<(), String> {
        let http = reqwest::Client::new();
        let start = Instant::now();
        while start.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("server pid {} exited: {status}", self.pid));
            }
            let r = http
                .get(format!("{}/sync/profile", self.url))
                .bearer_auth(token)
                .send()
                .await;
            if r.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "server pid {} not ready after {within:?}",
            self.pid
        ))
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Stops exactly this process: SIGINT (its graceful shutdown), SIGKILL after 10 s.
    pub async fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(self.pid.to_string())
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// A fresh PostgreSQL database beside `admin_url`'s, dropped by [`PgDb::drop_db`].
pub struct PgDb {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDb {
    pub async fn create(admin_url: &str, prefix: &str) -> Result<PgDb, String> {
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            crate::fixture::now_ms() % 1_000_000
        );
        let url = with_database(admin_url, &name)?;
        psql(admin_url, &format!("CREATE DATABASE {name}")).await?;
        Ok(PgDb {
            admin_url: admin_url.to_string(),
            url,
            name,
        })
    }

    pub async fn drop_db(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.admin_url, &sql).await {
            eprintln!("warning: {e}");
        }
    }
}

async fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .arg("-X")
        .arg("-q")
        .arg("-v")
        .arg("ON_ERROR_STOP=1")
        .arg(url)
        .arg("-c")
        .arg(sql)
        .output()
        .await
        .map_err(|e| format!("psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// `url` (`postgres://u:p@h:port/db?x`) naming the database `name` instead.
fn with_database(url: &str, name: &str) -> Result<String, String> {
    let mut url = url::Url::parse(url).map_err(|e| format!("--pg-url {url}: {e}"))?;
    url.set_path(name);
    Ok(url.into())
}

/// The server binary beside this tool's (same cargo profile), unless given.
pub fn default_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("offline-tables-server")))
        .unwrap_or_else(|| PathBuf::from("offline-tables-server"))
}
