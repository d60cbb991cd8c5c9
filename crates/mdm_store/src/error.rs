//! The store's error type: user-facing problems (a bad URL, an unreachable server) apart
//! from query failures.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("migrating the database failed: {0}")]
    Migration(String),
    /// The message carries diesel's (not `source()` too: a printed chain says it once).
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// SQLite's "database is locked": another writer (a reconcile's one write transaction)
    /// held the file for longer than the busy timeout. Worth a retry, not a failure.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Query(diesel::result::Error::DatabaseError(_, info)) => {
                let m = info.message();
                m.contains("database is locked") || m.contains("database is busy")
            }
            _ => false,
        }
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::Query(e)
    }
}
