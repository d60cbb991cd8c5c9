//! Per-test databases (feature `testing`): a temp SQLite file, or a fresh uniquely named
//! PostgreSQL database dropped when the test ends. No test shares a database with another.
//!
//! PostgreSQL is reached at `MDM_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). With `MDM_TEST_PG=skip` the PostgreSQL
//! variants are skipped; otherwise an unreachable server fails the test.

use crate::{connect, on_backend};
use diesel::RunQueryDsl;
use std::sync::atomic::{AtomicU32, Ordering};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that lives as long as this value.
pub struct TestDb {
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh SQLite database file in its own temp directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("mdm.db").display());
        Self {
            url,
            kind: Kind::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database, or None when `MDM_TEST_PG=skip`. Panics when the server
    /// cannot be reached: a skipped backend must be asked for, never silent.
    pub fn postgres() -> Option<Self> {
        if pg_skipped() {
            return None;
        }
        let admin_url =
            std::env::var("MDM_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into());
        let name = unique_name();
        let mut admin = connect(&admin_url)
            .unwrap_or_else(|e| panic!("PostgreSQL for tests ({e}); set MDM_TEST_PG=skip to skip"));
        on_backend!(&mut admin, c => diesel::sql_query(format!("CREATE DATABASE {name}")).execute(c))
            .expect("create test database");
        let url = replace_db_name(&admin_url, &name);
        Some(Self {
            url,
            kind: Kind::Postgres { admin_url, name },
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Kind::Postgres { admin_url, name } = &self.kind {
            if let Ok(mut admin) = connect(admin_url) {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = on_backend!(&mut admin, c => diesel::sql_query(sql).execute(c));
            }
        }
    }
}

/// True when `MDM_TEST_PG=skip`.
pub fn pg_skipped() -> bool {
    std::env::var("MDM_TEST_PG").is_ok_and(|v| v.eq_ignore_ascii_case("skip"))
}

/// A database name no other test (or test process) uses.
pub fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "mdm_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_replaced() {
        assert_eq!(
            super::replace_db_name("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::replace_db_name("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
        assert_eq!(
            super::replace_db_name("postgres://u@h/p?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
