//! The bulk path (`bulk::load`: `--seed`, `--import`) writes what row-by-row writes do:
//! the same rows, buckets, index entries and references, so pulls and lists answer
//! alike; into a database that already has rows it replaces keys as a write would.

mod common;

use common::*;
use offline_tables_server::{bulk, seed};
use serde_json::json;
use sqlx::Row;

/// Everything derived from the rows, without versions (bulk versions follow file order).
async fn derived(ctx: &Ctx) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT tbl || ' ' || key || ' ' || bucket || ' ' || live FROM ot_members",
        "SELECT bucket || ' ' || tbl || ' ' || col || ' ' || v || ' ' || ks || ' ' || key FROM ot_index",
        "SELECT tbl || ' ' || key || ' ' || col || ' ' || val FROM ot_refs",
        "SELECT tbl || ' ' || key || ' ' || data FROM ot_rows",
    ] {
        for r in sqlx::query(sql).fetch_all(&ctx.db.pool).await.unwrap() {
            out.push(r.try_get::<String, _>(0).unwrap());
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_bulk_load_derives_what_row_by_row_writes_derive() {
    for_each_backend(|kind| async move {
        let by_row = Ctx::demo(kind).await;
        let bulk_ctx = Ctx::new(kind, demo_profile(), 1 << 20).await;
        let tables = seed::row_lists(seed::tables_at(&demo_seed(), NOW).unwrap()).unwrap();
        let n = bulk::load(&bulk_ctx.db, &bulk_ctx.profile, &tables, NOW)
            .await
            .unwrap();
        assert_eq!(n, tables.iter().map(|(_, r)| r.len()).sum::<usize>());
        let (a, b) = (derived(&by_row).await, derived(&bulk_ctx).await);
        assert!(a.iter().any(|l| l.starts_with("workorders")), "{a:?}");
        assert_eq!(a, b, "{kind:?}");
        for token in [ALICE, BOB, CAROL] {
            let mut x = Replica::new(token, token);
            let mut y = Replica::new(token, token);
            let (cx, cy) = (x.sync(&by_row, None).await, y.sync(&bulk_ctx, None).await);
            assert_eq!(describe_all(&cx), describe_all(&cy), "{kind:?} {token}");
        }

        // Into rows that exist: keys are replaced through the write path (move-out
        // included), so alice's replica loses the account given to bob.
        let mut alice = Replica::new(ALICE, "c2");
        alice.sync(&bulk_ctx, None).await;
        assert!(alice.keys("accounts").contains(&"a0".to_string()));
        let again = vec![(
            "accounts".to_string(),
            vec![json!({ "id": "a0", "ownerId": "bob", "name": "moved" })
                .as_object()
                .unwrap()
                .clone()],
        )];
        bulk::load(&bulk_ctx.db, &bulk_ctx.profile, &again, NOW)
            .await
            .unwrap();
        let changes = alice.sync(&bulk_ctx, None).await;
        assert!(
            describe_all(&changes).contains(&"remove accounts a0 scope".to_string()),
            "{changes:?}"
        );
        assert!(!alice.keys("accounts").contains(&"a0".to_string()));
    })
    .await;
}
