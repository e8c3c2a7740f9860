//! Order-preserving text encodings of index values and keys, so that SQL's byte order
//! over `ot_index.v` and `ot_index.ks` (SQLite's BINARY, PostgreSQL's `COLLATE "C"`) is
//! the core's order: numbers before strings, numbers by value, strings by UTF-16 code
//! units (IndexedDB's key order, `compare_keys`, and the planner's `Bound`s).

use offline_tables_core::query::{Bound, KeyRange};
use offline_tables_core::Key;
use serde_json::Value;

/// The successor mark: `enc(x) + SUCC` is the smallest encoding greater than `enc(x)`.
const SUCC: char = '\u{1}';
/// Greater than every encoded number or string (the planner's `AfterStrings`).
const AFTER_STRINGS: &str = "2";

/// A number: `0` then the 16 hex digits of its bits, flipped so that unsigned order
/// is numeric order. `-0` is written as `0` (the evaluator holds them equal).
pub fn num(f: f64) -> String {
    let f = if f == 0.0 { 0.0 } else { f };
    let bits = f.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    };
    format!("0{ordered:016x}")
}

/// A string: `1` then each UTF-16 unit `u` as one character, `u + 1` below U+D7FF and
/// above U+FFFF otherwise: valid scalar values (no NUL, which PostgreSQL text refuses,
/// no surrogates), increasing with `u`, so UTF-8 byte order is UTF-16 unit order.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    out.push('1');
    for u in s.encode_utf16() {
        let c = if u < 0xD7FF {
            u as u32 + 1
        } else {
            0x1_0000 + (u as u32 - 0xD7FF)
        };
        out.push(char::from_u32(c).unwrap_or(char::MAX));
    }
    out
}

/// An indexable value (a number or a string, as IndexedDB indexes), else None.
pub fn value(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_f64().map(num),
        Value::String(s) => Some(text(s)),
        _ => None,
    }
}

pub fn key(k: &Key) -> String {
    match k {
        Key::Num(n) => num(*n),
        Key::Str(s) => text(s),
    }
}

/// A planner bound's encoding.
pub fn bound(b: &Bound) -> String {
    match b {
        Bound::Num(n) => num(*n),
        Bound::Str(s) => text(s),
        Bound::AfterStrings => AFTER_STRINGS.to_string(),
    }
}

/// A planner range as `lo <= v < hi` over encodings.
pub fn range(r: &KeyRange) -> (String, String) {
    let (lb, lower_open) = &r.lower;
    let (ub, upper_open) = &r.upper;
    let mut lo = bound(lb);
    if *lower_open {
        lo.push(SUCC);
    }
    let mut hi = bound(ub);
    if !*upper_open {
        hi.push(SUCC);
    }
    (lo, hi)
}

/// Every encoded value: a scan of the key column.
pub fn everything() -> (String, String) {
    ("0".into(), AFTER_STRINGS.into())
}

/// The smallest encoding greater than `enc` (to continue after it).
pub fn after(enc: &str) -> String {
    let mut s = enc.to_string();
    s.push(SUCC);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use offline_tables_core::value::cmp_utf16;

    #[test]
    fn byte_order_is_the_cores_order() {
        let nums = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1.0,
            0.0,
            1e-300,
            1.0,
            2.5,
            1e300,
        ];
        for w in nums.windows(2) {
            assert!(num(w[0]) < num(w[1]), "{} < {}", w[0], w[1]);
        }
        assert_eq!(num(-0.0), num(0.0));
        let strs = [
            "",
            "\u{0}",
            "A",
            "a",
            "a\u{0}",
            "ab",
            "\u{D7FF}",
            "\u{E000}",
            "\u{FFFF}",
            "\u{10000}",
        ];
        for a in strs {
            for b in strs {
                assert_eq!(text(a).cmp(&text(b)), cmp_utf16(a, b), "{a:?} {b:?}");
            }
        }
        assert!(num(f64::INFINITY) < text(""));
        assert!(text("\u{FFFF}\u{FFFF}").as_str() < AFTER_STRINGS);
        assert!(!text("a\u{0}").contains('\u{0}'));
    }

    #[test]
    fn ranges_are_half_open_over_encodings() {
        let r = KeyRange {
            lower: (Bound::Str("k".into()), true),
            upper: (Bound::Str("m".into()), false),
        };
        let (lo, hi) = range(&r);
        let inside = |s: &str| lo <= text(s) && text(s) < hi;
        assert!(!inside("k") && inside("k\u{0}") && inside("l") && inside("m"));
        assert!(!inside("m\u{0}") && !inside("n"));
        let (lo, hi) = range(&KeyRange::only(Bound::Num(3.0)));
        assert!(lo <= num(3.0) && num(3.0) < hi && num(3.0000001) >= hi);
    }
}
