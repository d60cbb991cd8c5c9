ALTER TABLE match_pairs DROP CONSTRAINT match_pairs_pkey;
ALTER TABLE match_pairs ADD PRIMARY KEY (a_staging_id, b_staging_id);
