//! Helpers of the file tests (`files.rs`, `files_lifecycle.rs`): a profile with file
//! columns, files and their metadata, each store to run on, what a store holds, and the
//! requests to file URLs.

use super::*;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::future::Future;

/// The JSON body limit of the test servers: uploads above it must still go through.
pub const BODY_LIMIT: usize = 1024;
pub const TARA: &str = "tok-tara";
pub const UMA: &str = "tok-uma";

pub fn profile() -> Value {
    json!({ "version": 1, "tables": {
        "notes": { "key": "id", "scope": { "owner": "ownerId" }, "files": {
            "attachment": { "maxBytes": 4096 },
            "photo": { "maxBytes": 64, "download": "view" } } },
        "catalog": { "key": "id", "readOnly": true, "files": { "picture": {} } } } })
}

pub fn hash(bytes: &[u8]) -> String {
    format!("sha256-{:x}", Sha256::digest(bytes))
}

pub fn meta(name: &str, mime: &str, bytes: &[u8]) -> Value {
    json!({ "name": name, "type": mime, "size": bytes.len(), "hash": hash(bytes) })
}

/// `n` bytes that differ from those of another `seed`.
pub fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Runs `f` over each store: the default of each backend, and PostgreSQL with a directory.
pub async fn for_each_store<F, Fut>(f: F)
where
    F: Fn(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    for kind in kinds() {
        let mut dirs = vec![None];
        if kind == Kind::Postgres {
            dirs.push(Some(tempfile::tempdir().unwrap()));
        }
        for dir in dirs {
            let files = dir.as_ref().map(|d| Store::dir(d.path()).unwrap());
            eprintln!(
                "--- {kind:?}, files in {:?}",
                dir.as_ref().map(|d| d.path())
            );
            f(Ctx::with_files(kind, profile(), BODY_LIMIT, files).await).await;
        }
    }
}

/// What the store holds: entries of `ot_files`, blobs (files in the directory or rows of
/// `ot_file_blobs`), trash entries and temporary files.
#[derive(Debug, PartialEq, Eq)]
pub struct Held {
    pub entries: i64,
    pub blobs: usize,
    pub trash: i64,
    pub temps: usize,
}

pub async fn count(ctx: &Ctx, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&ctx.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

pub fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
        .count()
}

pub async fn held(ctx: &Ctx) -> Held {
    let (blobs, temps) = match ctx.files.path() {
        Some(dir) => (files_in(dir), files_in(&dir.join(".tmp"))),
        None => (count(ctx, "ot_file_blobs").await as usize, 0),
    };
    Held {
        entries: count(ctx, "ot_files").await,
        blobs,
        trash: count(ctx, "ot_file_trash").await,
        temps,
    }
}

pub fn holding(n: usize) -> Held {
    Held {
        entries: n as i64,
        blobs: n,
        trash: 0,
        temps: 0,
    }
}

/// A request to a file URL, with `headers`.
pub fn request(
    method: &str,
    url: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.body(body).unwrap()
}

/// `PUT` of `body` saying `X-File-Hash: claimed` and its `Content-Length`.
pub async fn put(ctx: &Ctx, token: &str, url: &str, body: &[u8], claimed: &str) -> Resp {
    let len = body.len().to_string();
    let headers = [("x-file-hash", claimed), ("content-length", len.as_str())];
    ctx.call(request(
        "PUT",
        url,
        token,
        &headers,
        Body::from(body.to_vec()),
    ))
    .await
}

/// `PUT` of `body` with its own hash.
pub async fn upload(ctx: &Ctx, token: &str, url: &str, body: &[u8]) -> Resp {
    put(ctx, token, url, body, &hash(body)).await
}

pub async fn download(
    ctx: &Ctx,
    token: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    ctx.call_bytes(request("GET", url, token, headers, Body::empty()))
        .await
}

/// alice's note `id` whose `attachment` names `file`.
pub async fn note(ctx: &Ctx, token: &str, id: Value, owner: &str, file: &[u8]) {
    let row = json!({ "id": id, "ownerId": owner, "attachment": meta("a.bin", "application/x-test", file) });
    let r = ctx.post(token, "/api/data/notes", row).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

pub const N1: &str = "/api/files/notes/'n1'/attachment";
