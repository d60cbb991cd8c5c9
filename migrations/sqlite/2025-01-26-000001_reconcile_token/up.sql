-- A `reconcile` token: read-only, limited to the reconciliation service (OpenRefine), and
-- carried in the service URL because OpenRefine sends no custom headers. SQLite cannot
-- alter a CHECK constraint: the table is rebuilt with the same columns.
CREATE TABLE api_tokens_new (
    id          TEXT PRIMARY KEY NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('reader', 'writer', 'steward', 'admin', 'reconcile')),
    system      TEXT,
    label       TEXT,
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
INSERT INTO api_tokens_new SELECT id, token_hash, role, system, label, created_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
