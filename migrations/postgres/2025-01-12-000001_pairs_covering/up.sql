-- The kept pairs' primary key carries the pair's other columns, so the incremental run's
-- lookup of pairs by their older version (`a_staging_id`) is an index-only scan. Rows are in
-- insertion order, which follows the newer version, so without it every pair found by its
-- older version cost a heap page of its own. (SQLite clusters the table by the newer version
-- and finds the other side through a narrow index; there it made no difference.)
ALTER TABLE match_pairs DROP CONSTRAINT match_pairs_pkey;
ALTER TABLE match_pairs ADD PRIMARY KEY (a_staging_id, b_staging_id)
    INCLUDE (domain, weight, probability, decision, overridden);
