-- Steward decisions on derived groups (households): two golden records are in one group
-- (`must_link`) or never (`cannot_link`). Every reconcile of the domain honours the active
-- ones, following retired IDs through golden_redirects. PostgreSQL flavour; the SQLite
-- tree declares the same table and columns.
CREATE TABLE group_decisions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

-- Derived types have cardinality `group`.
ALTER TABLE relationship_types DROP CONSTRAINT relationship_types_cardinality_check;
ALTER TABLE relationship_types ADD CONSTRAINT relationship_types_cardinality_check
    CHECK (cardinality IN ('one_parent', 'many_to_many', 'group'));
