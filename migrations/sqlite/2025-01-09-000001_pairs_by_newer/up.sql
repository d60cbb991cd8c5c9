-- Kept pairs clustered by their newer version, older version first (a < b): a run's new
-- pairs all name a version newer than any stored, so they append at the end of the table
-- instead of landing on a page per pair all over it.
CREATE TABLE match_pairs_by_newer (
    a_staging_id BIGINT NOT NULL,
    b_staging_id BIGINT NOT NULL,
    domain       TEXT NOT NULL,
    weight       DOUBLE PRECISION NOT NULL,
    probability  DOUBLE PRECISION NOT NULL,
    decision     TEXT NOT NULL,
    overridden   BOOLEAN NOT NULL,
    PRIMARY KEY (b_staging_id, a_staging_id)
) WITHOUT ROWID;
INSERT OR REPLACE INTO match_pairs_by_newer
    SELECT min(a_staging_id, b_staging_id), max(a_staging_id, b_staging_id), domain, weight,
           probability, decision, overridden
    FROM match_pairs ORDER BY 2, 1;
DROP TABLE match_pairs;
ALTER TABLE match_pairs_by_newer RENAME TO match_pairs;
CREATE INDEX match_pairs_a ON match_pairs (a_staging_id);

-- Versions no longer current whose kept pairs are garbage, deleted many at a time by a
-- later run's sweep (a page per pair all over the table, if deleted one version at a time).
CREATE TABLE stale_pair_versions (
    domain     TEXT NOT NULL,
    staging_id BIGINT NOT NULL,
    PRIMARY KEY (domain, staging_id)
) WITHOUT ROWID;
