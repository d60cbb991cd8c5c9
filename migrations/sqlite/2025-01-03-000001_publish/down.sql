DROP TABLE webhook_deliveries;
DROP TABLE consumer_cursors;
DROP TABLE api_tokens;
