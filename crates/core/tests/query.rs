//! The query language: both forms parse to the same `Query`, every rejection says what is
//! wrong, and evaluation follows the documented semantics.

#![allow(unused_imports)] // the shared import list serves both test files

mod common;
use common::*;
use offline_tables_core::query::{
    compare_rows, parse_filter, project, Bound, CmpOp, Direction, KeyRange, Plan, Source,
};
use offline_tables_core::{ErrorCode, Filter, Query};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

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
            "$filter=startswith(name, 'Ac') and contains(name,'O''B')",
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
    // Each query with a part of the message it must be refused with.
    let cases = [
        (
            json!({ "where": { "city": { "like": "x" } } }),
            "where.city: unknown operator 'like' (expected one of eq, ne, gt, gte, lt, lte, in, startsWith, endsWith, contains, ignoreCase)",
        ),
        (json!({ "filter": { "city": "x" } }), "unknown query field 'filter'"),
        (json!({ "top": 5 }), "unknown query field 'top'"),
        (
            json!({ "orderBy": [["name", "up"]] }),
            "orderBy[0][1] must be \"asc\" or \"desc\", got \"up\"",
        ),
        (
            json!({ "orderBy": [["name", "asc", "x"]] }),
            "orderBy[0] must be a column name or [column",
        ),
        (json!({ "orderBy": [[1, "asc"]] }), "orderBy[0][0] must be a column name"),
        (json!({ "orderBy": 5 }), "orderBy must be a column name or an array, got a number"),
        (json!({ "orderBy": "first name" }), "orderBy: 'first name' is not a valid column name"),
        (json!({ "limit": -1 }), "limit must be a non-negative integer, got -1"),
        (json!({ "limit": 2.5 }), "limit must be a non-negative integer, got 2.5"),
        (json!({ "limit": "10" }), "limit must be a non-negative integer, got \"10\""),
        (json!({ "offset": -3 }), "offset must be a non-negative integer, got -3"),
        (
            json!({ "where": { "age": { "gt": true } } }),
            "where.age.gt: needs a string or a number, got a boolean",
        ),
        (
            json!({ "where": { "age": { "lte": null } } }),
            "where.age.lte: needs a string or a number, got null",
        ),
        (
            json!({ "where": { "name": { "startsWith": 3 } } }),
            "where.name.startsWith: needs a string, got a number",
        ),
        (
            json!({ "where": { "name": { "contains": ["a"] } } }),
            "where.name.contains: needs a string, got an array",
        ),
        (
            json!({ "where": { "city": { "in": "Paris" } } }),
            "where.city.in: needs an array, got a string",
        ),
        (json!({ "where": { "city": {} } }), "where.city: empty operator object"),
        (json!({ "where": { "bad col": 1 } }), "where: 'bad col' is not a valid column name"),
        (json!({ "where": { "or": [] } }), "where.or must hold at least one alternative"),
        (json!({ "where": { "or": { "a": 1 } } }), "where.or must be an array of where objects"),
        (
            json!({ "where": { "or": [ { "a": { "like": 1 } } ] } }),
            "where.or[0].a: unknown operator 'like'",
        ),
        (json!({ "where": 5 }), "where must be an object, got a number"),
        (json!({ "select": "id" }), "select must be an array of column names, got a string"),
        (json!({ "select": ["id", 3] }), "select[1] must be a column name"),
        (json!({ "select": ["id", "9lives"] }), "select[1]: '9lives' is not a valid column name"),
        (json!("city eq 'x'"), "query must be an object or an OData string, got a string"),
    ];
    for (query, needle) in cases {
        object_error(query, needle);
    }
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
        "$filter=round(n) eq 3",
        "$filter: unknown function 'round' (expected startswith, endswith, contains, tolower, toupper, trim, length, concat, indexof, substring)",
    );
    odata_error(
        "$filter=startswith(name, 3)",
        "$filter: startswith takes a string as argument 2, got 3",
    );
    odata_error(
        "$filter=tolower(name, 'x') eq 'a'",
        "$filter: tolower takes 1 argument, got 2",
    );
    odata_error(
        "$filter=substring(name) eq 'a'",
        "$filter: substring takes 2 or 3 arguments, got 1",
    );
    odata_error(
        "$filter=substring(name, 'a') eq 'a'",
        "$filter: substring takes an integer as argument 2, got 'a'",
    );
    odata_error(
        "$filter=substring(name, 1.5) eq 'a'",
        "$filter: substring takes an integer as argument 2, got 1.5",
    );
    odata_error(
        "$filter=length(length(name)) eq 1",
        "$filter: length takes a string as argument 1, got length(…)",
    );
    odata_error(
        "$filter=endswith(length(name), 'a')",
        "$filter: endswith takes a string as argument 1, got length(…), a number",
    );
    odata_error(
        "$filter=tolower(startswith(a,'b')) eq 'x'",
        "$filter: startswith gives true or false and cannot be a function's argument",
    );
    odata_error(
        "$filter=tolower(a) in ('x')",
        "'in' takes a column, not a function",
    );
    odata_error(
        "$filter=length(a) gt true",
        "$filter: gt on 'length(…)' needs a string or a number, got true",
    );
    odata_error(
        "$filter=d eq 2026-13-01",
        "$filter: '2026-13-01' at position 5 is not a valid date or datetime: the month is not 01 to 12",
    );
    odata_error(
        "$filter=d eq 2026-02-30",
        "is not a valid date or datetime: the day is not in that month",
    );
    odata_error(
        "$filter=d lt 2026-11-01T10:00:00",
        "is not a valid date or datetime: the time needs Z or an offset like +02:00",
    );
    odata_error(
        &format!(
            "$filter={}a{} eq 'x'",
            "tolower(".repeat(100),
            ")".repeat(100)
        ),
        "nested more than 64 levels deep",
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
fn functions_and_typed_literals_evaluate() {
    let r = row(json!({
        "name": "  Café Zoë  ", "city": "Paris", "n": 3, "nul": null,
        "due": "2026-11-01T01:30:00+02:00", "day": "2026-11-01", "bad": "soon",
        "at": "2026-10-31T23:30:00.5Z",
        "gid": "01234567-89AB-cdef-0123-456789ABCDEF"
    }));
    let yes = |s: &str| assert!(parse_filter(s).unwrap().matches(&r), "{s} should match");
    let no = |s: &str| {
        assert!(
            !parse_filter(s).unwrap().matches(&r),
            "{s} should not match"
        )
    };
    yes("endswith(city,'ris')");
    no("endswith(city,'Par')");
    yes("tolower(city) eq 'paris'");
    yes("toupper(city) eq 'PARIS'");
    yes("contains(tolower(name),'café')");
    yes("trim(name) eq 'Café Zoë'");
    // Lengths and positions count chars (Unicode scalar values).
    yes("length(trim(name)) eq 8");
    yes("length(city) gt 3");
    yes("indexof(city,'ri') eq 2");
    yes("indexof(trim(name),'Zoë') eq 5");
    yes("indexof(city,'x') eq -1");
    yes("substring(city,1) eq 'aris'");
    yes("substring(city,1,2) eq 'ar'");
    yes("substring(city,9) eq ''");
    yes("substring(city,-1) eq ''");
    yes("substring(city,2,99) eq 'ris'");
    yes("substring(trim(name),3,1) eq 'é'");
    yes("concat(city,'!') eq 'Paris!'");
    yes("concat(concat(city,' '),'x') eq 'Paris x'");
    yes("startswith(concat('x',city),'xP')");
    yes("tolower(city) eq tolower('PARIS')");
    // Over a non-string (null, a number, a missing column): null.
    yes("tolower(n) eq null");
    yes("length(missing) eq null");
    no("length(nul) gt 0");
    no("endswith(n,'3')");
    yes("not endswith(nul,'x')");
    yes("concat(city,n) eq null");
    yes("startswith(city,'Pa') and endswith(city,'is') and length(city) eq 5");
    // Datetimes compare as instants; a date is midnight UTC; strings that are not dates
    // match no comparison.
    yes("due eq 2026-10-31T23:30:00Z");
    yes("due lt 2026-11-01");
    yes("due gt 2026-10-31T23:29:59.999Z");
    yes("day eq 2026-11-01T00:00:00Z");
    yes("day eq 2026-11-01T01:00:00+01:00");
    yes("day ge 2026-11-01");
    no("day gt 2026-11-01");
    yes("at gt 2026-10-31T23:30:00Z");
    yes("at lt 2026-10-31T23:30:00.6Z");
    yes("at eq 2026-10-31T23:30:00.500Z");
    no("bad lt 2026-11-01");
    no("bad ge 2026-11-01");
    yes("bad ne 2026-11-01");
    no("missing eq 2026-11-01");
    // GUIDs compare with strings case-insensitively.
    yes("gid eq 01234567-89ab-cdef-0123-456789abcdef");
    yes("gid eq 01234567-89AB-CDEF-0123-456789ABCDEF");
    no("gid ne 01234567-89ab-cdef-0123-456789abcdef");
    no("city eq 01234567-89ab-cdef-0123-456789abcdef");
    // In a list, dates and GUIDs are their canonical strings.
    let f = parse_filter("x in (2026-11-01, ABCDEF01-89ab-cdef-0123-456789abcdef)").unwrap();
    assert_eq!(
        f,
        Filter::In {
            column: "x".into(),
            values: vec![
                json!("2026-11-01T00:00:00Z"),
                json!("abcdef01-89ab-cdef-0123-456789abcdef")
            ]
        }
    );
    // Plain columns keep the indexable forms; expressions read their columns.
    assert_eq!(
        parse_filter("startswith(city,'P')").unwrap(),
        Filter::StartsWith {
            column: "city".into(),
            prefix: "P".into()
        }
    );
    let q = odata("$filter=tolower(city) eq 'x' and indexof(concat(a,b),'c') gt 0 and due lt 2026-11-01&$orderby=z");
    assert_eq!(q.columns(), ["a", "b", "city", "due", "z"]);
    let p = Plan::new(&q, "id", &["city".into(), "due".into()]);
    assert_eq!(p.source, Source::Scan);
    assert_eq!(p.residual, q.filter);
    let q = odata("$filter=city eq 'Paris' and length(name) gt 3");
    let p = Plan::new(&q, "id", &["city".into()]);
    assert!(matches!(p.source, Source::Index { .. }));
    assert!(matches!(p.residual, Some(Filter::Compare { .. })));
    assert!(q.matches(&r));
}

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
    let ids = |order: &[(&str, Direction)]| -> Value {
        let order: Vec<(String, Direction)> =
            order.iter().map(|(c, d)| (c.to_string(), *d)).collect();
        let mut r = rows.clone();
        r.sort_by(|a, b| compare_rows(a, b, &order, "id"));
        Value::Array(r.iter().map(|x| x["id"].clone()).collect())
    };
    // No order: key order, numbers before strings, strings by UTF-16 units.
    assert_eq!(ids(&[]), json!([1, 2, 3, 10, "a", "b", "😀", "｡"]));
    // city asc: missing and null first (tie broken by key), then UTF-16 order.
    assert_eq!(
        ids(&[("city", Direction::Asc)]),
        json!([1, 3, 2, 10, "a", "b", "｡", "😀"])
    );
    // city desc, n asc: ties on both broken by key ascending.
    assert_eq!(
        ids(&[("city", Direction::Desc), ("n", Direction::Asc)]),
        json!(["😀", "｡", "a", "b", 10, 2, 1, 3])
    );
    // n desc then city asc
    assert_eq!(
        ids(&[("n", Direction::Desc), ("city", Direction::Asc)]),
        json!([1, 3, 2, 10, "a", "b", "｡", "😀"])
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

#[test]
fn proto_is_not_a_column_name() {
    object_error(
        json!({ "where": { "__proto__": 1 } }),
        "not a valid column name",
    );
    odata_error("$filter=__proto__ eq 1", "not a valid column name");
    odata_error("$select=__proto__", "not a valid column name");
}

#[test]
fn ends_with_and_ignore_case_in_the_object_form_are_the_odata_functions() {
    for (object, text) in [
        (json!({ "name": { "endsWith": "s" } }), "endswith(name,'s')"),
        (
            json!({ "city": { "eq": "PARIS", "ignoreCase": true } }),
            "tolower(city) eq 'paris'",
        ),
        (
            json!({ "city": { "ignoreCase": true, "ne": "Lyon" } }),
            "tolower(city) ne 'lyon'",
        ),
        (
            json!({ "city": { "in": ["Paris", "NICE"], "ignoreCase": true } }),
            "(tolower(city) eq 'paris' or tolower(city) eq 'nice')",
        ),
        (
            json!({ "name": { "startsWith": "Ca", "ignoreCase": true } }),
            "startswith(tolower(name),'ca')",
        ),
        (
            json!({ "name": { "endsWith": "É", "ignoreCase": true } }),
            "endswith(tolower(name),'é')",
        ),
        (
            json!({ "name": { "contains": "X", "ignoreCase": true } }),
            "contains(tolower(name),'x')",
        ),
        (
            json!({ "city": { "eq": "Paris", "ignoreCase": false } }),
            "city eq 'Paris'",
        ),
    ] {
        assert_eq!(
            obj(json!({ "where": object })),
            odata(&format!("$filter={text}")),
            "{object}"
        );
    }
    let q = obj(json!({ "where": { "city": { "eq": "paris", "ignoreCase": true } } }));
    let row = |v: Value| v.as_object().unwrap().clone();
    assert!(q.matches(&row(json!({ "city": "PaRiS" }))));
    assert!(!q.matches(&row(json!({ "city": "Lyon" }))));
    assert!(!q.matches(&row(json!({ "city": 1 }))), "only strings match");
    assert!(!q.matches(&row(json!({}))));
    let empty = obj(json!({ "where": { "city": { "in": [], "ignoreCase": true } } }));
    assert!(!empty.matches(&row(json!({ "city": "x" }))));
    for (query, words) in [
        (
            json!({ "city": { "ignoreCase": true } }),
            "where.city: ignoreCase alone compares nothing",
        ),
        (
            json!({ "city": { "eq": "x", "ignoreCase": "yes" } }),
            "where.city.ignoreCase: needs true or false, got a string",
        ),
        (
            json!({ "city": { "gt": "x", "ignoreCase": true } }),
            "where.city.gt: ignoreCase applies to string values of eq, ne, in",
        ),
        (
            json!({ "city": { "eq": 1, "ignoreCase": true } }),
            "where.city.eq: ignoreCase applies to string values",
        ),
        (
            json!({ "city": { "in": ["a", 2], "ignoreCase": true } }),
            "where.city.in: ignoreCase applies to string values",
        ),
        (
            json!({ "city": { "endsWith": 2 } }),
            "where.city.endsWith: needs a string, got a number",
        ),
    ] {
        let e = Query::from_object(&json!({ "where": query })).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(e.message.contains(words), "{query}: {}", e.message);
    }
}
