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
        // A PostgreSQL connection breaks for good when the server restarts; unchecked, the
        // pool handed the dead ones out again and every request answered 500 until `mdm
        // serve` was restarted (benches/crash/pg_kill.sh). One `SELECT 1` per checkout
        // finds them; a SQLite connection is a file and cannot break this way.
        .test_on_check_out(is_postgres(url))
        .build(Manager {
            url: url.to_string(),
        })
        .map_err(|e| StoreError::Connect {
            url: crate::redact(url),
            message: e.to_string(),
        })
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    /// PostgreSQL restarted under the server: every pooled connection is dead. The next
    /// checkout must open a new one rather than hand out a dead one.
    #[test]
    fn pool_replaces_connections_the_server_closed() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let pool = build(db.url(), 2, Duration::from_secs(10)).unwrap();
        ping(&mut pool.get().unwrap()).unwrap();
        let mut killer = crate::open(db.url()).unwrap();
        on_backend!(&mut killer, c => diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).execute(c))
        .unwrap();
        for _ in 0..4 {
            ping(&mut pool.get().unwrap()).expect("a live connection after the kill");
        }
    }
}
