//! What the package and the server rely on when serde_json reads JSON text (bodies,
//! profiles, stored records, messages): malformed text refused in the words and at the
//! positions the REST API's `invalid_argument` messages give, keys kept in their order,
//! and numbers read to the bit (the `float_roundtrip` feature: without it some floats
//! come back one ulp off).
//!
//! Cases per property: `PROPTEST_CASES` (default 2000).

use offline_tables_core::Error;
use proptest::prelude::*;
use serde_json::Value;

fn refusal(text: &str) -> String {
    let e = serde_json::from_str::<Value>(text).expect_err(text);
    Error::malformed_json(e).message
}

#[test]
fn malformed_text_is_refused_with_its_position() {
    for (text, message) in [
        (
            "",
            "malformed JSON body: EOF while parsing a value at line 1 column 0",
        ),
        (
            "{\"a\":1 \"b\":2}",
            "malformed JSON body: expected `,` or `}` at line 1 column 8",
        ),
        (
            "[1,]",
            "malformed JSON body: trailing comma at line 1 column 4",
        ),
        (
            "{1:2}",
            "malformed JSON body: key must be a string at line 1 column 2",
        ),
        (
            "01",
            "malformed JSON body: invalid number at line 1 column 2",
        ),
        (
            "1e400",
            "malformed JSON body: number out of range at line 1 column 5",
        ),
        (
            "{\n  \"a\": 1,\n  \"b\" 2\n}",
            "malformed JSON body: expected `:` at line 3 column 7",
        ),
        (
            "{} x",
            "malformed JSON body: trailing characters at line 1 column 4",
        ),
    ] {
        assert_eq!(refusal(text), message, "{text:?}");
    }
    // serde_json's nesting limit: 128 levels are refused, 127 read.
    assert!(
        serde_json::from_str::<Value>(&format!("{}{}", "[".repeat(127), "]".repeat(127))).is_ok()
    );
    assert!(refusal(&format!("{}{}", "[".repeat(128), "]".repeat(128)))
        .contains("recursion limit exceeded"));
}

#[test]
fn keys_keep_their_order_and_a_repeated_key_its_first_place_and_last_value() {
    let v: Value = serde_json::from_str(r#"{"z":1,"a":2,"m":3,"z":4}"#).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["z", "a", "m"]);
    assert_eq!(v["z"], 4);
}

#[test]
fn numbers_keep_their_kind() {
    let read = |t: &str| serde_json::from_str::<Value>(t).unwrap();
    assert!(read("18446744073709551615").is_u64());
    assert!(read("-9223372036854775808").is_i64());
    assert!(read("18446744073709551616").is_f64());
    // `-0` is the float -0.0, written back as such.
    assert_eq!(serde_json::to_string(&read("-0")).unwrap(), "-0.0");
    assert_eq!(read("5e-324").as_f64(), Some(5e-324));
    assert_eq!(read("0.30000000000000004").as_f64(), Some(0.1 + 0.2));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)))]

    #[test]
    fn any_float_reads_back_to_the_bit(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = serde_json::to_string(&f).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back.as_f64().map(f64::to_bits), Some(f.to_bits()), "{}", text);
    }

    #[test]
    fn decimal_texts_read_as_rust_reads_them(int in "0|[1-9][0-9]{0,16}", frac in "[0-9]{1,20}", exp in -330i32..310) {
        let text = format!("{int}.{frac}e{exp}");
        let want: f64 = text.parse().unwrap();
        // Beyond f64: Rust reads infinity, serde_json refuses ("number out of range").
        prop_assume!(want.is_finite());
        let back: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back.as_f64().map(f64::to_bits), Some(want.to_bits()), "{}", text);
    }
}
