-- Search by attribute without expression indexes on the attributes JSON: every rewrite of a
-- golden record touched each such index, whether the value changed or not. Entries here
-- are written only when a searchable value of an active record changes.

-- The attributes of a domain that golden records are searched by (registered by reconcile
-- from the domain's rules; `mdm_store::search::ensure_search`).
CREATE TABLE search_attributes (
    domain    TEXT NOT NULL,
    attribute TEXT NOT NULL,
    PRIMARY KEY (domain, attribute)
);

-- One entry per searchable attribute with a value of each active golden record, lowercase.
CREATE TABLE search_values (
    domain    TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value     TEXT NOT NULL,
    golden_id TEXT NOT NULL,
    PRIMARY KEY (domain, attribute, value, golden_id)
) WITHOUT ROWID;

-- Triggers keep search_values in step with every writer of golden_records.
CREATE TRIGGER search_values_insert AFTER INSERT ON golden_records WHEN new.status = 'active'
BEGIN
    INSERT OR IGNORE INTO search_values (domain, attribute, value, golden_id)
    SELECT new.domain, a.attribute, lower(json_extract(new.attributes, '$.' || a.attribute)),
           new.golden_id
    FROM search_attributes a
    WHERE a.domain = new.domain
      AND json_extract(new.attributes, '$.' || a.attribute) IS NOT NULL;
END;

CREATE TRIGGER search_values_delete AFTER DELETE ON golden_records WHEN old.status = 'active'
BEGIN
    DELETE FROM search_values WHERE (domain, attribute, value, golden_id) IN (
        SELECT old.domain, a.attribute,
               lower(json_extract(old.attributes, '$.' || a.attribute)), old.golden_id
        FROM search_attributes a
        WHERE a.domain = old.domain);
END;

CREATE TRIGGER search_values_update AFTER UPDATE OF attributes, status ON golden_records
BEGIN
    DELETE FROM search_values WHERE (domain, attribute, value, golden_id) IN (
        SELECT old.domain, a.attribute,
               lower(json_extract(old.attributes, '$.' || a.attribute)), old.golden_id
        FROM search_attributes a
        WHERE a.domain = old.domain AND old.status = 'active'
          AND (new.status <> 'active'
               OR json_extract(old.attributes, '$.' || a.attribute)
                  IS NOT json_extract(new.attributes, '$.' || a.attribute)));
    INSERT OR IGNORE INTO search_values (domain, attribute, value, golden_id)
    SELECT new.domain, a.attribute, lower(json_extract(new.attributes, '$.' || a.attribute)),
           new.golden_id
    FROM search_attributes a
    WHERE a.domain = new.domain AND new.status = 'active'
      AND json_extract(new.attributes, '$.' || a.attribute) IS NOT NULL
      AND (old.status <> 'active'
           OR json_extract(old.attributes, '$.' || a.attribute)
              IS NOT json_extract(new.attributes, '$.' || a.attribute));
END;
