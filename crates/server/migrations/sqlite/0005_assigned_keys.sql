-- Migration 5: server-assigned keys (protocol revision 3, keys.rs). Each keyAssigned
-- table numbers its new rows from its own sequence; each temporary key a client made up
-- is recorded with the key it was given, per client, so a replayed push, and a child
-- pushed with or after its parent, get the same key. Both are read by primary key only.
CREATE TABLE IF NOT EXISTS ot_key_sequences (
    tbl TEXT PRIMARY KEY,
    next_n BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ot_assigned_keys (
    client_id TEXT NOT NULL,
    tbl TEXT NOT NULL,
    temp_key TEXT NOT NULL,
    real_key TEXT NOT NULL,
    PRIMARY KEY (client_id, tbl, temp_key)
);
