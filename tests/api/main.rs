//! The root package's one integration-test binary: runs the real `mdm` binary and calls the
//! crates directly, against real SQLite files and real PostgreSQL databases (one fresh
//! database per test; `MDM_TEST_PG=skip` skips the PostgreSQL variants).

mod helpers;

mod cli;
mod config;
mod ingest;
mod quarantine;
mod sql_pull;
