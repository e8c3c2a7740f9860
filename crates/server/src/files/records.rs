//! The database side of files: which file a row's column has stored (`ot_files`), the bytes
//! of those kept in the database (`ot_file_blobs`, PostgreSQL), and the blobs of the files
//! directory waiting to be removed (`ot_file_trash`). Every statement reads or writes one
//! row's entries by (a prefix of) their primary key; only the periodic sweep reads the
//! trash at large.

use crate::db::{self, Stored as StoredRow, Tx};
use crate::error::AppResult;
use offline_tables_core::protocol::files::FileMeta;
use offline_tables_core::Profile;
use serde_json::{Map, Value};
use sqlx::{Any, Executor, Row};

/// A row's file column: what every file request is about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub table: &'a str,
    /// The row's key text (`db::key_text`).
    pub key: &'a str,
    pub col: &'a str,
}

/// The file stored for a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub hash: String,
    pub size: u64,
    /// Its name in the files directory; None: its bytes are in `ot_file_blobs`.
    pub blob: Option<String>,
}

pub async fn get<'e, E>(ex: E, t: &Target<'_>) -> AppResult<Option<StoredFile>>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "SELECT hash, size, blob FROM ot_files WHERE tbl = $1 AND key = $2 AND col = $3",
    )
    .bind(t.table)
    .bind(t.key)
    .bind(t.col)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(StoredFile {
            hash: r.try_get(0)?,
            size: r.try_get::<i64, _>(1)? as u64,
            blob: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Records `file` as the target's (replacing nothing: release the previous one first).
pub async fn put(tx: &mut Tx, t: &Target<'_>, file: &StoredFile) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO ot_files (tbl, key, col, hash, size, blob) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(t.table)
    .bind(t.key)
    .bind(t.col)
    .bind(file.hash.as_str())
    .bind(file.size as i64)
    .bind(file.blob.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps `data` as the bytes of the target's file in the database.
pub async fn put_bytes(tx: &mut Tx, t: &Target<'_>, data: &[u8]) -> AppResult<()> {
    sqlx::query("INSERT INTO ot_file_blobs (tbl, key, col, data) VALUES ($1, $2, $3, $4)")
        .bind(t.table)
        .bind(t.key)
        .bind(t.col)
        .bind(data)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The bytes kept in the database for the target, if any.
pub async fn read_bytes(db: &db::Db, t: &Target<'_>) -> AppResult<Option<Vec<u8>>> {
    let row =
        sqlx::query("SELECT data FROM ot_file_blobs WHERE tbl = $1 AND key = $2 AND col = $3")
            .bind(t.table)
            .bind(t.key)
            .bind(t.col)
            .fetch_optional(&db.pool)
            .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Lets the target's stored `file` go: its entry and, in the same transaction, its bytes
/// in the database, or its blob put in the trash (removed from the directory after commit).
pub async fn release(tx: &mut Tx, t: &Target<'_>, file: &StoredFile) -> AppResult<()> {
    match &file.blob {
        Some(blob) => {
            sqlx::query(
                "INSERT INTO ot_file_trash (blob, tbl, key, upload_at) VALUES ($1, $2, $3, NULL)",
            )
            .bind(blob.as_str())
            .bind(t.table)
            .bind(t.key)
            .execute(&mut **tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM ot_file_blobs WHERE tbl = $1 AND key = $2 AND col = $3")
                .bind(t.table)
                .bind(t.key)
                .bind(t.col)
                .execute(&mut **tx)
                .await?;
        }
    }
    sqlx::query("DELETE FROM ot_files WHERE tbl = $1 AND key = $2 AND col = $3")
        .bind(t.table)
        .bind(t.key)
        .bind(t.col)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Called by `db::store` in the transaction of every row write, after the row is written:
/// a deleted row lets every file it has stored go; a written row, the file of each file
/// column whose metadata now names another hash or none. A write that leaves every file
/// column's hash as it was costs nothing here.
pub async fn release_row(
    tx: &mut Tx,
    profile: &Profile,
    table: &str,
    key: &str,
    old: Option<&Map<String, Value>>,
    new: Option<&Map<String, Value>>,
) -> AppResult<()> {
    let Some(new) = new else {
        // Every column, file column in this profile or not: the row is gone.
        let rows =
            sqlx::query("SELECT col, hash, size, blob FROM ot_files WHERE tbl = $1 AND key = $2")
                .bind(table)
                .bind(key)
                .fetch_all(&mut **tx)
                .await?;
        for r in rows {
            let col: String = r.try_get(0)?;
            let file = StoredFile {
                hash: r.try_get(1)?,
                size: r.try_get::<i64, _>(2)? as u64,
                blob: r.try_get(3)?,
            };
            release(
                tx,
                &Target {
                    table,
                    key,
                    col: &col,
                },
                &file,
            )
            .await?;
        }
        return Ok(());
    };
    let Some(def) = profile.tables.get(table) else {
        return Ok(());
    };
    for col in def.files.keys() {
        let keep = FileMeta::hash_in_row(new, col);
        if old.and_then(|o| FileMeta::hash_in_row(o, col)) == keep {
            continue;
        }
        let t = Target { table, key, col };
        if let Some(file) = get(&mut **tx, &t).await? {
            if Some(&file.hash) != keep.as_ref() {
                release(tx, &t, &file).await?;
            }
        }
    }
    Ok(())
}

/// Loads the row `key` of `table` so that no write of it commits before this transaction
/// does: a row lock on PostgreSQL (other rows' writers go on), the write lock on SQLite
/// (which must write before it reads, db.rs says why).
pub async fn lock_row(
    tx: &mut Tx,
    postgres: bool,
    table: &str,
    key: &str,
) -> AppResult<Option<StoredRow>> {
    if !postgres {
        db::lock_writes(tx).await?;
        return db::load(&mut **tx, table, key).await;
    }
    let row =
        sqlx::query("SELECT version, data FROM ot_rows WHERE tbl = $1 AND key = $2 FOR UPDATE")
            .bind(table)
            .bind(key)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(|r| {
        Ok(StoredRow {
            version: r.try_get(0)?,
            data: db::parse_data(r.try_get(1)?)?,
        })
    })
    .transpose()
}

/// Notes, before an upload renames its blob into the files directory, that the blob is
/// there at `now_ms`: if the upload never commits, the periodic sweep removes it.
pub async fn intend(db: &db::Db, t: &Target<'_>, blob: &str, now_ms: i64) -> AppResult<()> {
    sqlx::query("INSERT INTO ot_file_trash (blob, tbl, key, upload_at) VALUES ($1, $2, $3, $4)")
        .bind(blob)
        .bind(t.table)
        .bind(t.key)
        .bind(now_ms)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Takes `blob` out of the trash; false when it was not there (someone else claimed it).
/// Whoever takes it decides what becomes of the blob.
pub async fn claim<'e, E>(ex: E, blob: &str) -> AppResult<bool>
where
    E: Executor<'e, Database = Any>,
{
    let n = sqlx::query("DELETE FROM ot_file_trash WHERE blob = $1")
        .bind(blob)
        .execute(ex)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// Takes out of the trash the blobs that writes of the row (table, key) let go.
pub async fn claim_released(db: &db::Db, table: &str, key: &str) -> AppResult<Vec<String>> {
    let rows = sqlx::query(
        "DELETE FROM ot_file_trash WHERE tbl = $1 AND key = $2 AND upload_at IS NULL RETURNING blob",
    )
    .bind(table)
    .bind(key)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Takes out of the trash at most `limit` blobs to remove: let go by a write, or left by an
/// upload begun before `stale_before_ms` that never committed.
pub async fn claim_stale(db: &db::Db, stale_before_ms: i64, limit: i64) -> AppResult<Vec<String>> {
    let rows = sqlx::query(
        "DELETE FROM ot_file_trash WHERE blob IN (SELECT blob FROM ot_file_trash \
         WHERE upload_at IS NULL OR upload_at < $1 LIMIT $2) RETURNING blob",
    )
    .bind(stale_before_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}
