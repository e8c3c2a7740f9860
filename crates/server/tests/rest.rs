//! The REST data API `/api/data/{table}[/{key}]`, on every backend: listing with the
//! OData options, reads by string and numeric keys, writes with scope and read-only
//! checks, and writes showing up in pulls at their new versions.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn listing_filters_selects_orders_and_pages_within_scope() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let r = ctx.get(ALICE, "/api/data/accounts").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.ids(), [json!("a0"), json!("a2"), json!("a4")], "{kind:?}");
        assert!(r.body.get("count").is_none(), "count only when asked");

        let r = ctx
            .get(ALICE, "/api/data/accounts?$filter=city%20eq%20'Paris'")
            .await;
        assert_eq!(r.ids(), [json!("a0")]);
        assert_eq!(r.body["value"][0]["name"], "Account 0");

        let r = ctx
            .get(ALICE, "/api/data/accounts?$orderby=city%20desc")
            .await;
        assert_eq!(r.ids(), [json!("a0"), json!("a2"), json!("a4")]);
        let r = ctx.get(ALICE, "/api/data/accounts?$orderby=city").await;
        assert_eq!(r.ids(), [json!("a4"), json!("a2"), json!("a0")]);

        let r = ctx
            .get(
                ALICE,
                "/api/data/accounts?$orderby=city&$top=1&$skip=1&$count=true",
            )
            .await;
        assert_eq!(
            r.body,
            json!({ "value": [
            { "id": "a2", "name": "Account 2", "city": "Nice", "ownerId": "alice" } ], "count": 3, "@odata.count": 3 })
        );

        let r = ctx
            .get(
                ALICE,
                "/api/data/accounts?$select=id,city&$filter=city%20ne%20'Lyon'",
            )
            .await;
        assert_eq!(
            r.body["value"],
            json!([{ "id": "a0", "city": "Paris" }, { "id": "a2", "city": "Nice" }])
        );
        let r = ctx
            .get(
                ALICE,
                "/api/data/accounts?$filter=startswith(name,'Account')&$count=true&$top=0",
            )
            .await;
        assert_eq!(r.body, json!({ "value": [], "count": 3, "@odata.count": 3 }));

        // Scope applies before the filter: bob's Paris account is never listed to alice.
        let r = ctx
            .get(
                BOB,
                "/api/data/accounts?$filter=city%20eq%20'Paris'&$count=true",
            )
            .await;
        assert_eq!(r.ids(), [json!("a3")]);
        assert_eq!(r.body["count"], 1);
        // Windowed, related work orders; all products.
        let r = ctx.get(ALICE, "/api/data/workorders?$orderby=id").await;
        assert_eq!(r.ids(), [json!("w10"), json!("w2"), json!("w6")]);
        assert_eq!(ctx.get(CAROL, "/api/data/products").await.ids().len(), 3);
        assert_eq!(ctx.get(CAROL, "/api/data/accounts").await.ids().len(), 0);
        // Parameters that are not query options belong to the app.
        let r = ctx.get(ALICE, "/api/data/accounts?_=12345&$top=1").await;
        assert_eq!(r.ids(), [json!("a0")]);
    })
    .await;
}

#[tokio::test]
async fn reads_by_key_honour_scope_and_key_types() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let r = ctx.get(ALICE, "/api/data/accounts/a0").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["name"], "Account 0");
        assert_eq!(r.etag(), Some("1".into()), "the seed wrote a0 first");
        assert_eq!(
            r.headers.get("etag").unwrap().to_str().unwrap(),
            "\"1\"",
            "a strong entity tag"
        );
        let same = ctx.get(ALICE, "/api/data/accounts/'a0'").await;
        assert_eq!(same.body, r.body);
        // Missing, or someone else's: 404 alike.
        ctx.get(ALICE, "/api/data/accounts/a1")
            .await
            .assert_error(404, "not_found");
        ctx.get(ALICE, "/api/data/accounts/nope")
            .await
            .assert_error(404, "not_found");
        ctx.get(ALICE, "/api/data/workorders/w0")
            .await
            .assert_error(404, "not_found");

        // 7 and "7" are different keys; quotes make a string.
        let v_num = ctx
            .admin_put("products", json!({ "id": 7, "name": "number" }))
            .await;
        let v_str = ctx
            .admin_put("products", json!({ "id": "7", "name": "string" }))
            .await;
        ctx.admin_put("products", json!({ "id": "it's", "name": "quoted" }))
            .await;
        ctx.admin_put("products", json!({ "id": "a/1", "name": "slash" }))
            .await;
        let r = ctx.get(ALICE, "/api/data/products/7").await;
        assert_eq!(
            (r.body["name"].clone(), r.etag()),
            (json!("number"), Some(v_num.to_string()))
        );
        let r = ctx.get(ALICE, "/api/data/products/'7'").await;
        assert_eq!(
            (r.body["name"].clone(), r.etag()),
            (json!("string"), Some(v_str.to_string()))
        );
        assert_eq!(
            ctx.get(ALICE, "/api/data/products/7.0").await.body["name"],
            "number"
        );
        assert_eq!(
            ctx.get(ALICE, "/api/data/products/'it''s'").await.body["name"],
            "quoted"
        );
        assert_eq!(
            ctx.get(ALICE, "/api/data/products/a%2F1").await.body["name"],
            "slash"
        );
        ctx.get(ALICE, "/api/data/products/8")
            .await
            .assert_error(404, "not_found");
    })
    .await;
}

#[tokio::test]
async fn create_update_and_delete_with_their_status_codes() {
    for_each_backend(|kind| async move {
        let (ctx, mut alice) = Ctx::demo_with_replica(kind, ALICE, "alice-1").await;

        // POST: 201 with the row, an ETag and a Location.
        let row = json!({ "id": "a9", "name": "New", "ownerId": "alice" });
        let r = ctx.post(ALICE, "/api/data/accounts", row.clone()).await;
        assert_eq!(r.status, 201, "{kind:?}: {}", r.text);
        assert_eq!(r.body, row);
        let v_post = r.etag().expect("ETag");
        assert_eq!(
            r.headers.get("location").unwrap().to_str().unwrap(),
            "/api/data/accounts/%27a9%27"
        );
        ctx.post(ALICE, "/api/data/accounts", row.clone())
            .await
            .assert_error(409, "conflict");
        // Bob's existing key, a row for someone else, a read-only table: 403.
        ctx.post(ALICE, "/api/data/accounts", json!({ "id": "b9", "ownerId": "bob" }))
            .await
            .assert_error(403, "forbidden");
        let r = ctx
            .post(ALICE, "/api/data/products", json!({ "id": "p9" }))
            .await;
        r.assert_error(403, "forbidden");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("read-only"));
        ctx.post(ALICE, "/api/data/accounts", json!({ "name": "no key" }))
            .await
            .assert_error(400, "invalid_argument");
        ctx.post(ALICE, "/api/data/accounts", json!({ "id": true, "ownerId": "alice" }))
            .await
            .assert_error(400, "invalid_argument");

        // PATCH merges; ETag moves on.
        let r = ctx
            .patch(ALICE, "/api/data/accounts/a0", json!({ "city": "Lyon", "phone": "1" }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body,
            json!({ "id": "a0", "name": "Account 0", "city": "Lyon", "ownerId": "alice", "phone": "1" })
        );
        let v_patch = r.etag().unwrap();
        assert!(v_patch.parse::<u64>().unwrap() > v_post.parse::<u64>().unwrap());
        assert_eq!(ctx.get(ALICE, "/api/data/accounts/a0").await.body, r.body);
        ctx.patch(ALICE, "/api/data/accounts/zz", json!({ "city": "x" }))
            .await
            .assert_error(404, "not_found");
        ctx.patch(ALICE, "/api/data/accounts/a1", json!({ "city": "x" }))
            .await
            .assert_error(404, "not_found");
        ctx.patch(ALICE, "/api/data/accounts/a0", json!({ "id": "a00" }))
            .await
            .assert_error(400, "invalid_argument");
        ctx.patch(ALICE, "/api/data/accounts/a0", json!({ "ownerId": "bob" }))
            .await
            .assert_error(403, "forbidden");
        ctx.patch(ALICE, "/api/data/accounts/a0", json!(["city"]))
            .await
            .assert_error(400, "invalid_argument");
        ctx.patch(ALICE, "/api/data/products/p0", json!({ "price": 1 }))
            .await
            .assert_error(403, "forbidden");

        // DELETE: 204 with no body, then 404.
        let r = ctx.delete(ALICE, "/api/data/accounts/a2").await;
        assert_eq!(r.status, 204, "{}", r.text);
        assert!(r.text.is_empty());
        ctx.get(ALICE, "/api/data/accounts/a2")
            .await
            .assert_error(404, "not_found");
        ctx.delete(ALICE, "/api/data/accounts/a2")
            .await
            .assert_error(404, "not_found");
        ctx.delete(ALICE, "/api/data/accounts/a1")
            .await
            .assert_error(404, "not_found");
        ctx.delete(ALICE, "/api/data/products/p0")
            .await
            .assert_error(403, "forbidden");
        // A tombstone does not block a new row with that key.
        let r = ctx
            .post(ALICE, "/api/data/accounts", json!({ "id": "a2", "ownerId": "alice" }))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let v_again = r.etag().unwrap();

        // The writes reach pulls at the versions REST reported; w2 left with its parent
        // and came back with it (only its latest state travels).
        let changes = alice.sync(&ctx, None).await;
        assert_eq!(
            describe_all(&changes),
            strs(&[
                "upsert accounts a0",
                "upsert accounts a2",
                "upsert accounts a9",
                "upsert workorders w2",
            ]),
            "{kind:?}"
        );
        assert_eq!(alice.row("accounts", "a9").unwrap().0, v_post);
        assert_eq!(alice.row("accounts", "a0").unwrap().0, v_patch);
        assert_eq!(alice.row("accounts", "a2").unwrap().0, v_again);
        let products = ctx.server_rows("products").await;
        assert_eq!(products.len(), 3);
        assert_eq!(ctx.server_rows("accounts").await["a1"].1["name"], "Account 1");
    })
    .await;
}

async fn get_paged(ctx: &Ctx, uri: &str, prefer: &str) -> Resp {
    ctx.get_preferring(ALICE, uri, prefer).await
}

#[tokio::test]
async fn server_driven_paging_follows_next_links_to_the_end() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let mut uri = "/api/data/accounts?$orderby=id&$count=true".to_string();
        let mut ids = Vec::new();
        let mut pages = 0;
        loop {
            let r = get_paged(&ctx, &uri, "odata.maxpagesize=2").await;
            assert_eq!(r.status, 200, "{kind:?} {uri}: {}", r.text);
            assert_eq!(r.body["@odata.count"], 3, "the count is the whole list's");
            ids.extend(r.ids());
            pages += 1;
            let Some(next) = r.body["@odata.nextLink"].as_str() else {
                break;
            };
            assert_eq!(
                r.headers["preference-applied"], "odata.maxpagesize=2",
                "{kind:?}"
            );
            uri = next
                .strip_prefix("http://api.test:8080")
                .unwrap_or_else(|| panic!("an absolute link on the request's host: {next}"))
                .to_string();
        }
        assert_eq!(pages, 2, "{kind:?}");
        assert_eq!(ids, [json!("a0"), json!("a2"), json!("a4")], "{kind:?}");

        // $top under the page size: no paging; over it, the next link carries what is left of it.
        let r = get_paged(
            &ctx,
            "/api/data/accounts?$orderby=id&$top=2",
            "odata.maxpagesize=5",
        )
        .await;
        assert!(r.body.get("@odata.nextLink").is_none(), "{}", r.text);
        assert!(r.headers.get("preference-applied").is_none());
        let r = get_paged(
            &ctx,
            "/api/data/accounts?$orderby=id&$top=2",
            "odata.maxpagesize=1",
        )
        .await;
        assert_eq!(
            r.body["@odata.nextLink"],
            "http://api.test:8080/api/data/accounts?$orderby=id&$top=1&$skip=1"
        );

        let r = get_paged(&ctx, "/api/data/accounts", "odata.maxpagesize=0").await;
        r.assert_error(400, "invalid_argument");
    })
    .await;
}

/// Every answer of the data API writes its numbers as the fetch interceptor's
/// `JSON.stringify` does (src/js_json.rs), whatever text the row came in with and however
/// the backend stored it; a pull keeps serde_json's text (JSON.parse reads the same f64).
#[tokio::test]
async fn numbers_are_written_as_javascript_writes_them() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let body = br#"{"id":"n1","ownerId":"alice","big":18446744073709551615,"f":1.8446744073709552e19,"min":-9223372036854775808,"odd":9007199254740993,"one":1.0,"neg":-0.0,"e15":1e15,"tiny":1e-6,"e21":1e21,"e7":1e-7}"#;
        // JSON.stringify(JSON.parse(body)) in node, field by field.
        let js = [
            r#""big":18446744073709552000"#,
            r#""f":18446744073709552000"#,
            r#""min":-9223372036854776000"#,
            r#""odd":9007199254740992"#,
            r#""one":1,"#,
            r#""neg":0,"#,
            r#""e15":1000000000000000,"#,
            r#""tiny":0.000001,"#,
            r#""e21":1e+21"#,
            r#""e7":1e-7"#,
        ];
        let check = |what: &str, text: &str| {
            for field in js {
                assert!(text.contains(field), "{kind:?} {what}: {field} in {text}");
            }
        };
        let r = ctx
            .raw("POST", "/api/data/accounts", Some(ALICE), Some(body.to_vec()))
            .await;
        assert_eq!(r.status, 201, "{kind:?}: {}", r.text);
        assert_eq!(r.headers["content-type"], "application/json");
        check("POST", &r.text);
        let r = ctx.get(ALICE, "/api/data/accounts/'n1'").await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        check("GET one", &r.text);
        let r = ctx.get(ALICE, "/api/data/accounts?$filter=id%20eq%20'n1'&$count=true").await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        assert_eq!(r.body["value"].as_array().map(Vec::len), Some(1), "{}", r.text);
        check("GET list", &r.text);
        let r = ctx
            .raw(
                "PATCH",
                "/api/data/accounts/'n1'",
                Some(ALICE),
                Some(br#"{"city":"Lyon"}"#.to_vec()),
            )
            .await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        check("PATCH", &r.text);
    })
    .await;
}
