//! Files (`/api/files/{table}/{key}/{column}`, protocol.md §11) on every store: SQLite with
//! its files beside the database, PostgreSQL with them in the database and, when it runs,
//! PostgreSQL with a files directory (`--files-dir`). Uploads round-trip with their
//! headers, are stored once per hash, are refused (storing nothing) for a wrong hash, a
//! size over `maxBytes`, a row naming another file, a read-only table or a row the caller
//! cannot see; a deleted row, new metadata and `DELETE` let the file go, down to the
//! bytes in the store.

mod common;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use common::*;
use http_body::Frame;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// The JSON body limit of the test servers: uploads above it must still go through.
const BODY_LIMIT: usize = 1024;
const TARA: &str = "tok-tara";
const UMA: &str = "tok-uma";

fn profile() -> Value {
    json!({ "version": 1, "tables": {
        "notes": { "key": "id", "scope": { "owner": "ownerId" }, "files": {
            "attachment": { "maxBytes": 4096 },
            "photo": { "maxBytes": 64, "download": "view" } } },
        "catalog": { "key": "id", "readOnly": true, "files": { "picture": {} } } } })
}

fn hash(bytes: &[u8]) -> String {
    format!("sha256-{:x}", Sha256::digest(bytes))
}

fn meta(name: &str, mime: &str, bytes: &[u8]) -> Value {
    json!({ "name": name, "type": mime, "size": bytes.len(), "hash": hash(bytes) })
}

/// `n` bytes that differ from those of another `seed`.
fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Runs `f` over each store: the default of each backend, and PostgreSQL with a directory.
async fn for_each_store<F, Fut>(f: F)
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
struct Held {
    entries: i64,
    blobs: usize,
    trash: i64,
    temps: usize,
}

async fn count(ctx: &Ctx, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&ctx.db.pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

fn files_in(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_file())
        .count()
}

async fn held(ctx: &Ctx) -> Held {
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

fn holding(n: usize) -> Held {
    Held {
        entries: n as i64,
        blobs: n,
        trash: 0,
        temps: 0,
    }
}

/// A request to a file URL, with `headers`.
fn request(
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
async fn put(ctx: &Ctx, token: &str, url: &str, body: &[u8], claimed: &str) -> Resp {
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
async fn upload(ctx: &Ctx, token: &str, url: &str, body: &[u8]) -> Resp {
    put(ctx, token, url, body, &hash(body)).await
}

async fn download(
    ctx: &Ctx,
    token: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Vec<u8>) {
    ctx.call_bytes(request("GET", url, token, headers, Body::empty()))
        .await
}

/// alice's note `id` whose `attachment` names `file`.
async fn note(ctx: &Ctx, token: &str, id: Value, owner: &str, file: &[u8]) {
    let row = json!({ "id": id, "ownerId": owner, "attachment": meta("a.bin", "application/x-test", file) });
    let r = ctx.post(token, "/api/data/notes", row).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

const N1: &str = "/api/files/notes/'n1'/attachment";

#[tokio::test]
async fn an_upload_comes_back_with_its_headers_and_is_stored_once() {
    for_each_store(|ctx| async move {
        // Above the JSON body limit, within maxBytes.
        let file = bytes(3000, 1);
        note(&ctx, ALICE, json!("n1"), "alice", &file).await;
        let r = upload(&ctx, ALICE, N1, &file).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body, meta("a.bin", "application/x-test", &file));
        assert_eq!(held(&ctx).await, holding(1));

        let etag = format!("\"{}\"", hash(&file));
        for accept in ["identity", "gzip"] {
            let (status, headers, body) =
                download(&ctx, ALICE, N1, &[("accept-encoding", accept)]).await;
            assert_eq!(status, 200);
            assert!(body == file, "{:?}: the bytes uploaded", ctx.kind);
            assert_eq!(headers["content-type"], "application/x-test");
            assert_eq!(headers["content-length"], "3000");
            assert_eq!(headers["etag"], etag.as_str());
            assert!(
                headers.get("content-encoding").is_none(),
                "{accept}: never compressed"
            );
        }

        // Sent again (a lost answer): 200, the same metadata, still one copy.
        let r = upload(&ctx, ALICE, N1, &file).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body, meta("a.bin", "application/x-test", &file));
        assert_eq!(held(&ctx).await, holding(1));

        // A numeric key, a type-less file.
        let empty: &[u8] = b"";
        let row = json!({ "id": 7, "ownerId": "alice", "attachment": meta("", "", empty) });
        assert_eq!(ctx.post(ALICE, "/api/data/notes", row).await.status, 201);
        let r = upload(&ctx, ALICE, "/api/files/notes/7/attachment", empty).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let (status, headers, body) =
            download(&ctx, ALICE, "/api/files/notes/7/attachment", &[]).await;
        assert_eq!((status, body.len()), (StatusCode::OK, 0));
        assert_eq!(headers["content-type"], "application/octet-stream");
        assert_eq!(headers["content-length"], "0");
        assert_eq!(held(&ctx).await, holding(2));
    })
    .await;
}

#[tokio::test]
async fn if_none_match_answers_304() {
    for_each_store(|ctx| async move {
        let file = bytes(100, 2);
        note(&ctx, ALICE, json!("n1"), "alice", &file).await;
        assert_eq!(upload(&ctx, ALICE, N1, &file).await.status, 201);
        let etag = format!("\"{}\"", hash(&file));
        let weak = format!("W/{etag}");
        let listed = format!("\"sha256-other\", {etag}");
        for tag in [etag.as_str(), weak.as_str(), listed.as_str(), "*"] {
            let (status, headers, body) =
                download(&ctx, ALICE, N1, &[("if-none-match", tag)]).await;
            assert_eq!(status, 304, "{tag}");
            assert_eq!(headers["etag"], etag.as_str());
            assert!(body.is_empty());
        }
        let (status, _, body) =
            download(&ctx, ALICE, N1, &[("if-none-match", "\"sha256-other\"")]).await;
        assert_eq!((status, body), (StatusCode::OK, file));
    })
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_the_named_file_stores_nothing() {
    for_each_store(|ctx| async move {
        let file = bytes(200, 3);
        note(&ctx, ALICE, json!("n1"), "alice", &file).await;
        let mut other = file.clone();
        other[0] ^= 1;
        put(&ctx, ALICE, N1, &other, &hash(&file))
            .await
            .assert_error(400, "invalid_argument");
        assert_eq!(held(&ctx).await, holding(0));
        let (status, ..) = download(&ctx, ALICE, N1, &[]).await;
        assert_eq!(status, 404, "not uploaded");

        // The hash is required, and spelled as the protocol says.
        let req = request("PUT", N1, ALICE, &[], Body::from(file.clone()));
        ctx.call(req).await.assert_error(400, "invalid_argument");
        let upper = hash(&file).to_uppercase().replace("SHA256-", "sha256-");
        for bad in [upper.as_str(), "sha256-abc", "md5-0"] {
            put(&ctx, ALICE, N1, &file, bad)
                .await
                .assert_error(400, "invalid_argument");
        }
        assert_eq!(held(&ctx).await, holding(0));
    })
    .await;
}

/// A body of `chunks` chunks of 1 KiB, counting how many the server read.
struct Endless {
    left: usize,
    read: Arc<AtomicUsize>,
}

impl http_body::Body for Endless {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        self.read.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b'x'; 1024])))))
    }
}

#[tokio::test]
async fn a_file_above_max_bytes_is_413_and_stores_nothing() {
    for_each_store(|ctx| async move {
        const PHOTO: &str = "/api/files/notes/'n1'/photo";
        let small = bytes(64, 4);
        let row =
            json!({ "id": "n1", "ownerId": "alice", "photo": meta("p.png", "image/png", &small) });
        assert_eq!(ctx.post(ALICE, "/api/data/notes", row).await.status, 201);
        // At the limit: stored.
        assert_eq!(upload(&ctx, ALICE, PHOTO, &small).await.status, 201);

        // One byte over, not declared: refused when read.
        let claimed = hash(&small);
        let big = bytes(65, 4);
        let req = request(
            "PUT",
            PHOTO,
            ALICE,
            &[("x-file-hash", &claimed)],
            Body::from(big),
        );
        ctx.call(req).await.assert_error(413, "payload_too_large");
        // A long body: declared one byte over, not read at all; not declared, read no
        // further than its first chunk past the limit.
        for (declared, chunks_read) in [(Some("65"), 0), (None, 1)] {
            let read = Arc::new(AtomicUsize::new(0));
            let endless = Endless {
                left: 10_000,
                read: read.clone(),
            };
            let mut headers = vec![("x-file-hash", claimed.as_str())];
            headers.extend(declared.map(|n| ("content-length", n)));
            let req = request("PUT", PHOTO, ALICE, &headers, Body::new(endless));
            ctx.call(req).await.assert_error(413, "payload_too_large");
            assert_eq!(
                read.load(Ordering::SeqCst),
                chunks_read,
                "declared {declared:?}"
            );
        }

        // The file stored before is still the one served.
        assert_eq!(held(&ctx).await, holding(1));
        let (status, _, body) = download(&ctx, ALICE, PHOTO, &[]).await;
        assert_eq!((status, body), (StatusCode::OK, small));
    })
    .await;
}

#[tokio::test]
async fn in_the_database_a_file_is_bound_by_the_stores_limit_too() {
    if !kinds().contains(&Kind::Postgres) {
        return;
    }
    let files = Store::Database { max_bytes: 1000 };
    let ctx = Ctx::with_files(Kind::Postgres, profile(), BODY_LIMIT, Some(files)).await;
    let file = bytes(1001, 5);
    note(&ctx, ALICE, json!("n1"), "alice", &file).await;
    let r = upload(&ctx, ALICE, N1, &file).await;
    r.assert_error(413, "payload_too_large");
    assert!(r.text.contains("1000 bytes"), "{}", r.text);
    assert_eq!(held(&ctx).await, holding(0));
}

#[tokio::test]
async fn an_upload_the_row_does_not_name_is_409() {
    for_each_store(|ctx| async move {
        let named = bytes(10, 6);
        let other = bytes(10, 7);
        note(&ctx, ALICE, json!("n1"), "alice", &named).await;
        upload(&ctx, ALICE, N1, &other)
            .await
            .assert_error(409, "conflict");
        let row = json!({ "id": "n2", "ownerId": "alice", "attachment": null });
        assert_eq!(ctx.post(ALICE, "/api/data/notes", row).await.status, 201);
        let n2 = "/api/files/notes/'n2'/attachment";
        upload(&ctx, ALICE, n2, &other)
            .await
            .assert_error(409, "conflict");
        assert_eq!(held(&ctx).await, holding(0));
        let (status, ..) = download(&ctx, ALICE, n2, &[]).await;
        assert_eq!(status, 404, "no file named");
    })
    .await;
}

#[tokio::test]
async fn rows_out_of_scope_are_404_and_team_members_share_files() {
    for_each_store(|ctx| async move {
        let file = bytes(50, 8);
        note(&ctx, ALICE, json!("n1"), "alice", &file).await;
        upload(&ctx, BOB, N1, &file)
            .await
            .assert_error(404, "not_found");
        // The row is checked before the size: the answer tells nothing of the row.
        let claimed = hash(&file);
        let headers = [
            ("x-file-hash", claimed.as_str()),
            ("content-length", "1048576"),
        ];
        let req = request("PUT", N1, BOB, &headers, Body::from(file.clone()));
        ctx.call(req).await.assert_error(404, "not_found");
        assert_eq!(held(&ctx).await, holding(0), "bob stored nothing");
        assert_eq!(upload(&ctx, ALICE, N1, &file).await.status, 201);
        ctx.call(request("GET", N1, BOB, &[], Body::empty()))
            .await
            .assert_error(404, "not_found");
        ctx.delete(BOB, N1).await.assert_error(404, "not_found");
        // A missing row reads as one out of scope.
        ctx.delete(ALICE, "/api/files/notes/'nope'/attachment")
            .await
            .assert_error(404, "not_found");
        assert_eq!(held(&ctx).await, holding(1), "bob removed nothing");

        // The team's note: tara uploads, uma reads and deletes, bob sees nothing.
        note(&ctx, TARA, json!("t1"), "north", &file).await;
        let t1 = "/api/files/notes/'t1'/attachment";
        assert_eq!(upload(&ctx, TARA, t1, &file).await.status, 201);
        let (status, _, body) = download(&ctx, UMA, t1, &[]).await;
        assert_eq!((status, body), (StatusCode::OK, file.clone()));
        ctx.call(request("GET", t1, BOB, &[], Body::empty()))
            .await
            .assert_error(404, "not_found");
        assert_eq!(ctx.delete(UMA, t1).await.status, 204);
        assert_eq!(held(&ctx).await, holding(1));
    })
    .await;
}

#[tokio::test]
async fn urls_are_checked_as_rest_urls_are() {
    for_each_store(|ctx| async move {
        let file = bytes(20, 9);
        note(&ctx, ALICE, json!("n1"), "alice", &file).await;
        let row = json!({ "id": "c1", "picture": meta("c.jpg", "image/jpeg", &file) });
        ctx.admin_put("catalog", row).await;
        let c1 = "/api/files/catalog/'c1'/picture";
        upload(&ctx, ALICE, c1, &file)
            .await
            .assert_error(403, "forbidden");
        ctx.delete(ALICE, c1).await.assert_error(403, "forbidden");
        // Reads are allowed: nothing was uploaded.
        let (status, ..) = download(&ctx, ALICE, c1, &[]).await;
        assert_eq!(status, 404);

        for method in ["PUT", "GET", "DELETE"] {
            let bad = "/api/files/notes/'n1'/ownerId";
            let claimed = hash(&file);
            let headers = [("x-file-hash", claimed.as_str())];
            let r = ctx
                .call(request(
                    method,
                    bad,
                    ALICE,
                    &headers,
                    Body::from(file.clone()),
                ))
                .await;
            r.assert_error(400, "invalid_argument");
            assert!(r.text.contains("not a file column"), "{method}: {}", r.text);
            let r = ctx
                .call(request(
                    method,
                    "/api/files/nope/'n1'/attachment",
                    ALICE,
                    &headers,
                    Body::empty(),
                ))
                .await;
            r.assert_error(404, "not_found");
        }
        ctx.call(request("GET", N1, "tok-nobody", &[], Body::empty()))
            .await
            .assert_error(401, "unauthorized");
        assert_eq!(held(&ctx).await, holding(0));
    })
    .await;
}

#[tokio::test]
async fn delete_removes_the_bytes_and_leaves_the_row() {
    for_each_store(|ctx| async move {
        let file = bytes(300, 10);
        note(&ctx, ALICE, json!("n1"), "alice", &file).await;
        assert_eq!(upload(&ctx, ALICE, N1, &file).await.status, 201);
        for _ in 0..2 {
            let r = ctx.delete(ALICE, N1).await;
            assert_eq!((r.status.as_u16(), r.text.as_str()), (204, ""));
            assert_eq!(held(&ctx).await, holding(0));
        }
        let (status, ..) = download(&ctx, ALICE, N1, &[]).await;
        assert_eq!(status, 404);
        let row = ctx.get(ALICE, "/api/data/notes/'n1'").await;
        assert_eq!(
            row.body["attachment"],
            meta("a.bin", "application/x-test", &file)
        );
        // Uploaded again, it is back.
        assert_eq!(upload(&ctx, ALICE, N1, &file).await.status, 201);
        assert_eq!(held(&ctx).await, holding(1));
    })
    .await;
}

#[tokio::test]
async fn a_deleted_row_takes_its_files_with_it() {
    for_each_store(|ctx| async move {
        let (one, two) = (bytes(40, 11), bytes(30, 12));
        let row = json!({ "id": "n1", "ownerId": "alice", "attachment": meta("a", "", &one), "photo": meta("p", "", &two) });
        assert_eq!(ctx.post(ALICE, "/api/data/notes", row).await.status, 201);
        assert_eq!(upload(&ctx, ALICE, N1, &one).await.status, 201);
        assert_eq!(upload(&ctx, ALICE, "/api/files/notes/'n1'/photo", &two).await.status, 201);
        assert_eq!(held(&ctx).await, holding(2));
        assert_eq!(ctx.delete(ALICE, "/api/data/notes/'n1'").await.status, 204);
        assert_eq!(held(&ctx).await, holding(0), "REST delete");
        let (status, ..) = download(&ctx, ALICE, N1, &[]).await;
        assert_eq!(status, 404);

        // Through a push.
        note(&ctx, ALICE, json!("n2"), "alice", &one).await;
        assert_eq!(upload(&ctx, ALICE, "/api/files/notes/'n2'/attachment", &one).await.status, 201);
        let version = ctx.get(ALICE, "/api/data/notes/'n2'").await.etag().unwrap();
        let m = json!({ "id": 1, "table": "notes", "key": "n2", "op": "delete", "baseVersion": version });
        let outcome = ctx.push_one(ALICE, &unique("alice"), m).await;
        assert_eq!(outcome["status"], "applied", "{outcome}");
        assert_eq!(held(&ctx).await, holding(0), "pushed delete");
    })
    .await;
}

#[tokio::test]
async fn new_metadata_lets_the_old_file_go() {
    for_each_store(|ctx| async move {
        let (one, two) = (bytes(40, 13), bytes(41, 14));
        note(&ctx, ALICE, json!("n1"), "alice", &one).await;
        assert_eq!(upload(&ctx, ALICE, N1, &one).await.status, 201);
        // Another column changes: the file stays.
        let r = ctx
            .patch(ALICE, "/api/data/notes/'n1'", json!({ "title": "x" }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(held(&ctx).await, holding(1));

        let r = ctx
            .patch(
                ALICE,
                "/api/data/notes/'n1'",
                json!({ "attachment": meta("b", "", &two) }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(held(&ctx).await, holding(0), "replaced");
        let (status, ..) = download(&ctx, ALICE, N1, &[]).await;
        assert_eq!(status, 404, "the new file is not uploaded yet");
        upload(&ctx, ALICE, N1, &one)
            .await
            .assert_error(409, "conflict");
        assert_eq!(upload(&ctx, ALICE, N1, &two).await.status, 201);
        let (status, _, body) = download(&ctx, ALICE, N1, &[]).await;
        assert_eq!((status, body), (StatusCode::OK, two));

        // Cleared through a push.
        let version = ctx.get(ALICE, "/api/data/notes/'n1'").await.etag().unwrap();
        let m = json!({ "id": 1, "table": "notes", "key": "n1", "op": "update",
                        "columns": { "attachment": null }, "baseVersion": version });
        let outcome = ctx.push_one(ALICE, &unique("alice"), m).await;
        assert_eq!(outcome["status"], "applied", "{outcome}");
        assert_eq!(held(&ctx).await, holding(0), "cleared");
    })
    .await;
}

#[tokio::test]
async fn the_sweep_removes_blobs_no_request_removed() {
    for_each_store(|ctx| async move {
        let Some(dir) = ctx.files.path().map(|p| p.to_path_buf()) else {
            return;
        };
        let file = bytes(60, 15);
        note(&ctx, ALICE, json!("n1"), "alice", &file).await;
        assert_eq!(upload(&ctx, ALICE, N1, &file).await.status, 201);
        // A write that no request followed (an import, a server that stopped).
        ctx.admin_delete("notes", json!("n1")).await;
        let left = Held { entries: 0, blobs: 1, trash: 1, temps: 0 };
        assert_eq!(held(&ctx).await, left);
        // An upload that stopped between its blob and its commit, an hour ago and now.
        for (blob, at) in [("old-blob", NOW - 3_600_001), ("new-blob", NOW)] {
            std::fs::write(dir.join(blob), b"x").unwrap();
            sqlx::query("INSERT INTO ot_file_trash (blob, tbl, key, upload_at) VALUES ($1, 'notes', 'x', $2)")
                .bind(blob)
                .bind(at)
                .execute(&ctx.db.pool)
                .await
                .unwrap();
        }
        assert_eq!(ctx.files.sweep(&ctx.db, NOW).await.unwrap(), 2);
        assert!(dir.join("new-blob").exists(), "an upload in progress keeps its blob");
        assert_eq!(held(&ctx).await, Held { entries: 0, blobs: 1, trash: 1, temps: 0 });
        assert_eq!(ctx.files.sweep(&ctx.db, NOW + 3_600_001).await.unwrap(), 1);
        assert_eq!(held(&ctx).await, holding(0));
    })
    .await;
}

#[tokio::test]
async fn a_file_never_outlives_the_metadata_that_names_it() {
    for_each_store(|ctx| async move {
        // Uploads racing writes that name another file: whichever commits first, no file
        // is left that the row does not name.
        let mut outcomes = std::collections::BTreeSet::new();
        for i in 0..12u8 {
            let (a, b) = (bytes(2000, 2 * i), bytes(2000, 2 * i + 1));
            let id = format!("r{i}");
            note(&ctx, ALICE, json!(id), "alice", &a).await;
            let url = format!("/api/files/notes/'{id}'/attachment");
            let row_url = format!("/api/data/notes/'{id}'");
            let renamed = json!({ "attachment": meta("b", "", &b) });
            let (up, patched) = tokio::join!(
                upload(&ctx, ALICE, &url, &a),
                ctx.patch(ALICE, &row_url, renamed)
            );
            assert_eq!(patched.status, 200, "{}", patched.text);
            assert!(matches!(up.status.as_u16(), 201 | 409), "{}", up.text);
            outcomes.insert(up.status.as_u16());
            assert_eq!(held(&ctx).await, holding(0), "{:?} round {i}", ctx.kind);
        }
        eprintln!("upload outcomes: {outcomes:?}");
    })
    .await;
}
