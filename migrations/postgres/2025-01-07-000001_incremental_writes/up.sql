-- Cheaper incremental writes: a row an incremental run need not change is not rewritten.
-- PostgreSQL flavour; the SQLite tree declares the same tables and columns.

-- Blocking keys by source record instead of staging version: a new version whose keys did
-- not change leaves its rows alone, so a run writes only the keys that changed.
CREATE TABLE match_keys_by_record (
    domain    TEXT NOT NULL,
    system    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    rule      INTEGER NOT NULL,
    key_hash  BIGINT NOT NULL,
    PRIMARY KEY (domain, system, source_id, rule)
);
INSERT INTO match_keys_by_record (domain, system, source_id, rule, key_hash)
    SELECT k.domain, s.system, s.source_id, k.rule, k.key_hash
    FROM match_keys k JOIN staging_records s ON s.id = k.staging_id
    ON CONFLICT DO NOTHING;
DROP TABLE match_keys;
ALTER TABLE match_keys_by_record RENAME TO match_keys;
ALTER INDEX match_keys_by_record_pkey RENAME TO match_keys_pkey;
CREATE INDEX match_keys_lookup ON match_keys (domain, rule, key_hash);

-- Every pair write touched this index; reads by domain scan the table instead.
DROP INDEX match_pairs_domain;
