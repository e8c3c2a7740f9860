//! Checks of the server's answers before the client acts on them: a broken or hostile
//! server must not be able to write a row under another key, move a checkpoint past
//! rows it did not send, acknowledge mutations it never saw, or keep a client pulling
//! forever. A failed check is a `malformed` answer: nothing of it is applied.

use super::{Change, Outcome, PullResponse, PushMutation, PushResponse, PROTOCOL_VERSION};
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

/// A pull page, answering a pull from `asked` (None: from the start), for a client on
/// `profile`. Changes of tables outside the profile and of unknown kinds are skipped by
/// the client, so only their versions are checked.
pub fn check_pull(
    asked: Option<&str>,
    page: &PullResponse,
    profile: &Profile,
) -> Result<(), String> {
    protocol(page.protocol_version)?;
    if page.resync {
        // A resync restarts from no checkpoint; asking that again would loop.
        return match asked {
            Some(_) => Ok(()),
            None => Err("the server asked for a resync of a pull from the start".into()),
        };
    }
    let checkpoint = version(&page.checkpoint, "the checkpoint")?;
    let asked = asked.and_then(number);
    if let Some(a) = asked {
        if checkpoint < a {
            return Err(format!("the checkpoint went back from {a} to {checkpoint}"));
        }
        if page.has_more && checkpoint == a && page.changes.is_empty() {
            return Err("the server said there is more but the checkpoint did not move".into());
        }
    }
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
        // The checkpoint bounds every version the page delivers: the client relies on
        // it for the base of a row it edits later.
        match number(v) {
            None => return Err(not_a_version(v, &what())),
            Some(n) if n > checkpoint => {
                return Err(format!(
                    "{}: version {v} is past the checkpoint {checkpoint}",
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

/// A push answer for the batch `sent`: one outcome per mutation, in order (an outcome of
/// a status this client does not know becomes a sync error, kept for the app); a
/// conflict's server row must be the mutation's row.
pub fn check_push(
    sent: &[PushMutation],
    resp: &PushResponse,
    profile: &Profile,
) -> Result<(), String> {
    protocol(resp.protocol_version)?;
    if resp.outcomes.len() != sent.len() {
        return Err(format!(
            "{} outcomes for {} mutations",
            resp.outcomes.len(),
            sent.len()
        ));
    }
    for (m, o) in sent.iter().zip(&resp.outcomes) {
        let id = match o {
            Outcome::Applied { id, version: v } => {
                version(v, &format!("the outcome of mutation {id}"))?;
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
