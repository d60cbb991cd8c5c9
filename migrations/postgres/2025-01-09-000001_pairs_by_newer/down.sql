DROP TABLE stale_pair_versions;
