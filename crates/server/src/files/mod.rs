//! Files (protocol.md §11): `PUT/GET/DELETE /api/files/{table}/{key}/{column}` carry the
//! bytes of the file a row's file column names, with the row's REST rules (§8): unknown
//! table `404`, read-only `403` on writes, a row missing or out of the caller's scope
//! `404`, a column that is not a file column `400`. This module holds the routes and the
//! checks they share, `GET` and `DELETE`; `put` the upload, `upload` the reading of its
//! body, `records` the database side and `store` where the bytes live.

mod put;
pub mod records;
pub mod store;
mod upload;

pub use store::Store;

use crate::auth::User;
use crate::db::{key_text, Tx};
use crate::error::{AppError, AppResult};
use crate::json::UrlPath as Path;
use crate::scope::{Scoper, Src};
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put as put_route;
use axum::Router;
use offline_tables_core::profile::FileDef;
use offline_tables_core::protocol::files::FileMeta;
use offline_tables_core::rest::{parse_key_segment, table, writable};
use offline_tables_core::scope::Caller;
use offline_tables_core::{Error, Key, Profile};
use records::Target;
use serde_json::{Map, Value};

/// Marks a response whose body is a file's bytes: the compression layer leaves it as it
/// is, so its `Content-Length` and its `ETag` (the bytes' hash) stay true.
#[derive(Debug, Clone, Copy)]
pub struct Uncompressed;

/// The file routes. The JSON body limit (`DefaultBodyLimit`) does not bind an upload: it
/// bounds the extractors that buffer a body, and `put` takes the body as it streams in,
/// reading up to its column's `maxBytes` (`upload::receive`).
pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/api/files/{table}/{key}/{column}",
        put_route(put::put).get(read).delete(remove),
    )
}

/// A request's file: its table's file column and the row's key.
struct Addressed<'p> {
    file: &'p FileDef,
    key: Key,
    key_text: String,
}

/// Checks what the URL names, in the REST API's order: the table (and, for a write, that
/// it takes writes), then the column, then the key.
fn address<'p>(
    profile: &'p Profile,
    name: &str,
    seg: &str,
    col: &str,
    write: bool,
) -> AppResult<Addressed<'p>> {
    let def = if write {
        writable(profile, name)?
    } else {
        table(profile, name)?
    };
    let file = def.files.get(col).ok_or_else(|| {
        Error::invalid_argument(format!("'{col}' is not a file column of '{name}'"))
    })?;
    let key = parse_key_segment(seg)?;
    let key_text = key_text(&key);
    Ok(Addressed {
        file,
        key,
        key_text,
    })
}

/// `404` for a row that has no stored file in `col`.
fn no_file(name: &str, key: &Key, col: &str) -> Error {
    Error::not_found(format!(
        "no file in column '{col}' of row {key} in '{name}'"
    ))
}

/// Locks the row (records::lock_row) and returns it if the caller may see it: `404`
/// otherwise, as the REST API answers.
async fn locked_row(
    s: &AppState,
    tx: &mut Tx,
    profile: &Profile,
    user: &Caller,
    name: &str,
    key: &Key,
) -> AppResult<Map<String, Value>> {
    let stored = records::lock_row(tx, s.db.postgres, name, &key_text(key)).await?;
    let Some(row) = stored.and_then(|st| st.data) else {
        return Err(Error::no_row(name, key).into());
    };
    if !Scoper::new(Src::Tx(tx), profile, user, (s.clock)())
        .row_in_scope(name, &row)
        .await?
    {
        return Err(Error::no_row(name, key).into());
    }
    Ok(row)
}

/// True when `If-None-Match` lists `etag` (or is `*`), compared weakly as RFC 9110 says.
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

pub async fn read(
    State(s): State<AppState>,
    User(user): User,
    Path((name, seg, col)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let profile = s.profile();
    let at = address(&profile, &name, &seg, &col, false)?;
    let (_, row) = crate::rest::visible(&s, &profile, &user, &name, &at.key).await?;
    let no_file = || no_file(&name, &at.key, &col);
    let meta = FileMeta::in_row(&row, &col).ok_or_else(no_file)?;
    let t = Target {
        table: &name,
        key: &at.key_text,
        col: &col,
    };
    // The row's metadata may be ahead of the upload: then there is no file yet.
    let stored = records::get(&s.db.pool, &t)
        .await?
        .filter(|f| f.hash == meta.hash)
        .ok_or_else(no_file)?;
    let etag = format!("\"{}\"", stored.hash);
    let mut out = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, v);
    }
    if none_match(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    let (len, body) = match (&stored.blob, &s.files) {
        (Some(blob), Store::Dir(dir)) => match tokio::fs::File::open(dir.blob_path(blob)).await {
            Ok(file) => {
                let len = file.metadata().await.map_err(AppError::internal)?.len();
                let stream = tokio_util::io::ReaderStream::new(file);
                (len, Body::from_stream(stream))
            }
            // Let go (and removed) since the entry was read.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_file().into()),
            Err(e) => return Err(AppError::internal(e)),
        },
        (Some(_), Store::Database { .. }) => {
            return Err(AppError::internal(
                "a file is in a files directory, but the server has none (--files-dir)",
            ))
        }
        (None, _) => {
            let data = records::read_bytes(&s.db, &t).await?.ok_or_else(no_file)?;
            (data.len() as u64, Body::from(data))
        }
    };
    let mime = HeaderValue::from_str(&meta.mime)
        .ok()
        .filter(|_| !meta.mime.is_empty())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    out.insert(header::CONTENT_TYPE, mime);
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    // The bytes are the app's users', not the API's: never sniffed into something else.
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let mut resp = (StatusCode::OK, out, body).into_response();
    resp.extensions_mut().insert(Uncompressed);
    Ok(resp)
}

pub async fn remove(
    State(s): State<AppState>,
    User(user): User,
    Path((name, seg, col)): Path<(String, String, String)>,
) -> AppResult<StatusCode> {
    let profile = s.profile();
    let at = address(&profile, &name, &seg, &col, true)?;
    let t = Target {
        table: &name,
        key: &at.key_text,
        col: &col,
    };
    let mut tx = s.db.begin().await?;
    locked_row(&s, &mut tx, &profile, &user, &name, &at.key).await?;
    if let Some(stored) = records::get(&mut *tx, &t).await? {
        records::release(&mut tx, &t, &stored).await?;
    }
    tx.commit().await?;
    s.files.sweep_row(&s.db, &name, &at.key_text).await;
    Ok(StatusCode::NO_CONTENT)
}

/// After a committed write of the row (table, key): removes the blobs it let go, if the
/// table has file columns (rows of other tables have none to let go, but a profile that
/// dropped a file column leaves its files to the periodic sweep).
pub async fn after_write(s: &AppState, profile: &Profile, table: &str, key: &str) {
    if profile
        .tables
        .get(table)
        .is_some_and(|d| !d.files.is_empty())
    {
        s.files.sweep_row(&s.db, table, key).await;
    }
}
