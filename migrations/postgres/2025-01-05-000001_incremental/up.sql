-- Incremental reconcile without full scans. PostgreSQL flavour; the SQLite tree declares the
-- same tables and columns.

-- How far each run read staging: every load batch with id <= batch_through had finished
-- before the run read anything, except open_batches (JSON array of ids: running, or not yet
-- visible). The next incremental run reads only rows of later or open batches.
CREATE TABLE reconcile_reads (
    run_id        BIGINT PRIMARY KEY NOT NULL,
    domain        TEXT NOT NULL,
    batch_through BIGINT NOT NULL,
    open_batches  TEXT NOT NULL
);

-- xref rows written by real-time matching (staging version 0): the next run re-matches them
-- even when their staged version is old.
CREATE INDEX xref_unstaged ON xref (domain) WHERE staging_id = 0;
