//! Server-assigned keys against the reference server (protocol revision 3): a job and
//! its task created offline get temporary keys, the task pointing at the job's; one
//! sync later both carry the server's keys, locally and on the server, the task pointing
//! at the job's real key; the change event says what was renamed; a `get` of the
//! temporary key still finds the row; and a push whose answer is lost is sent again and
//! gets the same keys, with nothing applied twice. User tom.

use crate::common::faults::Faults;
use crate::common::push_spy::*;
use crate::common::server::*;
use crate::common::sync::*;
use crate::common::*;
use offline_tables::OfflineStore;
use serde_json::{json, Value};

const TOM: &str = "dev-token-tom";

async fn open_store() -> OfflineStore {
    let store = open_manual(&unique_name("keys"), TOM).await;
    synced(&store).await;
    store
}

async fn insert(store: &OfflineStore, table: &str, row: Value) -> Value {
    parse(&json(
        &ok(store.table(table).unwrap().insert(js(&row.to_string()))).await,
    ))
}

/// The server's rows of `table` matching the OData `filter`, as tom sees them.
async fn server_where(table: &str, filter: &str) -> Vec<Value> {
    let (status, body) = rest_as(
        TOM,
        "GET",
        &format!("/api/data/{table}?$filter={filter}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["value"].as_array().cloned().unwrap_or_default()
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_parent_and_child_created_offline_land_with_the_servers_keys() {
    let store = open_store().await;
    let (seen, _guard) = collect(&store, "change");
    let title = unique("pump");
    let temp = insert(&store, "jobs", json!({ "title": title, "ownerId": "tom" })).await;
    let temp_key = temp.as_str().unwrap().to_string();
    assert!(temp_key.starts_with("~tmp:"), "{temp}");
    let task = insert(
        &store,
        "tasks",
        json!({ "jobId": temp_key, "ownerId": "tom", "text": title }),
    )
    .await;
    let task_temp = task.as_str().unwrap().to_string();
    assert!(task_temp.starts_with("~tmp:"), "{task}");
    // A live query over the task: it follows the rename.
    let delivered: std::rc::Rc<std::cell::RefCell<Vec<String>>> = Default::default();
    let sink = delivered.clone();
    let listener = wasm_bindgen::closure::Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(
        move |rows: wasm_bindgen::JsValue| sink.borrow_mut().push(json(&rows)),
    );
    let q = js(&json!({ "where": { "text": title } }).to_string());
    let stop = store
        .table("tasks")
        .unwrap()
        .live(
            q,
            wasm_bindgen::JsCast::unchecked_ref::<js_sys::Function>(listener.as_ref()).clone(),
            None,
        )
        .unwrap();
    assert_eq!(
        local(&store, "jobs", &temp_key).await["title"],
        json!(title)
    );

    synced(&store).await;
    // On the server: one job with a real key, one task pointing at it.
    let jobs = server_where("jobs", &format!("title eq '{title}'")).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let real = jobs[0]["id"].as_str().unwrap().to_string();
    assert!(real.starts_with("JOB-") && real.len() == 9, "{real}");
    let tasks = server_where("tasks", &format!("text eq '{title}'")).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(
        tasks[0]["jobId"],
        json!(real),
        "the child points at the parent's real key"
    );
    let task_real = tasks[0]["id"].clone();
    assert!(task_real.is_number(), "{task_real}");

    // Locally: the same keys, the child pointing at the real key, nothing pending.
    let job = local(&store, "jobs", &real).await;
    assert_eq!(
        (&job["id"], &job["title"]),
        (&json!(real), &json!(title)),
        "{job}"
    );
    let rows = parse(&json(
        &ok(store
            .table("tasks")
            .unwrap()
            .query(Some(js(&json!({ "where": { "text": title } }).to_string()))))
        .await,
    ));
    assert_eq!(
        rows,
        json!([{ "id": task_real, "jobId": real, "ownerId": "tom", "text": title }])
    );
    assert_eq!(pending_count(&store).await, 0);
    // The live query's last result is the task as it is now, pointing at the real key.
    let mut waited = 0;
    while delivered.borrow().last().map(|l| parse(l)) != Some(rows.clone()) {
        assert!(
            waited < 3000,
            "the live query did not follow the rename: {:?}",
            delivered.borrow()
        );
        pause(50).await;
        waited += 50;
    }
    let _ = stop.call0(&wasm_bindgen::JsValue::UNDEFINED);
    // The temporary key still finds the row (an app may hold it).
    assert_eq!(local(&store, "jobs", &temp_key).await["id"], json!(real));
    // The change events said what was renamed.
    let renamed: Vec<Value> = seen
        .borrow()
        .iter()
        .filter_map(|e| parse(e).get("renamed").cloned())
        .collect();
    assert!(
        renamed.contains(&json!([{ "from": temp_key, "to": real }])),
        "{renamed:?}"
    );
    assert!(
        renamed.contains(&json!([{ "from": task_temp, "to": task_real }])),
        "{renamed:?}"
    );
    finish(store).await;
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_child_written_after_its_parents_push_points_at_the_real_key() {
    let store = open_store().await;
    let title = unique("valve");
    let temp = insert(&store, "jobs", json!({ "title": title, "ownerId": "tom" })).await;
    synced(&store).await;
    let real = server_where("jobs", &format!("title eq '{title}'")).await[0]["id"].clone();
    // The app still holds the temporary key and writes a child with it.
    insert(
        &store,
        "tasks",
        json!({ "jobId": temp, "ownerId": "tom", "text": title }),
    )
    .await;
    synced(&store).await;
    let tasks = server_where("tasks", &format!("text eq '{title}'")).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0]["jobId"], real,
        "the server mapped the temporary key"
    );
    let rows = parse(&json(
        &ok(store
            .table("tasks")
            .unwrap()
            .query(Some(js(&json!({ "where": { "text": title } }).to_string()))))
        .await,
    ));
    assert_eq!(
        rows[0]["jobId"], real,
        "and the pull brought the real key here"
    );
    finish(store).await;
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_push_whose_answer_is_lost_gets_the_same_key_again() {
    let faults = Faults::begin("tom").await;
    let store = open_store().await;
    let title = unique("lost");
    insert(&store, "jobs", json!({ "title": title, "ownerId": "tom" })).await;
    faults
        // Three: Chromium sends a request dropped on a kept-alive connection again by itself,
        // up to twice (see `dropped_until_failed` in faults.rs), and each is answered from the
        // outcome stored the first time.
        .add(json!([{ "path": "/sync/push", "method": "POST", "times": 3, "fault": { "kind": "dropAfterCommit" } }]))
        .await;
    spy_reset();
    let first = sync(&store).await;
    assert_ne!(first["result"], "completed", "{first}");
    faults.clear().await;
    let jobs = server_where("jobs", &format!("title eq '{title}'")).await;
    assert_eq!(
        jobs.len(),
        1,
        "applied once, though its answer was lost: {jobs:?}"
    );
    synced(&store).await;
    let sent = sent_mutations();
    assert!(
        sent.len() >= 2 && sent.iter().all(|m| m["id"] == sent[0]["id"]),
        "the same mutation again: {sent:?}"
    );
    let again = server_where("jobs", &format!("title eq '{title}'")).await;
    assert_eq!(again, jobs, "nothing applied twice, same key");
    let real = jobs[0]["id"].as_str().unwrap();
    assert_eq!(local(&store, "jobs", real).await["title"], json!(title));
    assert_eq!(pending_count(&store).await, 0);
    finish(store).await;
}

#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_key_of_ones_own_on_a_server_keyed_table_is_refused() {
    let store = open_store().await;
    let before = snapshot(&store).await;
    let row = js(r#"{"id":"JOB-99999","title":"mine","ownerId":"tom"}"#);
    assert_eq!(
        code_of(store.table("jobs").unwrap().insert(row)).await,
        "invalid_argument"
    );
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}
