DELETE FROM api_tokens WHERE role = 'reconcile';
ALTER TABLE api_tokens DROP CONSTRAINT IF EXISTS api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('reader', 'writer', 'steward', 'admin'));
