//! Schema migrations (db.rs, `migrations/`), on every backend: a database made by the
//! server before it used sqlx migrations (its tables, no `_sqlx_migrations`) opens, is
//! recorded as migrated and keeps its rows; a fresh one gets every migration file; a
//! restart applies none twice; and both dialects have the same migrations.

mod common;

use common::*;
use offline_tables_server::db::{self, Db};
use sqlx::{AnyConnection, Connection, Row};
use std::collections::BTreeSet;

/// What db.rs ran by hand at every start before it used sqlx migrations (its
/// `INDEX_TABLE_*` and `const MIGRATIONS` at commit 73340d3), frozen here: databases made
/// by that code exist, and must open with this one.
const OLD_INDEX_TABLE_SQLITE: &str = "CREATE TABLE IF NOT EXISTS ot_index (bucket TEXT NOT NULL, tbl TEXT NOT NULL, \
     col TEXT NOT NULL, v TEXT NOT NULL, ks TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (bucket, tbl, col, v, ks))";
const OLD_INDEX_TABLE_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS ot_index (bucket TEXT NOT NULL, tbl TEXT NOT NULL, \
     col TEXT NOT NULL, v TEXT COLLATE \"C\" NOT NULL, ks TEXT COLLATE \"C\" NOT NULL, key TEXT NOT NULL, \
     PRIMARY KEY (bucket, tbl, col, v, ks))";
const OLD_MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS ot_counter (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)",
    "INSERT INTO ot_counter (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    "CREATE TABLE IF NOT EXISTS ot_rows (tbl TEXT NOT NULL, key TEXT NOT NULL, version BIGINT NOT NULL, \
     deleted BIGINT NOT NULL, changed_at BIGINT NOT NULL, data TEXT, PRIMARY KEY (tbl, key))",
    "DROP INDEX IF EXISTS ot_rows_version",
    "CREATE INDEX IF NOT EXISTS ot_rows_tombstones ON ot_rows (version) WHERE deleted = 1",
    "CREATE TABLE IF NOT EXISTS ot_refs (tbl TEXT NOT NULL, key TEXT NOT NULL, col TEXT NOT NULL, \
     val TEXT NOT NULL, PRIMARY KEY (tbl, key, col))",
    "CREATE INDEX IF NOT EXISTS ot_refs_val ON ot_refs (tbl, col, val)",
    "CREATE TABLE IF NOT EXISTS ot_clients (client_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, \
     last_mutation_id BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ot_outcomes (client_id TEXT NOT NULL, mutation_id BIGINT NOT NULL, \
     outcome TEXT NOT NULL, PRIMARY KEY (client_id, mutation_id))",
    "CREATE TABLE IF NOT EXISTS ot_views (client_id TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL, \
     removed_at BIGINT, PRIMARY KEY (client_id, tbl, key))",
    "CREATE TABLE IF NOT EXISTS ot_settings (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "INSERT INTO ot_settings (name, value) VALUES ('horizon', 0) ON CONFLICT (name) DO NOTHING",
    "CREATE TABLE IF NOT EXISTS ot_members (tbl TEXT NOT NULL, key TEXT NOT NULL, bucket TEXT NOT NULL, \
     version BIGINT NOT NULL, live BIGINT NOT NULL, PRIMARY KEY (tbl, key, bucket))",
    "CREATE INDEX IF NOT EXISTS ot_members_bucket ON ot_members (bucket, version)",
    "CREATE INDEX IF NOT EXISTS ot_views_removed ON ot_views (client_id, removed_at)",
];

/// The row the old database holds: an account of alice's at version 7.
const OLD_KEY: &str = "\"a-old\"";
const OLD_ROW: &str = r#"{"id":"a-old","ownerId":"alice","name":"Made before migrations"}"#;

/// Opens `url` without the server's code, as sqlx alone (a SQLite file's folder made first).
async fn connect_raw(kind: Kind, url: &str) -> AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match kind {
        Kind::Sqlite => {
            let file = std::path::Path::new(url.strip_prefix("sqlite:").unwrap());
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            format!("{url}?mode=rwc")
        }
        Kind::Postgres => url.to_string(),
    };
    AnyConnection::connect(&url).await.expect("connect")
}

/// Makes `url` what the old code left: its schema, one row, the counter at that row's version.
async fn make_old_database(kind: Kind, url: &str) {
    let mut conn = connect_raw(kind, url).await;
    let index_table = match kind {
        Kind::Sqlite => OLD_INDEX_TABLE_SQLITE,
        Kind::Postgres => OLD_INDEX_TABLE_POSTGRES,
    };
    for sql in std::iter::once(&index_table).chain(OLD_MIGRATIONS) {
        sqlx::query(sql).execute(&mut conn).await.expect(sql);
    }
    sqlx::query(
        "INSERT INTO ot_rows (tbl, key, version, deleted, changed_at, data) \
         VALUES ('accounts', $1, 7, 0, $2, $3)",
    )
    .bind(OLD_KEY)
    .bind(NOW)
    .bind(OLD_ROW)
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("UPDATE ot_counter SET version = 7 WHERE id = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    assert!(!has_migrations_table(kind, &mut conn).await);
    conn.close().await.unwrap();
}

async fn has_migrations_table(kind: Kind, conn: &mut AnyConnection) -> bool {
    let sql = match kind {
        Kind::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Kind::Postgres => "SELECT COUNT(*) FROM pg_tables WHERE tablename = '_sqlx_migrations'",
    };
    let n: i64 = sqlx::query(sql).fetch_one(&mut *conn).await.unwrap().get(0);
    n == 1
}

/// The versions sqlx recorded as applied, and how many of them failed.
async fn applied(db: &Db) -> (Vec<i64>, i64) {
    let versions = sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<i64, _>(0))
        .collect();
    let failed: i64 = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success")
        .fetch_one(&db.pool)
        .await
        .unwrap()
        .get(0);
    (versions, failed)
}

/// The migration files of one dialect's directory, by name.
fn migration_files(dialect: &str) -> BTreeSet<String> {
    let dir = format!("{}/migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_dir(&dir)
        .expect(&dir)
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect()
}

/// The versions the files of the backend's directory carry (`0001_name.sql`: 1).
fn file_versions(kind: Kind) -> Vec<i64> {
    let dialect = match kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
    };
    migration_files(dialect)
        .iter()
        .map(|name| name.split('_').next().unwrap().parse().expect(name))
        .collect()
}

#[tokio::test]
async fn a_database_made_before_migrations_opens_and_keeps_its_rows() {
    for_each_backend(|kind| async move {
        let fresh = FreshDb::new(kind).await;
        make_old_database(kind, &fresh.url).await;

        let db = Db::connect(&fresh.url)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: an old database must open: {e}"));
        assert_eq!(applied(&db).await, (file_versions(kind), 0));
        let rows = db::load_table(&db, "accounts").await.unwrap();
        assert_eq!(rows.len(), 1);
        let (key, version, row) = &rows[0];
        assert_eq!((key.as_str(), *version), (OLD_KEY, 7));
        assert_eq!(row["name"], "Made before migrations");
        assert_eq!(db.counter().await.unwrap(), 7);
        assert_eq!(db.horizon().await.unwrap(), 0);
        // The counter row still hands out versions after the old row's.
        let mut tx = db.begin().await.unwrap();
        assert_eq!(db::next_version(&mut tx).await.unwrap(), 8);
        tx.commit().await.unwrap();
        db.pool.close().await;

        // The next start finds every migration applied and applies none again.
        let db = Db::connect(&fresh.url).await.expect("reopen");
        assert_eq!(applied(&db).await, (file_versions(kind), 0));
        assert_eq!(db.counter().await.unwrap(), 8);
        db.pool.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_fresh_database_gets_every_migration_file() {
    for_each_backend(|kind| async move {
        let fresh = FreshDb::new(kind).await;
        let db = Db::connect(&fresh.url).await.expect("connect");
        let versions = file_versions(kind);
        assert!(!versions.is_empty());
        // Every file in the directory is embedded: build.rs rebuilt after the last one came.
        assert_eq!(applied(&db).await, (versions, 0));
        assert_eq!(db.counter().await.unwrap(), 0);
        db.pool.close().await;
    })
    .await;
}

#[test]
fn both_dialects_have_the_same_migrations() {
    assert_eq!(migration_files("sqlite"), migration_files("postgres"));
}
