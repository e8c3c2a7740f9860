-- Migration 3: the files of file columns (protocol.md §11, src/files/).
--
-- ot_files: the file stored for a row's column, one per (tbl, key, col): its content hash and
-- size, and `blob`, the name of its bytes in the files directory (`<database>.files/` or
-- --files-dir). Every request reads or writes one row's entry by its primary key (a row's
-- delete, every entry of that row: a prefix of it).
CREATE TABLE ot_files (tbl TEXT NOT NULL, key TEXT NOT NULL, col TEXT NOT NULL,
  hash TEXT NOT NULL, size BIGINT NOT NULL, blob TEXT, PRIMARY KEY (tbl, key, col));

-- ot_file_trash: blobs in the files directory that no entry of ot_files names, to be removed.
-- `upload_at` NULL: let go by a committed write, removed right after it commits (or by the
-- periodic sweep if the server stopped first). `upload_at` set: an upload renaming its blob
-- into place at that time (ms), which its own transaction takes out of here when it commits;
-- one still here an hour later belongs to an upload that never committed. Whoever deletes an
-- entry decides the blob's fate, so an upload and a sweep never both claim one.
CREATE TABLE ot_file_trash (blob TEXT PRIMARY KEY, tbl TEXT NOT NULL, key TEXT NOT NULL,
  upload_at BIGINT);
CREATE INDEX ot_file_trash_row ON ot_file_trash (tbl, key);
