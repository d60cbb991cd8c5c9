-- Webhook delivery lease: of several `mdm serve` processes on one database, only the lease
-- holder delivers a consumer's webhooks; another takes over when the lease runs out.
ALTER TABLE consumer_cursors ADD COLUMN lease_owner TEXT;
ALTER TABLE consumer_cursors ADD COLUMN lease_until TIMESTAMP;
