//! The JSON reader (`offline_tables_core::json`) side by side with serde_json's: the
//! same `Value` for every text serde_json reads (numbers to the bit, key order, repeated
//! keys), a refusal for every text it refuses, in serde_json's words and at its positions
//! (the one exception: where an over-long exponent is reported).
//!
//! Cases per property: `PROPTEST_CASES` (default 2000).

use offline_tables_core::json;
use proptest::prelude::*;
use serde_json::Value;

const OUT_OF_RANGE: &str = "number out of range";

fn written(v: &Value) -> String {
    serde_json::to_string(v).unwrap()
}

/// Parses with both readers and holds them to one answer. Values are compared through
/// their text too, which tells `-0.0` from `0.0` and an `f64` from an integer.
fn same(text: &str) -> Result<(), String> {
    let ours = json::parse(text);
    let theirs = serde_json::from_str::<Value>(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) if a == b && written(a) == written(b) => Ok(()),
        (Err(a), Err(b)) if a.to_string() == b.to_string() => Ok(()),
        // serde_json gives up on an exponent as soon as it overflows an i32, mid-digits;
        // ours reads the whole number first. Same refusal, a later column.
        (Err(a), Err(b)) if a.what == OUT_OF_RANGE && b.to_string().starts_with(OUT_OF_RANGE) => {
            Ok(())
        }
        _ => Err(format!(
            "{text:?}:\n  ours   {:?}\n  serde  {:?}",
            ours.map(|v| v.to_string()).map_err(|e| e.to_string()),
            theirs.map(|v| v.to_string()).map_err(|e| e.to_string())
        )),
    }
}

fn check(texts: &[&str]) {
    let failures: Vec<String> = texts.iter().filter_map(|t| same(t).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reads_what_serde_json_reads() {
    check(&[
        "null",
        "true",
        "false",
        " \t\r\n 1 \n",
        "0",
        "-0",
        "-0.0",
        "0.0",
        "1",
        "-1",
        "1.5",
        "1e3",
        "1E3",
        "1e+3",
        "1e-3",
        "-1.25e-7",
        "123456789012345678901234567890",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "0.1",
        "0.30000000000000004",
        "2.2250738585072014e-308",
        "5e-324",
        "1e-400",
        "1.7976931348623157e308",
        "9007199254740993",
        r#""""#,
        r#""abc""#,
        r#""a\"b\\c\/d\b\f\n\r\t""#,
        r#""\u0041\u00e9\u20AC""#,
        r#""\ud83d\ude00""#,
        r#""héllo wörld 😀""#,
        "[]",
        "[1,2,3]",
        " [ 1 , [ ] , { } ] ",
        "{}",
        r#"{"a":1,"b":[true,null],"c":{"d":"e"}}"#,
        r#"{"z":1,"a":2,"m":3}"#,
        r#"{"a":1,"b":2,"a":3}"#,
        r#"{"":""}"#,
    ]);
}

#[test]
fn refuses_what_serde_json_refuses_in_its_words() {
    check(&[
        "",
        " ",
        "x",
        "nul",
        "nulL",
        "tru",
        "truex",
        "falsy",
        "[",
        "[1",
        "[1,",
        "[1,]",
        "[1 2]",
        "[,1]",
        "]",
        "{",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
        "{1:2}",
        "{,}",
        "{\"a\":1,,}",
        "\"abc",
        "\"a\\",
        "\"a\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"\\ud800\"",
        "\"\\ud800x\"",
        "\"\\ud800\\n\"",
        "\"\\ud800\\u0041\"",
        "\"\\udc00\"",
        "\"a\u{1}b\"",
        "\"tab\there\"",
        "01",
        "-",
        "-x",
        "1.",
        "1.x",
        "1e",
        "1e+",
        "1ex",
        ".5",
        "+1",
        "1e400",
        "-1e400",
        "1 2",
        "{} x",
        "[1]\n\n  ]",
        "{\n  \"a\": 1,\n  \"b\" 2\n}",
        "NaN",
        "Infinity",
        "'a'",
        "[\"a\",\n\"b\"\n,]",
    ]);
}

#[test]
fn nesting_stops_where_serde_json_stops() {
    for depth in [1, 126, 127, 128, 129, 500] {
        let lists = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        check(&[&lists, &objects]);
    }
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (-1000i32..1000, -30i32..30).prop_map(|(m, e)| Value::from(m as f64 * 10f64.powi(e))),
        ".{0,12}".prop_map(Value::String),
        "[\"\\\\/\u{0}-\u{1f}\u{7f}-\u{ff}\u{fffd}\u{10000}-\u{10ffff}a]{0,6}"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-d]{0,2}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Bytes that make or break JSON, for the damaged texts.
const SHARP: &[char] = &[
    '"', '\\', '{', '}', '[', ']', ',', ':', '-', '+', '.', 'e', '0', '9', 'u', 'n', ' ', '\n',
    '\u{1}', 'x',
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)))]

    #[test]
    fn any_value_written_by_serde_json_reads_back_alike(v in value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.unwrap();
        prop_assert_eq!(same(&text), Ok(()));
    }

    #[test]
    fn damaged_texts_get_the_same_answer(
        v in value(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        put in prop::sample::select(SHARP),
        how in 0..3u8,
    ) {
        let text = serde_json::to_string(&v).unwrap();
        let chars: Vec<char> = text.chars().collect();
        let i = at.index(chars.len() + 1);
        let mut damaged: Vec<char> = match how {
            0 => chars[..cut.index(chars.len() + 1)].to_vec(),
            1 => { let mut c = chars.clone(); c.insert(i, put); c }
            _ => { let mut c = chars.clone(); if i < c.len() { c[i] = put; } c }
        };
        if damaged.is_empty() { damaged.push(put); }
        let damaged: String = damaged.into_iter().collect();
        prop_assert_eq!(same(&damaged), Ok(()));
    }

    #[test]
    fn number_texts_read_alike(
        sign in prop::option::of(Just('-')),
        int in "[0-9]{1,25}",
        frac in prop::option::of("[0-9]{0,20}"),
        exp in prop::option::of(("[eE]", prop::option::of("[+-]"), "[0-9]{0,4}")),
    ) {
        let mut text: String = sign.into_iter().collect();
        text.push_str(&int);
        if let Some(f) = frac { text.push('.'); text.push_str(&f); }
        if let Some((e, s, d)) = exp { text.push_str(&e); text.push_str(&s.unwrap_or_default()); text.push_str(&d); }
        prop_assert_eq!(same(&text), Ok(()));
    }
}
