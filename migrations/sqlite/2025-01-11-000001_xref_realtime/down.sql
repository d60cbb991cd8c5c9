DROP TABLE xref_realtime;
CREATE INDEX xref_unstaged ON xref (domain) WHERE staging_id = 0;
