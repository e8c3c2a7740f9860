//! Files (`/api/files/{table}/{key}/{column}`, protocol.md §11) on every store: SQLite with
//! its files beside the database, PostgreSQL with them in the database and, when it runs,
//! PostgreSQL with a files directory (`--files-dir`). Uploads round-trip with their
//! headers and are stored once per hash; they are refused, storing nothing, for a wrong
//! hash, a size over `maxBytes`, a row naming another file, a read-only table, a bad
//! column or a row the caller cannot see. `files_lifecycle.rs` has files going away.

mod common;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use common::files::*;
use common::*;
use http_body::Frame;
use serde_json::json;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

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
