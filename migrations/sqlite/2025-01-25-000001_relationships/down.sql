DROP TABLE golden_relationship_history;
DROP TABLE golden_relationships;
DROP TABLE staging_links;
DROP TABLE relationship_types;
DELETE FROM change_events WHERE kind LIKE 'relationship_%';
CREATE TABLE change_events_old (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    domain      TEXT NOT NULL,
    golden_id   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'merged', 'split', 'deleted')),
    retired_ids TEXT,
    run_id      BIGINT,
    payload     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
INSERT INTO change_events_old (seq, domain, golden_id, kind, retired_ids, run_id, payload, created_at)
    SELECT seq, domain, golden_id, kind, retired_ids, run_id, payload, created_at
    FROM change_events ORDER BY seq;
DELETE FROM sqlite_sequence WHERE name = 'change_events_old';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'change_events_old', seq FROM sqlite_sequence WHERE name = 'change_events';
DROP TABLE change_events;
ALTER TABLE change_events_old RENAME TO change_events;
