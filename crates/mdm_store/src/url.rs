//! Database URLs: which backend a URL names, and how to print one without its password.
//!
//! The backend is chosen here from the scheme, not by trying each driver in turn: diesel's
//! MultiConnection would otherwise answer an unreachable PostgreSQL with a vague error after
//! a long wait.

use crate::StoreError;
use std::path::PathBuf;

/// Seconds libpq waits for a PostgreSQL server before giving up.
pub const PG_CONNECT_TIMEOUT_SECS: u32 = 5;

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (relative), `sqlite:///abs/path`, or `sqlite://:memory:`.
    Sqlite(PathBuf),
    /// `postgres://...` or `postgresql://...`, kept whole for libpq.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::BadUrl(format!(
                    "`{url}` names no file (try sqlite://mdm.db)"
                )));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        Err(StoreError::BadUrl(format!(
            "`{}` is neither sqlite://PATH nor postgres://...",
            redact(url)
        )))
    }

    /// The libpq connection string with a short connect timeout unless one is given.
    pub(crate) fn pg_with_timeout(url: &str) -> String {
        if url.contains("connect_timeout=") {
            url.to_string()
        } else {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}connect_timeout={PG_CONNECT_TIMEOUT_SECS}")
        }
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "sqlite://{}", p.display()),
            Self::Postgres(u) => f.write_str(&redact(u)),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let redacted_query = redact_query_password(&rest[authority_end..]);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let user = userinfo.split(':').next().unwrap_or("");
            let shown = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!(
                "{}{}@{}{}",
                &url[..scheme_end + 3],
                shown,
                &authority[at + 1..],
                redacted_query
            )
        }
        None => format!("{}{}{}", &url[..scheme_end + 3], authority, redacted_query),
    }
}

fn redact_query_password(tail: &str) -> String {
    let Some(q) = tail.find('?') else {
        return tail.to_string();
    };
    let params = tail[q + 1..]
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{}?{params}", &tail[..q])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_relative_and_absolute() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://mdm.db").unwrap(),
            DatabaseUrl::Sqlite("mdm.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///srv/mdm/mdm.db").unwrap(),
            DatabaseUrl::Sqlite("/srv/mdm/mdm.db".into())
        );
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert!(DatabaseUrl::parse("mysql://x").is_err());
    }

    #[test]
    fn passwords_never_shown() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(
            redact("postgres://h/db?user=u&password=secret"),
            "postgres://h/db?user=u&password=***"
        );
        let shown = DatabaseUrl::parse("postgresql://a:b@h/db")
            .unwrap()
            .to_string();
        assert!(!shown.contains(":b@"), "{shown}");
    }

    #[test]
    fn pg_timeout_added_once() {
        assert_eq!(
            DatabaseUrl::pg_with_timeout("postgres://h/db"),
            "postgres://h/db?connect_timeout=5"
        );
        assert_eq!(
            DatabaseUrl::pg_with_timeout("postgres://h/db?sslmode=disable"),
            "postgres://h/db?sslmode=disable&connect_timeout=5"
        );
        assert_eq!(
            DatabaseUrl::pg_with_timeout("postgres://h/db?connect_timeout=1"),
            "postgres://h/db?connect_timeout=1"
        );
    }
}
