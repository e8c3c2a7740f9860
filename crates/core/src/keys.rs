//! Server-assigned keys (protocol.md §12): the temporary keys a client makes up for a row
//! whose real key only the server can give, and the `keyPattern` the server formats real
//! keys with. Shared by the client (which makes and recognises temporary keys) and the
//! server (which assigns real ones), so both read the same text the same way.

use crate::value::Key;
use serde_json::Value;

/// A temporary key is a string key starting with this. `~` sorts after every letter and
/// digit, and no pattern may produce it (see [`KeyPattern::parse`]), so a real key is
/// never mistaken for one.
pub const TEMP_KEY_PREFIX: &str = "~tmp:";

/// The widest zero padding a pattern may ask for (`{n:020}`): a u64 has 20 digits.
pub const MAX_PATTERN_WIDTH: usize = 20;

/// The longest `keyPattern` text accepted.
pub const MAX_PATTERN_LEN: usize = 200;

/// Whether `k` is a temporary key.
pub fn is_temp_key(k: &Key) -> bool {
    matches!(k, Key::Str(s) if s.starts_with(TEMP_KEY_PREFIX))
}

/// Whether the JSON value `v` (a column's value) is a temporary key.
pub fn is_temp_value(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.starts_with(TEMP_KEY_PREFIX))
}

/// A `keyPattern`: literal text around one `{n}` (the number as is) or `{n:0W}` (the
/// number zero-padded to W digits, W from 1 to 20), e.g. `WO-{n:05}` gives `WO-00042`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    text: String,
    /// Byte range of the placeholder in `text`.
    start: usize,
    end: usize,
    /// Zero-padding width (0: none).
    width: usize,
}

impl KeyPattern {
    /// Parses a pattern; the error says what is wrong with it (the caller names the path).
    pub fn parse(text: &str) -> Result<KeyPattern, String> {
        if text.len() > MAX_PATTERN_LEN {
            return Err(format!("must be at most {MAX_PATTERN_LEN} characters"));
        }
        if text.starts_with('~') {
            return Err(format!(
                "must not start with '~': keys starting with '{TEMP_KEY_PREFIX}' are temporary keys"
            ));
        }
        let Some(start) = text.find('{') else {
            return Err("must hold one {n} or {n:0W} (W from 1 to 20)".into());
        };
        let Some(len) = text[start..].find('}') else {
            return Err("has a '{' without its '}'".into());
        };
        let end = start + len + 1;
        let width = match &text[start..end] {
            "{n}" => 0,
            p => match p.strip_prefix("{n:0").and_then(|r| r.strip_suffix('}')) {
                Some(w) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
                    match w.parse::<usize>() {
                        Ok(w) if (1..=MAX_PATTERN_WIDTH).contains(&w) => w,
                        _ => {
                            return Err(format!(
                                "{p}: the width must be from 1 to {MAX_PATTERN_WIDTH}"
                            ))
                        }
                    }
                }
                _ => return Err(format!("{p} is not {{n}} or {{n:0W}} (W from 1 to 20)")),
            },
        };
        if text[end..].contains(['{', '}']) || text[..start].contains('}') {
            return Err("must hold exactly one {n} or {n:0W}, and no other braces".into());
        }
        Ok(KeyPattern {
            text: text.to_string(),
            start,
            end,
            width,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The key numbered `n`: the pattern with `n` in place of its placeholder.
    pub fn format(&self, n: u64) -> Key {
        let digits = n.to_string();
        let pad = self.width.saturating_sub(digits.len());
        let mut s = String::with_capacity(self.text.len() + digits.len() + pad);
        s.push_str(&self.text[..self.start]);
        s.extend(std::iter::repeat('0').take(pad));
        s.push_str(&digits);
        s.push_str(&self.text[self.end..]);
        Key::Str(s)
    }
}

/// The key numbered `n` of a table whose keys the server assigns: formatted by its
/// pattern, or the integer `n` itself without one.
pub fn assigned_key(pattern: Option<&KeyPattern>, n: u64) -> Key {
    match pattern {
        Some(p) => p.format(n),
        None => Key::Num(n as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(k: Key) -> String {
        match k {
            Key::Str(s) => s,
            Key::Num(n) => panic!("a number key {n}"),
        }
    }

    #[test]
    fn patterns_format_numbers() {
        let p = KeyPattern::parse("WO-{n:05}").unwrap();
        assert_eq!(s(p.format(42)), "WO-00042");
        assert_eq!(
            s(p.format(123_456)),
            "WO-123456",
            "wider numbers are not cut"
        );
        assert_eq!(s(KeyPattern::parse("{n}").unwrap().format(7)), "7");
        assert_eq!(s(KeyPattern::parse("a{n}b").unwrap().format(0)), "a0b");
        assert_eq!(
            s(KeyPattern::parse("x{n:020}").unwrap().format(u64::MAX)),
            "x18446744073709551615"
        );
        assert_eq!(p.as_str(), "WO-{n:05}");
        assert_eq!(assigned_key(None, 9), Key::Num(9.0));
        assert_eq!(assigned_key(Some(&p), 9), Key::Str("WO-00009".into()));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "", "WO-", "WO-{n", "{m}", "{n:5}", "{n:00}", "{n:021}", "{n:0x}", "{n}{n}", "{n}}",
            "}{n}", "~{n}", "~tmp:{n}", "{n:0}",
        ] {
            assert!(KeyPattern::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(KeyPattern::parse("~{n}").unwrap_err().contains("temporary"));
        assert!(KeyPattern::parse(&"x".repeat(300)).is_err());
    }

    #[test]
    fn temporary_keys_are_strings_with_the_prefix() {
        assert!(is_temp_key(&Key::Str("~tmp:abc".into())));
        assert!(!is_temp_key(&Key::Str("tmp:abc".into())));
        assert!(!is_temp_key(&Key::Num(1.0)));
        assert!(is_temp_value(&json!("~tmp:1")));
        assert!(!is_temp_value(&json!(1)));
        assert!(!is_temp_value(&json!(null)));
    }
}
