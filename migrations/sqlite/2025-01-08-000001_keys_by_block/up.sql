-- Blocking keys clustered by block, the order the incremental run looks them up in, with no
-- second index by record: a run that trains the model writes them in one sorted pass (no
-- index built by sorting millions of rows afterwards), and a changed record's previous keys
-- are computed again from the version the last run saw instead of being looked up.
CREATE TABLE match_keys_by_block (
    domain    TEXT NOT NULL,
    rule      INTEGER NOT NULL,
    key_hash  BIGINT NOT NULL,
    system    TEXT NOT NULL,
    source_id TEXT NOT NULL,
    PRIMARY KEY (domain, rule, key_hash, system, source_id)
) WITHOUT ROWID;
INSERT INTO match_keys_by_block (domain, rule, key_hash, system, source_id)
    SELECT domain, rule, key_hash, system, source_id FROM match_keys ORDER BY 1, 2, 3, 4, 5;
DROP TABLE match_keys;
ALTER TABLE match_keys_by_block RENAME TO match_keys;
