-- Migration 4: per-table checkpoints (protocol revision 2, pull.rs). A pull of some tables
-- reads each table's changes in the caller's buckets from that table's own checkpoint, and
-- the removals of that table from the client's view: both by index, so a pull of one table
-- costs that table's changes, not every table's.
CREATE INDEX IF NOT EXISTS ot_members_bucket_tbl ON ot_members (bucket, tbl, version);
CREATE INDEX IF NOT EXISTS ot_views_tbl_removed ON ot_views (client_id, tbl, removed_at);
