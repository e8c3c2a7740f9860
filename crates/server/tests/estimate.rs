//! `GET /sync/estimate`: the rows and bytes a first download brings each user equal what
//! a full pull then delivers, table by table, on every backend.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;

#[tokio::test]
async fn the_estimate_matches_what_a_first_download_delivers() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        // Val's visits select some of their columns: the estimate counts what is sent.
        let users = [
            (ALICE, "alice-e"),
            (BOB, "bob-e"),
            (CAROL, "carol-e"),
            (VAL, "val-e"),
        ];
        for (token, client) in users {
            let est = ctx.get(token, "/sync/estimate").await;
            assert_eq!(est.status, 200, "{kind:?}: {:?}", est.body);
            let mut replica = Replica::new(token, client);
            replica.sync(&ctx, Some(3)).await;
            let mut rows: BTreeMap<String, u64> = BTreeMap::new();
            let mut bytes: BTreeMap<String, u64> = BTreeMap::new();
            for ((table, _), (_, row)) in &replica.rows {
                *rows.entry(table.clone()).or_default() += 1;
                *bytes.entry(table.clone()).or_default() +=
                    serde_json::to_string(row).unwrap().len() as u64;
            }
            let tables = est.body["tables"].as_object().unwrap();
            assert_eq!(
                tables.len(),
                ctx.profile.tables.len(),
                "every table of the profile, even empty ones"
            );
            for (table, t) in tables {
                let want_rows = rows.get(table).copied().unwrap_or(0);
                assert_eq!(
                    t["rows"],
                    Value::from(want_rows),
                    "{kind:?} {token} {table}"
                );
                let want_bytes = bytes.get(table).copied().unwrap_or(0);
                assert_eq!(
                    t["bytes"],
                    Value::from(want_bytes),
                    "{kind:?} {token} {table}"
                );
            }
            assert_eq!(est.body["rows"], Value::from(replica.rows.len() as u64));
            assert_eq!(est.body["protocolVersion"], Value::from(1));
        }
        ctx.get("nope", "/sync/estimate")
            .await
            .assert_error(401, "unauthorized");
    })
    .await;
}
