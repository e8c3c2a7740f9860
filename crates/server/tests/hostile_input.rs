//! Hostile input on every backend, beyond `bad_input.rs`: JSON nested 100,000 deep, a
//! `$filter` nested as deep, huge strings in every string field, and every field of the
//! pull, push and REST bodies given each JSON type it must not have. Each gets a 4xx
//! with the JSON error body and a stable code (or, for a mutation the push decodes, a
//! `rejected` outcome), never a 500 or a dead server, and changes no row.

mod common;

use common::*;
use serde_json::{json, Value};

/// One value of each JSON type.
fn samples() -> Vec<(&'static str, Value)> {
    vec![
        ("null", Value::Null),
        ("number", json!(1)),
        ("string", json!("1")),
        ("bool", json!(true)),
        ("array", json!([1])),
        ("object", json!({ "a": 1 })),
    ]
}

/// Asserts a 4xx JSON error with one of `codes`.
#[track_caller]
fn assert_refused(r: &Resp, codes: &[&str], what: &str) {
    assert!(
        r.status.is_client_error(),
        "{what}: {} {}",
        r.status,
        r.text
    );
    assert!(
        codes.contains(&r.code()),
        "{what}: code {:?}: {}",
        r.code(),
        r.text
    );
    assert!(
        !r.body["error"]["message"].as_str().unwrap_or("").is_empty(),
        "{what}: {}",
        r.text
    );
}

#[tokio::test]
async fn json_nested_100k_deep_is_a_400_on_every_body() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let deep = |open: &str, inside: &str| {
            let mut s = String::from(inside);
            s.insert_str(0, &open.repeat(100_000));
            s.into_bytes()
        };
        let bodies = [
            deep("[", ""),
            deep("{\"a\":", ""),
            deep("[", "1"),
            // Deep inside an otherwise valid envelope: a row, a column value.
            {
                let mut b = br#"{"protocolVersion":1,"clientId":"c1","mutations":[{"id":1,"table":"accounts","key":"x","op":"insert","row":{"id":"x","ownerId":"alice","n":"#.to_vec();
                b.extend(deep("[", ""));
                b
            },
        ];
        for (method, uri) in [
            ("POST", "/sync/pull"),
            ("POST", "/sync/push"),
            ("POST", "/api/data/accounts"),
            ("PATCH", "/api/data/accounts/a0"),
        ] {
            for body in &bodies {
                let r = ctx.raw(method, uri, Some(ALICE), Some(body.clone())).await;
                r.assert_error(400, "invalid_argument");
            }
        }
        // A `$filter` nested 15,000 deep (as deep as a URL of under 64 KiB, the most
        // that the http crate parses, allows): this used to overflow the stack and abort
        // the whole server (the parser recursed once per parenthesis or `not`).
        for filter in [
            format!("{}id%20eq%20'a0'{}", "(".repeat(30_000), ")".repeat(30_000)),
            "not(".repeat(15_000) + "id%20eq%20'a0'",
        ] {
            let r = ctx.get(ALICE, &format!("/api/data/accounts?$filter={filter}")).await;
            r.assert_error(400, "invalid_argument");
        }
        // The server is still there and still answers.
        let r = ctx.get(ALICE, "/api/data/accounts?$filter=((id%20eq%20'a0'))").await;
        assert_eq!(r.body["value"][0]["id"], "a0", "{}", r.text);
        ctx.assert_unchanged(&before, "something was written").await;
    })
    .await;
}

#[tokio::test]
async fn huge_strings_in_every_string_field_are_refused_or_stored_whole() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        // 600 KB (800 KB as JSON text): twice in a body stays under the 2 MiB limit, so
        // the handlers see it.
        let huge = "é'\"\\x".repeat(100_000);
        let pull =
            json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": "1", "limit": 10 });
        for field in ["clientId", "checkpoint"] {
            let mut b = pull.clone();
            b[field] = json!(huge);
            let r = ctx.post_pull(ALICE, b).await;
            r.assert_error(400, "invalid_argument");
        }
        let m = json!({ "id": 1, "table": "accounts", "key": "x1", "op": "update",
                        "columns": { "name": "n" }, "baseVersion": "1" });
        let push = |m: Value| push_body("c1", json!([m]));
        let mut b = push(m.clone());
        b["clientId"] = json!(huge);
        ctx.post_push(ALICE, b)
            .await
            .assert_error(400, "invalid_argument");
        let mut b = push(m.clone());
        b["mutations"][0]["op"] = json!(huge);
        ctx.post_push(ALICE, b)
            .await
            .assert_error(400, "invalid_argument");
        // Fields the push decodes: a refusal of that one mutation, never a write.
        for (field, value) in [
            ("table", json!(huge)),
            ("key", json!(huge)),
            ("baseVersion", json!(huge)),
            ("columns", json!({ huge.clone(): 1 })),
        ] {
            let mut mm = m.clone();
            mm[field] = value;
            let out = ctx.push(ALICE, &format!("c-{field}"), json!([mm])).await;
            assert!(
                ["rejected", "conflict"].contains(&out[0]["status"].as_str().unwrap()),
                "{field}: {}",
                out[0]
            );
        }
        // REST: huge table names, keys, query options (60 KB: a URL stays under the
        // 64 KiB the http crate parses) and bodies.
        let h = "abc_".repeat(15_000);
        for uri in [
            format!("/api/data/{h}"),
            format!("/api/data/{h}/a0"),
            format!("/api/data/accounts/{h}"),
            format!("/api/data/accounts/'{h}'"),
        ] {
            let r = ctx.get(ALICE, &uri).await;
            r.assert_error(404, "not_found");
        }
        for q in [
            format!("$select={h}"),
            format!("$orderby={h}"),
            format!("$top={}", "9".repeat(60_000)),
            format!("$filter={h}"),
            format!("$filter=id%20eq%20{}", "9".repeat(60_000)),
            format!("{h}=1&$top=x"),
        ] {
            let r = ctx.get(ALICE, &format!("/api/data/accounts?{q}")).await;
            r.assert_error(400, "invalid_argument");
        }
        // A huge string literal is a valid filter that matches nothing.
        let r = ctx
            .get(
                ALICE,
                &format!("/api/data/accounts?$filter=name%20eq%20'{h}'"),
            )
            .await;
        assert_eq!(r.body, json!({ "value": [] }), "{kind:?}");
        for (method, uri, body) in [
            (
                "POST",
                "/api/data/accounts",
                json!({ "id": huge, "ownerId": "bob" }),
            ),
            (
                "POST",
                "/api/data/accounts",
                json!({ "id": "x9", "ownerId": huge }),
            ),
            (
                "POST",
                "/api/data/products",
                json!({ "id": "p9", "name": huge }),
            ),
            ("PATCH", "/api/data/accounts/a0", json!({ "ownerId": huge })),
            ("PATCH", "/api/data/accounts/a0", json!({ "id": huge })),
        ] {
            let r = ctx.send(method, uri, ALICE, body).await;
            assert_refused(&r, &["forbidden", "invalid_argument"], uri);
        }
        ctx.assert_unchanged(&before, "a refused request wrote")
            .await;

        // Where a huge string is valid data, it is stored and read back whole.
        let r = ctx
            .post(
                ALICE,
                "/api/data/accounts",
                json!({ "id": "big", "ownerId": "alice", "name": huge, huge.clone(): 1 }),
            )
            .await;
        assert_eq!(
            r.status,
            201,
            "{}",
            r.text.chars().take(200).collect::<String>()
        );
        let back = ctx.get(ALICE, "/api/data/accounts/big").await;
        assert_eq!(back.body["name"], json!(huge));
        assert_eq!(back.body[&huge], json!(1));
    })
    .await;
}

/// Every field of the pull request, with each JSON type it must not have (and numbers
/// it must not take): a 400 with a code, and nothing written.
#[tokio::test]
async fn every_pull_field_of_a_wrong_type_is_a_400() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let valid =
            json!({ "protocolVersion": 1, "clientId": "c1", "checkpoint": "0", "limit": 5 });
        // Field → the types it takes (`null` = may be absent).
        let fields: [(&str, &[&str]); 4] = [
            ("protocolVersion", &["number"]),
            ("clientId", &["string"]),
            ("checkpoint", &["string", "null"]),
            ("limit", &["number", "null"]),
        ];
        let mut tried = 0;
        for (field, ok) in fields {
            let mut wrong: Vec<Value> = samples()
                .into_iter()
                .filter(|(t, _)| !ok.contains(t))
                .map(|(_, v)| v)
                .collect();
            if ok.contains(&"number") {
                wrong.extend([json!(-1), json!(1.5), json!(1e300), json!(u64::MAX)]);
            }
            for v in wrong {
                let mut b = valid.clone();
                b[field] = v.clone();
                let r = ctx.post_pull(ALICE, b).await;
                assert_refused(
                    &r,
                    &["invalid_argument", "unsupported_protocol"],
                    &format!("{field}={v}"),
                );
                tried += 1;
            }
        }
        assert_eq!(tried, (5 + 4) + 5 + 4 + (4 + 4));
        // The valid body is served: the refusals were the fields' doing.
        assert_eq!(ctx.post_pull(ALICE, valid).await.status, 200);
        ctx.assert_unchanged(&before, "something was written").await;
    })
    .await;
}

/// Every field of the push request and of a mutation, with each wrong JSON type: a 400
/// when the request does not decode, or (for `row`, which may be any JSON the protocol
/// then checks) a `rejected` outcome with reason `validation`. Nothing is written.
#[tokio::test]
async fn every_push_field_of_a_wrong_type_is_refused() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        let insert = json!({ "id": 1, "table": "accounts", "key": "x1", "op": "insert",
                             "row": { "id": "x1", "ownerId": "alice" } });
        let update = json!({ "id": 1, "table": "accounts", "key": "a0", "op": "update",
                             "columns": { "name": "n" }, "baseVersion": "1" });
        let envelope: [(&str, &[&str]); 3] = [
            ("protocolVersion", &["number"]),
            ("clientId", &["string"]),
            ("mutations", &["array"]),
        ];
        let mutation: [(&str, &[&str], &Value); 7] = [
            ("id", &["number"], &insert),
            ("table", &["string"], &insert),
            ("key", &["string", "number"], &insert),
            ("op", &["string"], &insert),
            ("row", &["object", "null"], &insert),
            ("columns", &["object", "null"], &update),
            ("baseVersion", &["string", "null"], &update),
        ];
        let mut n = 0u64;
        let mut next_client = || {
            n += 1;
            format!("wrong-{n}")
        };
        let mut tried = 0;
        for (field, ok) in envelope {
            for (t, v) in samples().into_iter().filter(|(t, _)| !ok.contains(t)) {
                let mut b = push_body(&next_client(), json!([insert]));
                b[field] = v.clone();
                let r = ctx.post_push(ALICE, b).await;
                assert_refused(&r, &["invalid_argument"], &format!("{field} as {t}"));
                tried += 1;
            }
        }
        for (field, ok, base) in mutation {
            let mut wrong: Vec<(&str, Value)> = samples()
                .into_iter()
                .filter(|(t, _)| !ok.contains(t))
                .collect();
            if field == "id" {
                wrong.extend([
                    ("negative", json!(-1)),
                    ("fraction", json!(1.5)),
                    ("huge", json!(1e300)),
                ]);
            }
            if field == "op" {
                wrong.extend([
                    ("unknown op", json!("upsert")),
                    ("cased op", json!("Insert")),
                ]);
            }
            for (t, v) in wrong {
                let mut m = base.clone();
                m[field] = v.clone();
                let b = push_body(&next_client(), json!([m]));
                let r = ctx.post_push(ALICE, b).await;
                let what = format!("mutation {field} as {t}");
                if r.status == 200 {
                    // Decoded (a row may be any JSON): refused by the protocol's checks.
                    assert_eq!(field, "row", "{what}: {}", r.text);
                    let out = &r.body["outcomes"][0];
                    assert_eq!(
                        (&out["status"], &out["reason"]),
                        (&json!("rejected"), &json!("validation")),
                        "{what}: {out}"
                    );
                } else {
                    assert_refused(&r, &["invalid_argument"], &what);
                }
                tried += 1;
            }
        }
        assert_eq!(tried, 3 * 5 + (5 + 3) + 5 + 4 + (5 + 2) + 4 + 4 + 4);
        ctx.assert_unchanged(&before, "a refused push wrote").await;
        // The unbroken mutations apply: the refusals were the fields' doing.
        let out = ctx.push(ALICE, "wrong-control", json!([insert])).await;
        assert_eq!(out[0]["status"], "applied", "{}", out[0]);
    })
    .await;
}

/// REST bodies: the body itself and its key column with each wrong type.
#[tokio::test]
async fn every_rest_body_of_a_wrong_type_is_a_400() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let before = ctx.snapshot().await;
        for (t, v) in samples().into_iter().filter(|(t, _)| *t != "object") {
            for (method, uri) in [
                ("POST", "/api/data/accounts"),
                ("PATCH", "/api/data/accounts/a0"),
            ] {
                let r = ctx.send(method, uri, ALICE, v.clone()).await;
                assert_refused(&r, &["invalid_argument"], &format!("{method} body as {t}"));
            }
        }
        for (t, v) in samples()
            .into_iter()
            .filter(|(t, _)| !["string", "number"].contains(t))
        {
            let r = ctx
                .post(
                    ALICE,
                    "/api/data/accounts",
                    json!({ "id": v, "ownerId": "alice" }),
                )
                .await;
            assert_refused(&r, &["invalid_argument"], &format!("POST id as {t}"));
            let r = ctx
                .patch(ALICE, "/api/data/accounts/a0", json!({ "id": v }))
                .await;
            assert_refused(&r, &["invalid_argument"], &format!("PATCH id as {t}"));
        }
        // A key of the right type but another value: the row cannot change its key.
        for id in [json!("a1"), json!(0)] {
            let r = ctx
                .patch(ALICE, "/api/data/accounts/a0", json!({ "id": id }))
                .await;
            assert_refused(&r, &["invalid_argument"], "PATCH id to another key");
        }
        // The owner column of a wrong type takes the row out of scope: 403, not a write.
        for (t, v) in samples().into_iter().filter(|(t, _)| *t != "string") {
            let r = ctx
                .patch(ALICE, "/api/data/accounts/a0", json!({ "ownerId": v }))
                .await;
            assert_refused(&r, &["forbidden"], &format!("PATCH ownerId as {t}"));
        }
        ctx.assert_unchanged(&before, "a refused write wrote").await;
    })
    .await;
}

/// Numbers at the edges of f64 come back from the server as they were written, to the
/// last bit (serde_json read some one ulp off before `float_roundtrip`; a client's value
/// changed on its trip through the server).
#[tokio::test]
async fn floats_come_back_from_the_server_exactly() {
    for_each_backend(|kind| async move {
        let ctx = Ctx::demo(kind).await;
        let texts = [
            "1.6551560844407726e-186",
            "-4.7178335784168943e-153",
            "-1.74253517007099e-9",
            "5e-324",
            "1.7976931348623157e308",
            "0.30000000000000004",
        ];
        let cols: Vec<String> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| format!("\"c{i}\":{t}"))
            .collect();
        let body = format!(r#"{{"id":"f1","ownerId":"alice",{}}}"#, cols.join(","));
        let r = ctx
            .raw(
                "POST",
                "/api/data/notes",
                Some(ALICE),
                Some(body.into_bytes()),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let replica = Replica::synced(&ctx, ALICE, "floats").await;
        let pulled = &replica.row("notes", "f1").expect("pulled").1;
        let read = ctx.get(ALICE, "/api/data/notes/f1").await.body;
        for (i, t) in texts.iter().enumerate() {
            let exact = t.parse::<f64>().unwrap().to_bits();
            let c = format!("c{i}");
            assert_eq!(
                pulled[&c].as_f64().map(f64::to_bits),
                Some(exact),
                "{kind:?} pull {t}"
            );
            assert_eq!(
                read[&c].as_f64().map(f64::to_bits),
                Some(exact),
                "{kind:?} GET {t}"
            );
        }
    })
    .await;
}
