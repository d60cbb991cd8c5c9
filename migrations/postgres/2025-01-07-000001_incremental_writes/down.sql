CREATE INDEX match_pairs_domain ON match_pairs (domain);

CREATE TABLE match_keys_by_version (
    staging_id BIGINT NOT NULL,
    rule       INTEGER NOT NULL,
    key_hash   BIGINT NOT NULL,
    domain     TEXT NOT NULL,
    PRIMARY KEY (staging_id, rule)
);
INSERT INTO match_keys_by_version (staging_id, rule, key_hash, domain)
    SELECT s.id, k.rule, k.key_hash, k.domain
    FROM match_keys k JOIN staging_records s
      ON s.domain = k.domain AND s.system = k.system AND s.source_id = k.source_id
     AND s.status = 'current'
    ON CONFLICT DO NOTHING;
DROP TABLE match_keys;
ALTER TABLE match_keys_by_version RENAME TO match_keys;
ALTER INDEX match_keys_by_version_pkey RENAME TO match_keys_pkey;
CREATE INDEX match_keys_lookup ON match_keys (domain, rule, key_hash);
