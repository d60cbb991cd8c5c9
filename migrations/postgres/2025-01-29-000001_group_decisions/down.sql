DROP TABLE group_decisions;
DELETE FROM relationship_types WHERE cardinality = 'group';
ALTER TABLE relationship_types DROP CONSTRAINT relationship_types_cardinality_check;
ALTER TABLE relationship_types ADD CONSTRAINT relationship_types_cardinality_check
    CHECK (cardinality IN ('one_parent', 'many_to_many'));
