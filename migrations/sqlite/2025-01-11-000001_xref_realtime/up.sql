-- Keys that real-time matching gave a golden ID (their xref row has staging version 0) since
-- the last run, in a table of their own instead of the partial index `xref_unstaged` (the
-- PostgreSQL tree explains why; the schemas stay alike).
DROP INDEX xref_unstaged;
CREATE TABLE xref_realtime (
    domain    TEXT NOT NULL,
    system    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    -- The staging version the last run saw (its xref row's before the first real-time
    -- write since), for the blocking keys and pairs of that version; NULL: none or unknown.
    seen_staging_id BIGINT,
    PRIMARY KEY (domain, system, source_id)
) WITHOUT ROWID;
INSERT INTO xref_realtime (domain, system, source_id)
    SELECT domain, system, source_id FROM xref WHERE staging_id = 0;
