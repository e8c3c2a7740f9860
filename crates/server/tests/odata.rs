//! The OData conventions of issue 20 on the REST API, on every backend: `$filter`
//! functions (`endswith`, `tolower`, `length`…), date, datetime and GUID literals, keys
//! in parentheses (`accounts('a1')`), and the refusals of what is not supported.

mod common;

use common::*;
use serde_json::{json, Value};

async fn seeded(kind: Kind) -> Ctx {
    let ctx = Ctx::demo(kind).await;
    for row in [
        json!({ "id": "x1", "name": "Café Central", "city": "Wien", "ownerId": "alice",
            "created": "2026-11-01T09:00:00+02:00", "ref": "0123ABCD-89AB-CDEF-0123-456789ABCDEF" }),
        json!({ "id": "x2", "name": "Bistro", "city": "Lille", "ownerId": "alice",
            "created": "2026-10-31T23:00:00Z" }),
        json!({ "id": "x3", "name": "O'Brien's", "ownerId": "alice", "created": "2026-11-02" }),
    ] {
        let r = ctx.post(ALICE, "/api/data/accounts", row).await;
        assert_eq!(r.status, 201, "{kind:?}: {}", r.text);
    }
    ctx
}

#[tokio::test]
async fn filter_functions_and_typed_literals() {
    for_each_backend(|kind| async move {
        let ctx = seeded(kind).await;
        let ids = |q: &'static str| {
            let ctx = &ctx;
            async move {
                let r = ctx
                    .get(
                        ALICE,
                        &format!("/api/data/accounts?$orderby=id&$filter={q}"),
                    )
                    .await;
                assert_eq!(r.status, 200, "{kind:?} {q}: {}", r.text);
                r.ids()
            }
        };
        assert_eq!(ids("endswith(name,'s')").await, [json!("x3")]);
        assert_eq!(ids("tolower(name)%20eq%20'bistro'").await, [json!("x2")]);
        assert_eq!(
            ids("contains(tolower(name),'caf%C3%A9')").await,
            [json!("x1")]
        );
        // Lengths count characters: "Café Central" is 12 (13 bytes in UTF-8).
        assert_eq!(ids("length(name)%20eq%2012").await, [json!("x1")]);
        assert_eq!(
            ids("length(name)%20gt%208%20and%20startswith(name,'A')").await,
            [json!("a0"), json!("a2"), json!("a4")]
        );
        assert_eq!(
            ids("substring(toupper(city),1,2)%20eq%20'IL'").await,
            [json!("x2")]
        );
        // Datetimes compare as instants (x1 is 07:00Z); a date is midnight UTC.
        assert_eq!(
            ids("created%20lt%202026-11-01T00:00:00Z").await,
            [json!("x2")]
        );
        assert_eq!(
            ids("created%20ge%202026-11-01T08:00:00%2B01:00").await,
            [json!("x1"), json!("x3")]
        );
        assert_eq!(ids("created%20eq%202026-11-02").await, [json!("x3")]);
        assert_eq!(
            ids("created%20gt%202026-10-31T23:00:00.001Z%20and%20created%20lt%202026-11-02").await,
            [json!("x1")]
        );
        // GUIDs compare case-insensitively.
        assert_eq!(
            ids("ref%20eq%200123abcd-89ab-cdef-0123-456789abcdef").await,
            [json!("x1")]
        );

        // What is not supported: 400 invalid_argument, naming it.
        let r = ctx
            .get(ALICE, "/api/data/accounts?$filter=round(n)%20eq%201")
            .await;
        r.assert_error(400, "invalid_argument");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("unknown function 'round'"),
            "{}",
            r.text
        );
        let r = ctx
            .get(
                ALICE,
                "/api/data/accounts?$filter=created%20eq%202026-13-01",
            )
            .await;
        r.assert_error(400, "invalid_argument");
        let r = ctx
            .get(
                ALICE,
                "/api/data/accounts?$filter=tolower(name,'x')%20eq%20'a'",
            )
            .await;
        r.assert_error(400, "invalid_argument");
        assert!(
            r.text.contains("tolower takes 1 argument, got 2"),
            "{}",
            r.text
        );
    })
    .await;
}

#[tokio::test]
async fn keys_in_parentheses_address_rows() {
    for_each_backend(|kind| async move {
        let ctx = seeded(kind).await;
        let r = ctx.get(ALICE, "/api/data/accounts('x1')").await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        assert_eq!(r.body["name"], "Café Central");
        let path_form = ctx.get(ALICE, "/api/data/accounts/x1").await;
        assert_eq!((&r.body, r.etag()), (&path_form.body, path_form.etag()));
        let r = ctx.get(ALICE, "/api/data/accounts(%27x3%27)").await;
        assert_eq!(r.body["name"], "O'Brien's");
        // Someone else's row, or none: 404 as in the path form.
        ctx.get(ALICE, "/api/data/accounts('a1')")
            .await
            .assert_error(404, "not_found");
        // A numeric key.
        ctx.admin_put("products", json!({ "id": 7, "name": "number" }))
            .await;
        ctx.admin_put("products", json!({ "id": "7", "name": "string" }))
            .await;
        let r = ctx.get(ALICE, "/api/data/products(7)").await;
        assert_eq!(r.body["name"], "number", "{}", r.text);
        let r = ctx.get(ALICE, "/api/data/products('7')").await;
        assert_eq!(r.body["name"], "string", "{}", r.text);
        // Writes.
        let r = ctx
            .patch(ALICE, "/api/data/accounts('x2')", json!({ "city": "Lyon" }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["city"], "Lyon");
        let r = ctx.delete(ALICE, "/api/data/accounts('x3')").await;
        assert_eq!(r.status, 204, "{}", r.text);
        ctx.get(ALICE, "/api/data/accounts/x3")
            .await
            .assert_error(404, "not_found");
        // Named keys are refused; a POST to a row or a PATCH of a table is 405.
        let r = ctx.get(ALICE, "/api/data/accounts(id='x1')").await;
        r.assert_error(400, "invalid_argument");
        assert!(r.text.contains("named keys"), "{}", r.text);
        let r = ctx
            .post(ALICE, "/api/data/accounts('x9')", json!({ "id": "x9" }))
            .await;
        assert_eq!(r.status, 405);
        let r = ctx
            .patch(ALICE, "/api/data/accounts", json!({ "city": "x" }))
            .await;
        assert_eq!(r.status, 405);
        assert_eq!(ctx.delete(ALICE, "/api/data/accounts").await.status, 405);
    })
    .await;
}

#[tokio::test]
async fn expand_answers_lookups_with_the_rows_the_caller_sees() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        // A `related` lookup: workorders.accountId → accounts, as the account is sent.
        let r = ctx
            .get(ALICE, "/api/data/workorders?$orderby=id&$expand=account")
            .await;
        assert_eq!(r.status, 200, "{kind:?}: {}", r.text);
        let rows = r.body["value"].as_array().unwrap().clone();
        assert!(rows.len() >= 2, "{}", r.text);
        for row in &rows {
            let id = row["accountId"].as_str().unwrap();
            let account = ctx.get(ALICE, &format!("/api/data/accounts/{id}")).await;
            assert_eq!(row["account"], account.body, "{kind:?}: {row}");
            // The navigation property comes after the row's own columns.
            assert_eq!(row.as_object().unwrap().keys().next_back().unwrap(), "account");
        }
        // `$select` inside: the related key, then the columns named; the outer `$select`
        // need not name the lookup column.
        let r = ctx
            .get(
                ALICE,
                "/api/data/workorders?$orderby=id&$select=title&$expand=account($select=name)",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let first = &r.body["value"][0];
        let account = ctx
            .get(ALICE, &format!("/api/data/accounts/{}", rows[0]["accountId"].as_str().unwrap()))
            .await;
        assert_eq!(
            first,
            &json!({ "title": rows[0]["title"], "account": { "id": account.body["id"], "name": account.body["name"] } })
        );

        // A declared `references` lookup: tasks.jobId → jobs. Someone else's job, a job
        // that does not exist and an empty cell all expand to null.
        ctx.admin_put("jobs", json!({ "id": "J1", "ownerId": "alice", "name": "mine" })).await;
        ctx.admin_put("jobs", json!({ "id": "J2", "ownerId": "bob", "name": "theirs" })).await;
        for (id, job) in [("t1", json!("J1")), ("t2", json!("J2")), ("t3", json!("J9")), ("t4", json!(null))] {
            ctx.admin_put("tasks", json!({ "id": id, "ownerId": "alice", "jobId": job })).await;
        }
        ctx.admin_put("tasks", json!({ "id": "t5", "ownerId": "alice" })).await;
        let r = ctx
            .get(ALICE, "/api/data/tasks?$orderby=id&$expand=job($select=name)")
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let jobs: Vec<Value> = r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["job"].clone())
            .collect();
        assert_eq!(
            jobs,
            [json!({ "id": "J1", "name": "mine" }), json!(null), json!(null), json!(null), json!(null)]
        );

        // Paging keeps `$expand` in the next link, and each page is expanded.
        let mut uri = "/api/data/tasks?$orderby=id&$expand=job".to_string();
        let mut seen = Vec::new();
        loop {
            let r = ctx.get_preferring(ALICE, &uri, "odata.maxpagesize=2").await;
            assert_eq!(r.status, 200, "{}", r.text);
            for t in r.body["value"].as_array().unwrap() {
                assert!(t.as_object().unwrap().contains_key("job"), "{t}");
                seen.push(t["job"]["name"].clone());
            }
            let Some(next) = r.body["@odata.nextLink"].as_str() else { break };
            uri = next.strip_prefix("http://api.test:8080").unwrap().to_string();
        }
        assert_eq!(seen, [json!("mine"), json!(null), json!(null), json!(null), json!(null)]);
    })
    .await;
}

#[tokio::test]
async fn expand_refuses_what_it_does_not_support() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        for (uri, words) in [
            (
                "/api/data/workorders?$expand=owner",
                "the lookups of 'workorders' are account",
            ),
            (
                "/api/data/accounts?$expand=workorders",
                "'accounts' has no lookups to expand",
            ),
            ("/api/data/workorders?$expand=*", "name each lookup"),
            (
                "/api/data/workorders?$expand=account/owner",
                "name each lookup",
            ),
            (
                "/api/data/workorders?$expand=account($filter=city%20eq%20'x')",
                "only $select",
            ),
            (
                "/api/data/workorders?$expand=account($select=name;$expand=x)",
                "only $select",
            ),
            (
                "/api/data/workorders?$expand=account($select=name",
                "not closed",
            ),
            (
                "/api/data/workorders?$expand=account,account",
                "given twice",
            ),
            (
                "/api/data/workorders?$expand=account&$expand=account",
                "given twice",
            ),
            (
                "/api/data/workorders?$expand=account($select=1x)",
                "not a valid column name",
            ),
        ] {
            let r = ctx.get(ALICE, uri).await;
            r.assert_error(400, "invalid_argument");
            assert!(r.text.contains(words), "{kind:?} {uri}: {}", r.text);
        }
    })
    .await;
}
