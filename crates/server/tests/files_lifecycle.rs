//! Files going away, on every store (as in `files.rs`): `DELETE` on a file URL, a deleted
//! row, metadata replaced or cleared (through REST and push) let the file go down to its
//! bytes; the sweep removes what no request did; and an upload racing a write that names
//! another file never leaves a file the row does not name.

mod common;

use axum::http::StatusCode;
use common::files::*;
use common::*;
use serde_json::json;

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
