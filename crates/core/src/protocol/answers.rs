//! Checks of the server's answers before the client acts on them: a broken or hostile
//! server must not be able to write a row under another key, move a checkpoint past
//! rows it did not send, acknowledge mutations it never saw, or keep a client pulling
//! forever. A failed check is a `malformed` answer: nothing of it is applied.

use super::{
    checkpoint_of, push_version, Change, Outcome, PullRequest, PullResponse, PushMutation,
    PushResponse, PROTOCOL_VERSION,
};
use crate::keys::is_temp_key;
use crate::{Key, Profile};
use serde_json::Value;

/// A version or checkpoint: a decimal u64 (see `docs/protocol.md` §1).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn version(s: &str, what: &str) -> Result<u64, String> {
    number(s).ok_or_else(|| not_a_version(s, what))
}

fn not_a_version(s: &str, what: &str) -> String {
    format!("{what} '{}' is not a version", clip(s))
}

/// At most 40 characters of server text in a message.
fn clip(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn protocol(v: u32) -> Result<(), String> {
    if v != PROTOCOL_VERSION {
        return Err(format!(
            "the server answered in protocol {v}; this client speaks {PROTOCOL_VERSION}"
        ));
    }
    Ok(())
}

/// `row` is an object whose key column (`key_col`) holds `key`.
fn row_has_key(
    row: &Value,
    key_col: &str,
    key: &Key,
    what: impl Fn() -> String,
) -> Result<(), String> {
    let Value::Object(map) = row else {
        return Err(format!("{}: the row is not an object", what()));
    };
    match map.get(key_col).map(|v| Key::from_json(v, key_col)) {
        Some(Ok(k)) if &k == key => Ok(()),
        Some(Ok(k)) => Err(format!("{}: the row's {key_col} is {k}, not {key}", what())),
        Some(Err(e)) => Err(format!("{}: {}", what(), e.message)),
        None => Err(format!("{}: the row has no {key_col}", what())),
    }
}

/// A pull page answering `asked`, for a client on `profile`. Changes of tables outside
/// the profile and of unknown kinds are skipped by the client, so only their versions
/// are checked. A page with per-table `checkpoints` (revision 2) is checked table by
/// table; one without is checked against `asked.checkpoint`, as older servers answer.
pub fn check_pull(
    asked: &PullRequest,
    page: &PullResponse,
    profile: &Profile,
) -> Result<(), String> {
    protocol(page.protocol_version)?;
    let mine = asked.checkpoints.as_ref();
    if page.resync {
        // A resync restarts from no checkpoint; asking that again would loop.
        let any =
            asked.checkpoint.is_some() || mine.is_some_and(|m| m.iter().any(|(_, c)| c.is_some()));
        return match any {
            true => Ok(()),
            false => Err("the server asked for a resync of a pull from the start".into()),
        };
    }
    let checkpoint = version(&page.checkpoint, "the checkpoint")?;
    // The bound of each table's versions in this page, and whether any bound moved.
    let bounds: Vec<(&str, u64)> = match (&page.checkpoints, mine) {
        (Some(given), Some(mine)) => {
            let pulled: Vec<&String> = match &asked.tables {
                Some(t) => t.iter().collect(),
                None => mine.iter().map(|(t, _)| t).collect(),
            };
            if given.len() != pulled.len()
                || pulled.iter().any(|t| checkpoint_of(given, t).is_none())
            {
                return Err("the checkpoints are not those of the tables pulled".into());
            }
            let mut moved = false;
            let mut out = Vec::new();
            for (t, c) in given {
                let n = version(c, &format!("the checkpoint of {}", clip(t)))?;
                let from = checkpoint_of(mine, t)
                    .cloned()
                    .flatten()
                    .and_then(|a| number(&a));
                if let Some(a) = from {
                    if n < a {
                        return Err(format!("the checkpoint of {t} went back from {a} to {n}"));
                    }
                }
                moved |= from != Some(n);
                out.push((t.as_str(), n));
            }
            if page.has_more && !moved && page.changes.is_empty() {
                return Err("the server said there is more but no checkpoint moved".into());
            }
            out
        }
        (Some(_), None) => {
            return Err("the server answered with checkpoints nobody asked for".into())
        }
        (None, _) => {
            if let Some(a) = asked.checkpoint.as_deref().and_then(number) {
                if checkpoint < a {
                    return Err(format!("the checkpoint went back from {a} to {checkpoint}"));
                }
                if page.has_more && checkpoint == a && page.changes.is_empty() {
                    return Err(
                        "the server said there is more but the checkpoint did not move".into(),
                    );
                }
            }
            Vec::new()
        }
    };
    let per_table = page.checkpoints.is_some();
    for (i, c) in page.changes.iter().enumerate() {
        let (table, key, v, row) = match c {
            Change::Upsert {
                table,
                key,
                version,
                row,
            } => (table, key, version, Some(row)),
            Change::Remove {
                table,
                key,
                version,
                ..
            } => (table, key, version, None),
            Change::Unknown => continue,
        };
        // Named only in a message: a page of 1,000 valid changes formats nothing.
        let what = || format!("change {i} ({table} {key})");
        let bound = match bounds.iter().find(|(t, _)| *t == table.as_str()) {
            Some((_, b)) => *b,
            None if per_table && profile.tables.contains_key(table) => {
                return Err(format!("{}: its table was not pulled", what()))
            }
            None => checkpoint,
        };
        // The checkpoint bounds every version the page delivers: the client relies on
        // it for the base of a row it edits later.
        match number(v) {
            None => return Err(not_a_version(v, &what())),
            Some(n) if n > bound => {
                return Err(format!(
                    "{}: version {v} is past the checkpoint {bound}",
                    what()
                ))
            }
            Some(_) => {}
        }
        if let (Some(def), Some(row)) = (profile.tables.get(table), row) {
            row_has_key(row, &def.key, key, what)?;
        }
    }
    Ok(())
}

/// A push answer for the batch `sent`: in the push's own protocol version, one outcome per
/// mutation, in order (an outcome of a status this client does not know becomes a sync
/// error, kept for the app); a conflict's server row must be the mutation's row; an
/// applied `tempKey` insert gets a real key, and no other mutation gets one.
pub fn check_push(
    sent: &[PushMutation],
    resp: &PushResponse,
    profile: &Profile,
) -> Result<(), String> {
    let asked = push_version(sent);
    if resp.protocol_version != asked {
        return Err(format!(
            "the server answered a push of protocol {asked} in protocol {}",
            resp.protocol_version
        ));
    }
    if resp.outcomes.len() != sent.len() {
        return Err(format!(
            "{} outcomes for {} mutations",
            resp.outcomes.len(),
            sent.len()
        ));
    }
    for (m, o) in sent.iter().zip(&resp.outcomes) {
        let id = match o {
            Outcome::Applied {
                id,
                version: v,
                key,
            } => {
                version(v, &format!("the outcome of mutation {id}"))?;
                match (m.temp_key, key) {
                    (true, None) => {
                        return Err(format!(
                            "the outcome of mutation {id} assigns no key to its temporary key"
                        ))
                    }
                    (true, Some(k)) if is_temp_key(k) => {
                        return Err(format!(
                            "the outcome of mutation {id} assigns a temporary key ({k})"
                        ))
                    }
                    (false, Some(_)) => {
                        return Err(format!(
                            "the outcome of mutation {id} assigns a key to a mutation without a temporary key"
                        ))
                    }
                    _ => {}
                }
                *id
            }
            Outcome::Conflict {
                id,
                server_row,
                server_version,
            } => {
                let what = format!("the conflict of mutation {id}");
                if let Some(v) = server_version {
                    version(v, &what)?;
                }
                if let (Some(row), Some(def)) = (server_row, profile.tables.get(&m.table)) {
                    row_has_key(row, &def.key, &m.key, || what.clone())?;
                }
                *id
            }
            Outcome::Rejected { id, .. } => *id,
            Outcome::Unknown => continue,
        };
        if id != m.id {
            return Err(format!(
                "an outcome for mutation {id} where mutation {} was sent",
                m.id
            ));
        }
    }
    Ok(())
}
