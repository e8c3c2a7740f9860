//! The interceptor on a table with a column selection (the fixture's `visits`, user val):
//! rows read offline carry the selected columns as the server's do, and `$select`,
//! `$filter`, `$orderby`, `POST` and `PATCH` naming an unselected column get the server's
//! `400` with its words, writing nothing.

use super::*;

const VAL: &str = "dev-token-val";

#[wasm_bindgen_test]
async fn a_column_selection_is_answered_offline_as_the_server_answers_it() {
    let store = open_user(VAL).await;
    synced(&store).await;
    let steps: [(&str, &str, Option<&str>); 9] = [
        ("GET", "/api/data/visits?$orderby=id", None),
        ("GET", "/api/data/visits/'v2'", None),
        (
            "GET",
            "/api/data/visits?$select=id,notes&$filter=status eq 'open'&$orderby=id",
            None,
        ),
        ("GET", "/api/data/visits?$select=id,internalCost", None),
        ("GET", "/api/data/visits?$filter=internalCost gt 100", None),
        ("GET", "/api/data/visits?$orderby=supplierRef desc", None),
        (
            "POST",
            "/api/data/visits",
            Some(r#"{"id":"v-x","ownerId":"val","internalCost":1}"#),
        ),
        (
            "PATCH",
            "/api/data/visits/'v1'",
            Some(r#"{"status":"open","internalCost":1}"#),
        ),
        // The column is refused before the row is looked for, online and offline.
        (
            "PATCH",
            "/api/data/visits/'none'",
            Some(r#"{"supplierRef":"S"}"#),
        ),
    ];
    let mut online = Vec::new();
    for (method, path, body) in steps {
        online.push(request(VAL, method, path, body).await);
    }
    let off = install(&store, &prefix());
    let mut local = Vec::new();
    for (method, path, body) in steps {
        local.push(request(VAL, method, path, body).await);
    }
    uninstall(&off);
    for (((method, path, _), on), lo) in steps.iter().zip(&online).zip(&local) {
        assert_same(&format!("{method} {path}"), on, lo);
    }
    let statuses: Vec<u16> = online.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [200, 200, 200, 400, 400, 400, 400, 400, 400]);
    let rows = online[0].body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{}", online[0].text);
    assert!(
        !online[0].text.contains("internalCost"),
        "{}",
        online[0].text
    );
    assert_eq!(
        pending_count(&store).await,
        0,
        "the refused writes wrote nothing"
    );
    finish(store).await;
}
