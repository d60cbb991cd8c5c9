-- Idempotency keys of write requests (`Idempotency-Key` header), per token and route. A row
-- is written before the request runs (status NULL: in flight), so of two requests with one
-- key the primary key lets one run and tells the other; the answer is stored when it
-- finishes and replayed for 24 hours. SQLite flavour; the PostgreSQL tree declares the same
-- table and columns.
CREATE TABLE idempotency_keys (
    token_id        TEXT NOT NULL,
    -- `METHOD /route/{pattern}`: a key is scoped to one route.
    route           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- SHA-256 (hex) of the method, path, query, content type and body: the same key with
    -- another request is refused.
    request_hash    TEXT NOT NULL,
    -- The stored answer; NULL while the request runs.
    status          INTEGER,
    content_type    TEXT,
    body            TEXT,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (token_id, route, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
