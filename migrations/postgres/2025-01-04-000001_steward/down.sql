DROP TABLE review_assignments;
DROP TRIGGER audit_log_no_change ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
ALTER TABLE golden_locks DROP COLUMN unlocked_at;
