-- Search by attribute without expression indexes on the attributes JSON: every rewrite of a
-- golden record touched each such index, whether the value changed or not. Entries here
-- are written only when a searchable value of an active record changes. PostgreSQL
-- flavour; the SQLite tree declares the same tables.

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
);

-- A trigger keeps search_values in step with every writer of golden_records.
CREATE FUNCTION search_values_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Entries of the old row that the new one (if any) no longer has.
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'active' THEN
        DELETE FROM search_values s USING search_attributes a
        WHERE a.domain = OLD.domain AND s.domain = OLD.domain
          AND s.attribute = a.attribute AND s.golden_id = OLD.golden_id
          AND s.value = lower(OLD.attributes::json ->> a.attribute)
          AND (TG_OP = 'DELETE' OR NOT search_values_same(OLD, NEW, a.attribute));
    END IF;
    -- Entries of the new row that the old one (if any) did not have.
    IF TG_OP = 'INSERT' AND NEW.status = 'active' THEN
        INSERT INTO search_values (domain, attribute, value, golden_id)
        SELECT NEW.domain, a.attribute, lower(NEW.attributes::json ->> a.attribute), NEW.golden_id
        FROM search_attributes a
        WHERE a.domain = NEW.domain AND (NEW.attributes::json ->> a.attribute) IS NOT NULL
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' AND NEW.status = 'active' THEN
        INSERT INTO search_values (domain, attribute, value, golden_id)
        SELECT NEW.domain, a.attribute, lower(NEW.attributes::json ->> a.attribute), NEW.golden_id
        FROM search_attributes a
        WHERE a.domain = NEW.domain AND (NEW.attributes::json ->> a.attribute) IS NOT NULL
          AND NOT search_values_same(OLD, NEW, a.attribute)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

-- Whether an active record stays active with the same value of `attribute`.
CREATE FUNCTION search_values_same(o golden_records, n golden_records, attribute TEXT)
RETURNS BOOLEAN LANGUAGE sql IMMUTABLE AS $$
    SELECT o.status = 'active' AND n.status = 'active'
       AND (o.attributes::json ->> attribute) IS NOT DISTINCT FROM (n.attributes::json ->> attribute)
$$;

CREATE TRIGGER search_values_sync AFTER INSERT OR UPDATE OR DELETE ON golden_records
    FOR EACH ROW EXECUTE FUNCTION search_values_sync();
