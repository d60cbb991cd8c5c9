CREATE TABLE match_keys_by_record (
    domain    TEXT NOT NULL,
    system    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    rule      INTEGER NOT NULL,
    key_hash  BIGINT NOT NULL,
    PRIMARY KEY (domain, system, source_id, rule)
) WITHOUT ROWID;
INSERT OR IGNORE INTO match_keys_by_record (domain, system, source_id, rule, key_hash)
    SELECT domain, system, source_id, rule, key_hash FROM match_keys ORDER BY 1, 2, 3, 4;
DROP TABLE match_keys;
ALTER TABLE match_keys_by_record RENAME TO match_keys;
CREATE INDEX match_keys_lookup ON match_keys (domain, rule, key_hash);
