DROP TABLE reconcile_edges;
DROP TABLE reconcile_partition_members;
DROP TABLE reconcile_partitions;
DROP TABLE reconcile_run_inputs;
