//! Errors that stop a load as a whole (a row-level problem is a quarantine entry instead).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The message carries the I/O error's (not `source()` too, so a printed chain says
    /// it once).
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{label}: {message}")]
    Input { label: String, message: String },
    #[error("{label}: no column maps to `source_id` (columns: {columns}); name one `source_id` or map it in [systems.<SYSTEM>.mapping]")]
    NoSourceIdColumn { label: String, columns: String },
    #[error("SQL source {label}: {message}")]
    Sql { label: String, message: String },
    #[error("load batch {batch_id} was settled as interrupted by another mdm process (no progress for longer than ingest.stale_batch_secs); load the input again")]
    Settled { batch_id: i64 },
    #[error("{label}: {quarantined} of {read} rows read were quarantined, more than ingest.max_quarantine_share ({max_share}) allows: the input looks like garbage (wrong file, encoding or delimiter?); load batch {batch_id} is marked failed and nothing of it is staged")]
    TooManyQuarantined {
        label: String,
        batch_id: i64,
        quarantined: u64,
        read: u64,
        max_share: f64,
    },
    #[error(transparent)]
    Store(#[from] mdm_store::StoreError),
}

impl From<diesel::result::Error> for IngestError {
    fn from(e: diesel::result::Error) -> Self {
        IngestError::Store(e.into())
    }
}
