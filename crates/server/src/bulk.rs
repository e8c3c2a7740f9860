//! Bulk writes: loading many rows at once (`--seed`, `--import`), and rebuilding every
//! bucket, index entry and reference when the profile's keys, indexes or scopes change.
//! Rows are written with multi-row `INSERT`s of a fixed shape (the same statement text
//! for every full chunk, so it is prepared once), in one transaction, with buckets
//! computed in memory, parents first.

use crate::db::{self, key_text, lock_writes, Db, Tx};
use crate::error::{AppError, AppResult};
use crate::members::{self, Buckets};
use offline_tables_core::Error;
use offline_tables_core::{Key, Profile};
use serde_json::{Map, Value};
use sqlx::Row;
use std::collections::HashMap;

/// Rows of one table with their key texts.
type Keyed<'r> = Vec<(String, &'r Map<String, Value>)>;
/// Rows of one table with their key texts and versions.
type Versioned<'r> = Vec<(String, i64, &'r Map<String, Value>)>;
/// Stored rows of one table: key text, version, row.
type Stored = Vec<(String, i64, Map<String, Value>)>;

/// One bound value of a multi-row insert; `B` borrows from the rows being loaded.
enum Arg<'a> {
    I(i64),
    S(String),
    B(&'a str),
}

/// Rows for one table of the schema, flushed a chunk at a time.
struct Inserts<'a> {
    head: &'static str,
    cols: usize,
    rows_per_stmt: usize,
    args: Vec<Arg<'a>>,
}

impl<'a> Inserts<'a> {
    fn new(head: &'static str, cols: usize) -> Inserts<'a> {
        // Well under SQLite's 32,766 and PostgreSQL's 65,535 bound values.
        let rows_per_stmt = 30_000 / cols;
        Inserts {
            head,
            cols,
            rows_per_stmt,
            args: Vec::new(),
        }
    }

    async fn push<const N: usize>(&mut self, tx: &mut Tx, row: [Arg<'a>; N]) -> AppResult<()> {
        debug_assert_eq!(N, self.cols);
        self.args.extend(row);
        if self.args.len() >= self.rows_per_stmt * self.cols {
            self.flush(tx).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, tx: &mut Tx) -> AppResult<()> {
        if self.args.is_empty() {
            return Ok(());
        }
        let n = self.args.len() / self.cols;
        // SQLite looks `$n` names up one by one in a list (quadratic in the values of a
        // statement); its anonymous `?` takes them by position.
        let numbered = tx.backend_name() != "SQLite";
        let mut sql = String::with_capacity(self.head.len() + n * self.cols * 6);
        sql.push_str(self.head);
        sql.push_str(" VALUES ");
        for r in 0..n {
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..self.cols {
                if c > 0 {
                    sql.push(',');
                }
                if numbered {
                    sql.push('$');
                    sql.push_str(&(r * self.cols + c + 1).to_string());
                } else {
                    sql.push('?');
                }
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for a in self.args.drain(..) {
            q = match a {
                Arg::I(i) => q.bind(i),
                Arg::S(s) => q.bind(s),
                Arg::B(s) => q.bind(s),
            };
        }
        q.execute(&mut **tx).await?;
        Ok(())
    }
}

/// The writers of a bulk pass: rows, references, members, index entries.
struct Writers<'a> {
    rows: Inserts<'a>,
    refs: Inserts<'a>,
    members: Inserts<'a>,
    index: Inserts<'a>,
}

impl<'a> Writers<'a> {
    fn new() -> Writers<'a> {
        Writers {
            rows: Inserts::new(
                "INSERT INTO ot_rows (tbl, key, version, deleted, changed_at, data)",
                6,
            ),
            refs: Inserts::new("INSERT INTO ot_refs (tbl, key, col, val)", 4),
            members: Inserts::new(
                "INSERT INTO ot_members (tbl, key, bucket, version, live)",
                5,
            ),
            index: Inserts::new("INSERT INTO ot_index (bucket, tbl, col, v, ks, key)", 6),
        }
    }

    /// The references, members and index entries of one live row.
    #[allow(clippy::too_many_arguments)]
    async fn derived(
        &mut self,
        tx: &mut Tx,
        profile: &'a Profile,
        table: &'a str,
        key: &'a str,
        version: i64,
        row: &Map<String, Value>,
        buckets: &Buckets,
    ) -> AppResult<()> {
        for col in db::ref_column_names(profile, table) {
            if let Some(val) = row.get(&col).and_then(|v| Key::from_json(v, "").ok()) {
                let r = [
                    Arg::B(table),
                    Arg::B(key),
                    Arg::S(col),
                    Arg::S(key_text(&val)),
                ];
                self.refs.push(tx, r).await?;
            }
        }
        let entries = members::index_entries(profile, table, key, row);
        for b in buckets.names() {
            let m = [
                Arg::B(table),
                Arg::B(key),
                Arg::S(b.clone()),
                Arg::I(version),
                Arg::I(1),
            ];
            self.members.push(tx, m).await?;
            for (col, v, ks) in entries.iter().cloned() {
                let e = [
                    Arg::S(b.clone()),
                    Arg::B(table),
                    Arg::B(col),
                    Arg::S(v),
                    Arg::S(ks),
                    Arg::B(key),
                ];
                self.index.push(tx, e).await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self, tx: &mut Tx) -> AppResult<()> {
        self.rows.flush(tx).await?;
        self.refs.flush(tx).await?;
        self.members.flush(tx).await?;
        self.index.flush(tx).await
    }
}

/// The buckets of `row`, with its parents' from `known` or else the database.
async fn buckets_of(
    tx: &mut Tx,
    profile: &Profile,
    table: &str,
    row: &Map<String, Value>,
    known: &mut HashMap<(String, String), Buckets>,
) -> AppResult<Buckets> {
    let Some(def) = profile.tables.get(table) else {
        return Ok(Buckets::none());
    };
    let mut need = Vec::new();
    members::parents_needed(&def.scope, row, &mut need);
    for id in need {
        if let std::collections::hash_map::Entry::Vacant(slot) = known.entry(id) {
            let (t, k) = slot.key();
            let b = members::live_buckets(tx, t, k).await?;
            slot.insert(b);
        }
    }
    Ok(members::buckets(&def.scope, row, known))
}

/// Loads `tables` (rows in order, each with its key column) in one transaction, at
/// versions in that order; returns the rows written. Tables that are empty, and whose
/// related children are empty, take the fast path; otherwise every row goes through
/// `db::store`, as a push would write it.
pub async fn load(
    db: &Db,
    profile: &Profile,
    tables: &[crate::seed::TableRows],
    now_ms: i64,
) -> AppResult<usize> {
    ensure(db, profile).await?;
    let mut keyed: Vec<(&str, Keyed)> = Vec::new();
    for (table, rows) in tables {
        let def = profile
            .table(table)
            .map_err(|e| Error::invalid_argument(e.message))?;
        let mut list = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let key = row
                .get(&def.key)
                .ok_or_else(|| {
                    Error::invalid_argument(format!("seed.{table}[{i}] has no {}", def.key))
                })
                .and_then(|k| {
                    Key::from_json(k, &def.key).map_err(|e| Error::invalid_argument(e.message))
                })?;
            list.push((key_text(&key), row));
        }
        keyed.push((table.as_str(), list));
    }
    let mut tx = db.begin().await?;
    lock_writes(&mut tx).await?;
    if !db.postgres {
        // A large load's pages stay in memory until commit instead of spilling to the
        // WAL and being read back (set back below; a failed load drops the connection's
        // cache with it).
        sqlx::query("PRAGMA cache_size = -1048576")
            .execute(&mut *tx)
            .await?;
    }
    let mut fast = true;
    for (table, _) in &keyed {
        let children = profile
            .tables
            .iter()
            .filter(|(_, d)| d.scope.parents().contains(table))
            .map(|(n, _)| n.as_str());
        for t in std::iter::once(*table).chain(children) {
            if sqlx::query("SELECT 1 FROM ot_rows WHERE tbl = $1 LIMIT 1")
                .bind(t)
                .fetch_optional(&mut *tx)
                .await?
                .is_some()
            {
                fast = false;
            }
        }
    }
    let total: usize = keyed.iter().map(|(_, l)| l.len()).sum();
    if !fast {
        for (table, list) in &keyed {
            for (key, row) in list {
                let current = db::load(&mut *tx, table, key).await?;
                db::store(
                    &mut tx,
                    profile,
                    table,
                    key,
                    current.as_ref(),
                    Some(row),
                    now_ms,
                )
                .await?;
            }
        }
        tx.commit().await?;
        return Ok(total);
    }
    // Versions in input order, handed out at once; a key given twice keeps its last row.
    let end: i64 =
        sqlx::query("UPDATE ot_counter SET version = version + $1 WHERE id = 1 RETURNING version")
            .bind(total as i64)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
    let mut next = end - total as i64;
    let mut by_table: HashMap<&str, Versioned> = HashMap::new();
    for (table, list) in &keyed {
        let mut last: HashMap<&str, usize> = HashMap::new();
        let out = by_table.entry(table).or_default();
        for (key, row) in list {
            next += 1;
            match last.get(key.as_str()) {
                Some(&i) => out[i] = (key.clone(), next, row),
                None => {
                    last.insert(key, out.len());
                    out.push((key.clone(), next, row));
                }
            }
        }
    }
    let mut w = Writers::new();
    let mut known: HashMap<(String, String), Buckets> = HashMap::new();
    for table in members::parents_first(profile) {
        let Some(rows) = by_table.get(table) else {
            continue;
        };
        // Only a parent's buckets are looked up later.
        let is_parent = profile
            .tables
            .values()
            .any(|d| d.scope.parents().contains(&table));
        for (key, version, row) in rows {
            let b = buckets_of(&mut tx, profile, table, row, &mut known).await?;
            let data = serde_json::to_string(*row).map_err(AppError::internal)?;
            let r = [
                Arg::B(table),
                Arg::B(key),
                Arg::I(*version),
                Arg::I(0),
                Arg::I(now_ms),
                Arg::S(data),
            ];
            w.rows.push(&mut tx, r).await?;
            w.derived(&mut tx, profile, table, key, *version, row, &b)
                .await?;
            if is_parent {
                known.insert((table.to_string(), key.clone()), b);
            }
        }
    }
    w.flush(&mut tx).await?;
    if !db.postgres {
        sqlx::query("PRAGMA cache_size = -32768")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    if db.postgres {
        // Fresh statistics: without them PostgreSQL plans the first pulls over a table
        // it believes empty (nested scans instead of the bucket index).
        sqlx::query("ANALYZE ot_rows, ot_members, ot_index, ot_refs")
            .execute(&db.pool)
            .await?;
    }
    Ok(total)
}

/// Builds the buckets and indexes for `profile` if they were built for another one.
pub async fn ensure(db: &Db, profile: &Profile) -> AppResult<()> {
    let fp = members::fingerprint(profile);
    if built_for(&db.pool).await? == Some(fp) {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    lock_writes(&mut tx).await?;
    ensure_in(&mut tx, profile).await?;
    tx.commit().await?;
    Ok(())
}

async fn built_for<'e, E>(ex: E) -> AppResult<Option<i64>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query("SELECT value FROM ot_settings WHERE name = 'members'")
        .fetch_optional(ex)
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

/// `ensure` inside a writing transaction that holds the write lock.
pub async fn ensure_in(tx: &mut Tx, profile: &Profile) -> AppResult<()> {
    let fp = members::fingerprint(profile);
    if built_for(&mut **tx).await? == Some(fp) {
        return Ok(());
    }
    rebuild(tx, profile).await?;
    sqlx::query(
        "INSERT INTO ot_settings (name, value) VALUES ('members', $1) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(fp)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Derives every reference, member and index entry anew from the live rows. Removal
/// markers cannot be derived, so every checkpoint given before is retired: the
/// tombstone horizon moves to now and those clients resync (as a new profile version
/// makes them do anyway).
async fn rebuild(tx: &mut Tx, profile: &Profile) -> AppResult<()> {
    for t in ["ot_members", "ot_index", "ot_refs"] {
        // A fixed set of table names, not input.
        sqlx::query(&format!("DELETE FROM {t}"))
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "UPDATE ot_settings SET value = (SELECT version FROM ot_counter WHERE id = 1) WHERE name = 'horizon'",
    )
    .execute(&mut **tx)
    .await?;
    let mut all: Vec<(&str, Stored)> = Vec::new();
    for table in members::parents_first(profile) {
        let rows =
            sqlx::query("SELECT key, version, data FROM ot_rows WHERE tbl = $1 AND deleted = 0")
                .bind(table)
                .fetch_all(&mut **tx)
                .await?;
        let mut list = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(row) = db::parse_data(r.try_get(2)?)? {
                list.push((r.try_get(0)?, r.try_get(1)?, row));
            }
        }
        all.push((table, list));
    }
    let mut w = Writers::new();
    let mut known: HashMap<(String, String), Buckets> = HashMap::new();
    for (table, rows) in &all {
        for (key, version, row) in rows {
            let b = buckets_of(tx, profile, table, row, &mut known).await?;
            w.derived(tx, profile, table, key, *version, row, &b)
                .await?;
            known.insert((table.to_string(), key.clone()), b);
        }
    }
    w.flush(tx).await
}
