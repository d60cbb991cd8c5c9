DROP TABLE review_assignments;
DROP TABLE audit_log;
ALTER TABLE golden_locks DROP COLUMN unlocked_at;
