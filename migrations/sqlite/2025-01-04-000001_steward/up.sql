-- Stewardship: the append-only audit log of steward actions and automatic merges/splits,
-- review-queue assignments, and lock tombstones (an unlock must reach the next incremental
-- run). SQLite flavour; the PostgreSQL tree declares the same tables and columns.

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at         TIMESTAMP NOT NULL,
    -- The steward (token label or id), or `reconcile` for automatic changes.
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    domain     TEXT NOT NULL,
    -- JSON array of the golden IDs concerned (searchable with LIKE).
    golden_ids TEXT NOT NULL,
    reason     TEXT,
    -- JSON: what the action saw before, and what it made.
    before     TEXT,
    after      TEXT,
    run_id     BIGINT
);
CREATE INDEX audit_log_domain ON audit_log (domain, id);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

-- Append-only: the database itself refuses edits and deletions.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Who works on which review pair. Keyed by the pair, not the review item's row id, because
-- every run rewrites the backlog.
CREATE TABLE review_assignments (
    domain      TEXT NOT NULL,
    a_system    TEXT NOT NULL,
    a_source_id TEXT NOT NULL,
    b_system    TEXT NOT NULL,
    b_source_id TEXT NOT NULL,
    steward     TEXT NOT NULL,
    assigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (domain, a_system, a_source_id, b_system, b_source_id)
);

ALTER TABLE golden_locks ADD COLUMN unlocked_at TIMESTAMP;
