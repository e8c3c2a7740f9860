//! Where the files' bytes live: a directory (`<database>.files/` beside a SQLite file, or
//! `--files-dir` with either database), or PostgreSQL itself (`ot_file_blobs`, its default).
//! In a directory, each stored file is one blob named `<hex of its hash>-<random>`, written
//! under `.tmp/` while it arrives and renamed into place; blobs let go by writes are
//! removed right after their transaction commits, and the periodic [`Store::sweep`] removes
//! what a stopped server left behind.

use super::records;
use crate::db::{self, Db};
use crate::error::{AppError, AppResult};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::{TempDir, TempPath};

/// The largest file kept in the database: PostgreSQL's `bytea` holds at most 1 GB, and
/// the whole file is in memory while it is written or read. Larger uploads are `413`.
pub const IN_DATABASE_MAX_BYTES: u64 = 1_000_000_000;

/// How long an upload may take between noting its blob and committing it, and how old a
/// temporary file must be before a sweep removes it as left by a stopped server.
pub const STALE_UPLOAD_MS: i64 = 3_600_000;

/// Where uploads are written while they arrive, inside the files directory (a rename from
/// there into place stays on one file system).
const TEMP_DIR: &str = ".tmp";

#[derive(Clone, Debug)]
pub enum Store {
    /// A directory of blobs.
    Dir(Arc<Dir>),
    /// `ot_file_blobs` (PostgreSQL only), for files of at most `max_bytes`.
    Database { max_bytes: u64 },
}

#[derive(Debug)]
pub struct Dir {
    path: PathBuf,
    /// A directory made for an in-memory database, removed with the store.
    _temp: Option<TempDir>,
}

impl Store {
    /// Files in `path` (made if missing).
    pub fn dir(path: impl Into<PathBuf>) -> std::io::Result<Store> {
        let path = path.into();
        std::fs::create_dir_all(path.join(TEMP_DIR))?;
        Ok(Store::Dir(Arc::new(Dir { path, _temp: None })))
    }

    /// Files in PostgreSQL, up to [`IN_DATABASE_MAX_BYTES`] each.
    pub fn database() -> Store {
        Store::Database {
            max_bytes: IN_DATABASE_MAX_BYTES,
        }
    }

    /// The store of a server on the database `url`: `files_dir` when given; else beside a
    /// SQLite file (`<file>.files/`), in PostgreSQL itself, or, for an in-memory SQLite
    /// database, in a temporary directory that goes with the store.
    pub fn for_database(url: &str, files_dir: Option<&Path>) -> std::io::Result<Store> {
        if let Some(dir) = files_dir {
            return Store::dir(dir);
        }
        if url.starts_with("postgres") {
            return Ok(Store::database());
        }
        if let Some(file) = db::sqlite_file(url) {
            let mut name = file.into_os_string();
            name.push(".files");
            return Store::dir(name);
        }
        let temp = tempfile::Builder::new()
            .prefix("offline-tables-files-")
            .tempdir()?;
        std::fs::create_dir_all(temp.path().join(TEMP_DIR))?;
        Ok(Store::Dir(Arc::new(Dir {
            path: temp.path().to_path_buf(),
            _temp: Some(temp),
        })))
    }

    /// The directory of the blobs, if the files are kept in one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Store::Dir(d) => Some(&d.path),
            Store::Database { .. } => None,
        }
    }

    /// The largest file a column of `max_bytes` takes here.
    pub fn limit(&self, max_bytes: u64) -> u64 {
        match self {
            Store::Dir(_) => max_bytes,
            Store::Database { max_bytes: most } => max_bytes.min(*most),
        }
    }
}

impl Dir {
    /// A new temporary file in the directory, removed when its path is dropped.
    pub fn temp_file(&self) -> AppResult<(tokio::fs::File, TempPath)> {
        let file = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(self.path.join(TEMP_DIR))
            .map_err(AppError::internal)?;
        let (file, path) = file.into_parts();
        Ok((tokio::fs::File::from_std(file), path))
    }

    /// The path of `blob`.
    pub fn blob_path(&self, blob: &str) -> PathBuf {
        self.path.join(blob)
    }

    /// A name for a new blob of the file `hash`, never given before.
    pub fn new_blob_name(hash: &str) -> String {
        let hex = hash.strip_prefix("sha256-").unwrap_or(hash);
        let nonce: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(16)
            .collect();
        format!("{hex}-{nonce}")
    }

    /// Renames the upload at `temp` into place as `blob`, never over an existing file, and
    /// syncs the directory: once the upload's transaction commits, a crash must not lose
    /// the name its entry gives.
    pub async fn persist(&self, temp: TempPath, blob: &str) -> AppResult<()> {
        let to = self.blob_path(blob);
        let dir = self.path.clone();
        tokio::task::spawn_blocking(move || {
            temp.persist_noclobber(to)?;
            std::fs::File::open(dir)?.sync_all()
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
    }

    /// Removes `blob`; one already gone is no error.
    pub async fn remove(&self, blob: &str) {
        match tokio::fs::remove_file(self.blob_path(blob)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot remove the file blob {blob}: {e}"),
        }
    }

    /// Removes the temporary files older than `STALE_UPLOAD_MS`: uploads of a server
    /// that stopped while they arrived (a live upload removes its own when it fails).
    async fn sweep_temp(&self) {
        let Ok(mut entries) = tokio::fs::read_dir(self.path.join(TEMP_DIR)).await else {
            return;
        };
        let stale = std::time::Duration::from_millis(STALE_UPLOAD_MS as u64);
        while let Ok(Some(entry)) = entries.next_entry().await {
            let old = entry
                .metadata()
                .await
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > stale);
            if old {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
    }
}

impl Store {
    /// Removes the blobs that the committed writes of the row (table, key) let go. A
    /// failure is logged: the write stands, and the periodic sweep tries again.
    pub async fn sweep_row(&self, db: &Db, table: &str, key: &str) {
        let Store::Dir(dir) = self else { return };
        match records::claim_released(db, table, key).await {
            Ok(blobs) => {
                for blob in blobs {
                    dir.remove(&blob).await;
                }
            }
            Err(e) => tracing::warn!("file sweep of a row failed: {}", e.0.message),
        }
    }

    /// Removes every blob in the trash (let go by a write whose request did not remove it,
    /// or left by an upload that never committed, `now_ms` telling which are old enough),
    /// and stale temporary files. Run at start and then periodically; returns how many
    /// blobs went.
    pub async fn sweep(&self, db: &Db, now_ms: i64) -> AppResult<usize> {
        let Store::Dir(dir) = self else { return Ok(0) };
        let mut n = 0;
        loop {
            let blobs = records::claim_stale(db, now_ms - STALE_UPLOAD_MS, 500).await?;
            if blobs.is_empty() {
                break;
            }
            n += blobs.len();
            for blob in blobs {
                dir.remove(&blob).await;
            }
        }
        dir.sweep_temp().await;
        Ok(n)
    }
}
