-- A running load notes its progress after every chunk, so that a batch left `running` by a
-- process that died can be told from one that is still loading (settled as failed once
-- silent for longer than ingest.stale_batch_secs).
ALTER TABLE load_batches ADD COLUMN heartbeat_at TIMESTAMP;
