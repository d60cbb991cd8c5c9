ALTER TABLE match_keys DROP CONSTRAINT match_keys_pkey;
DELETE FROM match_keys k USING match_keys o
    WHERE o.domain = k.domain AND o.system = k.system AND o.source_id = k.source_id
      AND o.rule = k.rule AND o.key_hash < k.key_hash;
ALTER TABLE match_keys ADD PRIMARY KEY (domain, system, source_id, rule);
CREATE INDEX match_keys_lookup ON match_keys (domain, rule, key_hash);
