//! `mdm worker`: scores partitions of full runs for their coordinators (`mdm reconcile
//! --workers N` starts N of these itself; more may run anywhere that reaches the database).
//! PostgreSQL only: a SQLite file has one writer, and SQLite runs partitions in-process.
//! Also the local worker processes a coordinator starts and waits for ([`LocalWorkers`]).

use crate::settings::Settings;
use anyhow::Context;
use mdm_service::reconcile::{WorkerOptions, Workers as ServiceWorkers};
use mdm_service::ServiceError;
use mdm_store::DatabaseUrl;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Only partitions of this run; exit when it has none left (what `mdm reconcile
    /// --workers N` passes). Default: any run, until stopped.
    #[arg(long, value_name = "ID")]
    pub run: Option<i64>,
    /// Seconds a claimed partition stays this worker's without a renewal (renewed every
    /// third of it while scoring). Default: `reconcile.lease_secs`.
    #[arg(long, value_name = "SECS")]
    pub lease_secs: Option<u64>,
    /// Fault tests: hold each claimed partition this many milliseconds before scoring it.
    #[arg(long, hide = true, value_name = "MS")]
    pub hold_after_claim_ms: Option<u64>,
}

/// Refuses a SQLite database with the reason.
pub fn require_postgres(url: &str, what: &str) -> anyhow::Result<()> {
    match DatabaseUrl::parse(url)? {
        DatabaseUrl::Postgres(_) => Ok(()),
        DatabaseUrl::Sqlite(_) => anyhow::bail!(
            "{what} needs PostgreSQL (--database-url postgres://...): a SQLite file has one \
             writer, so on SQLite a full run scores its partitions in-process \
             (mdm reconcile --full --partition-records N)"
        ),
    }
}

pub fn run(args: WorkerArgs, settings: &Settings) -> anyhow::Result<()> {
    require_postgres(&settings.database_url, "mdm worker")?;
    let mut conn = mdm_store::open(&settings.database_url)?;
    let mut renewer = mdm_store::open_second(&settings.database_url)?
        .context("a second database session for the lease")?;
    let ctx = settings.std_context();
    let rules_dir = settings.rules_dir.clone();
    let rules_of = |domain: &str| {
        mdm_rules::load_domain(rules_dir.as_deref(), domain).map_err(ServiceError::from)
    };
    let opts = WorkerOptions {
        id: worker_id(),
        run: args.run,
        lease: Duration::from_secs(args.lease_secs.unwrap_or(settings.reconcile.lease_secs)),
        poll: Duration::from_millis(200),
        hold_after_claim: args.hold_after_claim_ms.map(Duration::from_millis),
    };
    tracing::info!(worker = %opts.id, run = ?opts.run, "worker started");
    let summary = mdm_service::reconcile::work(&mut conn, &mut renewer, &rules_of, &ctx, &opts)
        .with_context(|| format!("worker {}", opts.id))?;
    tracing::info!(
        partitions = summary.partitions,
        pairs_scored = summary.pairs_scored,
        lost = summary.lost,
        "worker done"
    );
    // One line for whoever started it (benchmarks read the peak RSS from it).
    let mut line = serde_json::to_value(&summary)?;
    line["worker"] = opts.id.into();
    line["peak_rss_mb"] = peak_rss_mb().into();
    println!("{line}");
    Ok(())
}

/// This process's peak resident memory (Linux; 0 elsewhere).
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Host and process id: unique among the workers of one database.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".into());
    format!("{}:{}", host.trim(), std::process::id())
}

/// N `mdm worker --run R` processes of this machine, for one coordinator.
pub struct LocalWorkers {
    count: usize,
    /// Global flags passed on (`--config`); the environment is inherited, so `MDM__...`
    /// settings reach the workers too.
    global: Vec<String>,
    database_url: String,
    children: Vec<Child>,
}

impl LocalWorkers {
    pub fn new(count: usize, global: Vec<String>, database_url: String) -> Self {
        Self {
            count,
            global,
            database_url,
            children: Vec::new(),
        }
    }
}

impl ServiceWorkers for LocalWorkers {
    fn start(&mut self, run_id: i64) -> Result<(), ServiceError> {
        let exe = std::env::current_exe().map_err(|e| ServiceError::Io {
            path: "mdm".into(),
            error: e,
        })?;
        for _ in 0..self.count {
            let child = Command::new(&exe)
                .args(&self.global)
                .args(["worker", "--run", &run_id.to_string()])
                .env("MDM__DATABASE_URL", &self.database_url)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| ServiceError::Io {
                    path: exe.clone(),
                    error: e,
                })?;
            self.children.push(child);
        }
        Ok(())
    }

    fn alive(&mut self) -> bool {
        self.children
            .iter_mut()
            .any(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn stop(&mut self) {
        // Workers exit by themselves once the run has no partition left; one that does not
        // within a few seconds (stuck on the database, say) is killed.
        let until = Instant::now() + Duration::from_secs(10);
        while self.alive() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50));
        }
        for c in &mut self.children {
            if matches!(c.try_wait(), Ok(None)) {
                tracing::warn!(pid = c.id(), "worker did not exit: killing it");
                let _ = c.kill();
            }
            let _ = c.wait();
        }
        self.children.clear();
    }
}

impl Drop for LocalWorkers {
    /// A coordinator that fails takes its workers with it.
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
