//! Reading the protocol's tagged messages (`Change`, `Outcome`, `PushMutation`) and keys
//! through `serde_json::Value`.
//!
//! Derived `Deserialize` for an internally tagged or untagged enum buffers every field in
//! serde's private `Content` tree and compiles a state machine per type and per input
//! format; in the wasm package these were ~30 kB. Parsing once into a `Value` (whose
//! parser is linked anyway, rows are `Value`s) and converting by hand costs a fraction.
//! Errors keep serde's wording ("missing field `x`", "invalid type: …, expected …"), and
//! unknown fields and unknown kinds are tolerated as before (see `docs/protocol.md`).

use super::{Change, Outcome, PushMutation, RejectReason, RemoveReason};
use crate::outbox::MutationOp;
use crate::value::Key;
use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

type E = serde_json::Error;

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn object(v: Value, what: &'static str) -> Result<Map<String, Value>, E> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(E::invalid_type(unexpected(&other), &what)),
    }
}

/// The fields of one message, taken out by name.
struct Fields(Map<String, Value>);

impl Fields {
    fn take(&mut self, name: &'static str) -> Result<Value, E> {
        self.0.remove(name).ok_or_else(|| E::missing_field(name))
    }
    /// A field that may be missing or null.
    fn opt(&mut self, name: &'static str) -> Option<Value> {
        self.0.remove(name).filter(|v| !v.is_null())
    }
    fn string(&mut self, name: &'static str) -> Result<String, E> {
        string(self.take(name)?)
    }
    fn opt_string(&mut self, name: &'static str) -> Result<Option<String>, E> {
        self.opt(name).map(string).transpose()
    }
    fn u64(&mut self, name: &'static str) -> Result<u64, E> {
        let v = self.take(name)?;
        v.as_u64()
            .ok_or_else(|| E::invalid_type(unexpected(&v), &"a non-negative integer"))
    }
    fn key(&mut self) -> Result<Key, E> {
        key(self.take("key")?)
    }
}

fn string(v: Value) -> Result<String, E> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(E::invalid_type(unexpected(&other), &"a string")),
    }
}

fn key(v: Value) -> Result<Key, E> {
    match v {
        Value::String(s) => Ok(Key::Str(s)),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Key::Num(f)),
            _ => Err(E::custom("a key must be a finite number")),
        },
        other => Err(E::invalid_type(
            unexpected(&other),
            &"a key (a string or a finite number)",
        )),
    }
}

impl Change {
    pub fn from_value(v: Value) -> Result<Change, E> {
        let mut f = Fields(object(v, "a change object")?);
        let kind = f.string("kind")?;
        Ok(match kind.as_str() {
            "upsert" => Change::Upsert {
                table: f.string("table")?,
                key: f.key()?,
                version: f.string("version")?,
                row: f.take("row")?,
            },
            "remove" => Change::Remove {
                table: f.string("table")?,
                key: f.key()?,
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

impl Outcome {
    pub fn from_value(v: Value) -> Result<Outcome, E> {
        let mut f = Fields(object(v, "an outcome object")?);
        let status = f.string("status")?;
        Ok(match status.as_str() {
            "applied" => Outcome::Applied {
                id: f.u64("id")?,
                version: f.string("version")?,
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
                    _ => RejectReason::Other,
                },
                message: f.string("message")?,
            },
            _ => Outcome::Unknown,
        })
    }
}

impl PushMutation {
    pub fn from_value(v: Value) -> Result<PushMutation, E> {
        let mut f = Fields(object(v, "a mutation object")?);
        let op = f.take("op")?;
        let op = match op.as_str() {
            Some("insert") => MutationOp::Insert,
            Some("update") => MutationOp::Update,
            Some("delete") => MutationOp::Delete,
            Some(other) => return Err(E::unknown_variant(other, &["insert", "update", "delete"])),
            None => return Err(E::invalid_type(unexpected(&op), &"an op name")),
        };
        Ok(PushMutation {
            id: f.u64("id")?,
            table: f.string("table")?,
            key: f.key()?,
            op,
            row: f.opt("row"),
            columns: f
                .opt("columns")
                .map(|c| object(c, "an object of columns"))
                .transpose()?,
            base_version: f.opt_string("baseVersion")?,
        })
    }
}

/// `Deserialize` through `Value` and a converter (see the module comment).
macro_rules! via_value {
    ($t:ty, $convert:path) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $convert(Value::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}
via_value!(Change, Change::from_value);
via_value!(Outcome, Outcome::from_value);
via_value!(PushMutation, PushMutation::from_value);
via_value!(Key, key);

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
    }

    #[test]
    fn bad_messages_say_what_is_wrong_in_serdes_words() {
        assert_eq!(
            err::<Change>(json!({ "kind": "upsert", "key": "a", "version": "1", "row": {} })),
            "missing field `table`"
        );
        assert!(
            err::<Outcome>(json!({ "status": "applied", "id": 1, "version": 5 }))
                .starts_with("invalid type: number, expected a string")
        );
        assert!(
            err::<Outcome>(json!({ "status": "applied", "id": -1, "version": "5" }))
                .contains("expected a non-negative integer")
        );
        assert!(
            err::<PushMutation>(json!({ "id": 1, "table": "t", "key": "k", "op": "upsert" }))
                .starts_with("unknown variant `upsert`")
        );
        assert!(err::<Key>(json!({ "id": 1 })).starts_with("invalid type: map"));
        assert!(err::<Key>(json!(true)).contains("expected a key"));
        assert!(err::<Change>(json!("upsert")).contains("expected a change object"));
        assert!(err::<PushMutation>(
            json!({ "id": 1, "table": "t", "key": "k", "op": "update", "columns": [1] })
        )
        .contains("expected an object of columns"));
    }
}
