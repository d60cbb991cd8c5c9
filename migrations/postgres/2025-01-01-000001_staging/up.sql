-- Staging: what the sources said, version by version. PostgreSQL flavour; the SQLite tree
-- declares the same tables and columns (a test in mdm_store checks both against schema.rs).

CREATE TABLE source_systems (
    name          TEXT PRIMARY KEY NOT NULL,
    -- 1 is the most trusted; systems nobody declared get mdm_store::LOWEST_TRUST.
    trust_rank    INTEGER NOT NULL,
    declared      BOOLEAN NOT NULL,
    registered_at TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE load_batches (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain           TEXT NOT NULL,
    system           TEXT NOT NULL REFERENCES source_systems (name),
    source           TEXT NOT NULL,
    snapshot         BOOLEAN NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP,
    rows_read        BIGINT NOT NULL DEFAULT 0,
    rows_new         BIGINT NOT NULL DEFAULT 0,
    rows_changed     BIGINT NOT NULL DEFAULT 0,
    rows_unchanged   BIGINT NOT NULL DEFAULT 0,
    rows_deleted     BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0,
    error            TEXT
);
CREATE INDEX load_batches_domain_system ON load_batches (domain, system, id);

CREATE TABLE staging_records (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain        TEXT NOT NULL,
    system        TEXT NOT NULL REFERENCES source_systems (name),
    source_id     TEXT NOT NULL,
    version       INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('current', 'superseded', 'deleted')),
    attributes    TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    batch_id      BIGINT NOT NULL REFERENCES load_batches (id),
    loaded_at     TIMESTAMP NOT NULL,
    seen_batch_id BIGINT NOT NULL,
    ended_batch_id BIGINT,
    ended_at      TIMESTAMP
);
-- Every version of a record, in order: history and integrity.
CREATE UNIQUE INDEX staging_records_key_version
    ON staging_records (domain, system, source_id, version);
-- At most one live (current or deleted) version per record; the ingest lookup uses it.
CREATE UNIQUE INDEX staging_records_live_key
    ON staging_records (domain, system, source_id) WHERE status <> 'superseded';
CREATE INDEX staging_records_batch ON staging_records (batch_id);
CREATE INDEX staging_records_ended_batch ON staging_records (ended_batch_id)
    WHERE ended_batch_id IS NOT NULL;

CREATE TABLE quarantined_rows (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id       BIGINT NOT NULL REFERENCES load_batches (id),
    domain         TEXT NOT NULL,
    system         TEXT NOT NULL,
    source         TEXT NOT NULL,
    row_number     BIGINT NOT NULL,
    source_id      TEXT,
    field          TEXT,
    reason         TEXT NOT NULL,
    detail         TEXT NOT NULL,
    raw            TEXT,
    quarantined_at TIMESTAMP NOT NULL
);
CREATE INDEX quarantined_rows_batch ON quarantined_rows (batch_id, row_number);

CREATE TABLE source_watermarks (
    domain     TEXT NOT NULL,
    system     TEXT NOT NULL REFERENCES source_systems (name),
    watermark  TEXT NOT NULL,
    batch_id   BIGINT NOT NULL REFERENCES load_batches (id),
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (domain, system)
);
