// Written in the shape `diesel print-schema` produces, and checked in. The test
// `tests/schema_drift.rs` migrates a fresh SQLite and PostgreSQL database and fails if a
// table or column here is missing from the migrations, or the other way round.

diesel::table! {
    load_batches (id) {
        id -> BigInt,
        domain -> Text,
        system -> Text,
        source -> Text,
        snapshot -> Bool,
        status -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        rows_read -> BigInt,
        rows_new -> BigInt,
        rows_changed -> BigInt,
        rows_unchanged -> BigInt,
        rows_deleted -> BigInt,
        rows_quarantined -> BigInt,
        error -> Nullable<Text>,
        heartbeat_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    quarantined_rows (id) {
        id -> BigInt,
        batch_id -> BigInt,
        domain -> Text,
        system -> Text,
        source -> Text,
        row_number -> BigInt,
        source_id -> Nullable<Text>,
        field -> Nullable<Text>,
        reason -> Text,
        detail -> Text,
        raw -> Nullable<Text>,
        quarantined_at -> Timestamp,
    }
}

diesel::table! {
    source_systems (name) {
        name -> Text,
        trust_rank -> Integer,
        declared -> Bool,
        registered_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    source_watermarks (domain, system) {
        domain -> Text,
        system -> Text,
        watermark -> Text,
        batch_id -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staging_records (id) {
        id -> BigInt,
        domain -> Text,
        system -> Text,
        source_id -> Text,
        version -> Integer,
        status -> Text,
        attributes -> Text,
        content_hash -> Text,
        batch_id -> BigInt,
        loaded_at -> Timestamp,
        seen_batch_id -> BigInt,
        ended_batch_id -> Nullable<BigInt>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(load_batches -> source_systems (system));
diesel::joinable!(quarantined_rows -> load_batches (batch_id));
diesel::joinable!(source_watermarks -> source_systems (system));
diesel::joinable!(staging_records -> load_batches (batch_id));

diesel::allow_tables_to_appear_in_same_query!(
    load_batches,
    quarantined_rows,
    source_systems,
    source_watermarks,
    staging_records,
);

// Publish (migration 2025-01-03-000001_publish): API tokens, feed cursors, webhook state.

diesel::table! {
    api_tokens (id) {
        id -> Text,
        token_hash -> Text,
        role -> Text,
        system -> Nullable<Text>,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    consumer_cursors (consumer) {
        consumer -> Text,
        acked_seq -> BigInt,
        webhook_seq -> BigInt,
        updated_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (consumer, seq) {
        consumer -> Text,
        seq -> BigInt,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

// Golden records (migration 2025-01-02-000001_golden): reconcile's output and steward inputs.

diesel::table! {
    reconcile_runs (id) {
        id -> BigInt,
        domain -> Text,
        mode -> Text,
        status -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        records -> BigInt,
        n_created -> BigInt,
        n_updated -> BigInt,
        n_merged -> BigInt,
        n_split -> BigInt,
        n_deleted -> BigInt,
        n_unchanged -> BigInt,
        review_items -> BigInt,
        stats -> Text,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    golden_records (golden_id) {
        golden_id -> Text,
        domain -> Text,
        version -> Integer,
        status -> Text,
        attributes -> Text,
        lineage -> Text,
        members -> Integer,
        run_id -> BigInt,
        created_run_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    golden_history (id) {
        id -> BigInt,
        domain -> Text,
        golden_id -> Text,
        version -> Integer,
        reason -> Text,
        status -> Text,
        attributes -> Text,
        lineage -> Text,
        detail -> Nullable<Text>,
        run_id -> BigInt,
        valid_from -> Timestamp,
    }
}

diesel::table! {
    golden_redirects (retired_id) {
        retired_id -> Text,
        domain -> Text,
        survivor_id -> Text,
        run_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    xref (domain, system, source_id) {
        domain -> Text,
        system -> Text,
        source_id -> Text,
        golden_id -> Text,
        staging_id -> BigInt,
        run_id -> BigInt,
        updated_at -> Timestamp,
    }
}

// Keys given a golden ID by real-time matching since the last run (migration
// 2025-01-11-000001_xref_realtime).
diesel::table! {
    xref_realtime (domain, system, source_id) {
        domain -> Text,
        system -> Text,
        source_id -> Text,
        seen_staging_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    change_events (seq) {
        seq -> BigInt,
        domain -> Text,
        golden_id -> Text,
        kind -> Text,
        retired_ids -> Nullable<Text>,
        run_id -> Nullable<BigInt>,
        payload -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    match_decisions (id) {
        id -> BigInt,
        domain -> Text,
        kind -> Text,
        a_system -> Text,
        a_source_id -> Text,
        b_system -> Text,
        b_source_id -> Text,
        decided_by -> Text,
        reason -> Text,
        created_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    review_items (id) {
        id -> BigInt,
        domain -> Text,
        run_id -> BigInt,
        a_system -> Text,
        a_source_id -> Text,
        b_system -> Text,
        b_source_id -> Text,
        a_golden_id -> Text,
        b_golden_id -> Text,
        probability -> Double,
        weight -> Double,
        created_at -> Timestamp,
    }
}

diesel::table! {
    golden_locks (golden_id, attribute) {
        domain -> Text,
        golden_id -> Text,
        attribute -> Text,
        value -> Text,
        locked_by -> Text,
        locked_at -> Timestamp,
        unlocked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        action -> Text,
        domain -> Text,
        golden_ids -> Text,
        reason -> Nullable<Text>,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
        run_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    review_assignments (domain, a_system, a_source_id, b_system, b_source_id) {
        domain -> Text,
        a_system -> Text,
        a_source_id -> Text,
        b_system -> Text,
        b_source_id -> Text,
        steward -> Text,
        assigned_at -> Timestamp,
    }
}

diesel::table! {
    match_models (domain) {
        domain -> Text,
        rules_hash -> Text,
        model -> Text,
        run_id -> BigInt,
        trained_at -> Timestamp,
    }
}

diesel::table! {
    stale_pair_versions (domain, staging_id) {
        domain -> Text,
        staging_id -> BigInt,
    }
}

diesel::table! {
    match_pairs (a_staging_id, b_staging_id) {
        a_staging_id -> BigInt,
        b_staging_id -> BigInt,
        domain -> Text,
        weight -> Double,
        probability -> Double,
        decision -> Text,
        overridden -> Bool,
    }
}

diesel::table! {
    match_keys (domain, rule, key_hash, system, source_id) {
        domain -> Text,
        system -> Text,
        source_id -> Text,
        rule -> Integer,
        key_hash -> BigInt,
    }
}

// Incremental reconcile (migration 2025-01-05-000001_incremental): how far each run read.

diesel::table! {
    reconcile_reads (run_id) {
        run_id -> BigInt,
        domain -> Text,
        batch_through -> BigInt,
        open_batches -> Text,
    }
}

diesel::table! {
    golden_search (domain, attribute, value, golden_id) {
        domain -> Text,
        attribute -> Text,
        value -> Text,
        golden_id -> Text,
    }
}

diesel::table! {
    golden_search_attributes (domain, attribute) {
        domain -> Text,
        attribute -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    golden_records,
    golden_history,
    golden_redirects,
    xref,
    xref_realtime,
    staging_records,
);

// Idempotency keys of write requests (migration 2025-01-14-000001_idempotency).

diesel::table! {
    idempotency_keys (token_id, route, idempotency_key) {
        token_id -> Text,
        route -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        status -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

// Relationships between golden records (migration 2025-01-25-000001_relationships).

diesel::table! {
    relationship_types (from_domain, name) {
        from_domain -> Text,
        name -> Text,
        to_domain -> Text,
        cardinality -> Text,
        definition -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    staging_links (id) {
        id -> BigInt,
        from_domain -> Text,
        rel_type -> Text,
        system -> Text,
        origin -> Text,
        from_source_id -> Text,
        to_source_id -> Text,
        version -> Integer,
        status -> Text,
        attributes -> Text,
        content_hash -> Text,
        batch_id -> BigInt,
        loaded_at -> Timestamp,
        seen_batch_id -> BigInt,
        ended_batch_id -> Nullable<BigInt>,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    golden_relationships (from_domain, rel_type, from_golden_id, to_golden_id) {
        from_domain -> Text,
        rel_type -> Text,
        from_golden_id -> Text,
        to_golden_id -> Text,
        to_domain -> Text,
        status -> Text,
        version -> Integer,
        attributes -> Text,
        lineage -> Text,
        run_id -> BigInt,
        created_run_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    golden_relationship_history (id) {
        id -> BigInt,
        from_domain -> Text,
        rel_type -> Text,
        from_golden_id -> Text,
        to_golden_id -> Text,
        to_domain -> Text,
        version -> Integer,
        reason -> Text,
        status -> Text,
        attributes -> Text,
        lineage -> Text,
        run_id -> BigInt,
        valid_from -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    staging_links,
    xref,
    source_systems,
    golden_relationships,
    golden_relationship_history,
);

// Partitioned full runs scored by worker processes (migration
// 2025-01-27-000001_reconcile_partitions).

diesel::table! {
    reconcile_run_inputs (run_id) {
        run_id -> BigInt,
        domain -> Text,
        partitions -> Integer,
        model_hash -> Text,
        cutoffs -> Binary,
    }
}

diesel::table! {
    reconcile_partitions (run_id, part) {
        run_id -> BigInt,
        part -> Integer,
        state -> Text,
        worker -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        attempts -> Integer,
        records -> BigInt,
        pairs_scored -> Nullable<BigInt>,
        pairs_kept -> Nullable<BigInt>,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    reconcile_partition_members (run_id, part) {
        run_id -> BigInt,
        part -> Integer,
        members -> Binary,
    }
}

diesel::table! {
    reconcile_edges (run_id, part, a, b) {
        run_id -> BigInt,
        part -> Integer,
        a -> BigInt,
        b -> BigInt,
        weight -> Double,
        probability -> Double,
        decision -> Text,
        override_idx -> Nullable<Integer>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    reconcile_run_inputs,
    reconcile_partitions,
    reconcile_runs,
);

diesel::table! {
    group_decisions (id) {
        id -> BigInt,
        domain -> Text,
        rel_type -> Text,
        kind -> Text,
        a_golden_id -> Text,
        b_golden_id -> Text,
        group_id -> Nullable<Text>,
        decided_by -> Text,
        reason -> Text,
        created_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
    }
}
