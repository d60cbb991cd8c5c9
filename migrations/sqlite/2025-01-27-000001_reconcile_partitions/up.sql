-- A partitioned full run scored by `mdm worker` processes (issue 23; PostgreSQL only:
-- the tables exist on SQLite so that one schema.rs describes both). Rows of a run live
-- while it works; the coordinator deletes its inputs and edges once it has read them, and
-- the next run of the domain deletes what a killed run left. No foreign keys and no
-- sequences: under Citus the run-scoped tables are distributed by run_id, the ledger stays
-- on the coordinator (FOR UPDATE is single-shard only).

-- What every worker of a run needs besides the stored model (checked by its hash): the
-- partition count and the capped blocks' cut-offs, encoded by mdm_service.
CREATE TABLE reconcile_run_inputs (
    run_id BIGINT PRIMARY KEY NOT NULL,
    domain TEXT NOT NULL,
    partitions INTEGER NOT NULL,
    model_hash TEXT NOT NULL,
    cutoffs BLOB NOT NULL
);

-- The claim table: one row per partition to score. state: pending, claimed, done.
CREATE TABLE reconcile_partitions (
    run_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    state TEXT NOT NULL,
    worker TEXT,
    lease_until TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    records BIGINT NOT NULL,
    pairs_scored BIGINT,
    pairs_kept BIGINT,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    PRIMARY KEY (run_id, part)
);
CREATE INDEX reconcile_partitions_open ON reconcile_partitions (state, run_id, part)
    WHERE state <> 'done';

-- A partition's records (global index, staging version, blocking keys), encoded.
CREATE TABLE reconcile_partition_members (
    run_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    members BLOB NOT NULL,
    PRIMARY KEY (run_id, part)
);

-- Kept pairs by partition: a retry deletes the partition's rows and writes them again in
-- the transaction that marks it done, so nothing is counted twice.
CREATE TABLE reconcile_edges (
    run_id BIGINT NOT NULL,
    part INTEGER NOT NULL,
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    weight REAL NOT NULL,
    probability REAL NOT NULL,
    decision TEXT NOT NULL,
    override_idx INTEGER,
    PRIMARY KEY (run_id, part, a, b)
);
