-- Golden records: the reconcile run's output (survivorship, stable IDs, xref, history, the
-- change-event outbox, the run ledger) and the steward inputs it reads (decisions, locks).
-- PostgreSQL flavour; the SQLite tree declares the same tables and columns.

CREATE TABLE reconcile_runs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain         TEXT NOT NULL,
    mode           TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    status         TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    started_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP,
    records        BIGINT NOT NULL DEFAULT 0,
    n_created      BIGINT NOT NULL DEFAULT 0,
    n_updated      BIGINT NOT NULL DEFAULT 0,
    n_merged       BIGINT NOT NULL DEFAULT 0,
    n_split        BIGINT NOT NULL DEFAULT 0,
    n_deleted      BIGINT NOT NULL DEFAULT 0,
    n_unchanged    BIGINT NOT NULL DEFAULT 0,
    review_items   BIGINT NOT NULL DEFAULT 0,
    -- JSON: clusters, dirty records, pairs scored, events, phase timings.
    stats          TEXT NOT NULL DEFAULT '{}',
    error          TEXT
);
CREATE INDEX reconcile_runs_domain ON reconcile_runs (domain, id);

CREATE TABLE golden_records (
    golden_id      TEXT PRIMARY KEY NOT NULL,
    domain         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('active', 'retired', 'deleted')),
    attributes     TEXT NOT NULL,
    lineage        TEXT NOT NULL,
    members        INTEGER NOT NULL,
    run_id         BIGINT NOT NULL,
    created_run_id BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX golden_records_domain_status ON golden_records (domain, status);

CREATE TABLE golden_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain      TEXT NOT NULL,
    golden_id   TEXT NOT NULL,
    version     INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('created', 'updated', 'merged', 'split', 'deleted')),
    status      TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    lineage     TEXT NOT NULL,
    detail      TEXT,
    run_id      BIGINT NOT NULL,
    valid_from  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX golden_history_version ON golden_history (golden_id, version);

CREATE TABLE golden_redirects (
    retired_id  TEXT PRIMARY KEY NOT NULL,
    domain      TEXT NOT NULL,
    survivor_id TEXT NOT NULL,
    run_id      BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX golden_redirects_survivor ON golden_redirects (survivor_id);

CREATE TABLE xref (
    domain      TEXT NOT NULL,
    system      TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    golden_id   TEXT NOT NULL,
    -- The staging version the last run saw: a different live version means "changed".
    staging_id  BIGINT NOT NULL,
    run_id      BIGINT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (domain, system, source_id)
);
CREATE INDEX xref_golden ON xref (golden_id);

CREATE TABLE change_events (
    seq         BIGSERIAL PRIMARY KEY,
    domain      TEXT NOT NULL,
    golden_id   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'merged', 'split', 'deleted')),
    retired_ids TEXT,
    run_id      BIGINT,
    payload     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE match_decisions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('must_link', 'cannot_link')),
    a_system     TEXT NOT NULL,
    a_source_id  TEXT NOT NULL,
    b_system     TEXT NOT NULL,
    b_source_id  TEXT NOT NULL,
    decided_by   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP
);
CREATE INDEX match_decisions_domain ON match_decisions (domain, id);

CREATE TABLE review_items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain      TEXT NOT NULL,
    run_id      BIGINT NOT NULL,
    a_system    TEXT NOT NULL,
    a_source_id TEXT NOT NULL,
    b_system    TEXT NOT NULL,
    b_source_id TEXT NOT NULL,
    a_golden_id TEXT NOT NULL,
    b_golden_id TEXT NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    weight      DOUBLE PRECISION NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX review_items_domain ON review_items (domain, probability);

CREATE TABLE golden_locks (
    domain     TEXT NOT NULL,
    golden_id  TEXT NOT NULL,
    attribute  TEXT NOT NULL,
    value      TEXT NOT NULL,
    locked_by  TEXT NOT NULL,
    locked_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (golden_id, attribute)
);

-- The frozen match model (trained parameters and term frequencies): incremental and full
-- runs score with the same model, so they agree.
CREATE TABLE match_models (
    domain     TEXT PRIMARY KEY NOT NULL,
    rules_hash TEXT NOT NULL,
    model      TEXT NOT NULL,
    run_id     BIGINT NOT NULL,
    trained_at TIMESTAMP NOT NULL
);

-- Scored pairs kept by the last run (review or better, or decided by an override), by the
-- staging versions scored: an incremental run re-scores only pairs that touch changed
-- records (whose versions changed), and keeps these for the rest.
CREATE TABLE match_pairs (
    a_staging_id BIGINT NOT NULL,
    b_staging_id BIGINT NOT NULL,
    domain       TEXT NOT NULL,
    weight       DOUBLE PRECISION NOT NULL,
    probability  DOUBLE PRECISION NOT NULL,
    decision     TEXT NOT NULL,
    overridden   BOOLEAN NOT NULL,
    PRIMARY KEY (a_staging_id, b_staging_id)
);
CREATE INDEX match_pairs_b ON match_pairs (b_staging_id);
CREATE INDEX match_pairs_domain ON match_pairs (domain);

-- Blocking keys (hashes) of the current staged records, per blocking rule: an incremental run
-- finds the records that share a block with a changed record without reading the rest.
CREATE TABLE match_keys (
    staging_id BIGINT NOT NULL,
    rule       INTEGER NOT NULL,
    key_hash   BIGINT NOT NULL,
    domain     TEXT NOT NULL,
    PRIMARY KEY (staging_id, rule)
);
CREATE INDEX match_keys_lookup ON match_keys (domain, rule, key_hash);
