ALTER TABLE load_batches DROP COLUMN heartbeat_at;
