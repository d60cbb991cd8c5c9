//! `mdm reconcile`: the nightly run. Optionally pulls the configured SQL sources, then
//! reconciles each domain (or the one given) through `mdm_service::reconcile`, with a
//! progress display on a terminal and a summary (or `--json`) at the end.

use crate::settings::Settings;
use anyhow::Context;
use mdm_core::SystemName;
use mdm_ingest::{ColumnMapping, LoadOptions, SqlPullConfig};
use mdm_service::{ReconcileOptions, RunSummary};
use std::io::IsTerminal;

#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// Domain to reconcile (default: every domain with staged records).
    #[arg(long)]
    pub domain: Option<String>,
    /// Re-score every candidate pair instead of only pairs touching changed records.
    #[arg(long)]
    pub full: bool,
    /// Train a new match model first (implies --full).
    #[arg(long)]
    pub retrain: bool,
    /// First pull every system that has a configured SQL source.
    #[arg(long)]
    pub pull: bool,
    /// A full run matches partition by partition, about N block memberships each
    /// (bounded memory, same result; 0: one pass). Default: `reconcile.partition_records`.
    #[arg(long, value_name = "N")]
    pub partition_records: Option<usize>,
    /// A partitioned first run (or --retrain) trains on a sample of about N records
    /// (0: every record). Default: `reconcile.train_sample` (500000).
    #[arg(long, value_name = "N")]
    pub train_sample: Option<usize>,
    /// A partitioned full run hands its partitions to N `mdm worker` processes it starts
    /// (PostgreSQL only; 0: scored in this process).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub workers: usize,
    /// Print each run's summary as one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ReconcileArgs, settings: &Settings) -> anyhow::Result<()> {
    let partition_records = args
        .partition_records
        .unwrap_or(settings.reconcile.partition_records);
    if args.workers > 0 {
        super::worker::require_postgres(&settings.database_url, "--workers")?;
        anyhow::ensure!(
            partition_records > 0,
            "--workers needs partitions: give --partition-records N (or \
             reconcile.partition_records)"
        );
    }
    let mut conn = mdm_store::open(&settings.database_url)?;
    // A batch a dead process left open would be read again by every incremental run.
    super::ingest::settle_dead_batches(&mut conn, settings)?;
    mdm_store::systems::sync_declared(&mut conn, &settings.declared_systems())?;
    super::ingest::sync_relationship_types(&mut conn, settings)?;
    let domains = match &args.domain {
        Some(d) => vec![d.clone()],
        None => mdm_store::matchstate::staged_domains(&mut conn)?,
    };
    if args.pull {
        for d in &domains {
            pull_sources(&mut conn, settings, d)?;
        }
    }
    if domains.is_empty() {
        println!("nothing staged yet: load records with `mdm ingest` first");
        return Ok(());
    }
    let ctx = settings.std_context();
    // Incremental runs read the changed records' blocks on two sessions at once.
    let mut reader = mdm_store::open_second(&settings.database_url)?;
    let opts = ReconcileOptions {
        full: args.full,
        retrain: args.retrain,
        partition_records: Some(partition_records),
        train_sample: Some(args.train_sample.unwrap_or(settings.reconcile.train_sample)),
    };
    for d in &domains {
        let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), d)?;
        let bar = progress_bar();
        let show = |phase: &str, _done: u64, total: u64| {
            if let Some(b) = &bar {
                b.set_message(if total > 0 {
                    format!("{d}: {phase} ({total})")
                } else {
                    format!("{d}: {phase}")
                });
            }
        };
        let reader = reader.as_mut();
        let mut pool = local_workers(args.workers, settings);
        let workers = pool
            .as_mut()
            .map(|p| p as &mut dyn mdm_service::reconcile::Workers);
        let summary = mdm_service::reconcile::reconcile_distributed(
            &mut conn, reader, &rules, &ctx, opts, workers, &show,
        )
        .with_context(|| format!("reconciling {d}"))?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        let idle_since = idle_since(&mut conn, &summary)?;
        print_summary(&summary, idle_since, args.json)?;
    }
    Ok(())
}

/// `count` local worker processes with this process's configuration (none for 0): the
/// database URL goes by environment, not argument, so no password shows in `ps`.
fn local_workers(count: usize, settings: &Settings) -> Option<super::worker::LocalWorkers> {
    (count > 0).then(|| {
        let mut global = Vec::new();
        if let Some(file) = &settings.config_file {
            global.push("--config".to_string());
            global.push(file.display().to_string());
        }
        super::worker::LocalWorkers::new(count, global, settings.database_url.clone())
    })
}

/// Pulls every declared system with an SQL source into `domain`'s staging.
fn pull_sources(
    conn: &mut mdm_store::DbConnection,
    settings: &Settings,
    domain: &str,
) -> anyhow::Result<()> {
    let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), domain)?;
    for (system, s) in &settings.systems {
        let Some(sql) = &s.sql else { continue };
        let mapping = ColumnMapping::new(s.mapping.clone());
        let opts = LoadOptions {
            domain: &rules.domain,
            system: system as &SystemName,
            snapshot: false,
            chunk_size: settings.ingest.chunk_size,
        };
        let config = SqlPullConfig {
            url: sql.url.clone(),
            query: sql.query.clone(),
            watermark: sql.watermark.clone(),
        };
        let summary = mdm_ingest::pull(conn, &rules, &mapping, &opts, &config, &mut |_| {})
            .with_context(|| format!("pulling {system}"))?;
        eprintln!(
            "pulled {system}: read {} new {} changed {}",
            summary.read, summary.new, summary.changed
        );
    }
    Ok(())
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg}  {elapsed}")
                .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    })
}

/// For an incremental run that found nothing staged, changed or deleted: the last completed
/// run of the domain that did change something (earlier idle runs are skipped), which this
/// one therefore left as it was.
fn idle_since(conn: &mut mdm_store::DbConnection, s: &RunSummary) -> anyhow::Result<Option<i64>> {
    let st = &s.stats;
    let idle = s.mode == "incremental"
        && st.dirty_records == 0
        && st.vanished_records == 0
        && st.events == 0
        // review_items is the open backlog, not something this run did.
        && mdm_store::runs::RunCounts {
            review_items: 0,
            ..s.counts
        } == mdm_store::runs::RunCounts::default();
    if !idle {
        return Ok(None);
    }
    let earlier = mdm_store::runs::list(conn, &s.domain, 1000)?;
    let last_busy = earlier
        .iter()
        .filter(|r| r.id < s.run_id && r.status == "completed")
        .find(|r| !was_idle(r));
    Ok(last_busy.map(|r| r.id))
}

/// A stored run that, like an idle one, changed nothing and read no change.
fn was_idle(r: &mdm_store::runs::Run) -> bool {
    let stats: serde_json::Value = serde_json::from_str(&r.stats).unwrap_or_default();
    let zero = |k: &str| stats[k].as_u64() == Some(0);
    r.mode == "incremental"
        && [
            r.records,
            r.n_created,
            r.n_updated,
            r.n_merged,
            r.n_split,
            r.n_deleted,
        ]
        .iter()
        .all(|n| *n == 0)
        && zero("dirty_records")
        && zero("vanished_records")
        && zero("events")
}

fn print_summary(s: &RunSummary, idle_since: Option<i64>, json: bool) -> anyhow::Result<()> {
    if json {
        let mut v = serde_json::to_value(s)?;
        v["nothing_changed_since_run"] = idle_since.into();
        println!("{v}");
        return Ok(());
    }
    if let Some(earlier) = idle_since {
        println!(
            "reconciled {} (run {}, {}): nothing changed since run {earlier} \
             (no record staged, changed or deleted)",
            s.domain, s.run_id, s.mode
        );
        return Ok(());
    }
    let c = &s.counts;
    println!(
        "reconciled {} (run {}, {}): {} records in {} golden records",
        s.domain, s.run_id, s.mode, c.records, s.stats.clusters
    );
    println!(
        "  created {}  updated {}  merged {}  split {}  deleted {}  unchanged {}  review {}",
        c.created, c.updated, c.merged, c.split, c.deleted, c.unchanged, c.review_items
    );
    // Phases are named `match`, `write`, ...; `match.blocks` and the like are laps inside one.
    let total: f64 = s
        .stats
        .timings
        .iter()
        .filter(|(phase, _)| !phase.contains('.'))
        .map(|t| t.1)
        .sum();
    println!(
        "  changed records {}  pairs scored {}  events {}  {:.1} s",
        s.stats.dirty_records, s.stats.pairs_scored, s.stats.events, total
    );
    Ok(())
}
