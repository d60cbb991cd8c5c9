//! Connections: one diesel `MultiConnection` over SQLite and PostgreSQL, opened from a URL.
//!
//! [`open`] is what the application uses: it connects, tunes SQLite (WAL, foreign keys,
//! busy timeout) and applies pending migrations. [`connect`] only connects; the SQL pull
//! adapter uses it to read a source system's database, which mdm must never migrate.

use crate::url::DatabaseUrl;
use crate::StoreError;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

/// A connection to either backend. Queries that the MultiConnection cannot express (multi-row
/// inserts, upserts) match on the variant through [`crate::on_backend!`].
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Sqlite(_) => Backend::Sqlite,
            DbConnection::Pg(_) => Backend::Postgres,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the same code against the concrete connection of either backend:
/// `on_backend!(conn, c => diesel::insert_into(t).values(&rows).execute(c))`.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::DbConnection::Sqlite($c) => $body,
            $crate::DbConnection::Pg($c) => $body,
        }
    };
}

/// Connects without touching the schema.
pub fn connect(url: &str) -> Result<DbConnection, StoreError> {
    let parsed = DatabaseUrl::parse(url)?;
    match &parsed {
        DatabaseUrl::Sqlite(path) => {
            let path = path.to_string_lossy();
            let conn = SqliteConnection::establish(&path).map_err(|e| StoreError::Connect {
                url: parsed.to_string(),
                message: e.to_string(),
            })?;
            Ok(DbConnection::Sqlite(conn))
        }
        DatabaseUrl::Postgres(raw) => {
            let conn =
                PgConnection::establish(&DatabaseUrl::pg_with_timeout(raw)).map_err(|e| {
                    StoreError::Connect {
                        url: parsed.to_string(),
                        message: format!(
                            "{} (is PostgreSQL running and reachable? gave up after {}s)",
                            e.to_string().trim(),
                            crate::url::PG_CONNECT_TIMEOUT_SECS
                        ),
                    }
                })?;
            Ok(DbConnection::Pg(conn))
        }
    }
}

/// Connects, tunes the session and applies pending migrations: the store, ready to use.
pub fn open(url: &str) -> Result<DbConnection, StoreError> {
    let mut conn = connect(url)?;
    tune(&mut conn)?;
    crate::migrate::run_pending(&mut conn)?;
    Ok(conn)
}

/// A second session on the database at `url`, to read beside one already open (which
/// migrated it); `None` for an in-memory SQLite database, which every connection has a
/// separate copy of.
pub fn open_second(url: &str) -> Result<Option<DbConnection>, StoreError> {
    match DatabaseUrl::parse(url)? {
        DatabaseUrl::Sqlite(path) if path.as_os_str() == ":memory:" => Ok(None),
        _ => {
            let mut conn = connect(url)?;
            tune(&mut conn)?;
            Ok(Some(conn))
        }
    }
}

/// The most of a SQLite database mapped into memory. SQLite's own ceiling is 2 GB unless
/// built with a larger `SQLITE_MAX_MMAP_SIZE` (`.cargo/config.toml` sets 1 TB).
pub const SQLITE_MMAP_BYTES: u64 = 1 << 36;

/// Session settings. SQLite: WAL lets readers run beside the nightly writer, NORMAL sync is
/// safe under WAL and much faster, and the busy timeout turns lock contention into waiting;
/// it comes first because switching to WAL itself needs a lock a running writer may hold.
/// Pages are read through a memory map (up to [`SQLITE_MMAP_BYTES`]) rather than copied in
/// by a `pread` each: an incremental run reads some 300k scattered pages of a million-record
/// database, and the copies cost it about a third of its kernel time. Writes still go
/// through the page cache and the WAL, so crash safety is unchanged.
fn tune(conn: &mut DbConnection) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(c) => c
            .batch_execute(
                "PRAGMA busy_timeout = 10000;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY;",
            )
            .and_then(|()| c.batch_execute(&format!("PRAGMA mmap_size = {SQLITE_MMAP_BYTES};")))?,
        // Custom plans: diesel keeps prepared statements, and a generic plan made while a
        // table was small (a seq scan) would otherwise stay in use as it grows to millions.
        DbConnection::Pg(c) => {
            c.batch_execute("SET TIME ZONE 'UTC'; SET plan_cache_mode = force_custom_plan")?
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    #[test]
    fn a_second_session_sees_the_same_database() {
        let mut dbs = vec![TestDb::sqlite()];
        dbs.extend(TestDb::postgres());
        for db in dbs {
            let mut first = open(db.url()).unwrap();
            crate::systems::ensure_registered(&mut first, "ERP").unwrap();
            let mut second = open_second(db.url()).unwrap().expect("a file or a server");
            let names: Vec<String> = crate::systems::list(&mut second)
                .unwrap()
                .into_iter()
                .map(|s| s.name)
                .collect();
            assert_eq!(names, ["ERP"], "{}", db.url());
        }
        // Each connection to an in-memory database has its own: no second session of it.
        assert!(open_second("sqlite://:memory:").unwrap().is_none());
    }
}
