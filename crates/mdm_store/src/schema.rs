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
