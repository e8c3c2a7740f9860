-- Migration 1 on PostgreSQL: the schema that db.rs applied by hand before it used sqlx migrations.
--
-- Safe on a database that code made. Such a database has every table below but no
-- _sqlx_migrations table, so sqlx applies this migration to it at its next start: that is why
-- every statement keeps its IF NOT EXISTS (or ON CONFLICT DO NOTHING), and on such a database
-- this file changes nothing. tests/migrations.rs opens one.
--
-- Never edit this file once it has shipped: sqlx stores each applied migration's checksum and
-- refuses to start when the file no longer matches. A schema change is a new file, here and in
-- ../sqlite/ (the two differ only where the dialects do: ot_index's collation).

-- ot_index compares its encodings byte by byte (sortkey.rs): PostgreSQL's default collation
-- does not, so its two encoded columns are COLLATE "C" (a built-in collation, nothing to create).
CREATE TABLE IF NOT EXISTS ot_index (bucket TEXT NOT NULL, tbl TEXT NOT NULL, col TEXT NOT NULL,
  v TEXT COLLATE "C" NOT NULL, ks TEXT COLLATE "C" NOT NULL, key TEXT NOT NULL,
  PRIMARY KEY (bucket, tbl, col, v, ks));

CREATE TABLE IF NOT EXISTS ot_counter (id BIGINT PRIMARY KEY, version BIGINT NOT NULL);
INSERT INTO ot_counter (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS ot_rows (tbl TEXT NOT NULL, key TEXT NOT NULL, version BIGINT NOT NULL,
  deleted BIGINT NOT NULL, changed_at BIGINT NOT NULL, data TEXT, PRIMARY KEY (tbl, key));
-- Pulls read buckets (ot_members), not ot_rows by version: only the purge of tombstones reads
-- by version, so only tombstones are indexed by it (databases of older builds had the global
-- index).
DROP INDEX IF EXISTS ot_rows_version;
CREATE INDEX IF NOT EXISTS ot_rows_tombstones ON ot_rows (version) WHERE deleted = 1;

CREATE TABLE IF NOT EXISTS ot_refs (tbl TEXT NOT NULL, key TEXT NOT NULL, col TEXT NOT NULL,
  val TEXT NOT NULL, PRIMARY KEY (tbl, key, col));
CREATE INDEX IF NOT EXISTS ot_refs_val ON ot_refs (tbl, col, val);

CREATE TABLE IF NOT EXISTS ot_clients (client_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
  last_mutation_id BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS ot_outcomes (client_id TEXT NOT NULL, mutation_id BIGINT NOT NULL,
  outcome TEXT NOT NULL, PRIMARY KEY (client_id, mutation_id));
CREATE TABLE IF NOT EXISTS ot_views (client_id TEXT NOT NULL, tbl TEXT NOT NULL, key TEXT NOT NULL,
  removed_at BIGINT, PRIMARY KEY (client_id, tbl, key));

CREATE TABLE IF NOT EXISTS ot_settings (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO ot_settings (name, value) VALUES ('horizon', 0) ON CONFLICT (name) DO NOTHING;

-- Buckets and their index entries (members.rs); built for the profile whose fingerprint is in
-- ot_settings 'members' (bulk.rs).
CREATE TABLE IF NOT EXISTS ot_members (tbl TEXT NOT NULL, key TEXT NOT NULL, bucket TEXT NOT NULL,
  version BIGINT NOT NULL, live BIGINT NOT NULL, PRIMARY KEY (tbl, key, bucket));
CREATE INDEX IF NOT EXISTS ot_members_bucket ON ot_members (bucket, version);
CREATE INDEX IF NOT EXISTS ot_views_removed ON ot_views (client_id, removed_at);
