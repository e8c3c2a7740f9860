//! Writes through fetch: POST, PATCH, PUT and DELETE answered offline as the server answers them online, and what they queue reaching the server exactly once.

use super::*;

/// One step of the write comparison: `{K}` becomes the side's key prefix and `{N}`
/// its numeric key, so the online and the local sequence write different rows.
struct Step {
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
}

const fn step(method: &'static str, path: &'static str, body: Option<&'static str>) -> Step {
    Step { method, path, body }
}

const WRITES: &[Step] = &[
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-1","name":"One","ownerId":"lee","city":"Lyon"}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-1","name":"Again","ownerId":"lee"}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"name":"no key","ownerId":"lee"}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":null,"ownerId":"lee"}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":true,"ownerId":"lee"}"#),
    ),
    step("POST", "/api/data/accounts", Some("[1,2]")),
    step("POST", "/api/data/accounts", Some("{bad")),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-9"} trailing"#),
    ),
    step("POST", "/api/data/accounts", Some("")),
    step("POST", "/api/data/accounts", None),
    step("POST", "/api/data/products", Some(r#"{"id":"{K}-p"}"#)),
    step("POST", "/api/data/products", Some("{bad")),
    step("POST", "/api/data/ghosts", Some(r#"{"id":1}"#)),
    step("POST", "/api/data/ghosts", Some("{bad")),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}'2 /é","name":"Odd","ownerId":"lee","n":1.5}"#),
    ),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-x","name":"Doomed","ownerId":"lee"}"#),
    ),
    step(
        "POST",
        "/api/data/workorders",
        Some(r#"{"id":{N},"accountId":"{K}-1","status":"open","modifiedOn":"{NOW}"}"#),
    ),
    step(
        "PATCH",
        "/api/data/accounts/{K}-1",
        Some(r#"{"city":"Nice","phone":null}"#),
    ),
    step(
        "PATCH",
        "/api/data/accounts/'{K}-1'",
        Some(r#"{"id":"{K}-1","name":"Uno"}"#),
    ),
    step(
        "PATCH",
        "/api/data/accounts/{K}-1",
        Some(r#"{"id":"{K}-other"}"#),
    ),
    step("PATCH", "/api/data/accounts/{K}-1", Some(r#"{"id":7}"#)),
    step("PATCH", "/api/data/accounts/{K}-1", Some("[1]")),
    step("PATCH", "/api/data/accounts/{K}-1", Some("nope")),
    step(
        "PATCH",
        "/api/data/accounts/{K}-missing",
        Some(r#"{"a":1}"#),
    ),
    step(
        "PATCH",
        "/api/data/accounts/{K}-missing",
        Some(r#"{"id":"x"}"#),
    ),
    step("PATCH", "/api/data/products/p1", Some(r#"{"price":1}"#)),
    step("PATCH", "/api/data/ghosts/x", Some("{}")),
    step(
        "PATCH",
        "/api/data/workorders/{N}",
        Some(r#"{"status":"done","id":{N}}"#),
    ),
    step(
        "PATCH",
        "/api/data/workorders/'{N}'",
        Some(r#"{"status":"x"}"#),
    ),
    step("DELETE", "/api/data/accounts/{K}-x", None),
    step("DELETE", "/api/data/accounts/{K}-x", None),
    step("DELETE", "/api/data/products/p1", None),
    step("DELETE", "/api/data/ghosts/x", None),
    step("GET", "/api/data/accounts/{K}-x", None),
    step(
        "POST",
        "/api/data/accounts",
        Some(r#"{"id":"{K}-x","name":"Back","ownerId":"lee"}"#),
    ),
    step("GET", "/api/data/accounts/{K}-x", None),
    step("GET", "/api/data/accounts/{K}-1", None),
    step("GET", "/api/data/workorders/{N}", None),
    step(
        "GET",
        "/api/data/accounts?$filter=startswith(id,'{K}')&$orderby=id&$count=true",
        None,
    ),
];

fn fill(text: &str, k: &str, n: u64, now: &str) -> String {
    text.replace("{K}", k)
        .replace("{N}", &n.to_string())
        .replace("{NOW}", now)
}

async fn run_writes(k: &str, n: u64, now: &str) -> Vec<Answer> {
    let mut out = Vec::new();
    for s in WRITES {
        let path = fill(s.path, k, n, now);
        let body = s.body.map(|b| fill(b, k, n, now));
        out.push(request(LEE, s.method, &path, body.as_deref()).await);
    }
    out
}

#[wasm_bindgen_test]
async fn writes_answer_offline_as_the_server_answers_online() {
    // No "-" in the keys: Location headers carry them percent-encoded (%2D), and the
    // answers are compared with the key replaced by {K}.
    let t = format!("l{}", unique_number());
    let (on_k, lo_k) = (format!("on{t}"), format!("lo{t}"));
    let (on_n, lo_n) = (unique_number(), unique_number());
    let now = iso_days_ago(0.0);
    let online = run_writes(&on_k, on_n, &now).await;
    let store = open_user(LEE).await;
    synced(&store).await;
    let off = install(&store, &prefix());
    let local = run_writes(&lo_k, lo_n, &now).await;
    uninstall(&off);
    // The local rows, read through the store, before anything is pushed.
    let pending: Vec<Value> = serde_json::from_str(&pending_json(&store).await).unwrap();
    for ((s, on), lo) in WRITES.iter().zip(&online).zip(&local) {
        let what = format!("{} {} {}", s.method, s.path, s.body.unwrap_or(""));
        let as_online = |text: &str| {
            text.replace(&lo_k, &on_k)
                .replace(&lo_n.to_string(), &on_n.to_string())
        };
        let mut lo = lo.clone();
        lo.text = as_online(&lo.text);
        lo.body = serde_json::from_str(&lo.text).unwrap_or(lo.body);
        lo.location = lo.location.as_deref().map(as_online);
        assert_same(&what, on, &lo);
        // Written rows are pending: no version yet, so no ETag (the server's is new).
        if ["POST", "PATCH"].contains(&s.method) && on.status < 300 {
            assert!(
                on.etag.is_some() && lo.etag.is_none(),
                "{what}: ETags {:?} {:?}",
                on.etag,
                lo.etag
            );
        }
    }
    let statuses: Vec<u16> = local.iter().map(|a| a.status).collect();
    for s in [200, 201, 204, 400, 403, 404, 409] {
        assert!(statuses.contains(&s), "no {s} among {statuses:?}");
    }
    // Every accepted write is in the outbox, coalesced per row: four new rows.
    let keys: Vec<Value> = pending.iter().map(|p| p["key"].clone()).collect();
    assert_eq!(
        keys,
        [
            json!(format!("{lo_k}-1")),
            json!(format!("{lo_k}'2 /é")),
            json!(format!("{lo_k}-x")),
            json!(lo_n)
        ],
        "{pending:?}"
    );
    assert!(pending.iter().all(|p| p["op"] == "insert"), "{pending:?}");

    // Pushed once, the server holds what the server's own sequence produced.
    let r = synced(&store).await;
    assert_eq!(r["pushed"], 4, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(pending_count(&store).await, 0);
    let list = |k: &str| {
        format!("/api/data/accounts?$filter=startswith(id,'{k}')&$orderby=id&$count=true")
    };
    let on_rows = request(LEE, "GET", &list(&on_k), None).await;
    let lo_rows = request(LEE, "GET", &list(&lo_k), None).await;
    assert_eq!(lo_rows.status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&lo_rows.text.replace(&lo_k, &on_k)).unwrap(),
        on_rows.body,
        "the pushed rows are the rows the server's own REST writes made"
    );
    assert_eq!(on_rows.body["count"], 3);
    let wo = |n: u64| format!("/api/data/workorders/{n}");
    let (on_wo, lo_wo) = (
        request(LEE, "GET", &wo(on_n), None).await,
        request(LEE, "GET", &wo(lo_n), None).await,
    );
    assert_eq!(lo_wo.status, 200, "{}", lo_wo.text);
    assert_eq!(
        serde_json::from_str::<Value>(
            &lo_wo
                .text
                .replace(&lo_k, &on_k)
                .replace(&lo_n.to_string(), &on_n.to_string())
        )
        .unwrap(),
        on_wo.body
    );
    // Nothing more to push, nothing refused, nothing in conflict.
    let again = synced(&store).await;
    assert_eq!(again["pushed"], 0, "{again}");
    assert_eq!(ok_json(store.sync_errors()).await, "[]");
    assert_eq!(ok_json(store.conflicts()).await, "[]");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn updates_and_deletes_through_fetch_sync_exactly_once() {
    let k = unique("lee-u");
    let now = iso_days_ago(0.0);
    for id in ["a", "b", "c"] {
        let row = json!({ "id": format!("{k}-{id}"), "name": id, "ownerId": "lee" });
        let r = request(LEE, "POST", "/api/data/accounts", Some(&row.to_string())).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let store = open_user(LEE).await;
    synced(&store).await;
    let recorder = Recorder::new(&store);
    let off = install(&store, &prefix());
    let a = format!("/api/data/accounts/{k}-a");
    status_field_becomes(&store, "pending", 0.into()).await;
    let r = request(LEE, "PATCH", &a, Some(r#"{"name":"A2","phone":"1"}"#)).await;
    assert_eq!((r.status, r.local), (200, true), "{}", r.text);
    // Read-your-writes on the status: the answered write is counted already.
    let status: Value = serde_json::from_str(&json(&store.status().unwrap())).unwrap();
    assert_eq!(status["pending"], 1, "after an intercepted PATCH: {status}");
    let r = request(LEE, "DELETE", &format!("/api/data/accounts/{k}-b"), None).await;
    assert_eq!((r.status, r.local, r.text.as_str()), (204, true, ""));
    assert_eq!(r.content_type, None);
    let body = json!({ "id": format!("{k}-d"), "name": "d", "ownerId": "lee", "modifiedOn": now });
    let r = request(LEE, "POST", "/api/data/accounts", Some(&body.to_string())).await;
    assert_eq!((r.status, r.local), (201, true), "{}", r.text);
    uninstall(&off);
    // Each write is a local change: an event, and a pending change of its kind.
    let events = recorder.wait_for(3, 1000).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        events.iter().all(|e| e.contains(r#""source":"local""#)),
        "{events:?}"
    );
    let pending: Vec<Value> = serde_json::from_str(&pending_json(&store).await).unwrap();
    let ops: Vec<(Value, Value)> = pending
        .iter()
        .map(|p| (p["key"].clone(), p["op"].clone()))
        .collect();
    assert_eq!(
        ops,
        [
            (json!(format!("{k}-a")), json!("update")),
            (json!(format!("{k}-b")), json!("delete")),
            (json!(format!("{k}-d")), json!("insert"))
        ]
    );
    // Not on the server yet.
    assert_eq!(request(LEE, "GET", &a, None).await.body["name"], "a");
    let r = synced(&store).await;
    assert_eq!(
        (r["pushed"].clone(), r["errors"].clone()),
        (json!(3), json!(0)),
        "{r}"
    );
    let on = request(LEE, "GET", &a, None).await;
    assert_eq!(
        on.body,
        json!({ "id": format!("{k}-a"), "name": "A2", "ownerId": "lee", "phone": "1" })
    );
    assert_eq!(
        request(LEE, "GET", &format!("/api/data/accounts/{k}-b"), None)
            .await
            .status,
        404
    );
    let listed = request(
        LEE,
        "GET",
        &format!("/api/data/accounts?$filter=startswith(id,'{k}')&$select=id&$count=true"),
        None,
    )
    .await;
    assert_eq!(
        listed.body,
        json!({ "value": [{ "id": format!("{k}-a") }, { "id": format!("{k}-c") }, { "id": format!("{k}-d") }], "count": 3, "@odata.count": 3 }),
        "each change took effect once"
    );
    assert_eq!(synced(&store).await["pushed"], 0);

    // ETags: a synced row reads with the version the store knows it at. Written last and
    // then synced, the row's version is exactly the server's.
    let off = install(&store, &prefix());
    let r = request(LEE, "PATCH", &a, Some(r#"{"name":"A3"}"#)).await;
    assert_eq!(r.etag, None, "a pending row has no known version");
    let pending_read = request(LEE, "GET", &a, None).await;
    assert_eq!(
        (pending_read.status, pending_read.etag.clone()),
        (200, None)
    );
    uninstall(&off);
    synced(&store).await;
    let on = request(LEE, "GET", &a, None).await;
    let off = install(&store, &prefix());
    let lo = request(LEE, "GET", &a, None).await;
    uninstall(&off);
    assert_same("GET after sync", &on, &lo);
    assert_eq!(
        lo.etag, on.etag,
        "the last change's version is known exactly"
    );
    let meta: Value = serde_json::from_str(
        &ok_json(
            store
                .table("accounts")
                .unwrap()
                .meta(format!("{k}-a").into()),
        )
        .await,
    )
    .unwrap();
    assert_eq!(
        lo.etag,
        Some(format!("\"{}\"", meta["version"].as_str().unwrap()))
    );
    finish(store).await;
}
