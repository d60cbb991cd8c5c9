-- Publish: API tokens, per-consumer feed cursors and webhook delivery state. SQLite
-- flavour; the PostgreSQL tree declares the same tables and columns. Nothing here references
-- change_events by foreign key: the feed reads it, and events are never deleted.

CREATE TABLE api_tokens (
    -- The public part of the token (`mdm_<id>_<secret>`), shown by `mdm token list`.
    id          TEXT PRIMARY KEY NOT NULL,
    -- SHA-256 of the whole token, hex. The token itself is never stored.
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('reader', 'writer', 'steward', 'admin')),
    -- A writer with a system may push only that system's records.
    system      TEXT,
    label       TEXT,
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);

-- One row per feed consumer (ERP, CRM, ...): how far it acknowledged the pull feed, and how
-- far webhooks delivered to it.
CREATE TABLE consumer_cursors (
    consumer    TEXT PRIMARY KEY NOT NULL,
    acked_seq   BIGINT NOT NULL DEFAULT 0,
    webhook_seq BIGINT NOT NULL DEFAULT 0,
    updated_at  TIMESTAMP NOT NULL
);

-- Webhook events that failed at least once and are not delivered yet: retrying (the head of
-- the consumer's queue), dead (gave up after the configured attempts) or replay (an admin
-- asked for another round).
CREATE TABLE webhook_deliveries (
    consumer        TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('retrying', 'dead', 'replay')),
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    next_attempt_at TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (consumer, seq)
);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (consumer, status, seq);
