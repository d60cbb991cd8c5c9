-- Cheaper incremental writes: a row an incremental run need not change is not rewritten.

-- Blocking keys by source record instead of staging version: a new version whose keys did
-- not change leaves its rows alone, so a run writes only the keys that changed.
CREATE TABLE match_keys_by_record (
    domain    TEXT NOT NULL,
    system    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    rule      INTEGER NOT NULL,
    key_hash  BIGINT NOT NULL,
    PRIMARY KEY (domain, system, source_id, rule)
) WITHOUT ROWID;
INSERT OR IGNORE INTO match_keys_by_record (domain, system, source_id, rule, key_hash)
    SELECT k.domain, s.system, s.source_id, k.rule, k.key_hash
    FROM match_keys k JOIN staging_records s ON s.id = k.staging_id
    ORDER BY 1, 2, 3, 4;
DROP TABLE match_keys;
ALTER TABLE match_keys_by_record RENAME TO match_keys;
CREATE INDEX match_keys_lookup ON match_keys (domain, rule, key_hash);

-- Kept pairs clustered by their key (no separate rowid table to update), and without the
-- per-row domain index that every pair write touched.
CREATE TABLE match_pairs_clustered (
    a_staging_id BIGINT NOT NULL,
    b_staging_id BIGINT NOT NULL,
    domain       TEXT NOT NULL,
    weight       DOUBLE PRECISION NOT NULL,
    probability  DOUBLE PRECISION NOT NULL,
    decision     TEXT NOT NULL,
    overridden   BOOLEAN NOT NULL,
    PRIMARY KEY (a_staging_id, b_staging_id)
) WITHOUT ROWID;
INSERT INTO match_pairs_clustered SELECT * FROM match_pairs ORDER BY a_staging_id, b_staging_id;
DROP TABLE match_pairs;
ALTER TABLE match_pairs_clustered RENAME TO match_pairs;
CREATE INDEX match_pairs_b ON match_pairs (b_staging_id);
