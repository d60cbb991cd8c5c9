-- Steward decisions on derived groups (households): two golden records are in one group
-- (`must_link`) or never (`cannot_link`). Every reconcile of the domain honours the active
-- ones, following retired IDs through golden_redirects. SQLite flavour; the PostgreSQL
-- tree declares the same table and columns.
CREATE TABLE group_decisions (
    id           INTEGER PRIMARY KEY NOT NULL,
    domain       TEXT NOT NULL,
    rel_type     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('must_link', 'cannot_link')),
    a_golden_id  TEXT NOT NULL,
    b_golden_id  TEXT NOT NULL,
    -- The group the steward acted on, as it was then.
    group_id     TEXT,
    decided_by   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP
);
CREATE INDEX group_decisions_type ON group_decisions (domain, rel_type, id);

-- Derived types have cardinality `group`. SQLite cannot change a CHECK constraint: the
-- (small) table of types in force is copied into one that allows it.
CREATE TABLE relationship_types_new (
    from_domain TEXT NOT NULL,
    name        TEXT NOT NULL,
    to_domain   TEXT NOT NULL,
    cardinality TEXT NOT NULL CHECK (cardinality IN ('one_parent', 'many_to_many', 'group')),
    -- JSON: the type as declared.
    definition  TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (from_domain, name)
);
INSERT INTO relationship_types_new SELECT from_domain, name, to_domain, cardinality, definition, updated_at FROM relationship_types;
DROP TABLE relationship_types;
ALTER TABLE relationship_types_new RENAME TO relationship_types;
