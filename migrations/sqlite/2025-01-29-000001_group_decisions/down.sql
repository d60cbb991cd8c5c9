DROP TABLE group_decisions;
DELETE FROM relationship_types WHERE cardinality = 'group';
CREATE TABLE relationship_types_old (
    from_domain TEXT NOT NULL,
    name        TEXT NOT NULL,
    to_domain   TEXT NOT NULL,
    cardinality TEXT NOT NULL CHECK (cardinality IN ('one_parent', 'many_to_many')),
    definition  TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (from_domain, name)
);
INSERT INTO relationship_types_old SELECT from_domain, name, to_domain, cardinality, definition, updated_at FROM relationship_types;
DROP TABLE relationship_types;
ALTER TABLE relationship_types_old RENAME TO relationship_types;
