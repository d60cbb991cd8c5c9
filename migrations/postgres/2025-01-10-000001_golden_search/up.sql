-- Search values of active golden records (the identifiers downstream systems look records
-- up by), one row per value, written only where a value changes, so an update of a record
-- that keeps its identifiers touches no search entry (an expression index per attribute
-- did, and kept updates of golden records from being HOT). The old indexes are dropped by
-- the code that registers attributes, as their names depend on the domain.
CREATE TABLE golden_search (
    domain    TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value     TEXT NOT NULL,
    golden_id TEXT NOT NULL,
    PRIMARY KEY (domain, attribute, value, golden_id)
);

-- Which attributes of a domain have their values in golden_search.
CREATE TABLE golden_search_attributes (
    domain    TEXT NOT NULL,
    attribute TEXT NOT NULL,
    PRIMARY KEY (domain, attribute)
);
