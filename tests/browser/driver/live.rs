//! Live queries hearing changes that are not this store's own writes: rows pulled from
//! the reference server (another device of the user `lena` wrote and pushed them), a
//! push settled by taking the server's row, and writes from another tab (a second store
//! on the same database, another BroadcastChannel endpoint) with and without their rows.

use crate::api::live::{live, live_count, spy_reads, take_reads, Calls};
use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use serde_json::json;
use wasm_bindgen_test::*;

const LENA: &str = "dev-token-lena";

#[wasm_bindgen_test]
async fn pulled_rows_and_a_settled_push_reach_a_live_query() {
    let prefix = unique("live");
    let here = open_manual(&unique_name("live-here"), LENA).await;
    let there = open_manual(&unique_name("live-there"), LENA).await;
    synced(&here).await;
    synced(&there).await;
    let notes = here.table("notes").unwrap();
    let calls = Calls::new();
    let q = format!(
        r#"{{"where":{{"id":{{"startsWith":"{prefix}"}}}},"orderBy":"id","select":["id","text"]}}"#
    );
    let counted = Calls::new();
    let _off = live(&notes, &q, &calls);
    let _off_count = live_count(&notes, &q, &counted);
    assert_eq!(calls.wait_for(1, 2000).await, ["[]"]);
    assert_eq!(counted.wait_for(1, 2000).await, ["0"]);

    // Another device writes and pushes; this one pulls: one call, the pulled row.
    let a = format!("{prefix}-a");
    put(
        &there,
        "notes",
        json!({ "id": a, "ownerId": "lena", "text": "from there" }),
    )
    .await;
    synced(&there).await;
    synced(&here).await;
    assert_eq!(
        calls.wait_for(1, 3000).await,
        [format!(r#"[{{"id":"{a}","text":"from there"}}]"#)]
    );
    assert_eq!(counted.wait_for(1, 2000).await, ["1"]);
    // A sync that brings nothing new: no call.
    synced(&here).await;
    assert_eq!(calls.none_within(150).await, Vec::<String>::new());

    // Both edit the row; `notes` is server-wins, so this store's push is settled by taking
    // the server's row: the local edit is seen, then the server's row replaces it.
    ok(there
        .table("notes")
        .unwrap()
        .update(a.as_str().into(), js(r#"{"text":"there again"}"#)))
    .await;
    synced(&there).await;
    ok(notes.update(a.as_str().into(), js(r#"{"text":"here"}"#))).await;
    assert_eq!(
        calls.wait_for(1, 2000).await,
        [format!(r#"[{{"id":"{a}","text":"here"}}]"#)]
    );
    let r = synced(&here).await;
    assert_eq!(
        calls.wait_for(1, 3000).await,
        [format!(r#"[{{"id":"{a}","text":"there again"}}]"#)],
        "{r}"
    );
    assert_eq!(counted.take(), Vec::<String>::new(), "still one row");

    // Deleted there: gone here after the pull.
    ok(there.table("notes").unwrap().delete(a.as_str().into())).await;
    synced(&there).await;
    synced(&here).await;
    assert_eq!(calls.wait_for(1, 3000).await, ["[]"]);
    assert_eq!(counted.wait_for(1, 2000).await, ["0"]);
    finish(here).await;
    finish(there).await;
}

/// The IndexedDB reads in `b`'s page while `a` writes a row outside `city: "Paris"`
/// and `b` hears of it.
async fn reads_of_an_unrelated_tab_write(
    a: &offline_tables::OfflineStore,
    b: &offline_tables::OfflineStore,
    key: &str,
) -> u32 {
    let heard = Recorder::new(b);
    take_reads();
    let row = format!(r#"{{"id":"{key}","city":"Lyon"}}"#);
    ok(a.table("accounts").unwrap().put(js(&row))).await;
    assert_eq!(heard.wait_for(1, 2000).await.len(), 1);
    pause(50).await;
    let n = take_reads();
    heard.unsubscribe();
    n
}

#[wasm_bindgen_test]
async fn another_tabs_writes_reach_a_live_query_decided_from_the_rows_it_sent() {
    spy_reads();
    let name = unique_name("live-tabs");
    let a = open(&name, PROFILE).await;
    let b = open(&name, PROFILE).await;
    let reads_alone = reads_of_an_unrelated_tab_write(&a, &b, "u1").await;

    let calls = Calls::new();
    let _off = live(
        &b.table("accounts").unwrap(),
        r#"{"where":{"city":"Paris"},"orderBy":"id","select":["id"]}"#,
        &calls,
    );
    assert_eq!(calls.wait_for(1, 2000).await, ["[]"]);

    ok(a.table("accounts")
        .unwrap()
        .put(js(r#"{"id":"p1","city":"Paris"}"#)))
    .await;
    assert_eq!(calls.wait_for(1, 2000).await, [r#"[{"id":"p1"}]"#]);

    // Outside the filter: decided from the row the tab sent, so no read in b.
    assert_eq!(
        reads_of_an_unrelated_tab_write(&a, &b, "u2").await,
        reads_alone
    );
    assert_eq!(calls.take(), Vec::<String>::new());

    // 150 rows are more than a tab message carries: sent by key, read again, one call.
    let rows: Vec<String> = (0..150)
        .map(|i| format!(r#"{{"id":"q{i:03}","city":"Paris"}}"#))
        .collect();
    ok(a.table("accounts")
        .unwrap()
        .bulk_put(js(&format!("[{}]", rows.join(",")))))
    .await;
    let got = calls.wait_for(1, 3000).await;
    assert_eq!(got.len(), 1, "{} calls", got.len());
    assert_eq!(got[0].matches(r#""id""#).count(), 151);

    // A delete in the other tab.
    ok(a.table("accounts").unwrap().delete("p1".into())).await;
    let got = calls.wait_for(1, 2000).await;
    assert_eq!(got.len(), 1);
    assert!(!got[0].contains("p1"));
    a.close();
    b.close();
    delete(&name).await;
}
