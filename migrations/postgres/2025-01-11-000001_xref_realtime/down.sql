ALTER TABLE golden_records RESET (fillfactor);
ALTER TABLE xref RESET (fillfactor);
DROP TABLE xref_realtime;
CREATE INDEX xref_unstaged ON xref (domain) WHERE staging_id = 0;
