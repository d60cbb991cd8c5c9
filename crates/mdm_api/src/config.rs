//! What the server is given at start: plain typed values, filled in by the binary from its
//! layered settings. This crate reads no files or environment variables itself.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `host:port`; port 0 picks a free one (the bound address is printed).
    pub listen: String,
    pub database_url: String,
    pub rules_dir: Option<PathBuf>,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Most pooled database connections.
    pub pool_size: u32,
    /// Largest accepted push body (JSON array or NDJSON), bytes.
    pub max_push_bytes: usize,
    /// Largest accepted JSON body of every other endpoint, bytes.
    pub max_json_bytes: usize,
    /// How long a verified token is trusted without asking the database again (so a revoked
    /// token stops working within this time). Zero disables the cache.
    pub token_cache: Duration,
    /// Rows per transaction when loading pushed records.
    pub ingest_chunk_size: usize,
    /// An NDJSON line or JSON array element of a push longer than this is quarantined
    /// unread (`ingest.max_line_bytes`).
    pub max_line_bytes: usize,
    /// When a push is refused as garbage and how many quarantined rows it stores
    /// (`ingest.max_quarantine_share`, `ingest.max_quarantined_rows`), as for files.
    pub quarantine_limits: mdm_ingest::QuarantineLimits,
    /// Per-token rate limit of writes (pushes, upserts, steward actions).
    pub write_limits: WriteLimits,
    /// Column mappings of declared systems (by upper-case system name).
    pub mappings: BTreeMap<String, BTreeMap<String, String>>,
    /// Declared systems and their trust ranks, mirrored into the store at start.
    pub declared_systems: Vec<(String, i32)>,
    /// Consumers of the change feed with their own configuration. Every registered source
    /// system is a consumer too (under its own name, pull only).
    pub consumers: Vec<ConsumerConfig>,
    pub webhooks: WebhookPolicy,
    /// Publish every event to NATS JetStream as well.
    pub nats: Option<crate::nats::NatsConfig>,
    /// Country assumed by standardization (real-time matching).
    pub default_country: String,
    pub month_first_dates: bool,
    /// Source systems' configured countries (`[systems.CRM] country = "US"`) by name.
    pub system_countries: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// Upper-case name, as in `?consumer=ERP`.
    pub name: String,
    /// The source system whose xref entries its events carry (default: the name).
    pub system: String,
    /// Where webhooks go (http:// only; no TLS client is built in).
    pub webhook_url: Option<String>,
    /// Signs every delivery (Standard Webhooks, `crate::webhook_signature`); without it,
    /// deliveries go unsigned and the dispatcher warns at start. Its `Debug` is redacted.
    pub webhook_secret: Option<crate::webhook_signature::WebhookSecret>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Failed attempts after which an event is dead-lettered.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles per failure up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Per request.
    pub timeout: Duration,
    /// How often an idle dispatcher looks for new events written by other processes.
    pub poll_interval: Duration,
    /// How long a dispatcher holds a consumer's delivery lease (renewed at half time).
    pub lease: Duration,
    /// Hosts or addresses a webhook may target although they are loopback, private or
    /// link-local (`crate::webhook_target`).
    pub allow_hosts: Vec<String>,
}

/// A token bucket per token over its writes (`crate::rate_limit`): `burst` writes at once,
/// refilled at `per_second`; a write beyond it is answered 429 with `Retry-After`. Reads are
/// never limited. Kept in memory per server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteLimits {
    /// Writes per second a token may sustain; 0 turns the limit off (the default).
    pub per_second: u32,
    /// Writes a token may make at once before the rate applies; 0: `per_second`.
    pub burst: u32,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            allow_hosts: Vec::new(),
        }
    }
}

impl ApiConfig {
    /// Defaults for `database_url`, as tests and benches start servers.
    pub fn new(database_url: &str) -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database_url: database_url.into(),
            rules_dir: None,
            workers: 0,
            pool_size: 16,
            max_push_bytes: 32 * 1024 * 1024,
            max_json_bytes: 256 * 1024,
            token_cache: Duration::from_secs(5),
            ingest_chunk_size: 10_000,
            max_line_bytes: mdm_ingest::adapters::DEFAULT_MAX_LINE_BYTES,
            quarantine_limits: mdm_ingest::QuarantineLimits::default(),
            write_limits: WriteLimits::default(),
            mappings: BTreeMap::new(),
            declared_systems: Vec::new(),
            consumers: Vec::new(),
            webhooks: WebhookPolicy::default(),
            nats: None,
            default_country: "DE".into(),
            month_first_dates: false,
            system_countries: Default::default(),
        }
    }

    pub fn consumer(&self, name: &str) -> Option<&ConsumerConfig> {
        self.consumers.iter().find(|c| c.name == name)
    }
}
