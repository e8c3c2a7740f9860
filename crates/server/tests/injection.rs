//! No SQL is built from user text. Every statement the server runs is a constant string
//! in `db.rs`, `pull.rs`, `push.rs`, `sync.rs` and `main.rs`; the only ones assembled at
//! run time (`pull.rs`) repeat a numbered placeholder (`$4, $5, …`, `($1, $2, $3, NULL), …`)
//! as many times as there are keys, and nothing else. Identifiers never come from a
//! request, nor even from the profile: every table's rows live in the one `ot_rows`
//! table as JSON text, so a table name, a key, a client id or a user id is a value
//! like any other, bound as a parameter (`$n`). Filters, orderings, projections and
//! scopes are evaluated by the core crate over the decoded rows, in Rust, never
//! translated to SQL. So a request can only choose parameter values, and no value can
//! change what a statement does.
//!
//! This test sends classic injection payloads through every place user text enters —
//! `$filter` string literals and column names, `$orderby`, `$select`, table names and
//! keys in URLs, column names and values in bodies, push tables, keys, client ids and
//! base versions, pull client ids and checkpoints, the token — and checks that no answer
//! is a 500, that what is refused changes nothing, and that what is accepted is stored
//! verbatim, as data, with every other row unchanged.

mod common;

use common::*;
use offline_tables_core::rest::key_segment;
use offline_tables_core::Key;
use serde_json::json;

const PAYLOADS: &[&str] = &[
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE ot_rows; --",
    "\"; DROP TABLE ot_rows; --",
    "1; DELETE FROM ot_rows",
    "a0' --",
    "x' UNION SELECT tbl, key, version, data FROM ot_rows --",
    "') ON CONFLICT (tbl, key) DO UPDATE SET data = NULL; --",
    "x'||(SELECT data FROM ot_rows LIMIT 1)||'",
    "$1",
    "?",
    "\\'; DROP TABLE ot_counter; --",
    "%' OR 1=1 --",
    "1 OR 1=1",
    "*/ DROP TABLE ot_views /*",
    "alice' AND pg_sleep(5) --",
    "\u{0}",
];

/// `s` percent-encoded for a URL (every byte but unreserved ASCII).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[track_caller]
fn no_500(r: &Resp, what: &str) {
    assert!(r.status.as_u16() < 500, "{what}: {} {}", r.status, r.text);
    // (405, another method on an API path, has no body: protocol.md §8.)
    if !r.status.is_success() && r.status != 405 {
        assert!(!r.code().is_empty(), "{what}: not a JSON error: {}", r.text);
    }
}

/// The server's own tables are all there and readable.
async fn schema_intact(ctx: &Ctx) {
    use sqlx::Row;
    for t in [
        "ot_rows",
        "ot_counter",
        "ot_refs",
        "ot_clients",
        "ot_outcomes",
        "ot_views",
        "ot_settings",
    ] {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(&ctx.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{t}: {e}"))
            .try_get(0)
            .unwrap();
        assert!(n >= 0);
    }
}

#[tokio::test]
async fn injection_payloads_in_urls_are_values_and_change_nothing() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let mut refused = 0;
        for p in PAYLOADS {
            let lit = format!("'{}'", p.replace('\'', "''"));
            // Filter values, quoted correctly: valid filters that match no row.
            for f in [
                format!("name eq {lit}"),
                format!("ownerId eq {lit} or id eq {lit}"),
                format!("startswith(name,{lit})"),
                format!("contains(city,{lit})"),
                format!("id in ({lit},'a9')"),
            ] {
                let uri = format!("/api/data/accounts?$filter={}&$count=true", enc(&f));
                let r = ctx.get(ALICE, &uri).await;
                assert_eq!(
                    r.body,
                    json!({ "value": [], "count": 0, "@odata.count": 0 }),
                    "{kind:?} {f}: {}",
                    r.text
                );
            }
            // Raw in a filter, as a column, in $orderby and $select: 400.
            for q in [
                format!("$filter=name eq '{p}'"),
                format!("$filter=name eq {p}"),
                format!("$filter={p} eq 1"),
                format!("$orderby={p}"),
                format!("$orderby=name {p}"),
                format!("$select=id,{p}"),
                format!("$top={p}"),
                format!("$skip={p}"),
            ] {
                let uri = format!("/api/data/accounts?{}", enc(&q).replacen("%3D", "=", 1));
                let r = ctx.get(ALICE, &uri).await;
                no_500(&r, &q);
                // A payload that happens to be a valid filter value still matches nothing.
                if r.status == 200 {
                    assert_eq!(r.body["value"], json!([]), "{q}: {}", r.text);
                } else {
                    r.assert_error(400, "invalid_argument");
                    refused += 1;
                }
            }
            // Table names and keys in the path: 404 unknown table, 404 no such row.
            for uri in [
                format!("/api/data/{}", enc(p)),
                format!("/api/data/accounts{}", enc(p)),
                format!("/api/data/{}/a0", enc(p)),
                format!("/api/data/accounts/{}", enc(p)),
                format!("/api/data/accounts/{}", enc(&format!("'{p}'"))),
                format!("/api/data/accounts/a0{}", enc(p)),
            ] {
                for method in ["GET", "DELETE"] {
                    let r = ctx.raw(method, &uri, Some(ALICE), None).await;
                    no_500(&r, &uri);
                    assert!(
                        r.status == 404
                            || r.status == 400
                            || (method == "DELETE" && r.status == 405),
                        "{kind:?} {method} {uri}: {}",
                        r.text
                    );
                }
                let r = ctx.patch(ALICE, &uri, json!({ "name": p })).await;
                no_500(&r, &uri);
                assert!(
                    [400, 404, 405].contains(&r.status.as_u16()),
                    "{kind:?} PATCH {uri}: {}",
                    r.text
                );
            }
            // The token (a header cannot hold control characters at all).
            if !p.chars().any(char::is_control) {
                let r = ctx.get(p, "/api/data/accounts").await;
                r.assert_error(401, "unauthorized");
            }
            // Pull: client ids are values; checkpoints must be numbers.
            let mut pull = pull_body("c1");
            pull["checkpoint"] = json!(p);
            let r = ctx.post_pull(ALICE, pull).await;
            r.assert_error(400, "invalid_argument");
        }
        assert!(refused > 0);
        ctx.assert_unchanged(&before, "a request wrote").await;
        schema_intact(&ctx).await;
        // Alice still sees her three accounts.
        let r = ctx.get(ALICE, "/api/data/accounts?$count=true").await;
        assert_eq!(r.body["count"], json!(3), "{}", r.text);
    })
    .await;
}

#[tokio::test]
async fn injection_payloads_in_bodies_are_stored_as_data() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let seeded = ctx.snapshot().await;
        let mut written = Vec::new();
        for (i, p) in PAYLOADS.iter().enumerate() {
            // REST: the payload as key, as column name and as value; read back verbatim.
            let row = json!({ "id": p, "ownerId": "alice", "name": p, *p: p });
            let r = ctx.post(ALICE, "/api/data/accounts", row.clone()).await;
            assert_eq!(r.status, 201, "{kind:?} {p}: {}", r.text);
            let seg = key_segment(&Key::Str(p.to_string()));
            let back = ctx.get(ALICE, &format!("/api/data/accounts/{seg}")).await;
            assert_eq!(back.body, row, "{kind:?} {p}");
            let r = ctx
                .patch(
                    ALICE,
                    &format!("/api/data/accounts/{seg}"),
                    json!({ "city": p }),
                )
                .await;
            assert_eq!(r.status, 200, "{kind:?} {p}: {}", r.text);
            let r = ctx
                .get(
                    ALICE,
                    &format!(
                        "/api/data/accounts?$filter={}",
                        enc(&format!("city eq '{}'", p.replace('\'', "''")))
                    ),
                )
                .await;
            assert_eq!(
                r.body["value"].as_array().map(Vec::len),
                Some(1),
                "{kind:?} {p}: {}",
                r.text
            );
            written.push(("accounts".to_string(), json!(p)));

            // Push: payloads as client id, table, key, column and base version.
            let client = format!("{}-{i}", p.replace('\0', "NUL"));
            let key = format!("{p}#note");
            let batch = json!([
                { "id": 1, "table": p, "key": p, "op": "insert", "row": { "id": p } },
                { "id": 2, "table": "notes", "key": key, "op": "insert",
                  "row": { "id": key, "ownerId": "alice", "text": p, *p: p } },
                { "id": 3, "table": "notes", "key": key, "op": "update",
                  "columns": { "text": "again" }, "baseVersion": p },
                { "id": 4, "table": "accounts", "key": "a0", "op": "update",
                  "columns": { "name": p }, "baseVersion": p },
            ]);
            let out = ctx.push(ALICE, &client, batch).await;
            assert_eq!(
                out[0]["status"], "rejected",
                "{p}: unknown table: {}",
                out[0]
            );
            assert_eq!(out[1]["status"], "applied", "{p}: {}", out[1]);
            // A base version that is not a number is no base: a conflict, not a write.
            assert_eq!(out[2]["status"], "conflict", "{p}: {}", out[2]);
            assert_eq!(out[3]["status"], "conflict", "{p}: {}", out[3]);
            written.push(("notes".to_string(), json!(key)));
            let page = ctx.pull(ALICE, &client, None, None).await;
            let note = page["changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["key"] == json!(key))
                .unwrap_or_else(|| panic!("{p}: the note is pulled"));
            assert_eq!(note["row"][*p], json!(p));
        }
        // Every seeded row is as it was; only the rows written above were added.
        let written: Vec<(String, String)> = written
            .into_iter()
            .map(|(t, k)| (t, k.to_string()))
            .collect();
        let rows = |snap: Vec<(String, String, i64, Option<String>)>| -> Vec<_> {
            snap.into_iter()
                .filter(|(t, k, ..)| t != "(counter)" && !written.contains(&(t.clone(), k.clone())))
                .collect()
        };
        let now = ctx.snapshot().await;
        assert_eq!(now.len(), seeded.len() + written.len(), "{kind:?}");
        assert_eq!(rows(now), rows(seeded), "{kind:?}: a seeded row changed");
        schema_intact(&ctx).await;
    })
    .await;
}

/// A client id holding NUL: PostgreSQL cannot store the character in text, so it used
/// to fail the statement (a 500); it is a 400 on every backend.
#[tokio::test]
async fn a_client_id_with_nul_is_a_400_not_a_500() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        for client in ["\0", "c\u{0}1", "c1\0"] {
            let r = ctx.post_pull(ALICE, pull_body(client)).await;
            r.assert_error(400, "invalid_argument");
            let m = json!({ "id": 1, "table": "notes", "key": "z", "op": "insert",
                            "row": { "id": "z", "ownerId": "alice" } });
            let r = ctx.post_push(ALICE, push_body(client, json!([m]))).await;
            r.assert_error(400, "invalid_argument");
        }
        ctx.assert_unchanged(&before, "something was written").await;
    })
    .await;
}
