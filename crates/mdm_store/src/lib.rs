//! All of mdm's SQL: the staging store on SQLite (the embedded default) or PostgreSQL.
//!
//! Sits under ingest and (later) reconcile: adapters hand validated rows to ingest, which
//! classifies them and writes them here through the primitives of [`staging`],
//! [`quarantine`], [`batches`], [`systems`] and [`watermarks`]. One code path serves both
//! backends through the [`DbConnection`] MultiConnection; queries the MultiConnection cannot
//! express run the same diesel code per backend through [`on_backend!`].
//!
//! Architecture invariant: this crate knows nothing of files, HTTP or configuration; it is
//! given URLs and rows. It never logs attribute values, only ids and counts.
//!
//! Lookups by a unique key use `get_result`, not `first`: `first` binds `LIMIT ?`, and
//! SQLite re-prepares a statement whose LIMIT is a bound parameter each time it is bound,
//! which cost a quarter of the server's time on the read paths.

pub mod audit;
pub mod batches;
mod connection;
pub mod cursors;
pub mod decisions;
pub mod deliveries;
mod error;
pub mod feed;
pub mod golden;
pub mod groups;
pub mod idempotency;
pub mod links;
pub mod matchstate;
pub mod migrate;
pub mod outbox;
pub mod partitions;
pub mod pool;
pub mod quarantine;
pub mod relationships;
pub mod reports;
pub mod runs;
pub mod schema;
pub mod search;
pub mod staging;
pub mod systems;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
mod transaction;
mod url;
mod values;
pub mod watermarks;
pub mod writeback;
pub mod xref;

pub use connection::{connect, open, open_second, Backend, DbConnection};
pub use error::StoreError;
pub use systems::LOWEST_TRUST;
pub use url::{redact, DatabaseUrl, PG_CONNECT_TIMEOUT_SECS};

/// Source ids of (system, source_id) keys grouped by system, so each statement has one `IN`
/// list on the key's second column.
pub(crate) fn by_system(keys: &[(String, String)]) -> std::collections::BTreeMap<&str, Vec<&str>> {
    let mut out: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (s, id) in keys {
        out.entry(s.as_str()).or_default().push(id.as_str());
    }
    out
}

/// The current time as stored: UTC without an offset (TIMESTAMP on both backends).
pub fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
