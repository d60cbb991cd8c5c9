-- Keys that real-time matching gave a golden ID (their xref row has staging version 0) since
-- the last run, in a table of their own instead of the partial index `xref_unstaged`. An index
-- predicate on staging_id made every update of it non-HOT, and each run updates the staging
-- version of the xref row of every changed record: with the table, such an update touches
-- one heap page instead of the heap and both xref indexes.
DROP INDEX xref_unstaged;
CREATE TABLE xref_realtime (
    domain    TEXT NOT NULL,
    system    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    -- The staging version the last run saw (its xref row's before the first real-time
    -- write since), for the blocking keys and pairs of that version; NULL: none or unknown.
    seen_staging_id BIGINT,
    PRIMARY KEY (domain, system, source_id)
);
INSERT INTO xref_realtime (domain, system, source_id)
    SELECT domain, system, source_id FROM xref WHERE staging_id = 0;

-- Room on each page for the new versions of a run's updates, so they can stay HOT (same
-- page, no index entry). Rows written from now on leave it; a golden record is ~0.8 kB.
ALTER TABLE xref SET (fillfactor = 90);
ALTER TABLE golden_records SET (fillfactor = 85);
