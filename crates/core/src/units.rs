//! Transactions in the outbox: which pending rows go to the server as one unit, and
//! which rows a push batch takes so that every unit is whole and contiguous in it.
//!
//! The rows a transaction (`store.transaction`) wrote share its unit. Pending changes
//! coalesce per row, so a row written by two transactions carries both: their units
//! merge into one (named by the smallest of their ids), as does a unit with a row that a
//! later plain write also touched (the row is still one change, and it belongs to it).

use crate::conflict::Settlement;
use crate::outbox::LogEntry;
use crate::protocol::RejectReason;
use crate::value::Key;

/// A row of a table, as the outbox names it.
pub type RowId = (String, Key);

/// The unit of each row a transaction touched (rows no transaction touched are not
/// listed), sorted by row for `unit_of`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Units(Vec<(RowId, String)>);

impl Units {
    /// The units of the rows `log` holds (see the module's comment).
    pub fn of(log: &[LogEntry]) -> Units {
        // Union-find over the distinct unit ids, by index.
        let mut ids: Vec<&str> = log.iter().filter_map(|e| e.unit.as_deref()).collect();
        crate::sort::sort(&mut ids);
        ids.dedup();
        if ids.is_empty() {
            return Units::default();
        }
        let index = |u: &str| ids.binary_search(&u).expect("listed above");
        let mut parent: Vec<usize> = (0..ids.len()).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        // Each row with the first unit that touched it; a second unit on the row merges.
        let mut rows: Vec<(RowId, usize)> = Vec::new();
        for e in log {
            let Some(u) = e.unit.as_deref() else { continue };
            for k in &e.keys {
                rows.push(((e.table.clone(), k.clone()), index(u)));
            }
        }
        crate::sort::sort_by(&mut rows, |a, b| a.0.cmp(&b.0));
        for w in rows.windows(2) {
            if w[0].0 == w[1].0 {
                let (a, b) = (root(&mut parent, w[0].1), root(&mut parent, w[1].1));
                // The smaller index (so the smaller id) names the merged unit.
                let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                parent[hi] = lo;
            }
        }
        rows.dedup_by(|a, b| a.0 == b.0);
        Units(
            rows.into_iter()
                .map(|(row, u)| {
                    let r = root(&mut parent, u);
                    (row, ids[r].to_string())
                })
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The unit `row` belongs to, if any.
    pub fn unit_of(&self, table: &str, key: &Key) -> Option<&str> {
        self.0
            .binary_search_by(|((t, k), _)| (t.as_str(), k).cmp(&(table, key)))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// The rows of a push batch, from the pending rows in the order of their first write:
    /// at most `max` rows, except that a unit is never split (a unit larger than `max`
    /// goes alone), and the rows of a unit follow its first row. The rows of a unit a
    /// held row belongs to (`held`: a row with a conflict the app has not resolved) wait
    /// with it.
    pub fn pick(&self, rows: &[RowId], max: usize, held: &dyn Fn(&RowId) -> bool) -> Vec<RowId> {
        let blocked: Vec<&str> = rows
            .iter()
            .filter(|r| held(r))
            .filter_map(|(t, k)| self.unit_of(t, k))
            .collect();
        let mut out: Vec<RowId> = Vec::new();
        let mut done: Vec<&str> = Vec::new();
        for (n, r) in rows.iter().enumerate() {
            if held(r) {
                continue;
            }
            match self.unit_of(&r.0, &r.1) {
                None => {
                    if out.len() >= max {
                        break;
                    }
                    out.push(r.clone());
                }
                Some(u) if done.contains(&u) || blocked.contains(&u) => {}
                Some(u) => {
                    done.push(u);
                    let members: Vec<&RowId> = rows[n..]
                        .iter()
                        .filter(|m| self.unit_of(&m.0, &m.1) == Some(u))
                        .collect();
                    if !out.is_empty() && out.len() + members.len() > max {
                        break;
                    }
                    out.extend(members.into_iter().cloned());
                }
            }
        }
        out
    }
}

/// How a unit of a push settles, from how each of its mutations would settle alone
/// (`conflict::settle`, by its table's policy). The server applied all of it or none.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// Every mutation applied.
    Applied,
    /// Not applied, but every conflict in it resends (merge, client-wins): the unit stays
    /// pending, whole, and goes again with the conflicts' resends.
    Retry,
    /// Refused for good: a mutation was refused, or met a conflict its policy settles
    /// for the server (server-wins, manual, merge without columns to merge). Every row
    /// goes back to the server's state and the app sees one sync error for the unit.
    Refused { reason: String, message: String },
}

/// The fate of a unit whose mutations settle as `members` would alone, with the key of
/// each (`table`, key text) for the message.
pub fn fate(members: &[(&str, String, &Settlement)]) -> Fate {
    if members
        .iter()
        .all(|(_, _, s)| matches!(s, Settlement::Applied { .. }))
    {
        return Fate::Applied;
    }
    let refused = members.iter().find_map(|(t, k, s)| match s {
        Settlement::Reject { reason, message } if *reason != RejectReason::Transaction => {
            Some((reason.as_str().to_string(), format!("{t} {k}: {message}")))
        }
        _ => None,
    });
    let lost = members.iter().find_map(|(t, k, s)| match s {
        Settlement::TakeServer { .. } | Settlement::Manual { .. } => Some((
            "conflict".to_string(),
            format!("{t} {k} changed on the server since it was read"),
        )),
        _ => None,
    });
    match refused.or(lost) {
        Some((reason, why)) => Fate::Refused {
            reason,
            message: format!("the transaction was refused as a whole: {why}"),
        },
        None => Fate::Retry,
    }
}
