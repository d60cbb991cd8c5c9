-- Versions no longer current whose kept pairs are garbage, deleted many at a time by a
-- later run's sweep instead of one version at a time (a dead tuple and index entries on a
-- page per pair all over the table). PostgreSQL keeps rows in insertion order, so new pairs
-- append already; the SQLite migration of the same name also re-clusters the pairs.
CREATE TABLE stale_pair_versions (
    domain     TEXT NOT NULL,
    staging_id BIGINT NOT NULL,
    PRIMARY KEY (domain, staging_id)
);
