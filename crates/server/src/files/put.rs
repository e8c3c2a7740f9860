//! `PUT /api/files/{table}/{key}/{column}`: an upload, stored once per row, column and
//! hash. Everything that can refuse it without its bytes is checked before a byte is read
//! (the row, the caller's scope, `X-File-Hash` against the row's metadata, the declared
//! length); the body is then received and hashed, and the file recorded in a transaction
//! that holds the row and checks it all again, so a row write that lets the file go
//! either commits before (the upload is `409`) or sees the file and lets it go.
//!
//! In a files directory the blob is renamed into place before that transaction commits,
//! noted first in the trash as an upload in progress: the transaction takes the note out
//! as it commits, and a note left by a failure or a stopped server leads the sweep to the
//! blob.

use super::records::{self, StoredFile, Target};
use super::store::{Dir, Store};
use super::upload::{self, too_large, Received, Sink};
use super::{address, locked_row};
use crate::auth::User;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::json::UrlPath as Path;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use offline_tables_core::protocol::files::{is_file_hash, FileMeta};
use offline_tables_core::scope::Caller;
use offline_tables_core::{Error, Key, Profile};
use serde_json::{Map, Value};

/// The header that names the upload's content hash.
pub const FILE_HASH: &str = "x-file-hash";

/// The largest buffer set aside before the bytes arrive, whatever length is declared.
const MAX_PREALLOCATION: u64 = 16 * 1024 * 1024;

/// The hash `X-File-Hash` names (`400` when missing or not a content hash).
fn claimed_hash(headers: &HeaderMap) -> AppResult<String> {
    let Some(value) = headers.get(FILE_HASH) else {
        return Err(Error::invalid_argument(
            "X-File-Hash is required: sha256- and the 64 lowercase hex digits of the file's SHA-256",
        )
        .into());
    };
    match value.to_str() {
        Ok(h) if is_file_hash(h) => Ok(h.to_string()),
        _ => Err(Error::invalid_argument(format!(
            "X-File-Hash must be sha256- and 64 lowercase hex digits, got {value:?}"
        ))
        .into()),
    }
}

/// The row's metadata for the file `hash` in `col`: `409` when it names another or none.
fn named_file(
    row: &Map<String, Value>,
    name: &str,
    key: &Key,
    col: &str,
    hash: &str,
) -> AppResult<FileMeta> {
    FileMeta::in_row(row, col)
        .filter(|m| m.hash == hash)
        .ok_or_else(|| {
            Error::conflict(format!(
                "row {key} of '{name}' does not name this file in '{col}' (another or none): \
                 write the row with the file's metadata first"
            ))
            .into()
        })
}

pub async fn put(
    State(s): State<AppState>,
    User(user): User,
    Path((name, seg, col)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let profile = s.profile();
    let at = address(&profile, &name, &seg, &col, true)?;
    let hash = claimed_hash(&headers)?;
    let t = Target {
        table: &name,
        key: &at.key_text,
        col: &col,
    };
    let (_, row) = crate::rest::visible(&s, &profile, &user, &name, &at.key).await?;
    let meta = named_file(&row, &name, &at.key, &col, &hash)?;
    let what = format!("column '{col}' of '{name}'");
    let limit = s.files.limit(at.file.max_bytes);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit, &what));
    }
    let stored = records::get(&s.db.pool, &t).await?;
    let already = stored.as_ref().is_some_and(|f| f.hash == hash);
    let sink = match &s.files {
        _ if already => Sink::Discard,
        Store::Dir(dir) => {
            let (file, path) = dir.temp_file()?;
            Sink::Disk { file, path }
        }
        Store::Database { .. } => Sink::Memory(Vec::with_capacity(
            declared.unwrap_or(0).min(limit).min(MAX_PREALLOCATION) as usize,
        )),
    };
    let got = upload::receive(body, limit, sink, &what).await?;
    if got.hash != hash {
        return Err(Error::invalid_argument(format!(
            "the body's hash is {}, not the X-File-Hash {hash}: nothing was stored",
            got.hash
        ))
        .into());
    }
    let size = got.size;
    let created = !already && commit(&s, &profile, &user, &t, &at.key, &hash, got).await?;
    if created {
        // The file this one replaced, if any.
        s.files.sweep_row(&s.db, &name, &at.key_text).await;
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let meta = FileMeta { size, ..meta };
    Ok((status, Json(meta)).into_response())
}

/// What the transaction that records an upload found under its lock.
enum Found {
    /// The same file is stored already (an upload of it committed meanwhile).
    Same,
    /// Store it, letting this one go first if any.
    Other(Option<StoredFile>),
}

/// Locks the row and checks again what the upload was let in for.
async fn recheck(
    s: &AppState,
    tx: &mut Tx,
    profile: &Profile,
    user: &Caller,
    t: &Target<'_>,
    key: &Key,
    hash: &str,
) -> AppResult<Found> {
    let row = locked_row(s, tx, profile, user, t.table, key).await?;
    named_file(&row, t.table, key, t.col, hash)?;
    Ok(match records::get(&mut **tx, t).await? {
        Some(f) if f.hash == hash => Found::Same,
        other => Found::Other(other),
    })
}

/// Records the received file as the target's; false when the same file was stored first.
#[allow(clippy::too_many_arguments)]
async fn commit(
    s: &AppState,
    profile: &Profile,
    user: &Caller,
    t: &Target<'_>,
    key: &Key,
    hash: &str,
    got: Received,
) -> AppResult<bool> {
    let mut file = StoredFile {
        hash: hash.to_string(),
        size: got.size,
        blob: None,
    };
    match got.sink {
        Sink::Memory(data) => {
            let mut tx = s.db.begin().await?;
            let Found::Other(previous) = recheck(s, &mut tx, profile, user, t, key, hash).await?
            else {
                return Ok(false);
            };
            if let Some(previous) = previous {
                records::release(&mut tx, t, &previous).await?;
            }
            records::put(&mut tx, t, &file).await?;
            records::put_bytes(&mut tx, t, &data).await?;
            tx.commit().await?;
            Ok(true)
        }
        Sink::Disk { file: handle, path } => {
            drop(handle);
            let Store::Dir(dir) = &s.files else {
                return Err(AppError::internal(
                    "an upload on disk without a files directory",
                ));
            };
            let blob = Dir::new_blob_name(hash);
            records::intend(&s.db, t, &blob, (s.clock)()).await?;
            let placed = match dir.persist(path, &blob).await {
                Ok(()) => {
                    file.blob = Some(blob.clone());
                    record_blob(s, profile, user, t, key, &file, &blob).await
                }
                Err(e) => Err(e),
            };
            if !matches!(placed, Ok(true)) {
                abandon(s, dir, &blob).await;
            }
            placed
        }
        Sink::Discard => Err(AppError::internal("an upload kept nowhere to be recorded")),
    }
}

/// The transaction that records a blob already in place, taking its note out of the trash.
#[allow(clippy::too_many_arguments)]
async fn record_blob(
    s: &AppState,
    profile: &Profile,
    user: &Caller,
    t: &Target<'_>,
    key: &Key,
    file: &StoredFile,
    blob: &str,
) -> AppResult<bool> {
    let mut tx = s.db.begin().await?;
    let Found::Other(previous) = recheck(s, &mut tx, profile, user, t, key, &file.hash).await?
    else {
        return Ok(false);
    };
    if let Some(previous) = previous {
        records::release(&mut tx, t, &previous).await?;
    }
    records::put(&mut tx, t, file).await?;
    if !records::claim(&mut *tx, blob).await? {
        return Err(AppError::internal(
            "an upload's blob was swept before its transaction committed",
        ));
    }
    tx.commit().await?;
    Ok(true)
}

/// Removes the blob of an upload that will not be recorded, if its note is still in the
/// trash (a sweep that took the note removes the blob itself; a note this cannot take out
/// is left to the periodic sweep).
async fn abandon(s: &AppState, dir: &Dir, blob: &str) {
    match records::claim(&s.db.pool, blob).await {
        Ok(true) => dir.remove(blob).await,
        Ok(false) => {}
        Err(e) => tracing::warn!("leaving the blob {blob} to the sweep: {}", e.0.message),
    }
}
