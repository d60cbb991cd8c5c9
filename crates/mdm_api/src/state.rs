//! What every handler shares: the connection pool, the configuration, caches and metrics.
//! Database work runs on actix's blocking pool through [`AppState::db`], never on an
//! HTTP worker thread.

use crate::auth::Principal;
use crate::config::ApiConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;
use actix_web::web;
use mdm_core::DomainRules;
use mdm_store::pool::DbPool;
use mdm_store::DbConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct AppState {
    pub pool: DbPool,
    pub config: Arc<ApiConfig>,
    pub metrics: Arc<Metrics>,
    pub tokens: TokenCache,
    rules: Mutex<HashMap<String, Arc<DomainRules>>>,
    matchers: Mutex<HashMap<String, Arc<crate::routes::matching::DomainMatcher>>>,
    /// Woken when this process writes change events, so webhooks go out at once.
    pub feed_written: Arc<tokio::sync::Notify>,
    /// Steward actions that change golden records run one at a time (each reconciles).
    pub steward_actions: Arc<Mutex<()>>,
    /// Per-token write rate limit; None when off.
    pub write_limiter: Option<crate::rate_limit::WriteLimiter>,
    inline_reads: bool,
}

impl AppState {
    pub fn new(pool: DbPool, config: Arc<ApiConfig>, metrics: Arc<Metrics>) -> Self {
        let inline_reads = matches!(
            mdm_store::DatabaseUrl::parse(&config.database_url),
            Ok(mdm_store::DatabaseUrl::Sqlite(_))
        );
        Self {
            pool,
            tokens: TokenCache::new(config.token_cache),
            write_limiter: crate::rate_limit::WriteLimiter::new(config.write_limits),
            config,
            metrics,
            rules: Mutex::new(HashMap::new()),
            matchers: Mutex::new(HashMap::new()),
            feed_written: Arc::new(tokio::sync::Notify::new()),
            steward_actions: Arc::new(Mutex::new(())),
            inline_reads,
        }
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(|e| {
                tracing::error!(error = %e, "no database connection");
                ApiError::unavailable("not_ready", "no database connection is available")
            })?;
            f(&mut conn)
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Like [`AppState::db`], but a short read on SQLite runs right here on the HTTP worker
    /// when a pooled connection is free: a point lookup takes microseconds, less than the
    /// hop to the blocking pool. PostgreSQL (a network round trip) always hops.
    pub async fn db_read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        if self.inline_reads {
            if let Some(mut conn) = self.pool.try_get() {
                return f(&mut conn);
            }
        }
        self.db(f).await
    }

    /// The real-time matcher of `domain`.
    pub fn matcher(&self, domain: &str) -> Arc<crate::routes::matching::DomainMatcher> {
        self.matchers
            .lock()
            .expect("matchers lock")
            .entry(domain.to_string())
            .or_default()
            .clone()
    }

    /// The rules of `domain` (loaded once), or 404 `unknown_domain`.
    pub fn rules(&self, domain: &str) -> Result<Arc<DomainRules>, ApiError> {
        if let Some(r) = self.rules.lock().expect("rules lock").get(domain) {
            return Ok(r.clone());
        }
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ApiError::not_found(
                "unknown_domain",
                format!("`{domain}` is not a domain name"),
            ));
        }
        let rules = mdm_rules::load_domain(self.config.rules_dir.as_deref(), domain)
            .map_err(|e| ApiError::not_found("unknown_domain", e.to_string()))?;
        let rules = Arc::new(rules);
        self.rules
            .lock()
            .expect("rules lock")
            .insert(domain.to_string(), rules.clone());
        Ok(rules)
    }
}

/// Verified tokens by hash, each trusted for the configured time.
pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl TokenCache {
    fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, hash: &str) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().expect("token cache lock");
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(p, _)| p.clone())
    }

    pub fn put(&self, hash: String, p: Principal) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("token cache lock");
        if entries.len() > 10_000 {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        entries.insert(hash, (p, Instant::now()));
    }
}
