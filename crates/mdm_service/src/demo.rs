//! `mdm demo`: the whole hub in one command. Generates customer extracts of three source
//! systems (ERP, CRM, MES) with `mdm_testkit`, ingests them, reconciles, and writes the run
//! report, all inside one directory (by default with its own SQLite database there).

use crate::reconcile::{reconcile, Progress, ReconcileOptions, RunSummary};
use crate::report::Report;
use crate::ServiceError;
use mdm_core::standardize::StdContext;
use mdm_core::SystemName;
use mdm_ingest::{ColumnMapping, CsvOptions, CsvSource, LoadOptions, LoadSummary};
use mdm_store::systems::DeclaredSystem;
use mdm_testkit::{Domain, GenConfig};
use std::path::{Path, PathBuf};

pub struct DemoOptions<'a> {
    pub dir: &'a Path,
    pub database_url: &'a str,
    pub entities: usize,
    pub seed: u64,
    pub rules_dir: Option<&'a Path>,
    /// Systems as configured; empty means the demo's own ranks (ERP 1, CRM 2, MES 3).
    pub declared: Vec<DeclaredSystem>,
    pub ctx: StdContext,
}

pub struct DemoOutcome {
    pub data_dir: PathBuf,
    pub loads: Vec<LoadSummary>,
    pub run: RunSummary,
    pub report: Report,
    pub report_json: PathBuf,
    pub report_html: PathBuf,
}

pub fn run(opts: DemoOptions<'_>, progress: Progress<'_>) -> Result<DemoOutcome, ServiceError> {
    let rules = mdm_rules::load_domain(opts.rules_dir, "customer")?;
    let data_dir = opts.dir.join("data");
    progress("generate", 0, opts.entities as u64);
    let cfg = GenConfig::new(Domain::Customer, opts.entities, opts.seed);
    let summary = mdm_testkit::generate_to_dir(&cfg, &rules, &data_dir)
        .map_err(|e| ServiceError::Invalid(format!("generating demo data: {e}")))?;
    let mut conn = mdm_store::open(opts.database_url)?;
    let declared = if opts.declared.is_empty() {
        ["ERP", "CRM", "MES"]
            .iter()
            .zip(1..)
            .map(|(n, r)| DeclaredSystem {
                name: (*n).into(),
                trust_rank: r,
            })
            .collect()
    } else {
        opts.declared
    };
    mdm_store::systems::sync_declared(&mut conn, &declared)?;
    let mut loads = Vec::new();
    for (system, _) in &summary.per_system {
        progress("ingest", 0, 0);
        loads.push(ingest(&mut conn, &rules, system, &data_dir)?);
    }
    let run = reconcile(
        &mut conn,
        &rules,
        &opts.ctx,
        ReconcileOptions::default(),
        progress,
    )?;
    let mut report = crate::report::build(&mut conn, Some("customer"), Some(run.run_id))?;
    report.golden_quality = Some(crate::reconcile::golden_quality(
        &mut conn, &rules, &opts.ctx,
    )?);
    let (report_json, report_html) = report.write_to(opts.dir)?;
    Ok(DemoOutcome {
        data_dir,
        loads,
        run,
        report,
        report_json,
        report_html,
    })
}

fn ingest(
    conn: &mut mdm_store::DbConnection,
    rules: &mdm_core::DomainRules,
    system: &SystemName,
    dir: &Path,
) -> Result<LoadSummary, ServiceError> {
    let path = dir.join(format!("{system}.csv"));
    let invalid = |e: mdm_ingest::IngestError| ServiceError::Invalid(e.to_string());
    let mut source = CsvSource::open(&path, CsvOptions { delimiter: None }).map_err(invalid)?;
    let opts = LoadOptions {
        domain: &rules.domain,
        system,
        snapshot: true,
        chunk_size: mdm_ingest::load::DEFAULT_CHUNK_SIZE,
    };
    mdm_ingest::load(
        conn,
        rules,
        &ColumnMapping::default(),
        &opts,
        &mut source,
        &mut |_| {},
    )
    .map_err(invalid)
}
