//! Per-table checkpoints (protocol §4, revision 2), on every backend: a pull of some
//! tables brings those tables' changes only, each from its own checkpoint; the answer
//! gives each pulled table's checkpoint; a table's start over forgets only that table; the
//! resync horizon counts every table's checkpoint; bad requests are refused; and a pull
//! without `checkpoints` is answered as before.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Pulls `tables` (None: all of `cps`) with per-table checkpoints `cps`, page after page,
/// updating `cps`; returns the changes as "kind table key" and the pages' answers.
async fn pull_tables(
    ctx: &Ctx,
    token: &str,
    client: &str,
    cps: &mut BTreeMap<String, Option<String>>,
    tables: Option<&[&str]>,
    limit: Option<u32>,
) -> (Vec<String>, Vec<Value>) {
    let mut changes = Vec::new();
    let mut pages = Vec::new();
    loop {
        let mut body = pull_body(client);
        body["checkpoints"] = json!(cps);
        if let Some(t) = tables {
            body["tables"] = json!(t);
        }
        if let Some(l) = limit {
            body["limit"] = json!(l);
        }
        let r = ctx.post_pull(token, body).await;
        assert_eq!(r.status, 200, "{:?}: {}", ctx.kind, r.text);
        let page = r.body;
        changes.extend(describe_all(page["changes"].as_array().unwrap()));
        let given = page["checkpoints"]
            .as_object()
            .expect("per-table checkpoints")
            .clone();
        let pulled: Vec<String> = match tables {
            Some(t) => t.iter().map(|s| s.to_string()).collect(),
            None => cps.keys().cloned().collect(),
        };
        let mut names: Vec<&String> = given.keys().collect();
        names.sort();
        let mut want: Vec<&String> = pulled.iter().collect();
        want.sort();
        assert_eq!(names, want, "one checkpoint per table pulled: {page}");
        for (t, c) in given {
            cps.insert(t, Some(c.as_str().unwrap().to_string()));
        }
        let more = page["hasMore"] == json!(true);
        pages.push(page);
        if !more {
            return (changes, pages);
        }
    }
}

fn all_tables(ctx: &Ctx) -> BTreeMap<String, Option<String>> {
    ctx.profile
        .tables
        .keys()
        .map(|t| (t.clone(), None))
        .collect()
}

fn tables_of(changes: &[String]) -> Vec<String> {
    let mut t: Vec<String> = changes
        .iter()
        .map(|c| c.split(' ').nth(1).unwrap().to_string())
        .collect();
    t.sort();
    t.dedup();
    t
}

#[tokio::test]
async fn a_pull_of_some_tables_brings_those_tables_only_each_from_its_checkpoint() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let mut cps = all_tables(&ctx);
        // First notes alone: only notes, and only notes' checkpoint moves.
        let (changes, _) = pull_tables(&ctx, ALICE, "c1", &mut cps, Some(&["notes"]), None).await;
        assert_eq!(tables_of(&changes), strs(&["notes"]), "{changes:?}");
        assert!(
            cps["notes"].is_some() && cps["accounts"].is_none(),
            "{cps:?}"
        );
        // Then everything: every table's rows, notes' not again.
        let (changes, _) = pull_tables(&ctx, ALICE, "c1", &mut cps, None, Some(3)).await;
        assert!(
            !changes.iter().any(|c| c.contains(" notes ")),
            "{changes:?}"
        );
        assert_eq!(
            tables_of(&changes),
            strs(&["accounts", "drafts", "products", "workorders"])
        );
        // The same rows as one pull of everything from the start, each once.
        let mut fresh = Replica::new(ALICE, "c2");
        let everything = fresh.sync(&ctx, None).await;
        let (_, first) = {
            let mut only_notes = all_tables(&ctx);
            pull_tables(&ctx, ALICE, "c3", &mut only_notes, Some(&["notes"]), None).await
        };
        let notes = describe_all(first[0]["changes"].as_array().unwrap());
        let mut got: Vec<String> = changes.into_iter().chain(notes).collect();
        got.sort();
        let mut want = describe_all(&everything);
        want.sort();
        assert_eq!(got, want);

        // A change to notes and one to accounts: a pull of accounts brings the account
        // only; notes' checkpoint stays until notes are pulled, which brings the note.
        let top = ctx.counter().await;
        ctx.patch(ALICE, "/api/data/notes/n0", json!({ "text": "changed" }))
            .await;
        ctx.patch(ALICE, "/api/data/accounts/a0", json!({ "name": "changed" }))
            .await;
        let notes_before = cps["notes"].clone();
        let (changes, pages) =
            pull_tables(&ctx, ALICE, "c1", &mut cps, Some(&["accounts"]), None).await;
        assert_eq!(changes, strs(&["upsert accounts a0"]));
        assert!(checkpoint_num(&pages[0]["checkpoints"]["accounts"]) > top as u64);
        assert_eq!(cps["notes"], notes_before);
        let (changes, _) = pull_tables(&ctx, ALICE, "c1", &mut cps, Some(&["notes"]), None).await;
        assert_eq!(changes, strs(&["upsert notes n0"]));
    })
    .await;
}

#[tokio::test]
async fn paging_across_tables_keeps_each_tables_bound() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        // accounts already pulled to the top; workorders from the start, a page of one at
        // a time: accounts' checkpoint never goes below where it was.
        let mut cps = all_tables(&ctx);
        pull_tables(&ctx, ALICE, "c1", &mut cps, Some(&["accounts"]), None).await;
        let accounts = cps["accounts"].clone().unwrap();
        let (changes, pages) = pull_tables(
            &ctx,
            ALICE,
            "c1",
            &mut cps,
            Some(&["accounts", "workorders"]),
            Some(1),
        )
        .await;
        assert_eq!(tables_of(&changes), strs(&["workorders"]), "{changes:?}");
        assert!(pages.len() > 1, "more than one page");
        for p in &pages {
            let a = checkpoint_num(&p["checkpoints"]["accounts"]);
            assert!(a >= checkpoint_num(&json!(accounts)), "{p}");
            // Every change is at or below its table's bound.
            for c in p["changes"].as_array().unwrap() {
                let t = c["table"].as_str().unwrap();
                assert!(checkpoint_num(&c["version"]) <= checkpoint_num(&p["checkpoints"][t]));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_tables_start_over_forgets_that_table_only() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let mut cps = all_tables(&ctx);
        pull_tables(&ctx, ALICE, "c1", &mut cps, None, None).await;
        // accounts start over: every account again, nothing else.
        cps.insert("accounts".into(), None);
        let (changes, _) =
            pull_tables(&ctx, ALICE, "c1", &mut cps, Some(&["accounts"]), None).await;
        assert_eq!(
            changes,
            strs(&[
                "upsert accounts a0",
                "upsert accounts a2",
                "upsert accounts a4"
            ])
        );
        // Work orders are still in the client's view: an account leaving alice's scope
        // still takes its work orders out.
        let mut a0 = ctx.server_rows("accounts").await["a0"].1.clone();
        a0["ownerId"] = json!("bob");
        ctx.admin_put("accounts", a0).await;
        let (changes, _) = pull_tables(&ctx, ALICE, "c1", &mut cps, None, None).await;
        assert!(
            changes.iter().any(|c| c.starts_with("remove accounts a0")),
            "{changes:?}"
        );
        assert!(
            changes.iter().any(|c| c.starts_with("remove workorders")),
            "the account's work orders leave with it: {changes:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn every_tables_checkpoint_counts_for_the_resync_horizon() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let mut cps = all_tables(&ctx);
        pull_tables(&ctx, ALICE, "c1", &mut cps, None, None).await;
        let r = ctx.delete(ALICE, "/api/data/accounts/a4").await;
        assert_eq!(r.status, 204, "{}", r.text);
        // notes pulled again after the deletion; accounts not.
        pull_tables(&ctx, ALICE, "c1", &mut cps, Some(&["notes"]), None).await;
        ctx.advance(31 * DAY);
        assert_eq!(ctx.db.purge_tombstones(NOW + DAY).await.unwrap(), 1);
        // A pull of notes alone resyncs: accounts' checkpoint is below the horizon.
        let mut body = pull_body("c1");
        body["checkpoints"] = json!(cps);
        body["tables"] = json!(["notes"]);
        let r = ctx.post_pull(ALICE, body).await;
        assert_eq!(r.body["resync"], json!(true), "{}", r.text);
        assert_eq!(r.body["changes"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn bad_per_table_requests_are_refused() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let cases = [
            (
                json!({ "notes": null }),
                json!(["accounts"]),
                "not in checkpoints",
            ),
            (json!({ "nope": null }), json!(["nope"]), "unknown table"),
            (json!({ "notes": "x1" }), json!(["notes"]), "bad checkpoint"),
            (json!({ "notes": null }), json!(["notes", "notes"]), "twice"),
        ];
        for (cps, tables, what) in cases {
            let mut body = pull_body("c1");
            body["checkpoints"] = cps;
            body["tables"] = tables;
            let r = ctx.post_pull(ALICE, body).await;
            assert!(
                r.status == 400 || r.status == 404,
                "{what}: {} {}",
                r.status,
                r.text
            );
            assert!(!r.code().is_empty(), "{what}: a stable code: {}", r.text);
        }
        // Without `checkpoints`, no `checkpoints` in the answer: as older servers answer.
        let page = ctx.pull(ALICE, "c2", None, None).await;
        assert!(page.get("checkpoints").is_none(), "{page}");
    })
    .await;
}
