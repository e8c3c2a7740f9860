//! The sync protocol's wire types, shared by the client and the reference server so the
//! two cannot disagree. Versions and checkpoints are 64-bit numbers sent as strings.
//! Unknown fields are ignored and unknown change kinds deserialize to `Unknown`, so an
//! older client survives a newer server. See `docs/protocol.md`.

pub mod answers;
pub mod files;
pub mod wire;

use crate::outbox::MutationOp;
use crate::value::Key;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this crate speaks; exchanged in every request and response.
pub const PROTOCOL_VERSION: u32 = 1;

/// Revision 3: the `protocolVersion` of a push holding a `unit` or a `tempKey` (see
/// [`push_version`]). A server older than revision 3 refuses it whole
/// (`unsupported_protocol`) rather than apply a transaction piecemeal or store a
/// temporary key as a real one. Every other request stays at [`PROTOCOL_VERSION`].
pub const PUSH_UNITS_PROTOCOL_VERSION: u32 = 2;

/// The `protocolVersion` a push of `mutations` must carry: 2 when one of them is part of
/// a unit or has a temporary key, else 1.
pub fn push_version(mutations: &[PushMutation]) -> u32 {
    if mutations.iter().any(|m| m.unit.is_some() || m.temp_key) {
        PUSH_UNITS_PROTOCOL_VERSION
    } else {
        PROTOCOL_VERSION
    }
}

/// `POST /sync/pull`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    pub protocol_version: u32,
    pub client_id: String,
    /// The checkpoint of the last page applied; None on the first pull.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// Changes per page (the server caps it).
    #[serde(default)]
    pub limit: Option<u32>,
    /// The user the client's store belongs to (see [`check_user`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Revision 2: every table the client holds, with its own checkpoint (None: never
    /// pulled), as an object on the wire. With it, `checkpoint` is only for servers
    /// older than revision 2.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pairs")]
    pub checkpoints: Option<Vec<(String, Option<String>)>>,
    /// Revision 2: the tables to pull now (None: all of `checkpoints`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PullResponse {
    pub protocol_version: u32,
    pub changes: Vec<Change>,
    /// Apply `changes`, then store this checkpoint, in one transaction.
    pub checkpoint: String,
    /// Call again with the new checkpoint.
    pub has_more: bool,
    /// The checkpoint is older than the server keeps: drop every synced row (keep
    /// pending changes) and pull again from no checkpoint.
    #[serde(default)]
    pub resync: bool,
    /// The `version` of the profile the server serves now (None from servers older than
    /// this field). A client whose stored profile is older fetches it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_version: Option<u32>,
    /// The user the request's token belongs to (None from servers older than this
    /// field). A client store not yet bound to a user binds itself to this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Revision 2, answering a request with `checkpoints`: each pulled table's new
    /// checkpoint, as an object on the wire. None from older servers: `checkpoint` then
    /// holds for every table.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "pairs")]
    pub checkpoints: Option<Vec<(String, String)>>,
}

/// The checkpoint of `table` in `pairs` (per-table checkpoints, as sent).
pub fn checkpoint_of<'a, V>(pairs: &'a [(String, V)], table: &str) -> Option<&'a V> {
    pairs.iter().find(|(t, _)| t == table).map(|(_, v)| v)
}

/// Per-table checkpoints: pairs in Rust (a map type would be a few kB more of the client's
/// wasm), an object on the wire.
mod pairs {
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
    use serde::ser::{Serialize, Serializer};
    use std::marker::PhantomData;

    type Pairs<V> = Option<Vec<(String, V)>>;

    pub fn serialize<S: Serializer, V: Serialize>(v: &Pairs<V>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(pairs) => s.collect_map(pairs.iter().map(|(k, v)| (k, v))),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
        d: D,
    ) -> Result<Pairs<V>, D::Error> {
        struct Of<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Of<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object mapping table names to checkpoints")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_map(self)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = m.next_entry::<String, V>()? {
                    out.push(kv);
                }
                Ok(Some(out))
            }
        }
        d.deserialize_option(Of(PhantomData))
    }
}

/// Why a row leaves the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoveReason {
    /// Deleted on the server.
    Deleted,
    /// Still on the server but no longer in this user's scope ("move-out").
    Scope,
    #[serde(other)]
    Other,
}

/// One change in a pull page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Change {
    Upsert {
        table: String,
        key: Key,
        version: String,
        row: Value,
    },
    Remove {
        table: String,
        key: Key,
        version: String,
        reason: RemoveReason,
    },
    /// A kind this client does not know: skipped.
    Unknown,
}

/// `POST /sync/push`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest {
    pub protocol_version: u32,
    pub client_id: String,
    pub mutations: Vec<PushMutation>,
    /// The user the client's store belongs to (see [`check_user`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A store is bound to the user whose rows it holds. A request that names that user
/// (`user`) while its token belongs to another (a different person signed in on the
/// same browser, or an app that swapped tokens) must change nothing and send nothing
/// back: a `user_mismatch` error, answered `403`.
pub fn check_user(claimed: Option<&str>, token_user: &str) -> crate::Result<()> {
    match claimed {
        Some(u) if u != token_user => Err(crate::Error::user_mismatch(format!(
            "this store belongs to user '{u}', but the token is another user's: \
             delete the store (OfflineStore.deleteDatabase) or sign in as '{u}'"
        ))),
        _ => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushMutation {
    /// Per client, strictly increasing across pushes.
    pub id: u64,
    pub table: String,
    pub key: Key,
    pub op: MutationOp,
    /// The whole row (insert, or update sending the row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<Value>,
    /// Only the changed columns (update): merged onto the server's row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Map<String, Value>>,
    /// The server version the change was made against; None for an insert.
    #[serde(default)]
    pub base_version: Option<String>,
    /// Revision 3: mutations sharing a unit are one transaction, applied all or none. A
    /// unit's mutations are contiguous in a push and never span two pushes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Revision 3: on an insert into a table whose keys the server assigns, `key` (and the
    /// row's key column) is a temporary key the client made up (`crate::keys`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub temp_key: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushResponse {
    pub protocol_version: u32,
    pub outcomes: Vec<Outcome>,
}

/// Why the server refuses a mutation for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    Validation,
    Permission,
    ReadOnly,
    /// Revision 3: not applied because another mutation of its unit was not.
    Transaction,
    #[serde(other)]
    Other,
}

impl RejectReason {
    /// The name it is written with (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Validation => "validation",
            RejectReason::Permission => "permission",
            RejectReason::ReadOnly => "read_only",
            RejectReason::Transaction => "transaction",
            RejectReason::Other => "other",
        }
    }
}

/// The outcome of one mutation, in the order of the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "status",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum Outcome {
    Applied {
        id: u64,
        /// The row's new version (for a delete: the tombstone's).
        version: String,
        /// Revision 3: the key the server assigned, answering a `tempKey` insert.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<Key>,
    },
    Conflict {
        id: u64,
        /// The server's current row (None: deleted or never existed).
        server_row: Option<Value>,
        server_version: Option<String>,
    },
    Rejected {
        id: u64,
        reason: RejectReason,
        message: String,
    },
    /// A status this client does not know.
    Unknown,
}

/// The body of every error response: `{ "error": { "code", "message" } }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_written_by_hand_are_the_ones_serde_writes() {
        use crate::MutationOp;
        for op in [MutationOp::Insert, MutationOp::Update, MutationOp::Delete] {
            assert_eq!(serde_json::to_value(op).unwrap(), op.as_str());
        }
        for r in [
            RejectReason::Validation,
            RejectReason::Permission,
            RejectReason::ReadOnly,
            RejectReason::Transaction,
            RejectReason::Other,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }

    #[test]
    fn unknown_change_kinds_and_fields_are_tolerated() {
        let page: PullResponse = serde_json::from_value(json!({
            "protocolVersion": 2, "checkpoint": "17", "hasMore": false, "futureField": 1,
            "changes": [
                { "kind": "upsert", "table": "t", "key": "a", "version": "5", "row": { "id": "a" }, "extra": true },
                { "kind": "teleport", "table": "t", "somewhere": 1 },
                { "kind": "remove", "table": "t", "key": 7, "version": "6", "reason": "evaporated" }
            ]
        }))
        .unwrap();
        assert_eq!(page.changes.len(), 3);
        assert_eq!(page.changes[1], Change::Unknown);
        assert!(matches!(
            page.changes[2],
            Change::Remove {
                reason: RemoveReason::Other,
                ..
            }
        ));
        assert!(!page.resync);
        assert_eq!(page.profile_version, None, "an older server sends none");
    }

    #[test]
    fn pull_pages_carry_the_profile_version() {
        let page: PullResponse = serde_json::from_value(json!({
            "protocolVersion": 1, "checkpoint": "3", "hasMore": false, "changes": [],
            "profileVersion": 4
        }))
        .unwrap();
        assert_eq!(page.profile_version, Some(4));
        assert_eq!(
            serde_json::to_value(&page).unwrap()["profileVersion"],
            json!(4)
        );
    }

    #[test]
    fn outcomes_are_tagged_by_status() {
        let o = Outcome::Conflict {
            id: 3,
            server_row: None,
            server_version: None,
        };
        assert_eq!(
            serde_json::to_value(&o).unwrap(),
            json!({ "status": "conflict", "id": 3, "serverRow": null, "serverVersion": null })
        );
    }
}

/// `GET /sync/estimate`: what a first download brings the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub protocol_version: u32,
    /// Rows in the caller's scope, all tables.
    pub rows: u64,
    /// Their size as JSON text, in bytes.
    pub bytes: u64,
    /// Per table, in the order of names; written as a JSON object. A list, not a map: the
    /// wasm reads it once, and a map type of its own would be more wasm.
    #[serde(serialize_with = "pairs_as_object")]
    pub tables: Vec<(String, TableEstimate)>,
}

impl Estimate {
    pub fn table(&self, name: &str) -> Option<&TableEstimate> {
        self.tables.iter().find(|(t, _)| t == name).map(|(_, e)| e)
    }
}

fn pairs_as_object<S: serde::Serializer, V: Serialize>(
    pairs: &[(String, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableEstimate {
    pub rows: u64,
    pub bytes: u64,
}
