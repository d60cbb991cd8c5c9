-- Relationships between golden records (issue 25): the types in force, staged links
-- (versioned like staged records), golden relationships with their history, and the
-- change-event kinds for them. SQLite flavour; the PostgreSQL tree declares the same tables and columns.

-- The types `match-rules/relationships.toml` declares, as the last command that runs
-- reconciles stored them (as declared systems are stored in source_systems).
CREATE TABLE relationship_types (
    from_domain TEXT NOT NULL,
    name        TEXT NOT NULL,
    to_domain   TEXT NOT NULL,
    cardinality TEXT NOT NULL CHECK (cardinality IN ('one_parent', 'many_to_many')),
    -- JSON: the type as declared.
    definition  TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (from_domain, name)
);

-- What the sources said about links, version by version. Both ends are records of
-- `system`; origin `file` (a links file or push) or `reference` (a record attribute).
CREATE TABLE staging_links (
    id             INTEGER PRIMARY KEY NOT NULL,
    from_domain    TEXT NOT NULL,
    rel_type       TEXT NOT NULL,
    system         TEXT NOT NULL REFERENCES source_systems (name),
    origin         TEXT NOT NULL CHECK (origin IN ('file', 'reference')),
    from_source_id TEXT NOT NULL,
    to_source_id   TEXT NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('current', 'superseded', 'deleted')),
    attributes     TEXT NOT NULL,
    content_hash   TEXT NOT NULL,
    batch_id       BIGINT NOT NULL REFERENCES load_batches (id),
    loaded_at      TIMESTAMP NOT NULL,
    seen_batch_id  BIGINT NOT NULL,
    ended_batch_id BIGINT,
    ended_at       TIMESTAMP
);
CREATE UNIQUE INDEX staging_links_key_version ON staging_links
    (from_domain, rel_type, system, origin, from_source_id, to_source_id, version);
-- At most one live (current or deleted) version per link; ingest looks links up by it, and
-- a record's reference links by its from end.
CREATE UNIQUE INDEX staging_links_live_key ON staging_links
    (from_domain, rel_type, system, origin, from_source_id, to_source_id)
    WHERE status <> 'superseded';
-- A record's reference links by their to end (a child naming its parent).
CREATE INDEX staging_links_live_to ON staging_links
    (from_domain, rel_type, system, origin, to_source_id) WHERE status <> 'superseded';
CREATE INDEX staging_links_batch ON staging_links (batch_id);

-- Links between golden records, as the last reconcile resolved them. A relationship no
-- source link supports any more is `ended`, not deleted, so its history stays readable.
CREATE TABLE golden_relationships (
    from_domain    TEXT NOT NULL,
    rel_type       TEXT NOT NULL,
    from_golden_id TEXT NOT NULL,
    to_golden_id   TEXT NOT NULL,
    to_domain      TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    version        INTEGER NOT NULL,
    -- JSON object: attribute -> surviving value.
    attributes     TEXT NOT NULL,
    -- JSON array: the source links behind it (system, origin, from/to source ID, version,
    -- batch).
    lineage        TEXT NOT NULL,
    run_id         BIGINT NOT NULL,
    created_run_id BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (from_domain, rel_type, from_golden_id, to_golden_id)
);
CREATE INDEX golden_relationships_from ON golden_relationships (from_golden_id);
CREATE INDEX golden_relationships_to ON golden_relationships (to_golden_id);

-- Every version of every golden relationship, for as-of reads.
CREATE TABLE golden_relationship_history (
    id             INTEGER PRIMARY KEY NOT NULL,
    from_domain    TEXT NOT NULL,
    rel_type       TEXT NOT NULL,
    from_golden_id TEXT NOT NULL,
    to_golden_id   TEXT NOT NULL,
    to_domain      TEXT NOT NULL,
    version        INTEGER NOT NULL,
    reason         TEXT NOT NULL CHECK (reason IN ('added', 'changed', 'ended')),
    status         TEXT NOT NULL CHECK (status IN ('active', 'ended')),
    attributes     TEXT NOT NULL,
    lineage        TEXT NOT NULL,
    run_id         BIGINT NOT NULL,
    valid_from     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX golden_relationship_history_version ON golden_relationship_history
    (from_domain, rel_type, from_golden_id, to_golden_id, version);
CREATE INDEX golden_relationship_history_from ON golden_relationship_history (from_golden_id, valid_from);
CREATE INDEX golden_relationship_history_to ON golden_relationship_history (to_golden_id, valid_from);

-- Change events for relationships. SQLite cannot alter a CHECK constraint: the table is
-- rebuilt with its rows, sequence numbers and AUTOINCREMENT counter as they were, so a
-- consumer's cursor never sees a number twice.
CREATE TABLE change_events_new (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    domain      TEXT NOT NULL,
    golden_id   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'merged', 'split', 'deleted',
                                        'relationship_added', 'relationship_changed', 'relationship_ended')),
    retired_ids TEXT,
    run_id      BIGINT,
    payload     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
INSERT INTO change_events_new (seq, domain, golden_id, kind, retired_ids, run_id, payload, created_at)
    SELECT seq, domain, golden_id, kind, retired_ids, run_id, payload, created_at
    FROM change_events ORDER BY seq;
DELETE FROM sqlite_sequence WHERE name = 'change_events_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'change_events_new', seq FROM sqlite_sequence WHERE name = 'change_events';
DROP TABLE change_events;
ALTER TABLE change_events_new RENAME TO change_events;
