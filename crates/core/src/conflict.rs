//! Settling push outcomes by the table's conflict policy, and the column-level three-way
//! merge. Pure decisions: the driver carries them out in one IndexedDB transaction.

use crate::outbox::{Mutation, MutationOp};
use crate::profile::ConflictPolicy;
use crate::protocol::{Outcome, RejectReason};
use crate::value::values_equal;
use serde_json::{Map, Value};

/// Merges three versions of a row column by column: a column only one side changed
/// takes that side's value; a column both changed takes the server's; a column removed
/// on the side that changed it is removed.
pub fn merge3(
    base: &Map<String, Value>,
    local: &Map<String, Value>,
    server: &Map<String, Value>,
) -> Map<String, Value> {
    let same = |a: Option<&Value>, b: Option<&Value>| match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => values_equal(x, y),
        _ => false,
    };
    let mut columns: Vec<&String> = server.keys().collect();
    for k in local.keys().chain(base.keys()) {
        if !columns.contains(&k) {
            columns.push(k);
        }
    }
    let mut out = Map::new();
    for c in columns {
        let (b, l, s) = (base.get(c), local.get(c), server.get(c));
        let value = if !same(s, b) {
            s
        } else if !same(l, b) {
            l
        } else {
            s
        };
        if let Some(v) = value {
            out.insert(c.clone(), v.clone());
        }
    }
    out
}

/// What to do with a pushed mutation once its outcome is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// Applied: the row's base becomes what was pushed, at `version`.
    Applied { version: String },
    /// The server's row replaces the local change (None: the row is gone); the conflict
    /// is reported.
    TakeServer {
        row: Option<Value>,
        version: Option<String>,
    },
    /// Push again against the server's version: the local row (client-wins) or the merge.
    Resend {
        row: Option<Value>,
        base_version: Option<String>,
        base_row: Option<Value>,
    },
    /// Keep the local row as the user left it; the conflict waits for the app with base,
    /// local and server rows.
    Manual {
        server_row: Option<Value>,
        server_version: Option<String>,
    },
    /// Refused for good: a sync error with the server's reason; the local row reverts to
    /// the server's state (its base), and the mutations behind it go on.
    Reject {
        reason: RejectReason,
        message: String,
    },
}

/// Decides how `mutation` (as pushed) settles given its `outcome`, under `policy`.
pub fn settle(policy: ConflictPolicy, mutation: &Mutation, outcome: &Outcome) -> Settlement {
    match outcome {
        Outcome::Applied { version, .. } => Settlement::Applied {
            version: version.clone(),
        },
        Outcome::Rejected {
            reason, message, ..
        } => Settlement::Reject {
            reason: *reason,
            message: message.clone(),
        },
        Outcome::Unknown => Settlement::Reject {
            reason: RejectReason::Other,
            message: "the server answered with an outcome this client does not know".into(),
        },
        Outcome::Conflict {
            server_row,
            server_version,
            ..
        } => {
            let take_server = || Settlement::TakeServer {
                row: server_row.clone(),
                version: server_version.clone(),
            };
            match policy {
                ConflictPolicy::ServerWins => take_server(),
                ConflictPolicy::Manual => Settlement::Manual {
                    server_row: server_row.clone(),
                    server_version: server_version.clone(),
                },
                ConflictPolicy::ClientWins => Settlement::Resend {
                    row: mutation.row.clone(),
                    base_version: server_version.clone(),
                    base_row: server_row.clone(),
                },
                ConflictPolicy::Merge => match (&mutation.row, server_row, &mutation.base_row) {
                    (
                        Some(Value::Object(local)),
                        Some(Value::Object(server)),
                        Some(Value::Object(base)),
                    ) if mutation.op == MutationOp::Update => Settlement::Resend {
                        row: Some(Value::Object(merge3(base, local, server))),
                        base_version: server_version.clone(),
                        base_row: server_row.clone(),
                    },
                    // A delete on either side, or an insert meeting an existing row:
                    // there are no columns to merge, and the server's state stands.
                    _ => take_server(),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Key;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn merge_keeps_one_sided_changes_and_lets_the_server_win_both_sided_ones() {
        let base =
            map(json!({ "id": 1, "name": "A", "city": "Paris", "phone": "1", "gone": true }));
        let local = map(
            json!({ "id": 1, "name": "A", "city": "Lyon", "phone": "2", "gone": true, "new": "l" }),
        );
        let server = map(json!({ "id": 1, "name": "B", "city": "Paris", "phone": "3" }));
        assert_eq!(
            Value::Object(merge3(&base, &local, &server)),
            json!({ "id": 1, "name": "B", "city": "Lyon", "phone": "3", "new": "l" })
        );
        // Nothing changed anywhere: the row stays as it is.
        assert_eq!(merge3(&base, &base, &base), base);
    }

    fn mutation(op: MutationOp, row: Option<Value>, base_row: Option<Value>) -> Mutation {
        Mutation {
            seq: 1,
            table: "t".into(),
            key: Key::Num(1.0),
            op,
            row,
            base_version: Some("4".into()),
            base_row,
        }
    }

    #[test]
    fn conflicts_settle_by_policy() {
        let conflict = Outcome::Conflict {
            id: 9,
            server_row: Some(json!({ "id": 1, "name": "S", "city": "Paris" })),
            server_version: Some("7".into()),
        };
        let m = mutation(
            MutationOp::Update,
            Some(json!({ "id": 1, "name": "A", "city": "Lyon" })),
            Some(json!({ "id": 1, "name": "A", "city": "Paris" })),
        );
        assert!(
            matches!(settle(ConflictPolicy::ServerWins, &m, &conflict), Settlement::TakeServer { version: Some(v), .. } if v == "7")
        );
        assert!(matches!(
            settle(ConflictPolicy::Manual, &m, &conflict),
            Settlement::Manual { .. }
        ));
        assert_eq!(
            settle(ConflictPolicy::ClientWins, &m, &conflict),
            Settlement::Resend {
                row: m.row.clone(),
                base_version: Some("7".into()),
                base_row: Some(json!({ "id": 1, "name": "S", "city": "Paris" })),
            }
        );
        match settle(ConflictPolicy::Merge, &m, &conflict) {
            Settlement::Resend {
                row, base_version, ..
            } => {
                assert_eq!(row, Some(json!({ "id": 1, "name": "S", "city": "Lyon" })));
                assert_eq!(base_version.as_deref(), Some("7"));
            }
            other => panic!("{other:?}"),
        }
        // A local delete against a server update: nothing to merge, the server stands.
        let d = mutation(MutationOp::Delete, None, Some(json!({ "id": 1 })));
        assert!(matches!(
            settle(ConflictPolicy::Merge, &d, &conflict),
            Settlement::TakeServer { .. }
        ));
    }

    #[test]
    fn applied_and_rejected_outcomes() {
        let m = mutation(MutationOp::Insert, Some(json!({ "id": 1 })), None);
        assert_eq!(
            settle(
                ConflictPolicy::Manual,
                &m,
                &Outcome::Applied {
                    id: 1,
                    version: "12".into(),
                    key: None
                }
            ),
            Settlement::Applied {
                version: "12".into()
            }
        );
        let r = Outcome::Rejected {
            id: 1,
            reason: RejectReason::Permission,
            message: "no".into(),
        };
        assert_eq!(
            settle(ConflictPolicy::ClientWins, &m, &r),
            Settlement::Reject {
                reason: RejectReason::Permission,
                message: "no".into()
            }
        );
        assert!(matches!(
            settle(ConflictPolicy::ServerWins, &m, &Outcome::Unknown),
            Settlement::Reject {
                reason: RejectReason::Other,
                ..
            }
        ));
    }
}
