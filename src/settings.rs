//! Layered settings, lowest to highest: built-in defaults < `mdm.toml` in the working
//! directory (or `--config FILE`) < `MDM__SECTION__KEY` environment variables (and
//! `MDM_DATABASE_URL`) < command-line flags. Read once at start into typed structs and
//! passed down; there is no global settings static.
//!
//! Secrets: database URLs may carry passwords, so `Debug` and every message show them
//! redacted (`mdm_store::redact`).

use crate::cli::GlobalArgs;
use anyhow::{bail, Context};
use mdm_core::standardize::DateOrder;
use mdm_core::SystemName;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://mdm.db";
pub const DEFAULT_CONFIG_FILE: &str = "mdm.toml";
pub const DEFAULT_RULES_DIR: &str = "match-rules";
/// Fifteen minutes: far longer than a chunk of a load takes, so only a dead load's batch
/// goes this long without progress.
pub const DEFAULT_STALE_BATCH_SECS: i64 = 900;

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    /// Directory of domain rules files; shipped rules are used for domains it lacks.
    pub rules_dir: Option<PathBuf>,
    pub default_country: String,
    pub date_order: DateOrder,
    /// Declared source systems by (upper-case) name.
    pub systems: BTreeMap<SystemName, SystemSettings>,
    pub ingest: IngestSettings,
    pub reconcile: ReconcileSettings,
    /// `mdm serve`: listening address, limits, pool.
    pub server: ServerSettings,
    /// Change-feed consumers with configuration of their own (webhooks), by upper-case name.
    pub consumers: BTreeMap<SystemName, ConsumerSettings>,
    /// Retry policy of webhook delivery.
    pub webhooks: WebhookSettings,
    /// Optional publishing of change events to NATS JetStream.
    pub nats: NatsSettings,
    /// The configuration file read, if any.
    pub config_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemSettings {
    /// 1 is the most trusted.
    pub trust: i32,
    /// Source column -> canonical name.
    pub mapping: BTreeMap<String, String>,
    /// CSV delimiter for this system's files.
    pub delimiter: Option<u8>,
    pub sql: Option<SqlSourceSettings>,
    /// ISO 3166-1 alpha-2 country of this system's records that name none (before the
    /// cluster's and the global default), e.g. for national phone numbers.
    pub country: Option<String>,
    /// Where `mdm publish` writes this system's golden IDs back, if anywhere.
    pub writeback: Option<WritebackSettings>,
}

/// `[systems.NAME.writeback]`: a table in the source's own database that gets, per source
/// record, its golden ID (and chosen golden values).
#[derive(Clone, PartialEq, Eq)]
pub struct WritebackSettings {
    pub url: String,
    pub domain: String,
    pub table: mdm_store::writeback::TargetTable,
    pub on_removed: mdm_store::writeback::OnRemoved,
    pub batch_events: i64,
    /// `mdm serve` writes back every this many seconds; 0: only `mdm publish` does.
    pub interval_secs: u64,
}

impl std::fmt::Debug for WritebackSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritebackSettings")
            .field("url", &mdm_store::redact(&self.url))
            .field("domain", &self.domain)
            .field("table", &self.table)
            .field("on_removed", &self.on_removed)
            .field("batch_events", &self.batch_events)
            .field("interval_secs", &self.interval_secs)
            .finish()
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct SqlSourceSettings {
    pub url: String,
    pub query: String,
    pub watermark: Option<String>,
}

impl std::fmt::Debug for SqlSourceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSourceSettings")
            .field("url", &mdm_store::redact(&self.url))
            .field("query", &self.query)
            .field("watermark", &self.watermark)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IngestSettings {
    /// Rows per transaction.
    pub chunk_size: usize,
    /// A load fails (batch `failed`) when more than this share of its rows is quarantined,
    /// judged once 100 rows were read (`mdm_ingest::QuarantineLimits`).
    pub max_quarantine_share: f64,
    /// Quarantined rows stored per batch; beyond it they are counted, not stored.
    pub max_quarantined_rows: u64,
    /// A CSV or NDJSON line (a JSON array's element) longer than this many bytes is
    /// quarantined without being read into memory.
    pub max_line_bytes: usize,
    /// A load batch still `running` with no progress for this long is taken as left by a
    /// process that died, and settled as failed when `mdm serve` or `mdm ingest` starts.
    pub stale_batch_secs: u64,
}

impl IngestSettings {
    pub fn quarantine_limits(&self) -> mdm_ingest::QuarantineLimits {
        mdm_ingest::QuarantineLimits {
            max_share: self.max_quarantine_share,
            max_stored: self.max_quarantined_rows,
            ..Default::default()
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &mdm_store::redact(&self.database_url))
            .field("rules_dir", &self.rules_dir)
            .field("default_country", &self.default_country)
            .field("date_order", &self.date_order)
            .field("systems", &self.systems)
            .field("ingest", &self.ingest)
            .field("server", &self.server)
            .field("consumers", &self.consumers.keys().collect::<Vec<_>>())
            .field("webhooks", &self.webhooks)
            .field("nats", &self.nats)
            .field("reconcile", &self.reconcile)
            .field("config_file", &self.config_file)
            .finish()
    }
}

/// `[reconcile]`: how the nightly run works.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileSettings {
    /// A full run matches partition by partition, about this many block memberships each,
    /// so its matching memory is bounded by it (0: one pass).
    #[serde(default)]
    pub partition_records: usize,
    /// A partitioned first run trains its model on a sample of about this many records
    /// (0: on every record).
    #[serde(default = "default_train_sample")]
    pub train_sample: usize,
    /// Seconds a worker holds a claimed partition without renewing it: after a worker died,
    /// another takes its partition over this long after its last renewal.
    #[serde(default = "default_lease_secs")]
    pub lease_secs: u64,
}

fn default_lease_secs() -> u64 {
    30
}

fn default_train_sample() -> usize {
    500_000
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            partition_records: 0,
            train_sample: default_train_sample(),
            lease_secs: default_lease_secs(),
        }
    }
}

/// The shape of the merged configuration, before validation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    database_url: String,
    rules_dir: Option<PathBuf>,
    default_country: String,
    date_order: String,
    #[serde(default)]
    systems: BTreeMap<String, RawSystem>,
    ingest: RawIngest,
    #[serde(default)]
    server: ServerSettings,
    #[serde(default)]
    consumers: BTreeMap<String, RawConsumer>,
    #[serde(default)]
    webhooks: WebhookSettings,
    #[serde(default)]
    nats: NatsSettings,
    #[serde(default)]
    reconcile: ReconcileSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSystem {
    trust: Option<i32>,
    #[serde(default)]
    mapping: BTreeMap<String, String>,
    delimiter: Option<String>,
    sql: Option<RawSql>,
    country: Option<String>,
    writeback: Option<RawWriteback>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWriteback {
    url: String,
    domain: String,
    table: String,
    source_id_column: String,
    golden_id_column: String,
    /// Golden attribute -> column.
    #[serde(default)]
    values: BTreeMap<String, String>,
    /// `clear` (default) or `delete`.
    on_removed: Option<String>,
    batch_events: Option<i64>,
    #[serde(default)]
    interval_secs: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSql {
    url: String,
    query: String,
    watermark: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    chunk_size: usize,
    stale_batch_secs: u64,
    max_quarantine_share: f64,
    max_quarantined_rows: u64,
    max_line_bytes: usize,
}

impl Settings {
    pub fn load(global: &GlobalArgs) -> anyhow::Result<Self> {
        Self::load_from(global, std::env::vars(), Path::new("."))
    }

    /// `load` with the environment and working directory given, for tests.
    pub fn load_from(
        global: &GlobalArgs,
        env: impl IntoIterator<Item = (String, String)>,
        cwd: &Path,
    ) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder()
            .set_default("database_url", DEFAULT_DATABASE_URL)?
            .set_default("default_country", "DE")?
            .set_default("date_order", "day_first")?
            .set_default(
                "ingest.chunk_size",
                mdm_ingest::load::DEFAULT_CHUNK_SIZE as i64,
            )?
            .set_default("ingest.stale_batch_secs", DEFAULT_STALE_BATCH_SECS)?
            .set_default(
                "ingest.max_quarantine_share",
                mdm_ingest::load::DEFAULT_MAX_QUARANTINE_SHARE,
            )?
            .set_default(
                "ingest.max_quarantined_rows",
                mdm_ingest::load::DEFAULT_MAX_QUARANTINED_ROWS as i64,
            )?
            .set_default(
                "ingest.max_line_bytes",
                mdm_ingest::adapters::DEFAULT_MAX_LINE_BYTES as i64,
            )?;
        let config_file = match &global.config {
            Some(path) if !path.exists() => {
                bail!("configuration file {} does not exist", path.display())
            }
            Some(path) => Some(path.clone()),
            None => Some(cwd.join(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        if let Some(path) = &config_file {
            let text = normalized_file(path)?;
            builder = builder.add_source(config::File::from_str(&text, config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("MDM")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(mdm_env(env))),
        );
        if let Some(url) = &global.database_url {
            builder = builder.set_override("database_url", url.as_str())?;
        }
        let raw: RawSettings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        Self::validate(raw, config_file, cwd)
    }

    fn validate(
        raw: RawSettings,
        config_file: Option<PathBuf>,
        cwd: &Path,
    ) -> anyhow::Result<Self> {
        mdm_store::DatabaseUrl::parse(&raw.database_url).context("database_url")?;
        let date_order = match raw.date_order.as_str() {
            "day_first" => DateOrder::DayFirst,
            "month_first" => DateOrder::MonthFirst,
            other => bail!("date_order must be `day_first` or `month_first`, not `{other}`"),
        };
        let country = raw.default_country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
            bail!(
                "default_country must be an ISO 3166-1 alpha-2 code such as DE, not `{}`",
                raw.default_country
            );
        }
        if raw.ingest.stale_batch_secs == 0 {
            bail!("ingest.stale_batch_secs must be at least 1");
        }
        if !(0.0..=1.0).contains(&raw.ingest.max_quarantine_share) {
            bail!("ingest.max_quarantine_share must be between 0 and 1 (a share of the rows read)");
        }
        if raw.ingest.max_line_bytes == 0 {
            bail!("ingest.max_line_bytes must be at least 1");
        }
        if raw.ingest.chunk_size == 0 {
            bail!("ingest.chunk_size must be at least 1");
        }
        let rules_dir = match raw.rules_dir {
            Some(dir) if dir.as_os_str().is_empty() => None,
            Some(dir) => Some(dir),
            None => Some(PathBuf::from(DEFAULT_RULES_DIR)).filter(|d| cwd.join(d).is_dir()),
        };
        let consumers = consumer_settings(raw.consumers, &raw.webhooks.allow_hosts)?;
        raw.server.check()?;
        raw.webhooks.check()?;
        let mut systems = BTreeMap::new();
        for (name, sys) in raw.systems {
            let system = SystemName::parse(&name).with_context(|| format!("[systems.{name}]"))?;
            let settings = system_settings(&name, sys)?;
            if systems.insert(system, settings).is_some() {
                bail!("[systems.{name}] is declared twice");
            }
        }
        Ok(Self {
            database_url: raw.database_url,
            rules_dir,
            default_country: country,
            date_order,
            systems,
            ingest: IngestSettings {
                chunk_size: raw.ingest.chunk_size,
                stale_batch_secs: raw.ingest.stale_batch_secs,
                max_quarantine_share: raw.ingest.max_quarantine_share,
                max_quarantined_rows: raw.ingest.max_quarantined_rows,
                max_line_bytes: raw.ingest.max_line_bytes,
            },
            server: raw.server,
            consumers,
            webhooks: raw.webhooks,
            nats: raw.nats,
            reconcile: raw.reconcile,
            config_file,
        })
    }

    /// The settings of `system`, if configuration declares it.
    pub fn system(&self, system: &SystemName) -> Option<&SystemSettings> {
        self.systems.get(system)
    }

    /// The standardization context: the default country, date order and each declared
    /// system's configured country.
    pub fn std_context(&self) -> mdm_core::standardize::StdContext {
        mdm_core::standardize::StdContext {
            default_country: self.default_country.clone(),
            date_order: self.date_order,
            system_countries: self.system_countries(),
            // The configured default is the hub's guess, not what a record states.
            country_stated: false,
        }
    }

    /// Each declared system's configured country, by system name.
    pub fn system_countries(&self) -> BTreeMap<String, String> {
        self.systems
            .iter()
            .filter_map(|(n, s)| Some((n.to_string(), s.country.clone()?)))
            .collect()
    }

    /// Declared systems as the store registers them.
    pub fn declared_systems(&self) -> Vec<mdm_store::systems::DeclaredSystem> {
        self.systems
            .iter()
            .map(|(name, s)| mdm_store::systems::DeclaredSystem {
                name: name.to_string(),
                trust_rank: s.trust,
            })
            .collect()
    }
}

fn system_settings(name: &str, raw: RawSystem) -> anyhow::Result<SystemSettings> {
    let trust = raw.trust.unwrap_or(mdm_store::LOWEST_TRUST - 1);
    if !(1..mdm_store::LOWEST_TRUST).contains(&trust) {
        bail!(
            "[systems.{name}] trust must be between 1 (most trusted) and {}",
            mdm_store::LOWEST_TRUST - 1
        );
    }
    let delimiter = match raw.delimiter.as_deref() {
        None => None,
        Some(d) => Some(parse_delimiter(d).with_context(|| format!("[systems.{name}] delimiter"))?),
    };
    let sql = raw.sql.map(|s| SqlSourceSettings {
        url: s.url,
        query: s.query,
        watermark: s.watermark,
    });
    if let Some(s) = &sql {
        mdm_store::DatabaseUrl::parse(&s.url)
            .with_context(|| format!("[systems.{name}.sql] url"))?;
    }
    let country = match raw.country.as_deref() {
        None => None,
        Some(c) => Some(
            mdm_core::standardize::country_code(c)
                .with_context(|| {
                    format!(
                        "[systems.{name}] country must be an ISO 3166-1 code such as US, not `{c}`"
                    )
                })?
                .to_string(),
        ),
    };
    let writeback = raw
        .writeback
        .map(writeback_settings)
        .transpose()
        .with_context(|| format!("[systems.{name}.writeback]"))?;
    Ok(SystemSettings {
        trust,
        mapping: raw.mapping,
        delimiter,
        sql,
        country,
        writeback,
    })
}

/// Names are checked here, at start, so a typo or an injected name never reaches SQL.
fn writeback_settings(raw: RawWriteback) -> anyhow::Result<WritebackSettings> {
    use mdm_store::writeback::{Ident, OnRemoved, TargetTable};
    mdm_store::DatabaseUrl::parse(&raw.url).context("url")?;
    let (schema, table) = TargetTable::parse_table(&raw.table).context("table")?;
    let values = raw
        .values
        .into_iter()
        .map(|(attr, col)| Ok((attr.to_lowercase(), Ident::parse(&col)?)))
        .collect::<Result<Vec<_>, mdm_store::writeback::WritebackError>>()
        .context("values")?;
    let on_removed = match raw.on_removed.as_deref() {
        None | Some("clear") => OnRemoved::Clear,
        Some("delete") => OnRemoved::Delete,
        Some(other) => bail!("on_removed must be `clear` or `delete`, not `{other}`"),
    };
    let batch_events = raw
        .batch_events
        .unwrap_or(mdm_service::writeback::DEFAULT_BATCH_EVENTS);
    if batch_events < 1 {
        bail!("batch_events must be at least 1");
    }
    Ok(WritebackSettings {
        url: raw.url,
        domain: raw.domain,
        table: TargetTable {
            schema,
            table,
            source_id: Ident::parse(&raw.source_id_column).context("source_id_column")?,
            golden_id: Ident::parse(&raw.golden_id_column).context("golden_id_column")?,
            values,
        },
        on_removed,
        batch_events,
        interval_secs: raw.interval_secs,
    })
}

/// `[server]`: how `mdm serve` listens and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// `host:port`; `--listen` overrides.
    pub listen: String,
    /// HTTP worker threads; 0: one per core.
    pub workers: usize,
    /// Most pooled database connections.
    pub pool_size: u32,
    /// Largest record push body, bytes.
    pub max_push_bytes: usize,
    /// Largest JSON body of other endpoints, bytes.
    pub max_json_bytes: usize,
    /// Seconds a verified token is trusted before the database is asked again (a revoked
    /// token stops working within this time); 0 asks every time.
    pub token_cache_secs: u64,
    /// Writes (pushes, upserts, steward actions) per second each token may sustain, per
    /// server; more are answered 429 with `Retry-After`. 0: no limit (the default).
    pub writes_per_second: u32,
    /// Writes a token may make at once before `writes_per_second` applies; 0: one second's
    /// worth.
    pub write_burst: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            workers: 0,
            pool_size: 16,
            max_push_bytes: 32 * 1024 * 1024,
            max_json_bytes: 256 * 1024,
            token_cache_secs: 5,
            writes_per_second: 0,
            write_burst: 0,
        }
    }
}

impl ServerSettings {
    fn check(&self) -> anyhow::Result<()> {
        if self.pool_size == 0 || self.max_push_bytes == 0 || self.max_json_bytes == 0 {
            bail!("server.pool_size, server.max_push_bytes and server.max_json_bytes must be at least 1");
        }
        Ok(())
    }
}

/// `[consumers.NAME]`: a change-feed consumer with configuration of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// The source system whose xref entries its events carry (default: the consumer's name).
    pub system: SystemName,
    /// Webhook target (http://); events are POSTed in order, at least once.
    pub webhook_url: Option<String>,
    /// `whsec_<base64 key>`: deliveries are signed (Standard Webhooks). Debug is redacted.
    pub webhook_secret: Option<mdm_api::webhook_signature::WebhookSecret>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsumer {
    system: Option<String>,
    webhook_url: Option<String>,
    webhook_secret: Option<RawSecret>,
}

/// A secret as read, before it is parsed; its `Debug` is redacted like the parsed one's.
#[derive(Deserialize)]
#[serde(transparent)]
struct RawSecret(String);

impl std::fmt::Debug for RawSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

fn consumer_settings(
    raw: BTreeMap<String, RawConsumer>,
    allow_hosts: &[String],
) -> anyhow::Result<BTreeMap<SystemName, ConsumerSettings>> {
    let mut out = BTreeMap::new();
    for (name, c) in raw {
        let consumer = SystemName::parse(&name).with_context(|| format!("[consumers.{name}]"))?;
        let system = match &c.system {
            Some(s) => {
                SystemName::parse(s).with_context(|| format!("[consumers.{name}] system"))?
            }
            None => consumer.clone(),
        };
        if let Some(url) = &c.webhook_url {
            if let Err(e) = mdm_api::webhook_target::check_url(url, allow_hosts) {
                bail!("[consumers.{consumer}] webhook_url refused: {e}");
            }
        }
        // The error names the rule broken, never the value.
        let webhook_secret = match &c.webhook_secret {
            Some(raw) => Some(
                mdm_api::webhook_signature::WebhookSecret::parse(&raw.0).map_err(|e| {
                    anyhow::anyhow!("[consumers.{consumer}] webhook_secret refused: {e}")
                })?,
            ),
            None => None,
        };
        out.insert(
            consumer,
            ConsumerSettings {
                system,
                webhook_url: c.webhook_url,
                webhook_secret,
            },
        );
    }
    Ok(out)
}

/// `[webhooks]`: retries with exponential backoff, then the dead-letter state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Failed attempts before an event is dead-lettered.
    pub max_attempts: u32,
    /// Wait after the first failure, doubled per further failure up to `max_backoff_ms`.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Per request.
    pub timeout_ms: u64,
    /// How often an idle dispatcher looks for events written by other processes.
    pub poll_interval_ms: u64,
    /// With several servers on one database, one delivers a consumer's webhooks while it
    /// holds this lease (renewed at half time); another takes over when it runs out.
    pub lease_ms: u64,
    /// Hosts or addresses a webhook_url may target although they are (or resolve to)
    /// loopback, private, link-local or metadata addresses, e.g. `["127.0.0.1"]`.
    pub allow_hosts: Vec<String>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            initial_backoff_ms: 500,
            max_backoff_ms: 300_000,
            timeout_ms: 10_000,
            poll_interval_ms: 1_000,
            lease_ms: 30_000,
            allow_hosts: Vec::new(),
        }
    }
}

impl WebhookSettings {
    fn check(&self) -> anyhow::Result<()> {
        if self.max_attempts == 0 || self.timeout_ms == 0 || self.poll_interval_ms == 0 {
            bail!("webhooks.max_attempts, webhooks.timeout_ms and webhooks.poll_interval_ms must be at least 1");
        }
        if self.lease_ms < 2 * self.timeout_ms {
            bail!("webhooks.lease_ms must be at least twice webhooks.timeout_ms (a delivery must fit in a lease)");
        }
        Ok(())
    }
}

/// `[nats]`: with a `url`, every change event is also published to NATS JetStream.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NatsSettings {
    /// `nats://127.0.0.1:4222`; unset: no NATS.
    pub url: Option<String>,
    /// The JetStream stream (created when missing).
    pub stream: String,
    /// Subjects are `<subject_prefix>.<domain>.<kind>`.
    pub subject_prefix: String,
}

impl std::fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSettings")
            .field("url", &self.url.as_deref().map(mdm_store::redact))
            .field("stream", &self.stream)
            .field("subject_prefix", &self.subject_prefix)
            .finish()
    }
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            url: None,
            stream: "MDM".into(),
            subject_prefix: "mdm.changes".into(),
        }
    }
}

/// A one-character CSV delimiter; `\t` or `tab` for a tab.
pub fn parse_delimiter(d: &str) -> anyhow::Result<u8> {
    match d {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        d if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
        other => bail!("a delimiter is one ASCII character, not `{other}`"),
    }
}

/// The `MDM__...` variables, plus `MDM_DATABASE_URL` as an alias of `MDM__DATABASE_URL`
/// (config's prefix handling would otherwise ignore it silently).
fn mdm_env(env: impl IntoIterator<Item = (String, String)>) -> config::Map<String, String> {
    let mut vars: config::Map<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.to_ascii_uppercase().starts_with("MDM_"))
        .collect();
    if let Some(url) = vars.remove("MDM_DATABASE_URL") {
        vars.entry("MDM__DATABASE_URL".into()).or_insert(url);
    }
    vars.retain(|k, _| k.to_ascii_uppercase().starts_with("MDM__"));
    vars
}

/// The configuration file's text with `[systems.*]` names lower-cased, because
/// environment variable keys arrive lower-cased and must land on the same entries.
fn normalized_file(path: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut doc: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim())
    })?;
    for section in ["systems", "consumers"] {
        if let Some(toml::Value::Table(entries)) = doc.remove(section) {
            let mut lowered = toml::Table::new();
            for (name, value) in entries {
                let key = name.to_lowercase();
                if lowered.insert(key, value).is_some() {
                    bail!("{}: [{section}.{name}] is declared twice", path.display());
                }
            }
            doc.insert(section.into(), toml::Value::Table(lowered));
        }
    }
    Ok(toml::to_string(&doc)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(config: Option<&Path>, url: Option<&str>) -> GlobalArgs {
        GlobalArgs {
            config: config.map(Path::to_path_buf),
            database_url: url.map(String::from),
            verbose: 0,
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_systems_country_is_an_iso_code() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mdm.toml"),
            "[systems.CRM]\ntrust = 2\ncountry = \"usa\"\n[systems.ERP]\ntrust = 1\n",
        )
        .unwrap();
        let s = Settings::load_from(&global(None, None), env(&[]), dir.path()).unwrap();
        let ctx = s.std_context();
        assert_eq!(
            ctx.system_countries.get("CRM").map(String::as_str),
            Some("US")
        );
        assert_eq!(ctx.system_countries.get("ERP"), None);
        std::fs::write(
            dir.path().join("mdm.toml"),
            "[systems.CRM]\ntrust = 2\ncountry = \"Atlantis\"\n",
        )
        .unwrap();
        let e = Settings::load_from(&global(None, None), env(&[]), dir.path()).unwrap_err();
        assert!(format!("{e:#}").contains("country must be an ISO"), "{e:#}");
    }

    #[test]
    fn layers_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load_from(&global(None, None), env(&[]), dir.path()).unwrap();
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.rules_dir, None);
        std::fs::write(
            dir.path().join("mdm.toml"),
            "database_url = \"sqlite://file.db\"\ndefault_country = \"at\"\n[systems.Erp]\ntrust = 1\nmapping = { KUNNR = \"source_id\" }\n",
        )
        .unwrap();
        let s = Settings::load_from(&global(None, None), env(&[]), dir.path()).unwrap();
        assert_eq!(
            (s.database_url.as_str(), s.default_country.as_str()),
            ("sqlite://file.db", "AT")
        );
        let erp = SystemName::parse("ERP").unwrap();
        assert_eq!(s.systems[&erp].trust, 1);
        let e = env(&[
            ("MDM_DATABASE_URL", "sqlite://env.db"),
            ("MDM__SYSTEMS__ERP__TRUST", "3"),
        ]);
        let s = Settings::load_from(&global(None, None), e.clone(), dir.path()).unwrap();
        assert_eq!(s.database_url, "sqlite://env.db");
        assert_eq!(s.systems[&erp].trust, 3);
        assert_eq!(
            s.systems[&erp].mapping["KUNNR"], "source_id",
            "file values under env overrides survive"
        );
        let s =
            Settings::load_from(&global(None, Some("sqlite://flag.db")), e, dir.path()).unwrap();
        assert_eq!(s.database_url, "sqlite://flag.db");
    }

    #[test]
    fn secrets_redacted_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load_from(
            &global(None, Some("postgres://u:hunter2@h/db")),
            env(&[]),
            dir.path(),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn serve_consumers_and_webhooks() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load_from(&global(None, None), env(&[]), dir.path()).unwrap();
        assert_eq!(s.server, ServerSettings::default());
        assert!(s.consumers.is_empty());
        std::fs::write(
            dir.path().join("mdm.toml"),
            "[server]\nlisten = \"0.0.0.0:9000\"\n[consumers.Erp]\nwebhook_url = \"http://erp/hook\"\n[consumers.shop]\nsystem = \"web\"\n",
        )
        .unwrap();
        let e = env(&[
            ("MDM__WEBHOOKS__MAX_ATTEMPTS", "3"),
            ("MDM__CONSUMERS__ERP__SYSTEM", "sap"),
        ]);
        let s = Settings::load_from(&global(None, None), e, dir.path()).unwrap();
        assert_eq!(s.server.listen, "0.0.0.0:9000");
        assert_eq!(s.webhooks.max_attempts, 3);
        let erp = &s.consumers[&SystemName::parse("ERP").unwrap()];
        assert_eq!(erp.webhook_url.as_deref(), Some("http://erp/hook"));
        assert_eq!(erp.system.as_str(), "SAP", "env overrides the file's entry");
        assert_eq!(
            s.consumers[&SystemName::parse("SHOP").unwrap()]
                .system
                .as_str(),
            "WEB"
        );
    }

    #[test]
    fn bad_values_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bad = |pairs: &[(&str, &str)]| {
            Settings::load_from(&global(None, None), env(pairs), dir.path()).is_err()
        };
        assert!(bad(&[("MDM__DATE_ORDER", "sideways")]));
        assert!(bad(&[("MDM__DATABASE_URL", "mysql://x")]));
        assert!(bad(&[("MDM__SYSTEMS__ERP__TRUST", "0")]));
        assert!(bad(&[("MDM__NO_SUCH_KEY", "1")]));
    }
}
