//! Use cases and jobs on top of the pure core (`mdm_core`) and the store (`mdm_store`):
//! the nightly reconcile run, reports, exports and the demo.
//!
//! Architecture invariant: this crate holds orchestration only. Algorithms live in
//! `mdm_core` (survive, identify, rematch), SQL in `mdm_store`; the CLI and the HTTP API
//! call the functions here.

pub mod conflicts;
pub mod demo;
pub mod export;
pub mod quarantine;
pub mod reconcile;
pub mod relationships;
pub mod report;
pub mod steward;
pub mod writeback;

pub use reconcile::{
    reconcile, reconcile_with_model, reconcile_with_reader, ReconcileOptions, RunSummary,
};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] mdm_store::StoreError),
    #[error(transparent)]
    Rules(#[from] mdm_rules::RulesError),
    #[error(transparent)]
    Match(#[from] mdm_core::pipeline::MatchError),
    #[error("unexpected data: {0}")]
    Corrupt(String),
    /// The stored match model does not parse (stored by another version of mdm, say).
    #[error("the stored match model cannot be read: {0}")]
    UnreadableModel(String),
    #[error("{0}")]
    Invalid(String),
    /// Someone else changed the same state first; nothing was applied.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    /// A steward acted on a version of a golden record that is no longer current.
    #[error("golden record {golden_id} is at version {current}, not {expected}: it changed since you loaded it; reload and try again")]
    StaleVersion {
        golden_id: String,
        expected: i32,
        current: i32,
    },
    /// The message carries the I/O error's (not `source()` too: said once in a chain).
    #[error("{path}: {error}")]
    Io {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        ServiceError::Store(e.into())
    }
}
