//! Reads: the interceptor's answers to GETs (rows, filters, order, paging, counts, errors) equal the server's for the same user, offline after a sync.

use super::*;

/// The rows kim owns for the read comparisons: ties, nulls, missing columns, mixed
/// types, non-ASCII text, keys with a slash and a quote, numeric keys. (The server
/// refuses rows outside the caller's scope, so out-of-scope reads use alice's rows.)
async fn seed_kim(t: &str, n1: u64, n2: u64) {
    let now = iso_days_ago(0.0);
    let accounts = [
        json!({ "id": format!("{t}-a1"), "name": "Zed", "city": "Lyon", "rating": 3, "active": true, "ownerId": "kim", "tags": ["x"] }),
        json!({ "id": format!("{t}-a2"), "name": "alpha", "city": "Paris", "rating": 3.5, "active": false, "ownerId": "kim" }),
        json!({ "id": format!("{t}-a3"), "name": "Émile", "city": null, "rating": 10, "ownerId": "kim" }),
        json!({ "id": format!("{t}-a4"), "name": "O'Brien", "city": "Lyon", "rating": "3", "ownerId": "kim" }),
        json!({ "id": format!("{t}-a5"), "name": "😀 smile", "ownerId": "kim" }),
        json!({ "id": format!("{t}-a6"), "name": "ｚ wide", "city": "Lyon", "rating": -1, "ownerId": "kim", "nested": { "a": 1 } }),
        json!({ "id": format!("{t}/a7"), "name": "slash", "city": "Paris", "rating": 3, "ownerId": "kim" }),
        json!({ "id": format!("{t}'a8"), "name": "quote", "city": "Nice", "rating": 0, "ownerId": "kim" }),
        json!({ "id": n1, "name": "number", "city": "Nice", "rating": 3, "ownerId": "kim" }),
    ];
    for a in accounts {
        let r = request(KIM, "POST", "/api/data/accounts", Some(&a.to_string())).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let workorders = [
        json!({ "id": n2, "accountId": format!("{t}-a1"), "status": "open", "priority": 2, "modifiedOn": now }),
        json!({ "id": n2.to_string(), "accountId": format!("{t}-a2"), "status": "closed", "priority": 1, "modifiedOn": now }),
        json!({ "id": format!("{t}-w1"), "accountId": format!("{t}-a1"), "status": "open", "priority": 1, "modifiedOn": now }),
    ];
    for w in workorders {
        let r = request(KIM, "POST", "/api/data/workorders", Some(&w.to_string())).await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
}

/// Reads: collections with each OData option and their combinations, single rows by
/// every kind of key, and the errors.
fn read_paths(t: &str, n1: u64, n2: u64) -> Vec<String> {
    let a = "/api/data/accounts";
    let mine = format!("startswith(id,'{t}')");
    let mut paths: Vec<String> = [
        "",
        "?$count=true",
        "?$count=false",
        "?$filter=city eq 'Lyon'",
        "?$filter=city eq null",
        "?$filter=city ne 'Lyon'",
        "?$filter=rating gt 3",
        "?$filter=rating ge 3 and rating lt 10",
        "?$filter=rating eq '3'",
        "?$filter=rating in (3, '3', 10)",
        "?$filter=startswith(name,'O''B')",
        "?$filter=contains(name,'e') or active eq true",
        "?$filter=not (city eq 'Lyon')",
        "?$filter=(city eq 'Paris' or city eq 'Nice') and rating le 3",
        "?$filter=nested eq null",
        "?$filter=name gt 'a'",
        "?$filter=city+eq+'Lyon'",
        "?%24filter=city%20eq%20'Nice'",
        "?$filter=ownerId eq 'kim'&$orderby=city",
        "?$orderby=city",
        "?$orderby=city desc",
        "?$orderby=rating desc,name",
        "?$orderby=id desc",
        "?$orderby=name",
        "?$orderby=active,city desc",
        "?$orderby=city,rating desc&$top=3&$skip=1",
        "?$top=2",
        "?$skip=3",
        "?$top=0",
        "?$skip=100000",
        "?$top=0&$count=true",
        "?$skip=2&$top=2&$count=true",
        "?$orderby=city&$skip=100000&$count=true",
        "?$select=name,city",
        "?$select=id",
        "?$select=missing",
        "?$select=city&$filter=city eq 'Lyon'&$orderby=id desc",
        "?cache=123&$top=1",
        // Errors: the core parser's messages, with positions.
        "?$filter=city equals 'x'",
        "?$filter=city eq",
        "?$filter=(city eq 'x'",
        "?$orderby=city sideways",
        "?$top=-1",
        "?$skip=1.5",
        "?$count=maybe",
        "?$expand=x",
        "?$top=1&$top=2",
        "?$select=1bad",
    ]
    .iter()
    .map(|q| format!("{a}{q}"))
    .collect();
    paths.extend([
        format!("{a}?$filter={mine}&$orderby=name"),
        format!(
            "{a}?$filter={mine}&$orderby=city desc,name&$top=3&$skip=1&$select=id,city&$count=true"
        ),
        format!("{a}?$filter={mine} and city ne null&$orderby=city,id desc&$count=true"),
        format!("{a}?$filter=name eq 'O''Brien' and {mine}"),
        "/api/data/workorders".into(),
        "/api/data/workorders?$orderby=priority desc,status&$count=true".into(),
        format!("/api/data/workorders?$filter=accountId eq '{t}-a1'&$orderby=priority"),
        "/api/data/workorders?$filter=status in ('open','closed')&$select=id,status&$count=true"
            .into(),
        "/api/data/products?$orderby=price desc&$top=5&$count=true".into(),
        "/api/data/products?$filter=price ge 12&$select=name".into(),
        "/api/data/ghosts".into(),
        "/api/data/ghosts?$filter=bad bad".into(),
        "/api/data/%FF".into(),
        // Single rows.
        format!("{a}/{t}-a1"),
        format!("{a}/'{t}-a1'"),
        format!("{a}/{t}%2Fa7"),
        format!("{a}/'{t}''a8'"),
        format!("{a}/%27{t}%27%27a8%27"),
        format!("{a}/{n1}"),
        format!("{a}/'{n1}'"),
        format!("/api/data/acc%6Funts/{t}-a2"),
        format!("/api/data/workorders/{n2}"),
        format!("/api/data/workorders/'{n2}'"),
        format!("/api/data/workorders/{n2}.0"),
        "/api/data/products/p1".into(),
        // Missing: never created, or another user's (outside the scope).
        format!("{a}/{t}-missing"),
        "/api/data/workorders/w0".into(),
        format!("{a}/a0"),
        format!("{a}/1e3"),
        "/api/data/ghosts/1".into(),
        format!("{a}/%FF"),
    ]);
    paths
}

#[wasm_bindgen_test]
async fn reads_answer_offline_as_the_server_answers_online() {
    let (t, n1, n2) = (unique("k"), unique_number(), unique_number());
    seed_kim(&t, n1, n2).await;
    let store = open_user(KIM).await;
    synced(&store).await;
    let paths = read_paths(&t, n1, n2);
    let mut online = Vec::new();
    for p in &paths {
        online.push(request(KIM, "GET", p, None).await);
    }
    let off = install(&store, &prefix());
    let mut local = Vec::new();
    for p in &paths {
        local.push(request(KIM, "GET", p, None).await);
    }
    uninstall(&off);
    let mut ok_lists = 0;
    for ((p, on), lo) in paths.iter().zip(&online).zip(&local) {
        assert_same(&format!("GET {p}"), on, lo);
        if on.body.get("value").is_some() && on.body["value"].as_array().unwrap().len() > 1 {
            ok_lists += 1;
        }
        // A row's ETag: the version the store knows it at, never before the server's.
        if on.status == 200 && on.body.get("value").is_none() {
            assert!(
                version(&lo.etag) >= version(&on.etag),
                "GET {p}: local ETag {:?}, server's {:?}",
                lo.etag,
                on.etag
            );
        }
    }
    // The comparison saw real data: many non-trivial lists, and every error kind.
    assert!(
        ok_lists >= 25,
        "only {ok_lists} lists with more than one row"
    );
    let statuses: Vec<u16> = online.iter().map(|a| a.status).collect();
    for s in [200, 400, 404] {
        assert!(statuses.contains(&s), "no {s} among {statuses:?}");
    }
    let all_mine = paths
        .iter()
        .position(|p| p.ends_with(&format!("startswith(id,'{t}')&$orderby=name")))
        .unwrap();
    let rows = online[all_mine].body["value"].as_array().unwrap();
    assert_eq!(rows.len(), 8, "this run's string-keyed accounts: {rows:?}");
    finish(store).await;
}
