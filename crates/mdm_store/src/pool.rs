//! A connection pool (r2d2) for the long-running server: every pooled connection is opened
//! like any other ([`crate::open`]: tuned, migrations checked), so a request never sees an
//! untuned SQLite session.

use crate::{on_backend, DbConnection, StoreError};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::RunQueryDsl;
use std::time::Duration;

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// Opens connections for the pool.
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConnection, StoreError> {
        crate::open(&self.url)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StoreError> {
        on_backend!(conn, c => diesel::sql_query("SELECT 1").execute(c))?;
        Ok(())
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Opens the database once (applying migrations before any pooled connection exists), then
/// builds a pool of at most `size` connections.
pub fn build(url: &str, size: u32, timeout: Duration) -> Result<DbPool, StoreError> {
    drop(crate::open(url)?);
    Pool::builder()
        .max_size(size.max(1))
        // A few warm connections, so a request rarely waits for one to be opened.
        .min_idle(Some(size.clamp(1, 4)))
        .connection_timeout(timeout)
        .test_on_check_out(false)
        .build(Manager {
            url: url.to_string(),
        })
        .map_err(|e| StoreError::Connect {
            url: crate::redact(url),
            message: e.to_string(),
        })
}

/// A round trip to the database, for readiness probes.
pub fn ping(conn: &mut DbConnection) -> Result<(), StoreError> {
    on_backend!(conn, c => diesel::sql_query("SELECT 1").execute(c))?;
    Ok(())
}

/// Runs `f` in one write transaction (committed when it returns `Ok`; on SQLite begun
/// IMMEDIATE, see [`DbConnection::write_transaction`]), for callers that do not depend on
/// diesel themselves.
pub fn in_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.write_transaction(f)
}
