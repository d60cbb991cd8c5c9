DELETE FROM api_tokens WHERE role = 'reconcile';
CREATE TABLE api_tokens_old (
    id          TEXT PRIMARY KEY NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('reader', 'writer', 'steward', 'admin')),
    system      TEXT,
    label       TEXT,
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
INSERT INTO api_tokens_old SELECT id, token_hash, role, system, label, created_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_old RENAME TO api_tokens;
