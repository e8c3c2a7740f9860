//! Receiving an upload's body: read a chunk at a time, hashed (SHA-256) on the way, into a
//! temporary file, into memory (for the database), or nowhere (a file already stored only
//! needs its hash checked); reading stops as soon as the body passes the limit.

use crate::error::{AppError, AppResult};
use axum::body::Body;
use http_body_util::BodyExt;
use offline_tables_core::protocol::files::HASH_PREFIX;
use offline_tables_core::{Error, ErrorCode};
use sha2::{Digest, Sha256};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

/// Where the bytes go.
pub enum Sink {
    Discard,
    Memory(Vec<u8>),
    /// A temporary file, removed when `path` is dropped unless it is renamed into place.
    Disk {
        file: tokio::fs::File,
        path: TempPath,
    },
}

/// A body read to its end.
pub struct Received {
    /// `sha256-<hex>` of the bytes.
    pub hash: String,
    pub size: u64,
    pub sink: Sink,
}

/// `413 payload_too_large` for a file above `limit` bytes; `what` names the column.
pub fn too_large(limit: u64, what: &str) -> AppError {
    Error::new(
        ErrorCode::PayloadTooLarge,
        format!("the file is larger than {limit} bytes, the most {what} takes"),
    )
    .into()
}

/// Reads `body` into `sink`, at most `limit` bytes (`too_large` beyond, having read no
/// more than one chunk past the limit).
pub async fn receive(body: Body, limit: u64, mut sink: Sink, what: &str) -> AppResult<Received> {
    let mut body = body;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| Error::invalid_argument(format!("cannot read the request body: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        size += chunk.len() as u64;
        if size > limit {
            return Err(too_large(limit, what));
        }
        hasher.update(&chunk);
        match &mut sink {
            Sink::Discard => {}
            Sink::Memory(bytes) => bytes.extend_from_slice(&chunk),
            Sink::Disk { file, .. } => file.write_all(&chunk).await.map_err(AppError::internal)?,
        }
    }
    if let Sink::Disk { file, .. } = &mut sink {
        // On disk before the rename: a crash must not leave a named file with part of it.
        file.flush().await.map_err(AppError::internal)?;
        file.sync_all().await.map_err(AppError::internal)?;
    }
    Ok(Received {
        hash: format!("{HASH_PREFIX}{:x}", hasher.finalize()),
        size,
        sink,
    })
}
