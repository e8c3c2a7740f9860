//! Dropped connections: a push that commits on the server and never answers (resent with the same mutation id, applied once, a later write landing after it) and a pull whose connection closes.

use super::*;

#[wasm_bindgen_test]
async fn a_push_whose_answer_is_lost_is_resent_and_applied_once() {
    // Nothing lost, and nothing doubled, when the server commits a push but the answer
    // never arrives: the sync fails and the write stays pending (the client cannot know
    // it landed), although the server holds it; the next sync resends the same mutation
    // (same id, same row) and the server replays its answer instead of writing again: the
    // row is on the server once, at the version the lost push created (on a client-wins
    // table a second write would have made a new version), the device is based on that
    // version, and nothing is pending.
    let (faults, store) = start("grace", None, TIMEOUT_MS).await;
    let key = unique("lost");
    let row = json!({ "id": key, "ownerId": "grace", "text": "once" });
    put(&store, "drafts", row.clone()).await;

    spy_reset();
    let (_, drops) = dropped_until_failed(&faults, &store, "/sync/push", "dropAfterCommit").await;
    assert_eq!(pending_count(&store).await, 1, "no answer: still pending");
    let (committed, on_server) = server_row(GRACE, "drafts", &key)
        .await
        .expect("the server committed the push");
    assert_eq!(on_server, row);

    synced(&store).await;
    assert_eq!(pending_count(&store).await, 0);
    console_log!("lost answer: the drop took {drops} request(s) before the page saw it");
    assert_eq!(
        server_rows(GRACE, "drafts", &key).await,
        std::slice::from_ref(&row),
        "once"
    );
    let (version, on_server) = server_row(GRACE, "drafts", &key).await.unwrap();
    assert_eq!(on_server, row);
    assert_eq!(version, committed, "the resend wrote nothing");
    assert_eq!(local(&store, "drafts", &key).await, row);
    let m = meta(&store, "drafts", &key).await;
    assert_eq!(
        (&m["pending"], m["version"].as_str()),
        (&json!(false), Some(committed.as_str())),
        "{m}"
    );

    let sent = pushes_of(&key);
    let ids: BTreeSet<u64> = sent.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids.len(), 1, "resent under the same mutation id: {sent:?}");
    assert!(sent.len() >= 2, "the page sent it again: {sent:?}");
    assert!(sent.iter().all(|(_, r, _)| *r == row), "{sent:?}");
    let answers = answers_for(*ids.first().unwrap());
    assert_eq!(
        answers,
        [json!({ "status": "applied", "id": ids.first().unwrap(), "version": committed })],
        "the replayed answer"
    );
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn a_write_made_while_a_push_answer_was_lost_lands_after_the_replay() {
    // Nothing lost, for a second write to a row whose push committed without an answer:
    // the replayed mutation keeps its id and its first row (it means what it meant), the
    // write made after the lost answer goes out as one new mutation against the version
    // the first push created, and the server ends with the device's final row, written
    // twice in all (two versions, no more); nothing pending, no conflict, no sync error.
    let (faults, store) = start("heidi", None, TIMEOUT_MS).await;
    let key = unique("replay");
    let first = json!({ "id": key, "ownerId": "heidi", "text": "first", "n": 1 });
    put(&store, "drafts", first.clone()).await;
    spy_reset();
    dropped_until_failed(&faults, &store, "/sync/push", "dropAfterCommit").await;
    let (v1, on_server) = server_row(HEIDI, "drafts", &key).await.expect("committed");
    assert_eq!(on_server, first);

    ok(store
        .table("drafts")
        .unwrap()
        .update(key.clone().into(), js(r#"{"text":"second","n":2}"#)))
    .await;
    let last = json!({ "id": key, "ownerId": "heidi", "text": "second", "n": 2 });
    assert_eq!(local(&store, "drafts", &key).await, last);
    assert_eq!(pending_count(&store).await, 1);

    synced(&store).await;
    assert_eq!(pending_count(&store).await, 0);
    let (v2, on_server) = server_row(HEIDI, "drafts", &key).await.unwrap();
    assert_eq!(on_server, last, "the server holds the final row");
    assert_eq!(local(&store, "drafts", &key).await, last);
    assert_eq!(server_rows(HEIDI, "drafts", &key).await.len(), 1);
    let m = meta(&store, "drafts", &key).await;
    assert_eq!(
        (&m["pending"], m["version"].as_str()),
        (&json!(false), Some(v2.as_str())),
        "{m}"
    );
    assert!(list(store.conflicts()).await.is_empty());
    assert!(list(store.sync_errors()).await.is_empty());

    // What went out: the frozen mutation (resent as is), then one new one.
    let sent = pushes_of(&key);
    let by_id: BTreeMap<u64, Vec<(Value, Value)>> =
        sent.iter().fold(BTreeMap::new(), |mut acc, (id, r, b)| {
            acc.entry(*id).or_default().push((r.clone(), b.clone()));
            acc
        });
    let ids: Vec<u64> = by_id.keys().copied().collect();
    assert_eq!(ids.len(), 2, "two mutations in all: {sent:?}");
    let (old, new) = (ids[0], ids[1]);
    assert!(
        by_id[&old].len() >= 2 && by_id[&old].iter().all(|(r, b)| *r == first && b.is_null()),
        "the lost mutation was resent unchanged: {sent:?}"
    );
    assert_eq!(
        by_id[&new],
        [(last.clone(), json!(v1))],
        "the later write, once, against the first push's version: {sent:?}"
    );
    assert_eq!(
        answers_for(old),
        [json!({ "status": "applied", "id": old, "version": v1 })],
        "replayed, not applied again"
    );
    assert_eq!(
        answers_for(new),
        [json!({ "status": "applied", "id": new, "version": v2 })]
    );
    assert!(faults.fired().await.is_empty(), "no fault after the drop's");
    end(faults, store).await;
}

#[wasm_bindgen_test]
async fn a_pull_whose_connection_closes_fails_and_the_next_sync_completes() {
    // Nothing lost, for a connection dropped before any answer to a pull: the sync fails
    // (state "error", the server unreachable), the push before it did land, the server's
    // new row is not on the device yet and the checkpoint has not moved; the next sync
    // brings it, and every row is once on the server and on the device.
    let (faults, store) = start("heidi", None, TIMEOUT_MS).await;
    let prefix = unique("closed");
    let mine = device_note(&prefix, "heidi");
    let theirs = server_note(&prefix, "heidi");
    put(&store, "notes", mine.clone()).await;
    server_insert(HEIDI, "notes", theirs.clone()).await;
    let cp = checkpoint(&store).await;
    let (r, _) = dropped_until_failed(&faults, &store, "/sync/pull", "close").await;
    assert_eq!(r["pushed"], 1, "{r}");
    assert_eq!(pending_count(&store).await, 0);
    assert_eq!(
        local(&store, "notes", theirs["id"].as_str().unwrap()).await,
        Value::Null
    );
    assert_eq!(checkpoint(&store).await, cp);

    synced(&store).await;
    assert_eq!(
        local(&store, "notes", theirs["id"].as_str().unwrap()).await,
        theirs
    );
    assert!(checkpoint(&store).await > cp);
    assert_eq!(
        server_rows(HEIDI, "notes", &prefix).await,
        [mine.clone(), theirs],
        "each row once"
    );
    assert_eq!(
        local(&store, "notes", mine["id"].as_str().unwrap()).await,
        mine
    );
    assert_eq!(pending_count(&store).await, 0);
    end(faults, store).await;
}
