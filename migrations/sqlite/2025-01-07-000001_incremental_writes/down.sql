CREATE TABLE match_keys_by_version (
    staging_id BIGINT NOT NULL,
    rule       INTEGER NOT NULL,
    key_hash   BIGINT NOT NULL,
    domain     TEXT NOT NULL,
    PRIMARY KEY (staging_id, rule)
);
INSERT OR IGNORE INTO match_keys_by_version (staging_id, rule, key_hash, domain)
    SELECT s.id, k.rule, k.key_hash, k.domain
    FROM match_keys k JOIN staging_records s
      ON s.domain = k.domain AND s.system = k.system AND s.source_id = k.source_id
     AND s.status = 'current';
DROP TABLE match_keys;
ALTER TABLE match_keys_by_version RENAME TO match_keys;
CREATE INDEX match_keys_lookup ON match_keys (domain, rule, key_hash);

CREATE TABLE match_pairs_rowid (
    a_staging_id BIGINT NOT NULL,
    b_staging_id BIGINT NOT NULL,
    domain       TEXT NOT NULL,
    weight       DOUBLE PRECISION NOT NULL,
    probability  DOUBLE PRECISION NOT NULL,
    decision     TEXT NOT NULL,
    overridden   BOOLEAN NOT NULL,
    PRIMARY KEY (a_staging_id, b_staging_id)
);
INSERT INTO match_pairs_rowid SELECT * FROM match_pairs;
DROP TABLE match_pairs;
ALTER TABLE match_pairs_rowid RENAME TO match_pairs;
CREATE INDEX match_pairs_b ON match_pairs (b_staging_id);
CREATE INDEX match_pairs_domain ON match_pairs (domain);
