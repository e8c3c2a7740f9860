//! Installing the interceptor: what passes through untouched, uninstalling, path prefixes on the page's own origin, checked options, and handleFetch without touching fetch.

use super::*;

#[wasm_bindgen_test]
async fn other_requests_pass_through_untouched() {
    let store = open_user(KIM).await;
    synced(&store).await;
    let off = install(&store, &prefix());
    // Outside the prefix: the sync API answers itself.
    let r = request(KIM, "GET", "/sync/profile", None).await;
    assert_eq!((r.status, r.local), (200, false), "{}", r.text);
    assert!(r.body["tables"]["accounts"].is_object());
    // Under the prefix, what no route answers: other methods, other path shapes.
    for (method, path) in [
        ("PUT", "/api/data/accounts/x"),
        ("patch", "/api/data/accounts/x"),
        ("POST", "/api/data/accounts/x"),
        ("DELETE", "/api/data/accounts"),
        ("HEAD", "/api/data/accounts"),
        ("GET", "/api/data/accounts/x/y"),
        ("GET", "/api/data/accounts/"),
        ("GET", "/api/data/"),
    ] {
        let r = request(KIM, method, path, None).await;
        assert!(!r.local, "{method} {path} went to the server");
        assert!(
            matches!(r.status, 200 | 404 | 405),
            "{method} {path}: {}",
            r.status
        );
    }
    // The store's own sync requests pass too while fetch is wrapped.
    synced(&store).await;
    // Requests given as a Request or a URL object are answered like strings.
    let r = recorded(call_request(&url("/api/data/products/p1"))).await;
    assert_eq!((r.status, r.local), (200, true), "{}", r.text);
    let r = recorded(call_url(&url("/api/data/products/p1"))).await;
    assert_eq!((r.status, r.local), (200, true), "{}", r.text);
    // An aborted signal rejects as fetch does, locally too.
    let name = ok(call_aborted(&url("/api/data/products/p1"))).await;
    assert_eq!(name.as_string().as_deref(), Some("AbortError"));
    uninstall(&off);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn uninstall_restores_fetch() {
    let store = open_user(KIM).await;
    synced(&store).await;
    let original = current_fetch();
    let path = "/api/data/products/p1";
    let first = install(&store, &prefix());
    assert!(current_fetch() != original, "fetch is wrapped");
    assert!(request(KIM, "GET", path, None).await.local);
    uninstall(&first);
    assert!(current_fetch() == original, "the original fetch is back");
    assert!(!request(KIM, "GET", path, None).await.local);
    uninstall(&first);
    assert!(
        current_fetch() == original,
        "uninstalling twice changes nothing"
    );

    // Two wrappers: removed in reverse order, each puts back what it wrapped; removed
    // out of order, the inner one only passes through until the outer one goes.
    let a = install(&store, &prefix());
    let wrapped_once = current_fetch();
    let b = install(&store, &prefix());
    uninstall(&b);
    assert!(current_fetch() == wrapped_once);
    uninstall(&a);
    assert!(current_fetch() == original);
    let a = install(&store, &prefix());
    let b = install(&store, &prefix());
    uninstall(&a);
    assert!(
        request(KIM, "GET", path, None).await.local,
        "b still answers"
    );
    uninstall(&b);
    assert!(
        current_fetch() != original,
        "b wrapped a, which is still in the chain"
    );
    assert!(
        !request(KIM, "GET", path, None).await.local,
        "and only passes through"
    );
    // Leave the page's fetch as it was for the next tests.
    Reflect::set(&js_sys::global(), &"fetch".into(), &original).unwrap();
    finish(store).await;
}

#[wasm_bindgen_test]
async fn a_path_prefix_answers_the_pages_own_origin() {
    let store = fresh().await;
    let accounts = store.table("accounts").unwrap();
    ok(accounts.bulk_put(js(r#"[{"id":"x1","name":"B"},{"id":"x2","name":"A"}]"#))).await;
    // The default prefix is "/api/data/"; a missing trailing slash is added.
    let off = store
        .intercept_fetch(Some(prefix_options("/api/data")))
        .unwrap()
        .dyn_into::<Function>()
        .unwrap();
    let page = |p: &str| recorded(call(p, "GET", None, None));
    let r = page("/api/data/accounts?$orderby=name&$select=id").await;
    assert_eq!((r.status, r.local), (200, true), "{}", r.text);
    assert_eq!(r.body, json!({ "value": [{ "id": "x2" }, { "id": "x1" }] }));
    let origin = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|l| Reflect::get(&l, &"origin".into()))
        .unwrap()
        .as_string()
        .unwrap();
    let r = page(&format!("{origin}/api/data/accounts/x1")).await;
    assert_eq!((r.status, r.body["name"].clone()), (200, json!("B")));
    assert_eq!(r.etag, None, "a row never synced has no version");
    // A relative URL resolves against the document's base URL, as fetch resolves it.
    let r = recorded(call_under_base(
        &format!("{origin}/api/"),
        "data/accounts/x2",
    ))
    .await;
    assert_eq!(
        (r.status, r.local, r.body["name"].clone()),
        (200, true, json!("A"))
    );
    let r = recorded(call_under_base(
        &format!("{origin}/elsewhere/"),
        "api/data/accounts/x2",
    ))
    .await;
    assert!(
        !r.local,
        "{origin}/elsewhere/api/data/... is not under the prefix"
    );
    // Not under the prefix: another path, the same path on another origin.
    assert!(!page("/api/database").await.local);
    assert!(!page(&url("/api/data/accounts")).await.local);
    // A closed store answers nothing: requests go to the network.
    store.close();
    assert!(!page("/api/data/accounts").await.local);
    uninstall(&off);
    delete(&store.name()).await;
}

#[wasm_bindgen_test]
async fn interception_options_are_checked() {
    let store = open_user(KIM).await;
    for bad in [
        json!({ "prefix": 5 }),
        json!({ "prefix": "api/data/" }),
        json!({ "prefix": "ftp://host/api/data/" }),
        json!({ "prefix": "/api/data/?x=1" }),
        json!("/api/data/"),
        // Covering the sync server's /sync/ endpoints would answer the store's own sync.
        json!({ "prefix": format!("{}/", server_url()) }),
        json!({ "prefix": format!("{}/sync", server_url()) }),
    ] {
        let e = store
            .intercept_fetch(Some(js(&bad.to_string())))
            .map(|_| ())
            .expect_err(&format!("{bad} is refused"));
        assert_eq!(e.code.as_str(), "invalid_argument", "{bad}: {e}");
    }
    let code = code_of(store.handle_fetch("/api/data/accounts".into(), None)).await;
    assert_eq!(code, "invalid_argument", "handleFetch takes a Request");
    finish(store).await;
}

#[wasm_bindgen_test]
async fn handle_fetch_answers_a_request_without_touching_fetch() {
    let store = open_user(KIM).await;
    synced(&store).await;
    let original = current_fetch();
    let opts = || Some(prefix_options(&prefix()));
    let answer = |req: JsValue, o: Option<JsValue>| {
        let p = store.handle_fetch(req, o);
        async move { ok(describe(&ok(p).await)).await.as_string().unwrap() }
    };
    let r = answer_of(
        &answer(
            make_request(&url("/api/data/products/p1"), "GET", None),
            opts(),
        )
        .await,
    );
    let online = request(KIM, "GET", "/api/data/products/p1", None).await;
    assert_same("handleFetch GET", &online, &r);
    let r = answer_of(
        &answer(
            make_request(&url("/api/data/products"), "POST", Some("{bad".into())),
            opts(),
        )
        .await,
    );
    assert_eq!(
        (r.status, r.body["error"]["code"].clone()),
        (400, json!("invalid_argument"))
    );
    // Not ours: undefined, for the worker to pass on.
    for (u, m) in [("/sync/profile", "GET"), ("/api/data/accounts/x", "PUT")] {
        assert_eq!(
            answer(make_request(&url(u), m, None), opts()).await,
            "undefined",
            "{m} {u}"
        );
    }
    // The default prefix is the page's (or worker's) own origin.
    let r = answer_of(&answer(make_request("/api/data/products/p1", "GET", None), None).await);
    assert_eq!((r.status, r.local), (200, true));
    assert_eq!(
        answer(
            make_request(&url("/api/data/products/p1"), "GET", None),
            None
        )
        .await,
        "undefined"
    );
    assert!(
        current_fetch() == original,
        "handleFetch does not wrap fetch"
    );
    finish(store).await;
}
