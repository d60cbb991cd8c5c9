-- Search values of active golden records (the identifiers downstream systems look records
-- up by), one row per value, written only where a value changes. Replaces an expression
-- index per attribute on golden_records, which SQLite rewrote whole on every update of a
-- record (four index entries per changed e-mail). The old indexes are dropped by the
-- code that registers attributes, as their names depend on the domain.
CREATE TABLE golden_search (
    domain    TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value     TEXT NOT NULL,
    golden_id TEXT NOT NULL,
    PRIMARY KEY (domain, attribute, value, golden_id)
) WITHOUT ROWID;

-- Which attributes of a domain have their values in golden_search.
CREATE TABLE golden_search_attributes (
    domain    TEXT NOT NULL,
    attribute TEXT NOT NULL,
    PRIMARY KEY (domain, attribute)
) WITHOUT ROWID;
