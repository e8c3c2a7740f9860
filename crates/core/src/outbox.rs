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

/// One local write as logged: the rows it touched, in write order (`seq` grows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub table: String,
    pub keys: Vec<Key>,
    /// The transaction (`store.transaction`) that wrote it, if any: see `units`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// The server's last known state of a row. The store keeps the server's row itself only
/// once the row is edited locally (captured just before the first local write): until
/// then the table holds exactly the server's row, so a second copy would only double the
/// cost of every download.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Base {
    /// Row version; 64-bit numbers travel as strings.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MutationOp {
    Insert,
    Update,
    Delete,
}

impl MutationOp {
    /// The name it is written with (as serde writes it).
    pub fn as_str(self) -> &'static str {
        match self {
            MutationOp::Insert => "insert",
            MutationOp::Update => "update",
            MutationOp::Delete => "delete",
        }
    }
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

/// The rows a log touched, each once, in the order of its first pending write: by
/// `seq`, and within one (bulk) entry in the order of its keys, which is write order.
pub fn dirty_rows(log: &[LogEntry]) -> Vec<(u64, String, Key)> {
    let mut entries: Vec<&LogEntry> = log.iter().collect();
    crate::sort::sort_by(&mut entries, |a, b| a.seq.cmp(&b.seq)); // stable; a no-op for a log in key order
    let all: Vec<(&LogEntry, &Key)> = entries
        .iter()
        .flat_map(|e| e.keys.iter().map(move |k| (*e, k)))
        .collect();
    // Each row's first write: the head of its run in a stable sort by row (no BTreeSet, whose
    // element type would be another few kB of wasm).
    let id = |i: usize| (all[i].0.table.as_str(), all[i].1);
    let by_row = crate::sort::order(all.len(), &|a, b| id(a).cmp(&id(b)));
    let mut first = vec![false; all.len()];
    for (n, &i) in by_row.iter().enumerate() {
        first[i as usize] = n == 0 || id(by_row[n - 1] as usize) != id(i as usize);
    }
    all.iter()
        .zip(first)
        .filter(|(_, f)| *f)
        .map(|((e, k), _)| (e.seq, e.table.clone(), (*k).clone()))
        .collect()
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
        base_row: base.and_then(|b| b.row.clone()),
    })
}
