ALTER TABLE consumer_cursors DROP COLUMN lease_until;
ALTER TABLE consumer_cursors DROP COLUMN lease_owner;
