//! Storage over SQLite or PostgreSQL through sqlx's Any driver, with one SQL dialect
//! (`$n` parameters, `ON CONFLICT`, `RETURNING`) that both accept. Rows of every
//! profile table live in `ot_rows` as JSON text keyed by (table, canonical key).
//!
//! Versions come from one counter row, incremented inside each writing transaction.
//! The increment locks the row (PostgreSQL) or the database (SQLite) until commit, so
//! versions are handed out in commit order: once a reader sees counter value N, every
//! version up to N is committed, and a checkpoint can never skip a row that commits
//! later with a smaller number.

use crate::error::AppResult;
use crate::members;
use offline_tables_core::{Key, Profile};
use serde_json::{Map, Value};
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Row, Transaction};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

pub type Tx = Transaction<'static, Any>;

/// The schema, as sqlx migrations embedded at compile time by build.rs: one directory per
/// dialect, since PostgreSQL's `ot_index` needs `COLLATE "C"` where SQLite's default
/// collation already compares bytes. Migration 1 is the schema the server applied by hand
/// before, written to be a no-op on a database it made.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// One dialect's embedded migrations, as sqlx's `Migrator` reads them.
#[derive(Debug)]
struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send>> {
        let migrations = self
            .0
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into(),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}

#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub postgres: bool,
}

/// The canonical text of a key in SQL: its JSON (`"a1"` or `42`), so 42 and "42" differ.
pub fn key_text(k: &Key) -> String {
    serde_json::to_string(k).unwrap_or_default()
}

/// The file of a `sqlite:` database URL; None for another database or an in-memory one.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let (file, query) = rest.split_once('?').unwrap_or((rest, ""));
    let file = file.trim_start_matches("//");
    let memory = file.is_empty() || file.starts_with(':') || query.contains("mode=memory");
    (!memory).then(|| PathBuf::from(file))
}

/// A stored row: its version and its data (None: a tombstone).
#[derive(Debug, Clone)]
pub struct Stored {
    pub version: i64,
    pub data: Option<Map<String, Value>>,
}

impl Db {
    /// Connects (creating a SQLite file and its folder if missing) and migrates.
    pub async fn connect(url: &str) -> anyhow_lite::Result<Db> {
        install_default_drivers();
        let postgres = url.starts_with("postgres");
        let url = if let Some(path) = url.strip_prefix("sqlite:") {
            if let Some(dir) = sqlite_file(url).as_deref().and_then(Path::parent) {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)?;
                }
            }
            if path.contains('?') {
                url.to_string()
            } else {
                format!("{url}?mode=rwc")
            }
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if postgres { 10 } else { 4 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if !postgres {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        // 32 MB of page cache (the default is 2 MB): bulk loads and the
                        // bucket indexes of large databases stay in memory.
                        sqlx::query("PRAGMA cache_size = -32768")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let db = Db { pool, postgres };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations this database has not had yet. On PostgreSQL sqlx holds an
    /// advisory lock on the database meanwhile, so several servers may start at once.
    async fn migrate(&self) -> Result<(), MigrateError> {
        let dialect = if self.postgres {
            embedded::POSTGRES
        } else {
            embedded::SQLITE
        };
        Migrator::new(Embedded(dialect))
            .await?
            .run(&self.pool)
            .await
    }

    pub async fn begin(&self) -> AppResult<Tx> {
        Ok(self.pool.begin().await?)
    }

    pub async fn counter(&self) -> AppResult<i64> {
        let row = sqlx::query("SELECT version FROM ot_counter WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    pub async fn horizon(&self) -> AppResult<i64> {
        let row = sqlx::query("SELECT value FROM ot_settings WHERE name = 'horizon'")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Deletes tombstones older than `before_ms` and moves the resync horizon past them.
    pub async fn purge_tombstones(&self, before_ms: i64) -> AppResult<u64> {
        let mut tx = self.begin().await?;
        // Write first: a SQLite transaction that reads and then writes fails (busy
        // snapshot) when another writer committed in between.
        lock_writes(&mut tx).await?;
        let max: Option<i64> =
            sqlx::query("SELECT MAX(version) FROM ot_rows WHERE deleted = 1 AND changed_at < $1")
                .bind(before_ms)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let Some(max) = max else { return Ok(0) };
        let n = sqlx::query("DELETE FROM ot_rows WHERE deleted = 1 AND version <= $1")
            .bind(max)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Removal markers at or below the new horizon: every checkpoint that could
        // need them now gets a resync.
        sqlx::query("DELETE FROM ot_members WHERE live = 0 AND version <= $1")
            .bind(max)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE ot_settings SET value = $1 WHERE name = 'horizon' AND value < $2")
            .bind(max)
            .bind(max)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n)
    }
}

/// Takes the write lock (the counter row) before a transaction reads what it will
/// write, so concurrent writers queue instead of deciding on stale reads.
pub async fn lock_writes(tx: &mut Tx) -> AppResult<()> {
    sqlx::query("UPDATE ot_counter SET version = version WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The next version; call inside a writing transaction (it holds the counter until commit).
pub async fn next_version(tx: &mut Tx) -> AppResult<i64> {
    let row =
        sqlx::query("UPDATE ot_counter SET version = version + 1 WHERE id = 1 RETURNING version")
            .fetch_one(&mut **tx)
            .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

pub(crate) fn parse_data(data: Option<String>) -> AppResult<Option<Map<String, Value>>> {
    match data {
        None => Ok(None),
        Some(text) => match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            _ => Err(crate::error::AppError::internal(
                "a stored row is not a JSON object",
            )),
        },
    }
}

pub async fn load<'e, E>(ex: E, table: &str, key: &str) -> AppResult<Option<Stored>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT version, data FROM ot_rows WHERE tbl = $1 AND key = $2")
        .bind(table)
        .bind(key)
        .fetch_optional(ex)
        .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some(Stored {
            version: r.try_get(0)?,
            data: parse_data(r.try_get(1)?)?,
        })),
    }
}

/// Every live row of a table: (key text, version, row).
pub async fn load_table(db: &Db, table: &str) -> AppResult<Vec<(String, i64, Map<String, Value>)>> {
    let rows = sqlx::query(
        "SELECT key, version, data FROM ot_rows WHERE tbl = $1 AND deleted = 0 ORDER BY key",
    )
    .bind(table)
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let data = parse_data(r.try_get(2)?)?.unwrap_or_default();
            Ok((r.try_get(0)?, r.try_get(1)?, data))
        })
        .collect()
}

/// A change in a bucket: a row's member at a version (data None: deleted). `version`
/// is the member's (a removal marker keeps the version of the write that moved the row
/// out), `row_version` the row's own.
pub struct Logged {
    pub table: String,
    pub key: String,
    pub version: i64,
    pub row_version: i64,
    pub data: Option<Map<String, Value>>,
}

/// The members of `bucket` changed in (after, upto], in version order, at most `limit`:
/// a range of the (bucket, version) index, whatever other buckets hold.
pub async fn changes(
    db: &Db,
    bucket: &str,
    table: Option<&str>,
    after: i64,
    upto: i64,
    limit: i64,
) -> AppResult<Vec<Logged>> {
    // With a table, by the (bucket, tbl, version) index of migration 4.
    let of_table = if table.is_some() {
        " AND m.tbl = $5"
    } else {
        ""
    };
    let sql = format!(
        "SELECT m.tbl, m.key, m.version, r.version, r.data FROM ot_members m \
         JOIN ot_rows r ON r.tbl = m.tbl AND r.key = m.key \
         WHERE m.bucket = $1 AND m.version > $2 AND m.version <= $3{of_table} \
         ORDER BY m.version LIMIT $4"
    );
    let mut q = sqlx::query(&sql)
        .bind(bucket)
        .bind(after)
        .bind(upto)
        .bind(limit);
    if let Some(t) = table {
        q = q.bind(t);
    }
    let rows = q.fetch_all(&db.pool).await?;
    rows.into_iter()
        .map(|r| {
            Ok(Logged {
                table: r.try_get(0)?,
                key: r.try_get(1)?,
                version: r.try_get(2)?,
                row_version: r.try_get(3)?,
                data: parse_data(r.try_get(4)?)?,
            })
        })
        .collect()
}

/// The columns of `table` through which its rows point at parent tables (`related`).
fn ref_columns(profile: &Profile, table: &str) -> Vec<(String, String)> {
    fn walk(s: &offline_tables_core::Scope, out: &mut Vec<(String, String)>) {
        if let offline_tables_core::Scope::Where {
            related, any_of, ..
        } = s
        {
            if let Some(r) = related {
                out.push((r.table.clone(), r.column.clone()));
            }
            for a in any_of.iter().flatten() {
                walk(a, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(t) = profile.tables.get(table) {
        walk(&t.scope, &mut out);
    }
    out
}

/// The distinct columns of `table` kept in `ot_refs`.
pub(crate) fn ref_column_names(profile: &Profile, table: &str) -> Vec<String> {
    let mut cols: Vec<String> = ref_columns(profile, table)
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    cols.sort();
    cols.dedup();
    cols
}

fn scope_values(
    profile: &Profile,
    table: &str,
    row: Option<&Map<String, Value>>,
) -> Option<Vec<Value>> {
    let cols = profile.tables.get(table)?.scope.columns();
    row.map(|r| {
        cols.iter()
            .map(|c| r.get(c).cloned().unwrap_or(Value::Null))
            .collect()
    })
}

/// Writes a row (None: delete, leaving a tombstone) at a new version, lets go of the files
/// it no longer names, keeps the reference index for `related` scopes, and when the row's scope may have changed
/// gives its related rows new versions so pulls re-evaluate them (move-in, move-out).
pub async fn store(
    tx: &mut Tx,
    profile: &Profile,
    table: &str,
    key: &str,
    old: Option<&Stored>,
    new: Option<&Map<String, Value>>,
    now_ms: i64,
) -> AppResult<i64> {
    // Buckets built for another profile are rebuilt first (bulk.rs).
    crate::bulk::ensure_in(tx, profile).await?;
    let version = next_version(tx).await?;
    let data = new.map(|r| Value::Object(r.clone()).to_string());
    sqlx::query(
        "INSERT INTO ot_rows (tbl, key, version, deleted, changed_at, data) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tbl, key) DO UPDATE SET version = excluded.version, deleted = excluded.deleted, \
         changed_at = excluded.changed_at, data = excluded.data",
    )
    .bind(table)
    .bind(key)
    .bind(version)
    .bind(if new.is_some() { 0i64 } else { 1i64 })
    .bind(now_ms)
    .bind(data)
    .execute(&mut **tx)
    .await?;
    let old_data = old.and_then(|o| o.data.as_ref());
    // Files the row no longer names go with this write (files/records.rs).
    crate::files::records::release_row(tx, profile, table, key, old_data, new).await?;
    let refs = ref_columns(profile, table);
    if !refs.is_empty() {
        sqlx::query("DELETE FROM ot_refs WHERE tbl = $1 AND key = $2")
            .bind(table)
            .bind(key)
            .execute(&mut **tx)
            .await?;
        if let Some(row) = new {
            for col in ref_column_names(profile, table) {
                if let Some(val) = row.get(&col).and_then(|v| Key::from_json(v, "").ok()) {
                    sqlx::query("INSERT INTO ot_refs (tbl, key, col, val) VALUES ($1, $2, $3, $4) ON CONFLICT (tbl, key, col) DO NOTHING")
                        .bind(table)
                        .bind(key)
                        .bind(col)
                        .bind(key_text(&val))
                        .execute(&mut **tx)
                        .await?;
                }
            }
        }
    }
    let buckets = members::compute(tx, profile, table, new).await?;
    members::set(tx, profile, table, key, old_data, new, &buckets, version).await?;
    if scope_values(profile, table, old_data) != scope_values(profile, table, new) {
        touch_children(tx, profile, table, key, now_ms).await?;
    }
    Ok(version)
}

/// Gives every row related to (table, key) a new version, recursively.
fn touch_children<'a>(
    tx: &'a mut Tx,
    profile: &'a Profile,
    table: &'a str,
    key: &'a str,
    now_ms: i64,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<()>> + Send + 'a>> {
    Box::pin(async move {
        for (child, def) in &profile.tables {
            let _ = def;
            for (parent, col) in ref_columns(profile, child) {
                if parent != table {
                    continue;
                }
                let keys: Vec<String> =
                    sqlx::query("SELECT key FROM ot_refs WHERE tbl = $1 AND col = $2 AND val = $3")
                        .bind(child.as_str())
                        .bind(col.as_str())
                        .bind(key)
                        .fetch_all(&mut **tx)
                        .await?
                        .into_iter()
                        .map(|r| r.try_get::<String, _>(0))
                        .collect::<Result<_, _>>()?;
                for k in keys {
                    let v = next_version(tx).await?;
                    sqlx::query("UPDATE ot_rows SET version = $1, changed_at = $2 WHERE tbl = $3 AND key = $4")
                        .bind(v)
                        .bind(now_ms)
                        .bind(child.as_str())
                        .bind(k.as_str())
                        .execute(&mut **tx)
                        .await?;
                    let row = load(&mut **tx, child, &k).await?.and_then(|s| s.data);
                    let b = members::compute(tx, profile, child, row.as_ref()).await?;
                    members::set(tx, profile, child, &k, row.as_ref(), row.as_ref(), &b, v).await?;
                    touch_children(tx, profile, child, &k, now_ms).await?;
                }
            }
        }
        Ok(())
    })
}

/// Minimal error plumbing for start-up code.
pub mod anyhow_lite {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}
