DROP TABLE golden_relationship_history;
DROP TABLE golden_relationships;
DROP TABLE staging_links;
DROP TABLE relationship_types;
DELETE FROM change_events WHERE kind LIKE 'relationship_%';
ALTER TABLE change_events DROP CONSTRAINT change_events_kind_check;
ALTER TABLE change_events ADD CONSTRAINT change_events_kind_check
    CHECK (kind IN ('created', 'updated', 'merged', 'split', 'deleted'));
