//! Table.query and Table.count: equality, every operator, AND, or, orderBy (string and
//! pairs), limit, offset, select; the OData string forms give identical results; bad
//! queries are invalid_argument and change nothing.

use crate::common::*;
use js_sys::{Array, Promise};
use offline_tables::{OfflineStore, Table};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

/// Keys in key order: 6, 7, then "a1".."a8". "employees" is missing on a4 and a string
/// on 7; "city" is null on 6 and missing on a8.
const ROWS: &str = r#"[
  {"id":"a1","name":"Acme","city":"Paris","ownerId":"u1","employees":120,"tags":["x"]},
  {"id":"a2","name":"Blue Sky","city":"Lyon","ownerId":"u1","employees":15},
  {"id":"a3","name":"Cedar","city":"Paris","ownerId":"u2","employees":40},
  {"id":"a4","name":"Delta","city":"Zürich","ownerId":"u2"},
  {"id":"a5","name":"Échelle","city":"Paris","ownerId":"u3","employees":40},
  {"id":6,"name":"Foxtrot","city":null,"ownerId":"u1","employees":7},
  {"id":7,"name":"acme lower","city":"Pau","ownerId":"u3","employees":"40"},
  {"id":"a8","name":"Golf","ownerId":"u2","employees":300}
]"#;

async fn setup() -> (OfflineStore, Table) {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(ROWS))).await;
    (store, t)
}

fn q(json: &str) -> Option<JsValue> {
    Some(js(json))
}

fn odata(s: &str) -> Option<JsValue> {
    Some(JsValue::from_str(s))
}

/// The ids of the rows a query returns, as JSON.
async fn ids(p: Promise) -> String {
    let rows: Array = ok(p).await.into();
    let ids: Array = rows
        .iter()
        .map(|r| js_sys::Reflect::get(&r, &"id".into()).unwrap())
        .collect();
    json(&ids.into())
}

async fn count(t: &Table, query: Option<JsValue>) -> u32 {
    ok(t.count(query)).await.as_f64().unwrap() as u32
}

#[wasm_bindgen_test]
async fn where_equality_and_each_operator() {
    let (store, t) = setup().await;
    let cases = [
        (r#"{}"#, r#"[6,7,"a1","a2","a3","a4","a5","a8"]"#),
        (r#"{"city":"Paris"}"#, r#"["a1","a3","a5"]"#),
        (r#"{"employees":40}"#, r#"["a3","a5"]"#),
        (r#"{"employees":"40"}"#, r#"[7]"#),
        (r#"{"city":null}"#, r#"[6,"a8"]"#),
        (r#"{"id":7}"#, r#"[7]"#),
        (r#"{"id":"7"}"#, r#"[]"#),
        (r#"{"tags":["x"]}"#, r#"["a1"]"#),
        (r#"{"city":{"eq":"Paris"}}"#, r#"["a1","a3","a5"]"#),
        (r#"{"city":{"ne":"Paris"}}"#, r#"[6,7,"a2","a4","a8"]"#),
        (r#"{"employees":{"gt":40}}"#, r#"["a1","a8"]"#),
        (r#"{"employees":{"gte":40}}"#, r#"["a1","a3","a5","a8"]"#),
        (r#"{"employees":{"lt":40}}"#, r#"[6,"a2"]"#),
        (r#"{"employees":{"lte":40}}"#, r#"[6,"a2","a3","a5"]"#),
        (r#"{"city":{"gt":"Paris"}}"#, r#"[7,"a4"]"#),
        (r#"{"city":{"lte":"Paris"}}"#, r#"["a1","a2","a3","a5"]"#),
        (
            r#"{"ownerId":{"in":["u2","u3"]}}"#,
            r#"[7,"a3","a4","a5","a8"]"#,
        ),
        (r#"{"employees":{"in":[40,"40",999]}}"#, r#"[7,"a3","a5"]"#),
        (r#"{"ownerId":{"in":[]}}"#, r#"[]"#),
        (r#"{"name":{"startsWith":"Ac"}}"#, r#"["a1"]"#),
        (r#"{"city":{"startsWith":"Pa"}}"#, r#"[7,"a1","a3","a5"]"#),
        (
            r#"{"city":{"startsWith":""}}"#,
            r#"[7,"a1","a2","a3","a4","a5"]"#,
        ),
        (
            r#"{"name":{"contains":"e"}}"#,
            r#"[7,"a1","a2","a3","a4","a5"]"#,
        ),
        (r#"{"name":{"contains":"ch"}}"#, r#"["a5"]"#),
        (r#"{"city":{"contains":"ü"}}"#, r#"["a4"]"#),
        // Several columns and several operators on one column are AND-ed.
        (r#"{"city":"Paris","ownerId":"u1"}"#, r#"["a1"]"#),
        (
            r#"{"employees":{"gte":15,"lt":120}}"#,
            r#"["a2","a3","a5"]"#,
        ),
        (r#"{"employees":{"gt":100,"lt":50}}"#, r#"[]"#),
        (
            r#"{"city":"Paris","employees":{"gte":40},"name":{"contains":"e"}}"#,
            r#"["a1","a3","a5"]"#,
        ),
        // Alternatives.
        (
            r#"{"or":[{"city":"Lyon"},{"employees":{"gt":100}}]}"#,
            r#"["a1","a2","a8"]"#,
        ),
        (
            r#"{"ownerId":"u2","or":[{"city":"Zürich"},{"employees":{"gte":300}}]}"#,
            r#"["a4","a8"]"#,
        ),
        (
            r#"{"or":[{"city":"Lyon"},{}]}"#,
            r#"[6,7,"a1","a2","a3","a4","a5","a8"]"#,
        ),
    ];
    for (w, expected) in cases {
        let query = format!(r#"{{"where":{w}}}"#);
        assert_eq!(ids(t.query(q(&query))).await, expected, "{query}");
        let n = expected.matches(',').count() + usize::from(expected != "[]");
        assert_eq!(count(&t, q(&query)).await as usize, n, "count {query}");
    }
    finish(store).await;
}

#[wasm_bindgen_test]
async fn order_by_limit_offset_and_select() {
    let (store, t) = setup().await;
    let cases = [
        // Strings order by UTF-16 units: "acme lower" and "Échelle" after the capitals.
        (
            r#"{"orderBy":"name"}"#,
            r#"["a1","a2","a3","a4",6,"a8",7,"a5"]"#,
        ),
        (
            r#"{"orderBy":[["name","desc"]]}"#,
            r#"["a5",7,"a8",6,"a4","a3","a2","a1"]"#,
        ),
        (
            r#"{"orderBy":[["name","asc"],["city","desc"]]}"#,
            r#"["a1","a2","a3","a4",6,"a8",7,"a5"]"#,
        ),
        // Missing and null first, ties by key; desc on the second column.
        (
            r#"{"orderBy":[["city","asc"],["name","desc"]]}"#,
            r#"["a8",6,"a2","a5","a3","a1",7,"a4"]"#,
        ),
        (
            r#"{"orderBy":["ownerId",["employees","desc"]]}"#,
            r#"["a1","a2",6,"a8","a3","a4",7,"a5"]"#,
        ),
        // Missing first, then numbers, then strings; equal values by key.
        (
            r#"{"orderBy":"employees"}"#,
            r#"["a4",6,"a2","a3","a5","a1","a8",7]"#,
        ),
        (
            r#"{"orderBy":"name","limit":3,"offset":2}"#,
            r#"["a3","a4",6]"#,
        ),
        (r#"{"orderBy":"name","offset":7}"#, r#"["a5"]"#),
        (r#"{"orderBy":"name","offset":8}"#, r#"[]"#),
        (r#"{"limit":0}"#, r#"[]"#),
        (r#"{"limit":2}"#, r#"[6,7]"#),
        (r#"{"limit":2,"offset":3}"#, r#"["a2","a3"]"#),
        (
            r#"{"where":{"city":"Paris"},"limit":1,"offset":1}"#,
            r#"["a3"]"#,
        ),
        (
            r#"{"where":{"city":"Paris"},"orderBy":[["name","desc"]],"limit":2}"#,
            r#"["a5","a3"]"#,
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(t.query(q(query))).await, expected, "{query}");
    }
    assert_eq!(count(&t, q(r#"{"limit":3,"offset":6}"#)).await, 2);

    let rows = ok_json(t.query(q(
        r#"{"where":{"city":"Paris"},"orderBy":"employees","select":["name","tags"]}"#,
    )))
    .await;
    assert_eq!(
        rows,
        r#"[{"name":"Cedar"},{"name":"Échelle"},{"name":"Acme","tags":["x"]}]"#
    );
    let rows = ok_json(t.query(q(r#"{"select":["id"],"limit":3}"#))).await;
    assert_eq!(rows, r#"[{"id":6},{"id":7},{"id":"a1"}]"#);
    let rows = ok_json(t.query(q(r#"{"select":[],"limit":1}"#))).await;
    assert_eq!(rows, r#"[{}]"#);
    // Selecting returns copies: the stored rows keep every column.
    assert_eq!(
        ok_json(t.get("a1".into())).await,
        json(&Array::from(&js(ROWS)).get(0))
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn odata_strings_give_the_same_results_as_query_objects() {
    let (store, t) = setup().await;
    let pairs = [
        (
            r#"{"where":{"city":"Paris","ownerId":"u1"},"orderBy":[["name","desc"]],"limit":50,"offset":0,"select":["id","name"]}"#,
            "$filter=city eq 'Paris' and ownerId eq 'u1'&$orderby=name desc&$top=50&$skip=0&$select=id,name",
        ),
        (r#"{"where":{"city":"Paris"}}"#, "$filter=city eq 'Paris'"),
        (r#"{"where":{"city":{"ne":"Paris"}}}"#, "$filter=city ne 'Paris'"),
        (r#"{"where":{"city":null}}"#, "$filter=city eq null"),
        (r#"{"where":{"employees":{"gt":40}}}"#, "$filter=employees gt 40"),
        (r#"{"where":{"employees":{"gte":40}}}"#, "$filter=employees ge 40"),
        (r#"{"where":{"employees":{"lt":40}}}"#, "$filter=employees lt 40"),
        (r#"{"where":{"employees":{"lte":40}}}"#, "$filter=employees le 40"),
        (r#"{"where":{"employees":"40"}}"#, "$filter=employees eq '40'"),
        (r#"{"where":{"id":7}}"#, "$filter=id eq 7"),
        (r#"{"where":{"ownerId":{"in":["u2","u3"]}}}"#, "$filter=ownerId in ('u2','u3')"),
        (r#"{"where":{"name":{"startsWith":"Ac"}}}"#, "$filter=startswith(name,'Ac')"),
        (r#"{"where":{"name":{"contains":"e"}}}"#, "$filter=contains(name,'e')"),
        (r#"{"where":{"city":{"contains":"ü"}}}"#, "$filter=contains(city,'ü')"),
        (
            r#"{"where":{"employees":{"gte":15,"lt":120}}}"#,
            "$filter=employees ge 15 and employees lt 120",
        ),
        (
            r#"{"where":{"or":[{"city":"Lyon"},{"employees":{"gt":100}}]}}"#,
            "$filter=city eq 'Lyon' or employees gt 100",
        ),
        (
            r#"{"where":{"ownerId":"u2","or":[{"city":"Zürich"},{"employees":{"gte":300}}]}}"#,
            "$filter=ownerId eq 'u2' and (city eq 'Zürich' or employees ge 300)",
        ),
        (r#"{"orderBy":"name"}"#, "$orderby=name"),
        (
            r#"{"orderBy":[["city","asc"],["name","desc"]]}"#,
            "$orderby=city asc,name desc",
        ),
        (r#"{"orderBy":"name","limit":3,"offset":2}"#, "$orderby=name&$top=3&$skip=2"),
        (r#"{"select":["id","city"]}"#, "$select=id,city"),
        (r#"{}"#, ""),
    ];
    for (object, string) in pairs {
        let a = ok_json(t.query(q(object))).await;
        let b = ok_json(t.query(odata(string))).await;
        assert_eq!(a, b, "{object} vs {string:?}");
        assert_eq!(
            count(&t, q(object)).await,
            count(&t, odata(string)).await,
            "count {string:?}"
        );
    }
    assert_eq!(
        ok_json(t.query(odata("$filter=city eq 'Paris' and ownerId eq 'u1'&$orderby=name desc&$top=50&$skip=0&$select=id,name"))).await,
        r#"[{"id":"a1","name":"Acme"}]"#
    );
    assert_eq!(
        ids(t.query(odata("$filter=not (city eq 'Paris')"))).await,
        r#"[6,7,"a2","a4","a8"]"#
    );
    finish(store).await;
}

#[wasm_bindgen_test]
async fn query_and_count_without_arguments_read_everything() {
    let (store, t) = setup().await;
    assert_eq!(count(&t, None).await, 8);
    assert_eq!(count(&t, Some(JsValue::NULL)).await, 8);
    assert_eq!(count(&t, Some(JsValue::UNDEFINED)).await, 8);
    assert_eq!(
        ids(t.query(Some(JsValue::NULL))).await,
        ids(t.query(None)).await
    );
    let empty = store.table("workorders").unwrap();
    assert_eq!(ok_json(empty.query(None)).await, "[]");
    assert_eq!(count(&empty, q(r#"{"where":{"status":"open"}}"#)).await, 0);
    finish(store).await;
}

#[wasm_bindgen_test]
async fn bad_queries_are_invalid_argument() {
    let (store, t) = setup().await;
    let before = snapshot(&store).await;
    let objects = [
        r#"{"where":{"city":{"like":"Pa%"}}}"#,
        r#"{"where":{"city":{}}}"#,
        r#"{"where":{"employees":{"gt":true}}}"#,
        r#"{"where":{"employees":{"lt":null}}}"#,
        r#"{"where":{"ownerId":{"in":"u1"}}}"#,
        r#"{"where":{"name":{"startsWith":1}}}"#,
        r#"{"where":{"name":{"contains":null}}}"#,
        r#"{"where":{"or":[]}}"#,
        r#"{"where":{"or":{"city":"Paris"}}}"#,
        r#"{"where":{"bad column":1}}"#,
        r#"{"where":[]}"#,
        r#"{"filter":{"city":"Paris"}}"#,
        r#"{"orderBy":[["name","up"]]}"#,
        r#"{"orderBy":3}"#,
        r#"{"limit":-1}"#,
        r#"{"limit":1.5}"#,
        r#"{"offset":"2"}"#,
        r#"{"select":"id,name"}"#,
        r#"{"select":[1]}"#,
        r#"[]"#,
        r#"42"#,
        r#"true"#,
    ];
    for bad in objects {
        assert_eq!(code_of(t.query(q(bad))).await, "invalid_argument", "{bad}");
        assert_eq!(
            code_of(t.count(q(bad))).await,
            "invalid_argument",
            "count {bad}"
        );
    }
    let strings = [
        "$filter=city like 'Pa'",
        "$filter=name eq 'abc",
        "$filter=city eq 'a' xyz",
        "$filter=(city eq 'a'",
        "$filter=city",
        "$filter=employees gt true",
        "$filter=substringof('a',name)",
        "$filter=city eq Paris",
        "$orderby=name sideways",
        "$top=-1",
        "$top=1.5",
        "$skip=x",
        "$select=id,",
        "$expand=owner",
        "$filter=a eq 1&$filter=b eq 2",
        "city eq 'Paris'",
    ];
    for bad in strings {
        assert_eq!(
            code_of(t.query(odata(bad))).await,
            "invalid_argument",
            "{bad:?}"
        );
        assert_eq!(
            code_of(t.count(odata(bad))).await,
            "invalid_argument",
            "count {bad:?}"
        );
    }
    let msg = message_of(t.query(q(r#"{"where":{"city":{"like":"x"}}}"#))).await;
    assert!(msg.contains("like"), "names the operator: {msg}");
    assert_eq!(snapshot(&store).await, before);
    finish(store).await;
}

/// A filtered `limit` over a large table reads in chunks and stops early; the page it
/// returns must equal the same page cut from the full answer, across chunk boundaries.
#[wasm_bindgen_test]
async fn limited_filtered_scans_return_the_same_page_as_a_full_read() {
    let store = fresh().await;
    let t = store.table("accounts").unwrap();
    let rows: Array = (0..3000)
        .map(|i| {
            let key = if i % 3 == 0 {
                JsValue::from(i)
            } else {
                JsValue::from(format!("k{i:05}"))
            };
            let row = js(&format!(r#"{{"n":{},"name":"row {i}"}}"#, i % 7));
            js_sys::Reflect::set(&row, &"id".into(), &key).unwrap();
            row
        })
        .collect();
    ok(t.bulk_put(rows.into())).await;
    for (filter, offset, limit) in [
        (r#"{"n":{"gte":5}}"#, 0, 10),
        (r#"{"n":3}"#, 120, 50),
        (r#"{"n":{"in":[1,6]}}"#, 700, 300),
        (r#"{"name":{"contains":"9"}}"#, 5, 2000),
        (r#"{"n":6,"id":{"gt":"k01000"}}"#, 30, 40),
        (r#"{"n":{"ne":0},"id":{"lt":2000}}"#, 100, 100),
        (r#"{"n":42}"#, 0, 5),
    ] {
        let all: Array = ok(t.query(q(&format!(r#"{{"where":{filter}}}"#))))
            .await
            .into();
        let expected = all.slice(offset, (offset + limit).min(all.length()));
        let page = ok(t.query(q(&format!(
            r#"{{"where":{filter},"offset":{offset},"limit":{limit},"select":["id","n"]}}"#
        ))))
        .await;
        let expected: Array = expected
            .iter()
            .map(|r| {
                let o = js_sys::Object::new();
                for c in ["id", "n"] {
                    js_sys::Reflect::set(
                        &o,
                        &c.into(),
                        &js_sys::Reflect::get(&r, &c.into()).unwrap(),
                    )
                    .unwrap();
                }
                JsValue::from(o)
            })
            .collect();
        assert_eq!(
            json(&page),
            json(&expected.into()),
            "{filter} offset {offset} limit {limit}"
        );
    }
    finish(store).await;
}

/// A condition whose value is `undefined` (an unset variable in the app) reads as null,
/// as it did when queries crossed through serde-wasm-bindgen: it must not vanish and turn
/// the query into "every row" (queries now cross as JSON text, which drops undefined).
#[wasm_bindgen_test]
async fn an_undefined_condition_reads_as_null_not_as_no_condition() {
    let (store, t) = setup().await;
    let query = js("{}");
    js_sys::Reflect::set(&query, &"where".into(), &with_undefined(&js("{}"), "city")).unwrap();
    let as_null = ids(t.query(q(r#"{"where":{"city":null}}"#))).await;
    let all = ids(t.query(None)).await;
    assert_ne!(as_null, all, "null must filter");
    assert_eq!(ids(t.query(Some(query.clone()))).await, as_null);
    assert_eq!(
        count(&t, Some(query)).await,
        count(&t, q(r#"{"where":{"city":null}}"#)).await
    );
    finish(store).await;
}
