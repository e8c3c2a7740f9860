//! Buckets, kept at write time as PowerSync keeps its buckets: every row is a member of
//! the buckets of the owners whose scope it may be in (`u:<owner>`: a user, or a team
//! whose members all see it), or of `*` when its scope does not depend on the caller. A
//! pull reads only the caller's buckets (`*`, theirs and their teams'), by
//! version, and a REST list reads only their index entries, so both cost what the
//! caller's rows cost. Buckets over-approximate the scope (`filter` and
//! `modifiedWithinDays` narrow nothing here); the exact scope is still evaluated per row
//! (`scope.rs`), on these candidates only.
//!
//! `ot_members (tbl, key, bucket, version, live)`: a live member carries the row's
//! version; when a row leaves a bucket its member stays, not live, at the version of
//! that write: the removal marker a pull of that bucket needs for move-out.
//! `ot_index (bucket, tbl, col, v, ks, key)`: for each live member, its key column and
//! its profile `indexes`, as order-preserving text (`sortkey.rs`).

use crate::db::Tx;
use crate::error::AppResult;
use crate::sortkey;
use offline_tables_core::scope::Caller;
use offline_tables_core::{Key, Profile, Scope};
use serde_json::{Map, Value};
use sqlx::Row;
use std::collections::{BTreeSet, HashMap};

pub const EVERYONE: &str = "*";

/// The bucket of the rows owned by `owner` (a user id or a team).
pub fn owner_bucket(owner: &str) -> String {
    format!("u:{owner}")
}

/// The buckets a caller reads: everyone's, their own and each of their teams'.
pub fn buckets_of(caller: &Caller) -> Vec<String> {
    std::iter::once(EVERYONE.to_string())
        .chain(caller.owners().map(owner_bucket))
        .collect()
}

/// Who may see a row: everyone, or the users of these bucket names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Buckets {
    All,
    Some(BTreeSet<String>),
}

impl Buckets {
    pub fn none() -> Buckets {
        Buckets::Some(BTreeSet::new())
    }
    fn and(self, other: Buckets) -> Buckets {
        match (self, other) {
            (Buckets::All, b) | (b, Buckets::All) => b,
            (Buckets::Some(a), Buckets::Some(b)) => {
                Buckets::Some(a.intersection(&b).cloned().collect())
            }
        }
    }
    fn or(self, other: Buckets) -> Buckets {
        match (self, other) {
            (Buckets::All, _) | (_, Buckets::All) => Buckets::All,
            (Buckets::Some(mut a), Buckets::Some(b)) => {
                a.extend(b);
                Buckets::Some(a)
            }
        }
    }
    pub fn names(&self) -> Vec<String> {
        match self {
            Buckets::All => vec![EVERYONE.to_string()],
            Buckets::Some(s) => s.iter().cloned().collect(),
        }
    }
    pub fn from_names(names: impl IntoIterator<Item = String>) -> Buckets {
        let set: BTreeSet<String> = names.into_iter().collect();
        if set.contains(EVERYONE) {
            Buckets::All
        } else {
            Buckets::Some(set)
        }
    }
}

/// The key text of the parent row a `related` condition points at, if any.
fn parent_key(row: &Map<String, Value>, column: &str) -> Option<String> {
    row.get(column)
        .and_then(|v| Key::from_json(v, "").ok())
        .map(|k| crate::db::key_text(&k))
}

/// The parent rows (table, key text) whose buckets `scope` needs for `row`.
pub fn parents_needed(scope: &Scope, row: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    if let Scope::Where {
        related, any_of, ..
    } = scope
    {
        if let Some(r) = related {
            if let Some(k) = parent_key(row, &r.column) {
                out.push((r.table.clone(), k));
            }
        }
        for s in any_of.iter().flatten() {
            parents_needed(s, row, out);
        }
    }
}

/// The buckets of `row` under `scope`, given its parents' buckets.
pub fn buckets(
    scope: &Scope,
    row: &Map<String, Value>,
    parents: &HashMap<(String, String), Buckets>,
) -> Buckets {
    let Scope::Where {
        owner,
        related,
        any_of,
        ..
    } = scope
    else {
        return Buckets::All;
    };
    let mut b = Buckets::All;
    if let Some(c) = owner {
        b = b.and(match row.get(c) {
            Some(Value::String(u)) => Buckets::Some([owner_bucket(u)].into()),
            _ => Buckets::none(),
        });
    }
    if let Some(r) = related {
        let p = parent_key(row, &r.column)
            .and_then(|k| parents.get(&(r.table.clone(), k)).cloned())
            .unwrap_or_else(Buckets::none);
        b = b.and(p);
    }
    if let Some(alts) = any_of {
        let mut u = Buckets::none();
        for s in alts {
            u = u.or(buckets(s, row, parents));
        }
        b = b.and(u);
    }
    b
}

/// The live buckets of a stored row.
pub async fn live_buckets(tx: &mut Tx, table: &str, key: &str) -> AppResult<Buckets> {
    let names =
        sqlx::query("SELECT bucket FROM ot_members WHERE tbl = $1 AND key = $2 AND live = 1")
            .bind(table)
            .bind(key)
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
    Ok(Buckets::from_names(names))
}

/// The buckets of `row` (None: deleted) of `table`, reading its parents' from the database.
pub async fn compute(
    tx: &mut Tx,
    profile: &Profile,
    table: &str,
    row: Option<&Map<String, Value>>,
) -> AppResult<Buckets> {
    let (Some(def), Some(row)) = (profile.tables.get(table), row) else {
        return Ok(Buckets::none());
    };
    let mut need = Vec::new();
    parents_needed(&def.scope, row, &mut need);
    let mut parents = HashMap::new();
    for (t, k) in need {
        let b = live_buckets(tx, &t, &k).await?;
        parents.insert((t, k), b);
    }
    Ok(buckets(&def.scope, row, &parents))
}

/// The columns of `table` kept in `ot_index`: its key, then its indexes.
pub fn indexed_columns<'p>(profile: &'p Profile, table: &str) -> Vec<&'p str> {
    profile.tables.get(table).map_or(vec![], |d| {
        std::iter::once(d.key.as_str())
            .chain(d.indexes.iter().map(String::as_str))
            .collect()
    })
}

/// The `ot_index` entries of a live row: (col, v, ks) for each indexed column it has.
pub fn index_entries<'p>(
    profile: &'p Profile,
    table: &str,
    key: &str,
    row: &Map<String, Value>,
) -> Vec<(&'p str, String, String)> {
    let ks = serde_json::from_str::<Value>(key)
        .ok()
        .and_then(|v| Key::from_json(&v, "").ok())
        .map(|k| sortkey::key(&k))
        .unwrap_or_default();
    indexed_columns(profile, table)
        .into_iter()
        .filter_map(|c| {
            row.get(c)
                .and_then(sortkey::value)
                .map(|v| (c, v, ks.clone()))
        })
        .collect()
}

/// Makes `new` the live buckets of (table, key) at `version`; buckets it leaves keep a
/// member at `version` that is no longer live (the move-out marker). Moves the row's
/// index entries from `old_row` (the stored row, as indexed) to `row`.
#[allow(clippy::too_many_arguments)]
pub async fn set(
    tx: &mut Tx,
    profile: &Profile,
    table: &str,
    key: &str,
    old_row: Option<&Map<String, Value>>,
    row: Option<&Map<String, Value>>,
    new: &Buckets,
    version: i64,
) -> AppResult<()> {
    let old = live_buckets(tx, table, key).await?;
    let new_names = match row {
        Some(_) => new.names(),
        None => vec![],
    };
    for b in old.names() {
        if !new_names.contains(&b) {
            sqlx::query("UPDATE ot_members SET version = $1, live = 0 WHERE tbl = $2 AND key = $3 AND bucket = $4")
                .bind(version)
                .bind(table)
                .bind(key)
                .bind(b.as_str())
                .execute(&mut **tx)
                .await?;
        }
    }
    for b in &new_names {
        sqlx::query(
            "INSERT INTO ot_members (tbl, key, bucket, version, live) VALUES ($1, $2, $3, $4, 1) \
             ON CONFLICT (tbl, key, bucket) DO UPDATE SET version = excluded.version, live = 1",
        )
        .bind(table)
        .bind(key)
        .bind(b.as_str())
        .bind(version)
        .execute(&mut **tx)
        .await?;
    }
    // Index entries: those of the row as it was in its old buckets, against those of
    // the row as it is in its new ones; only the difference is written.
    let entries = |r: Option<&Map<String, Value>>, names: &[String]| {
        let mut out = Vec::new();
        if let Some(r) = r {
            for (col, v, ks) in index_entries(profile, table, key, r) {
                for b in names {
                    out.push((b.clone(), col, v.clone(), ks.clone()));
                }
            }
        }
        out
    };
    let before = entries(old_row, &old.names());
    let after = entries(row, &new_names);
    for (b, col, v, ks) in before.iter().filter(|e| !after.contains(e)) {
        sqlx::query(
            "DELETE FROM ot_index WHERE bucket = $1 AND tbl = $2 AND col = $3 AND v = $4 AND ks = $5",
        )
        .bind(b.as_str())
        .bind(table)
        .bind(*col)
        .bind(v.as_str())
        .bind(ks.as_str())
        .execute(&mut **tx)
        .await?;
    }
    for (b, col, v, ks) in after.iter().filter(|e| !before.contains(e)) {
        sqlx::query(
            "INSERT INTO ot_index (bucket, tbl, col, v, ks, key) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(b.as_str())
        .bind(table)
        .bind(*col)
        .bind(v.as_str())
        .bind(ks.as_str())
        .bind(key)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Tables with parents first (profiles have no `related` cycles).
pub fn parents_first(profile: &Profile) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    fn visit<'p>(p: &'p Profile, t: &'p str, out: &mut Vec<&'p str>) {
        if out.contains(&t) {
            return;
        }
        if let Some(d) = p.tables.get(t) {
            for parent in d.scope.parents() {
                if parent != t {
                    visit(p, parent, out);
                }
            }
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    for t in profile.tables.keys() {
        visit(profile, t, &mut out);
    }
    out
}

/// What the buckets and indexes are derived from: each table's key, indexes and scope.
/// FNV-1a, so every build and process computes the same number.
pub fn fingerprint(profile: &Profile) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, d) in &profile.tables {
        let text = format!(
            "{name}\u{0}{}\u{0}{:?}\u{0}{}\u{0}",
            d.key,
            d.indexes,
            d.scope.to_json()
        );
        for b in text.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    (h >> 1) as i64
}
