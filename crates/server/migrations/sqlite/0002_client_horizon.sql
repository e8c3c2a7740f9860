-- Migration 2: the resync horizon each client's last answered pull saw (pull.rs).
--
-- The horizon moves when tombstones are purged or a new profile rebuilds what is derived from
-- the rows. A checkpoint below it resyncs only for a client that has not seen it move: a
-- download begun after the move gets checkpoints below it too, and those are good. Without
-- this, such a download of more than one page was told to start over at its second page,
-- again and again. Clients of before this migration count as having seen none (0), so their
-- checkpoints below the horizon resync, as they did.
ALTER TABLE ot_clients ADD COLUMN horizon BIGINT NOT NULL DEFAULT 0;
