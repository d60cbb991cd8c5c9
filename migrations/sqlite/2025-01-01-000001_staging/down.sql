DROP TABLE source_watermarks;
DROP TABLE quarantined_rows;
DROP TABLE staging_records;
DROP TABLE load_batches;
DROP TABLE source_systems;
