//! `mdm report`: prints a run's summary and writes it as `report.json` and `report.html`.

use crate::settings::Settings;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The reconcile run to report (default: the latest, of --domain if given).
    #[arg(long)]
    pub run: Option<i64>,
    /// Domain whose latest run to report.
    #[arg(long)]
    pub domain: Option<String>,
    /// Directory for report.json and report.html.
    #[arg(long, default_value = "mdm-report")]
    pub out: PathBuf,
    /// Print the report as JSON (what report.json holds) instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ReportArgs, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = mdm_store::open(&settings.database_url)?;
    let mut report = mdm_service::report::build(&mut conn, args.domain.as_deref(), args.run)?;
    let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), &report.domain)?;
    let ctx = settings.std_context();
    report.golden_quality = Some(mdm_service::reconcile::golden_quality(
        &mut conn, &rules, &ctx,
    )?);
    let (json, html) = report.write_to(&args.out)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        eprintln!("written: {}  {}", json.display(), html.display());
    } else {
        print!("{}", report.text());
        println!("written: {}  {}", json.display(), html.display());
    }
    Ok(())
}
