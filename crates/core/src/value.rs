//! Primary keys and the ordering of JSON values, matching IndexedDB's key order so that
//! a query answered through an index and the same query answered by a scan agree.

use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::fmt;

/// A primary key: a string or a finite number (IndexedDB orders numbers before strings).
/// `Deserialize` is in `protocol/wire.rs`.
#[derive(Debug, Clone)]
pub enum Key {
    Num(f64),
    Str(String),
}

impl Key {
    /// The key of a JSON value, or an error naming `what` when it is not a valid key.
    pub fn from_json(value: &Value, what: &str) -> Result<Key> {
        match value {
            Value::String(s) => Ok(Key::Str(s.clone())),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.is_finite() => Ok(Key::Num(f)),
                _ => Err(Error::invalid_argument(format!(
                    "{what}: key {} is not a finite number",
                    to_text(value)
                ))),
            },
            other => Err(Error::invalid_argument(format!(
                "{what}: a key must be a string or a finite number, got {}",
                type_name(other)
            ))),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Key::Str(s) => Value::String(s.clone()),
            Key::Num(n) => number_value(*n),
        }
    }
}

/// A JSON number for `n`, as an integer when it is one (so `1` prints as `1`, not `1.0`).
pub fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Integral numbers serialize as integers (`1`, not `1.0`), as JavaScript prints them.
impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Key::Str(v) => s.serialize_str(v),
            Key::Num(n) if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 => {
                s.serialize_i64(*n as i64)
            }
            Key::Num(n) => s.serialize_f64(*n),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Num(a), Key::Num(b)) => num_cmp(*a, *b),
            (Key::Num(_), Key::Str(_)) => Ordering::Less,
            (Key::Str(_), Key::Num(_)) => Ordering::Greater,
            (Key::Str(a), Key::Str(b)) => cmp_utf16(a, b),
        }
    }
}

// -0 and 0 are the same key in IndexedDB; total_cmp would separate them.
fn num_cmp(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

// Numbers print through serde_json's formatter, never f64's own Display: in the wasm build that
// would link core's float formatter (~15 kB) for error messages alone.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Str(s) => write!(f, "'{s}'"),
            Key::Num(n) => f.write_str(&to_text(&number_value(*n))),
        }
    }
}

/// `row` as a row of a table keyed by `key_col` whose key must be `key`: a JSON object
/// whose key column holds `key`; otherwise what is wrong with it.
pub fn check_row(
    row: &Value,
    key_col: &str,
    key: &Key,
) -> std::result::Result<Map<String, Value>, String> {
    let Value::Object(map) = row else {
        return Err("the row must be a JSON object".into());
    };
    match map.get(key_col).map(|v| Key::from_json(v, key_col)) {
        Some(Ok(k)) if &k == key => Ok(map.clone()),
        Some(Ok(k)) => Err(format!(
            "the row's {key_col} is {k}, not the mutation's key {key}"
        )),
        Some(Err(e)) => Err(e.message),
        None => Err(format!("the row has no {key_col} (its key column)")),
    }
}

/// Compares strings by UTF-16 code units, as JavaScript and IndexedDB do (Rust's `str`
/// order is by code point, which differs for characters above U+FFFF).
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Equality of stored values: strict on types, numbers by value, arrays and objects deep.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Range comparison: defined only between two numbers or two strings.
pub fn compare_same_type(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(cmp_utf16(x, y)),
        _ => None,
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// A total order over values for `orderBy`: missing and null first, then booleans,
/// numbers, strings (UTF-16 order), arrays (element-wise), objects (by serialized form).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(_), Value::Number(_)) | (Value::String(_), Value::String(_)) => {
            compare_same_type(a, b).unwrap_or(Ordering::Equal)
        }
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let o = compare_values(p, q);
                if o != Ordering::Equal {
                    return o;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(_), Value::Object(_)) => to_text(a).cmp(&to_text(b)),
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

/// `v` as compact JSON text. Code the wasm links uses this, not `Value`'s `Display`
/// (`to_string`, `{}`), which compiles serde_json's serializer twice more (for a
/// formatter, compact and pretty) and its io error.
pub fn to_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default() // a Value always serializes
}

/// A JSON object of `fields`, in this order. Values are built by hand in code the wasm
/// links rather than with `json!`: each of its interpolations compiles a `to_value` for
/// its type, and an `unwrap` that links the `Debug` of serde_json's error (and with it
/// the string escaper's Unicode tables).
pub fn object(fields: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in fields {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_order_like_indexeddb() {
        let mut keys = vec![
            Key::Str("b".into()),
            Key::Num(10.0),
            Key::Str("a".into()),
            Key::Num(-1.5),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                Key::Num(-1.5),
                Key::Num(10.0),
                Key::Str("a".into()),
                Key::Str("b".into())
            ]
        );
        assert_eq!(Key::Num(0.0), Key::Num(-0.0));
    }

    #[test]
    fn strings_compare_by_utf16_units() {
        // U+FF61 is one unit 0xFF61; U+1F600 is the surrogate pair 0xD83D 0xDE00.
        assert_eq!(cmp_utf16("\u{FF61}", "\u{1F600}"), Ordering::Greater);
        assert_eq!("\u{FF61}".cmp("\u{1F600}"), Ordering::Less);
    }

    #[test]
    fn key_from_json_rejects_non_keys() {
        assert!(Key::from_json(&json!(true), "k").is_err());
        assert!(Key::from_json(&json!(null), "k").is_err());
        assert_eq!(Key::from_json(&json!(3), "k").unwrap(), Key::Num(3.0));
        assert_eq!(Key::from_json(&json!(3), "k").unwrap().to_json(), json!(3));
        assert_eq!(serde_json::to_string(&Key::Num(1.0)).unwrap(), "1");
        assert_eq!(serde_json::to_string(&Key::Num(1.5)).unwrap(), "1.5");
    }

    #[test]
    fn equality_is_type_strict_and_deep() {
        assert!(!values_equal(&json!(1), &json!("1")));
        assert!(values_equal(&json!(1), &json!(1.0)));
        assert!(values_equal(&json!({"a":[1,2]}), &json!({"a":[1.0,2]})));
        assert!(compare_same_type(&json!(1), &json!("a")).is_none());
    }
}
