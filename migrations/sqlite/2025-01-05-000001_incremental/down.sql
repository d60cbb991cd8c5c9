DROP INDEX xref_unstaged;
DROP TABLE reconcile_reads;
