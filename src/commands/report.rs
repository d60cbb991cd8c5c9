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
}

pub fn run(args: ReportArgs, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = mdm_store::open(&settings.database_url)?;
    let report = mdm_service::report::build(&mut conn, args.domain.as_deref(), args.run)?;
    print!("{}", report.text());
    let (json, html) = report.write_to(&args.out)?;
    println!("written: {}  {}", json.display(), html.display());
    Ok(())
}
