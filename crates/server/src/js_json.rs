//! JSON responses whose numbers are written as JavaScript's `JSON.stringify` writes them.
//!
//! The client's fetch interceptor answers the REST data API in the browser and writes its
//! bodies with `JSON.stringify`, holding every number as an f64; the server's answers must
//! be the same bytes. serde_json writes some numbers otherwise: integral floats keep a
//! fraction below 1e16 (`1.0`, `-0.0`, `1000000000000000.0`; JS: `1`, `0`,
//! `1000000000000000`) and take an exponent from 1e16 below 1e21 (`1.8446744073709552e+19`;
//! JS: `18446744073709552000`), floats from 1e-6 below 1e-5 take one too (`1.5e-6`; JS:
//! `0.0000015`), and u64/i64 beyond ±2^53 are written exactly (`18446744073709551615`; JS:
//! the nearest f64, `18446744073709552000`). [`Js`] writes floats with `ryu-js` (ryu with
//! ECMAScript's Number::toString) and integers as the f64 nearest to them, so every number
//! is what `JSON.stringify(JSON.parse(text))` gives. Only the REST data API needs it: sync
//! responses are read by `JSON.parse`, which makes the same f64 of either text.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::io;

/// serde_json's compact formatter with JavaScript's numbers.
#[derive(Clone, Copy, Default)]
pub struct Js;

impl serde_json::ser::Formatter for Js {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        // serde_json sends non-finite floats to `write_null`; ryu-js would write `NaN`.
        w.write_all(ryu_js::Buffer::new().format(value).as_bytes())
    }

    fn write_u64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: u64) -> io::Result<()> {
        // `as` rounds to the nearest f64 (ties to even), as JSON.parse reads the digits.
        self.write_f64(w, value as f64)
    }

    fn write_i64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: i64) -> io::Result<()> {
        self.write_f64(w, value as f64)
    }
}

/// `value` as JSON text, numbers as JavaScript writes them.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, Js))?;
    Ok(out)
}

/// [`to_vec`] as a `String`.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    // serde_json writes UTF-8 only, and so does ryu-js: nothing is lost.
    to_vec(value).map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// `axum::Json` with [`Js`] numbers: `application/json`, or a plain `500` if the value
/// does not serialise (as `axum::Json` answers).
pub struct JsJson<T>(pub T);

impl<T: Serialize> IntoResponse for JsJson<T> {
    fn into_response(self) -> Response {
        match to_vec(&self.0) {
            Ok(bytes) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                bytes,
            )
                .into_response(),
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )],
                e.to_string(),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_string;
    use serde_json::{json, Value};

    /// Each value with the text JavaScript writes for it. The oracle: these strings were
    /// printed by `node -e 'console.log(JSON.stringify(x))'` (Node 20) for the same value
    /// (integers beyond 2^53 as `Number(<BigInt>)`, the f64 JSON.parse makes of them) and
    /// are hard-coded here, so the test needs no JS engine.
    #[test]
    fn numbers_are_written_as_json_stringify_writes_them() {
        let table: &[(Value, &str)] = &[
            (json!(9007199254740992_u64), "9007199254740992"), // 2^53
            (json!(9007199254740994_u64), "9007199254740994"), // 2^53 + 2
            (json!(9007199254740993_u64), "9007199254740992"), // 2^53 + 1: no such f64
            (json!(9007199254740992.0_f64), "9007199254740992"),
            (json!(1.8446744073709552e19_f64), "18446744073709552000"),
            (json!(u64::MAX), "18446744073709552000"),
            (json!(i64::MAX), "9223372036854776000"),
            (json!(i64::MIN), "-9223372036854776000"),
            (json!(1e15_f64), "1000000000000000"),
            (json!(1e16_f64), "10000000000000000"),
            (json!(1e21_f64), "1e+21"),
            (json!(-1e21_f64), "-1e+21"),
            (json!(1.7976931348623157e308_f64), "1.7976931348623157e+308"),
            (json!(1e-6_f64), "0.000001"),
            (json!(1.5e-6_f64), "0.0000015"),
            (json!(1e-7_f64), "1e-7"),
            (json!(123e-20_f64), "1.23e-18"),
            (json!(5e-324_f64), "5e-324"),
            (json!(0.1_f64), "0.1"),
            (json!(1.5_f64), "1.5"),
            (json!(1.0_f64), "1"),
            (json!(-0.0_f64), "0"),
            (json!(0.0_f64), "0"),
            (json!(0), "0"),
            (json!(100), "100"),
            (json!(-100), "-100"),
            (json!(100.0_f64), "100"),
        ];
        for (value, js) in table {
            assert_eq!(to_string(value).unwrap(), *js, "{value:?}");
        }
        // The same inside rows; the rest of the text is serde_json's compact form.
        let row = json!({ "id": "n1", "big": u64::MAX, "list": [1.0, -0.0, 1e-7], "s": "1.0" });
        assert_eq!(
            to_string(&row).unwrap(),
            r#"{"id":"n1","big":18446744073709552000,"list":[1,0,1e-7],"s":"1.0"}"#
        );
    }

    /// What serde_json itself writes for some of them: the differences this module exists for.
    #[test]
    fn serde_json_alone_writes_them_otherwise() {
        for (value, serde) in [
            (json!(1.8446744073709552e19_f64), "1.8446744073709552e+19"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(i64::MIN), "-9223372036854775808"),
            (json!(1.0_f64), "1.0"),
            (json!(-0.0_f64), "-0.0"),
            (json!(1e15_f64), "1000000000000000.0"),
            (json!(1e-6_f64), "1e-6"),
        ] {
            assert_eq!(serde_json::to_string(&value).unwrap(), serde);
            assert_ne!(to_string(&value).unwrap(), serde);
        }
    }
}
