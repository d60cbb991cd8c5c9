//! Schema migrations, one tree per backend (`migrations/sqlite`, `migrations/postgres`),
//! embedded in the binary and applied on every start and by `mdm migrate`.

use crate::{DbConnection, StoreError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Applies pending migrations; returns the versions applied now (empty when up to date).
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(versions),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES).map(versions),
    };
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Versions of every migration applied to this database, oldest first.
pub fn applied(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    let mut v = match conn {
        DbConnection::Sqlite(c) => c.applied_migrations().map(versions),
        DbConnection::Pg(c) => c.applied_migrations().map(versions),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    v.sort();
    Ok(v)
}

fn versions(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    v.into_iter().map(|m| m.to_string()).collect()
}
