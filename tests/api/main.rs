//! The root package's one integration-test binary: runs the real `mdm` binary and calls the
//! crates directly, against real SQLite files and real PostgreSQL databases (one fresh
//! database per test; `MDM_TEST_PG=skip` skips the PostgreSQL variants).

mod helpers;

mod cli;
mod config;
mod console_e2e;
mod febrl;
mod first_hour;
mod golden_cli;
mod households;
mod idempotency;
mod ingest;
mod match_report;
mod parquet;
mod partitioned;
mod publish_basics;
mod publish_match;
mod publish_push;
mod publish_read;
mod publish_search;
mod publish_webhooks;
mod quality;
mod quarantine;
mod rate_limit;
mod reconcile;
mod reconcile_kill;
mod reconcile_pull;
mod reconciliation;
mod relationships;
mod server;
mod sql_pull;
mod steward;
mod workers;
mod writeback;
