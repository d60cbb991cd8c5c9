DROP TABLE stale_pair_versions;
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
