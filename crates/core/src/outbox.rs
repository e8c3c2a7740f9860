//! Outbox coalescing. The local store logs which rows a write touched (not the rows
//! themselves) and keeps the server's last known row and version of each synced row
//! (its *base*). The pending change of a row follows from its base and its current
//! state, so any sequence of local writes coalesces to at most one mutation per row:
//! insert then update is one insert of the final row; update then update is one update
//! that keeps the original base version and base row; insert then delete is nothing;
//! update then delete is one delete.

use crate::value::Key;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One local write as logged: the rows it touched, in write order (`seq` grows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub table: String,
    pub keys: Vec<Key>,
}

/// The server's last known state of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Base {
    /// Row version; 64-bit numbers travel as strings.
    pub version: String,
    pub row: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MutationOp {
    Insert,
    Update,
    Delete,
}

/// A coalesced pending change of one row.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mutation {
    /// The sequence number of the first write still pending on this row: mutations are
    /// sent in this order.
    #[serde(skip)]
    pub seq: u64,
    pub table: String,
    pub key: Key,
    pub op: MutationOp,
    /// The row to send (None for a delete).
    pub row: Option<Value>,
    pub base_version: Option<String>,
    pub base_row: Option<Value>,
}

/// The rows a log touched, each once, in the order of its first pending write.
pub fn dirty_rows(log: &[LogEntry]) -> Vec<(u64, String, Key)> {
    let mut first: BTreeMap<(&str, &Key), u64> = BTreeMap::new();
    for e in log {
        for k in &e.keys {
            first.entry((e.table.as_str(), k)).or_insert(e.seq);
        }
    }
    let mut rows: Vec<(u64, String, Key)> = first
        .into_iter()
        .map(|((t, k), seq)| (seq, t.to_string(), k.clone()))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.2.cmp(&b.2)));
    rows
}

/// The one mutation a dirty row coalesces to, from its base (the server's state) and
/// its current local row (None when deleted). None when there is nothing to send.
pub fn coalesce(
    seq: u64,
    table: &str,
    key: &Key,
    base: Option<&Base>,
    current: Option<&Value>,
) -> Option<Mutation> {
    let (op, row) = match (base, current) {
        (None, None) => return None,
        (None, Some(row)) => (MutationOp::Insert, Some(row.clone())),
        (Some(_), Some(row)) => (MutationOp::Update, Some(row.clone())),
        (Some(_), None) => (MutationOp::Delete, None),
    };
    Some(Mutation {
        seq,
        table: table.to_string(),
        key: key.clone(),
        op,
        row,
        base_version: base.map(|b| b.version.clone()),
        base_row: base.map(|b| b.row.clone()),
    })
}
