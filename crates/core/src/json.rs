//! The JSON text reader: text to `serde_json::Value`, for every JSON the wasm package,
//! the fetch interceptor and the reference server's request bodies read.
//!
//! Why not serde_json's own reader: in the wasm package it was 16 kB of the gzipped
//! size (the `Deserializer`, its number reader and `Value`'s visitor), and this one is
//! a few hundred lines. It reads what serde_json reads into the same `Value` (same
//! numbers, same key order, a repeated key keeps its first place and its last value, at
//! most 127 levels of nesting) and refuses what it refuses, with serde_json's words and
//! positions (`expected `,` or `}` at line 1 column 12`); `tests/json.rs` holds the two
//! side by side on generated and broken texts.
//!
//! Numbers with a fraction or an exponent, and integers beyond 64 bits, become `f64`
//! through a *float reader*: Rust's own (`str::parse`) by default, which rounds
//! correctly but weighs 15 kB gzipped in the wasm; there the package installs
//! JavaScript's `parseFloat` (correctly rounded too) with [`set_float_reader`] instead,
//! and the wasm build leaves Rust's out.

use serde_json::{Map, Number, Value};
use std::fmt;
use std::sync::OnceLock;

/// Text that is not JSON: what is wrong and where (line from 1; column in bytes of
/// that line, up to the offending byte), shown as serde_json shows its errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub what: &'static str,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.what, self.line, self.column
        )
    }
}

impl std::error::Error for Error {}

const EOF_VALUE: &str = "EOF while parsing a value";
const EOF_LIST: &str = "EOF while parsing a list";
const EOF_OBJECT: &str = "EOF while parsing an object";
const EOF_STRING: &str = "EOF while parsing a string";
const EXPECTED_VALUE: &str = "expected value";
const EXPECTED_IDENT: &str = "expected ident";
const EXPECTED_COLON: &str = "expected `:`";
const LIST_SEPARATOR: &str = "expected `,` or `]`";
const OBJECT_SEPARATOR: &str = "expected `,` or `}`";
const KEY_NOT_STRING: &str = "key must be a string";
const TRAILING_COMMA: &str = "trailing comma";
const TRAILING: &str = "trailing characters";
const INVALID_NUMBER: &str = "invalid number";
const OUT_OF_RANGE: &str = "number out of range";
const INVALID_ESCAPE: &str = "invalid escape";
const CONTROL: &str = "control character (\\u0000-\\u001F) found while parsing a string";
const LONE_SURROGATE: &str = "lone leading surrogate in hex escape";
const SURROGATE_END: &str = "unexpected end of hex escape";
const TOO_DEEP: &str = "recursion limit exceeded";

/// serde_json's limit: the 128th open bracket is refused.
const MAX_DEPTH: u32 = 128;

static FLOAT_READER: OnceLock<fn(&str) -> f64> = OnceLock::new();

/// Installs the reader of number text that is not a 64-bit integer (once; later calls
/// are ignored). It receives valid JSON number text only.
pub fn set_float_reader(read: fn(&str) -> f64) {
    let _ = FLOAT_READER.set(read);
}

fn read_float(text: &str) -> Option<f64> {
    if let Some(read) = FLOAT_READER.get() {
        return Some(read(text));
    }
    #[cfg(not(target_arch = "wasm32"))]
    return text.parse().ok();
    // The wasm package installs one before it reads anything; without one, a float
    // is refused rather than read wrong.
    #[cfg(target_arch = "wasm32")]
    None
}

/// Parses one JSON value; whitespace may surround it, nothing else may follow.
pub fn parse(text: &str) -> Result<Value, Error> {
    let mut r = Reader {
        text,
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = r.value()?;
    if r.ws().is_some() {
        return Err(r.ahead(TRAILING));
    }
    Ok(v)
}

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    /// The next byte to read.
    i: usize,
    depth: u32,
}

impl Reader<'_> {
    /// An error at byte offset `at` (exclusive): `at` bytes of the text are behind it.
    fn at(&self, what: &'static str, at: usize) -> Error {
        let before = &self.b[..at.min(self.b.len())];
        let line_start = before
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        Error {
            what,
            line: 1 + before.iter().filter(|&&c| c == b'\n').count(),
            column: before.len() - line_start,
        }
    }

    /// An error after the bytes read so far.
    fn here(&self, what: &'static str) -> Error {
        self.at(what, self.i)
    }

    /// An error at the next byte, not yet read (serde_json's "peek" position).
    fn ahead(&self, what: &'static str) -> Error {
        self.at(what, self.i + 1)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    /// Skips whitespace; the byte after it, not read.
    fn ws(&mut self) -> Option<u8> {
        while let Some(c) = self.peek() {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    fn value(&mut self) -> Result<Value, Error> {
        let Some(c) = self.ws() else {
            return Err(self.ahead(EOF_VALUE));
        };
        match c {
            b'n' => self.word("null", Value::Null),
            b't' => self.word("true", Value::Bool(true)),
            b'f' => self.word("false", Value::Bool(false)),
            b'"' => {
                self.i += 1;
                self.string().map(Value::String)
            }
            b'-' | b'0'..=b'9' => self.number(),
            b'[' | b'{' => {
                self.depth += 1;
                if self.depth >= MAX_DEPTH {
                    return Err(self.ahead(TOO_DEEP));
                }
                self.i += 1;
                let v = if c == b'[' {
                    self.list()
                } else {
                    self.object()
                };
                self.depth -= 1;
                v
            }
            _ => Err(self.ahead(EXPECTED_VALUE)),
        }
    }

    fn word(&mut self, word: &str, v: Value) -> Result<Value, Error> {
        for want in word.bytes() {
            match self.next() {
                None => return Err(self.here(EOF_VALUE)),
                Some(c) if c != want => return Err(self.here(EXPECTED_IDENT)),
                Some(_) => {}
            }
        }
        Ok(v)
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`: a `u64` if it is a
    /// non-negative integer that fits, an `i64` if a negative one, else an `f64`.
    fn number(&mut self) -> Result<Value, Error> {
        let start = self.i;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        match self.next() {
            None => return Err(self.here(EOF_VALUE)),
            Some(b'0') => {
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.ahead(INVALID_NUMBER));
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            Some(_) => return Err(self.here(INVALID_NUMBER)),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            integer = false;
            match self.peek() {
                Some(b'0'..=b'9') => self.digits(),
                Some(_) => return Err(self.ahead(INVALID_NUMBER)),
                None => return Err(self.ahead(EOF_VALUE)),
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            match self.next() {
                Some(b'0'..=b'9') => self.digits(),
                Some(_) => return Err(self.here(INVALID_NUMBER)),
                None => return Err(self.here(EOF_VALUE)),
            }
        }
        let text = &self.text[start..self.i];
        if integer {
            if let Some(n) = text[negative as usize..].bytes().try_fold(0u64, |n, d| {
                n.checked_mul(10)?.checked_add((d - b'0') as u64)
            }) {
                if !negative {
                    return Ok(Value::Number(n.into()));
                }
                // `-0` is the float -0.0, as in serde_json.
                if n != 0 && n <= 1 << 63 {
                    return Ok(Value::Number((n as i64).wrapping_neg().into()));
                }
            }
        }
        read_float(text)
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| self.here(OUT_OF_RANGE))
    }

    /// The rest of a string whose opening quote is read.
    fn string(&mut self) -> Result<String, Error> {
        let mut out = String::new();
        let mut run = self.i;
        loop {
            let Some(c) = self.next() else {
                return Err(self.here(EOF_STRING));
            };
            match c {
                b'"' => {
                    out.push_str(&self.text[run..self.i - 1]);
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&self.text[run..self.i - 1]);
                    self.escape(&mut out)?;
                    run = self.i;
                }
                0..=0x1f => return Err(self.here(CONTROL)),
                _ => {}
            }
        }
    }

    /// An escape whose backslash is read.
    fn escape(&mut self, out: &mut String) -> Result<(), Error> {
        let c = match self.next() {
            None => return Err(self.here(EOF_STRING)),
            Some(b'u') => return self.unicode(out),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(_) => return Err(self.here(INVALID_ESCAPE)),
        };
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let Some(digits) = self.b.get(self.i..self.i + 4) else {
            self.i = self.b.len();
            return Err(self.here(EOF_STRING));
        };
        self.i += 4;
        digits
            .iter()
            .try_fold(0, |n, &d| Some(n * 16 + (d as char).to_digit(16)?))
            .ok_or_else(|| self.here(INVALID_ESCAPE))
    }

    /// `\uXXXX`, with `u` read; a UTF-16 surrogate pair is two of them, a lone
    /// surrogate is refused (it is not a character a `String` can hold).
    fn unicode(&mut self, out: &mut String) -> Result<(), Error> {
        let mut n = self.hex4()?;
        if (0xDC00..=0xDFFF).contains(&n) {
            return Err(self.here(LONE_SURROGATE));
        }
        if (0xD800..=0xDBFF).contains(&n) {
            for want in [b'\\', b'u'] {
                match self.next() {
                    None => return Err(self.here(EOF_STRING)),
                    Some(c) if c != want => return Err(self.here(SURROGATE_END)),
                    Some(_) => {}
                }
            }
            let low = self.hex4()?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err(self.here(LONE_SURROGATE));
            }
            n = 0x10000 + ((n - 0xD800) << 10) + (low - 0xDC00);
        }
        out.push(char::from_u32(n).unwrap_or(char::REPLACEMENT_CHARACTER));
        Ok(())
    }

    /// The rest of a list whose `[` is read.
    fn list(&mut self) -> Result<Value, Error> {
        let mut items = Vec::new();
        loop {
            let next = match self.ws() {
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                Some(b',') if !items.is_empty() => {
                    self.i += 1;
                    self.ws()
                }
                Some(c) if items.is_empty() => Some(c),
                Some(_) => return Err(self.ahead(LIST_SEPARATOR)),
                None => return Err(self.ahead(EOF_LIST)),
            };
            if next == Some(b']') {
                return Err(self.ahead(TRAILING_COMMA));
            }
            items.push(self.value()?);
        }
    }

    /// The rest of an object whose `{` is read.
    fn object(&mut self) -> Result<Value, Error> {
        let mut map = Map::new();
        let mut first = true;
        loop {
            let next = match self.ws() {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                Some(b',') if !first => {
                    self.i += 1;
                    self.ws()
                }
                Some(c) if first => Some(c),
                Some(_) => return Err(self.ahead(OBJECT_SEPARATOR)),
                None => return Err(self.ahead(EOF_OBJECT)),
            };
            first = false;
            match next {
                Some(b'"') => self.i += 1,
                Some(b'}') => return Err(self.ahead(TRAILING_COMMA)),
                Some(_) => return Err(self.ahead(KEY_NOT_STRING)),
                None => return Err(self.ahead(EOF_VALUE)),
            }
            let key = self.string()?;
            match self.ws() {
                Some(b':') => self.i += 1,
                Some(_) => return Err(self.ahead(EXPECTED_COLON)),
                None => return Err(self.ahead(EOF_OBJECT)),
            }
            let v = self.value()?;
            map.insert(key, v);
        }
    }
}
