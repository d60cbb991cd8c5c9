-- A `reconcile` token: read-only, limited to the reconciliation service (OpenRefine), and
-- carried in the service URL because OpenRefine sends no custom headers.
ALTER TABLE api_tokens DROP CONSTRAINT IF EXISTS api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('reader', 'writer', 'steward', 'admin', 'reconcile'));
