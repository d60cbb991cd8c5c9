-- Blocking keys keyed by block, the order the incremental run looks them up in, with no
-- second index by record: a run that trains the model writes one index instead of two, and
-- a changed record's previous keys are computed again from the version the last run saw
-- instead of being looked up.
ALTER TABLE match_keys DROP CONSTRAINT match_keys_pkey;
DROP INDEX match_keys_lookup;
ALTER TABLE match_keys ADD PRIMARY KEY (domain, rule, key_hash, system, source_id);
