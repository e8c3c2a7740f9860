//! Property tests of the query parsers (OData `$filter` and query strings, the REST
//! query string, key segments and routes, the JS query object): no input panics, every
//! refusal is a clean `invalid_argument`, and a parsed filter printed back parses to itself.
//!
//! Cases per property: `PROPTEST_CASES` (default 500). The count of each property is
//! printed with `cargo test -p offline-tables-core --test fuzz_query -- --nocapture`.

mod common;
mod fuzz_support;

use common::CMP_OPS;
use fuzz_support::*;
use offline_tables_core::query::{
    compare_rows, parse_filter, project, CmpOp, Direction, Expr, Fun, Instant, Plan, TextOp,
};
use offline_tables_core::rest::{parse_key_segment, parse_query, Route};
use offline_tables_core::{ErrorCode, Filter, Query};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};

const CASES: u32 = 500;

// ---------------------------------------------------------------------------------------
// A printer for filters, the inverse of `parse_filter` (the crate has none: filters are
// written by apps and profiles, never printed). Every sub-expression is parenthesized.

fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => other.to_string(),
    }
}

fn op_text(op: &CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "eq",
        CmpOp::Ne => "ne",
        CmpOp::Gt => "gt",
        CmpOp::Gte => "ge",
        CmpOp::Lt => "lt",
        CmpOp::Lte => "le",
    }
}

fn print_expr(e: &Expr) -> String {
    match e {
        Expr::Column(c) => c.clone(),
        Expr::Literal(v) => literal(v),
        Expr::DateTime(t) => t.to_string(),
        Expr::Guid(g) => g.clone(),
        Expr::Call { fun, args } => format!(
            "{}({})",
            fun.name(),
            args.iter().map(print_expr).collect::<Vec<_>>().join(",")
        ),
    }
}

fn print(f: &Filter) -> String {
    let group = |fs: &[Filter], op: &str| {
        fs.iter()
            .map(|f| format!("({})", print(f)))
            .collect::<Vec<_>>()
            .join(op)
    };
    match f {
        Filter::And(fs) => group(fs, " and "),
        Filter::Or(fs) => group(fs, " or "),
        Filter::Not(f) => format!("not ({})", print(f)),
        Filter::Cmp { column, op, value } => {
            format!("{column} {} {}", op_text(op), literal(value))
        }
        Filter::Compare { left, op, right } => {
            format!("{} {} {}", print_expr(left), op_text(op), print_expr(right))
        }
        Filter::Text { op, left, right } => {
            format!("{}({},{})", op.name(), print_expr(left), print_expr(right))
        }
        Filter::In { column, values } => format!(
            "{column} in ({})",
            values.iter().map(literal).collect::<Vec<_>>().join(",")
        ),
        Filter::StartsWith { column, prefix } => {
            format!("startswith({column},{})", literal(&json!(prefix)))
        }
        Filter::Contains { column, needle } => {
            format!("contains({column},{})", literal(&json!(needle)))
        }
    }
}

/// What the parser makes of a printed filter: nested `and`s are flattened (`(a and b)
/// and c` is one conjunction); nested `or`s keep their parentheses.
fn normalize(f: Filter) -> Filter {
    match f {
        Filter::And(fs) => {
            let mut flat = Vec::new();
            for f in fs.into_iter().map(normalize) {
                match f {
                    Filter::And(inner) => flat.extend(inner),
                    other => flat.push(other),
                }
            }
            Filter::And(flat)
        }
        Filter::Or(fs) => Filter::Or(fs.into_iter().map(normalize).collect()),
        Filter::Not(f) => Filter::Not(Box::new(normalize(*f))),
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// Generators

/// Column names as the grammar takes them. `not` is left out: `not eq 1` reads as the
/// operator `not` (as in OData, where it is reserved), so no `$filter` names that column.
fn column() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "city",
            "ownerId",
            "id",
            "_x",
            "a1",
            "eq",
            "and",
            "or",
            "in",
            "true",
            "null",
            "startswith",
            "contains",
        ])
        .prop_map(str::to_string),
        "[a-zA-Z_][a-zA-Z0-9_]{0,12}",
    ]
    .prop_filter("not a column a $filter can name", |c| {
        c != "not" && c != "__proto__"
    })
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z' ()]{0,8}"]
}

fn any_literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(Value::String),
        number(),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn leaf_filter() -> impl Strategy<Value = Filter> {
    let op = prop::sample::select(CMP_OPS.to_vec());
    prop_oneof![
        (column(), op, any_literal(), text()).prop_map(|(column, op, value, s)| {
            // Ranges take strings and numbers only.
            let value = match (op, value) {
                (CmpOp::Eq | CmpOp::Ne, v) => v,
                (_, v @ (Value::String(_) | Value::Number(_))) => v,
                _ => Value::String(s),
            };
            Filter::Cmp { column, op, value }
        }),
        (column(), prop::collection::vec(any_literal(), 0..4))
            .prop_map(|(column, values)| Filter::In { column, values }),
        (column(), text()).prop_map(|(column, prefix)| Filter::StartsWith { column, prefix }),
        (column(), text()).prop_map(|(column, needle)| Filter::Contains { column, needle }),
    ]
}

fn instant() -> impl Strategy<Value = Instant> {
    // Years 0000 to 9999: four digits.
    (
        -62_167_219_200i64..253_402_300_800,
        0u32..1_000_000_000,
        any::<bool>(),
    )
        .prop_map(|(secs, nanos, whole)| Instant {
            secs,
            nanos: if whole { 0 } else { nanos },
        })
}

fn guid() -> impl Strategy<Value = Expr> {
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(Expr::Guid)
}

/// An expression giving a string (`text`) or an integer, as the functions' arguments.
fn string_expr() -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        column().prop_map(Expr::Column),
        text().prop_map(|s| Expr::Literal(Value::String(s))),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        let int = prop_oneof![
            (-3i64..12).prop_map(|n| Expr::Literal(json!(n))),
            inner.clone().prop_map(|e| Expr::Call {
                fun: Fun::Length,
                args: vec![e]
            }),
        ];
        prop_oneof![
            (
                prop::sample::select(vec![Fun::ToLower, Fun::ToUpper, Fun::Trim]),
                inner.clone()
            )
                .prop_map(|(fun, e)| Expr::Call { fun, args: vec![e] }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Call {
                fun: Fun::Concat,
                args: vec![a, b]
            }),
            (inner, int.clone(), prop::option::of(int)).prop_map(|(s, i, n)| Expr::Call {
                fun: Fun::Substring,
                args: [Some(s), Some(i), n].into_iter().flatten().collect()
            }),
        ]
    })
    .boxed()
}

fn call_expr() -> impl Strategy<Value = Expr> {
    prop_oneof![
        string_expr().prop_filter("a call", |e| matches!(e, Expr::Call { .. })),
        string_expr().prop_map(|e| Expr::Call {
            fun: Fun::Length,
            args: vec![e]
        }),
        (string_expr(), string_expr()).prop_map(|(a, b)| Expr::Call {
            fun: Fun::IndexOf,
            args: vec![a, b]
        }),
    ]
}

/// Filters over expressions, in the form the parser gives them.
fn expr_filter() -> impl Strategy<Value = Filter> {
    let op = prop::sample::select(CMP_OPS.to_vec());
    let literal = prop_oneof![
        text().prop_map(|s| Expr::Literal(Value::String(s))),
        number().prop_map(Expr::Literal),
        instant().prop_map(Expr::DateTime),
        guid(),
    ];
    let text_op =
        prop::sample::select(vec![TextOp::StartsWith, TextOp::EndsWith, TextOp::Contains]);
    prop_oneof![
        (
            call_expr(),
            op.clone(),
            prop_oneof![literal.clone(), call_expr()]
        )
            .prop_map(|(left, op, right)| Filter::Compare { left, op, right }),
        (
            column(),
            op,
            prop_oneof![instant().prop_map(Expr::DateTime), guid(), call_expr()]
        )
            .prop_map(|(c, op, right)| Filter::Compare {
                left: Expr::Column(c),
                op,
                right
            }),
        (text_op, string_expr(), string_expr()).prop_map(|(op, left, right)| {
            match (op, left, right) {
                (
                    TextOp::StartsWith,
                    Expr::Column(column),
                    Expr::Literal(Value::String(prefix)),
                ) => Filter::StartsWith { column, prefix },
                (TextOp::Contains, Expr::Column(column), Expr::Literal(Value::String(needle))) => {
                    Filter::Contains { column, needle }
                }
                (op, left, right) => Filter::Text { op, left, right },
            }
        }),
    ]
}

fn filter_ast() -> impl Strategy<Value = Filter> {
    prop_oneof![3 => leaf_filter(), 1 => expr_filter()].prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

/// A token of the `$filter` vocabulary, valid or nearly so.
fn token() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "in",
        "and",
        "or",
        "not",
        "(",
        ")",
        "(",
        ")",
        ",",
        "'",
        "''",
        "'a''b'",
        "'Paris'",
        "'",
        "true",
        "false",
        "null",
        "startswith(",
        "contains(",
        "endswith(",
        "tolower(",
        "toupper(",
        "trim(",
        "length(",
        "concat(",
        "indexof(",
        "substring(",
        "round(",
        "2026-11-01",
        "2026-13-01",
        "2026-11-01T00:00:00Z",
        "2026-11-01T10:30:00.125+02:00",
        "2026-11-01T10:30",
        "01234567-89ab-cdef-0123-456789ABCDEF",
        "01234567-89ab",
        "StartsWith(",
        "substringof(",
        "city",
        "ownerId",
        "_",
        "0",
        "-1",
        "1.5",
        "1e999",
        "-0",
        "1e-5",
        "00",
        "1.2.3",
        "--1",
        "-",
        "+1",
        "9223372036854775808",
        "$filter=",
        "$top=",
        "&",
        "=",
        "%27",
        "%20",
        "é",
        "\u{0}",
        "\u{1F600}",
        ";",
        "--",
        "/*",
        "DROP TABLE ot_rows",
        "\\",
        "\"",
    ]);
    prop_oneof![
        8 => fixed.prop_map(str::to_string),
        1 => column(),
        1 => any_literal().prop_map(|v| literal(&v)),
        1 => any::<char>().prop_map(|c| c.to_string()),
    ]
}

fn token_soup() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(token(), 0..24),
        prop::collection::vec(
            prop::sample::select(vec![" ", " ", " ", "", "  ", "\t"]),
            24,
        ),
    )
        .prop_map(|(toks, seps)| {
            let mut s = String::new();
            for (t, sep) in toks.iter().zip(seps) {
                s.push_str(t);
                s.push_str(sep);
            }
            s
        })
}

/// A query string of `$` options, some with soup for values, some well-formed.
fn query_string() -> impl Strategy<Value = String> {
    let option = prop_oneof![
        token_soup().prop_map(|s| format!("$filter={s}")),
        filter_ast().prop_map(|f| format!("$filter={}", print(&f))),
        "[a-zA-Z_, ]{0,20}( asc| desc| up)?".prop_map(|s| format!("$orderby={s}")),
        "[0-9]{0,22}|-1|1.5|ten".prop_map(|s| format!("$top={s}")),
        "[0-9]{0,22}|-1|1.5|ten".prop_map(|s| format!("$skip={s}")),
        "[a-zA-Z_, 0-9]{0,20}".prop_map(|s| format!("$select={s}")),
        prop::sample::select(vec!["true", "false", "maybe", ""])
            .prop_map(|s| format!("$count={s}")),
        "\\$?[a-z]{0,8}=?[a-z]{0,4}",
        any::<String>(),
    ];
    prop::collection::vec(option, 0..5).prop_map(|opts| opts.join("&"))
}

/// `s` with some characters percent-encoded (or broken encodings), as a URL carries it.
fn url_encoded(s: String, seed: u64) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        let roll = seed.rotate_left(i as u32 % 64) % 7;
        match roll {
            0 => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            1 if c == ' ' => out.push('+'),
            2 if i % 5 == 0 => out.push_str("%F"),
            3 if i % 11 == 0 => out.push_str("%FF"),
            _ => out.push(c),
        }
    }
    out
}

fn row() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((column(), json_value()), 0..6).prop_map(|kv| kv.into_iter().collect())
}

// ---------------------------------------------------------------------------------------
// Checks

fn clean_error(e: &offline_tables_core::Error, input: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        e.code,
        ErrorCode::InvalidArgument,
        "{:?}: {}",
        input,
        e.message
    );
    prop_assert!(!e.message.is_empty());
    Ok(())
}

/// A filter that parsed is printed and parsed again to the same filter, and evaluates.
fn round_trips(f: &Filter, input: &str) -> Result<(), TestCaseError> {
    let printed = print(f);
    let again = parse_filter(&printed)
        .map_err(|e| TestCaseError::fail(format!("{input:?} -> {printed:?}: {e}")))?;
    prop_assert_eq!(&again, f, "{:?} printed as {:?}", input, printed);
    Ok(())
}

fn check_filter_text(s: &str) -> Result<(), TestCaseError> {
    match parse_filter(s) {
        Ok(f) => {
            round_trips(&f, s)?;
            // Evaluation of whatever parsed must not panic either.
            let row: Map<String, Value> =
                serde_json::from_value(json!({ "city": "Paris", "n": 1, "x": null })).unwrap();
            let _ = f.matches(&row);
            Ok(())
        }
        Err(e) => {
            clean_error(&e, s)?;
            prop_assert!(e.message.starts_with("$filter"), "{}", e.message);
            Ok(())
        }
    }
}

fn check_query(q: &Query) {
    // Planning onto indexes and evaluating never panic on what parses.
    let _ = Plan::new(q, "id", &["city".to_string(), "n".to_string()]);
    let _ = q.columns();
}

#[test]
fn filters_from_arbitrary_text_parse_or_fail_cleanly() {
    check("fuzz_query::arbitrary_text", CASES, any::<String>(), |s| {
        check_filter_text(&s)
    });
}

#[test]
fn filters_from_token_soup_parse_or_fail_cleanly_and_round_trip() {
    check("fuzz_query::token_soup", CASES, token_soup(), |s| {
        check_filter_text(&s)
    });
}

#[test]
fn generated_filters_print_and_parse_back() {
    check("fuzz_query::ast_round_trip", CASES, filter_ast(), |f| {
        let printed = print(&f);
        let parsed =
            parse_filter(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(parsed, normalize(f), "{:?}", printed);
        Ok(())
    });
}

#[test]
fn odata_query_strings_parse_or_fail_cleanly() {
    check(
        "fuzz_query::odata_query_string",
        CASES,
        query_string(),
        |s| {
            match Query::from_odata(&s) {
                Ok(q) => check_query(&q),
                Err(e) => clean_error(&e, &s)?,
            }
            Ok(())
        },
    );
}

#[test]
fn rest_query_strings_parse_or_fail_with_400() {
    let strategy = prop_oneof![
        (query_string(), any::<u64>()).prop_map(|(s, seed)| url_encoded(s, seed)),
        any::<String>(),
    ];
    check("fuzz_query::rest_query_string", CASES, strategy, |raw| {
        match parse_query(Some(&raw)) {
            Ok(q) => check_query(&q),
            Err(e) => {
                prop_assert_eq!(
                    (e.http_status(), e.code),
                    (400, offline_tables_core::ErrorCode::InvalidArgument),
                    "{:?}",
                    raw
                );
                prop_assert!(!e.message.is_empty());
            }
        }
        Ok(())
    });
}

#[test]
fn rest_routes_and_key_segments_parse_or_fail_with_400() {
    let method = prop::sample::select(vec!["GET", "POST", "PATCH", "DELETE", "PUT", "get", ""]);
    let segment = prop_oneof![
        any::<String>(),
        "'[a-z']{0,6}'?",
        "-?[0-9]{0,4}(\\.[0-9]{0,3})?(e[+-]?[0-9]{1,4})?",
        "%[0-9A-F]{0,2}[a-z/]{0,4}",
        "[a-z]{0,5}\\(('[a-z'()]{0,4}'|-?[0-9]{1,3}|[a-z=,%0-9]{0,5})\\)?",
    ];
    let path = prop::collection::vec(segment, 0..4).prop_map(|s| s.join("/"));
    check("fuzz_query::rest_route", CASES, (method, path), |(m, p)| {
        match Route::parse(m, &p) {
            Some(Err(e)) => prop_assert_eq!(e.http_status(), 400),
            Some(Ok(
                Route::Read { key, .. } | Route::Update { key, .. } | Route::Delete { key, .. },
            )) => match parse_key_segment(&key) {
                Ok(k) => prop_assert!(k.to_json().is_string() || k.to_json().is_number()),
                Err(e) => prop_assert_eq!(
                    (e.http_status(), e.code),
                    (400, offline_tables_core::ErrorCode::InvalidArgument)
                ),
            },
            Some(Ok(Route::List { .. } | Route::Create { .. })) | None => {}
        }
        Ok(())
    });
}

#[test]
fn query_objects_parse_or_fail_cleanly() {
    let example = json!({ "where": { "city": "Paris", "n": { "gte": 1, "lt": 9 },
        "or": [{ "ownerId": "u1" }, { "tag": { "in": ["a", 1] } }],
        "name": { "startsWith": "A", "contains": "b" } },
        "orderBy": [["name", "desc"], "city"], "limit": 50, "offset": 0, "select": ["id"] });
    let strategy = prop_oneof![
        json_value(),
        edits().prop_map(move |e| mutate(example.clone(), &e)),
    ];
    check("fuzz_query::query_object", CASES, strategy, |v| {
        match Query::from_object(&v) {
            Ok(q) => check_query(&q),
            Err(e) => clean_error(&e, &v.to_string())?,
        }
        Ok(())
    });
}

#[test]
fn evaluation_orders_and_projects_any_rows_without_panicking() {
    let strategy = (
        filter_ast(),
        row(),
        row(),
        prop::collection::vec(column(), 0..3),
    );
    check(
        "fuzz_query::evaluation",
        CASES,
        strategy,
        |(f, a, b, cols)| {
            let (ma, mb) = (f.matches(&a), f.matches(&b));
            // `not` is the complement on every row, whatever the types in it.
            prop_assert_eq!(Filter::Not(Box::new(f.clone())).matches(&a), !ma);
            let _ = mb;
            let order: Vec<(String, Direction)> =
                cols.iter().map(|c| (c.clone(), Direction::Desc)).collect();
            let ab = compare_rows(&a, &b, &order, "id");
            prop_assert_eq!(ab.reverse(), compare_rows(&b, &a, &order, "id"));
            let p = project(&a, &cols);
            prop_assert!(p.keys().all(|k| cols.contains(k)));
            Ok(())
        },
    );
}

/// The string functions against a reference over `Vec<char>` (lengths and positions in
/// chars), on strings and on a non-string (every function gives null).
#[test]
fn functions_agree_with_a_reference_over_chars() {
    let strategy = (
        prop_oneof![any::<String>(), "[ aAé😀b]{0,6}"],
        prop_oneof![any::<String>(), "[aAé😀b]{0,2}"],
        -3i64..12,
        prop::option::of(-2i64..12),
    );
    check(
        "fuzz_query::functions_reference",
        CASES,
        strategy,
        |(c, t, i, n)| {
            let chars: Vec<char> = c.chars().collect();
            let needle: Vec<char> = t.chars().collect();
            let index = (0..=chars.len())
                .find(|&k| chars[k..].starts_with(&needle))
                .map_or(-1, |k| k as i64);
            let sub: String = match n {
                _ if i < 0 => String::new(),
                Some(n) if n < 0 => String::new(),
                n => chars
                    .iter()
                    .skip(i as usize)
                    .take(n.map_or(usize::MAX, |n| n as usize))
                    .collect(),
            };
            let sub_call = match n {
                Some(n) => format!("substring(c,{i},{n})"),
                None => format!("substring(c,{i})"),
            };
            let lit = |s: &str| literal(&json!(s));
            let cases = [
                ("length(c)".to_string(), json!(chars.len())),
                ("tolower(c)".to_string(), json!(c.to_lowercase())),
                ("toupper(c)".to_string(), json!(c.to_uppercase())),
                ("trim(c)".to_string(), json!(c.trim())),
                (format!("indexof(c,{})", lit(&t)), json!(index)),
                (format!("concat(c,{})", lit(&t)), json!(format!("{c}{t}"))),
                (sub_call, json!(sub)),
            ];
            let text_row: Map<String, Value> =
                serde_json::from_value(json!({ "c": c, "t": t })).unwrap();
            let number_row: Map<String, Value> = serde_json::from_value(json!({ "c": 5 })).unwrap();
            for (expr, want) in cases {
                let eq = parse_filter(&format!("{expr} eq {}", literal(&want)))
                    .map_err(|e| TestCaseError::fail(format!("{expr}: {e}")))?;
                prop_assert!(eq.matches(&text_row), "{} should be {}", expr, want);
                let ne = parse_filter(&format!("{expr} ne {}", literal(&want))).unwrap();
                prop_assert!(!ne.matches(&text_row), "{}", expr);
                let null = parse_filter(&format!("{expr} eq null")).unwrap();
                prop_assert!(null.matches(&number_row), "{} over a number", expr);
            }
            let ends = parse_filter(&format!("endswith(c,{})", lit(&t))).unwrap();
            prop_assert_eq!(ends.matches(&text_row), chars.ends_with(&needle));
            let ends = parse_filter("endswith(c,t)").unwrap();
            prop_assert_eq!(ends.matches(&text_row), chars.ends_with(&needle));
            Ok(())
        },
    );
}

/// Seconds since 1970 of a civil time, counted the slow way (a reference for the
/// parser's arithmetic).
fn reference_secs(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, offset_min: i64) -> i64 {
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days: i64 = 0;
    if y >= 1970 {
        days += (1970..y)
            .map(|y| if leap(y) { 366 } else { 365 })
            .sum::<i64>();
    } else {
        days -= (y..1970)
            .map(|y| if leap(y) { 366 } else { 365 })
            .sum::<i64>();
    }
    let months = [
        31,
        if leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += months[..(mo - 1) as usize].iter().sum::<i64>() + d - 1;
    days * 86400 + h * 3600 + mi * 60 + s - offset_min * 60
}

/// Datetime literals compare with ISO-string columns as the instants they name, whatever
/// the offsets; a date is midnight UTC.
#[test]
fn datetimes_compare_as_instants() {
    let time = (
        0i64..10000,
        1i64..13,
        1i64..29,
        0i64..24,
        0i64..60,
        0i64..60,
        -23 * 60i64..24 * 60,
        any::<bool>(),
    );
    check(
        "fuzz_query::datetimes",
        CASES,
        (time.clone(), time),
        |(a, b)| {
            let text = |(y, mo, d, h, mi, s, off, date_only): (
                i64,
                i64,
                i64,
                i64,
                i64,
                i64,
                i64,
                bool,
            )| {
                if date_only {
                    return (
                        format!("{y:04}-{mo:02}-{d:02}"),
                        reference_secs(y, mo, d, 0, 0, 0, 0),
                    );
                }
                let zone = if off == 0 {
                    "Z".to_string()
                } else {
                    let sign = if off < 0 { '-' } else { '+' };
                    format!("{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)
                };
                (
                    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{zone}"),
                    reference_secs(y, mo, d, h, mi, s, off),
                )
            };
            let ((ta, sa), (tb, sb)) = (text(a), text(b));
            let row: Map<String, Value> = serde_json::from_value(json!({ "at": ta })).unwrap();
            for (op, want) in [
                ("eq", sa == sb),
                ("ne", sa != sb),
                ("lt", sa < sb),
                ("le", sa <= sb),
                ("gt", sa > sb),
                ("ge", sa >= sb),
            ] {
                let f = parse_filter(&format!("at {op} {tb}"))
                    .map_err(|e| TestCaseError::fail(format!("{tb}: {e}")))?;
                prop_assert_eq!(f.matches(&row), want, "{} {} {}", ta, op, tb);
            }
            let Filter::Compare {
                right: Expr::DateTime(t),
                ..
            } = parse_filter(&format!("at eq {tb}")).unwrap()
            else {
                panic!("a datetime comparison")
            };
            prop_assert_eq!(t.secs, sb);
            prop_assert_eq!(Instant::parse(&t.to_string()), Ok(t));
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// Regressions found by the properties above (and by reading the parser).

/// Deep nesting used to recurse once per `(` or `not` and overflow the stack: a
/// `$filter` of 100,000 `(` aborted the whole server process (a stack overflow is not a
/// panic that a handler can catch). Nesting is now bounded.
#[test]
fn deeply_nested_filters_are_refused_not_a_stack_overflow() {
    let n = 100_000;
    for s in [
        format!("{}a eq 1{}", "(".repeat(n), ")".repeat(n)),
        "(".repeat(n),
        format!("{}a eq 1", "not ".repeat(n)),
        format!("{}a eq 1", "not (".repeat(n)),
    ] {
        let e = parse_filter(&s).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        assert!(e.message.contains("nested"), "{}", e.message);
        let e = Query::from_odata(&format!("$filter={s}")).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArgument);
    }
    // Reasonable nesting still parses.
    let f = parse_filter(&format!("{}a eq 1{}", "(".repeat(30), ")".repeat(30))).unwrap();
    assert_eq!(print(&f), "a eq 1");
    parse_filter(&format!("{}a eq 1", "not ".repeat(30))).unwrap();
}

/// A number in a `$filter` is the number written, to the last bit (serde_json read some
/// one ulp off before `float_roundtrip` was enabled; found by `ast_round_trip`).
#[test]
fn filter_numbers_are_read_exactly() {
    for text in [
        "-1.74253517007099e-9",
        "1.6551560844407726e-186",
        "0.1",
        "5e-324",
    ] {
        let Filter::Cmp { value, .. } = parse_filter(&format!("x eq {text}")).unwrap() else {
            panic!("a comparison")
        };
        let exact: f64 = text.parse().unwrap();
        assert_eq!(value.as_f64().unwrap().to_bits(), exact.to_bits(), "{text}");
    }
}
