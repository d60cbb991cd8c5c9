//! `mdm serve`: the publish API (`mdm_api`). Prints `listening on http://ADDR` first once
//! bound, so scripts and tests can use `--listen 127.0.0.1:0` and read the port, then where
//! a person goes next: the steward console and the API docs.

use crate::settings::Settings;
use std::io::Write;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (host:port; port 0 picks a free one). Default: server.listen.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
}

pub fn run(args: ServeArgs, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = mdm_store::open(&settings.database_url)?;
    super::ingest::settle_dead_batches(&mut conn, settings)?;
    super::ingest::sync_relationship_types(&mut conn, settings)?;
    drop(conn);
    settle_dead_batches_while_serving(settings.clone());
    super::publish::start_while_serving(settings);
    let config = api_config(settings, args.listen);
    mdm_api::serve(config, |addr| {
        let mut out = std::io::stdout();
        let _ = write!(out, "{}", start_lines(addr));
        let _ = out.flush();
    })?;
    Ok(())
}

/// A push whose database went away mid-load (a restart, a failover) cannot mark its batch
/// failed, and the server that keeps running never restarts to settle it: so it looks for
/// silent batches every quarter of `ingest.stale_batch_secs` (at most a minute), on a fresh
/// connection each time, so a lost database costs one missed round only.
fn settle_dead_batches_while_serving(settings: Settings) {
    let every = Duration::from_secs((settings.ingest.stale_batch_secs / 4).clamp(1, 60));
    std::thread::spawn(move || loop {
        std::thread::sleep(every);
        let settled = mdm_store::open(&settings.database_url)
            .map_err(anyhow::Error::from)
            .and_then(|mut c| super::ingest::settle_dead_batches(&mut c, &settings));
        if let Err(e) = settled {
            tracing::warn!(error = %e, "settling dead load batches failed; trying again later");
        }
    });
}

/// What `mdm serve` prints once bound. The first line is the contract scripts read.
fn start_lines(addr: std::net::SocketAddr) -> String {
    // A wildcard address is where the server listens, not one a browser can open.
    let mut browse = addr;
    if addr.ip().is_unspecified() {
        browse.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!(
        "listening on http://{addr}\n\
         steward console: http://{browse}/console (paste a steward token: mdm token create --role steward --label NAME)\n\
         API docs: http://{browse}/docs/ (OpenAPI document: http://{browse}/openapi.json)\n"
    )
}

/// The server's configuration from the layered settings.
pub fn api_config(settings: &Settings, listen: Option<String>) -> mdm_api::ApiConfig {
    let s = &settings.server;
    let w = &settings.webhooks;
    let mut c = mdm_api::ApiConfig::new(&settings.database_url);
    c.listen = listen.unwrap_or_else(|| s.listen.clone());
    c.rules_dir = settings.rules_dir.clone();
    c.workers = s.workers;
    c.pool_size = s.pool_size;
    c.max_push_bytes = s.max_push_bytes;
    c.max_json_bytes = s.max_json_bytes;
    c.token_cache = Duration::from_secs(s.token_cache_secs);
    c.write_limits = mdm_api::WriteLimits {
        per_second: s.writes_per_second,
        burst: s.write_burst,
    };
    c.ingest_chunk_size = settings.ingest.chunk_size;
    c.max_line_bytes = settings.ingest.max_line_bytes;
    c.quarantine_limits = settings.ingest.quarantine_limits();
    c.mappings = settings
        .systems
        .iter()
        .map(|(name, sys)| (name.to_string(), sys.mapping.clone()))
        .collect();
    c.declared_systems = settings
        .declared_systems()
        .into_iter()
        .map(|d| (d.name, d.trust_rank))
        .collect();
    c.consumers = settings
        .consumers
        .iter()
        .map(|(name, k)| mdm_api::ConsumerConfig {
            name: name.to_string(),
            system: k.system.to_string(),
            webhook_url: k.webhook_url.clone(),
            webhook_secret: k.webhook_secret.clone(),
        })
        .collect();
    c.webhooks = mdm_api::WebhookPolicy {
        max_attempts: w.max_attempts,
        initial_backoff: Duration::from_millis(w.initial_backoff_ms),
        max_backoff: Duration::from_millis(w.max_backoff_ms.max(w.initial_backoff_ms)),
        timeout: Duration::from_millis(w.timeout_ms),
        poll_interval: Duration::from_millis(w.poll_interval_ms),
        lease: Duration::from_millis(w.lease_ms),
        allow_hosts: w.allow_hosts.clone(),
    };
    c.nats = settings
        .nats
        .url
        .as_ref()
        .map(|url| mdm_api::nats::NatsConfig {
            url: url.clone(),
            stream: settings.nats.stream.clone(),
            subject_prefix: settings.nats.subject_prefix.clone(),
        });
    c.default_country = settings.default_country.clone();
    c.system_countries = settings.system_countries();
    c.month_first_dates = matches!(
        settings.date_order,
        mdm_core::standardize::DateOrder::MonthFirst
    );
    c
}
