//! Evaluates an offline profile's row scope for one user: which rows of a table the user
//! gets. The server enforces it on pull, push and its REST API. The caller (a user and
//! their teams), time and the scope of related tables are inputs, so the evaluation is
//! pure.

use crate::profile::Scope;
use serde_json::{Map, Value};

/// Who asks: a user id and the teams the user is a member of (from the token). An
/// `owner` scope matches a row whose owner column holds either.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub id: String,
    pub teams: Vec<String>,
}

impl Caller {
    /// A caller in no team.
    pub fn user(id: impl Into<String>) -> Caller {
        Caller {
            id: id.into(),
            teams: Vec::new(),
        }
    }

    /// True when `owner` is this user or one of their teams.
    pub fn owns(&self, owner: &str) -> bool {
        self.owners().any(|o| o == owner)
    }

    /// The owner values whose rows are this caller's: the user id, then each team.
    pub fn owners(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.teams.iter().map(String::as_str))
    }
}

/// What a scope needs beyond the row itself.
pub struct ScopeContext<'a> {
    pub caller: &'a Caller,
    /// Now, in milliseconds since the Unix epoch.
    pub now_ms: i64,
    /// Whether `key` is the key of a row of `table` in this user's scope.
    pub parent_in_scope: &'a dyn Fn(&str, &Value) -> bool,
}

const DAY_MS: i64 = 86_400_000;

impl Scope {
    /// True when `row` is in the user's scope.
    pub fn matches(&self, row: &Map<String, Value>, ctx: &ScopeContext) -> bool {
        let Scope::Where {
            owner,
            related,
            modified_within_days,
            filter,
            any_of,
        } = self
        else {
            return true;
        };
        let get = |c: &str| row.get(c).unwrap_or(&Value::Null);
        owner
            .as_ref()
            .none_or(|c| matches!(get(c), Value::String(s) if ctx.caller.owns(s)))
            && related.as_ref().none_or(|r| {
                let v = get(&r.column);
                !v.is_null() && (ctx.parent_in_scope)(&r.table, v)
            })
            && modified_within_days.as_ref().none_or(|w| {
                timestamp_ms(get(&w.column))
                    .is_some_and(|t| t >= ctx.now_ms - w.days as i64 * DAY_MS)
            })
            && filter.as_ref().none_or(|(_, f)| f.matches(row))
            && any_of
                .as_ref()
                .none_or(|alts| alts.iter().any(|s| s.matches(row, ctx)))
    }

    /// The tables whose scope this one depends on (through `related`).
    pub fn parents(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Scope::Where {
            related, any_of, ..
        } = self
        {
            if let Some(r) = related {
                out.push(r.table.as_str());
            }
            for s in any_of.iter().flatten() {
                out.extend(s.parents());
            }
        }
        out
    }

    /// The columns the scope reads from a row: a change to one of them can move the row
    /// (and rows related to it) in or out of scope.
    pub fn columns(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Scope::Where {
            owner,
            related,
            modified_within_days,
            filter,
            any_of,
        } = self
        {
            out.extend(owner.iter().cloned());
            out.extend(related.iter().map(|r| r.column.clone()));
            out.extend(modified_within_days.iter().map(|w| w.column.clone()));
            if let Some((_, f)) = filter {
                f.columns(&mut out);
            }
            for s in any_of.iter().flatten() {
                out.extend(s.columns());
            }
        }
        crate::sort::sort(&mut out);
        out.dedup();
        out
    }

    /// True when rows can leave the scope by time passing (`modifiedWithinDays`), without
    /// changing themselves.
    pub fn is_time_dependent(&self) -> bool {
        match self {
            Scope::All => false,
            Scope::Where {
                modified_within_days,
                any_of,
                ..
            } => {
                modified_within_days.is_some()
                    || any_of.iter().flatten().any(Scope::is_time_dependent)
            }
        }
    }
}

// `Option::is_none_or` needs Rust 1.82; the workspace supports 1.81.
trait NoneOr<T> {
    fn none_or(self, f: impl FnOnce(T) -> bool) -> bool;
}
impl<T> NoneOr<T> for Option<T> {
    fn none_or(self, f: impl FnOnce(T) -> bool) -> bool {
        self.map_or(true, f)
    }
}

/// A timestamp column as milliseconds since the Unix epoch: a number (milliseconds) or
/// an ISO 8601 / RFC 3339 string (`2026-11-25`, `2026-11-25T10:00:00Z`,
/// `2026-11-25T10:00:00.5+02:00`; no offset means UTC).
pub fn timestamp_ms(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64),
        Value::String(s) => parse_iso8601(s),
        _ => None,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    // Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar.
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * DAY_MS;
    if b.len() == 10 {
        return Some(ms);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 16 || b[13] != b':' {
        return None;
    }
    let (h, mi) = (num(11, 2)?, num(14, 2)?);
    let mut i = 16;
    let mut sec = 0;
    if b.get(i) == Some(&b':') {
        sec = num(i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start {
                return None;
            }
            let frac = &s[start..end.min(start + 3)];
            ms += frac.parse::<i64>().ok()? * 10_i64.pow(3 - frac.len() as u32);
            i = end;
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    ms += ((h * 60 + mi) * 60 + sec) * 1000;
    match b.get(i) {
        None | Some(b'Z') | Some(b'z') if i + 1 >= b.len() => Some(ms),
        Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let off = (num(i + 1, 2)? * 60 + num(i + 4, 2)?) * 60_000;
            Some(if *sign == b'+' { ms - off } else { ms + off })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use serde_json::json;

    #[test]
    fn iso8601_timestamps() {
        assert_eq!(timestamp_ms(&json!("1970-01-01")), Some(0));
        assert_eq!(
            timestamp_ms(&json!("1970-01-02T00:00:01Z")),
            Some(86_401_000)
        );
        assert_eq!(timestamp_ms(&json!("1970-01-01T02:00:00+02:00")), Some(0));
        assert_eq!(timestamp_ms(&json!("1970-01-01T00:00:00.25Z")), Some(250));
        assert_eq!(
            timestamp_ms(&json!("2000-03-01T00:00:00Z")),
            Some(951_868_800_000)
        );
        assert_eq!(timestamp_ms(&json!(1234)), Some(1234));
        for bad in [
            "",
            "2026-13-01",
            "2026-11-25T",
            "2026-11-25T10:00:00+0200",
            "yesterday",
        ] {
            assert_eq!(timestamp_ms(&json!(bad)), None, "{bad}");
        }
    }

    #[test]
    fn an_owner_scope_matches_the_user_or_one_of_their_teams() {
        let scope = &Profile::from_json(&json!({ "version": 1, "tables": {
            "accounts": { "key": "id", "scope": { "owner": "ownerId" } } } }))
        .unwrap()
        .tables["accounts"]
            .scope;
        let none = |_: &str, _: &Value| false;
        let row = |owner: Value| json!({ "ownerId": owner }).as_object().unwrap().clone();
        let tara = Caller {
            id: "tara".into(),
            teams: vec!["north".into(), "east".into()],
        };
        let ctx = ScopeContext {
            caller: &tara,
            now_ms: 0,
            parent_in_scope: &none,
        };
        for (owner, mine) in [
            (json!("tara"), true),
            (json!("north"), true),
            (json!("east"), true),
            (json!("south"), false),
            (json!("uma"), false),
            (json!(["north"]), false),
            (Value::Null, false),
        ] {
            assert_eq!(scope.matches(&row(owner.clone()), &ctx), mine, "{owner}");
        }
        assert_eq!(tara.owners().collect::<Vec<_>>(), ["tara", "north", "east"]);
        let alone = Caller::user("uma");
        let ctx = ScopeContext {
            caller: &alone,
            ..ctx
        };
        assert!(!scope.matches(&row(json!("north")), &ctx));
    }

    #[test]
    fn scopes_and_their_dependencies() {
        let p = Profile::from_json(&json!({ "version": 1, "tables": {
            "accounts": { "key": "id", "scope": { "owner": "ownerId" } },
            "orders": { "key": "id", "scope": {
                "related": { "table": "accounts", "column": "accountId" },
                "modifiedWithinDays": { "column": "modifiedOn", "days": 30 } } },
            "notes": { "key": "id", "scope": { "anyOf": [ { "owner": "author" }, { "filter": "public eq true" } ] } }
        } }))
        .unwrap();
        let parents = |t: &str, k: &Value| t == "accounts" && k == &json!("a1");
        let caller = Caller::user("u1");
        let ctx = ScopeContext {
            caller: &caller,
            now_ms: 40 * DAY_MS,
            parent_in_scope: &parents,
        };
        let row = |v: Value| v.as_object().unwrap().clone();
        let accounts = &p.tables["accounts"].scope;
        assert!(accounts.matches(&row(json!({ "ownerId": "u1" })), &ctx));
        assert!(!accounts.matches(&row(json!({ "ownerId": "u2" })), &ctx));
        assert!(!accounts.matches(&row(json!({})), &ctx));
        let orders = &p.tables["orders"].scope;
        assert!(orders.matches(
            &row(json!({ "accountId": "a1", "modifiedOn": 10 * DAY_MS + 1 })),
            &ctx
        ));
        assert!(!orders.matches(
            &row(json!({ "accountId": "a1", "modifiedOn": 9 * DAY_MS })),
            &ctx
        ));
        assert!(!orders.matches(
            &row(json!({ "accountId": "a2", "modifiedOn": 39 * DAY_MS })),
            &ctx
        ));
        assert_eq!(orders.parents(), vec!["accounts"]);
        assert_eq!(orders.columns(), vec!["accountId", "modifiedOn"]);
        assert!(orders.is_time_dependent());
        let notes = &p.tables["notes"].scope;
        assert!(notes.matches(&row(json!({ "author": "u1" })), &ctx));
        assert!(notes.matches(&row(json!({ "author": "u9", "public": true })), &ctx));
        assert!(!notes.matches(&row(json!({ "author": "u9", "public": false })), &ctx));
        assert_eq!(notes.columns(), vec!["author", "public"]);
        assert!(Scope::All.matches(&row(json!({})), &ctx));
    }
}
