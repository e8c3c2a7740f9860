//! Reading the messages a client receives (pull pages, push answers, estimates, error
//! bodies, their changes and outcomes, keys and bases) through `serde_json::Value`.
//!
//! Every message is parsed once into a `Value` (whose parser is linked anyway: rows are
//! `Value`s) and converted by hand. Derived `Deserialize` compiled a state machine per
//! type and per input format, and buffered tagged enums in serde's `Content` tree; and any
//! typed serde_json read links serde's "invalid type" wording, whose `Unexpected` display
//! pulls in the float and string-escape formatters. In the wasm package all of that was
//! ~60 kB. The server reads the same messages through the same code (`Deserialize` below
//! goes through `Value` too), so the two cannot parse differently.
//!
//! Errors keep serde's shape ("missing field `x`", "invalid type: …, expected …");
//! unknown fields and unknown kinds are tolerated as before (see `docs/protocol.md`).

use super::{
    Change, ErrorBody, ErrorDetail, Estimate, Outcome, PullResponse, PushMutation, PushResponse,
    RejectReason, RemoveReason, TableEstimate,
};
use crate::outbox::{Base, MutationOp};
use crate::value::Key;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use std::fmt;

/// Why a message does not read, in serde's words ("missing field `x`", "invalid type:
/// …"). Not `serde_json::Error`: its constructor searches every message for a position
/// to lift out, and its `Display` brings `std::io::Error`'s, which the wasm never needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E(pub String);

impl E {
    pub fn custom(message: impl fmt::Display) -> E {
        E(message.to_string())
    }
    pub fn missing_field(name: &str) -> E {
        E(format!("missing field `{name}`"))
    }
}

impl fmt::Display for E {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for E {}

/// `invalid type: <what v is>, expected <expected>`, in serde's words but without its
/// `Unexpected` (see the module comment).
pub fn invalid(v: &Value, expected: &str) -> E {
    let found = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a map",
    };
    E::custom(format!("invalid type: {found}, expected {expected}"))
}

/// A type read from a parsed JSON value (see the module comment).
pub trait FromValue: Sized {
    fn from_value(v: Value) -> Result<Self, E>;
}

/// `T` from JSON text: parsed into a `Value` (by serde_json), then converted.
pub fn from_str<T: FromValue>(text: &str) -> Result<T, E> {
    T::from_value(serde_json::from_str(text).map_err(E::custom)?)
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Value, E> {
        Ok(v)
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<String, E> {
        string(v)
    }
}

impl FromValue for Key {
    fn from_value(v: Value) -> Result<Key, E> {
        key(v)
    }
}

impl FromValue for Map<String, Value> {
    fn from_value(v: Value) -> Result<Self, E> {
        match v {
            Value::Object(m) => Ok(m),
            other => Err(invalid(&other, "a map")),
        }
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    fn from_value(v: Value) -> Result<Self, E> {
        list(v, T::from_value)
    }
}

/// A pair, as a two-item array.
impl<A: FromValue, B: FromValue> FromValue for (A, B) {
    fn from_value(v: Value) -> Result<Self, E> {
        match v {
            Value::Array(items) if items.len() == 2 => {
                let mut it = items.into_iter();
                let (a, b) = (it.next().unwrap_or_default(), it.next().unwrap_or_default());
                Ok((A::from_value(a)?, B::from_value(b)?))
            }
            other => Err(invalid(&other, "a pair")),
        }
    }
}

/// The fields of one JSON object, taken out by name.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// `v`'s fields; an error naming `what` when `v` is not an object.
    pub fn of(v: Value, what: &str) -> Result<Fields, E> {
        match v {
            Value::Object(m) => Ok(Fields(m)),
            other => Err(invalid(&other, what)),
        }
    }
    /// The field `name`, left null in the object: each is read once, and taking it
    /// rather than removing it spares the wasm the map's removal (1.5 kB).
    fn field(&mut self, name: &str) -> Option<Value> {
        self.0.get_mut(name).map(Value::take)
    }
    pub fn take(&mut self, name: &'static str) -> Result<Value, E> {
        self.field(name).ok_or_else(|| E::missing_field(name))
    }
    /// A field that may be missing or null.
    pub fn opt(&mut self, name: &'static str) -> Option<Value> {
        self.field(name).filter(|v| !v.is_null())
    }
    pub fn string(&mut self, name: &'static str) -> Result<String, E> {
        string(self.take(name)?)
    }
    pub fn opt_string(&mut self, name: &'static str) -> Result<Option<String>, E> {
        self.opt(name).map(string).transpose()
    }
    pub fn u64(&mut self, name: &'static str) -> Result<u64, E> {
        u64_of(self.take(name)?)
    }
    pub fn u32(&mut self, name: &'static str) -> Result<u32, E> {
        u32_of(self.take(name)?)
    }
    pub fn opt_u32(&mut self, name: &'static str) -> Result<Option<u32>, E> {
        self.opt(name).map(u32_of).transpose()
    }
    pub fn bool(&mut self, name: &'static str) -> Result<bool, E> {
        let v = self.take(name)?;
        v.as_bool().ok_or_else(|| invalid(&v, "a boolean"))
    }
    /// A boolean that defaults to false when missing.
    pub fn flag(&mut self, name: &'static str) -> Result<bool, E> {
        match self.field(name) {
            None => Ok(false),
            Some(v) => v.as_bool().ok_or_else(|| invalid(&v, "a boolean")),
        }
    }
    pub fn key(&mut self, name: &'static str) -> Result<Key, E> {
        key(self.take(name)?)
    }
    /// A list whose items `item` reads.
    pub fn list<T>(
        &mut self,
        name: &'static str,
        item: impl Fn(Value) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        list(self.take(name)?, item)
    }
}

pub fn string(v: Value) -> Result<String, E> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(invalid(&other, "a string")),
    }
}

fn u32_of(v: Value) -> Result<u32, E> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid(&v, "a 32-bit non-negative integer"))
}

pub fn u64_of(v: Value) -> Result<u64, E> {
    v.as_u64()
        .ok_or_else(|| invalid(&v, "a non-negative integer"))
}

/// The items of a JSON array, each read by `item`.
pub fn list<T>(v: Value, item: impl Fn(Value) -> Result<T, E>) -> Result<Vec<T>, E> {
    match v {
        // A loop, not `collect::<Result<Vec<_>, _>>()`: that adapter is compiled once per
        // item type and is several times the size of the loop.
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for v in items {
                out.push(item(v)?);
            }
            Ok(out)
        }
        other => Err(invalid(&other, "a sequence")),
    }
}

pub fn key(v: Value) -> Result<Key, E> {
    match v {
        Value::String(s) => Ok(Key::Str(s)),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Key::Num(f)),
            _ => Err(E::custom("a key must be a finite number")),
        },
        other => Err(invalid(&other, "a key (a string or a finite number)")),
    }
}

impl FromValue for Change {
    fn from_value(v: Value) -> Result<Change, E> {
        let mut f = Fields::of(v, "a change object")?;
        let kind = f.string("kind")?;
        Ok(match kind.as_str() {
            "upsert" => Change::Upsert {
                table: f.string("table")?,
                key: f.key("key")?,
                version: f.string("version")?,
                row: f.take("row")?,
            },
            "remove" => Change::Remove {
                table: f.string("table")?,
                key: f.key("key")?,
                version: f.string("version")?,
                reason: match f.string("reason")?.as_str() {
                    "deleted" => RemoveReason::Deleted,
                    "scope" => RemoveReason::Scope,
                    _ => RemoveReason::Other,
                },
            },
            _ => Change::Unknown,
        })
    }
}

impl FromValue for Outcome {
    fn from_value(v: Value) -> Result<Outcome, E> {
        let mut f = Fields::of(v, "an outcome object")?;
        let status = f.string("status")?;
        Ok(match status.as_str() {
            "applied" => Outcome::Applied {
                id: f.u64("id")?,
                version: f.string("version")?,
                key: f.opt("key").map(key).transpose()?,
            },
            "conflict" => Outcome::Conflict {
                id: f.u64("id")?,
                server_row: f.opt("serverRow"),
                server_version: f.opt_string("serverVersion")?,
            },
            "rejected" => Outcome::Rejected {
                id: f.u64("id")?,
                reason: match f.string("reason")?.as_str() {
                    "validation" => RejectReason::Validation,
                    "permission" => RejectReason::Permission,
                    "read_only" => RejectReason::ReadOnly,
                    "transaction" => RejectReason::Transaction,
                    _ => RejectReason::Other,
                },
                message: f.string("message")?,
            },
            _ => Outcome::Unknown,
        })
    }
}

impl FromValue for PushMutation {
    fn from_value(v: Value) -> Result<PushMutation, E> {
        let mut f = Fields::of(v, "a mutation object")?;
        let op = match f.string("op")?.as_str() {
            "insert" => MutationOp::Insert,
            "update" => MutationOp::Update,
            "delete" => MutationOp::Delete,
            other => {
                return Err(E::custom(format!(
                    "unknown variant `{other}`, expected one of `insert`, `update`, `delete`"
                )))
            }
        };
        Ok(PushMutation {
            id: f.u64("id")?,
            table: f.string("table")?,
            key: f.key("key")?,
            op,
            row: f.opt("row"),
            columns: match f.opt("columns") {
                None => None,
                Some(Value::Object(m)) => Some(m),
                Some(other) => return Err(invalid(&other, "an object of columns")),
            },
            base_version: f.opt_string("baseVersion")?,
            unit: f.opt_string("unit")?,
            temp_key: f.flag("tempKey")?,
        })
    }
}

impl FromValue for PullResponse {
    fn from_value(v: Value) -> Result<PullResponse, E> {
        let mut f = Fields::of(v, "a pull response object")?;
        Ok(PullResponse {
            protocol_version: f.u32("protocolVersion")?,
            changes: f.list("changes", Change::from_value)?,
            checkpoint: f.string("checkpoint")?,
            has_more: f.bool("hasMore")?,
            resync: f.flag("resync")?,
            profile_version: f.opt_u32("profileVersion")?,
            user: f.opt_string("user")?,
            checkpoints: match f.opt("checkpoints") {
                None => None,
                Some(Value::Object(m)) => {
                    let mut out = Vec::with_capacity(m.len());
                    for (t, c) in m {
                        out.push((t, string(c)?));
                    }
                    Some(out)
                }
                Some(other) => return Err(invalid(&other, "an object of checkpoints")),
            },
        })
    }
}

impl FromValue for PushResponse {
    fn from_value(v: Value) -> Result<PushResponse, E> {
        let mut f = Fields::of(v, "a push response object")?;
        Ok(PushResponse {
            protocol_version: f.u32("protocolVersion")?,
            outcomes: f.list("outcomes", Outcome::from_value)?,
        })
    }
}

impl FromValue for Estimate {
    fn from_value(v: Value) -> Result<Estimate, E> {
        let mut f = Fields::of(v, "an estimate object")?;
        let mut tables = Vec::new();
        for (name, t) in Fields::of(f.take("tables")?, "a map of tables")?.0 {
            let mut t = Fields::of(t, "a table estimate object")?;
            let (rows, bytes) = (t.u64("rows")?, t.u64("bytes")?);
            tables.push((name, TableEstimate { rows, bytes }));
        }
        Ok(Estimate {
            protocol_version: f.u32("protocolVersion")?,
            rows: f.u64("rows")?,
            bytes: f.u64("bytes")?,
            tables,
        })
    }
}

impl FromValue for ErrorBody {
    fn from_value(v: Value) -> Result<ErrorBody, E> {
        let mut f = Fields::of(v, "an error body")?;
        let mut d = Fields::of(f.take("error")?, "an error object")?;
        Ok(ErrorBody {
            error: ErrorDetail {
                code: d.string("code")?,
                message: d.string("message")?,
            },
        })
    }
}

impl FromValue for Base {
    fn from_value(v: Value) -> Result<Base, E> {
        let mut f = Fields::of(v, "a base object")?;
        Ok(Base {
            version: f.string("version")?,
            row: f.opt("row"),
        })
    }
}

/// `Deserialize` through `Value` and `FromValue` (see the module comment).
macro_rules! via_value {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$t as FromValue>::from_value(Value::deserialize(d)?)
                    .map_err(serde::de::Error::custom)
            }
        }
    )*};
}
via_value!(
    Change,
    Outcome,
    PushMutation,
    PullResponse,
    PushResponse,
    Estimate,
    ErrorBody,
    Base,
    Key
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err<T: for<'de> Deserialize<'de> + std::fmt::Debug>(v: Value) -> String {
        serde_json::from_value::<T>(v).unwrap_err().to_string()
    }

    #[test]
    fn messages_read_and_round_trip() {
        let m = PushMutation {
            id: 7,
            table: "t".into(),
            key: Key::Num(3.0),
            op: MutationOp::Update,
            row: None,
            columns: Some(Map::from_iter([("a".to_string(), json!(1))])),
            base_version: Some("9".into()),
            unit: None,
            temp_key: false,
        };
        let back: PushMutation = serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        let o: Outcome = serde_json::from_value(
            json!({ "status": "conflict", "id": 2, "serverRow": null, "extra": 1 }),
        )
        .unwrap();
        assert_eq!(
            o,
            Outcome::Conflict {
                id: 2,
                server_row: None,
                server_version: None
            }
        );
        let r: Outcome = serde_json::from_value(
            json!({ "status": "rejected", "id": 1, "reason": "read_only", "message": "m" }),
        )
        .unwrap();
        assert!(matches!(
            r,
            Outcome::Rejected {
                reason: RejectReason::ReadOnly,
                ..
            }
        ));
        let k: Vec<Key> = serde_json::from_value(json!(["a", 1.5, -0.0])).unwrap();
        assert_eq!(k, vec![Key::Str("a".into()), Key::Num(1.5), Key::Num(0.0)]);
        let e = Estimate {
            protocol_version: 1,
            rows: 3,
            bytes: 90,
            tables: vec![("t".to_string(), TableEstimate { rows: 3, bytes: 90 })],
        };
        let back: Estimate = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let b: ErrorBody =
            serde_json::from_value(json!({ "error": { "code": "x", "message": "y" } })).unwrap();
        assert_eq!(
            (b.error.code.as_str(), b.error.message.as_str()),
            ("x", "y")
        );
        let base: Base = serde_json::from_value(json!({ "version": "4", "row": null })).unwrap();
        assert_eq!(
            base,
            Base {
                version: "4".into(),
                row: None
            }
        );
    }

    #[test]
    fn bad_messages_say_what_is_wrong_in_serdes_words() {
        assert_eq!(
            err::<Change>(json!({ "kind": "upsert", "key": "a", "version": "1", "row": {} })),
            "missing field `table`"
        );
        assert_eq!(
            err::<Outcome>(json!({ "status": "applied", "id": 1, "version": 5 })),
            "invalid type: a number, expected a string"
        );
        assert!(
            err::<Outcome>(json!({ "status": "applied", "id": -1, "version": "5" }))
                .contains("expected a non-negative integer")
        );
        assert!(
            err::<PushMutation>(json!({ "id": 1, "table": "t", "key": "k", "op": "upsert" }))
                .starts_with("unknown variant `upsert`")
        );
        assert!(err::<Key>(json!({ "id": 1 })).starts_with("invalid type: a map"));
        assert!(err::<Key>(json!(true)).contains("expected a key"));
        assert!(err::<Change>(json!("upsert")).contains("expected a change object"));
        assert!(err::<PushMutation>(
            json!({ "id": 1, "table": "t", "key": "k", "op": "update", "columns": [1] })
        )
        .contains("expected an object of columns"));
        assert!(err::<PullResponse>(
            json!({ "protocolVersion": 1, "changes": { "0": 1 }, "checkpoint": "1", "hasMore": false })
        )
        .starts_with("invalid type: a map, expected a sequence"));
        assert!(
            err::<PullResponse>(json!({ "error": { "code": "x", "message": "y" } }))
                .starts_with("missing field")
        );
        assert!(err::<PullResponse>(
            json!({ "protocolVersion": 4294967296u64, "changes": [], "checkpoint": "1", "hasMore": false })
        )
        .contains("32-bit"));
    }
}
