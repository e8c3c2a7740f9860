//! The query language: both forms parse to the same `Query`, every rejection says what is
//! wrong, evaluation follows the documented semantics, and a planned read through a
//! simulated IndexedDB returns exactly what a scan returns (a seeded property test).

use offline_tables_core::query::{
    compare_rows, parse_filter, project, Bound, CmpOp, Direction, KeyRange, Plan, Source,
};
use offline_tables_core::{ErrorCode, Filter, Query};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

// ---------------------------------------------------------------------------------------
// Helpers

fn obj(v: Value) -> Query {
    Query::from_object(&v).unwrap_or_else(|e| panic!("{v} should parse: {e}"))
}

fn odata(s: &str) -> Query {
    Query::from_odata(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
}

fn row(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not a row: {other}"),
    }
}

fn cmp(column: &str, op: CmpOp, value: Value) -> Filter {
    Filter::Cmp {
        column: column.into(),
        op,
        value,
    }
}

#[track_caller]
fn object_error(v: Value, needle: &str) {
    match Query::from_object(&v) {
        Ok(q) => panic!("{v} should be rejected, got {q:?}"),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{e}");
            assert!(
                e.message.contains(needle),
                "message for {v} should contain {needle:?}: {:?}",
                e.message
            );
        }
    }
}

#[track_caller]
fn odata_error(s: &str, needle: &str) {
    match Query::from_odata(s) {
        Ok(q) => panic!("{s:?} should be rejected, got {q:?}"),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{e}");
            assert!(
                e.message.contains(needle),
                "message for {s:?} should contain {needle:?}: {:?}",
                e.message
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parsing: the two forms agree

#[test]
fn the_example_parses_the_same_both_ways() {
    let a = odata(
        "$filter=city eq 'Paris' and ownerId eq 'u1'&$orderby=name desc&$top=50&$skip=0&$select=id,name",
    );
    let b = obj(json!({ "where": { "city": "Paris", "ownerId": "u1" },
        "orderBy": [["name", "desc"]], "limit": 50, "offset": 0, "select": ["id", "name"] }));
    assert_eq!(a, b);
    assert_eq!(
        a,
        Query {
            filter: Some(Filter::And(vec![
                cmp("city", CmpOp::Eq, json!("Paris")),
                cmp("ownerId", CmpOp::Eq, json!("u1")),
            ])),
            order_by: vec![("name".into(), Direction::Desc)],
            limit: Some(50),
            offset: 0,
            select: Some(vec!["id".into(), "name".into()]),
            count: false,
        }
    );
}

#[test]
fn equivalent_forms_parse_to_equal_queries() {
    let pairs = [
        (json!({}), ""),
        (json!(null), "?"),
        (json!({ "where": {} , "limit": 0 }), "$top=0"),
        (
            json!({ "where": { "age": { "gte": 18, "lt": 65 } } }),
            "$filter=age ge 18 and age lt 65",
        ),
        (
            json!({ "where": { "age": { "gt": 1, "lte": 2, "ne": 3 } } }),
            "$filter=age gt 1 and age le 2 and age ne 3",
        ),
        (
            json!({ "where": { "or": [ { "city": "Paris" }, { "city": "Lyon", "status": { "ne": "closed" } } ] } }),
            "$filter=city eq 'Paris' or (city eq 'Lyon' and status ne 'closed')",
        ),
        (
            json!({ "where": { "status": { "in": ["open", "new"] } } }),
            "$filter=status in ('open','new')",
        ),
        (json!({ "where": { "n": { "in": [] } } }), "$filter=n in ()"),
        (
            json!({ "where": { "name": { "startsWith": "Ac", "contains": "O'B" } } }),
            "$filter=contains(name,'O''B') and startswith(name, 'Ac')",
        ),
        (
            json!({ "where": { "balance": { "gt": -12.5 }, "n": 3 } }),
            "$filter=balance gt -12.5 and n eq 3",
        ),
        (
            json!({ "where": { "active": true, "archived": { "ne": false }, "deletedOn": null } }),
            "$filter=active eq true and archived ne false and deletedOn eq null",
        ),
        (
            json!({ "where": { "name": "Smith & Sons", "note": "a=b" } }),
            "$filter=name eq 'Smith & Sons' and note eq 'a=b'",
        ),
        (
            json!({ "where": { "city": "Paris", "or": [ { "a": 1 }, { "b": { "lt": 2 } } ] } }),
            "$filter=city eq 'Paris' and (a eq 1 or b lt 2)",
        ),
        (json!({ "orderBy": "name" }), "$orderby=name"),
        (json!({ "orderBy": [["name", "asc"]] }), "$orderby=name asc"),
        (json!({ "orderBy": ["name", "city"] }), "$orderby=name,city"),
        (
            json!({ "orderBy": [["name", "asc"], ["city", "desc"]] }),
            "$orderby=name asc, city desc",
        ),
        (
            json!({ "orderBy": [["name", "desc"], "city"] }),
            "$orderby=name desc,city",
        ),
        (
            json!({ "where": { "name": "it's & co" }, "limit": 1 }),
            "$filter=name eq 'it''s & co'&$top=1",
        ),
        (json!({ "limit": 10, "offset": 20 }), "$skip=20&$top=10"),
        (json!({ "select": ["id"] }), "$select=id"),
        (json!({ "where": { "x": "é😀 ｡" } }), "$filter=x eq 'é😀 ｡'"),
    ];
    for (o, s) in pairs {
        assert_eq!(obj(o.clone()), odata(s), "{o} vs {s:?}");
    }
    // An empty `or` alternative matches every row, so the `or` disappears.
    assert_eq!(
        obj(json!({ "where": { "or": [ {}, { "city": "x" } ] } })),
        Query::default()
    );
    // `$count` exists only in the OData form.
    assert!(odata("$count=true").count);
    assert!(!odata("$count=false").count);
    // Decoded parameters, as a server receives them.
    let q = Query::from_odata_params([("$filter", "name eq 'a&b'"), ("$top", "5")]).unwrap();
    assert_eq!(q, obj(json!({ "where": { "name": "a&b" }, "limit": 5 })));
}

#[test]
fn odata_filter_shapes() {
    let f = |s: &str| parse_filter(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    // and binds tighter than or
    assert_eq!(
        f("a eq 1 or b eq 2 and c eq 3"),
        Filter::Or(vec![
            cmp("a", CmpOp::Eq, json!(1)),
            Filter::And(vec![
                cmp("b", CmpOp::Eq, json!(2)),
                cmp("c", CmpOp::Eq, json!(3))
            ]),
        ])
    );
    assert_eq!(
        f("not (a eq 1 or b ne 'x')"),
        Filter::Not(Box::new(Filter::Or(vec![
            cmp("a", CmpOp::Eq, json!(1)),
            cmp("b", CmpOp::Ne, json!("x")),
        ])))
    );
    assert_eq!(
        f("not a eq 1 and b eq 2"),
        Filter::And(vec![
            Filter::Not(Box::new(cmp("a", CmpOp::Eq, json!(1)))),
            cmp("b", CmpOp::Eq, json!(2)),
        ])
    );
    // Nested ANDs flatten.
    assert_eq!(
        f("(a eq 1 and b eq 2) and c eq 3"),
        Filter::And(vec![
            cmp("a", CmpOp::Eq, json!(1)),
            cmp("b", CmpOp::Eq, json!(2)),
            cmp("c", CmpOp::Eq, json!(3)),
        ])
    );
    assert_eq!(
        f("name eq 'O''Brien'"),
        cmp("name", CmpOp::Eq, json!("O'Brien"))
    );
    assert_eq!(f("name eq ''''"), cmp("name", CmpOp::Eq, json!("'")));
    assert_eq!(f("name eq ''"), cmp("name", CmpOp::Eq, json!("")));
    assert_eq!(f("n ge -3"), cmp("n", CmpOp::Gte, json!(-3)));
    assert_eq!(f("n le 0.25"), cmp("n", CmpOp::Lte, json!(0.25)));
    assert_eq!(f("n lt -0.5"), cmp("n", CmpOp::Lt, json!(-0.5)));
    assert_eq!(f("b eq false"), cmp("b", CmpOp::Eq, json!(false)));
    assert_eq!(f("b ne null"), cmp("b", CmpOp::Ne, Value::Null));
    assert_eq!(
        f("  n   in ( 1 , 'a',null,true )  "),
        Filter::In {
            column: "n".into(),
            values: vec![json!(1), json!("a"), Value::Null, json!(true)]
        }
    );
    assert_eq!(
        f("StartsWith(name,'Ab')"),
        Filter::StartsWith {
            column: "name".into(),
            prefix: "Ab".into()
        }
    );
    assert_eq!(
        f("contains(name,'&')"),
        Filter::Contains {
            column: "name".into(),
            needle: "&".into()
        }
    );
    let q = odata("?$filter=name eq 'a&$top=1'&$top=2");
    assert_eq!(q.filter, Some(cmp("name", CmpOp::Eq, json!("a&$top=1"))));
    assert_eq!(q.limit, Some(2));
}

#[test]
fn object_form_rejections() {
    object_error(
        json!({ "where": { "city": { "like": "x" } } }),
        "where.city: unknown operator 'like' (expected one of eq, ne, gt, gte, lt, lte, in, startsWith, contains)",
    );
    object_error(
        json!({ "filter": { "city": "x" } }),
        "unknown query field 'filter'",
    );
    object_error(json!({ "top": 5 }), "unknown query field 'top'");
    object_error(
        json!({ "orderBy": [["name", "up"]] }),
        "orderBy[0][1] must be \"asc\" or \"desc\", got \"up\"",
    );
    object_error(
        json!({ "orderBy": [["name", "asc", "x"]] }),
        "orderBy[0] must be a column name or [column",
    );
    object_error(
        json!({ "orderBy": [[1, "asc"]] }),
        "orderBy[0][0] must be a column name",
    );
    object_error(
        json!({ "orderBy": 5 }),
        "orderBy must be a column name or an array, got a number",
    );
    object_error(
        json!({ "orderBy": "first name" }),
        "orderBy: 'first name' is not a valid column name",
    );
    object_error(
        json!({ "limit": -1 }),
        "limit must be a non-negative integer, got -1",
    );
    object_error(
        json!({ "limit": 2.5 }),
        "limit must be a non-negative integer, got 2.5",
    );
    object_error(
        json!({ "limit": "10" }),
        "limit must be a non-negative integer, got \"10\"",
    );
    object_error(
        json!({ "offset": -3 }),
        "offset must be a non-negative integer, got -3",
    );
    object_error(
        json!({ "where": { "age": { "gt": true } } }),
        "where.age.gt: needs a string or a number, got a boolean",
    );
    object_error(
        json!({ "where": { "age": { "lte": null } } }),
        "where.age.lte: needs a string or a number, got null",
    );
    object_error(
        json!({ "where": { "name": { "startsWith": 3 } } }),
        "where.name.startsWith: needs a string, got a number",
    );
    object_error(
        json!({ "where": { "name": { "contains": ["a"] } } }),
        "where.name.contains: needs a string, got an array",
    );
    object_error(
        json!({ "where": { "city": { "in": "Paris" } } }),
        "where.city.in: needs an array, got a string",
    );
    object_error(
        json!({ "where": { "city": {} } }),
        "where.city: empty operator object",
    );
    object_error(
        json!({ "where": { "bad col": 1 } }),
        "where: 'bad col' is not a valid column name",
    );
    object_error(
        json!({ "where": { "or": [] } }),
        "where.or must hold at least one alternative",
    );
    object_error(
        json!({ "where": { "or": { "a": 1 } } }),
        "where.or must be an array of where objects",
    );
    object_error(
        json!({ "where": { "or": [ { "a": { "like": 1 } } ] } }),
        "where.or[0].a: unknown operator 'like'",
    );
    object_error(
        json!({ "where": 5 }),
        "where must be an object, got a number",
    );
    object_error(
        json!({ "select": "id" }),
        "select must be an array of column names, got a string",
    );
    object_error(
        json!({ "select": ["id", 3] }),
        "select[1] must be a column name",
    );
    object_error(
        json!({ "select": ["id", "9lives"] }),
        "select[1]: '9lives' is not a valid column name",
    );
    object_error(
        json!("city eq 'x'"),
        "query must be an object or an OData string, got a string",
    );
}

#[test]
fn odata_rejections() {
    odata_error(
        "$expand=orders",
        "unknown query option '$expand' (expected $filter, $orderby, $top, $skip, $select, $count)",
    );
    odata_error(
        "$filter=name eq 'abc",
        "$filter: unterminated string starting at position 8",
    );
    odata_error("$filter=name eq 'it''s", "unterminated string");
    odata_error(
        "$filter=city eq 'a' xyz",
        "$filter: expected 'and', 'or' or the end, found 'xyz' at position 12",
    );
    odata_error(
        "$filter=city eq 'a')",
        "expected 'and', 'or' or the end, found ')'",
    );
    odata_error(
        "$filter=city 'Paris'",
        "$filter: expected an operator (eq, ne, gt, ge, lt, le, in), found 'Paris' at position 5",
    );
    odata_error(
        "$filter=city like 'x'",
        "expected an operator (eq, ne, gt, ge, lt, le, in), found 'like'",
    );
    odata_error(
        "$filter=city",
        "expected an operator (eq, ne, gt, ge, lt, le, in), found the end",
    );
    odata_error(
        "$filter=age gt true",
        "$filter: gt on 'age' needs a string or a number, got true",
    );
    odata_error(
        "$filter=age le null",
        "$filter: lte on 'age' needs a string or a number, got null",
    );
    odata_error("$filter=a eq 1&$filter=b eq 2", "$filter is given twice");
    odata_error("$top=1&$top=2", "$top is given twice");
    odata_error("$top=-1", "$top must be a non-negative integer, got '-1'");
    odata_error("$top=1.5", "$top must be a non-negative integer, got '1.5'");
    odata_error("$skip=x", "$skip must be a non-negative integer, got 'x'");
    odata_error("$skip=", "$skip must be a non-negative integer, got ''");
    odata_error(
        "$orderby=name up",
        "$orderby: expected asc or desc after 'name', got 'up'",
    );
    odata_error(
        "$orderby=name desc x",
        "$orderby: unexpected 'x' after 'name desc x'",
    );
    odata_error("$orderby=name,", "$orderby: '' is not a valid column name");
    odata_error("$select=id,,name", "$select: '' is not a valid column name");
    odata_error(
        "$filter=",
        "expected a column name, a function or '(', found the end",
    );
    odata_error("$filter=a eq 1 and", "found the end");
    odata_error("$filter=(a eq 1", "expected ')', found the end");
    odata_error(
        "$filter=length(name) eq 3",
        "unknown function 'length' (expected startswith or contains)",
    );
    odata_error("$filter=startswith(name, 3)", "expected a string, found 3");
    odata_error(
        "$filter=startswith('x', name)",
        "expected a column name, found 'x'",
    );
    odata_error("$filter=city in 'a'", "expected '(' after in, found 'a'");
    odata_error(
        "$filter=city in ('a' 'b')",
        "expected ',' or ')', found 'b'",
    );
    odata_error(
        "$filter=a eq #",
        "$filter: unexpected character '#' at position 5",
    );
    odata_error(
        "$filter=a eq 1.2.3",
        "$filter: '1.2.3' at position 5 is not a number",
    );
    odata_error("$filter=a eq -", "is not a number");
    odata_error(
        "$filter=a eq b",
        "expected a value ('text', a number, true, false or null), found 'b'",
    );
    odata_error("$filter", "query parameter '$filter' has no '=value'");
    odata_error("name=x", "unknown query option 'name'");
    odata_error("$count=yes", "$count must be true or false, got 'yes'");
}

// ---------------------------------------------------------------------------------------
// Evaluation

#[test]
fn evaluation_semantics() {
    let r = row(json!({
        "id": 1, "n": 1, "f": 1.0, "s": "1", "b": true, "nul": null, "arr": [1, 2],
        "name": "Émile Zola", "emoji": "😀", "halfwidth": "｡", "o": { "x": 1 }
    }));
    let yes = |s: &str| assert!(parse_filter(s).unwrap().matches(&r), "{s} should match");
    let no = |s: &str| {
        assert!(
            !parse_filter(s).unwrap().matches(&r),
            "{s} should not match"
        )
    };

    // Type-strict equality; 1 == 1.0.
    yes("n eq 1");
    yes("n eq 1.0");
    yes("f eq 1");
    no("n eq '1'");
    no("s eq 1");
    yes("s eq '1'");
    no("b eq 1");
    yes("b eq true");
    // Missing reads as null.
    yes("missing eq null");
    yes("nul eq null");
    no("n eq null");
    // ne matches rows missing the column.
    yes("missing ne 'x'");
    yes("missing ne 0");
    no("missing ne null");
    yes("n ne 2");
    yes("n ne '1'");
    no("n ne 1.0");
    // Ranges only between the same types.
    yes("n gt 0");
    yes("n ge 1");
    yes("n le 1");
    no("n lt 1");
    no("n gt '0'");
    no("s gt 0");
    no("s lt 0");
    yes("s lt 'a'");
    no("missing gt 0");
    no("missing lt 'zzz'");
    no("nul lt 1");
    no("arr gt 0");
    // Strings compare by UTF-16 units: "😀" (0xD83D...) sorts before "｡" (0xFF61),
    // although its code point is larger.
    yes("emoji lt '｡'");
    no("halfwidth lt '😀'");
    yes("halfwidth gt '😀'");
    yes("name gt 'Z'");
    // startsWith / contains: case-sensitive, strings only.
    yes("startswith(name,'Ém')");
    no("startswith(name,'ém')");
    yes("startswith(name,'')");
    yes("contains(name,'Zol')");
    no("contains(name,'zol')");
    no("startswith(n,'1')");
    no("contains(arr,'1')");
    no("startswith(missing,'')");
    yes("startswith(emoji,'😀')");
    // in
    yes("n in (2, 1)");
    yes("n in (1.0)");
    no("n in ('1')");
    no("n in ()");
    yes("missing in (null, 3)");
    yes("s in ('x', '1')");
    // not, or, and
    no("not (n eq 1)");
    yes("not (missing eq 'x')");
    yes("n eq 2 or s eq '1'");
    no("n eq 1 and s eq 1");
    yes("not (n eq 1 and s eq 1)");

    // What only a Filter built by hand can say.
    assert!(!cmp("b", CmpOp::Gt, json!(false)).matches(&r));
    assert!(cmp("arr", CmpOp::Eq, json!([1.0, 2])).matches(&r));
    assert!(!cmp("arr", CmpOp::Eq, json!([2, 1])).matches(&r));
    assert!(cmp("o", CmpOp::Eq, json!({ "x": 1.0 })).matches(&r));
    assert!(cmp("o", CmpOp::Ne, json!({ "x": 2 })).matches(&r));
    assert!(obj(json!({ "where": { "arr": [1, 2] } })).matches(&r));

    // A query without a filter matches every row; with one, it applies it.
    assert!(Query::default().matches(&r));
    assert!(obj(json!({ "where": { "n": { "gte": 1, "lt": 2 } } })).matches(&r));
    assert!(!obj(json!({ "where": { "n": { "gte": 1, "lt": 1 } } })).matches(&r));
    assert!(obj(json!({ "where": { "or": [ { "n": 5 }, { "missing": null } ] } })).matches(&r));
}

#[test]
fn ordering_by_columns_then_key() {
    let rows: Vec<Map<String, Value>> = vec![
        row(json!({ "id": "b", "city": "Paris", "n": 1 })),
        row(json!({ "id": 2, "city": "Lyon", "n": 5 })),
        row(json!({ "id": "a", "city": "Paris", "n": 1 })),
        row(json!({ "id": 10, "city": "Paris", "n": 3 })),
        row(json!({ "id": 1, "n": 7 })),
        row(json!({ "id": 3, "city": null, "n": 7 })),
        row(json!({ "id": "😀", "city": "｡", "n": 0 })),
        row(json!({ "id": "｡", "city": "😀", "n": 0 })),
    ];
    let ids = |order: &[(&str, Direction)]| -> Vec<Value> {
        let order: Vec<(String, Direction)> =
            order.iter().map(|(c, d)| (c.to_string(), *d)).collect();
        let mut r = rows.clone();
        r.sort_by(|a, b| compare_rows(a, b, &order, "id"));
        r.iter().map(|x| x["id"].clone()).collect()
    };
    // No order: key order, numbers before strings, strings by UTF-16 units.
    assert_eq!(
        ids(&[]),
        [
            json!(1),
            json!(2),
            json!(3),
            json!(10),
            json!("a"),
            json!("b"),
            json!("😀"),
            json!("｡")
        ]
    );
    // city asc: missing and null first (tie broken by key), then UTF-16 order.
    assert_eq!(
        ids(&[("city", Direction::Asc)]),
        [
            json!(1),
            json!(3),
            json!(2),
            json!(10),
            json!("a"),
            json!("b"),
            json!("｡"),
            json!("😀")
        ]
    );
    // city desc, n asc: ties on both broken by key ascending.
    assert_eq!(
        ids(&[("city", Direction::Desc), ("n", Direction::Asc)]),
        [
            json!("😀"),
            json!("｡"),
            json!("a"),
            json!("b"),
            json!(10),
            json!(2),
            json!(1),
            json!(3)
        ]
    );
    // n desc then city asc
    assert_eq!(
        ids(&[("n", Direction::Desc), ("city", Direction::Asc)]),
        [
            json!(1),
            json!(3),
            json!(2),
            json!(10),
            json!("a"),
            json!("b"),
            json!("｡"),
            json!("😀")
        ]
    );
    // Mixed types in one column: null < boolean < number < string < array < object.
    let mixed: Vec<Map<String, Value>> = [
        json!({}),
        json!(true),
        json!(false),
        json!(-1),
        json!("x"),
        json!([1]),
        json!({ "a": 1 }),
        json!(null),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, v)| row(json!({ "id": i, "v": v })))
    .collect();
    let mut sorted = mixed.clone();
    sorted.sort_by(|a, b| compare_rows(a, b, &[("v".into(), Direction::Asc)], "id"));
    let vs: Vec<Value> = sorted.iter().map(|r| r["v"].clone()).collect();
    assert_eq!(
        vs,
        [
            Value::Null,
            json!(false),
            json!(true),
            json!(-1),
            json!("x"),
            json!([1]),
            json!({ "a": 1 }),
            json!({})
        ]
    );
    assert_eq!(
        compare_rows(
            &row(json!({"id": 1, "v": 2})),
            &row(json!({"id": 1, "v": 2.0})),
            &[("v".into(), Direction::Asc)],
            "id"
        ),
        Ordering::Equal
    );
}

#[test]
fn projection_keeps_selected_present_columns() {
    let r = row(json!({ "id": 1, "name": "x", "city": null, "n": 2 }));
    let p = project(
        &r,
        &["name".into(), "city".into(), "nope".into(), "id".into()],
    );
    assert_eq!(
        Value::Object(p),
        json!({ "id": 1, "name": "x", "city": null })
    );
    assert!(project(&r, &[]).is_empty());
}

// ---------------------------------------------------------------------------------------
// Planning: directed cases

fn indexes() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

fn plan_of(s: &str) -> Plan {
    Plan::new(&odata(s), "id", &indexes())
}

#[test]
fn plan_primary_key_in_is_sorted_and_key_ordered() {
    let p = plan_of("$filter=id in ('b', 2, 'a', 2.0, 1)&$top=3&$skip=1");
    assert_eq!(
        p.source,
        Source::PrimaryKey(vec![
            KeyRange::only(Bound::Num(1.0)),
            KeyRange::only(Bound::Num(2.0)),
            KeyRange::only(Bound::Str("a".into())),
            KeyRange::only(Bound::Str("b".into())),
        ])
    );
    assert_eq!(p.residual, None);
    assert!(!p.needs_sort);
    assert_eq!(p.read_limit, Some(4));
}

#[test]
fn plan_prefers_equality_and_keeps_the_rest_as_residual() {
    let p = plan_of("$filter=a gt 3 and b eq 'x' and c eq 1&$orderby=a");
    assert_eq!(
        p.source,
        Source::Index {
            column: "b".into(),
            ranges: vec![KeyRange::only(Bound::Str("x".into()))]
        }
    );
    assert_eq!(
        p.residual,
        Some(Filter::And(vec![
            cmp("a", CmpOp::Gt, json!(3)),
            cmp("c", CmpOp::Eq, json!(1))
        ]))
    );
    assert!(p.needs_sort);
    assert_eq!(p.read_limit, None);
    // Only the first bound of each side is consumed; the others stay.
    let p = plan_of("$filter=a gt 3 and a gt 5 and a lt 9");
    assert_eq!(
        p.source,
        Source::Index {
            column: "a".into(),
            ranges: vec![KeyRange {
                lower: (Bound::Num(3.0), true),
                upper: (Bound::Num(9.0), true)
            }]
        }
    );
    assert_eq!(p.residual, Some(cmp("a", CmpOp::Gt, json!(5))));
    // Equalities on non-keys, ne, not and or leave a scan.
    for s in [
        "$filter=a eq null",
        "$filter=a ne 1",
        "$filter=not (a eq 1)",
        "$filter=a eq 1 or b eq 2",
        "$filter=a in (1, null)",
    ] {
        let p = plan_of(s);
        assert_eq!(p.source, Source::Scan, "{s}");
        assert_eq!(p.residual, odata(s).filter, "{s}");
    }
    // A string range is bounded below arrays; a number range is all numbers.
    assert_eq!(
        plan_of("$filter=a ge 'm'").source,
        Source::Index {
            column: "a".into(),
            ranges: vec![KeyRange {
                lower: (Bound::Str("m".into()), false),
                upper: (Bound::AfterStrings, true)
            }]
        }
    );
    assert_eq!(
        plan_of("$filter=a lt 0").source,
        Source::Index {
            column: "a".into(),
            ranges: vec![KeyRange {
                lower: (Bound::Num(f64::NEG_INFINITY), false),
                upper: (Bound::Num(0.0), true)
            }]
        }
    );
}

#[test]
fn plan_startswith_ranges() {
    let range = |s: &str| match plan_of(s).source {
        Source::Index { ranges, .. } | Source::PrimaryKey(ranges) => Some(ranges),
        Source::Scan => None,
    };
    assert_eq!(
        range("$filter=startswith(a,'')"),
        Some(vec![KeyRange {
            lower: (Bound::Str("".into()), false),
            upper: (Bound::AfterStrings, true)
        }])
    );
    // The last UTF-16 unit of "😀" is 0xDE00, so the end is "😁" (0xD83D 0xDE01).
    assert_eq!(
        range("$filter=startswith(id,'x😀')"),
        Some(vec![KeyRange {
            lower: (Bound::Str("x😀".into()), false),
            upper: (Bound::Str("x😁".into()), true)
        }])
    );
    // No string ends just above U+10FFFF's last unit (0xDFFF): fall back to a scan.
    assert_eq!(range("$filter=startswith(a,'\u{10FFFF}')"), None);
}

/// Contradictory bounds must not produce a range IndexedDB rejects (`IDBKeyRange.bound`
/// throws a DataError when lower > upper, or when they are equal and one end is open).
#[test]
fn plan_contradictory_ranges_read_nothing() {
    for s in [
        "$filter=a gt 9 and a lt 3",
        "$filter=a gt 3 and a le 3",
        "$filter=a ge 3 and a lt 3",
        "$filter=a gt 3 and a lt 3",
        "$filter=id gt 'z' and id lt 'a'",
        "$filter=c eq 1 and b ge '｡' and b le '😀'",
    ] {
        let p = plan_of(s);
        match &p.source {
            Source::Index { ranges, .. } | Source::PrimaryKey(ranges) => {
                assert!(ranges.is_empty(), "{s} should read nothing: {p:?}")
            }
            Source::Scan => panic!("{s} should not scan"),
        }
    }
    // "😀" (0xD83D 0xDE00) is below "｡" (0xFF61) in UTF-16, though not by code point:
    // this range is not empty.
    let p = plan_of("$filter=b ge '😀' and b le '｡'");
    assert_eq!(
        p.source,
        Source::Index {
            column: "b".into(),
            ranges: vec![KeyRange {
                lower: (Bound::Str("😀".into()), false),
                upper: (Bound::Str("｡".into()), false)
            }]
        }
    );
    // Equal bounds, both closed, is a single key.
    let p = plan_of("$filter=a ge 3 and a le 3");
    assert_eq!(
        p.source,
        Source::Index {
            column: "a".into(),
            ranges: vec![KeyRange::only(Bound::Num(3.0))]
        }
    );
    assert!(!p.needs_sort);
}

// ---------------------------------------------------------------------------------------
// Planning: plan == scan, against a simulated IndexedDB

/// An IndexedDB key: numbers < strings (by UTF-16 units) < arrays (element-wise).
#[derive(Debug, Clone)]
enum IdbKey {
    Num(f64),
    Str(Vec<u16>),
    Arr(Vec<IdbKey>),
}

fn idb_cmp(a: &IdbKey, b: &IdbKey) -> Ordering {
    fn rank(k: &IdbKey) -> u8 {
        match k {
            IdbKey::Num(_) => 0,
            IdbKey::Str(_) => 1,
            IdbKey::Arr(_) => 2,
        }
    }
    match (a, b) {
        (IdbKey::Num(x), IdbKey::Num(y)) => x.partial_cmp(y).expect("no NaN keys"),
        (IdbKey::Str(x), IdbKey::Str(y)) => x.cmp(y),
        (IdbKey::Arr(x), IdbKey::Arr(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = idb_cmp(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The key IndexedDB would index a value under, if it is a valid key.
fn idb_key(v: &Value) -> Option<IdbKey> {
    match v {
        Value::Number(n) => n.as_f64().map(IdbKey::Num),
        Value::String(s) => Some(IdbKey::Str(s.encode_utf16().collect())),
        Value::Array(items) => items
            .iter()
            .map(idb_key)
            .collect::<Option<_>>()
            .map(IdbKey::Arr),
        _ => None,
    }
}

fn bound_key(b: &Bound) -> IdbKey {
    match b {
        Bound::Num(n) => IdbKey::Num(*n),
        Bound::Str(s) => IdbKey::Str(s.encode_utf16().collect()),
        Bound::AfterStrings => IdbKey::Arr(vec![]),
    }
}

/// What `IDBKeyRange.bound` accepts.
#[track_caller]
fn assert_valid_range(r: &KeyRange, ctx: &str) {
    let o = idb_cmp(&bound_key(&r.lower.0), &bound_key(&r.upper.0));
    assert!(
        o == Ordering::Less || (o == Ordering::Equal && !r.lower.1 && !r.upper.1),
        "IDBKeyRange would throw DataError for {r:?} ({ctx})"
    );
}

fn in_range(k: &IdbKey, r: &KeyRange) -> bool {
    let lo = idb_cmp(k, &bound_key(&r.lower.0));
    let hi = idb_cmp(k, &bound_key(&r.upper.0));
    (lo == Ordering::Greater || (lo == Ordering::Equal && !r.lower.1))
        && (hi == Ordering::Less || (hi == Ordering::Equal && !r.upper.1))
}

/// splitmix64: small, seeded, good enough to drive random cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Pieces of strings chosen so UTF-16 and code point order disagree (astral vs U+E000..),
/// plus a case pair and the characters at the edges of the prefix-end computation.
const PIECES: &[&str] = &[
    "a",
    "b",
    "B",
    "é",
    "z",
    "｡",
    "\u{E000}",
    "😀",
    "😁",
    "\u{10FFFF}",
    "\u{D7FF}",
    "\u{FFFF}",
];

fn random_string(rng: &mut Rng) -> String {
    (0..rng.below(4)).map(|_| *rng.pick(PIECES)).collect()
}

fn random_number(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => json!(1.0),
        1 => json!(-0.0),
        2 => json!(2.5),
        3 => json!(-1.5),
        _ => json!(rng.below(7) as i64 - 3),
    }
}

fn random_scalar(rng: &mut Rng) -> Value {
    if rng.chance(50) {
        random_number(rng)
    } else {
        Value::String(random_string(rng))
    }
}

fn random_value(rng: &mut Rng) -> Value {
    match rng.below(14) {
        0..=4 => random_number(rng),
        5..=9 => Value::String(random_string(rng)),
        10 => Value::Bool(rng.chance(50)),
        11 => Value::Null,
        12 => match rng.below(5) {
            0 => json!([]),
            1 => json!([random_number(rng)]),
            2 => json!([random_string(rng), random_number(rng)]),
            3 => json!([true]),
            _ => json!([random_string(rng)]),
        },
        _ => json!({ "x": random_number(rng) }),
    }
}

const COLUMNS: &[&str] = &["id", "a", "a", "b", "b", "c", "zz"];

fn random_atom(rng: &mut Rng) -> Filter {
    let column = rng.pick(COLUMNS).to_string();
    match rng.below(12) {
        0..=5 => {
            let op = *rng.pick(&[
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Gt,
                CmpOp::Gte,
                CmpOp::Lt,
                CmpOp::Lte,
            ]);
            let value = if rng.chance(8) {
                random_value(rng)
            } else {
                random_scalar(rng)
            };
            Filter::Cmp { column, op, value }
        }
        6 | 7 => Filter::In {
            column,
            values: (0..rng.below(4))
                .map(|_| {
                    if rng.chance(10) {
                        random_value(rng)
                    } else {
                        random_scalar(rng)
                    }
                })
                .collect(),
        },
        8 | 9 => Filter::StartsWith {
            column,
            prefix: random_string(rng),
        },
        10 => Filter::Contains {
            column,
            needle: random_string(rng),
        },
        _ => {
            // A range on one column, the shape the planner works hardest on.
            let (lo, hi) = (random_scalar(rng), random_scalar(rng));
            let lop = *rng.pick(&[CmpOp::Gt, CmpOp::Gte]);
            let hop = *rng.pick(&[CmpOp::Lt, CmpOp::Lte]);
            Filter::And(vec![
                Filter::Cmp {
                    column: column.clone(),
                    op: lop,
                    value: lo,
                },
                Filter::Cmp {
                    column,
                    op: hop,
                    value: hi,
                },
            ])
        }
    }
}

fn random_term(rng: &mut Rng) -> Filter {
    match rng.below(10) {
        0 => Filter::Not(Box::new(random_atom(rng))),
        1 => Filter::Or(vec![random_atom(rng), random_atom(rng)]),
        _ => random_atom(rng),
    }
}

fn random_query(rng: &mut Rng) -> Query {
    let filter = match rng.below(10) {
        0 => None,
        1..=3 => Filter::and(vec![random_term(rng)]),
        _ => Filter::and((0..2 + rng.below(3)).map(|_| random_term(rng)).collect()),
    };
    let order_by = match rng.below(4) {
        0 | 1 => vec![],
        _ => (0..1 + rng.below(2))
            .map(|_| {
                let dir = if rng.chance(50) {
                    Direction::Asc
                } else {
                    Direction::Desc
                };
                (rng.pick(COLUMNS).to_string(), dir)
            })
            .collect(),
    };
    Query {
        filter,
        order_by,
        limit: if rng.chance(50) {
            Some(rng.below(8) as u64)
        } else {
            None
        },
        offset: if rng.chance(70) {
            0
        } else {
            rng.below(5) as u64
        },
        select: None,
        count: false,
    }
}

fn random_rows(rng: &mut Rng) -> Vec<Map<String, Value>> {
    let mut rows: Vec<Map<String, Value>> = Vec::new();
    let mut keys: Vec<IdbKey> = Vec::new();
    for _ in 0..rng.below(30) {
        let id = random_scalar(rng);
        let k = idb_key(&id).unwrap();
        if keys.iter().any(|x| idb_cmp(x, &k) == Ordering::Equal) {
            continue;
        }
        keys.push(k);
        let mut r = Map::new();
        r.insert("id".into(), id);
        for c in ["a", "b", "c"] {
            if !rng.chance(15) {
                r.insert(c.into(), random_value(rng));
            }
        }
        rows.push(r);
    }
    rows
}

/// The query answered the plain way: filter everything, sort, page.
fn by_scan(rows: &[Map<String, Value>], q: &Query) -> Vec<Map<String, Value>> {
    let mut out: Vec<Map<String, Value>> = rows.iter().filter(|r| q.matches(r)).cloned().collect();
    out.sort_by(|a, b| compare_rows(a, b, &q.order_by, "id"));
    page(out, q)
}

fn page(rows: Vec<Map<String, Value>>, q: &Query) -> Vec<Map<String, Value>> {
    rows.into_iter()
        .skip(q.offset as usize)
        .take(q.limit.map_or(usize::MAX, |l| l as usize))
        .collect()
}

/// The query answered through its plan, reading a simulated IndexedDB.
fn by_plan(rows: &[Map<String, Value>], q: &Query, indexes: &[String]) -> Vec<Map<String, Value>> {
    let plan = Plan::new(q, "id", indexes);
    let ctx = format!("{q:?} -> {plan:?}");
    let pk = |r: &Map<String, Value>| idb_key(&r["id"]).unwrap();
    let mut by_key: Vec<&Map<String, Value>> = rows.iter().collect();
    by_key.sort_by(|a, b| idb_cmp(&pk(a), &pk(b)));

    let mut read: Vec<&Map<String, Value>> = match &plan.source {
        Source::Scan => by_key.clone(),
        Source::PrimaryKey(ranges) => {
            for r in ranges {
                assert_valid_range(r, &ctx);
            }
            for w in ranges.windows(2) {
                let o = idb_cmp(&bound_key(&w[0].upper.0), &bound_key(&w[1].lower.0));
                assert!(
                    o == Ordering::Less || (o == Ordering::Equal && (w[0].upper.1 || w[1].lower.1)),
                    "primary key ranges must be sorted and disjoint: {ctx}"
                );
            }
            ranges
                .iter()
                .flat_map(|r| {
                    by_key
                        .iter()
                        .copied()
                        .filter(move |row| in_range(&pk(row), r))
                })
                .collect()
        }
        Source::Index { column, ranges } => {
            assert!(indexes.contains(column), "{column} is not an index: {ctx}");
            for r in ranges {
                assert_valid_range(r, &ctx);
            }
            // The index holds (value, primary key) for rows whose value is a valid key.
            let mut entries: Vec<(IdbKey, &Map<String, Value>)> = rows
                .iter()
                .filter_map(|r| r.get(column).and_then(idb_key).map(|k| (k, r)))
                .collect();
            entries.sort_by(|(ka, ra), (kb, rb)| {
                idb_cmp(ka, kb).then_with(|| idb_cmp(&pk(ra), &pk(rb)))
            });
            ranges
                .iter()
                .flat_map(|r| {
                    entries
                        .iter()
                        .filter(move |(k, _)| in_range(k, r))
                        .map(|(_, row)| *row)
                })
                .collect()
        }
    };
    if let Some(n) = plan.read_limit {
        assert!(
            plan.residual.is_none() && !plan.needs_sort,
            "read_limit with work left: {ctx}"
        );
        read.truncate(n as usize);
    }
    let mut out: Vec<Map<String, Value>> = read
        .into_iter()
        .filter(|r| plan.residual.as_ref().map_or(true, |f| f.matches(r)))
        .cloned()
        .collect();
    if plan.needs_sort {
        out.sort_by(|a, b| compare_rows(a, b, &q.order_by, "id"));
    } else {
        assert!(q.order_by.is_empty(), "an order_by needs a sort: {ctx}");
        for w in out.windows(2) {
            assert_eq!(
                idb_cmp(&pk(&w[0]), &pk(&w[1])),
                Ordering::Less,
                "source not in key order: {ctx}"
            );
            assert_eq!(
                compare_rows(&w[0], &w[1], &[], "id"),
                Ordering::Less,
                "compare_rows disagrees with key order"
            );
        }
    }
    page(out, q)
}

fn ids(rows: &[Map<String, Value>]) -> Vec<Value> {
    rows.iter().map(|r| r["id"].clone()).collect()
}

#[test]
fn plan_and_scan_agree_on_random_cases() {
    let index_sets: [Vec<String>; 3] =
        [indexes(), vec!["a".into(), "b".into(), "c".into()], vec![]];
    let mut rng = Rng(0x0FF1_14E7_AB1E);
    let mut through_index = 0;
    let mut through_key = 0;
    for case in 0..20_000 {
        let rows = random_rows(&mut rng);
        let q = random_query(&mut rng);
        let idx = &index_sets[case % 3];
        let want = by_scan(&rows, &q);
        let got = by_plan(&rows, &q, idx);
        assert_eq!(
            ids(&got),
            ids(&want),
            "case {case}: {q:?}\nplan {:?}\nrows {}",
            Plan::new(&q, "id", idx),
            serde_json::to_string(&rows).unwrap()
        );
        assert_eq!(got, want, "case {case}");
        match Plan::new(&q, "id", idx).source {
            Source::Index { .. } => through_index += 1,
            Source::PrimaryKey(_) => through_key += 1,
            Source::Scan => {}
        }
    }
    // The cases must exercise the planner, not only scans.
    assert!(through_index > 3_000, "only {through_index} index plans");
    assert!(through_key > 1_000, "only {through_key} primary key plans");
}

/// The same property through the parsers: queries written as OData text.
#[test]
fn plan_and_scan_agree_on_parsed_queries() {
    let mut rng = Rng(42);
    let texts = [
        "$filter=a eq 1",
        "$filter=a eq 1.0 and b gt 'a'&$top=2",
        "$filter=a ge -1 and a lt 2.5&$orderby=b desc",
        "$filter=b in ('a', 'b', 1, -3)&$top=3&$skip=1",
        "$filter=startswith(b,'😀')",
        "$filter=startswith(a,'a') and a ne 'a'",
        "$filter=id gt 0 and id le 2&$top=1",
        "$filter=id ge 'a'&$orderby=id desc&$top=4",
        "$filter=a gt 3 and a lt 1",
        "$filter=a eq '｡' or a eq '😀'",
        "$filter=c eq null",
        "$filter=a ne null and b lt '\u{E000}'",
        "$top=3&$skip=2",
        "$orderby=c,a desc&$top=5",
    ];
    for _ in 0..300 {
        let rows = random_rows(&mut rng);
        for t in texts {
            let q = odata(t);
            assert_eq!(by_plan(&rows, &q, &indexes()), by_scan(&rows, &q), "{t}");
        }
    }
}
