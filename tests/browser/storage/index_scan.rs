//! Index vs scan: the same queries over the same few hundred random-ish rows (missing
//! columns, nulls, numbers next to strings, non-ASCII, arrays) give deeply identical
//! results on a table with indexes and one without, and agree with a plain oracle.

use crate::common::*;
use js_sys::Array;
use offline_tables::{OfflineStore, Table};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

const INDEXED: &str = r#"{"version":1,"tables":{"accounts":{"key":"id","indexes":["ownerId","city","n","name","modifiedOn"]}}}"#;
const PLAIN: &str = r#"{"version":1,"tables":{"accounts":{"key":"id"}}}"#;
const ROWS: usize = 360;

/// xorshift32: the same rows on every run.
struct Rng(u32);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.next() as usize % items.len()].clone()
    }
}

/// A JSON number as JavaScript prints it (`-94`, not `-94.0`).
fn number(f: f64) -> Value {
    if f.fract() == 0.0 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// Rows of random-ish columns, each column missing from about one row in eight.
fn rows() -> Vec<Map<String, Value>> {
    let mut rng = Rng(0x9E37_79B9);
    let owners = [
        json!("u1"),
        json!("u2"),
        json!("U1"),
        json!(1),
        json!(2),
        json!(true),
        Value::Null,
    ];
    let cities = [
        json!("Paris"),
        json!("Paris"),
        json!("Lyon"),
        json!("Zürich"),
        json!("São Paulo"),
        json!("東京"),
        json!("😀ville"),
        json!("paris"),
        json!("Paris "),
        json!("Pau"),
        json!(""),
        json!(5),
        json!(5.5),
        json!(-3),
        json!(false),
        json!(["Paris"]),
        json!({"c": "Paris"}),
        Value::Null,
    ];
    let names = [
        "Acme",
        "acme",
        "Ácme",
        "Blue",
        "Cedar",
        "Ωmega",
        "😀 Smile",
        "😁",
        "ｱｲ",
        "Z",
        "a\u{0}b",
        "Acme Corp",
    ];
    let prefixes = ["k", "K", "é", "😀", "ｱ", ""];
    (0..ROWS)
        .map(|i| {
            let mut r = Map::new();
            let id = match rng.next() % 4 {
                0 => number(i as f64 * 1.5 - 100.0),
                _ => json!(format!("{}{i}", rng.pick(&prefixes))),
            };
            r.insert("id".into(), id);
            let maybe = |r: &mut Map<String, Value>, col: &str, v: Value, rng: &mut Rng| {
                if rng.next() % 8 != 0 {
                    r.insert(col.into(), v);
                }
            };
            let v = rng.pick(&owners);
            maybe(&mut r, "ownerId", v, &mut rng);
            let v = rng.pick(&cities);
            maybe(&mut r, "city", v, &mut rng);
            let v = match rng.next() % 5 {
                0 => json!(format!("{}", rng.next() % 20)),
                1 => number((rng.next() % 1000) as f64 / 8.0 - 60.0),
                _ => json!((rng.next() % 41) as i64 - 20),
            };
            maybe(&mut r, "n", v, &mut rng);
            let v = match rng.next() % 7 {
                0 => json!(rng.next() % 3),
                _ => json!(rng.pick(&names)),
            };
            maybe(&mut r, "name", v, &mut rng);
            let v = json!(format!(
                "2024-{:02}-{:02}",
                1 + rng.next() % 12,
                1 + rng.next() % 28
            ));
            maybe(&mut r, "modifiedOn", v, &mut rng);
            r
        })
        .collect()
}

async fn setup(profile: &str, rows: &str) -> (OfflineStore, Table) {
    let store = open(&unique_name("ix"), profile).await;
    let t = store.table("accounts").unwrap();
    ok(t.bulk_put(js(rows))).await;
    (store, t)
}

/// Runs `q` on both tables: identical rows and counts. Returns the rows' JSON.
async fn same(indexed: &Table, plain: &Table, q: &JsValue) -> String {
    let a = ok_json(indexed.query(Some(q.clone()))).await;
    let b = ok_json(plain.query(Some(q.clone()))).await;
    assert_eq!(a, b, "query {} differs between index and scan", json(q));
    let ca = ok(indexed.count(Some(q.clone()))).await.as_f64();
    let cb = ok(plain.count(Some(q.clone()))).await.as_f64();
    assert_eq!(ca, cb, "count {} differs between index and scan", json(q));
    a
}

const OBJECT_QUERIES: &[&str] = &[
    r#"{"where":{"city":"Paris"}}"#,
    r#"{"where":{"city":"Paris"},"limit":5,"offset":3}"#,
    r#"{"where":{"city":"Paris"},"select":["id","n"],"limit":7}"#,
    r#"{"where":{"city":5}}"#,
    r#"{"where":{"city":5.5}}"#,
    r#"{"where":{"city":null}}"#,
    r#"{"where":{"city":false}}"#,
    r#"{"where":{"city":["Paris"]}}"#,
    r#"{"where":{"city":"東京"}}"#,
    r#"{"where":{"city":"😀ville"}}"#,
    r#"{"where":{"city":""}}"#,
    r#"{"where":{"city":{"ne":"Paris"}}}"#,
    r#"{"where":{"city":{"gt":"Paris"}}}"#,
    r#"{"where":{"city":{"gte":"Paris","lte":"Zürich"}}}"#,
    r#"{"where":{"city":{"lt":"P"}},"orderBy":"city"}"#,
    r#"{"where":{"city":{"gt":0}}}"#,
    r#"{"where":{"city":{"gt":"Z","lt":"A"}}}"#,
    r#"{"where":{"city":{"gt":0,"lt":"z"}}}"#,
    r#"{"where":{"city":{"in":["Paris",5,"Lyon",null,"Paris"]}}}"#,
    r#"{"where":{"city":{"in":[]}}}"#,
    r#"{"where":{"city":{"startsWith":"Pa"}}}"#,
    r#"{"where":{"city":{"startsWith":""}}}"#,
    r#"{"where":{"city":{"startsWith":"😀"}}}"#,
    r#"{"where":{"city":{"startsWith":"Z"}},"orderBy":[["city","desc"]]}"#,
    r#"{"where":{"city":{"contains":"ri"}}}"#,
    r#"{"where":{"n":{"gte":0,"lt":10}}}"#,
    r#"{"where":{"n":{"gt":-5.5}},"orderBy":[["n","desc"]],"limit":20}"#,
    r#"{"where":{"n":{"lte":"5"}}}"#,
    r#"{"where":{"n":0}}"#,
    r#"{"where":{"n":{"in":[1,"1",2,-20]}},"orderBy":"n"}"#,
    r#"{"where":{"n":{"gt":3},"city":"Paris"}}"#,
    r#"{"where":{"name":{"startsWith":"Ac"}},"orderBy":["name",["id","desc"]]}"#,
    r#"{"where":{"name":{"startsWith":"😀"}}}"#,
    r#"{"where":{"name":{"gte":"a"}},"orderBy":"name","offset":10,"limit":15}"#,
    r#"{"where":{"name":"a\u0000b"}}"#,
    r#"{"where":{"name":{"in":[0,1,"Z"]}}}"#,
    r#"{"where":{"ownerId":"u1","city":{"in":["Paris","Lyon"]}}}"#,
    r#"{"where":{"ownerId":1}}"#,
    r#"{"where":{"ownerId":true}}"#,
    r#"{"where":{"ownerId":{"ne":null},"n":{"lt":0}},"orderBy":["ownerId","n"]}"#,
    r#"{"where":{"modifiedOn":{"gte":"2024-03-01","lt":"2024-06-01"}},"orderBy":"modifiedOn"}"#,
    r#"{"where":{"modifiedOn":{"startsWith":"2024-1"}},"limit":10}"#,
    r#"{"where":{"or":[{"city":"Lyon"},{"n":{"gt":15}}]}}"#,
    r#"{"where":{"city":"Paris","or":[{"ownerId":"u2"},{"name":{"startsWith":"A"}}]}}"#,
    r#"{"where":{"id":{"gte":0,"lt":100}}}"#,
    r#"{"where":{"id":{"startsWith":"é"}},"orderBy":"n"}"#,
    r#"{"where":{"id":{"in":[-100,"k1","12",12]}}}"#,
    r#"{"orderBy":[["city","asc"],["name","desc"]]}"#,
    r#"{"orderBy":"n","limit":25,"offset":100}"#,
    r#"{"limit":10,"offset":350}"#,
];

const ODATA_QUERIES: &[&str] = &[
    "$filter=city eq 'Paris' and ownerId eq 'u1'&$orderby=name desc&$top=50&$skip=0&$select=id,name",
    "$filter=city eq 'Zürich'",
    "$filter=city ge 'Lyon' and city le 'Pau'&$orderby=city desc,id",
    "$filter=n lt -10 or n gt 10",
    "$filter=n ge 0 and n le 0.5",
    "$filter=startswith(name,'Á') or contains(name,'me')",
    "$filter=not (city eq 'Paris')&$top=30",
    "$filter=ownerId in ('u1','U1',1)&$skip=5",
    "$filter=modifiedOn gt '2024-11-30'",
    "$filter=name eq 'ｱｲ'&$select=id",
];

#[wasm_bindgen_test]
async fn queries_give_identical_results_with_and_without_indexes() {
    spy_index_reads();
    let data = rows();
    let text = serde_json::to_string(&data).unwrap();
    let (si, indexed) = setup(INDEXED, &text).await;
    let (sp, plain) = setup(PLAIN, &text).await;
    // The rows are stored as they were put.
    let keys: Array = data.iter().map(|r| js(&r["id"].to_string())).collect();
    assert_eq!(ok_json(indexed.get_many(keys.clone().into())).await, text);
    assert_eq!(ok_json(plain.get_many(keys.into())).await, text);

    let mut index_reads = 0;
    let mut nonempty = 0;
    for q in OBJECT_QUERIES
        .iter()
        .map(|q| js(q))
        .chain(ODATA_QUERIES.iter().map(|s| JsValue::from_str(s)))
    {
        take_index_reads();
        let a = ok(indexed.query(Some(q.clone()))).await;
        index_reads += take_index_reads();
        let b = ok(plain.query(Some(q.clone()))).await;
        assert_eq!(
            take_index_reads(),
            0,
            "the plain table has no index to read"
        );
        assert_eq!(
            json(&a),
            json(&b),
            "query {} differs between index and scan",
            json(&q)
        );
        nonempty += usize::from(Array::from(&a).length() > 0);
        same(&indexed, &plain, &q).await;
    }
    assert!(
        index_reads >= 30,
        "most queries went through an index ({index_reads})"
    );
    assert!(
        nonempty >= 45,
        "the queries select something ({nonempty} non-empty)"
    );
    finish(si).await;
    finish(sp).await;
}

fn key_order(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap(),
        (Value::Number(_), _) => Ordering::Less,
        (_, Value::Number(_)) => Ordering::Greater,
        (Value::String(x), Value::String(y)) => x.encode_utf16().cmp(y.encode_utf16()),
        _ => unreachable!(),
    }
}

type Pred = fn(&Map<String, Value>) -> bool;

fn num(r: &Map<String, Value>, c: &str) -> Option<f64> {
    r.get(c).and_then(Value::as_f64)
}

fn text<'a>(r: &'a Map<String, Value>, c: &str) -> Option<&'a str> {
    r.get(c).and_then(Value::as_str)
}

#[wasm_bindgen_test]
async fn both_tables_agree_with_a_plain_filter_over_the_rows() {
    let data = rows();
    let text_rows = serde_json::to_string(&data).unwrap();
    let (si, indexed) = setup(INDEXED, &text_rows).await;
    let (sp, plain) = setup(PLAIN, &text_rows).await;
    let oracle: &[(&str, Pred)] = &[
        (r#"{"city":"Paris"}"#, |r| text(r, "city") == Some("Paris")),
        (r#"{"city":null}"#, |r| {
            r.get("city").map_or(true, Value::is_null)
        }),
        (r#"{"city":5}"#, |r| num(r, "city") == Some(5.0)),
        (r#"{"n":{"gte":0,"lt":10}}"#, |r| {
            num(r, "n").is_some_and(|n| (0.0..10.0).contains(&n))
        }),
        (r#"{"n":{"gt":"3"}}"#, |r| {
            text(r, "n").is_some_and(|n| n > "3")
        }),
        (r#"{"name":{"startsWith":"😀"}}"#, |r| {
            text(r, "name").is_some_and(|n| n.starts_with('😀'))
        }),
        (r#"{"ownerId":{"in":["u1",1]}}"#, |r| {
            text(r, "ownerId") == Some("u1") || num(r, "ownerId") == Some(1.0)
        }),
        (r#"{"modifiedOn":{"gte":"2024-03","lt":"2024-06"}}"#, |r| {
            text(r, "modifiedOn").is_some_and(|m| ("2024-03".."2024-06").contains(&m))
        }),
        (r#"{"city":{"ne":"Paris"},"ownerId":"u2"}"#, |r| {
            text(r, "city") != Some("Paris") && text(r, "ownerId") == Some("u2")
        }),
    ];
    for (w, pred) in oracle {
        let mut expected: Vec<&Map<String, Value>> = data.iter().filter(|r| pred(r)).collect();
        expected.sort_by(|a, b| key_order(&a["id"], &b["id"]));
        assert!(!expected.is_empty(), "{w} should match some rows");
        let expected = serde_json::to_string(&expected).unwrap();
        let q = js(&format!(r#"{{"where":{w}}}"#));
        let got = same(&indexed, &plain, &q).await;
        assert_eq!(canon(&got), canon(&expected), "{w}");
    }
    finish(si).await;
    finish(sp).await;
}
