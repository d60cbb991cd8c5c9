-- mdm's store on Citus (distributed PostgreSQL): which table goes where.
--
-- NOT TESTED. Citus is not in Debian's archive, so this file has never run against a Citus
-- cluster here; it is the plan that the schema is kept compatible with (issue 23), to be
-- tried on a real cluster first. Run it once, on the coordinator, after `mdm migrate` and
-- before any data is loaded. See README.md beside it for why each table goes where it goes
-- and what is known to stand in the way.

CREATE EXTENSION IF NOT EXISTS citus;

-- 1. Small tables every node reads: reference tables (a copy on every node). Foreign keys
--    from distributed tables may point at them (staging_records.system, batch_id).
SELECT create_reference_table('source_systems');
SELECT create_reference_table('load_batches');
SELECT create_reference_table('match_models');
SELECT create_reference_table('relationship_types');
SELECT create_reference_table('golden_search_attributes');

-- 2. Per source record, distributed by source_id (hashed; a domain has too few values to
--    spread on). Citus needs the distribution column in every primary key and unique
--    index: staging_records and staging_links have identity primary keys, so their keys
--    are widened first (their unique (domain, system, source_id, version) indexes already
--    hold source_id).
ALTER TABLE staging_records DROP CONSTRAINT staging_records_pkey,
    ADD PRIMARY KEY (id, source_id);
SELECT create_distributed_table('staging_records', 'source_id');
SELECT create_distributed_table('xref', 'source_id', colocate_with => 'staging_records');
SELECT create_distributed_table('xref_realtime', 'source_id', colocate_with => 'staging_records');
SELECT create_distributed_table('match_keys', 'source_id', colocate_with => 'staging_records');
ALTER TABLE staging_links DROP CONSTRAINT staging_links_pkey,
    ADD PRIMARY KEY (id, from_source_id);
SELECT create_distributed_table('staging_links', 'from_source_id', colocate_with => 'staging_records');

-- 3. Per golden record, distributed by golden ID.
SELECT create_distributed_table('golden_records', 'golden_id');
ALTER TABLE golden_history DROP CONSTRAINT golden_history_pkey,
    ADD PRIMARY KEY (id, golden_id);
SELECT create_distributed_table('golden_history', 'golden_id', colocate_with => 'golden_records');
SELECT create_distributed_table('golden_locks', 'golden_id', colocate_with => 'golden_records');
SELECT create_distributed_table('golden_search', 'golden_id', colocate_with => 'golden_records');
SELECT create_distributed_table('golden_redirects', 'retired_id', colocate_with => 'golden_records');
SELECT create_distributed_table('golden_relationships', 'from_golden_id', colocate_with => 'golden_records');

-- 4. Kept pairs, by their first staging version (pairs are read by version).
SELECT create_distributed_table('match_pairs', 'a_staging_id');
SELECT create_distributed_table('stale_pair_versions', 'staging_id', colocate_with => 'match_pairs');

-- 5. A partitioned run's work, co-located by partition: a worker reads its partition's
--    members and writes its edges on one shard group.
SELECT create_distributed_table('reconcile_partition_members', 'part');
SELECT create_distributed_table('reconcile_edges', 'part', colocate_with => 'reconcile_partition_members');

-- 6. Everything else stays a plain table on the coordinator, on purpose:
--    reconcile_partitions (the claim table: FOR UPDATE SKIP LOCKED needs single-node
--    rows), reconcile_runs, reconcile_reads, reconcile_run_inputs (the run ledger and
--    its guard's advisory lock), change_events (one global order, and the feed's gap lock
--    is LOCK TABLE), consumer_cursors, webhook_deliveries, the steward tables
--    (match_decisions, review_items, review_assignments), golden_relationship_history,
--    audit_log, api_tokens, idempotency_keys, quarantined_rows, source_watermarks.
SELECT citus_add_local_table_to_metadata('reconcile_partitions');
SELECT citus_add_local_table_to_metadata('change_events');
